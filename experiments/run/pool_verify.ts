/**
 * The runner pool's re-scoring jobs (`experiment --import-trials DIR --verify`, trial_verify.ts): finished
 * trials waiting for their frozen model, each re-scored once from its kept adapter folder in a worker
 * (trial_rescore.ts), and what each gave. A re-scoring that cannot run is an outcome too, never a retry.
 */
import type { PlannedTrial } from '../plan/spec.js';
import type { Rescored } from './trial_rescore.js';

/** A finished trial and the adapter folder it is re-scored from. */
export interface VerifyJob {
  trial: PlannedTrial;
  adapterDir: string;
}

/** A re-scoring's outcome: the counts and the backend that computed them, or why it could not run. */
export type VerifyOutcome = { rescored: Rescored; backend: string } | { error: string };

export class VerifyQueue {
  /** Per trial key, once its job has ended. */
  readonly outcomes = new Map<string, VerifyOutcome>();
  private readonly waiting: VerifyJob[];

  constructor(jobs: readonly VerifyJob[]) {
    this.waiting = [...jobs];
  }

  get length(): number {
    return this.waiting.length;
  }

  /** The next job whose frozen model is ready, taken off the queue. */
  take(ready: (preset: string) => boolean): VerifyJob | undefined {
    const index = this.waiting.findIndex((job) => ready(job.trial.config.preset));
    return index < 0 ? undefined : this.waiting.splice(index, 1)[0];
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

  end(key: string, outcome: VerifyOutcome): void {
    this.outcomes.set(key, outcome);
  }
}
