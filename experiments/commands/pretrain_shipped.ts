/**
 * `peftscale pretrain --export DIR` and `peftscale pretrain --verify`: the two ends of a shipped pretrained
 * family (experiments/pretrain/shipped_family.ts). Export copies the finished cache folders of a profile's
 * models and controls into DIR with a manifest; verify pretrains every shipped model again in a scratch
 * cache and compares the weights: bit for bit (equal sha256) by default, or within `--tolerance` (the
 * largest absolute difference of any weight), which a different backend needs. A mismatch is an error
 * listing each model and its difference; nothing is replaced.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadWeights, WEIGHTS_FILE } from '../../src/io/checkpoint.js';
import { readPretrainedSummary } from '../../src/training/pretrain_checkpoint.js';
import { corpusFingerprint } from '../../datasets/corpus.js';
import { ensurePretrained, PRETRAIN_CODE_VERSION, pretrainedModelDir } from '../pretrain/pretrain_family.js';
import { profileCorpusConfig, type PretrainProfile } from '../pretrain/pretrain_profiles.js';
import { MANIFEST_FILE, readManifest, sha256File, writeShippedFamily, type ShippedModel } from '../pretrain/shipped_family.js';

export interface FamilySelection {
  profile: PretrainProfile;
  seed: number;
  cacheDir: string;
  presets: readonly string[];
}

/** Writes DIR from the cache: every preset's pretrained model and control must be finished there. */
export async function exportFamily(dir: string, selection: FamilySelection, log: (message: string) => void): Promise<void> {
  const { profile, seed, cacheDir } = selection;
  const models: { cacheDir: string; preset: string; kind: ShippedModel['kind']; steps: number; backend: string }[] = [];
  const missing: string[] = [];
  for (const preset of selection.presets) {
    for (const kind of ['control', 'pretrained'] as const) {
      const folder = pretrainedModelDir({ preset, profile, seed, cacheDir, control: kind === 'control' });
      const summary = await readPretrainedSummary(folder, { verify: true });
      if (summary === null) {
        missing.push(`${preset} ${kind} (${folder})`);
        continue;
      }
      const steps = typeof summary.details.steps === 'number' ? summary.details.steps : 0;
      const backend = typeof summary.details.backend === 'string' ? summary.details.backend : 'unknown';
      models.push({ cacheDir: folder, preset, kind, steps, backend });
    }
  }
  if (missing.length > 0) {
    throw new Error(`pretrain --export: not finished in the cache ${cacheDir}: ${missing.join('; ')}. Run \`peftscale pretrain --profile ${profile.name} --seed ${seed}\` first`);
  }
  const fingerprint = corpusFingerprint(profileCorpusConfig(profile, seed));
  const manifest = await writeShippedFamily(dir, { profile: profile.name, seed, corpusFingerprint: fingerprint, codeVersion: PRETRAIN_CODE_VERSION }, models);
  const files = manifest.models.reduce((n, m) => n + Object.keys(m.files).length, 0);
  log(`exported ${manifest.models.length} models (${files} files, sha256 in ${path.join(dir, MANIFEST_FILE)}); profile ${profile.name}, seed ${seed}, corpus ${fingerprint}, git ${manifest.gitHash.slice(0, 12)}`);
}

export interface VerifyRow {
  preset: string;
  kind: ShippedModel['kind'];
  shippedBackend: string;
  /** 'bit-for-bit', 'within-tolerance' or 'mismatch'. */
  outcome: 'bit-for-bit' | 'within-tolerance' | 'mismatch';
  /** Largest absolute difference over every weight (0 when bit for bit). */
  maxDifference: number;
}

