/**
 * The runner's worker pool: hands jobs (pretrain a preset, run a trial, ensemble a group of prompts) to
 * worker threads one at a time, hears each job's messages back, and replaces workers that exit.
 *
 * Scheduling: pretraining jobs go first, in the queue's order (largest preset first: it takes longest); a
 * trial goes to an idle worker once its preset's model is ready, smallest presets first; ensembles run
 * after every trial; re-scorings of imported trials (trial_verify.ts) before trials, once their model is
 * ready. A trial that fails (an error in the trial, a worker that dies) is reported and the sweep goes on;
 * it is not cached, so a rerun retries it. Workers write finished trials to the cache themselves, so a run
 * killed at any point keeps every finished trial.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { configureNativeThreads } from '../../src/model/backend.js';
import { findPreset } from '../../src/model/config.js';
import type { EnsembleRecord, TrialRecord } from '../../src/results/results.js';
import { Progress } from '../../src/util/progress.js';
import { frequentTokensForTrials } from '../pretrain/pretrain_profiles.js';
import type { PlannedTrial, ResolvedExperiment } from '../plan/spec.js';
import type { EnsembleGroup, MainMessage, WorkerMessage, WorkerSetup } from './worker_protocol.js';
import { DEFAULT_PACK_ROWS, packTrials } from './trial_packs.js';
import { describeJob, describeTrial, ensembleGroups, formatTrialResult, trialMessage } from './pool_jobs.js';
import { VerifyQueue } from './pool_verify.js';

import type { PoolOptions, PoolResult } from './pool_types.js';

export { describeTrial, ensembleGroups, formatTrialResult, trialMessage } from './pool_jobs.js';
export type { VerifyJob, VerifyOutcome } from './pool_verify.js';
export type { PoolOptions, PoolResult, PretrainedModels } from './pool_types.js';

/** A trials job: one trial, or a pack; `outstanding` holds the keys not yet reported done or failed. */
type Job = { kind: 'trials'; trials: PlannedTrial[]; outstanding: Set<string> } | { kind: 'pretrain'; preset: string } | { kind: 'ensemble'; id: string } | { kind: 'verify'; key: string };

interface WorkerSlot {
  worker: Worker;
  id: number;
  ready: boolean;
  busy: Job | null;
  exiting: boolean;
}

/** Runs a plan's uncached trials (and pretraining, ensembles) on worker threads; {@link WorkerPool.run} once. */
export class WorkerPool {
  private readonly result: PoolResult;
  private readonly progress: Progress;
  /** What each worker is doing, for the progress display. */
  private readonly activity = new Map<number, string>();
  private readonly pretrainFailed = new Map<string, string>();
  /** Checkpoint folders are ready as they are; only ps-* presets are pretrained. */
  private readonly checkpointDirs: Map<string, string>;
  private readonly pretrainQueue: string[];
  /** Trials to run, as jobs: single trials and packs (all of one frozen model). */
  private readonly pending: PlannedTrial[][];
  /** Per trial to run, the corpus's frequent tokens (sampled-vocab init): computed once here, not per worker. */
  private readonly frequentTokens: Map<string, readonly number[]>;
  private readonly ensembleQueue: EnsembleGroup[] = [];
  private readonly verifyQueue: VerifyQueue;
  private readonly verifyOnly: boolean;
  /** Ensembles run after every trial: 'pending' until then, 'running' while their jobs are out. */
  private ensemblePhase: 'pending' | 'running' | 'done';
  private readonly workerCount: number;
  private readonly slots: WorkerSlot[] = [];
  private nextId = 1;
  private restarts = 0;
  private done = 0;
  private settled = false;
  private resolve: (result: PoolResult) => void = () => undefined;
  private reject: (error: Error) => void = () => undefined;

