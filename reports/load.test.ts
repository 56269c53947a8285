/**
 * Reading a results folder: the fixture round-trips (NaN written as null reads back as NaN), and every
 * kind of bad input is an error naming the file, line, field, value and what is allowed.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RESULT_FILES, type SummaryRow } from '../src/results.js';
import { FIXTURE_DIVERGED, fixtureRecords, writeFixtureResults } from './fixtures.js';
import { checkRecord, loadResults, parseRecords } from './load.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'peftscale-load-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A fresh fixture folder per test (tests edit its files). */
async function fixtureFolder(name: string, bench = false): Promise<string> {
  return writeFixtureResults(path.join(dir, name), { bench });
}

describe('loadResults', () => {
  it('reads the fixture folder back: records, summary, manifest; bench.json absent is null', async () => {
    const folder = await fixtureFolder('plain');
    const results = await loadResults(folder);
    assert.equal(results.records.length, fixtureRecords().length);
    assert.equal(results.manifest.experiment, 'fixture');
    assert.equal(results.bench, null);
    const diverged = results.records.filter((r) => r.status === 'diverged');
    assert.equal(diverged.length, 1);
    assert.equal(diverged[0].config.method, FIXTURE_DIVERGED.method);
    assert.ok(Number.isNaN(diverged[0].test.accuracy), 'NaN accuracy (written as null) reads back as NaN');
    assert.ok(Number.isNaN(diverged[0].divergedAt!.loss));
    const single = results.summary.find((r) => r.n === 1)!;
    assert.ok(Number.isNaN(single.std), 'std of one seed is NaN');
  });

  it('reads bench.json when present, its rows as given', async () => {
    const results = await loadResults(await fixtureFolder('bench', true));
    assert.ok(results.bench !== null);
    assert.ok(results.bench.rows.length > 0);
    assert.equal(results.bench.rows[0].preset, 'ps-nano');
  });

  it('a missing file names the file and what a results folder holds', async () => {
    const folder = await fixtureFolder('missing');
    await unlink(path.join(folder, RESULT_FILES.summary));
    await assert.rejects(loadResults(folder), /cannot read .*summary\.json.*results\.jsonl, summary\.json, run\.json/s);
  });

  it('a record with bad fields: one error naming line, fields, values and what is allowed', async () => {
    const folder = await fixtureFolder('bad-record');
    const file = path.join(folder, RESULT_FILES.records);
    const lines = (await readFile(file, 'utf8')).trim().split('\n');
    const broken = JSON.parse(lines[2]) as { config: Record<string, unknown>; status: string };
    broken.config.preset = 42;
    broken.status = 'exploded';
    lines[2] = JSON.stringify(broken);
    await writeFile(file, `${lines.join('\n')}\n`);
    await assert.rejects(loadResults(folder), (error: Error) => {
      assert.match(error.message, /results\.jsonl line 3: status = "exploded": allowed: finished, diverged/);
      assert.match(error.message, /results\.jsonl line 3: config\.preset = 42: allowed: a string/);
      return true;
    });
  });

  it('a line that is not JSON says so with its line number', () => {
    assert.throws(() => parseRecords(`${JSON.stringify(fixtureRecords()[0])}\n{oops\n`), /results\.jsonl line 2: not valid JSON/);
  });

  it('a record of another results format is refused', () => {
    const record = { ...fixtureRecords()[0], format: 99 };
    assert.throws(() => checkRecord(JSON.parse(JSON.stringify(record)), 'results.jsonl line 1'), /format = 99: allowed: 1 \(the results format this report reads\)/);
  });

  it('a sweep run.json does not describe is an error listing the sweeps it does', async () => {
    const folder = await fixtureFolder('unknown-sweep');
    const file = path.join(folder, RESULT_FILES.records);
    const lines = (await readFile(file, 'utf8')).trim().split('\n');
    const record = JSON.parse(lines[0]) as { sweeps: string[] };
    record.sweeps = ['scaling', 'ablation'];
    lines[0] = JSON.stringify(record);
    await writeFile(file, `${lines.join('\n')}\n`);
    await assert.rejects(loadResults(folder), /sweeps contains "ablation": allowed: the sweeps of run\.json \(scaling, prompt-length, init\)/);
  });

  it('a summary that does not match the records is out of date, not silently used', async () => {
    const folder = await fixtureFolder('stale-summary');
    const file = path.join(folder, RESULT_FILES.summary);
    const summary = JSON.parse(await readFile(file, 'utf8')) as SummaryRow[];
    summary[0].n += 1;
    const dropped = summary.findIndex((row) => row.task !== 'average' && row !== summary[0]);
    await writeFile(file, JSON.stringify(summary.filter((_, i) => i !== dropped)));
    await assert.rejects(loadResults(folder), (error: Error) => {
      assert.match(error.message, /summary\.json: .* n = 3, diverged = 0; results\.jsonl has 2 finished seeds and 0 diverged: the summary is out of date/);
      assert.match(error.message, /summary\.json: no row for .*: the summary is out of date/);
      return true;
    });
  });

  it('a run.json with a figure kind it does not know names the allowed kinds', async () => {
    const folder = await fixtureFolder('bad-manifest');
    const file = path.join(folder, RESULT_FILES.manifest);
    const manifest = JSON.parse(await readFile(file, 'utf8')) as { sweeps: { figure: string }[] };
    manifest.sweeps[1].figure = 'length';
    await writeFile(file, JSON.stringify(manifest));
    await assert.rejects(loadResults(folder), /run\.json: sweeps\[1\]: figure = "length": allowed: scaling, prompt-length, init/);
  });

  it('bench.json rows must be objects', async () => {
    const folder = await fixtureFolder('bad-bench');
    await writeFile(path.join(folder, RESULT_FILES.bench), JSON.stringify({ rows: [{ a: 1 }, 7] }));
    await assert.rejects(loadResults(folder), /bench\.json: rows\[1\] = 7: allowed: an object/);
  });
});
