/**
 * Hostile but realistic inputs: each case ends in a named error (naming the field or path, the value
 * and what is allowed) before any work starts, or in behaviour that keeps every finished result.
 * Runs no training: experiment files, flags, output folders, the trial cache, weights and scores.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '../../methods/index.js';
import { nonFiniteTensors } from '../../src/io/finite.js';
import { checkInputFile, probeOutputFolder } from '../../src/io/input_files.js';
import { RESULT_FILES, sealRecord, type TrialRecord } from '../../src/results/results.js';
import { argmax } from '../../src/inference/scoring.js';
import { fixtureManifest, fixtureRecords } from '../../test/report_fixtures.js';
import { runExperiment } from './experiment.js';
import { ownershipProblem, readExistingResults, writeResults } from '../run/results_files.js';
import { resultsDirFor } from '../run/runner.js';
import { resolveExperiment } from '../plan/spec.js';
import { readTrialRecord, REJECTED_SUBDIR, trialRecordPath, writeTrialRecord } from '../run/trial_cache.js';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function freshDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'peftscale-hostile-'));
  dirs.push(dir);
  return dir;
}

/** A valid small experiment, to break one field at a time. */
const VALID = { name: 'hostile', presets: ['ps-nano'], tasks: ['infer'], seeds: [0], sweeps: [{ name: 'main', methods: [{ method: 'lora' }] }] };

/** Writes files into a fresh folder and resolves the first one; returns the error message (or '' when none). */
function resolveError(contents: Record<string, unknown>, profile = 'quick'): string {
  const dir = freshDir();
  for (const [name, value] of Object.entries(contents)) writeFileSync(path.join(dir, name), typeof value === 'string' ? value : JSON.stringify(value));
  try {
    resolveExperiment(path.join(dir, Object.keys(contents)[0]), profile);
    return '';
  } catch (error) {
    return (error as Error).message;
  }
}

