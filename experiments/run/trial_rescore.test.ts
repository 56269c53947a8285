/**
 * Re-scoring a kept adapter (trial_rescore.ts, `--import-trials --verify`) in process: a LoRA trial's kept
 * adapter reproduces its record's counts; the same folder with other tensors gives other counts (so the
 * adapter is applied, not ignored); one whose metadata names another trial is refused.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '../../methods/index.js';
import { GPT2 } from '../../src/model/model.js';
import type { TrialConfig, TrialEnvironment, TrialRecord } from '../../src/results/results.js';
import { buildTaskSuite, findTask, type Task } from '../../datasets/tasks.js';
import { getMethod, resolveOptions, type MethodOptions } from '../../src/adapt/peft.js';
import { saveAdapterTensors } from '../../src/io/adapter_io.js';
import { ByteTokenizer } from '../../src/io/tokenizer.js';
import { testBackends, TINY_CONFIG, useBackend } from '../../test/helpers.js';
import { runTrial } from './trial.js';
import { rescoreAdapter } from './trial_rescore.js';

const ENVIRONMENT: TrialEnvironment = { backend: 'test', versions: {}, gitHash: 'test', gitDirty: false, machine: { cpu: 'test', cores: 1, memoryBytes: 0, platform: 'test', node: process.version } };
const DATA = { worldSize: 40, townCount: 4, train: 32, dev: 16, test: 16 };
const CONFIG = { ...TINY_CONFIG, contextLength: 96 };
const TRIAL: TrialConfig = {
  preset: 'tiny',
  profile: 'quick',
  pretrainSeed: 0,
  modelId: 'tiny-initialised',
  method: 'lora',
  options: resolveOptions(getMethod('lora'), { rank: '4' }, CONFIG),
  task: 'verify',
  data: DATA,
  seed: 0,
  training: { optimizer: 'adam', learningRate: 3e-2, steps: 24, batchSize: 8, evalEvery: 4, weightDecay: 0 },
};

for (const backend of testBackends()) {
  describe(`re-scoring a trained adapter [${backend}]`, () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'peftscale-rescore-'));
    // Label words of one byte length: this random model's label scores are near uniform per byte, so with
    // " yes" and " no" the shorter word wins every example, adapter or not, and counts could not tell.
    const verify = findTask(buildTaskSuite({ seed: 0, worldSize: DATA.worldSize, townCount: DATA.townCount, sizes: { train: DATA.train, dev: DATA.dev, test: DATA.test }, tasks: ['verify'] }), 'verify');
    const word = (label: string): string => (label === ' no' ? ' nah' : label);
    const relabel = (examples: Task['splits']['train']): Task['splits']['train'] => examples.map((example) => ({ ...example, label: word(example.label) }));
    const task: Task = { ...verify, labels: verify.labels.map(word), splits: { train: relabel(verify.splits.train), dev: relabel(verify.splits.dev), test: relabel(verify.splits.test) } };
    const tokenizer = new ByteTokenizer();
    let base: GPT2;
    let record: TrialRecord;
    let kept: { tensors: Map<string, tf.Tensor>; options: MethodOptions } | null = null;
    /** Saves `tensors` as trial `key`'s adapter folder, as the trial cache keeps it. */
    const save = async (name: string, tensors: ReadonlyMap<string, tf.Tensor>, key: string): Promise<string> => {
      const dir = path.join(root, name);
      await saveAdapterTensors(dir, getMethod('lora'), kept?.options ?? {}, base.config, tensors, { key, task: TRIAL.task, preset: TRIAL.preset, seed: TRIAL.seed, base: TRIAL.preset });
      return dir;
    };
    const counts = (r: TrialRecord): number[] => [Math.round(r.dev.accuracy * r.dev.examples), Math.round(r.test.accuracy * r.test.examples)];

    before(async () => {
      await useBackend(backend);
      base = GPT2.initialize(CONFIG, 1);
      record = runTrial(TRIAL, 'k', ['s'], { base, task, tokenizer, frequentTokens: [], environment: ENVIRONMENT }, {
        onAdapter: (tensors, options) => void (kept = { tensors: new Map([...tensors].map(([name, tensor]) => [name, tensor.clone()])), options }),
      });
    });
    after(() => {
      for (const tensor of kept?.tensors.values() ?? []) tensor.dispose();
      base.dispose();
      rmSync(root, { recursive: true, force: true });
    });

    it('the kept adapter reproduces the recorded dev and test counts, with the recorded input budget', async () => {
      const dir = await save('trained', (kept as NonNullable<typeof kept>).tensors, 'k');
      const rescored = await rescoreAdapter(dir, 'k', TRIAL, record.inputs?.maxInputTokens ?? null, base, tokenizer, task);
      assert.deepEqual([rescored.dev.correct, rescored.test.correct], counts(record));
      assert.deepEqual([rescored.dev.examples, rescored.test.examples], [DATA.dev, DATA.test]);
      assert.deepEqual(rescored.budget, { recorded: record.inputs?.maxInputTokens, now: record.inputs?.maxInputTokens });
    });

    it('the same folder with other tensors (a large seeded update) does not reproduce them: re-scoring applies the adapter', async () => {
      // This random model scores near chance whatever it is tuned to, and LoRA's init is a no-op: only an
      // update far from the trained one shows that the adapter's tensors are applied.
      const other = new Map([...(kept as NonNullable<typeof kept>).tensors].map(([name, tensor], i) => [name, tf.randomNormal(tensor.shape, 0, 2, 'float32', 7 + i)]));
      const dir = await save('perturbed', other, 'k');
      for (const tensor of other.values()) tensor.dispose();
      const rescored = await rescoreAdapter(dir, 'k', TRIAL, record.inputs?.maxInputTokens ?? null, base, tokenizer, task);
      assert.notDeepEqual([rescored.dev.correct, rescored.test.correct], counts(record));
    });

    it("an adapter whose metadata names another trial is refused, naming the folder, the key found and the one allowed", async () => {
      const dir = await save('other', (kept as NonNullable<typeof kept>).tensors, 'other-key');
      await assert.rejects(rescoreAdapter(dir, 'k', TRIAL, null, base, tokenizer, task), new RegExp(`^Error: ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: the adapter of trial other-key \\(its metadata "key"\\); allowed: trial k's own adapter`));
    });
  });
}
