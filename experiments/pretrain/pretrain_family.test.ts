import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initBackend } from '../../src/model/backend.js';
import { loadCheckpoint } from '../../src/io/checkpoint.js';
import { PRETRAINED_FILE } from '../../src/training/pretrain_checkpoint.js';
import { formatPretrainTable, runPretrain, scalingWarnings, type PretrainTableRow } from '../commands/pretrain_command.js';
import { ensurePretrained, pretrainedModelDir } from './pretrain_family.js';
import { profileCorpusConfig, resolveProfile, type PretrainProfile } from './pretrain_profiles.js';
import { GATES_FILE } from './gates.js';

/** A profile small enough for tests: a tiny world, a few short steps. */
const TINY: PretrainProfile = {
  name: 'tiny-test',
  description: 'for tests',
  corpus: { worldSize: 8, townCount: 3, corpusBytes: 6_000, heldoutBytes: 1_500 },
  presets: ['ps-nano'],
  schedule: () => ({ steps: 6, batchSize: 4, sequenceLength: 32, learningRate: 3e-3, warmupSteps: 1 }),
  checkpointEvery: 2,
  evalBatchSize: 16,
};

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'peftscale-pretrain-exp-'));
  tempDirs.push(dir);
  return dir;
}
const quiet = { progress: false, log: (): void => undefined } as const;

before(async () => {
  await initBackend('wasm');
});
after(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

describe('pretrainedModelDir', () => {
  it('keys folders by preset, corpus, seed, budget and kind', () => {
    const cacheDir = '/cache';
    const base = pretrainedModelDir({ preset: 'ps-nano', profile: TINY, seed: 0, cacheDir });
    assert.match(base, /^\/cache\/ps-nano\/pretrained-c[0-9a-f]{16}-s0-b[0-9a-f]{8}-v\d+$/);
    assert.notEqual(pretrainedModelDir({ preset: 'ps-nano', profile: TINY, seed: 1, cacheDir }), base);
    assert.notEqual(pretrainedModelDir({ preset: 'ps-nano', profile: TINY, seed: 0, cacheDir, steps: 7 }), base);
    assert.notEqual(pretrainedModelDir({ preset: 'ps-nano', profile: resolveProfile('quick'), seed: 0, cacheDir }), base);
    assert.match(pretrainedModelDir({ preset: 'ps-nano', profile: TINY, seed: 0, cacheDir, control: true }), /\/ps-nano\/control-c[0-9a-f]{16}-s0-v\d+$/);
    assert.throws(() => pretrainedModelDir({ preset: 'gpt2', profile: TINY, cacheDir }), /too big to pretrain here/);
    assert.throws(() => pretrainedModelDir({ preset: 'ps-nanoo', profile: TINY, cacheDir }), /did you mean "ps-nano"/);
    assert.throws(() => resolveProfile('quik'), /did you mean "quick"/);
    assert.throws(() => resolveProfile('constructor'), /pretraining profile/); // an inherited key is not a profile
  });
  it('gives the world the task suite must use', () => {
    assert.deepEqual(profileCorpusConfig(TINY, 5), { worldSize: 8, townCount: 3, corpusBytes: 6_000, heldoutBytes: 1_500, seed: 5 });
    assert.ok(resolveProfile('quick').presets.includes('ps-mini'));
  });
});

describe('ensurePretrained', () => {
  it('trains once, then reuses the finished folder; resumes a stopped one', async () => {
    const cacheDir = tempDir();
    const logs: string[] = [];
    const log = (message: string): void => void logs.push(message);

    const stopped = await ensurePretrained({ preset: 'ps-nano', profile: TINY, seed: 0, cacheDir, progress: false, log, stopAfterStep: 3 });
    assert.equal(stopped.status, 'stopped');
    assert.equal(stopped.finished, false);
    assert.ok(existsSync(path.join(stopped.dir, 'training')));
    assert.ok(!existsSync(path.join(stopped.dir, PRETRAINED_FILE)));

    const trained = await ensurePretrained({ preset: 'ps-nano', profile: TINY, seed: 0, cacheDir, progress: false, log });
    assert.equal(trained.status, 'resumed');
    assert.equal(trained.steps, 6);
    assert.ok(Number.isFinite(trained.heldOutLoss));
    assert.deepEqual(readdirSync(trained.dir).sort(), ['config.json', 'model.safetensors', PRETRAINED_FILE]);
    const loaded = await loadCheckpoint(trained.dir);
    assert.equal(loaded.metadata.steps, 6);
    loaded.model.dispose();

    const reused = await ensurePretrained({ preset: 'ps-nano', profile: TINY, seed: 0, cacheDir, progress: false, log });
    assert.equal(reused.status, 'reused');
    assert.equal(reused.heldOutLoss, trained.heldOutLoss);
    assert.equal(reused.steps, 6);
    assert.match(logs.at(-1) ?? '', /reusing the finished pretrained model/);

    const control = await ensurePretrained({ preset: 'ps-nano', profile: TINY, seed: 0, cacheDir, control: true, ...quiet });
    assert.equal(control.kind, 'control');
    assert.equal(control.steps, 0);
    // Never trained: about ln(260) = 5.56 nats per token; the pretrained model is already better.
    assert.ok(Math.abs(control.heldOutLoss - Math.log(260)) < 0.3, `${control.heldOutLoss}`);
    assert.ok(trained.heldOutLoss < control.heldOutLoss);
  });
});

describe('scaling check and table', () => {
  const row = (preset: string, parameters: number, heldOutLoss: number): PretrainTableRow => ({
    preset,
    parameters,
    steps: 10,
    heldOutLoss,
    controlHeldOutLoss: 5.6,
    status: 'trained',
    trainingSeconds: 3,
    dir: '/x',
  });
  it('never pretrains over files in a folder without pretrain.json: they are moved aside with a warning', async () => {
    const cacheDir = tempDir();
    const logs: string[] = [];
    const stopped = await ensurePretrained({ preset: 'ps-nano', profile: TINY, seed: 0, cacheDir, progress: false, log: () => undefined, stopAfterStep: 2 });
    writeFileSync(path.join(stopped.dir, 'model.safetensors'), 'precious weights copied in by hand');
    const trained = await ensurePretrained({ preset: 'ps-nano', profile: TINY, seed: 0, cacheDir, progress: false, log: (m) => void logs.push(m) });
    assert.equal(trained.status, 'resumed', 'the training state is still resumed');
    const asides = readdirSync(path.dirname(trained.dir)).filter((e) => e.startsWith(`${path.basename(trained.dir)}.aside-`));
    assert.equal(asides.length, 1);
    assert.equal(readFileSync(path.join(path.dirname(trained.dir), asides[0], 'model.safetensors'), 'utf8'), 'precious weights copied in by hand');
    assert.ok(logs.some((m) => /had no pretrain\.json .* moved model\.safetensors to .*\.aside-/.test(m)), logs.join('\n'));
  });

  it('warns when held-out loss does not fall as presets grow', () => {
    assert.deepEqual(scalingWarnings([row('a', 10, 3), row('b', 20, 2.5), row('c', 30, 2)]), []);
    const warnings = scalingWarnings([row('a', 10, 3), row('c', 30, 2.8), row('b', 20, 2.5)]);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /does not fall with size: c \(30 params\) 2\.8000 ≥ b \(20 params\) 2\.5000/);
    assert.match(scalingWarnings([row('a', 10, 6)])[0], /not below the never-trained control/);
  });
  it('formats a table', () => {
    const table = formatPretrainTable([row('ps-nano', 41_920, 2.5)]);
    assert.match(table, /preset\s+params\s+steps\s+held-out loss\s+control loss/);
    assert.match(table, /ps-nano\s+41,920\s+10\s+2\.5000\s+5\.6000\s+trained\s+3\.0s/);
  });
});

