import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { saveCheckpoint } from '../../src/io/checkpoint.js';
import { GPT2 } from '../../src/model/model.js';
import { RESULT_FILES, type RunManifest, type TrialRecord } from '../../src/results/results.js';
import { useBackend } from '../../test/helpers.js';
import { runExperiment } from './experiment.js';

const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..', '..');
const root = mkdtempSync(path.join(os.tmpdir(), 'peftscale-files-e2e-'));
after(() => rmSync(root, { recursive: true, force: true }));

/**
 * From an experiment file only: frozen models from checkpoint folders (the tiny GPT-2 as transformers
 * saved it, with its BPE; a byte-vocabulary one saved by peftscale, 128 positions, so that most RTE inputs
 * are truncated) on SST-2 and RTE rows in the official file formats, two seeds, through the real worker
 * threads, results and report.
 */
describe('an experiment on dataset files and a checkpoint folder, end to end', () => {
  before(async () => {
    await useBackend('wasm');
    cpSync(path.join(REPO, 'test', 'fixtures', 'data'), path.join(root, 'data'), { recursive: true });
    cpSync(path.join(REPO, 'test', 'fixtures', 'hf', 'tiny-gpt2'), path.join(root, 'models', 'tiny-gpt2'), { recursive: true });
    const model = GPT2.initialize({ vocabSize: 260, contextLength: 128, dModel: 16, nLayers: 1, nHeads: 2, dFF: 32, layerNormEps: 1e-5 }, 3);
    await saveCheckpoint(path.join(root, 'models', 'byte'), model, { seed: 3 });
    model.dispose();
  });

  it('runs the sweep, records truncation and provenance, and writes the report', async () => {
    mkdirSync(path.join(root, 'experiments'), { recursive: true });
    const file = path.join(root, 'experiments', 'files.json');
    writeFileSync(
      file,
      JSON.stringify({
        name: 'files-e2e',
        checkpoints: { byte: { path: '../models/byte' }, 'tiny-gpt2': { path: '../models/tiny-gpt2' } },
        tasks: ['sst2', 'rte'],
        datasets: {
          sst2: { recipe: 'sst2', files: { dev: '../data/sst2-dev.tsv' } },
          // The tiny GPT-2 has 48 positions: a shorter template leaves its BPE room for some of the text.
          rte: { recipe: 'rte', files: { train: '../data/rte-train.jsonl', dev: '../data/rte-val.jsonl' }, template: '{premise}\n{hypothesis}\nAnswer:' },
        },
        data: { train: 12, dev: 4, test: 8 },
        seeds: [0, 1],
        training: { steps: 2, batchSize: 2, evalEvery: 1 },
        sweeps: [
          { name: 'scaling', figure: 'scaling', presets: ['tiny-gpt2'], methods: [{ method: 'prompt-tuning', options: { length: 2, init: 'class-label' } }, { method: 'full' }] },
          { name: 'truncation', presets: ['byte'], methods: [{ method: 'prompt-tuning', options: { length: 2, init: 'class-label' } }] },
        ],
      }),
    );
    const results = path.join(root, 'results');
    const outcome = await runExperiment([file, '--trial-cache', path.join(root, 'trials'), '--results', results, '--cache', path.join(root, 'cache'), '--workers', '2']);
    assert.ok(outcome !== null && outcome.resultsDir !== null);
    assert.deepEqual([outcome.trials, outcome.ran, outcome.failed], [12, 12, 0]);
    const records = readFileSync(path.join(outcome.resultsDir, RESULT_FILES.records), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as TrialRecord);
    for (const record of records) {
      assert.equal(record.inputs?.tokenizer, record.config.preset === 'byte' ? 'byte' : 'gpt2-bpe');
      assert.equal(record.dataset?.recipe, record.config.task);
      assert.equal(record.test.examples, 8);
      assert.ok(record.timing.tokensPerRow <= (record.config.preset === 'byte' ? 128 : 48));
      if (record.config.preset !== 'byte') continue;
      if (record.config.task === 'rte') {
        assert.ok((record.inputs?.truncated.test ?? 0) > 0, 'RTE premises exceed 128 byte positions');
        assert.ok(record.dataset?.splits.some((line) => line.startsWith('test: rte-val.jsonl (16 rows')));
      } else assert.ok((record.inputs?.truncated.test ?? 8) < 8, 'most SST-2 sentences fit');
    }
    const manifest = JSON.parse(readFileSync(path.join(outcome.resultsDir, RESULT_FILES.manifest), 'utf8')) as RunManifest;
    assert.deepEqual(manifest.pretrained, [], 'nothing was pretrained');
    assert.deepEqual(manifest.checkpoints?.map((c) => [c.name, c.tokenizer]).sort(), [['byte', 'byte'], ['tiny-gpt2', 'bpe']]);
    assert.deepEqual(manifest.datasets?.map((d) => d.name).sort(), ['rte', 'sst2']);
    // Split overlap: counted per pair on the splits used, in run.json and each record, and shown in the report.
    for (const dataset of manifest.datasets ?? []) assert.deepEqual(dataset.overlap?.pairs.map((p) => [p.split, p.with, p.shared]), [['dev', 'train', 0], ['test', 'train', 0], ['test', 'dev', 0]]);
    assert.ok(records.every((r) => r.dataset?.overlap?.maxShare === 0.01 && typeof r.checksum === 'string'), 'records carry the overlap and their checksum');
    const html = readFileSync(path.join(REPO, 'reports', 'out', 'files-e2e', 'index.html'), 'utf8');
    assert.match(html, /rte/);
    assert.match(html, /sst2/);
    assert.match(html, /<h2 id="data">Data and checkpoint folders<\/h2>/);
    assert.match(html, /test: rte-val\.jsonl \(16 rows; no labelled test file/);
    assert.match(html, /overlap: no input text of dev or test is also in another split \(allowed: 1\.0% of a split\)/);
    assert.match(html, /<td>byte<\/td><td>rte<\/td><td class="num">[1-8]<\/td><td class="num">8<\/td>/, 'shortened RTE test inputs on the byte model');

    // A rerun takes everything from the cache.
    const again = await runExperiment([file, '--trial-cache', path.join(root, 'trials'), '--results', results, '--cache', path.join(root, 'cache'), '--workers', '1', '--no-report']);
    assert.deepEqual([again?.cached, again?.ran], [12, 0]);
    assert.ok(existsSync(path.join(outcome.resultsDir, RESULT_FILES.summary)));
  });
});
