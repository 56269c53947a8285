/**
 * `experiment FILE --import-trials DIR --verify`: imported records are re-scored, not believed. Each
 * record of a planned trial whose adapter was kept is re-scored from it on the worker pool (the trial's
 * frozen model pretrained or loaded as a run would, the run's backend; trial_rescore.ts), and its dev
 * and test counts of correct examples must be the recorded ones. One that does not reproduce refuses the
 * whole import before anything is written or any trial runs, naming file, line, key, field and both values.
 *
 * Where the adapter is: DIR/adapters/<key>/ (the trial cache's `<key>.adapter/` folder copied there), else,
 * when the trial cache already holds this very record (the same content), the cache's adapter. Its
 * metadata must name the record's key (trial_rescore.ts). A record with neither (a method that trains
 * nothing, an adapter over the cache's size limit, a folder that kept none) is counted and said, never
 * passed as verified; so is one whose trial the cache already holds another record of (the run keeps the
 * cache's, so re-scoring the imported one would vouch for a record that is not used). Nothing is written
 * here: the trial cache is only read.
 *
 * Tolerance: what produced a record reproduces its counts exactly (the same ops on the same values; the
 * adapter holds the best-on-dev checkpoint bit for bit), so none is allowed where the re-scoring runs on
 * the same producer: the backend, the package that provided it, every recorded package version, the CPU
 * and platform, and the native backend's thread count ({@link producerDifferences}). Otherwise (another
 * backend, tfjs-node-gpu for tfjs-node, an older record that does not name its provider) float round-off
 * may flip an example whose label scores nearly tie: up to one example in
 * {@link CROSS_BACKEND_EXAMPLES_PER_FLIP} (at least one) per split may differ, and the message says so.
 *
 * Input budget: a record is re-scored with its own inputs.maxInputTokens, not today's computation of it
 * (a code change to the budget must not make an honest record look tampered); where the two differ the
 * message says so.
 */
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { recordChecksum, type TrialEnvironment, type TrialRecord } from '../../src/results/results.js';
import type { PlannedTrial, ResolvedExperiment } from '../plan/spec.js';
import { environmentInfo } from './runner.js';
import { WorkerPool, type PoolResult, type VerifyJob, type VerifyOutcome } from './runner_pool.js';
import { trialAdapterPath, trialRecordPath, trialRecordProblems } from './trial_cache.js';
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
  /** Of them, those re-scored where they were produced (no tolerance). */
  exact: number;
  /** Records not re-scored because the trial cache holds another record of their trial, which the run keeps. */
  keptCache: number;
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

/** How many examples of a split may differ: none where the record was produced. */
export function allowedFlips(examples: number, sameProducer: boolean): number {
  return sameProducer ? 0 : Math.max(1, Math.ceil(examples / CROSS_BACKEND_EXAMPLES_PER_FLIP));
}

/** Backends that more than one package can provide (tensorflow: tfjs-node on CPU, tfjs-node-gpu on CUDA). */
const SHARED_BACKENDS = new Set(['tensorflow']);

/**
 * How the environment re-scoring a record differs from the one that produced it, in what can change float
 * sums: backend, its provider, package versions, CPU, platform, native threads. Empty: the same producer.
 */
export function producerDifferences(recorded: TrialEnvironment, rescoring: TrialEnvironment): string[] {
  const out: string[] = [];
  const differ = (field: string, a: unknown, b: unknown): void => void (a !== b && out.push(`${field} ${JSON.stringify(a)} recorded, ${JSON.stringify(b)} re-scoring`));
  differ('backend', recorded.backend, rescoring.backend);
  if (recorded.provider === undefined && SHARED_BACKENDS.has(recorded.backend)) out.push(`the record does not name the package that provided backend ${recorded.backend}`);
  else if (recorded.provider !== undefined) differ('provider', recorded.provider, rescoring.provider);
  for (const name of [...new Set([...Object.keys(recorded.versions), ...Object.keys(rescoring.versions)])].sort()) differ(`versions.${name}`, recorded.versions[name], rescoring.versions[name]);
  differ('machine.cpu', recorded.machine.cpu, rescoring.machine.cpu);
  differ('machine.platform', recorded.machine.platform, rescoring.machine.platform);
  differ('threads', recorded.threads, rescoring.threads);
  return out;
}

/** The trial cache's record of `key`, read without moving anything: its content, 'invalid', or null when there is none. */
async function cachedContent(trialCacheDir: string, key: string, config: unknown): Promise<string | 'invalid' | null> {
  const file = trialRecordPath(trialCacheDir, key);
  if (!existsSync(file)) return null;
  try {
    const value = JSON.parse(await readFile(file, 'utf8')) as unknown;
    return trialRecordProblems(value, key, config).length === 0 ? recordChecksum(value as TrialRecord) : 'invalid';
  } catch {
    return 'invalid';
  }
}

/** The adapter folder of an imported record, why there is none, or that the cache keeps another record of its trial. */
async function adapterOf(read: ReadImport, imported: ImportedRecord, planned: PlannedTrial, trialCacheDir: string): Promise<{ dir: string } | { none: string } | { keptCache: true }> {
  const { record } = imported;
  const cached = await cachedContent(trialCacheDir, record.key, planned.config);
  // The import keeps a cached record (trial_import.ts): the imported one would be verified and not used.
  if (cached !== null && cached !== recordChecksum(record)) return { keptCache: true };
  const inResults = path.join(read.resultsDir, IMPORT_ADAPTERS_SUBDIR, record.key);
  if (existsSync(inResults)) {
    if (!statSync(inResults).isDirectory()) throw new Error(`--import-trials ${read.resultsDir} --verify: ${inResults} is not a folder: allowed: the adapter folder of trial ${record.key} (as the trial cache keeps it in <key>.adapter/)`);
    return { dir: inResults };
  }
  const inCache = trialAdapterPath(trialCacheDir, record.key);
  if (cached !== null && existsSync(inCache)) return { dir: inCache };
  if (record.parameters.trainable === 0) return { none: 'the method trains nothing' };
  return { none: `no ${IMPORT_ADAPTERS_SUBDIR}/<key>/ in the results folder${cached === null ? '' : ' and the cached record kept none'}` };
}

