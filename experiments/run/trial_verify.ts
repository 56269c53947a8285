/**
 * `experiment FILE --import-trials DIR --verify`: imported records are re-scored, not believed. Each
 * record of a planned trial whose adapter was kept is re-scored from it on the worker pool (the trial's
 * frozen model pretrained or loaded as a run would, the run's backend; trial_rescore.ts), and its dev
 * and test counts of correct examples must be the recorded ones. One that does not reproduce refuses the
 * whole import before anything is written or any trial runs, naming file, line, key, field and both values.
 *
 * Where the adapter is: DIR/adapters/<key>/ (the trial cache's `<key>.adapter/` folder copied there), else,
 * when the trial cache already holds this very record (the same content), the cache's adapter. A record
 * with neither (a method that trains nothing, an adapter over the cache's size limit, a folder that kept
 * none) is counted and said, never passed as verified.
 *
 * Tolerance: the backend that produced a record reproduces its counts exactly (the same ops on the same
 * values; the adapter holds the best-on-dev checkpoint bit for bit), so none is allowed. On another
 * backend, float round-off may flip an example whose label scores nearly tie: up to one example in
 * {@link CROSS_BACKEND_EXAMPLES_PER_FLIP} (at least one) per split may differ, and the message says so.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { recordChecksum, type TrialRecord } from '../../src/results/results.js';
import type { PlannedTrial, ResolvedExperiment } from '../plan/spec.js';
import { environmentInfo } from './runner.js';
import { WorkerPool, type PoolResult, type VerifyJob, type VerifyOutcome } from './runner_pool.js';
import { readTrialRecord, trialAdapterPath } from './trial_cache.js';
import type { ImportedRecord, ReadImport } from './trial_import.js';
import type { SplitCount } from './trial_rescore.js';

/** Where a results folder keeps its trials' adapters: DIR/adapters/<key>/. */
export const IMPORT_ADAPTERS_SUBDIR = 'adapters';

/** Across backends, one example per this many may flip on float round-off (at least one per split). */
export const CROSS_BACKEND_EXAMPLES_PER_FLIP = 200;

/** What a verification did. */
export interface Verification {
  /** Records re-scored whose counts reproduced. */
  reproduced: number;
  /** Records without a kept adapter, by reason (not re-scored). */
  noAdapter: Map<string, number>;
  /** The backend the re-scorings ran on ('' when none ran). */
  backend: string;
  /** Seconds each re-scoring took in its worker (loading the adapter, scoring dev and test). */
  seconds: number[];
  /** Verified adapter folders by key: the import copies them into the trial cache beside their records. */
  adapters: Map<string, string>;
}

export interface VerifyOptions {
  workers?: number;
  backend?: string;
  modelCacheDir: string;
  trialCacheDir: string;
  log: (message: string) => void;
}

/** How many examples of a split may differ: none on the record's own backend. */
export function allowedFlips(examples: number, sameBackend: boolean): number {
  return sameBackend ? 0 : Math.max(1, Math.ceil(examples / CROSS_BACKEND_EXAMPLES_PER_FLIP));
}

/** The adapter folder of an imported record, or why there is none. */
async function adapterOf(read: ReadImport, imported: ImportedRecord, planned: PlannedTrial, options: VerifyOptions): Promise<{ dir: string } | { none: string }> {
  const { trialCacheDir } = options;
  const { record } = imported;
  const inResults = path.join(read.resultsDir, IMPORT_ADAPTERS_SUBDIR, record.key);
  if (existsSync(inResults)) {
    if (!statSync(inResults).isDirectory()) throw new Error(`--import-trials ${read.resultsDir} --verify: ${inResults} is not a folder: allowed: the adapter folder of trial ${record.key} (as the trial cache keeps it in <key>.adapter/)`);
    return { dir: inResults };
  }
  const cached = await readTrialRecord(trialCacheDir, record.key, (message) => options.log(`warning: ${message}`), planned.config);
  const inCache = trialAdapterPath(trialCacheDir, record.key);
  if (cached !== null && recordChecksum(cached) === recordChecksum(record) && existsSync(inCache)) return { dir: inCache };
  if (record.parameters.trainable === 0) return { none: 'the method trains nothing' };
  return { none: `no ${IMPORT_ADAPTERS_SUBDIR}/<key>/ in the results folder${cached === null ? '' : ' and the cached record differs or kept none'}` };
}