describe('hostile inputs: experiment files', () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['a name that climbs out of the results root', { ...VALID, name: '../../x' }, /name = "\.\.\/\.\.\/x": allowed: 1 to 100 letters/],
    ['an empty name', { ...VALID, name: '' }, /name = "": allowed/],
    ['the name ".."', { ...VALID, name: '..' }, /name = "\.\.": allowed/],
    ['a name with a NUL byte', { ...VALID, name: 'a\u0000b' }, /name = "a\\u0000b": allowed/],
    ['a name with a slash', { ...VALID, name: 'a/b' }, /name = "a\/b": allowed/],
    ['a name that is too long', { ...VALID, name: 'x'.repeat(101) }, /name = "x+\.\.\.: allowed: 1 to 100/],
    ['an inherited name as a field: constructor', { ...VALID, constructor: 1 }, /constructor: unknown field "constructor"/],
    ['an inherited name in training: toString', { ...VALID, training: { toString: 3 } }, /training\.toString: unknown field/],
    ['a field named __proto__', JSON.parse('{"name":"h","sweeps":[{"name":"m","methods":[{"method":"lora"}]}],"__proto__":{"steps":1}}') as Record<string, unknown>, /__proto__: unknown field/],
    ['steps beyond the bound', { ...VALID, training: { steps: 1e9 } }, /training\.steps = 1000000000: allowed: an integer ≥ 0 and ≤ 1000000/],
    ['a batch of 1e9', { ...VALID, training: { batchSize: 1e9 } }, /training\.batchSize = 1000000000: allowed: an integer ≥ 1 and ≤ 4096/],
    ['pretraining steps beyond the bound', { ...VALID, pretrainSteps: 1e12 }, /pretrainSteps = 1000000000000: allowed: an integer ≥ 1 and ≤ 10000000/],
    ['zero training examples', { ...VALID, data: { train: 0 } }, /data\.train = 0: allowed: an integer ≥ 1/],
    ['a negative seed', { ...VALID, seeds: [-1] }, /seeds\[0\] = -1: allowed: an integer ≥ 0/],
    ['a fractional seed', { ...VALID, seeds: [1.5] }, /seeds\[0\] = 1\.5: allowed: an integer/],
    ['a learning rate of zero', { ...VALID, training: { learningRate: 0 } }, /training\.learningRate = 0: allowed: a number > 0/],
    ['a learning rate as a string', { ...VALID, training: { learningRate: '0.1' } }, /training\.learningRate = "0\.1": allowed: a number/],
    ['an infinite number (1e400 in the file)', { 'x.json': '{"name":"h","training":{"learningRate":1e400},"sweeps":[{"name":"m","methods":[{"method":"lora"}]}]}' }, /learningRate = null: allowed: a number|learningRate = Infinity/],
    ['a misspelt field', { ...VALID, trainng: {} }, /trainng: unknown field "trainng"; did you mean "training"\?/],
    ['an unknown method', { ...VALID, sweeps: [{ name: 'm', methods: [{ method: 'loraa' }] }] }, /unknown method "loraa"; did you mean "lora"\?/],
    ['an unknown preset', { ...VALID, presets: ['ps-nanoo'] }, /ps-nanoo/],
    ['an unknown task', { ...VALID, tasks: ['infr'] }, /unknown task "infr"; did you mean "infer"\?/],
    ['no sweeps', { ...VALID, sweeps: [] }, /sweeps: at least one sweep is required/],
    ['a top-level list', { 'x.json': '[1, 2]' }, /\(top level\) = \[1,2\]: allowed: an object/],
    ['text that is not JSON', { 'x.json': '{"name": ' }, /not valid JSON/],
  ];
  for (const [what, document, expected] of cases) {
    it(what, () => {
      const contents = 'x.json' in document ? document : { 'x.json': document };
      assert.match(resolveError(contents), expected);
    });
  }

  it('an include of /dev/zero is refused by type (no hang)', () => {
    assert.match(resolveError({ 'x.json': { ...VALID, include: ['/dev/zero'] } }), /experiment file \/dev\/zero is a device: allowed: a regular file/);
  });

  it('an include of a directory is refused by type', () => {
    const dir = freshDir();
    assert.match(resolveError({ 'x.json': { ...VALID, include: [dir] } }), /is a directory: allowed: a regular file/);
  });

  it('an oversized include is refused by size', () => {
    assert.match(resolveError({ 'x.json': { ...VALID, include: ['big.json'] }, 'big.json': ' '.repeat(1024 * 1024 + 1) }), /big\.json is 1,048,577 bytes: allowed: at most 1,048,576/);
  });

  it('an include chain deeper than the limit (the 20,000-deep case) ends in a named error, not a stack overflow', () => {
    const contents: Record<string, unknown> = { 'f0.json': { ...VALID, include: ['f1.json'] } };
    for (let i = 1; i < 40; i++) contents[`f${i}.json`] = { include: [`f${i + 1}.json`] };
    contents['f40.json'] = {};
    assert.match(resolveError(contents), /experiment includes nest deeper than 32 files: .*f0\.json → … → .*f32\.json/);
  });

  it('an include cycle names the chain', () => {
    assert.match(resolveError({ 'a.json': { ...VALID, include: ['b.json'] }, 'b.json': { include: ['a.json'] } }), /experiment include cycle: .*a\.json → .*b\.json → .*a\.json/);
  });

  it('a missing include names the including file', () => {
    assert.match(resolveError({ 'x.json': { ...VALID, include: ['gone.json'] } }), /cannot read experiment file .*gone\.json \(included from .*x\.json\): ENOENT/);
  });

  it('checkInputFile refuses a FIFO-free device and accepts a regular file', () => {
    assert.throws(() => checkInputFile('/dev/null', 'data file', 10), /data file \/dev\/null is a device/);
    const file = path.join(freshDir(), 'ok.json');
    writeFileSync(file, '{}');
    checkInputFile(file, 'data file', 10);
  });
});

describe('hostile inputs: flags', () => {
  const cases: [string, string[], RegExp][] = [
    ['zero workers', ['smoke', '--workers', '0', '--dry-run'], /--workers = 0: allowed: an integer ≥ 1/],
    ['a negative packing cap', ['smoke', '--pack-rows', '-1', '--dry-run'], /--pack-rows = -1: allowed: an integer ≥ 0 \(0: no packing\)/],
    ['an unknown profile', ['smoke', '--profile', 'quik', '--dry-run'], /profile.*"quik".*did you mean "quick"/],
    ['an unknown flag', ['smoke', '--stepz', '3'], /stepz/],
    ['two experiment files', ['smoke', 'default', '--dry-run'], /expected at most one experiment file, got smoke default/],
    ['an unknown shipped experiment', ['smokee', '--dry-run'], /unknown experiment "smokee"; did you mean "smoke"\?/],
    ['a workers count that is not a number', ['smoke', '--workers', 'many', '--dry-run'], /workers/],
  ];
  for (const [what, argv, expected] of cases) {
    it(what, async () => {
      await assert.rejects(runExperiment(argv), expected);
    });
  }

  it('a results root that is a file fails before any work, naming the flag', async () => {
    const file = path.join(freshDir(), 'not-a-folder');
    writeFileSync(file, 'x');
    await assert.rejects(runExperiment(['smoke', '--results', file, '--trial-cache', path.join(freshDir(), 't'), '--cache', path.join(freshDir(), 'm')]), /results root \(--results\) .*not-a-folder cannot be created|is not a folder/);
  });
});

