/**
 * The trial cache: one JSON file per finished trial, named by its key, written atomically (a temporary
 * file renamed into place), so a reader never sees half a record and a killed run leaves none behind.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { RESULTS_FORMAT_VERSION, type TrialRecord } from '../src/results.js';

export const DEFAULT_TRIAL_CACHE_DIR = path.join('.cache', 'peftscale', 'trials');

export function trialRecordPath(cacheDir: string, key: string): string {
  return path.join(cacheDir, `${key}.json`);
}

/** The saved prompt of a prompt-tuning trial (for ensembles), beside its record. */
export function trialPromptPath(cacheDir: string, key: string): string {
  return path.join(cacheDir, `${key}.prompt.safetensors`);
}

/** Writes a record as <cacheDir>/<key>.json, atomically. */
export async function writeTrialRecord(cacheDir: string, record: TrialRecord): Promise<string> {
  await mkdir(cacheDir, { recursive: true });
  const target = trialRecordPath(cacheDir, record.key);
  const temporary = `${target}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    await writeFile(temporary, `${JSON.stringify(record)}\n`);
    await rename(temporary, target);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  return target;
}

/**
 * The cached record of a key, or null when there is none. A file that is not a record of this key and
 * format (damaged, or written by another version) is reported through `warn` and treated as missing,
 * so the trial runs again and replaces it.
 */
export async function readTrialRecord(cacheDir: string, key: string, warn: (message: string) => void = () => {}): Promise<TrialRecord | null> {
  const file = trialRecordPath(cacheDir, key);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return null;
  }
  try {
    const record = JSON.parse(text) as TrialRecord;
    if (record.key !== key || record.format !== RESULTS_FORMAT_VERSION) {
      warn(`${file}: not a format-${RESULTS_FORMAT_VERSION} record of trial ${key}; running the trial again`);
      return null;
    }
    return record;
  } catch (error) {
    warn(`${file}: unreadable (${(error as Error).message}); running the trial again`);
    return null;
  }
}
