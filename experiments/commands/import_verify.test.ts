/**
 * `experiment FILE --import-trials DIR --verify` end to end: a tiny run on the tiny GPT-2 from transformers
 * (cpu backend, 2 steps) keeps its records and adapters; a results folder built from them (results.jsonl
 * and adapters/<key>/, as `collect --adapters` writes it) imports when every re-scored count reproduces, and is refused, with nothing
 * written, when a score was edited and the record sealed again (which only re-scoring can catch), when
 * the adapter's metadata names another trial or none, and when a worker dies or throws mid-job. (This
 * model scores every input as the majority label, adapter or not: that re-scoring applies the adapter is
 * tested on a trained one in experiments/run/trial_rescore.test.ts.)
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RESULT_FILES, sealRecord, type TrialRecord } from '../../src/results/results.js';
import { PEFT_METADATA_KEY } from '../../src/io/adapter_io.js';
import { readSafetensorsFile, writeSafetensorsFile } from '../../src/io/safetensors.js';
import { importTrialRecords } from '../run/trial_import.js';
import { REJECTED_SUBDIR, trialAdapterPath, trialRecordPath } from '../run/trial_cache.js';
import { IMPORT_ADAPTERS_SUBDIR } from '../run/trial_verify.js';
import { runExperiment } from './experiment.js';
import { runCollect } from './collect.js';
import { writeTinyRteExperiment } from '../../test/tiny_rte_experiment.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'peftscale-verify-'));
after(() => rmSync(root, { recursive: true, force: true }));
let fresh = 0;
const freshDir = (name: string): string => path.join(root, `${name}-${++fresh}`);

/** Rewrites our record in a kept PEFT-format adapter folder's weights metadata. */
async function editAdapter(dir: string, edit: (record: { metadata: Record<string, unknown> }) => void): Promise<void> {
  const file = path.join(dir, 'adapter_model.safetensors');
  const { tensors, metadata } = await readSafetensorsFile(file);
  const record = JSON.parse(metadata[PEFT_METADATA_KEY]) as { metadata: Record<string, unknown> };
  edit(record);
  await writeSafetensorsFile(file, tensors, { ...metadata, [PEFT_METADATA_KEY]: JSON.stringify(record) });
}

