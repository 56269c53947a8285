/**
 * Reading a results folder: the fixture round-trips (NaN written as null reads back as NaN), bench.json
 * (from the folder or --bench) and ensembles.json are read when present, and every kind of bad input is
 * an error naming the file, line or entry, field, value and what is allowed.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { benchReportProblems } from '../src/results/bench.js';
import { RESULT_FILES, type SummaryRow } from '../src/results/results.js';
import { FIXTURE_BENCH_GIT, FIXTURE_DIVERGED, fixtureBench, fixtureEnsembles, fixtureRecords, writeFixtureResults } from '../test/report_fixtures.js';
import { checkBench } from './check_bench.js';
import { checkRecord } from './check_results.js';
import { checkEnsemble, loadResults, parseRecords } from './load.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'peftscale-load-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A fresh fixture folder per test (tests edit its files). */
async function fixtureFolder(name: string, bench = false, ensembles = false): Promise<string> {
  return writeFixtureResults(path.join(dir, name), { bench, ensembles });
}

/** The fixture's bench.json, edited by `edit`, as parsed JSON. */
function editedBench(edit: (bench: Record<string, unknown> & { rows: Record<string, unknown>[]; settings: Record<string, unknown>; mixedServing: Record<string, unknown>[]; columns: Record<string, unknown>[] }) => void): unknown {
  const bench = JSON.parse(JSON.stringify(fixtureBench())) as Parameters<typeof edit>[0];
  edit(bench);
  return bench;
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

  it('reads bench.json from the results folder when present, checked and typed', async () => {
    const folder = await fixtureFolder('bench', true);
    const results = await loadResults(folder);
    assert.ok(results.bench !== null);
    assert.equal(results.bench.origin, 'results');
    assert.equal(results.bench.file, path.join(path.resolve(folder), RESULT_FILES.bench));
    assert.deepEqual(results.bench.report, fixtureBench());
    assert.equal(results.ensembles, null, 'no ensembles.json: null');
  });

  it('--bench FILE: reads that file instead of the folder’s, and a missing one is an error naming its path', async () => {
    const folder = await fixtureFolder('bench-flag', true);
    const elsewhere = path.join(dir, 'bench-elsewhere.json');
    const other = fixtureBench();
    other.rows[0].inferMedianMs = 123.5;
    await writeFile(elsewhere, JSON.stringify(other));
    const results = await loadResults(folder, { benchFile: elsewhere });
    assert.equal(results.bench?.origin, 'flag');
    assert.equal(results.bench?.file, elsewhere);
    assert.equal(results.bench?.report.rows[0].inferMedianMs, 123.5, 'the given file, not the folder’s bench.json');
    const missing = path.join(dir, 'no-such-bench.json');
    await assert.rejects(loadResults(folder, { benchFile: missing }), (error: Error) => {
      assert.ok(error.message.startsWith(`--bench ${missing}: cannot read ${missing}: no such file.`), error.message);
      assert.match(error.message, /results\/bench\/bench\.json/, 'says where peftscale bench writes it');
      return true;
    });
  });

  it('the fixture bench.json conforms to the declared format', () => {
    assert.deepEqual(benchReportProblems(fixtureBench()), []);
    assert.equal(fixtureBench().environment.gitHash, FIXTURE_BENCH_GIT);
  });

  it('bench.json with bad fields: one error naming the file, each field, its value and what is allowed', async () => {
    const folder = await fixtureFolder('bad-bench-fields', true);
    const file = path.join(folder, RESULT_FILES.bench);
    const bad = editedBench((b) => {
      b.rows[2].inferOverhead = 'small';
      b.settings.batchSize = '16';
      delete b.mixedServing[1].speedup;
      b.formatVersion = 7;
    });
    await writeFile(file, JSON.stringify(bad));
    await assert.rejects(loadResults(folder), (error: Error) => {
      const lines = error.message.split('\n');
      assert.ok(lines.every((line) => line.startsWith(`${path.resolve(file)}: `)), `every line names the file:\n${error.message}`);
      assert.match(error.message, /: rows\[2\]\.inferOverhead = "small": allowed: a finite number/);
      assert.match(error.message, /: settings\.batchSize = "16": allowed: a number/);
      assert.match(error.message, /: mixedServing\[1\]: speedup = \(missing\): allowed: a number/);
      assert.match(error.message, /formatVersion is 7, expected 1/);
      return true;
    });
  });

  it('bench.json whose declared unit differs from the one the report converts from is refused', () => {
    const bad = editedBench((b) => {
      const overhead = b.columns.find((c) => c.key === 'inferOverhead')!;
      overhead.unit = '%';
    });
    assert.throws(() => checkBench(bad, 'x/bench.json'), /x\/bench\.json: columns\[\d+\]: unit = "%": allowed: "fraction" \(the unit src\/results\/bench\.ts declares for inferOverhead/);
  });

  it('bench.json that is not an object, or of another format, says so', () => {
    assert.throws(() => checkBench([1, 2], 'b.json'), /: b\.json: bench\.json must be a JSON object$/);
    assert.throws(() => checkBench({ ...fixtureBench(), format: 'other' }, 'b.json'), /b\.json: format is "other", expected "peftscale-bench"/);
  });

  it('reads ensembles.json when present: every ensemble as written', async () => {
    const results = await loadResults(await fixtureFolder('ensembles', false, true));
    assert.deepEqual(results.ensembles, fixtureEnsembles(fixtureRecords()));
    assert.equal(results.ensembles?.length, 6, '3 presets × 2 tasks');
    assert.equal(results.bench, null);
  });

  it('ensembles.json with bad fields: one error naming the entry, each field, its value and what is allowed', async () => {
    const folder = await fixtureFolder('bad-ensembles', false, true);
    const file = path.join(folder, RESULT_FILES.ensembles);
    const ensembles = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>[];
    ensembles[1].perPrompt = [0.5, 1.5];
    ensembles[3].tiedVotes = -2;
    ensembles[4].seeds = [0];
    ensembles[5].keys = ['fixture-0000dead', (ensembles[5].keys as string[])[1]];
    await writeFile(file, JSON.stringify(ensembles));
    await assert.rejects(loadResults(folder), (error: Error) => {
      assert.match(error.message, /ensembles\.json entry 1: perPrompt\[1\] = 1\.5: allowed: an accuracy from 0 to 1/);
      assert.match(error.message, /ensembles\.json entry 3: tiedVotes = -2: allowed: an integer ≥ 0/);
      assert.match(error.message, /ensembles\.json entry 4: seeds = \[0\]: allowed: 2 entries, one per prompt \(perPrompt has 2\)/);
      assert.match(error.message, /ensembles\.json entry 5: keys\[0\] = "fixture-0000dead": allowed: the key of a trial in results\.jsonl/);
      return true;
    });
  });

  it('an ensemble whose average or best does not follow from perPrompt is refused', () => {
    const [first] = fixtureEnsembles(fixtureRecords());
    assert.throws(() => checkEnsemble({ ...first, average: first.average + 0.05 }, 'ensembles.json entry 0'), /ensembles\.json entry 0: average = [\d.]+: allowed: the mean of perPrompt \([\d.]+\)/);
    assert.throws(() => checkEnsemble({ ...first, best: Math.min(...first.perPrompt) - 0.01 }, 'ensembles.json entry 0'), /best = [\d.]+: allowed: the largest of perPrompt/);
    assert.throws(() => checkEnsemble({ ...first, perPrompt: [0.5], keys: ['k'], seeds: [0] }, 'e'), /e: perPrompt = \[0\.5\]: allowed: two or more accuracies/);
    assert.doesNotThrow(() => checkEnsemble(first, 'ensembles.json entry 0'));
  });

  it('ensembles.json that is not an array says so', async () => {
    const folder = await fixtureFolder('ensembles-object');
    await writeFile(path.join(folder, RESULT_FILES.ensembles), '{"ensembles": []}');
    await assert.rejects(loadResults(folder), /ensembles\.json: \(top level\) = \{"ensembles":\[\]\}: allowed: an array of ensembles/);
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
    assert.throws(() => checkRecord(JSON.parse(JSON.stringify(record)), 'results.jsonl line 1'), /format = 99: allowed: 1 or 2 \(the results formats this report reads\)/);
  });

  it('a format-1 record (before final-step scores) reads with the gain flag from its best-dev step', () => {
    const trained = fixtureRecords().find((r) => r.gainOverInit !== null)!;
    const old: Record<string, unknown> = { ...JSON.parse(JSON.stringify(trained)), format: 1 };
    delete old.final;
    delete old.gainOverInit;
    const kept = checkRecord({ ...old, dev: { ...(old.dev as object), bestStep: 0 } }, 'old');
    assert.deepEqual([kept.final, kept.gainOverInit], [null, false]);
    assert.equal(checkRecord(old, 'old').gainOverInit, (old.dev as { bestStep: number }).bestStep > 0);
    assert.throws(() => checkRecord({ ...JSON.parse(JSON.stringify(trained)), gainOverInit: 'yes' }, 'new'), /gainOverInit = "yes": allowed: true, false, or null/);
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

  it('a summary written before training-set sizes could vary reads with the records\' one size; with several sizes it is out of date', async () => {
    const folder = await fixtureFolder('summary-without-train');
    const file = path.join(folder, RESULT_FILES.summary);
    const summary = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>[];
    const sizes = new Set(fixtureRecords().map((r) => r.config.data.train));
    assert.equal(sizes.size, 1);
    await writeFile(file, JSON.stringify(summary.map(({ train: _train, ...row }) => row)));
    const loaded = await loadResults(folder);
    assert.ok(loaded.summary.every((row) => row.train === [...sizes][0]));
    // One record moved to another size: the old summary cannot tell the groups apart.
    const recordsFile = path.join(folder, RESULT_FILES.records);
    const lines = (await readFile(recordsFile, 'utf8')).trim().split('\n');
    const first = JSON.parse(lines[0]) as { config: { data: { train: number } } };
    first.config.data.train = 7;
    await writeFile(recordsFile, [JSON.stringify(first), ...lines.slice(1)].join('\n') + '\n');
    await assert.rejects(loadResults(folder), /summary\.json: rows without "train", but results\.jsonl has trials on .*7.* training examples: the summary is out of date/);
  });

  it('a run.json with a figure kind it does not know names the allowed kinds', async () => {
    const folder = await fixtureFolder('bad-manifest');
    const file = path.join(folder, RESULT_FILES.manifest);
    const manifest = JSON.parse(await readFile(file, 'utf8')) as { sweeps: { figure: string }[] };
    manifest.sweeps[1].figure = 'length';
    await writeFile(file, JSON.stringify(manifest));
    await assert.rejects(loadResults(folder), /run\.json: sweeps\[1\]: figure = "length": allowed: scaling, prompt-length, init/);
  });

  it('bench.json rows must be objects of the declared columns', async () => {
    const folder = await fixtureFolder('bad-bench');
    await writeFile(path.join(folder, RESULT_FILES.bench), JSON.stringify({ ...fixtureBench(), rows: [{ ...fixtureBench().rows[0], speed: 1 }, 7] }));
    await assert.rejects(loadResults(folder), (error: Error) => {
      assert.match(error.message, /bench\.json: rows\[1\] must be an object/);
      assert.match(error.message, /bench\.json: rows\[0\]\.speed: not a declared column/);
      return true;
    });
  });
});
