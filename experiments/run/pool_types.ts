/** What the runner's worker pool (runner_pool.ts) takes of the run's options, and what its jobs produce. */
import type { EnsembleRecord, PretrainedInfo, TrialRecord } from '../../src/results/results.js';
import type { VerifyJob, VerifyOutcome } from './pool_verify.js';

/** What the pool needs of the run's options. */
export interface PoolOptions {
  /** Worker threads (default: one per core). */
  workers?: number;
  /** Jobs the run expects, which bounds the worker count (default: the trials to run). */
  jobs?: number;
  /** Most rows per packed training step (trial_packs.ts); ≤ 1 trains every trial alone. Default DEFAULT_PACK_ROWS. */
  packRows?: number;
  modelCacheDir: string;
  trialCacheDir: string;
  log: (message: string) => void;
  progressStream?: { write(text: string): unknown; isTTY?: boolean };
  /** Progress lines leave out each trial's scores (a run that states hypotheses is judged when it ends). */
  blind?: boolean;
  /** Finished trials to re-score from their kept adapter folders (`--import-trials DIR --verify`). */
  verify?: readonly VerifyJob[];
}

/** A preset's pretrained model and its never-trained control. */
export interface PretrainedModels {
  info: PretrainedInfo;
  dir: string;
  controlDir: string;
}

/** What the pool's jobs produced. */
export interface PoolResult {
  /** Cached and newly finished records by key. */
  records: Map<string, TrialRecord>;
  failed: { key: string; description: string; message: string }[];
  pretrained: Map<string, PretrainedModels>;
  ensembles: EnsembleRecord[];
  /** Per re-scored trial key (PoolOptions.verify). */
  rescored: Map<string, VerifyOutcome>;
  /** As the first worker to start reported them ('unknown' and {} if none started). */
  backend: string;
  versions: Record<string, string>;
}
