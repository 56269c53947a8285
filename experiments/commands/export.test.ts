import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { PEFT_CONFIG_FILE } from '../../src/io/adapter_io.js';
import { loadAdapter } from '../../src/io/adapter_load.js';
import { loadPretrained } from '../../src/io/pretrained.js';
import type { TrialRecord } from '../../src/results/results.js';
import { useBackend } from '../../test/helpers.js';
import { maxDifference } from '../../test/golden.js';
import { trialAdapterPath } from '../run/trial_cache.js';
import { runExperiment } from './experiment.js';
import { runExport } from './export_command.js';
import { writeTinyRteExperiment } from '../../test/tiny_rte_experiment.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'peftscale-export-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A quick run on the tiny GPT-2 from transformers leaves every adapter in the trial cache; export writes them out. */
describe('trained adapters: kept in the trial cache, exported with their records', () => {
  const file = path.join(root, 'experiments', 'export.json');
  const trials = path.join(root, 'trials');
  before(async () => {
    await useBackend('wasm');
    writeTinyRteExperiment(root, file, 'export-e2e', [
      { method: 'prompt-tuning', options: { length: 2 } },
      { method: 'lora', options: { rank: 2, targets: ['c_attn', 'mlp.c_fc'] } },
      { method: 'ia3' },
      { method: 'bitfit' },
      { method: 'full' },
      { method: 'prompt-design', options: { shots: 0 } },
    ]);
    const outcome = await runExperiment([file, '--trial-cache', trials, '--results', path.join(root, 'results'), '--cache', path.join(root, 'cache'), '--workers', '1', '--no-report']);
    assert.deepEqual([outcome?.trials, outcome?.failed], [6, 0]);
  });

  it('keeps each adapter beside its record, and exports them in PEFT format where PEFT has the method', async () => {
    const entries = readdirSync(trials);
    assert.equal(entries.filter((name) => name.endsWith('.adapter')).length, 5, 'every method but prompt design (which trains nothing)');
    assert.deepEqual(entries.filter((name) => name.endsWith('.tmp')), [], 'no temporary left behind');
    const out = path.join(root, 'export');
    const result = await runExport([file, '--trial-cache', trials, '--out', out, '--full-model']);
    process.exitCode = 0; // prompt design's missing adapter sets 2, as documented
    assert.ok(result !== null);
    assert.deepEqual(result.exported.map((e) => [e.method, e.format]).sort(), [['bitfit', 'peftscale'], ['full', 'peftscale'], ['ia3', 'peft'], ['lora', 'peft'], ['prompt-tuning', 'peft']]);
    assert.deepEqual(result.notExported.map((m) => m.reason), ['the method trains nothing: there is no adapter']);

    const base = await loadPretrained(path.join(root, 'models', 'tiny-gpt2'));
    const tokens = tf.tensor2d([[5, 17, 99, 3, 250]], [1, 5], 'int32');
    try {
      for (const entry of result.exported) {
        const record = JSON.parse(readFileSync(path.join(entry.dir, 'trial.json'), 'utf8')) as TrialRecord;
        assert.equal(record.key, entry.key);
        assert.equal(existsSync(path.join(entry.dir, PEFT_CONFIG_FILE)), entry.format === 'peft');
        if (entry.format === 'peftscale') assert.match(readFileSync(path.join(entry.dir, 'README.txt'), 'utf8'), /PEFT has no "(bitfit|full)" method/);
        // The exported folder is the cached one, and loads onto the base it was trained on.
        const fromCache = await loadAdapter(trialAdapterPath(trials, entry.key), base.model);
        const exported = await loadAdapter(entry.dir, base.model);
        const logits = exported.forward(tokens);
        assert.equal(maxDifference(logits, fromCache.forward(tokens)), 0);
        if (entry.method === 'full') {
          assert.ok(entry.model !== undefined, '--full-model writes the model folder');
          const model = await loadPretrained(entry.model);
          assert.ok(maxDifference(model.model.forward(tokens), logits) < 1e-5, 'the model folder is the tuned model');
          assert.equal(model.tokenizer.name, base.tokenizer.name, 'with the base checkpoint tokenizer');
          model.model.dispose();
        } else assert.equal(entry.model, undefined);
        fromCache.dispose();
        exported.dispose();
      }
    } finally {
      tokens.dispose();
      base.model.dispose();
    }
    await assert.rejects(runExport([file, '--trial-cache', trials, '--out', out, '--method', 'lorra']), /no trial of export-e2e .* matches the filters \{"method":\["lorra"\]\}/);
    await assert.rejects(runExport([file, '--trial-cache', trials]), /--out DIR is required/);
  });
});