/** The problems of one re-scored record (empty when it reproduces). */
export function reproductionProblems(at: string, record: TrialRecord, adapterDir: string, outcome: VerifyOutcome): string[] {
  if ('error' in outcome) return [`${at}: its adapter ${adapterDir} could not be re-scored: ${outcome.error}`];
  const recordedOn = record.environment.backend;
  const differences = producerDifferences(record.environment, outcome.environment);
  const same = differences.length === 0;
  const { budget } = outcome.rescored;
  const budgetNote = budget.recorded === budget.now ? '' : ` (input budget ${budget.recorded} recorded, ${budget.now} now: the code changed; re-scored with the recorded ${budget.recorded})`;
  const problems: string[] = [];
  for (const split of ['dev', 'test'] as const) {
    const recorded = record[split];
    const rescored: SplitCount = outcome.rescored[split];
    if (rescored.examples !== recorded.examples) {
      problems.push(`${at}: ${split}.examples = ${recorded.examples} recorded, ${rescored.examples} re-scored: allowed: the trial's own ${split} split${budgetNote}`);
      continue;
    }
    const correct = Math.round(recorded.accuracy * recorded.examples);
    if (correct / recorded.examples !== recorded.accuracy) {
      problems.push(`${at}: ${split}.accuracy = ${recorded.accuracy} recorded is not a count of ${recorded.examples} examples (the nearest, ${correct} of ${recorded.examples}, is ${correct / recorded.examples}); re-scored ${rescored.correct} of ${rescored.examples}: allowed: correct/examples`);
      continue;
    }
    const allowed = allowedFlips(recorded.examples, same);
    if (Math.abs(rescored.correct - correct) <= allowed) continue;
    const tolerance = same
      ? `the same count (re-scored where the record was produced: backend ${recordedOn}, ${record.environment.provider ?? 'its package'}, the same versions, CPU and threads, which reproduce it exactly)`
      : `within ${allowed} example(s) (re-scored elsewhere than the record was produced: ${differences.slice(0, 3).join('; ')}${differences.length > 3 ? '; …' : ''}: float round-off may flip an example whose label scores nearly tie${recordedOn === outcome.environment.backend ? '' : `; --backend ${recordedOn} re-scores closer`})`;
    problems.push(
      `${at}: ${split}.accuracy = ${recorded.accuracy} recorded (${correct} of ${recorded.examples} correct), re-scored ${rescored.correct / rescored.examples} (${rescored.correct} of ${rescored.examples}) from ${adapterDir}: allowed: ${tolerance}${budgetNote}`,
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
  let keptCache = 0;
  for (const imported of read.accepted.values()) {
    const trial = byKey.get(imported.record.key) as PlannedTrial; // read only records of planned trials
    const found = await adapterOf(read, imported, trial, options.trialCacheDir);
    if ('dir' in found) jobs.push({ trial, adapterDir: found.dir, recordedBudget: imported.record.inputs?.maxInputTokens ?? null, imported });
    else if ('keptCache' in found) keptCache += 1;
    else noAdapter.set(found.none, (noAdapter.get(found.none) ?? 0) + 1);
  }
  const verification: Verification = { reproduced: 0, exact: 0, keptCache, noAdapter, backend: '', seconds: [], adapters: new Map() };
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
      verification.backend = outcome.environment.backend;
      verification.seconds.push(outcome.rescored.seconds);
    }
    if (wrong.length > 0) problems.push(...wrong);
    else {
      verification.reproduced += 1;
      if ('rescored' in outcome && producerDifferences(job.imported.record.environment, outcome.environment).length === 0) verification.exact += 1;
      verification.adapters.set(job.trial.key, job.adapterDir);
    }
  }
  if (problems.length > 0) {
    throw new Error(`--import-trials ${read.file} --verify: ${problems.length} score(s) of ${jobs.length} re-scored record(s) do not reproduce from their kept adapters, nothing imported:\n  ${problems.slice(0, 10).join('\n  ')}${problems.length > 10 ? `\n  … ${problems.length - 10} more` : ''}`);
  }
  return verification;
}

/** "3 of 3 re-scored records reproduced … (2 exactly, where they were produced; 1 within the tolerance) …; 1 record has no kept adapter: …". */
export function describeVerification(verification: Verification): string {
  const rescored = verification.reproduced;
  const mean = verification.seconds.length === 0 ? 0 : verification.seconds.reduce((a, b) => a + b, 0) / verification.seconds.length;
  const parts = [
    rescored === 0
      ? 'no record re-scored'
      : `${rescored} of ${rescored} re-scored record(s) reproduced their dev and test counts on backend ${verification.backend} (${verification.exact} exactly, where they were produced; ${rescored - verification.exact} within the tolerance across environments; ${mean.toFixed(1)} s each)`,
  ];
  if (verification.keptCache > 0) parts.push(`${verification.keptCache} record(s) whose trial the trial cache already holds another record of: kept the cache's record: not verified`);
  const missing = [...verification.noAdapter.values()].reduce((a, b) => a + b, 0);
  if (missing > 0) parts.push(`${missing} record(s) have no kept adapter: not re-scored (${[...verification.noAdapter].map(([why, n]) => `${why}: ${n}`).join('; ')})`);
  return parts.join('; ');
}