  constructor(
    private readonly experiment: ResolvedExperiment,
    private readonly plan: { trials: PlannedTrial[]; cached: Map<string, TrialRecord>; toRun: PlannedTrial[] },
    private readonly setup: WorkerSetup,
    private readonly options: PoolOptions,
  ) {
    this.verifyQueue = new VerifyQueue(options.verify ?? []);
    this.result = { records: new Map(plan.cached), failed: [], pretrained: new Map(), ensembles: [], rescored: this.verifyQueue.outcomes, backend: 'unknown', versions: {} };
    this.checkpointDirs = new Map(experiment.checkpoints.map((c) => [c.name, c.dir]));
    this.pretrainQueue = [...experiment.presets].filter((preset) => !this.checkpointDirs.has(preset)).reverse();
    const sorted = [...plan.toRun].sort((a, b) => experiment.presets.indexOf(a.config.preset) - experiment.presets.indexOf(b.config.preset));
    this.frequentTokens = frequentTokensForTrials(plan.toRun);
    // A pool that only re-scores (--verify) counts re-scorings, not its zero trials.
    this.verifyOnly = plan.toRun.length === 0 && this.verifyQueue.total > 0;
    const [label, total, unit] = this.verifyOnly ? [`${experiment.name} verify`, this.verifyQueue.total, 're-scoring'] : [experiment.name, plan.toRun.length, 'trial'];
    this.progress = new Progress({ label, total, unit, stream: options.progressStream ?? process.stderr, intervalSeconds: 30 });
    this.ensemblePhase = experiment.ensemble ? 'pending' : 'done';
    this.workerCount = Math.max(1, Math.min(options.workers ?? availableParallelism(), Math.max(1, options.jobs ?? plan.toRun.length)));
    const configs = new Map(experiment.checkpoints.map((c) => [c.name, c.config]));
    this.pending = packTrials(sorted, { maxRows: options.packRows ?? DEFAULT_PACK_ROWS, workers: this.workerCount, modelConfig: (trial) => configs.get(trial.config.preset) ?? findPreset(trial.config.preset).config });
  }

