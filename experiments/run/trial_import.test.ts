/**
 * Importing a results folder's records into the trial cache (`experiment --import-trials`): planned trials
 * only, the cached record kept, a damaged record of a planned trial refused naming its line and field.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { RESULT_FILES } from '../../src/results/results.js';
import { fixtureRecords, writeFixtureResults } from '../../test/report_fixtures.js';
import { readTrialRecord } from './trial_cache.js';
import { importTrialRecords } from './trial_import.js';

const root = await mkdtemp(path.join(os.tmpdir(), 'peftscale-import-'));
after(async () => {
  await rm(root, { recursive: true, force: true });
});

// The fixture's diverged trial has NaN scores (a real diverged record keeps its best-dev scores), which no
// cache accepts: it stands for a trial this run does not plan.
const all = fixtureRecords();
const records = all.filter((r) => r.status === 'finished');
const planned = records.map((r) => ({ key: r.key, config: r.config }));

describe('importing trial records into the trial cache', () => {
  it('imports the planned trials, counts the others, keeps what is cached', async () => {
    const results = await writeFixtureResults(path.join(root, 'results'));
    const cache = path.join(root, 'cache');
    const half = planned.slice(0, Math.floor(planned.length / 2));
    const first = await importTrialRecords(results, cache, half);
    assert.deepEqual([first.imported, first.alreadyCached, first.notPlanned], [half.length, 0, all.length - half.length]);
    assert.equal((await readdir(cache)).filter((f) => f.endsWith('.json')).length, half.length);
    const back = await readTrialRecord(cache, half[0].key, () => assert.fail('a valid imported record was rejected'), half[0].config);
    assert.deepEqual(back, JSON.parse(JSON.stringify(records[0])));
    const second = await importTrialRecords(results, cache, planned);
    assert.deepEqual([second.imported, second.alreadyCached, second.notPlanned], [records.length - half.length, half.length, all.length - records.length]);
  });

  it('refuses a damaged record of a planned trial, naming line and field, and writes nothing', async () => {
    const results = await writeFixtureResults(path.join(root, 'damaged'));
    const file = path.join(results, RESULT_FILES.records);
    const lines = (await readFile(file, 'utf8')).split('\n');
    const damaged = JSON.parse(lines[2]) as { test: { accuracy: number } };
    damaged.test.accuracy = 7.5;
    lines[2] = JSON.stringify(damaged);
    await writeFile(file, lines.join('\n'));
    const cache = path.join(root, 'cache-damaged');
    await assert.rejects(importTrialRecords(results, cache, planned), /line 3 \(trial [\w-]+\): test\.accuracy = 7\.5: allowed: a number in \[0, 1\]/);
    await assert.rejects(readdir(cache), /ENOENT/, 'nothing was written');
  });

  it('a record whose config is not the planned trial\'s is refused', async () => {
    const results = await writeFixtureResults(path.join(root, 'other-config'));
    const wrong = planned.map((p, i) => (i === 0 ? { key: p.key, config: { ...(p.config as object), seed: 99 } } : p));
    await assert.rejects(importTrialRecords(results, path.join(root, 'cache-other'), wrong), /line 1 .*config: differs from the trial this key names/);
  });

  it('a folder without results.jsonl is an error naming the file and what is allowed', async () => {
    await assert.rejects(importTrialRecords(path.join(root, 'nowhere'), path.join(root, 'c'), planned), /nowhere\/results\.jsonl .*allowed: a results folder written by peftscale experiment or collect/);
  });
});