/** The problems of one re-scored record (empty when it reproduces). */
export function reproductionProblems(at: string, record: TrialRecord, adapterDir: string, outcome: VerifyOutcome): string[] {
  if ('error' in outcome) return [`${at}: its adapter ${adapterDir} could not be re-scored: ${outcome.error}`];
  const recordedOn = record.environment.backend;
  const same = recordedOn === outcome.backend;
  const problems: string[] = [];
  for (const split of ['dev', 'test'] as const) {
    const recorded = record[split];
    const rescored: SplitCount = outcome.rescored[split];
    if (rescored.examples !== recorded.examples) {
      problems.push(`${at}: ${split}.examples = ${recorded.examples} recorded, ${rescored.examples} re-scored: allowed: the trial's own ${split} split`);
      continue;
    }
    const correct = Math.round(recorded.accuracy * recorded.examples);
    const allowed = allowedFlips(recorded.examples, same);
    if (Math.abs(rescored.correct - correct) <= allowed && correct / recorded.examples === recorded.accuracy) continue;
    const tolerance = same
      ? `the same count (re-scored on the record's own backend, ${recordedOn}, which reproduces it exactly)`
      : `within ${allowed} example(s) (recorded on ${recordedOn}, re-scored on ${outcome.backend}: float round-off across backends may flip an example whose label scores nearly tie; --backend ${recordedOn} re-scores exactly)`;
    problems.push(
      `${at}: ${split}.accuracy = ${recorded.accuracy} recorded (${correct} of ${recorded.examples} correct), re-scored ${rescored.correct / rescored.examples} (${rescored.correct} of ${rescored.examples}) from ${adapterDir}: allowed: ${tolerance}`,
    );
  }
  return problems;
}

/**
 * Re-scores the imported records that kept an adapter, on a worker pool that pretrains (or loads) only
 * the models they need; throws, naming every record that does not reproduce, before anything is imported.
 */
export async function verifyImport(read: ReadImport, experiment: ResolvedExperiment, options: VerifyOptions): Promise<Verification> {
  const byKey = new Map(experiment.trials.map((trial) => [trial.key, trial]));
  const jobs: (VerifyJob & { imported: ImportedRecord })[] = [];
  const noAdapter = new Map<string, number>();
  for (const imported of read.accepted.values()) {
    const trial = byKey.get(imported.record.key) as PlannedTrial; // read only records of planned trials
    const found = await adapterOf(read, imported, trial, options);
    if ('dir' in found) jobs.push({ trial, adapterDir: found.dir, imported });
    else noAdapter.set(found.none, (noAdapter.get(found.none) ?? 0) + 1);
  }
  const verification: Verification = { reproduced: 0, noAdapter, backend: '', seconds: [], adapters: new Map() };
  if (jobs.length === 0) return verification;
  const presets = experiment.presets.filter((preset) => jobs.some((job) => job.trial.config.preset === preset));
  const pool = new WorkerPool(
    { ...experiment, presets, ensemble: false },
    { trials: [], cached: new Map(), toRun: [] },
    { backend: options.backend, environment: environmentInfo() },
    { workers: options.workers, jobs: Math.max(jobs.length, presets.length), modelCacheDir: options.modelCacheDir, trialCacheDir: options.trialCacheDir, log: options.log, verify: jobs },
  );
  // The pool sizes the native backend's threads in process.env for its workers; the run's own pool, with
  // its own worker count, must size them again, as it would have without a verification.
  const environment = { ...process.env };
  let result: PoolResult;
  try {
    result = await pool.run();
  } finally {
    for (const name of Object.keys(process.env)) if (!(name in environment)) delete process.env[name];
  }
  const problems: string[] = [];
  for (const job of jobs) {
    const outcome: VerifyOutcome = result.rescored.get(job.trial.key) ?? { error: 'no worker re-scored it' };
    const wrong = reproductionProblems(`${read.file}:${job.imported.line} (trial ${job.trial.key})`, job.imported.record, job.adapterDir, outcome);
    if ('rescored' in outcome) {
      verification.backend = outcome.backend;
      verification.seconds.push(outcome.rescored.seconds);
    }
    if (wrong.length > 0) problems.push(...wrong);
    else {
      verification.reproduced += 1;
      verification.adapters.set(job.trial.key, job.adapterDir);
    }
  }
  if (problems.length > 0) {
    throw new Error(`--import-trials ${read.file} --verify: ${problems.length} score(s) of ${jobs.length} re-scored record(s) do not reproduce from their kept adapters, nothing imported:\n  ${problems.slice(0, 10).join('\n  ')}${problems.length > 10 ? `\n  … ${problems.length - 10} more` : ''}`);
  }
  return verification;
}

/** "3 of 3 re-scored records reproduced on backend cpu (1.2 s each); 1 record has no kept adapter: not re-scored (the method trains nothing: 1)". */
export function describeVerification(verification: Verification): string {
  const rescored = verification.reproduced;
  const mean = verification.seconds.length === 0 ? 0 : verification.seconds.reduce((a, b) => a + b, 0) / verification.seconds.length;
  const head = rescored === 0 ? 'no record re-scored' : `${rescored} of ${rescored} re-scored record(s) reproduced their dev and test counts on backend ${verification.backend} (${mean.toFixed(1)} s each)`;
  const missing = [...verification.noAdapter.values()].reduce((a, b) => a + b, 0);
  if (missing === 0) return head;
  return `${head}; ${missing} record(s) have no kept adapter: not re-scored (${[...verification.noAdapter].map(([why, n]) => `${why}: ${n}`).join('; ')})`;
}