  /** Starts the workers and settles when every job has finished (or a worker failed to start). */
  run(): Promise<PoolResult> {
    configureNativeThreads(Math.max(1, Math.floor(availableParallelism() / this.workerCount))); // workers × threads ≤ cores, before any worker loads TensorFlow
    return new Promise<PoolResult>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      // With every trial cached, one worker still runs: it reads the pretrained models' table for run.json.
      for (let i = 0; i < this.workerCount; i++) this.spawn();
      this.redraw();
    });
  }

  // ---- workers ----

  private spawn(): void {
    const slot: WorkerSlot = { worker: new Worker(new URL('./worker.js', import.meta.url), { workerData: this.setup }), id: this.nextId++, ready: false, busy: null, exiting: false };
    this.slots.push(slot);
    slot.worker.on('message', (message: WorkerMessage) => this.onMessage(slot, message));
    slot.worker.on('error', (error) => this.options.log(`worker ${slot.id}: ${error.stack ?? error.message}`));
    slot.worker.on('exit', (code) => this.onExit(slot, code));
  }

  private onExit(slot: WorkerSlot, code: number): void {
    this.slots.splice(this.slots.indexOf(slot), 1);
    this.activity.delete(slot.id);
    if (slot.exiting || this.settled) return;
    const lost = slot.busy;
    const doing = lost === null ? '' : lost.kind === 'trials' ? ` while running ${describeJob(lost.trials)}` : lost.kind === 'pretrain' ? ` while pretraining ${lost.preset}` : lost.kind === 'verify' ? ` while re-scoring ${lost.key}` : ' while ensembling';
    this.options.log(`worker ${slot.id} exited (code ${code})${doing}`);
    if (lost?.kind === 'ensemble') {
      this.progress.line(`! ensemble ${lost.id} skipped: the worker exited`);
    } else if (lost?.kind === 'verify') {
      this.verifyQueue.workerExited(lost.key, code);
    } else if (lost?.kind === 'trials') {
      for (const trial of lost.trials.filter((t) => lost.outstanding.has(t.key))) {
        this.result.failed.push({ key: trial.key, description: describeTrial(trial), message: `worker exited with code ${code}` });
        this.done += 1;
      }
    } else if (lost?.kind === 'pretrain') {
      this.pretrainFailed.set(lost.preset, `worker exited with code ${code}`);
    }
    if (this.restarts < 2 * this.workerCount && this.jobsQueued()) {
      this.restarts += 1;
      this.spawn();
    }
    if (this.slots.length === 0 && !this.settled && this.jobsQueued()) {
      for (const trial of this.pending.splice(0).flat()) this.result.failed.push({ key: trial.key, description: describeTrial(trial), message: 'no worker left to run it' });
      this.pretrainQueue.splice(0);
      this.ensembleQueue.splice(0);
      this.verifyQueue.failAll('no worker left to run it');
    }
    // Idle workers must see what the exit changed (a preset whose pretraining died fails its trials).
    this.dispatchAll();
  }

  // ---- dispatch: the next job for an idle worker ----

  private dispatchAll(): void {
    for (const slot of this.slots) this.dispatch(slot);
    this.finish();
  }

  private dispatch(slot: WorkerSlot): void {
    if (!slot.ready || slot.busy !== null || slot.exiting || this.settled) return;
    const preset = this.pretrainQueue.shift();
    if (preset !== undefined) {
      this.startPretrain(slot, preset);
      return;
    }
    this.failTrialsOfFailedPresets();
    const verify = this.verifyQueue.next((preset) => this.ready(preset), (trial) => this.trialModelDir(trial));
    if (verify !== undefined) {
      slot.busy = { kind: 'verify', key: verify.key };
      this.activity.set(slot.id, verify.activity);
      this.post(slot, verify.message);
      return;
    }
    const index = this.pending.findIndex((job) => this.ready(job[0].config.preset));
    const group = index < 0 && this.ensemblePhase === 'running' ? this.ensembleQueue.shift() : undefined;
    if (group !== undefined) {
      this.startEnsemble(slot, group);
      return;
    }
    if (index < 0) {
      this.activity.delete(slot.id);
      this.finish();
      return;
    }
    const [trials] = this.pending.splice(index, 1);
    this.startTrials(slot, trials);
  }

  private startPretrain(slot: WorkerSlot, preset: string): void {
    const { profile, pretrainSeed: seed, pretrainSteps: steps } = this.experiment;
    slot.busy = { kind: 'pretrain', preset };
    this.activity.set(slot.id, `pretraining ${preset}`);
    this.post(slot, { type: 'pretrain', preset, profile, seed, steps, cacheDir: this.options.modelCacheDir });
  }

  private startEnsemble(slot: WorkerSlot, group: EnsembleGroup): void {
    slot.busy = { kind: 'ensemble', id: group.id };
    this.activity.set(slot.id, `ensemble ${group.trials[0].config.preset} ${group.trials.length} prompts`);
    this.post(slot, { type: 'ensemble', group, modelDir: this.modelDirOf(group.trials[0].config.preset), trialCacheDir: this.options.trialCacheDir });
  }

  private startTrials(slot: WorkerSlot, trials: PlannedTrial[]): void {
    slot.busy = { kind: 'trials', trials, outstanding: new Set(trials.map((t) => t.key)) };
    this.activity.set(slot.id, describeJob(trials));
    // A pack shares its frozen model (trial_packs.ts).
    this.post(slot, trialMessage(trials, this.trialModelDir(trials[0]), this.options.trialCacheDir, this.frequentTokens));
  }

  /** Control sweeps tune the never-trained model of the same preset (pretraining-dependence control). */
  private trialModelDir(trial: PlannedTrial): string {
    const { preset, control } = trial.config;
    return control === true ? (this.result.pretrained.get(preset)?.controlDir as string) : this.modelDirOf(preset);
  }

  private post(slot: WorkerSlot, message: MainMessage): void {
    slot.worker.postMessage(message);
    this.redraw();
  }

  /** Trials of a preset whose pretraining failed can never run. */
  private failTrialsOfFailedPresets(): void {
    for (let i = this.pending.length - 1; i >= 0; i--) {
      const reason = this.pretrainFailed.get(this.pending[i][0].config.preset);
      if (reason !== undefined) {
        for (const trial of this.pending.splice(i, 1)[0]) {
          this.result.failed.push({ key: trial.key, description: describeTrial(trial), message: `pretraining ${trial.config.preset} failed: ${reason.split('\n')[0]}` });
          this.done += 1;
        }
      }
    }
    this.verifyQueue.failPresets(this.pretrainFailed);
  }

  private ready(preset: string): boolean {
    return this.checkpointDirs.has(preset) || this.result.pretrained.has(preset);
  }

  private modelDirOf(preset: string): string {
    return this.checkpointDirs.get(preset) ?? (this.result.pretrained.get(preset)?.dir as string);
  }

  private jobsQueued(): boolean {
    return this.pending.length > 0 || this.pretrainQueue.length > 0 || this.ensembleQueue.length > 0 || this.verifyQueue.length > 0;
  }

  // ---- messages from workers: one handler per kind ----

  private onMessage(slot: WorkerSlot, message: WorkerMessage): void {
    switch (message.type) {
      case 'ready':
        return this.onReady(slot, message);
      case 'log':
        return this.progress.line(message.text);
      case 'pretrain-progress':
        this.activity.set(slot.id, `pretraining ${message.preset} ${message.step}/${message.steps}`);
        return this.redraw();
      case 'pretrained':
        return this.onPretrained(slot, message);
      case 'trial-progress':
        this.activity.set(slot.id, `${slot.busy?.kind === 'trials' ? `${describeJob(slot.busy.trials, false)} ` : ''}${message.step}/${message.steps} loss ${message.loss.toFixed(3)}`);
        return this.redraw();
      case 'trial-done':
        return this.onTrialDone(slot, message.record);
      case 'trial-failed':
        return this.onTrialFailed(slot, message);
      case 'ensemble-done':
        return this.onEnsembleDone(slot, message.record);
      case 'verified':
        this.progress.line(this.verifyQueue.verified(message));
        slot.busy = null;
        return this.dispatchAll();
      case 'error':
        return this.onError(slot, message);
    }
  }

  private onReady(slot: WorkerSlot, message: Extract<WorkerMessage, { type: 'ready' }>): void {
    slot.ready = true;
    if (this.result.backend === 'unknown') {
      this.result.backend = message.backend;
      // Stamped on run.json, also when every trial comes from the cache.
      this.result.versions = message.versions;
      this.options.log(`worker ${slot.id} ready on backend ${message.backend}`);
    }
    this.dispatch(slot);
  }

  private onPretrained(slot: WorkerSlot, message: Extract<WorkerMessage, { type: 'pretrained' }>): void {
    const { preset, info, dir, controlDir } = message;
    this.result.pretrained.set(preset, { info, dir, controlDir });
    slot.busy = null;
    this.progress.line(
      `${preset}: frozen model ready (${info.parameters.toLocaleString('en-US')} parameters, held-out loss ${info.heldOutLoss.toFixed(4)}, never-trained control ${info.controlHeldOutLoss.toFixed(4)})`,
    );
    this.dispatchAll();
  }

  private onTrialDone(slot: WorkerSlot, record: TrialRecord): void {
    this.result.records.set(record.key, record);
    const trial = this.settle(slot, record.key);
    this.done += 1;
    const packed = record.packing === undefined ? '' : ` [packed ${record.packing.size}]`;
    this.progress.line(`${record.status === 'diverged' ? '✗' : '✓'} [${this.done}/${this.plan.toRun.length}] ${trial === null ? record.key : describeTrial(trial)}: ${formatTrialResult(record, this.options.blind === true)}${packed}`);
    this.redraw();
    if (slot.busy === null) this.dispatchAll();
  }

  /** One trial of a job failed; the job's other trials go on. */
  private onTrialFailed(slot: WorkerSlot, message: Extract<WorkerMessage, { type: 'trial-failed' }>): void {
    if (process.env.PEFTSCALE_DEBUG === '1') this.progress.line(message.stack);
    const trial = this.settle(slot, message.key);
    const description = trial === null ? message.key : describeTrial(trial);
    this.result.failed.push({ key: message.key, description, message: message.message });
    this.done += 1;
    this.progress.line(`! [${this.done}/${this.plan.toRun.length}] ${description}: FAILED: ${message.message}`);
    this.redraw();
    if (slot.busy === null) this.dispatchAll();
  }

  /** Marks a trial of the slot's job reported; the slot is free once every trial of its job is. Returns the trial. */
  private settle(slot: WorkerSlot, key: string): PlannedTrial | null {
    const job = slot.busy;
    if (job?.kind !== 'trials') return null;
    job.outstanding.delete(key);
    if (job.outstanding.size === 0) slot.busy = null;
    return job.trials.find((t) => t.key === key) ?? null;
  }

  private onEnsembleDone(slot: WorkerSlot, record: EnsembleRecord): void {
    this.result.ensembles.push(record);
    slot.busy = null;
    this.progress.line(
      `ensemble ${record.preset} ${record.method} ${record.optionsLabel} ${record.task}, ${record.perPrompt.length} prompts: ` +
        `vote ${record.ensemble.toFixed(3)}, average ${record.average.toFixed(3)}, best ${record.best.toFixed(3)}`,
    );
    this.dispatchAll();
  }

  /** A failed job: an ensemble is skipped, a trial or a pretraining fails; a failed start stops the run. */
  private onError(slot: WorkerSlot, message: Extract<WorkerMessage, { type: 'error' }>): void {
    if (process.env.PEFTSCALE_DEBUG === '1') this.progress.line(message.stack);
    const job = slot.busy;
    if (job === null) {
      this.settled = true;
      for (const s of this.slots) void s.worker.terminate();
      this.reject(new Error(`worker ${slot.id} failed to start: ${message.message}`));
      return;
    }
    if (job.kind === 'ensemble') {
      this.progress.line(`! ensemble ${job.id} skipped: ${message.message}`);
    } else if (job.kind === 'verify') {
      this.verifyQueue.failed(job.key, message.message);
    } else if (job.kind === 'trials') {
      for (const trial of job.trials.filter((t) => job.outstanding.has(t.key))) {
        this.result.failed.push({ key: trial.key, description: describeTrial(trial), message: message.message });
        this.done += 1;
        this.progress.line(`! [${this.done}/${this.plan.toRun.length}] ${describeTrial(trial)}: FAILED: ${message.message}`);
      }
    } else {
      this.pretrainFailed.set(job.preset, message.message);
      this.progress.line(`! pretraining ${job.preset} FAILED: ${message.message}`);
    }
    slot.busy = null;
    this.dispatchAll();
  }

  // ---- the end: ensembles once every trial is done, then the workers exit ----

  private finish(): void {
    if (this.settled) return;
    if (this.slots.some((s) => s.busy !== null) || this.jobsQueued()) return;
    if (this.startEnsembles()) return;
    this.settled = true;
    for (const slot of this.slots) {
      slot.exiting = true;
      slot.worker.postMessage({ type: 'exit' } satisfies MainMessage);
    }
    this.progress.done();
    this.resolve(this.result);
  }

  /** Queues the ensembles (once, after every trial) and dispatches them; false if there are none. */
  private startEnsembles(): boolean {
    if (this.ensemblePhase !== 'pending') return false;
    this.ensemblePhase = 'running';
    this.ensembleQueue.push(...ensembleGroups(this.plan.trials, this.result.records).filter((group) => this.ready(group.trials[0].config.preset)));
    if (this.ensembleQueue.length === 0) return false;
    this.progress.line(`ensembling the prompts of each configuration across seeds: ${this.ensembleQueue.length} configuration(s)`);
    this.dispatchAll();
    return true;
  }

  private redraw(): void {
    this.progress.update(this.verifyOnly ? this.verifyQueue.done : this.done, Object.fromEntries([...this.activity].map(([id, text]) => [`w${id}`, text])));
  }
}
