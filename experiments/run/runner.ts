/**
 * The experiment runner: plans an experiment's trials, skips those already in the trial cache, runs the
 * rest (with the pretraining and ensembles they need) on the worker pool (experiments/run/runner_pool.ts: one
 * worker per core by default, one progress display and a line per finished trial), then writes the
 * results folder. A run killed at any point keeps every finished trial: the rerun picks up where it stopped.
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism, cpus, platform, totalmem } from 'node:os';
import path from 'node:path';
import { cardRecords } from '../../src/adapt/method_card.js';
import { removeStaleTemporaries } from '../../src/io/atomic_file.js';
import type { EnsembleRecord, RunManifest, TrialEnvironment, TrialRecord } from '../../src/results/results.js';
import { RESULTS_FORMAT_VERSION } from '../../src/results/results.js';
import { DEFAULT_CACHE_DIR } from '../pretrain/pretrain_family.js';
import { WorkerPool, type PoolResult } from './runner_pool.js';
import type { PlannedTrial, ResolvedExperiment } from '../plan/spec.js';
import { canonicalJson } from '../plan/spec.js';
import { EXPERIMENT_NAME } from '../plan/schema.js';
import { readTrialRecord } from './trial_cache.js';
import type { WorkerSetup } from './worker_protocol.js';
import { writeResults } from './results_files.js';
import type { HypothesesRecord } from '../../src/results/hypotheses.js';

export { describeTrial, ensembleGroups, formatTrialResult } from './runner_pool.js';

export interface RunOptions {
  /** Worker threads (default: one per core). */
  workers?: number;
  backend?: string;
  /** Pretrained models (default .cache/peftscale/models). */
  modelCacheDir?: string;
  /** Finished trials (default .cache/peftscale/trials). */
  trialCacheDir: string;
  /** The results folder of this experiment (results.jsonl and the rest are written here). */
  resultsDir: string;
  /** Replace a results folder of another experiment file, or one with more finished trials. */
  replaceResults?: boolean;
  /** Messages (default: stderr). */
  log?: (message: string) => void;
  /** Progress display stream (default stderr); tests pass a sink. */
  progressStream?: { write(text: string): unknown; isTTY?: boolean };
  /** Write the results folder at the end (default true; a shard leaves that to `peftscale collect`). */
  writeResults?: boolean;
  /** Jobs the run expects, which bounds the worker count (default: the trials to run). */
  jobs?: number;
  /** The hypotheses as recorded when the plan was made (run.json carries them). */
  hypotheses?: HypothesesRecord | null;
  /** Most rows per packed training step (default: the experiment's packRows, else DEFAULT_PACK_ROWS); ≤ 1: every trial alone. */
  packRows?: number;
  /** Progress lines leave out each trial's scores (see PoolOptions.blind). */
  blind?: boolean;
}

/** Which planned trials are cached (and their records). */
export interface RunPlan {
  trials: PlannedTrial[];
  cached: Map<string, TrialRecord>;
  toRun: PlannedTrial[];
}

export async function planRun(experiment: ResolvedExperiment, trialCacheDir: string, warn?: (message: string) => void): Promise<RunPlan> {
  const cached = new Map<string, TrialRecord>();
  for (const trial of experiment.trials) {
    const record = await readTrialRecord(trialCacheDir, trial.key, warn, trial.config);
    if (record !== null) cached.set(trial.key, record);
  }
  return { trials: experiment.trials, cached, toRun: experiment.trials.filter((t) => !cached.has(t.key)) };
}

export interface RunOutcome {
  records: TrialRecord[];
  ran: number;
  cached: number;
  failed: { key: string; description: string; message: string }[];
  ensembles: EnsembleRecord[];
  manifest: RunManifest;
  wallSeconds: number;
}

/** Git hash, working-tree state and machine: stamped on every record. */
export function environmentInfo(): Omit<TrialEnvironment, 'backend' | 'versions'> {
  const git = (args: string[]): string | null => {
    try {
      return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return null;
    }
  };
  const processors = cpus();
  return {
    gitHash: git(['rev-parse', 'HEAD']) ?? 'unknown',
    gitDirty: (git(['status', '--porcelain', '--untracked-files=no']) ?? '') !== '',
    machine: { cpu: processors[0]?.model ?? 'unknown', cores: availableParallelism(), memoryBytes: totalmem(), platform: `${platform()} ${process.arch}`, node: process.version },
  };
}

