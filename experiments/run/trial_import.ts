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
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { RESULT_FILES, type TrialRecord } from '../../src/results/results.js';
import { trialRecordPath, trialRecordProblems, writeTrialRecord } from './trial_cache.js';

/** What an import did. */
export interface TrialImport {
  /** The results.jsonl read. */
  file: string;
  imported: number;
  /** Planned trials whose record was already in the cache (the cached one is kept). */
  alreadyCached: number;
  /** Records of trials this run does not plan (another profile, code version or config). */
  notPlanned: number;
}

/** A planned trial, as far as importing needs it. */
interface Planned {
  key: string;
  config: unknown;
}

/** Reads DIR/results.jsonl and writes the planned trials' records into the trial cache. */
export async function importTrialRecords(resultsDir: string, trialCacheDir: string, planned: readonly Planned[]): Promise<TrialImport> {
  const file = path.join(resultsDir, RESULT_FILES.records);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new Error(`--import-trials ${resultsDir}: cannot read ${file} (${(error as Error).message}); allowed: a results folder written by peftscale experiment or collect`);
  }
  const byKey = new Map(planned.map((p) => [p.key, p]));
  const accepted: TrialRecord[] = [];
  const problems: string[] = [];
  let notPlanned = 0;
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line) as unknown;
    } catch (error) {
      problems.push(`line ${index + 1}: not JSON (${(error as Error).message})`);
      return;
    }
    const key = typeof value === 'object' && value !== null && 'key' in value ? (value as { key: unknown }).key : undefined;
    const trial = typeof key === 'string' ? byKey.get(key) : undefined;
    if (trial === undefined) {
      notPlanned += 1;
      return;
    }
    const wrong = trialRecordProblems(value, trial.key, trial.config);
    if (wrong.length > 0) problems.push(`line ${index + 1} (trial ${trial.key}): ${wrong.join('; ')}`);
    else accepted.push(value as TrialRecord);
  });
  if (problems.length > 0) throw new Error(`--import-trials ${file}: ${problems.length} record(s) of planned trials are not valid, nothing imported:\n  ${problems.slice(0, 10).join('\n  ')}`);
  let imported = 0;
  let alreadyCached = 0;
  for (const record of accepted) {
    if (existsSync(trialRecordPath(trialCacheDir, record.key))) alreadyCached += 1;
    else {
      await writeTrialRecord(trialCacheDir, record);
      imported += 1;
    }
  }
  return { file, imported, alreadyCached, notPlanned };
}
