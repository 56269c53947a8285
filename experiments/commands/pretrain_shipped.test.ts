/**
 * A shipped pretrained family on a tiny pretraining: export writes the cache's finished folders with a
 * manifest; a fresh cache then installs them instead of pretraining (no training/ folder is ever made);
 * a changed file is an error naming it and both hashes, never a silent retrain; --verify pretrains again
 * and finds the weights bit for bit equal on the same backend, and reports a tampered model as a mismatch.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initBackend } from '../../src/model/backend.js';
import { loadWeights, saveTensors, WEIGHTS_FILE } from '../../src/io/checkpoint.js';
import * as tf from '@tensorflow/tfjs-core';
import { ensurePretrained, pretrainedModelDir } from '../pretrain/pretrain_family.js';
import type { PretrainProfile } from '../pretrain/pretrain_profiles.js';
import { describeFolder, MANIFEST_FILE, readManifest } from '../pretrain/shipped_family.js';
import { exportFamily, verifyFamily } from './pretrain_shipped.js';

const TINY: PretrainProfile = {
  name: 'tiny-shipped-test',
  description: 'for tests',
  corpus: { worldSize: 8, townCount: 3, corpusBytes: 6_000, heldoutBytes: 1_500 },
  presets: ['ps-nano'],
  schedule: () => ({ steps: 4, batchSize: 4, sequenceLength: 32, learningRate: 3e-3, warmupSteps: 1 }),
  checkpointEvery: 2,
  evalBatchSize: 16,
};
const quiet = { progress: false, log: (): void => undefined } as const;
const root = mkdtempSync(path.join(os.tmpdir(), 'peftscale-shipped-'));
const dirs = { cache: path.join(root, 'cache'), shipped: path.join(root, 'shipped'), fresh: path.join(root, 'fresh') };
const selection = (cacheDir: string) => ({ profile: TINY, seed: 0, cacheDir, presets: ['ps-nano'] });

describe('a shipped pretrained family [wasm]', () => {
  before(async () => {
    await initBackend('wasm');
    for (const control of [true, false]) await ensurePretrained({ preset: 'ps-nano', profile: TINY, cacheDir: dirs.cache, control, shippedDir: null, ...quiet });
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('export writes every finished folder with sha256s, corpus, steps, backend and git hash; an unfinished cache is refused by name', async () => {
    const messages: string[] = [];
    await exportFamily(dirs.shipped, selection(dirs.cache), (m) => messages.push(m));
    const manifest = await readManifest(dirs.shipped);
    assert.ok(manifest !== null);
    assert.equal(manifest.models.length, 2);
    const trained = manifest.models.find((m) => m.kind === 'pretrained');
    assert.equal(trained?.steps, 4);
    assert.equal(trained?.backend, 'wasm');
    assert.match(trained?.files[WEIGHTS_FILE] ?? '', /^[0-9a-f]{64}$/);
    assert.equal(trained?.folder, path.basename(pretrainedModelDir({ preset: 'ps-nano', profile: TINY, seed: 0, cacheDir: dirs.cache })));
    assert.match(manifest.corpusFingerprint, /^[0-9a-f]{16}$/);
    assert.ok(manifest.gitHash.length > 0);
    assert.match(messages.join('\n'), /exported 2 models/);
    await assert.rejects(exportFamily(path.join(root, 'x'), selection(path.join(root, 'empty')), () => undefined), /not finished in the cache .*ps-nano control.*Run `peftscale pretrain --profile tiny-shipped-test --seed 0` first/);
  });

  it('a fresh cache installs the shipped models instead of pretraining, byte for byte', async () => {
    const messages: string[] = [];
    const model = await ensurePretrained({ preset: 'ps-nano', profile: TINY, cacheDir: dirs.fresh, shippedDir: dirs.shipped, progress: false, log: (m) => messages.push(m) });
    assert.equal(model.status, 'reused');
    assert.equal(model.steps, 4);
    assert.match(messages[0], /installed the shipped pretrained model from .* \(sha256 of \d+ files verified; corpus [0-9a-f]{16}, 4 steps on wasm/);
    assert.ok(!existsSync(path.join(model.dir, 'training')), 'no pretraining ran');
    const original = pretrainedModelDir({ preset: 'ps-nano', profile: TINY, seed: 0, cacheDir: dirs.cache });
    assert.deepEqual(readFileSync(path.join(model.dir, WEIGHTS_FILE)), readFileSync(path.join(original, WEIGHTS_FILE)));
  });

  it('verify pretrains again and finds the shipped weights bit for bit equal on the same backend', async () => {
    const rows = await verifyFamily(dirs.shipped, selection(dirs.cache), 0, 'wasm', () => undefined);
    assert.deepEqual(rows.map((r) => `${r.kind} ${r.outcome} ${r.maxDifference}`), ['control bit-for-bit 0', 'pretrained bit-for-bit 0']);
  });

  it('a changed shipped file is an error naming it and both hashes, and verify reports the difference', async () => {
    const manifest = await readManifest(dirs.shipped);
    const entry = manifest?.models.find((m) => m.kind === 'pretrained');
    assert.ok(manifest !== null && entry !== undefined);
    const weightsFile = path.join(dirs.shipped, 'ps-nano', entry.folder, WEIGHTS_FILE);
    // Nudge one weight by 1e-3 and record the new hash: a tampered model the manifest still vouches for…
    const { tensors } = await loadWeights(weightsFile);
    const name = [...tensors.keys()][0];
    const nudged = new Map(tensors);
    nudged.set(name, tf.add(tensors.get(name) as tf.Tensor, 1e-3));
    await saveTensors(weightsFile, nudged, { format: 'pt' });
    tf.dispose([...tensors.values(), ...nudged.values()]);
    await assert.rejects(
      ensurePretrained({ preset: 'ps-nano', profile: TINY, cacheDir: path.join(root, 'fresh2'), shippedDir: dirs.shipped, ...quiet }),
      /shipped model .*model\.safetensors has sha256 [0-9a-f]{64}, the manifest says [0-9a-f]{64}: the file was changed or damaged\. Restore it .*PEFTSCALE_SHIPPED_DIR=off/,
    );
    assert.ok(!existsSync(path.join(pretrainedModelDir({ preset: 'ps-nano', profile: TINY, seed: 0, cacheDir: path.join(root, 'fresh2') }), 'training')), 'no silent retrain');
    // …is caught by verify: it pretrains again and compares the weights themselves.
    entry.files = (await describeFolder(path.dirname(weightsFile), 'ps-nano', 'pretrained', 4, 'wasm')).files;
    writeFileSync(path.join(dirs.shipped, MANIFEST_FILE), JSON.stringify(manifest));
    await assert.rejects(verifyFamily(dirs.shipped, selection(dirs.cache), 0, 'wasm', () => undefined), /1 of 2 shipped models do not match a fresh pretraining: ps-nano pretrained \(largest weight difference 1\.000e-3 > tolerance 0/);
    const within = await verifyFamily(dirs.shipped, selection(dirs.cache), 2e-3, 'wasm', () => undefined);
    assert.equal(within.find((r) => r.kind === 'pretrained')?.outcome, 'within-tolerance');
  });
});