describe('--import-trials DIR --verify: imported scores are re-scored from their kept adapters', () => {
  const file = path.join(root, 'experiments', 'verify.json');
  const trials = path.join(root, 'trials');
  const models = path.join(root, 'cache');
  const results = path.join(root, 'results', 'verify-e2e');
  /** results.jsonl with an adapters/<key>/ folder per kept adapter, as --verify reads it. */
  const withAdapters = path.join(root, 'collected', 'verify-e2e');
  let records: TrialRecord[] = [];
  const run = (dir: string, cache: string, ...more: string[]): ReturnType<typeof runExperiment> =>
    runExperiment([file, '--import-trials', dir, '--verify', '--trial-cache', cache, '--cache', models, '--results', freshDir('results'), '--workers', '1', '--backend', 'cpu', '--no-report', ...more]);

  before(async () => {
    writeTinyRteExperiment(root, file, 'verify-e2e', [{ method: 'prompt-tuning', options: { length: 2 } }, { method: 'lora', options: { rank: 2 } }, { method: 'prompt-design', options: { shots: 0 } }]);
    const outcome = await runExperiment([file, '--trial-cache', trials, '--results', path.join(root, 'results'), '--cache', models, '--workers', '1', '--backend', 'cpu', '--no-report']);
    assert.deepEqual([outcome?.trials, outcome?.failed], [3, 0]);
    records = readFileSync(path.join(results, RESULT_FILES.records), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as TrialRecord);
    // `collect --adapters` writes the folder --verify reads: results.jsonl and adapters/<key>/.
    const collected = await runCollect([file, '--trial-cache', trials, '--cache', models, '--results', path.dirname(withAdapters), '--backend', 'cpu', '--no-report', '--adapters']);
    assert.deepEqual([collected?.resultsDir, collected?.adapters], [withAdapters, { copied: 2, withoutAdapter: 1 }]);
    assert.deepEqual(readFileSync(path.join(withAdapters, RESULT_FILES.records), 'utf8'), readFileSync(path.join(results, RESULT_FILES.records), 'utf8'));
    for (const record of records) {
      if (existsSync(trialAdapterPath(trials, record.key))) {
        assert.deepEqual(readdirSync(path.join(withAdapters, IMPORT_ADAPTERS_SUBDIR, record.key)).sort(), readdirSync(trialAdapterPath(trials, record.key)).sort());
      }
    }
    // Collecting again replaces the copies (no temporary folder left), and a stale folder of a trial without a kept adapter goes.
    const stale = records.find((r) => r.config.method === 'prompt-design') as TrialRecord;
    mkdirSync(path.join(withAdapters, IMPORT_ADAPTERS_SUBDIR, stale.key));
    const again = await runCollect([file, '--trial-cache', trials, '--cache', models, '--results', path.dirname(withAdapters), '--backend', 'cpu', '--no-report', '--adapters']);
    assert.deepEqual(again?.adapters, { copied: 2, withoutAdapter: 1 });
    assert.deepEqual(readdirSync(path.join(withAdapters, IMPORT_ADAPTERS_SUBDIR)).sort(), records.filter((r) => r.config.method !== 'prompt-design').map((r) => r.key).sort());
    assert.equal(readdirSync(path.join(withAdapters, IMPORT_ADAPTERS_SUBDIR)).length, 2, 'prompt tuning and LoRA keep an adapter; prompt design trains none');
  });

  it('an untampered import verifies: both kept adapters reproduce, prompt design is counted as not re-scored, and the adapters are kept', async () => {
    const cache = freshDir('trials');
    const outcome = await run(withAdapters, cache);
    assert.deepEqual(outcome?.verified, { reproduced: 2, exact: 2, noAdapter: 1, keptCache: 0 });
    assert.deepEqual([outcome?.cached, outcome?.ran], [3, 0]);
    const entries = readdirSync(cache);
    assert.equal(entries.filter((name) => name.endsWith('.json')).length, 3);
    assert.equal(entries.filter((name) => name.endsWith('.adapter')).length, 2, 'the verified adapters are copied beside their records');
  });

  it('a test accuracy edited and sealed again imports without --verify, and --verify refuses it naming line, key, field and both values, writing nothing', async () => {
    const index = records.findIndex((r) => r.config.method === 'lora');
    const { test } = records[index];
    const correct = Math.round(test.accuracy * test.examples);
    const edited = (correct === test.examples ? correct - 1 : correct + 1) / test.examples;
    const dir = freshDir('tampered');
    cpSync(withAdapters, dir, { recursive: true });
    const lines = records.map((r, i) => (i === index ? sealRecord({ ...r, test: { ...test, accuracy: edited } }) : r));
    writeFileSync(path.join(dir, RESULT_FILES.records), `${lines.map((r) => JSON.stringify(r)).join('\n')}\n`);
    // The checksum matches the edited content: the checks without --verify cannot tell.
    assert.equal((await importTrialRecords(dir, freshDir('unchecked'), [{ key: records[index].key, config: records[index].config }])).imported, 1);
    const cache = freshDir('trials');
    const pattern = new RegExp(
      `results\\.jsonl:${index + 1} \\(trial ${records[index].key}\\): test\\.accuracy = ${edited} recorded \\(${Math.round(edited * test.examples)} of ${test.examples} correct\\), re-scored ${test.accuracy} \\(${correct} of ${test.examples}\\) from .*: allowed: the same count \\(re-scored where the record was produced: backend cpu,`,
    );
    await assert.rejects(run(dir, cache), (error: Error) => /1 score\(s\) of 2 re-scored record\(s\) do not reproduce from their kept adapters, nothing imported/.test(error.message) && pattern.test(error.message));
    assert.deepEqual(existsSync(cache) ? readdirSync(cache).filter((name) => name.endsWith('.json') || name.endsWith('.adapter')) : [], [], 'nothing of the import was written');
  });

  it('a record whose adapter is missing is counted, not passed; the trial cache\'s adapter serves a record it already holds', async () => {
    const dir = freshDir('one-missing');
    cpSync(withAdapters, dir, { recursive: true });
    const lora = records.find((r) => r.config.method === 'lora') as TrialRecord;
    rmSync(path.join(dir, IMPORT_ADAPTERS_SUBDIR, lora.key), { recursive: true });
    assert.deepEqual((await run(dir, freshDir('trials')))?.verified, { reproduced: 1, exact: 1, noAdapter: 2, keptCache: 0 });
    // Without adapters/, into the run's own cache (the same records, their adapters beside them).
    const bare = freshDir('bare');
    mkdirSync(bare);
    cpSync(path.join(withAdapters, RESULT_FILES.records), path.join(bare, RESULT_FILES.records));
    const cache = freshDir('trials');
    cpSync(trials, cache, { recursive: true });
    assert.deepEqual((await run(bare, cache))?.verified, { reproduced: 2, exact: 2, noAdapter: 1, keptCache: 0 });
  });

  it("an adapter whose metadata names another trial, or no trial, is refused naming the folder and what it found", async () => {
    const lora = records.find((r) => r.config.method === 'lora') as TrialRecord;
    const other = freshDir('other-key');
    cpSync(withAdapters, other, { recursive: true });
    await editAdapter(path.join(other, IMPORT_ADAPTERS_SUBDIR, lora.key), (record) => void (record.metadata.key = 'another-trial'));
    await assert.rejects(run(other, freshDir('trials')), (error: Error) => error.message.includes(`${path.join(other, IMPORT_ADAPTERS_SUBDIR, lora.key)}: the adapter of trial another-trial (its metadata "key"); allowed: trial ${lora.key}'s own adapter`));
    const none = freshDir('no-key');
    cpSync(withAdapters, none, { recursive: true });
    await editAdapter(path.join(none, IMPORT_ADAPTERS_SUBDIR, lora.key), (record) => void delete record.metadata.key);
    const cache = freshDir('trials');
    await assert.rejects(run(none, cache), (error: Error) => new RegExp(`${lora.key}: an adapter whose metadata names no trial key \\(found \\{.*"preset":"tiny-gpt2".*\\}\\); allowed: trial ${lora.key}'s own adapter`).test(error.message));
    assert.equal(existsSync(trialAdapterPath(cache, lora.key)), false, 'the folder was not copied into the cache');
  });

  it('a worker that dies mid re-scoring, or one that throws on a broken adapter, ends the job with an error (no hang, nothing imported)', async () => {
    process.env.PEFTSCALE_FAULT_WORKER_EXIT_ON_VERIFY = '1';
    try {
      await assert.rejects(run(withAdapters, freshDir('trials')), /2 score\(s\) of 2 re-scored record\(s\) do not reproduce[^]*could not be re-scored: the worker exited with code 70/);
    } finally {
      delete process.env.PEFTSCALE_FAULT_WORKER_EXIT_ON_VERIFY;
    }
    const lora = records.find((r) => r.config.method === 'lora') as TrialRecord;
    const broken = freshDir('broken');
    cpSync(withAdapters, broken, { recursive: true });
    writeFileSync(path.join(broken, IMPORT_ADAPTERS_SUBDIR, lora.key, 'adapter_model.safetensors'), 'not safetensors');
    await assert.rejects(run(broken, freshDir('trials')), new RegExp(`1 score\\(s\\) of 2 re-scored[^]*\\(trial ${lora.key}\\): its adapter .* could not be re-scored: `));
  });

  it("a trial the cache already holds another record of keeps the cache's record, reported as not verified; a refused import moves no cached record aside", async () => {
    const lora = records.find((r) => r.config.method === 'lora') as TrialRecord;
    const cache = freshDir('trials');
    cpSync(trials, cache, { recursive: true });
    writeFileSync(trialRecordPath(cache, lora.key), `${JSON.stringify(sealRecord({ ...lora, finishedAt: '2001-01-01T00:00:00.000Z' }))}\n`);
    assert.deepEqual((await run(withAdapters, cache))?.verified, { reproduced: 1, exact: 1, noAdapter: 1, keptCache: 1 });
    // An invalid cached record is not moved to rejected/ by a --verify that then refuses the import.
    const prompt = records.find((r) => r.config.method === 'prompt-tuning') as TrialRecord;
    const refused = freshDir('trials');
    cpSync(trials, refused, { recursive: true });
    writeFileSync(trialRecordPath(refused, prompt.key), '{"not": "a record"}\n');
    rmSync(trialRecordPath(refused, lora.key)); // else the cache's own record of it is kept, and the edit not re-scored
    const tampered = freshDir('tampered');
    cpSync(withAdapters, tampered, { recursive: true });
    const edited = records.map((r) => (r.key === lora.key ? sealRecord({ ...r, test: { ...r.test, accuracy: 1 } }) : r));
    writeFileSync(path.join(tampered, RESULT_FILES.records), `${edited.map((r) => JSON.stringify(r)).join('\n')}\n`);
    await assert.rejects(run(tampered, refused), /do not reproduce/);
    assert.equal(existsSync(path.join(refused, REJECTED_SUBDIR)), false);
    assert.equal(readFileSync(trialRecordPath(refused, prompt.key), 'utf8'), '{"not": "a record"}\n');
  });

  it("a results folder of another experiment file is refused before any re-scoring", async () => {
    const copy = path.join(path.dirname(file), 'verify-copy.json');
    cpSync(file, copy);
    process.env.PEFTSCALE_FAULT_WORKER_EXIT_ON_VERIFY = '1'; // a re-scoring would end in the worker's exit, not this refusal
    try {
      await assert.rejects(
        runExperiment([copy, '--import-trials', withAdapters, '--verify', '--trial-cache', freshDir('trials'), '--cache', models, '--results', path.join(root, 'results'), '--workers', '1', '--backend', 'cpu', '--no-report']),
        /verify-e2e\/ holds the results of another experiment file/,
      );
    } finally {
      delete process.env.PEFTSCALE_FAULT_WORKER_EXIT_ON_VERIFY;
    }
  });

  it('--verify without --import-trials is refused before any work, naming both flags', async () => {
    await assert.rejects(runExperiment([file, '--verify', '--trial-cache', freshDir('trials'), '--cache', models]), /--verify without --import-trials: allowed only with --import-trials DIR/);
  });
});
