/**
 * A pretrained frozen family shipped as files, so that a fresh clone skips pretraining: the finished
 * cache folders of a profile's models and controls, copied under one folder with a manifest.
 *
 *     <shipped>/manifest.json              format, profile, seed, corpus fingerprint, code version, git hash,
 *                                          and per model: preset, kind, cache folder name, steps, backend,
 *                                          sha256 of every file
 *     <shipped>/<preset>/<cache folder name>/model.safetensors, config.json, pretrain.json[, gates.json]
 *
 * `peftscale pretrain --export DIR` writes one from the cache. ensurePretrained (pretrain_family.ts) looks
 * for a model's cache folder name in the shipped manifest (default folder `pretrained/`, or
 * $PEFTSCALE_SHIPPED_DIR; `off` disables) before it would pretrain: a model whose files all verify is
 * copied into the cache and used; a model whose files do not verify is an error naming the file and both
 * hashes, never a silent retrain. The folder name already encodes the corpus fingerprint, seed, schedule
 * and code version, so a manifest entry matches only the model it was made from.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

export const SHIPPED_FORMAT = 'peftscale-shipped-family';
export const SHIPPED_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';
export const DEFAULT_SHIPPED_DIR = 'pretrained';
export const SHIPPED_ENV = 'PEFTSCALE_SHIPPED_DIR';

export interface ShippedModel {
  preset: string;
  kind: 'pretrained' | 'control';
  /** The cache folder's name (pretrained-c…-s…-b…-v… or control-c…-s…-v…). */
  folder: string;
  steps: number;
  /** The backend it was pretrained on (pretrain.json). */
  backend: string;
  /** sha256 (hex) of every file in the folder, by name. */
  files: Record<string, string>;
}

export interface ShippedManifest {
  format: typeof SHIPPED_FORMAT;
  version: number;
  profile: string;
  seed: number;
  corpusFingerprint: string;
  codeVersion: number;
  gitHash: string;
  exportedAt: string;
  models: ShippedModel[];
}

/** The shipped folder to look in: $PEFTSCALE_SHIPPED_DIR (`off`: none), else `pretrained/` under the working directory. */
export function shippedDir(): string | null {
  const value = process.env[SHIPPED_ENV];
  if (value === 'off') return null;
  return value === undefined || value === '' ? DEFAULT_SHIPPED_DIR : value;
}

export async function sha256File(file: string): Promise<string> {
  return createHash('sha256').update(await readFile(file)).digest('hex');
}

