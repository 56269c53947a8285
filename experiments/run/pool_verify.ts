/**
 * The runner pool's re-scoring jobs (`experiment --import-trials DIR --verify`, trial_verify.ts): finished
 * trials waiting for their frozen model, each re-scored once from its kept adapter folder in a worker
 * (trial_rescore.ts), and what each gave. A re-scoring that cannot run (its worker threw or exited, its
 * preset's pretraining failed, no worker is left) is an outcome too, never a retry: every job ends.
 */
import type { TrialEnvironment } from '../../src/results/results.js';
import type { PlannedTrial } from '../plan/spec.js';
import { describeJob } from './pool_jobs.js';
import type { Rescored } from './trial_rescore.js';
import type { MainMessage, WorkerMessage } from './worker_protocol.js';

/** A finished trial, the adapter folder it is re-scored from, and its record's input budget (null: none recorded). */
export interface VerifyJob {
  trial: PlannedTrial;
  adapterDir: string;
  recordedBudget: number | null;
}

/** A re-scoring's outcome: the counts and the environment that computed them, or why it could not run. */
export type VerifyOutcome = { rescored: Rescored; environment: TrialEnvironment } | { error: string };

export class VerifyQueue {
  /** Per trial key, once its job has ended. */
  readonly outcomes = new Map<string, VerifyOutcome>();
  /** Jobs in all. */
  readonly total: number;
  private readonly waiting: VerifyJob[];

  constructor(jobs: readonly VerifyJob[]) {
    this.waiting = [...jobs];
    this.total = jobs.length;
  }

  /** Jobs not yet handed to a worker. */
  get length(): number {
    return this.waiting.length;
  }

  /** Jobs ended, for the progress display. */
  get done(): number {
    return this.outcomes.size;
  }

  /** The next job whose frozen model is ready, taken off the queue. */
  take(ready: (preset: string) => boolean): VerifyJob | undefined {
    const index = this.waiting.findIndex((job) => ready(job.trial.config.preset));
    return index < 0 ? undefined : this.waiting.splice(index, 1)[0];
  }

  /** The next ready job as the message for a worker, with what the worker is doing; undefined when none is ready. */
  next(ready: (preset: string) => boolean, modelDir: (trial: PlannedTrial) => string): { key: string; message: MainMessage; activity: string } | undefined {
    const job = this.take(ready);
    if (job === undefined) return undefined;
    const message: MainMessage = { type: 'verify', trial: job.trial, adapterDir: job.adapterDir, modelDir: modelDir(job.trial), recordedBudget: job.recordedBudget };
    return { key: job.trial.key, message, activity: `re-scoring ${describeJob([job.trial])}` };
  }

  /** Jobs whose preset's pretraining failed end with that reason. */
  failPresets(failed: ReadonlyMap<string, string>): void {
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      const { preset } = this.waiting[i].trial.config;
      const reason = failed.get(preset);
      if (reason !== undefined) this.end(this.waiting.splice(i, 1)[0].trial.key, { error: `pretraining ${preset} failed: ${reason.split('\n')[0]}` });
    }
  }

  /** Every waiting job ends with `reason` (no worker is left). */
  failAll(reason: string): void {
    for (const job of this.waiting.splice(0)) this.end(job.trial.key, { error: reason });
  }

  /** The worker re-scoring `key` exited. */
  workerExited(key: string, code: number): void {
    this.end(key, { error: `the worker exited with code ${code}` });
  }

  /** The worker re-scoring `key` threw. */
  failed(key: string, message: string): void {
    this.end(key, { error: message });
  }

  /** A worker's counts; returns the progress line to print. */
  verified(message: Extract<WorkerMessage, { type: 'verified' }>): string {
    this.end(message.key, { rescored: message.rescored, environment: message.environment });
    return `re-scored ${message.key} from its adapter in ${message.rescored.seconds.toFixed(2)} s [${this.done}/${this.total}]`;
  }

  end(key: string, outcome: VerifyOutcome): void {
    this.outcomes.set(key, outcome);
  }
}