describe('runPretrain', () => {
  it('pretrains one preset and writes the table next to the checkpoints', async () => {
    const cacheDir = tempDir();
    const out: string[] = [];
    const err: string[] = [];
    const writeOut = process.stdout.write.bind(process.stdout);
    const writeErr = process.stderr.write.bind(process.stderr);
    // Only string writes are the command's: the test runner itself writes Buffers to stdout.
    process.stdout.write = ((chunk: string | Uint8Array): boolean => (typeof chunk === 'string' ? out.push(chunk) > 0 : writeOut(chunk))) as typeof process.stdout.write;
    process.stderr.write = ((chunk: string | Uint8Array): boolean => (typeof chunk === 'string' ? err.push(chunk) > 0 : writeErr(chunk))) as typeof process.stderr.write;
    try {
      await runPretrain(['--model', 'ps-nano', '--steps', '2', '--cache', cacheDir, '--json', '--backend', 'wasm']);
    } finally {
      process.stdout.write = writeOut;
      process.stderr.write = writeErr;
    }
    const report = JSON.parse(out.join('')) as { rows: PretrainTableRow[]; profile: string };
    assert.equal(report.profile, 'quick');
    assert.equal(report.rows.length, 1);
    assert.equal(report.rows[0].steps, 2);
    assert.ok(report.rows[0].heldOutLoss < report.rows[0].controlHeldOutLoss);
    const gates = report.rows[0].gates;
    assert.ok(gates !== undefined && gates.probes.lookup.n === 32 && gates.pass === false, 'gates measured on the quick profile\'s 32 examples; 2 steps teach no skill');
    assert.ok(existsSync(path.join(report.rows[0].dir, GATES_FILE)), 'gates stored beside the model');
    const written = readdirSync(cacheDir).filter((name) => name.endsWith('.json'));
    assert.equal(written.length, 1);
    assert.deepEqual(JSON.parse(readFileSync(path.join(cacheDir, written[0]), 'utf8')).rows, report.rows);
    assert.match(err.join(''), /backend: wasm/);
    await assert.rejects(runPretrain(['--profil', 'quick']), /did you mean "--profile"/);
  });
});