/** Largest |a − b| over the tensors of two weight files; Infinity when their names or shapes differ. */
async function maxWeightDifference(a: string, b: string): Promise<number> {
  const [left, right] = [await loadWeights(a), await loadWeights(b)];
  try {
    let largest = 0;
    for (const [name, tensor] of left.tensors) {
      const other = right.tensors.get(name);
      if (other === undefined || other.shape.join() !== tensor.shape.join()) return Infinity;
      largest = Math.max(largest, tf.tidy(() => tf.max(tf.abs(tf.sub(tensor, other))).dataSync()[0]));
    }
    return right.tensors.size === left.tensors.size ? largest : Infinity;
  } finally {
    tf.dispose([...left.tensors.values(), ...right.tensors.values()]);
  }
}

/**
 * Pretrains each shipped model of the selection again in a scratch cache (the shipped copies unused) and
 * compares it with the shipped weights. Throws, listing every model that differs, when any does.
 */
export async function verifyFamily(shipped: string, selection: FamilySelection, tolerance: number, backend: string, log: (message: string) => void): Promise<VerifyRow[]> {
  const manifest = await readManifest(shipped);
  if (manifest === null) throw new Error(`pretrain --verify: ${path.join(shipped, MANIFEST_FILE)} does not exist; --shipped names the folder \`pretrain --export\` wrote`);
  if (manifest.profile !== selection.profile.name || manifest.seed !== selection.seed) {
    throw new Error(`pretrain --verify: ${shipped} holds profile ${manifest.profile}, seed ${manifest.seed}; asked for profile ${selection.profile.name}, seed ${selection.seed}`);
  }
  const entries = manifest.models.filter((m) => selection.presets.includes(m.preset));
  if (entries.length === 0) throw new Error(`pretrain --verify: ${shipped} ships none of ${selection.presets.join(', ')}; it has ${[...new Set(manifest.models.map((m) => m.preset))].join(', ')}`);
  const scratch = await mkdtemp(path.join(tmpdir(), 'peftscale-verify-'));
  const rows: VerifyRow[] = [];
  try {
    for (const entry of entries) {
      const spec = { preset: entry.preset, profile: selection.profile, seed: selection.seed, cacheDir: scratch, control: entry.kind === 'control' };
      if (path.basename(pretrainedModelDir(spec)) !== entry.folder) {
        throw new Error(`pretrain --verify: ${entry.preset} ${entry.kind} is shipped as ${entry.folder}, but this code names it ${path.basename(pretrainedModelDir(spec))} (a different schedule, corpus or code version): export the family again`);
      }
      log(`${entry.preset}: pretraining the ${entry.kind} model again to compare with ${shipped} (shipped from ${entry.backend}; here ${backend})`);
      const fresh = await ensurePretrained({ ...spec, shippedDir: null, log });
      const shippedWeights = path.join(shipped, entry.preset, entry.folder, WEIGHTS_FILE);
      const same = (await sha256File(path.join(fresh.dir, WEIGHTS_FILE))) === entry.files[WEIGHTS_FILE];
      const difference = same ? 0 : await maxWeightDifference(shippedWeights, path.join(fresh.dir, WEIGHTS_FILE));
      const outcome = same ? 'bit-for-bit' : difference <= tolerance ? 'within-tolerance' : 'mismatch';
      rows.push({ preset: entry.preset, kind: entry.kind, shippedBackend: entry.backend, outcome, maxDifference: difference });
      log(`${entry.preset} ${entry.kind}: ${outcome}${same ? '' : ` (largest weight difference ${difference.toExponential(3)}, tolerance ${tolerance})`}`);
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  const bad = rows.filter((r) => r.outcome === 'mismatch');
  if (bad.length > 0) {
    const otherBackend = bad.some((r) => r.shippedBackend !== backend);
    throw new Error(
      `pretrain --verify: ${bad.length} of ${rows.length} shipped models do not match a fresh pretraining: ` +
        bad.map((r) => `${r.preset} ${r.kind} (largest weight difference ${r.maxDifference.toExponential(3)} > tolerance ${tolerance}, shipped from ${r.shippedBackend})`).join('; ') +
        (otherBackend ? `. They were pretrained on another backend than ${backend}: bit for bit holds on the same backend only; pass --tolerance to compare within one` : '. The shipped files were not replaced'),
    );
  }
  return rows;
}
