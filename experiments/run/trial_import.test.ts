/**
 * Importing a results folder's records into the trial cache (`experiment --import-trials`): planned trials
 * only, the cached record kept, a damaged or edited record of a planned trial refused naming its file,
 * line and field; records without a checksum (the committed docs/results/) accepted on their consistency.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { RESULT_FILES, sealRecord, type TrialRecord } from '../../src/results/results.js';
import { fixtureRecords, writeFixtureResults } from '../../test/report_fixtures.js';
import { experimentPath, resolveExperiment } from '../plan/spec.js';
import { readTrialRecord } from './trial_cache.js';
import { importTrialRecords } from './trial_import.js';

const root = await mkdtemp(path.join(os.tmpdir(), 'peftscale-import-'));
after(async () => {
  await rm(root, { recursive: true, force: true });
});

// The fixture's diverged trial has NaN scores (a real diverged record keeps its best-dev scores), which no
// cache accepts: it stands for a trial this run does not plan. The fixture's scores are synthetic (not
// counts over examples), so the records are sealed, as a run writes them.
const all = fixtureRecords();
const records = all.filter((r) => r.status === 'finished');
const planned = records.map((r) => ({ key: r.key, config: r.config }));

/** The fixture's results folder with every record sealed; `edit` changes the parsed lines before writing. */
async function sealedResults(name: string, edit: (lines: TrialRecord[]) => TrialRecord[] = (l) => l): Promise<{ dir: string; file: string }> {
  const dir = await writeFixtureResults(path.join(root, name));
  const file = path.join(dir, RESULT_FILES.records);
  const lines = (await readFile(file, 'utf8')).trim().split('\n').map((line) => sealRecord(JSON.parse(line) as TrialRecord));
  await writeFile(file, `${edit(lines).map((r) => JSON.stringify(r)).join('\n')}\n`);
  return { dir, file };
}

/** A committed record (a real run's: consistent, without a checksum) as its folder holds it. */
async function committed(): Promise<{ lines: TrialRecord[]; planned: { key: string; config: unknown }[] }> {
  const text = await readFile(path.join('docs', 'results', 'scaling', RESULT_FILES.records), 'utf8');
  const lines = text.trim().split('\n').map((line) => JSON.parse(line) as TrialRecord);
  return { lines, planned: lines.map((r) => ({ key: r.key, config: r.config })) };
}

async function writeLines(name: string, lines: readonly TrialRecord[]): Promise<string> {
  const dir = path.join(root, name);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, RESULT_FILES.records), `${lines.map((r) => JSON.stringify(r)).join('\n')}\n`);
  return dir;
}

