import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initBackend } from '../model/backend.js';
import { BYTE_VOCAB_SIZE, type ModelConfig } from '../model/config.js';
import { GPT2 } from '../model/model.js';
import { LATEST_FILE, PRETRAINED_FILE, readPretrainedSummary, savePretrainedModel } from './pretrain_checkpoint.js';
import { batchRows, buildTokenStream, heldOutLoss } from './pretrain_data.js';
import { pretrain } from './pretrain_loop.js';
import type { PretrainScheduleInput } from './pretrain_schedule.js';
import { ByteTokenizer } from '../io/tokenizer.js';
import { bytesOf } from '../../test/helpers.js';
import { WEIGHTS_FILE } from '../io/checkpoint.js';

const CONFIG: ModelConfig = { vocabSize: BYTE_VOCAB_SIZE, contextLength: 64, dModel: 16, nLayers: 2, nHeads: 2, dFF: 64, layerNormEps: 1e-5 };
const tokenizer = new ByteTokenizer();
const ANIMALS = ['cat', 'dog', 'fox', 'owl', 'hen'];
const PLACES = ['mat', 'hill', 'log', 'bed'];
/** A small repetitive corpus: a model that learns anything lowers its loss on it fast. */
function documents(count: number, offset: number): number[][] {
  const docs: number[][] = [];
  for (let i = 0; i < count; i++) {
    const a = ANIMALS[(i + offset) % ANIMALS.length];
    const p = PLACES[(i * 3 + offset) % PLACES.length];
    docs.push(tokenizer.encode(`the ${a} sat on the ${p}. the ${a} is happy.`));
  }
  return docs;
}
const TRAIN = documents(40, 0);
const HELDOUT = documents(8, 1);

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'peftscale-pretrain-'));
  tempDirs.push(dir);
  return dir;
}

function weightsOf(model: GPT2): Map<string, Float32Array> {
  return new Map([...model.parameters()].map(([name, tensor]) => [name, tensor.dataSync() as Float32Array]));
}

