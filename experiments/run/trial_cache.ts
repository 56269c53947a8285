/**
 * The trial cache: one JSON file per finished trial, named by its key, written atomically (a temporary
 * file renamed into place), so a reader never sees half a record and a killed run leaves none behind.
 * Beside a record of an adapter method: its trained adapter as a folder (`<key>.adapter/`, PEFT's format
 * where PEFT has the method), written whole under a temporary name and renamed into place before the
 * record, so a record's presence means its adapter is complete.
 */
import { mkdir, readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic, writeFolderAtomic } from '../../src/io/atomic_file.js';
import { canonicalJson } from '../../src/util/canonical_json.js';
import { checksumProblem, recordConsistencyProblems, RESULTS_FORMAT_VERSION, statusProblems, type TrialRecord } from '../../src/results/results.js';

export const DEFAULT_TRIAL_CACHE_DIR = path.join('.cache', 'peftscale', 'trials');

export function trialRecordPath(cacheDir: string, key: string): string {
  return path.join(cacheDir, `${key}.json`);
}

/** The saved prompt of a prompt-tuning trial (for ensembles), beside its record. */
export function trialPromptPath(cacheDir: string, key: string): string {
  return path.join(cacheDir, `${key}.prompt.safetensors`);
}

/** The trained adapter of a trial, beside its record (a folder that loadAdapter reads). */
export function trialAdapterPath(cacheDir: string, key: string): string {
  return path.join(cacheDir, `${key}.adapter`);
}

/**
 * The largest adapter kept in the cache (64 MiB by default; PEFTSCALE_ADAPTER_CACHE_MAX_MB changes it): a
 * gpt2 LoRA is about 1 MB and a prompt a few hundred kB, but full tuning saves the whole model (500 MB
 * for gpt2), which a sweep of seeds would multiply. Larger adapters are not kept; the record still is.
 */
export function adapterCacheMaxBytes(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.PEFTSCALE_ADAPTER_CACHE_MAX_MB;
  if (raw === undefined || raw === '') return 64 * 2 ** 20;
  const mb = Number(raw);
  if (!Number.isFinite(mb) || mb < 0) throw new Error(`PEFTSCALE_ADAPTER_CACHE_MAX_MB = ${JSON.stringify(raw)}: allowed: a number of MiB ≥ 0 (0 keeps no adapter)`);
  return mb * 2 ** 20;
}

/**
 * Writes a trial's adapter folder: `save` fills a temporary folder beside the target, which then replaces
 * the target in one rename, so a reader sees the old folder, no folder or the whole new one.
 */
export async function writeTrialAdapter(cacheDir: string, key: string, save: (dir: string) => Promise<unknown>): Promise<string> {
  const target = trialAdapterPath(cacheDir, key);
  try {
    await writeFolderAtomic(target, save);
  } catch (error) {
    throw new Error(`cannot write the trial adapter ${target}: ${(error as Error).message}`);
  }
  return target;
}

/** Where records that fail validation are moved (kept for inspection, never reported). */
export const REJECTED_SUBDIR = 'rejected';

/** Writes a record as <cacheDir>/<key>.json, atomically; a failure names the path and leaves no temporary file. */
export async function writeTrialRecord(cacheDir: string, record: TrialRecord): Promise<string> {
  const target = trialRecordPath(cacheDir, record.key);
  try {
    await mkdir(cacheDir, { recursive: true });
    await writeFileAtomic(target, `${JSON.stringify(record)}\n`);
  } catch (error) {
    throw new Error(`cannot write the trial record ${target}: ${(error as Error).message}`);
  }
  return target;
}

function isRecordObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A fraction in [0, 1], as every accuracy is. */
function fraction(value: unknown): boolean {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 1;
}

function count(value: unknown): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

/**
 * What is wrong with a cached record, if anything: its format and key, the config it was run with
 * (it must be the planned one: a record is trusted only for the trial it names), and the ranges of
 * the numbers a report shows. A damaged record with accuracy 7.5 must not become a 750% bar.
 */