describe('hostile inputs: output folders', () => {
  it('probeOutputFolder refuses a folder under a file and demands free space', () => {
    const file = path.join(freshDir(), 'f');
    writeFileSync(file, 'x');
    assert.throws(() => probeOutputFolder(path.join(file, 'sub'), 'trial cache'), /trial cache .*f\/sub cannot be created/);
    assert.throws(() => probeOutputFolder(freshDir(), 'results root', Number.MAX_SAFE_INTEGER), /results root .* MiB free: a run needs at least/);
  });

  it('resultsDirFor never builds a path from an unsafe name', () => {
    for (const name of ['..', '', '../x', 'a/b', 'a\u0000b']) assert.throws(() => resultsDirFor('results', name), /cannot name a results folder/);
    assert.equal(resultsDirFor('results', 'scaling'), path.join('results', 'scaling'));
  });

  const records = fixtureRecords();
  const manifest = fixtureManifest(records);

  it('a run with fewer finished trials keeps the old results and puts its own beside them', async () => {
    const dir = path.join(freshDir(), 'exp');
    await writeResults(dir, records, manifest, '{}');
    const before = readFileSync(path.join(dir, RESULT_FILES.records), 'utf8');
    await assert.rejects(writeResults(dir, [], manifest, '{}'), /holds \d+ finished trial\(s\); this run finished 0: kept the old results \(pass --replace to replace them\); this run's results are in .*exp\.new-/);
    assert.equal(readFileSync(path.join(dir, RESULT_FILES.records), 'utf8'), before, 'the old results.jsonl is untouched');
    assert.equal(readdirSync(path.dirname(dir)).filter((e) => e.startsWith('exp.new-')).length, 1);
  });

  it('--replace replaces them, and no temporary folder is left', async () => {
    const dir = path.join(freshDir(), 'exp');
    await writeResults(dir, records, manifest, '{}');
    await writeResults(dir, records.slice(0, 3), manifest, '{}', [], { replace: true });
    assert.equal((await readExistingResults(dir))?.finished, records.slice(0, 3).filter((r) => r.status === 'finished').length);
    assert.deepEqual(readdirSync(path.dirname(dir)), ['exp']);
  });

  it('another experiment file with the same name is refused before work and at write time', async () => {
    const dir = path.join(freshDir(), 'exp');
    await writeResults(dir, records, manifest, '{}');
    const other = path.join(freshDir(), 'other.json');
    writeFileSync(other, '{}');
    assert.match((await ownershipProblem(dir, other)) ?? '', /holds the results of another experiment file/);
    assert.equal(await ownershipProblem(dir, manifest.file), null);
    await assert.rejects(writeResults(dir, records, { ...manifest, file: other }, '{}'), /another experiment file/);
  });

  it('a writer killed mid-swap: the moved-aside folder is put back and its staging folder removed', async () => {
    const parent = freshDir();
    const dir = path.join(parent, 'exp');
    await writeResults(dir, records, manifest, '{}');
    // What SIGKILL between the two renames leaves: the old folder aside, a staging folder, no exp/.
    const dead = 2147483646;
    renameSync(dir, path.join(parent, `exp.old-${dead}-t`));
    mkdirSync(path.join(parent, `exp.writing-${dead}-t`));
    writeFileSync(path.join(parent, `exp.writing-${dead}-t`, 'summary.csv.1.tmp'), 'half');
    await assert.rejects(writeResults(dir, [], manifest, '{}'), /kept the old results/);
    assert.equal((await readExistingResults(dir))?.finished, records.filter((r) => r.status === 'finished').length, 'the old results are back in place');
    assert.deepEqual(readdirSync(parent).filter((e) => !e.startsWith('exp.new-')).sort(), ['exp']);
  });

  it('a user file beside the results (bench.json) survives the swap', async () => {
    const dir = path.join(freshDir(), 'exp');
    await writeResults(dir, records, manifest, '{}');
    writeFileSync(path.join(dir, RESULT_FILES.bench), '{"mine": true}');
    await writeResults(dir, records, manifest, '{}');
    assert.equal(readFileSync(path.join(dir, RESULT_FILES.bench), 'utf8'), '{"mine": true}');
  });

  it('a failed write names the path and leaves no temporary folder', async () => {
    const parent = freshDir();
    writeFileSync(path.join(parent, 'blocker'), 'x');
    await assert.rejects(writeResults(path.join(parent, 'blocker', 'exp'), records, manifest, '{}'), /blocker/);
    assert.deepEqual(readdirSync(parent), ['blocker']);
  });
});

describe('hostile inputs: the trial cache', () => {
  // Sealed as a run writes it (the fixture's synthetic scores are no counts over examples).
  const record = sealRecord(fixtureRecords()[0]);
  const write = (dir: string, value: unknown): void => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(trialRecordPath(dir, record.key), typeof value === 'string' ? value : JSON.stringify(value));
  };
  const cases: [string, unknown, RegExp][] = [
    ['an accuracy of 7.5 (750%)', { ...record, test: { ...record.test, accuracy: 7.5 } }, /test\.accuracy = 7\.5: allowed: a number in \[0, 1\]/],
    ['a record of another key', { ...record, key: 'ffffffffffffffff' }, /key = "ffffffffffffffff": allowed/],
    ['text that is not JSON', '{"format": 1, "key"', /not JSON/],
    ['an unknown status', { ...record, status: 'done' }, /status = "done"/],
    ['a negative parameter count', { ...record, parameters: { ...record.parameters, trainable: -3 } }, /parameters\.trainable = -3/],
    ['a record whose config is another trial', { ...record, config: { ...record.config, seed: 99 } }, /config: differs from the trial this key names/],
    ['a dev score that is null (NaN written as JSON)', { ...record, dev: { ...record.dev, accuracy: null } }, /dev\.accuracy = null/],
    ['a sealed record whose score was edited', { ...record, test: { ...record.test, accuracy: 0.875 } }, /checksum sha256:\w+… does not match the record's content/],
    ['a record edited to "diverged" without a step', { ...record, status: 'diverged' }, /status "diverged" with divergedAt = null/],
    ['a finished record with a divergence step', { ...record, divergedAt: { step: 3, loss: null } }, /status "finished" with divergedAt = \{"step":3,"loss":null\}: allowed: divergedAt null/],
    ['a checksum that is not a digest', { ...record, checksum: 'md5:1' }, /checksum = "md5:1": allowed: "sha256:" and 64 hex digits/],
  ];
  for (const [what, value, expected] of cases) {
    it(`${what}: moved aside with a warning, and recomputed`, async () => {
      const dir = freshDir();
      write(dir, value);
      const warnings: string[] = [];
      const read = await readTrialRecord(dir, record.key, (m) => warnings.push(m), record.config);
      assert.equal(read, null);
      assert.equal(warnings.length, 1);
      assert.match(warnings[0], expected);
      assert.match(warnings[0], /moved to .*rejected/);
      assert.equal(existsSync(trialRecordPath(dir, record.key)), false);
      assert.equal(readdirSync(path.join(dir, REJECTED_SUBDIR)).length, 1);
    });
  }

  it('a valid record is read as written', async () => {
    const dir = freshDir();
    await writeTrialRecord(dir, record);
    assert.deepEqual(await readTrialRecord(dir, record.key, () => assert.fail('no warning'), record.config), record as TrialRecord);
  });

  it('a cache write that fails names the path and leaves no temporary file', async () => {
    const parent = freshDir();
    writeFileSync(path.join(parent, 'blocker'), 'x');
    await assert.rejects(writeTrialRecord(path.join(parent, 'blocker', 'trials'), record), /cannot write the trial record .*blocker\/trials/);
    assert.deepEqual(readdirSync(parent), ['blocker']);
  });
});

describe('hostile inputs: weights and scores', () => {
  it('non-finite weights are found and named', () => {
    const good = tf.tensor1d([1, 2, 3]);
    const bad = tf.tensor2d([[1, Number.NaN], [Infinity, 0]]);
    assert.deepEqual(nonFiniteTensors(new Map([['wte', good]])), []);
    assert.deepEqual(nonFiniteTensors(new Map<string, tf.Tensor>([['wte', good], ['h.0.attn.c_attn.weight', bad]])), ['h.0.attn.c_attn.weight [2,2]: 2 non-finite value(s), the first at flat index 1 (NaN)']);
    tf.dispose([good, bad]);
  });

  it('scores never argmax over NaN: the trial fails instead of counting 0%', () => {
    assert.throws(() => argmax([Number.NaN, Number.NaN, Number.NaN]), /is NaN/);
  });
});