before(async () => {
  await initBackend('wasm');
});
after(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

describe('data', () => {
  it('packs documents with <|endoftext|> and draws rows that start at documents, deterministically', () => {
    const stream = buildTokenStream([[1, 2], [3]], BYTE_VOCAB_SIZE);
    assert.deepEqual([...stream.tokens], [1, 2, 256, 3, 256]);
    assert.deepEqual([...stream.starts], [0, 3]);
    const rows = batchRows(stream, 7, 3, 4, 6);
    assert.deepEqual(rows, batchRows(stream, 7, 3, 4, 6));
    for (let r = 0; r < 4; r++) assert.ok([1, 3].includes(rows[r * 6]), 'each row starts at a document');
    assert.throws(() => buildTokenStream([[999]], BYTE_VOCAB_SIZE), /outside the vocabulary/);
  });

  it('held-out loss does not depend on batching: pads are never targets', () => {
    const model = GPT2.initialize(CONFIG, 3);
    const docs = [...HELDOUT.slice(0, 3), tokenizer.encode('a much longer document than the others, to force padding')];
    const one = heldOutLoss(model, docs, { batchSize: 1 });
    const all = heldOutLoss(model, docs, { batchSize: 4 });
    assert.equal(one.tokens, docs.reduce((sum, d) => sum + d.length, 0)); // each doc + <|endoftext|> has length targets
    assert.equal(all.tokens, one.tokens);
    assert.ok(Math.abs(one.loss - all.loss) < 1e-5, `${one.loss} vs ${all.loss}`);
    model.dispose();
  });
});

describe('pretrain', () => {
  const schedule: PretrainScheduleInput = { steps: 60, batchSize: 8, sequenceLength: 32, learningRate: 1e-2, warmupSteps: 5 };

  it('lowers held-out loss and reports progress', async () => {
    const tensorsBefore = tf.memory().numTensors;
    const initial = GPT2.initialize(CONFIG, 1);
    const before = heldOutLoss(initial, HELDOUT).loss;
    initial.dispose();
    const seen: number[] = [];
    const result = await pretrain({ config: CONFIG, seed: 1, schedule, train: TRAIN, heldout: HELDOUT, onProgress: (p) => seen.push(p.step) });
    assert.equal(result.completed, true);
    assert.equal(result.step, 60);
    assert.deepEqual(seen, Array.from({ length: 60 }, (_, i) => i + 1));
    assert.ok(result.heldOut !== null);
    assert.ok(result.heldOut.loss < before - 1.5, `held-out loss ${before} → ${result.heldOut.loss}`);
    result.model.dispose();
    assert.equal(tf.memory().numTensors, tensorsBefore, 'pretraining left tensors allocated');
  });

  it('resumes after an interruption to the same weights, bit for bit', async () => {
    const short: PretrainScheduleInput = { ...schedule, steps: 12 };
    const dir = tempDir();
    // "Killed" after step 10: the last checkpoint is step 8, so steps 9 and 10 are redone on resume.
    const interrupted = await pretrain({ config: CONFIG, seed: 2, schedule: short, train: TRAIN, checkpointDir: dir, checkpointEvery: 4, stopAfterStep: 10 });
    assert.equal(interrupted.completed, false);
    assert.equal(interrupted.step, 10);
    interrupted.model.dispose();
    assert.equal(JSON.parse(readFileSync(path.join(dir, LATEST_FILE), 'utf8')).step, 8);
    // A save killed half way leaves a partial folder behind: it must be ignored (and cleaned up).
    mkdirSync(path.join(dir, 'step-00000012.partial-123-abc'));
    writeFileSync(path.join(dir, 'step-00000012.partial-123-abc', WEIGHTS_FILE), 'garbage');

    const logs: string[] = [];
    const resumed = await pretrain({ config: CONFIG, seed: 2, schedule: short, train: TRAIN, checkpointDir: dir, checkpointEvery: 4, onLog: (m) => logs.push(m) });
    assert.equal(resumed.resumedFrom, 8);
    assert.equal(resumed.completed, true);
    assert.match(logs.join('\n'), /resuming from the checkpoint at step 8\/12/);
    assert.deepEqual(readdirSync(dir).sort(), [LATEST_FILE, 'step-00000012']);

    const straight = await pretrain({ config: CONFIG, seed: 2, schedule: short, train: TRAIN });
    const a = weightsOf(resumed.model);
    const b = weightsOf(straight.model);
    for (const [name, values] of b) assert.deepEqual(a.get(name), values, `${name} differs after resume`);
    assert.equal(resumed.lastLoss, straight.lastLoss);
    resumed.model.dispose();
    straight.model.dispose();

    // A finished checkpoint resumes to "done" without taking a step.
    const again = await pretrain({ config: CONFIG, seed: 2, schedule: short, train: TRAIN, checkpointDir: dir, checkpointEvery: 4, onProgress: () => assert.fail('no step expected') });
    assert.equal(again.resumedFrom, 12);
    assert.deepEqual(weightsOf(again.model), b);
    again.model.dispose();
  });

  it('refuses a checkpoint of a different run, and a damaged one, with clear errors', async () => {
    const short: PretrainScheduleInput = { ...schedule, steps: 4 };
    const dir = tempDir();
    (await pretrain({ config: CONFIG, seed: 3, schedule: short, train: TRAIN, checkpointDir: dir, checkpointEvery: 2, stopAfterStep: 2 })).model.dispose();
    await assert.rejects(
      pretrain({ config: CONFIG, seed: 4, schedule: short, train: TRAIN, checkpointDir: dir }),
      /belongs to a different pretraining run \(differs in: seed\)/,
    );
    await assert.rejects(
      pretrain({ config: CONFIG, seed: 3, schedule: short, train: TRAIN.slice(1), checkpointDir: dir }),
      /differs in: dataHash/,
    );
    writeFileSync(path.join(dir, 'step-00000002', WEIGHTS_FILE), 'truncated');
    await assert.rejects(pretrain({ config: CONFIG, seed: 3, schedule: short, train: TRAIN, checkpointDir: dir }), /is damaged: .*Delete .* to start this pretraining over/s);
  });
});

describe('pretraining numbers', () => {
  // Hashes of the weights the code before AdamW moved to src/training/adamw.ts produced on wasm: a pretrained
  // model's fingerprint feeds cache keys, so pretraining must keep giving exactly these weights.
  const GOLDEN: [string, PretrainScheduleInput, string][] = [
    ['weight decay and clipping', { steps: 6, batchSize: 4, sequenceLength: 24, learningRate: 1e-2, warmupSteps: 2, weightDecay: 0.1, gradientClip: 0.5 }, '04299c60bc335752'],
    ['defaults', { steps: 5, batchSize: 4, sequenceLength: 24, learningRate: 3e-3 }, 'bc7be31cd994699a'],
  ];
  const docs = Array.from({ length: 30 }, (_, i) => tokenizer.encode(`doc ${i}: the ${['cat', 'dog', 'owl'][i % 3]} sat on ${(i * 7) % 11} mats.`));
  for (const [label, schedule, hash] of GOLDEN) {
    it(`gives the weights it always gave (${label}, wasm)`, async () => {
      const result = await pretrain({ config: CONFIG, seed: 11, schedule, train: docs });
      const digest = createHash('sha256');
      for (const [name, tensor] of [...result.model.parameters()].sort(([a], [b]) => (a < b ? -1 : 1))) {
        digest.update(name);
        digest.update(bytesOf(tensor));
      }
      result.model.dispose();
      assert.equal(digest.digest('hex').slice(0, 16), hash);
    });
  }
});

describe('finished model folders', () => {
  it('are absent until pretrain.json is written last, read back, and damage is an error', async () => {
    const dir = path.join(tempDir(), 'model');
    assert.equal(await readPretrainedSummary(dir), null);
    const model = GPT2.initialize(CONFIG, 5);
    await savePretrainedModel(dir, model, { kind: 'control', parameters: 1, heldOutLoss: 5.5, heldOutTokens: 10, details: { note: 'x' } });
    model.dispose();
    const summary = await readPretrainedSummary(dir, { verify: true });
    assert.equal(summary?.heldOutLoss, 5.5);
    assert.equal(summary?.details.note, 'x');
    writeFileSync(path.join(dir, WEIGHTS_FILE), 'damaged');
    await assert.rejects(readPretrainedSummary(dir, { verify: true }), /finished model in .* is damaged.*delete/s);
    rmSync(path.join(dir, PRETRAINED_FILE));
    assert.equal(await readPretrainedSummary(dir), null);
    assert.ok(existsSync(dir));
  });
});