export function trialRecordProblems(value: unknown, key: string, plannedConfig?: unknown): string[] {
  if (!isRecordObject(value)) return ['not a JSON object'];
  const problems: string[] = [];
  if (value.format !== RESULTS_FORMAT_VERSION) problems.push(`format = ${JSON.stringify(value.format)}: allowed: ${RESULTS_FORMAT_VERSION}`);
  if (value.key !== key) problems.push(`key = ${JSON.stringify(value.key)}: allowed: ${key} (the file's name)`);
  if (value.status !== 'finished' && value.status !== 'diverged') problems.push(`status = ${JSON.stringify(value.status)}: allowed: "finished" or "diverged"`);
  if (!Array.isArray(value.sweeps) || !value.sweeps.every((s) => typeof s === 'string')) problems.push('sweeps: allowed: a list of strings');
  if (!isRecordObject(value.config)) problems.push('config: allowed: an object');
  else if (plannedConfig !== undefined && canonicalJson(value.config) !== canonicalJson(JSON.parse(JSON.stringify(plannedConfig)) as unknown)) {
    problems.push('config: differs from the trial this key names (the record belongs to another trial)');
  }
  for (const split of ['dev', 'test'] as const) {
    const evaluation = value[split];
    if (!isRecordObject(evaluation)) {
      problems.push(`${split}: allowed: an object`);
      continue;
    }
    if (!fraction(evaluation.accuracy)) problems.push(`${split}.accuracy = ${JSON.stringify(evaluation.accuracy)}: allowed: a number in [0, 1]`);
    if (!fraction(evaluation.majority)) problems.push(`${split}.majority = ${JSON.stringify(evaluation.majority)}: allowed: a number in [0, 1]`);
    if (!count(evaluation.examples) || evaluation.examples === 0) problems.push(`${split}.examples = ${JSON.stringify(evaluation.examples)}: allowed: an integer ≥ 1`);
  }
  const parameters = value.parameters;
  if (!isRecordObject(parameters)) problems.push('parameters: allowed: an object');
  else {
    for (const field of ['trainable', 'base', 'total', 'adapterBytes'] as const) {
      if (!count(parameters[field])) problems.push(`parameters.${field} = ${JSON.stringify(parameters[field])}: allowed: an integer ≥ 0`);
    }
    if (typeof parameters.percent !== 'number' || !(parameters.percent >= 0 && parameters.percent <= 100)) problems.push(`parameters.percent = ${JSON.stringify(parameters.percent)}: allowed: a number in [0, 100]`);
  }
  if (!isRecordObject(value.timing) || !isRecordObject(value.memory) || !isRecordObject(value.environment)) problems.push('timing, memory, environment: allowed: objects');
  if (!Array.isArray(value.lossCurve) || !Array.isArray(value.devCurve)) problems.push('lossCurve, devCurve: allowed: lists');
  // Edits: a status without its step; a checksum that no longer matches; without a checksum (a record
  // written before them), fields that disagree with one another.
  problems.push(...statusProblems(value));
  const edited = checksumProblem(value);
  if (edited !== null) problems.push(edited);
  else if (value.checksum === undefined && problems.length === 0) problems.push(...recordConsistencyProblems(value));
  return problems;
}


/**
 * The cached record of a key, or null when there is none. A file that is not a valid record of this
 * key, format and (when given) planned config is moved to <cacheDir>/rejected/ with a warning and
 * treated as missing, so the trial runs again: a bad record is recomputed, never reported.
 */
export async function readTrialRecord(
  cacheDir: string,
  key: string,
  warn: (message: string) => void = () => {},
  plannedConfig?: unknown,
): Promise<TrialRecord | null> {
  const file = trialRecordPath(cacheDir, key);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return null;
  }
  let problems: string[];
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(text) as unknown;
    problems = trialRecordProblems(parsed, key, plannedConfig);
  } catch (error) {
    problems = [`not JSON (${(error as Error).message})`];
  }
  if (problems.length === 0) return parsed as TrialRecord;
  const aside = path.join(cacheDir, REJECTED_SUBDIR, `${key}.${Date.now()}.json`);
  try {
    await mkdir(path.dirname(aside), { recursive: true });
    await rename(file, aside);
    warn(`${file}: not a valid record of trial ${key} (${problems.slice(0, 3).join('; ')}${problems.length > 3 ? `; ${problems.length - 3} more` : ''}); moved to ${aside}, running the trial again`);
  } catch (error) {
    warn(`${file}: not a valid record of trial ${key} (${problems[0]}); could not move it aside (${(error as Error).message}); running the trial again`);
  }
  return null;
}