/** The manifest of a shipped folder; null when the folder has none. A malformed one is an error naming the field. */
export async function readManifest(dir: string): Promise<ShippedManifest | null> {
  let text: string;
  try {
    text = await readFile(path.join(dir, MANIFEST_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const where = path.join(dir, MANIFEST_FILE);
  let manifest: ShippedManifest;
  try {
    manifest = JSON.parse(text) as ShippedManifest;
  } catch {
    throw new Error(`${where} is not valid JSON`);
  }
  if (manifest.format !== SHIPPED_FORMAT || manifest.version !== SHIPPED_VERSION) {
    throw new Error(`${where}: format ${JSON.stringify(manifest.format)} version ${manifest.version}; allowed: ${SHIPPED_FORMAT} version ${SHIPPED_VERSION}`);
  }
  if (!Array.isArray(manifest.models)) throw new Error(`${where}: models must be a list`);
  manifest.models.forEach((m, i) => {
    if (typeof m.folder !== 'string' || !/^(pretrained|control)-[\w.-]+$/.test(m.folder)) throw new Error(`${where}: models[${i}].folder = ${JSON.stringify(m.folder)}: allowed: a cache folder name (pretrained-… or control-…)`);
    if (typeof m.files !== 'object' || m.files === null || Object.keys(m.files).length === 0) throw new Error(`${where}: models[${i}].files must map file names to sha256`);
    for (const [name, hash] of Object.entries(m.files)) {
      if (!/^[\w.-]+$/.test(name) || !/^[0-9a-f]{64}$/.test(String(hash))) throw new Error(`${where}: models[${i}].files[${JSON.stringify(name)}] = ${JSON.stringify(hash)}: allowed: a plain file name and a sha256 hex digest`);
    }
  });
  return manifest;
}

/**
 * Installs a shipped model into `cacheModelDir` when the shipped folder's manifest lists it (same preset and
 * folder name): every file's sha256 is checked first, then the files are copied in under a temporary name
 * and renamed. Returns a message to log, or null when nothing is shipped for it. Throws on a mismatch.
 */
export async function installShippedModel(cacheModelDir: string, preset: string, dir: string | null = shippedDir()): Promise<string | null> {
  if (dir === null) return null;
  const manifest = await readManifest(dir);
  if (manifest === null) return null;
  const folder = path.basename(cacheModelDir);
  const entry = manifest.models.find((m) => m.preset === preset && m.folder === folder);
  if (entry === undefined) return null;
  const source = path.join(dir, preset, folder);
  for (const [name, expected] of Object.entries(entry.files)) {
    let actual: string;
    try {
      actual = await sha256File(path.join(source, name));
    } catch {
      throw new Error(`shipped model ${source}: ${name} is missing (listed in ${path.join(dir, MANIFEST_FILE)}); restore it (git checkout), or set ${SHIPPED_ENV}=off to pretrain ${preset} here instead`);
    }
    if (actual !== expected) {
      throw new Error(
        `shipped model ${source}: ${name} has sha256 ${actual}, the manifest says ${expected}: the file was changed or damaged. ` +
          `Restore it (git checkout), or set ${SHIPPED_ENV}=off to pretrain ${preset} here instead`,
      );
    }
  }
  const temporary = `${cacheModelDir}.shipped-${process.pid}`;
  await rm(temporary, { recursive: true, force: true });
  await mkdir(temporary, { recursive: true });
  for (const name of Object.keys(entry.files)) await copyFile(path.join(source, name), path.join(temporary, name));
  await rm(cacheModelDir, { recursive: true, force: true });
  await rename(temporary, cacheModelDir);
  return `${preset}: installed the shipped ${entry.kind} model from ${source} (sha256 of ${Object.keys(entry.files).length} files verified; corpus ${manifest.corpusFingerprint}, ${entry.steps} steps on ${entry.backend}, exported at git ${manifest.gitHash.slice(0, 12)})`;
}

/** A finished cache folder as a manifest entry (its files hashed). */
export async function describeFolder(folderPath: string, preset: string, kind: ShippedModel['kind'], steps: number, backend: string): Promise<ShippedModel> {
  const names = (await readdir(folderPath, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name).sort();
  const files: Record<string, string> = {};
  for (const name of names) files[name] = await sha256File(path.join(folderPath, name));
  return { preset, kind, folder: path.basename(folderPath), steps, backend, files };
}

/** Copies finished cache folders into `dir` and writes its manifest (replacing an earlier export there). */
export async function writeShippedFamily(
  dir: string,
  header: Pick<ShippedManifest, 'profile' | 'seed' | 'corpusFingerprint' | 'codeVersion'>,
  models: readonly { cacheDir: string; preset: string; kind: ShippedModel['kind']; steps: number; backend: string }[],
): Promise<ShippedManifest> {
  const entries: ShippedModel[] = [];
  for (const model of models) {
    const target = path.join(dir, model.preset, path.basename(model.cacheDir));
    await rm(target, { recursive: true, force: true });
    await mkdir(target, { recursive: true });
    for (const entry of await readdir(model.cacheDir, { withFileTypes: true })) {
      if (entry.isFile()) await copyFile(path.join(model.cacheDir, entry.name), path.join(target, entry.name));
    }
    entries.push(await describeFolder(target, model.preset, model.kind, model.steps, model.backend));
  }
  const git = spawnSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' });
  const manifest: ShippedManifest = {
    format: SHIPPED_FORMAT,
    version: SHIPPED_VERSION,
    ...header,
    gitHash: git.status === 0 ? git.stdout.trim() : 'unknown',
    exportedAt: new Date().toISOString(),
    models: entries,
  };
  await writeFile(path.join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}