describe('importing trial records into the trial cache', () => {
  it('imports the planned trials, counts the others, keeps what is cached', async () => {
    const { dir: results } = await sealedResults('results');
    const cache = path.join(root, 'cache');
    const half = planned.slice(0, Math.floor(planned.length / 2));
    const first = await importTrialRecords(results, cache, half);
    assert.deepEqual([first.imported, first.alreadyCached, first.notPlanned, first.unsealed], [half.length, 0, all.length - half.length, 0]);
    assert.equal((await readdir(cache)).filter((f) => f.endsWith('.json')).length, half.length);
    const back = await readTrialRecord(cache, half[0].key, () => assert.fail('a valid imported record was rejected'), half[0].config);
    assert.deepEqual(back, JSON.parse(JSON.stringify(sealRecord(records[0]))));
    const second = await importTrialRecords(results, cache, planned);
    assert.deepEqual([second.imported, second.alreadyCached, second.notPlanned], [records.length - half.length, half.length, all.length - records.length]);
  });

  it('refuses a damaged record of a planned trial, naming file, line and field, and writes nothing', async () => {
    const { dir: results, file } = await sealedResults('damaged', (lines) => lines.map((r, i) => (i === 2 ? { ...r, test: { ...r.test, accuracy: 7.5 } } : r)));
    const cache = path.join(root, 'cache-damaged');
    await assert.rejects(importTrialRecords(results, cache, planned), (error: Error) => error.message.includes(`${file}:3 (trial `) && /test\.accuracy = 7\.5: allowed: a number in \[0, 1\]/.test(error.message));
    await assert.rejects(readdir(cache), /ENOENT/, 'nothing was written');
  });

  it('an edited score in a sealed record (0.375 → 0.875) is refused by its checksum, with file and line', async () => {
    const { dir, file } = await sealedResults('edited', (lines) => lines.map((r, i) => (i === 4 ? { ...r, test: { ...r.test, accuracy: 0.875 } } : r)));
    await assert.rejects(importTrialRecords(dir, path.join(root, 'cache-edited'), planned), (error: Error) => error.message.includes(`${file}:5 (trial `) && /checksum sha256:[0-9a-f]{12}… does not match the record's content/.test(error.message));
  });

  it('a record edited to "diverged" without a step is refused (it would silently leave the means)', async () => {
    const { dir, file } = await sealedResults('status', (lines) => lines.map((r, i) => (i === 1 ? { ...r, status: 'diverged' } : r)));
    await assert.rejects(importTrialRecords(dir, path.join(root, 'cache-status'), planned), (error: Error) => error.message.includes(`${file}:2 (trial `) && error.message.includes('status "diverged" with divergedAt = null: allowed: {step, loss} with step an integer from 1 to'));
  });

  it('two different records of one trial are refused naming both lines and the field; the same record twice is imported once', async () => {
    const { dir, file } = await sealedResults('conflict', (lines) => [...lines, sealRecord({ ...lines[0], test: { ...lines[0].test, accuracy: 0.5 } })]);
    await assert.rejects(importTrialRecords(dir, path.join(root, 'cache-conflict'), planned), (error: Error) => new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:${all.length + 1} \\(trial ${records[0].key}\\): a second record of the trial on line 1 that differs in test\\.accuracy; allowed: one record per trial`).test(error.message));
    const same = await sealedResults('twice', (lines) => [...lines, { ...lines[0], sweeps: ['another-sweep'] }]);
    const done = await importTrialRecords(same.dir, path.join(root, 'cache-twice'), planned);
    assert.equal(done.imported, records.length);
  });

  it('records without a checksum (the committed results) import when consistent, and are counted', async () => {
    const { lines, planned: mine } = await committed();
    const done = await importTrialRecords(await writeLines('unsealed', lines), path.join(root, 'cache-unsealed'), mine);
    assert.deepEqual([done.imported, done.unsealed], [lines.length, lines.length]);
  });

  it('an unsealed record whose edited score disagrees with its other fields is refused, naming them', async () => {
    const { lines, planned: mine } = await committed();
    // test.accuracy edited to what the final (last-step) score says, where the last step is not the chosen one.
    const index = lines.findIndex((r) => r.final !== null && r.final.step === r.dev.bestStep);
    assert.ok(index >= 0);
    const edited = lines.map((r, i) => (i === index ? { ...r, test: { ...r.test, accuracy: r.test.accuracy === 1 ? 0.5 : Math.min(1, r.test.accuracy + 1 / r.test.examples) } } : r));
    const dir = await writeLines('unsealed-edited', edited);
    await assert.rejects(importTrialRecords(dir, path.join(root, 'cache-unsealed-edited'), mine), new RegExp(`results\\.jsonl:${index + 1} \\(trial ${lines[index].key}\\): final\\.test = [\\d.]+ at the chosen step \\d+: allowed: test\\.accuracy`));
    // An accuracy that is no count over its examples (0.875 of 150) was not measured.
    const odd = lines.map((r, i) => (i === 0 ? { ...r, dev: { ...r.dev, majority: 0.123456 } } : r));
    await assert.rejects(importTrialRecords(await writeLines('unsealed-odd', odd), path.join(root, 'cache-odd'), mine), /results\.jsonl:1 .*dev\.majority = 0\.123456: not a count over dev\.examples/);
  });

  it('the committed docs/results/scaling imports into the default experiment’s scaling plan as before: all 96 records', async () => {
    const experiment = resolveExperiment(experimentPath('default'), 'scaling');
    const done = await importTrialRecords(path.join('docs', 'results', 'scaling'), path.join(root, 'cache-committed'), experiment.trials);
    assert.deepEqual([done.imported, done.notPlanned, done.unsealed], [96, 0, 96]);
  });

  it('a record whose config is not the planned trial\'s is refused', async () => {
    const { dir: results } = await sealedResults('other-config');
    const wrong = planned.map((p, i) => (i === 0 ? { key: p.key, config: { ...(p.config as object), seed: 99 } } : p));
    await assert.rejects(importTrialRecords(results, path.join(root, 'cache-other'), wrong), /results\.jsonl:1 .*config: differs from the trial this key names/);
  });

  it('a folder without results.jsonl is an error naming the file and what is allowed', async () => {
    await assert.rejects(importTrialRecords(path.join(root, 'nowhere'), path.join(root, 'c'), planned), /nowhere\/results\.jsonl .*allowed: a results folder written by peftscale experiment or collect/);
  });

  it('a results.jsonl that is a FIFO or a directory is refused by type, not read', async () => {
    const dir = path.join(root, 'dir-as-file');
    await mkdir(path.join(dir, RESULT_FILES.records), { recursive: true });
    await assert.rejects(importTrialRecords(dir, path.join(root, 'c2'), planned), /results\.jsonl is a directory: allowed: a regular file/);
  });
});
