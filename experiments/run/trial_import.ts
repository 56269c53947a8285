/**
 * Seeds the trial cache from a results folder's results.jsonl (for example a committed
 * docs/results/<experiment>/), so a run that spans several sessions or machines goes on where the last
 * one stopped: `peftscale experiment FILE --import-trials DIR`. Trial keys name the frozen model by its
 * corpus, seed, budget and code version, and pretraining is deterministic for a seed and backend, so a
 * re-pretrained model is the one the imported trials tuned.
 *
 * A record is imported only when this run plans its key and its config is that trial's; a record of a
 * planned trial that is not valid is an error naming the line and the field, before any work starts.
 * Records of trials this run does not plan are counted and left alone; a trial already in the cache keeps
 * its cached record. Prompt-tuning prompts (for ensembles) are not in results.jsonl and are not imported.
 *
 * Records are verified, not believed (src/results/record_checksum.ts): a record's checksum must match its
 * content, its status must agree with `divergedAt`, and two lines of one trial must be the same record.
 * A record without a checksum (written before records were sealed, as the committed docs/results/ are)
 * is accepted only when its fields agree with one another, and the import says how many were. Reading
 * and writing are apart so that `--verify` (trial_verify.ts) can re-score the records in between.
 */
import { existsSync } from 'node:fs';
import { cp, readFile } from 'node:fs/promises';
import path from 'node:path';
import { checkInputFile } from '../../src/io/input_files.js';
import { canonicalJson } from '../../src/util/canonical_json.js';
import { recordChecksum, RESULT_FILES, type TrialRecord } from '../../src/results/results.js';
import { trialRecordPath, trialRecordProblems, writeTrialAdapter, writeTrialRecord } from './trial_cache.js';

/** What an import did. */
export interface TrialImport {
  /** The results.jsonl read. */
  file: string;
  imported: number;
  /** Planned trials whose record was already in the cache (the cached one is kept). */
  alreadyCached: number;
  /** Records of trials this run does not plan (another profile, code version or config). */
  notPlanned: number;
  /** Records of planned trials without a checksum, accepted on their consistency checks alone. */
  unsealed: number;
}

/** results.jsonl larger than this is not a results file (the 96-trial scaling run's is 0.3 MB). */
export const MAX_IMPORT_BYTES = 256 * 1024 * 1024;

/** The leaf fields (dotted paths) where two JSON values differ, at most `limit`. */
export function differingFields(a: unknown, b: unknown, at = '', limit = 5): string[] {
  if (canonicalJson(a) === canonicalJson(b)) return [];
  const objects = typeof a === 'object' && a !== null && !Array.isArray(a) && typeof b === 'object' && b !== null && !Array.isArray(b);
  if (!objects) return [at === '' ? '(the whole record)' : at];
  const out: string[] = [];
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  for (const key of keys) {
    if (out.length >= limit) break;
    out.push(...differingFields((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], at === '' ? key : `${at}.${key}`, limit - out.length));
  }
  return out;
}

/** A planned trial, as far as importing needs it. */
interface Planned {
  key: string;
  config: unknown;
}

/** A valid record of a planned trial, read from results.jsonl (its 1-based line). */
export interface ImportedRecord {
  record: TrialRecord;
  line: number;
}

/** What {@link readTrialImport} read: the accepted records by key, and the counts. */
export interface ReadImport {
  resultsDir: string;
  file: string;
  accepted: Map<string, ImportedRecord>;
  notPlanned: number;
  unsealed: number;
}

/** Reads DIR/results.jsonl and writes the planned trials' records into the trial cache. */
export async function importTrialRecords(resultsDir: string, trialCacheDir: string, planned: readonly Planned[]): Promise<TrialImport> {
  return await writeTrialImport(await readTrialImport(resultsDir, planned), trialCacheDir);
}

/** Reads and checks DIR/results.jsonl: the records of planned trials, or an error naming every bad line. Writes nothing. */
export async function readTrialImport(resultsDir: string, planned: readonly Planned[]): Promise<ReadImport> {
  const file = path.join(resultsDir, RESULT_FILES.records);
  let text: string;
  try {
    checkInputFile(file, 'results file', MAX_IMPORT_BYTES);
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new Error(`--import-trials ${resultsDir}: cannot read ${file} (${(error as Error).message}); allowed: a results folder written by peftscale experiment or collect`);
  }
  const byKey = new Map(planned.map((p) => [p.key, p]));
  const accepted = new Map<string, ImportedRecord & { content: string }>();
  const problems: string[] = [];
  let notPlanned = 0;
  let unsealed = 0;
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    const at = `${file}:${index + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line) as unknown;
    } catch (error) {
      const bom = index === 0 && line.startsWith('\uFEFF') ? ' (the file starts with a byte-order mark, U+FEFF: save it as UTF-8 without one)' : '';
      problems.push(`${at}: not JSON${bom} (${(error as Error).message})`);
      return;
    }
    const key = typeof value === 'object' && value !== null && 'key' in value ? (value as { key: unknown }).key : undefined;
    const trial = typeof key === 'string' ? byKey.get(key) : undefined;
    if (trial === undefined) {
      notPlanned += 1;
      return;
    }
    const wrong = trialRecordProblems(value, trial.key, trial.config);
    if (wrong.length > 0) {
      problems.push(`${at} (trial ${trial.key}): ${wrong.join('; ')}`);
      return;
    }
    const record = value as TrialRecord;
    // One trial, two lines: the same record twice is harmless; two different ones leave no way to choose.
    const content = recordChecksum(record);
    const earlier = accepted.get(trial.key);
    if (earlier === undefined) {
      accepted.set(trial.key, { record, line: index + 1, content });
      if (record.checksum === undefined) unsealed += 1;
    } else if (earlier.content !== content) {
      problems.push(`${at} (trial ${trial.key}): a second record of the trial on line ${earlier.line} that differs in ${differingFields(earlier.record, record).filter((f) => f !== 'sweeps' && f !== 'checksum').join(', ')}; allowed: one record per trial`);
    }
  });
  if (problems.length > 0) throw new Error(`--import-trials ${file}: ${problems.length} record(s) of planned trials are not valid, nothing imported:\n  ${problems.slice(0, 10).join('\n  ')}${problems.length > 10 ? `\n  … ${problems.length - 10} more` : ''}`);
  return { resultsDir, file, accepted: new Map([...accepted].map(([key, { record, line }]) => [key, { record, line }])), notPlanned, unsealed };
}

/**
 * Writes the records read into the trial cache (a trial already there keeps its record). `adapters`: the
 * verified adapter folder of a record (trial_verify.ts), copied beside it first, as a run keeps it.
 */
export async function writeTrialImport(read: ReadImport, trialCacheDir: string, adapters: ReadonlyMap<string, string> = new Map()): Promise<TrialImport> {
  let imported = 0;
  let alreadyCached = 0;
  for (const { record } of read.accepted.values()) {
    if (existsSync(trialRecordPath(trialCacheDir, record.key))) alreadyCached += 1;
    else {
      const adapter = adapters.get(record.key);
      if (adapter !== undefined) await writeTrialAdapter(trialCacheDir, record.key, (dir) => cp(adapter, dir, { recursive: true }));
      await writeTrialRecord(trialCacheDir, record);
      imported += 1;
    }
  }
  return { file: read.file, imported, alreadyCached, notPlanned: read.notPlanned, unsealed: read.unsealed };
}
