/** Messages between the experiment runner's main thread and its worker threads. */
import type { EnsembleRecord, PretrainedInfo, TrialEnvironment, TrialRecord } from '../../src/results/results.js';
import type { PretrainProfileName } from '../pretrain/pretrain_profiles.js';
import type { PlannedTrial } from '../plan/spec.js';
import type { Rescored } from './trial_rescore.js';

/** workerData of a worker. */
export interface WorkerSetup {
  /** The backend to initialise (undefined: the default order). */
  backend: string | undefined;
  /** Everything but the backend fields, which the worker fills in. */
  environment: Omit<TrialEnvironment, 'backend' | 'versions'>;
}

export type MainMessage =
  | { type: 'pretrain'; preset: string; profile: PretrainProfileName; seed: number; steps: number | undefined; cacheDir: string }
  /**
   * Trials of one frozen model, trained packed where they can be (experiments/run/trial_packs.ts), a single
   * trial alone; frequentTokens: for sampled-vocab initialisation (runner_pool.ts, frequentTokensForTrials).
   */
  | { type: 'trials'; trials: { planned: PlannedTrial; frequentTokens: readonly number[] }[]; modelDir: string; trialCacheDir: string }
  | { type: 'ensemble'; group: EnsembleGroup; modelDir: string; trialCacheDir: string }
  /** Re-score a finished trial from its kept adapter folder (experiments/run/trial_rescore.ts). */
  | { type: 'verify'; trial: PlannedTrial; adapterDir: string; modelDir: string; recordedBudget: number | null }
  | { type: 'exit' };

/** Finished prompt-tuning trials of one configuration that differ only in their seed. */
export interface EnsembleGroup {
  id: string;
  trials: PlannedTrial[];
}

export type WorkerMessage =
  | { type: 'ready'; backend: string; versions: Record<string, string> }
  | { type: 'log'; text: string }
  | { type: 'pretrain-progress'; preset: string; step: number; steps: number }
  | { type: 'pretrained'; preset: string; info: PretrainedInfo; dir: string; /** The never-trained control's folder (control sweeps run on it). */ controlDir: string }
  | { type: 'trial-progress'; key: string; step: number; steps: number; loss: number }
  | { type: 'trial-done'; record: TrialRecord }
  /** One trial of a 'trials' job that failed (the others go on). */
  | { type: 'trial-failed'; key: string; message: string; stack: string }
  | { type: 'ensemble-done'; id: string; record: EnsembleRecord }
  | { type: 'verified'; key: string; rescored: Rescored; environment: TrialEnvironment }
  /** job: the trial key, "pretrain:<preset>", "verify:<key>", or null for the worker's start-up. */
  | { type: 'error'; job: string | null; message: string; stack: string };