/** Runs an experiment's uncached trials on the worker pool and writes its results folder. */
export async function runPlannedExperiment(experiment: ResolvedExperiment, plan: RunPlan, options: RunOptions): Promise<RunOutcome> {
  const log = options.log ?? ((message: string): void => void process.stderr.write(`${message}\n`));
  const startedAt = new Date();
  const started = performance.now();
  // A run killed mid-write (kill -9) leaves temporaries named with its host and pid: clear this host's dead ones.
  for (const file of await removeStaleTemporaries(options.trialCacheDir)) log(`removed ${file}, left by a run killed while writing it`);
  const environmentBase = environmentInfo();
  const setup: WorkerSetup = { backend: options.backend, environment: environmentBase };
  const pool = new WorkerPool(experiment, plan, setup, {
    workers: options.workers,
    jobs: options.jobs,
    packRows: options.packRows ?? experiment.packRows,
    modelCacheDir: options.modelCacheDir ?? DEFAULT_CACHE_DIR,
    trialCacheDir: options.trialCacheDir,
    log,
    progressStream: options.progressStream,
    blind: options.blind,
  });
  const result = await pool.run();
  const ordered = plan.trials.flatMap((trial) => {
    const record = result.records.get(trial.key);
    return record === undefined ? [] : [{ ...record, sweeps: trial.sweeps }];
  });
  const wallSeconds = (performance.now() - started) / 1000;
  const manifest = runManifest(experiment, plan, ordered, result, { ...environmentBase, backend: result.backend, versions: result.versions }, { startedAt, wallSeconds }, options.hypotheses ?? null);
  if (options.writeResults !== false) {
    await writeResults(options.resultsDir, ordered, manifest, canonicalJson(experiment.document), result.ensembles, { replace: options.replaceResults === true });
  }
  return { records: ordered, ran: manifest.trials.ran, cached: plan.cached.size, failed: result.failed, ensembles: result.ensembles, manifest, wallSeconds };
}

/** run.json: the experiment, the trial counts, the environment, the frozen models, the datasets and the methods' cards (what reports draw with). */
function runManifest(
  experiment: ResolvedExperiment,
  plan: RunPlan,
  ordered: readonly TrialRecord[],
  result: PoolResult,
  environment: TrialEnvironment,
  time: { startedAt: Date; wallSeconds: number },
  hypotheses: HypothesesRecord | null,
): RunManifest {
  return {
    format: RESULTS_FORMAT_VERSION,
    experiment: experiment.name,
    description: experiment.description,
    file: experiment.file,
    profile: experiment.profile,
    sweeps: experiment.sweeps,
    startedAt: time.startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    wallSeconds: time.wallSeconds,
    trials: {
      total: plan.trials.length,
      ran: plan.toRun.length - result.failed.length,
      cached: plan.cached.size,
      diverged: ordered.filter((r) => r.status === 'diverged').length,
      failed: result.failed.length,
    },
    environment,
    pretrained: experiment.presets.flatMap((preset) => {
      const entry = result.pretrained.get(preset);
      return entry === undefined ? [] : [entry.info];
    }),
    ...(experiment.checkpoints.length === 0 ? {} : { checkpoints: experiment.checkpoints.map(({ name, dir, parameters, tokenizer, fingerprint }) => ({ name, dir, parameters, tokenizer, fingerprint })) }),
    ...(experiment.datasets.length === 0 ? {} : { datasets: experiment.datasets.map(({ name, fingerprint, source }) => ({ name, fingerprint, ...source })) }),
    ...(hypotheses === null ? {} : { hypotheses }),
    methods: cardRecords(),
  };
}

/** The results folder of an experiment under a results root. */
export function resultsDirFor(root: string, experiment: string): string {
  // Names are validated with the file; checked again here because a path is made of it.
  if (!new RegExp(EXPERIMENT_NAME.pattern ?? '', 'u').test(experiment)) throw new Error(`experiment name ${JSON.stringify(experiment)} cannot name a results folder: allowed: ${EXPERIMENT_NAME.patternHelp ?? ''}`);
  return path.join(root, experiment);
}
