/**
 * Records an experiment's hypotheses in its results folder (hypotheses.json) when the plan is made,
 * before any of its trials run, and keeps the first record: a run that resumes (later sittings, or
 * `--import-trials` from a committed results folder) keeps the time and hash of the original statement.
 * When the file's hypotheses have changed since, the record is kept and a warning says that the report
 * will flag the edits; nothing is re-recorded as stated before the run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../../src/io/atomic_file.js';
import { hypothesesHash, type HypothesesRecord, type Hypothesis } from '../../src/results/hypotheses.js';
import { RESULT_FILES } from '../../src/results/results.js';

/** Reads a folder's hypotheses.json, or null when it has none; a malformed one is an error naming it. */
export function readHypothesesRecord(dir: string): HypothesesRecord | null {
  const file = path.join(dir, RESULT_FILES.hypotheses);
  if (!existsSync(file)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file}: not valid JSON (${(error as Error).message}): restore it from version control; it records what was stated before the run`);
  }
  const record = parsed as Partial<HypothesesRecord>;
  if (typeof record.hash !== 'string' || typeof record.statedAt !== 'string' || !Array.isArray(record.list)) {
    throw new Error(`${file}: allowed: an object with hash, statedAt and list (written by peftscale experiment)`);
  }
  if (hypothesesHash(record.list) !== record.hash) throw new Error(`${file}: its list does not match its hash ${record.hash.slice(0, 12)}…: the record was edited; restore it from version control`);
  return record as HypothesesRecord;
}

/** The git commit of the experiment file's checkout and whether the file has uncommitted changes (null: not in git). */
function gitState(file: string): HypothesesRecord['git'] {
  const cwd = path.dirname(file);
  const head = spawnSync('git', ['rev-parse', 'HEAD'], { cwd, encoding: 'utf8' });
  if (head.status !== 0) return { commit: null, fileClean: null };
  const status = spawnSync('git', ['status', '--porcelain', '--', path.basename(file)], { cwd, encoding: 'utf8' });
  return { commit: head.stdout.trim(), fileClean: status.status === 0 ? status.stdout.trim() === '' : null };
}

/**
 * The record of `hypotheses` for a run writing to `resultsDir`: the folder's own, else the one of the
 * folder trials are imported from, else a new one stamped now (written before any trial runs). Null
 * when the experiment states none and no record exists.
 */
export async function recordHypotheses(resultsDir: string, file: string, hypotheses: readonly Hypothesis[], importedFrom: string | null, warn: (message: string) => void): Promise<HypothesesRecord | null> {
  const existing = readHypothesesRecord(resultsDir) ?? (importedFrom === null ? null : readHypothesesRecord(importedFrom));
  const hash = hypothesesHash(hypotheses);
  if (existing !== null) {
    if (existing.hash !== hash) {
      warn(`the hypotheses of ${file} differ from those recorded at ${existing.statedAt} (hash ${existing.hash.slice(0, 12)}…): the recorded ones stay the statement made before the run; the report flags the edited ones`);
    }
    await writeFileAtomic(path.join(resultsDir, RESULT_FILES.hypotheses), `${JSON.stringify(existing, null, 2)}\n`);
    return existing;
  }
  if (hypotheses.length === 0) return null;
  const record: HypothesesRecord = { hash, statedAt: new Date().toISOString(), git: gitState(file), list: [...hypotheses] };
  await writeFileAtomic(path.join(resultsDir, RESULT_FILES.hypotheses), `${JSON.stringify(record, null, 2)}\n`);
  return record;
}
