/**
 * The experiment runner: plans an experiment's trials, skips those already in the trial cache, pretrains
 * the frozen models it needs and runs the rest on worker threads (one per core by default), with one
 * progress display and a line per finished trial; then writes the results folder.
 *
 * Scheduling: pretraining jobs go first, largest preset first (it takes longest); a trial is handed to an
 * idle worker once its preset's model is ready, smallest presets first. A trial that fails (an error in
 * the trial, a worker that dies) is reported and the sweep goes on; it is not cached, so a rerun retries
 * it. A run killed at any point keeps every finished trial: the rerun picks up where it stopped.
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism, cpus, platform, totalmem } from 'node:os';
import { Worker } from 'node:worker_threads';
import path from 'node:path';
import { configureNativeThreads } from '../src/model/backend.js';
import { formatDuration, Progress } from '../src/util/progress.js';
import { getMethod } from '../src/adapt/peft.js';
import type { EnsembleRecord, PretrainedInfo, RunManifest, TrialEnvironment, TrialRecord } from '../src/results/results.js';
import { optionsLabel, RESULTS_FORMAT_VERSION } from '../src/results/results.js';
import { DEFAULT_CACHE_DIR } from './pretrain_family.js';
import type { PlannedTrial, ResolvedExperiment } from './spec.js';
import { canonicalJson } from './spec.js';
import { EXPERIMENT_NAME } from './schema.js';
import { readTrialRecord } from './trial_cache.js';
import type { EnsembleGroup, MainMessage, WorkerMessage, WorkerSetup } from './worker_protocol.js';
import { writeResults } from './results_files.js';

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

/** A trial in a line: "ps-mini prompt-tuning init=class-label length=20 verify seed 0". */
export function describeTrial(trial: PlannedTrial): string {
  const { preset, method, options, task, seed } = trial.config;
  const label = optionsLabel(options);
  return `${preset} ${method}${label === '' ? '' : ` ${label}`} ${task} seed ${seed}`;
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

interface WorkerSlot {
  worker: Worker;
  id: number;
  ready: boolean;
  busy: { kind: 'trial'; trial: PlannedTrial } | { kind: 'pretrain'; preset: string } | { kind: 'ensemble'; id: string } | null;
  exiting: boolean;
}

/** Runs an experiment's uncached trials and writes its results folder. */
export async function runPlannedExperiment(experiment: ResolvedExperiment, plan: RunPlan, options: RunOptions): Promise<RunOutcome> {
  const log = options.log ?? ((message: string): void => void process.stderr.write(`${message}\n`));
  const modelCacheDir = options.modelCacheDir ?? DEFAULT_CACHE_DIR;
  const startedAt = new Date();
  const started = performance.now();
  const environmentBase = environmentInfo();
  let backendName = 'unknown';
  let versions: Record<string, string> = {};

  const records = new Map(plan.cached);
  const failed: RunOutcome['failed'] = [];
  const pretrained = new Map<string, { info: PretrainedInfo; dir: string; controlDir: string }>();
  const pretrainFailed = new Map<string, string>();
  // Checkpoint folders are ready as they are; only ps-* presets are pretrained, largest first (it takes longest).
  const checkpointDirs = new Map(experiment.checkpoints.map((c) => [c.name, c.dir]));
  const pretrainQueue = [...experiment.presets].filter((preset) => !checkpointDirs.has(preset)).reverse();
  const ready = (preset: string): boolean => checkpointDirs.has(preset) || pretrained.has(preset);
  const modelDirOf = (preset: string): string => checkpointDirs.get(preset) ?? (pretrained.get(preset)?.dir as string);
  const pretrainRunning = new Set<string>();
  const pending = [...plan.toRun].sort((a, b) => experiment.presets.indexOf(a.config.preset) - experiment.presets.indexOf(b.config.preset));
  const progress = new Progress({ label: experiment.name, total: plan.toRun.length, unit: 'trial', stream: options.progressStream ?? process.stderr, intervalSeconds: 30 });
  const activity = new Map<number, string>();
  let done = 0;
  // Ensembles run after every trial: 'pending' until then, 'running' while their jobs are out.
  let ensemblePhase: 'pending' | 'running' | 'done' = experiment.ensemble ? 'pending' : 'done';
  const ensembleQueue: EnsembleGroup[] = [];
  const ensembles: EnsembleRecord[] = [];
  const redraw = (): void => progress.update(done, Object.fromEntries([...activity].map(([id, text]) => [`w${id}`, text])));

  const workerCount = Math.max(1, Math.min(options.workers ?? availableParallelism(), Math.max(1, options.jobs ?? plan.toRun.length)));
  configureNativeThreads(Math.max(1, Math.floor(availableParallelism() / workerCount))); // workers × threads ≤ cores, before any worker loads TensorFlow
  const setup: WorkerSetup = { backend: options.backend, environment: environmentBase };
  const slots: WorkerSlot[] = [];
  let nextId = 1;
  let restarts = 0;

  return await new Promise<RunOutcome>((resolve, reject) => {
    let settled = false;
    const finish = (): void => {
      if (settled) return;
      if (slots.some((s) => s.busy !== null) || pending.length > 0 || pretrainQueue.length > 0 || ensembleQueue.length > 0) return;
      if (ensemblePhase === 'pending') {
        ensemblePhase = 'running';
        ensembleQueue.push(...ensembleGroups(plan.trials, records).filter((group) => ready(group.trials[0].config.preset)));
        if (ensembleQueue.length > 0) {
          progress.line(`ensembling prompt-tuning prompts across seeds: ${ensembleQueue.length} configuration(s)`);
          dispatchAll();
          return;
        }
      }
      settled = true;
      for (const slot of slots) {
        slot.exiting = true;
        slot.worker.postMessage({ type: 'exit' } satisfies MainMessage);
      }
      progress.done();
      const ordered = plan.trials.flatMap((trial) => {
        const record = records.get(trial.key);
        return record === undefined ? [] : [{ ...record, sweeps: trial.sweeps }];
      });
      const environment: TrialEnvironment = { ...environmentBase, backend: backendName, versions };
      const wallSeconds = (performance.now() - started) / 1000;
      const manifest: RunManifest = {
        format: RESULTS_FORMAT_VERSION,
        experiment: experiment.name,
        description: experiment.description,
        file: experiment.file,
        profile: experiment.profile,
        sweeps: experiment.sweeps,
        startedAt: startedAt.toISOString(),
        finishedAt: new Date().toISOString(),
        wallSeconds,
        trials: {
          total: plan.trials.length,
          ran: plan.toRun.length - failed.length,
          cached: plan.cached.size,
          diverged: ordered.filter((r) => r.status === 'diverged').length,
          failed: failed.length,
        },
        environment,
        pretrained: experiment.presets.flatMap((preset) => {
          const entry = pretrained.get(preset);
          return entry === undefined ? [] : [entry.info];
        }),
        ...(experiment.checkpoints.length === 0 ? {} : { checkpoints: experiment.checkpoints.map(({ name, dir, parameters, tokenizer, fingerprint }) => ({ name, dir, parameters, tokenizer, fingerprint })) }),
        ...(experiment.datasets.length === 0 ? {} : { datasets: experiment.datasets.map(({ name, fingerprint, source }) => ({ name, fingerprint, ...source })) }),
      };
      (options.writeResults === false ? Promise.resolve() : writeResults(options.resultsDir, ordered, manifest, canonicalJson(experiment.document), ensembles, { replace: options.replaceResults === true }).then(() => undefined))
        .then(() => resolve({ records: ordered, ran: manifest.trials.ran, cached: plan.cached.size, failed, ensembles, manifest, wallSeconds }))
        .catch(reject);
    };

    const dispatch = (slot: WorkerSlot): void => {
      if (!slot.ready || slot.busy !== null || slot.exiting || settled) return;
      const preset = pretrainQueue.shift();
      if (preset !== undefined) {
        slot.busy = { kind: 'pretrain', preset };
        pretrainRunning.add(preset);
        activity.set(slot.id, `pretraining ${preset}`);
        slot.worker.postMessage({ type: 'pretrain', preset, profile: experiment.profile, seed: experiment.pretrainSeed, steps: experiment.pretrainSteps, cacheDir: modelCacheDir } satisfies MainMessage);
        redraw();
        return;
      }
      // Trials of a preset whose pretraining failed can never run.
      for (let i = pending.length - 1; i >= 0; i--) {
        const reason = pretrainFailed.get(pending[i].config.preset);
        if (reason !== undefined) {
          const [trial] = pending.splice(i, 1);
          failed.push({ key: trial.key, description: describeTrial(trial), message: `pretraining ${trial.config.preset} failed: ${reason.split('\n')[0]}` });
          done += 1;
        }
      }
      const index = pending.findIndex((t) => ready(t.config.preset));
      const group = index < 0 && ensemblePhase === 'running' ? ensembleQueue.shift() : undefined;
      if (group !== undefined) {
        slot.busy = { kind: 'ensemble', id: group.id };
        activity.set(slot.id, `ensemble ${group.trials[0].config.preset} ${group.trials.length} prompts`);
        const modelDir = modelDirOf(group.trials[0].config.preset);
        slot.worker.postMessage({ type: 'ensemble', group, modelDir, trialCacheDir: options.trialCacheDir } satisfies MainMessage);
        redraw();
        return;
      }
      if (index < 0) {
        activity.delete(slot.id);
        finish();
        return;
      }
      const [trial] = pending.splice(index, 1);
      slot.busy = { kind: 'trial', trial };
      activity.set(slot.id, `${trial.config.preset} ${trial.config.method} ${trial.config.task} s${trial.config.seed}`);
      const entry = pretrained.get(trial.config.preset);
      // Control sweeps tune the never-trained model of the same preset (pretraining-dependence control).
      const modelDir = trial.config.control === true ? (entry?.controlDir as string) : modelDirOf(trial.config.preset);
      slot.worker.postMessage({ type: 'trial', planned: trial, modelDir, trialCacheDir: options.trialCacheDir } satisfies MainMessage);
      redraw();
    };
    const dispatchAll = (): void => {
      for (const slot of slots) dispatch(slot);
      finish();
    };

    const spawn = (): void => {
      const slot: WorkerSlot = { worker: new Worker(new URL('./worker.js', import.meta.url), { workerData: setup }), id: nextId++, ready: false, busy: null, exiting: false };
      slots.push(slot);
      slot.worker.on('message', (message: WorkerMessage) => onMessage(slot, message));
      slot.worker.on('error', (error) => log(`worker ${slot.id}: ${error.stack ?? error.message}`));
      slot.worker.on('exit', (code) => onExit(slot, code));
    };

    const onMessage = (slot: WorkerSlot, message: WorkerMessage): void => {
      switch (message.type) {
        case 'ready':
          slot.ready = true;
          if (backendName === 'unknown') {
            backendName = message.backend;
            // Stamped on run.json, also when every trial comes from the cache.
            versions = message.versions;
            log(`worker ${slot.id} ready on backend ${message.backend}`);
          }
          dispatch(slot);
          return;
        case 'log':
          progress.line(message.text);
          return;
        case 'pretrain-progress':
          activity.set(slot.id, `pretraining ${message.preset} ${message.step}/${message.steps}`);
          redraw();
          return;
        case 'pretrained':
          pretrained.set(message.preset, { info: message.info, dir: message.dir, controlDir: message.controlDir });
          pretrainRunning.delete(message.preset);
          slot.busy = null;
          progress.line(
            `${message.preset}: frozen model ready (${message.info.parameters.toLocaleString('en-US')} parameters, held-out loss ${message.info.heldOutLoss.toFixed(4)}, never-trained control ${message.info.controlHeldOutLoss.toFixed(4)})`,
          );
          dispatchAll();
          return;
        case 'trial-progress':
          activity.set(slot.id, `${slot.busy?.kind === 'trial' ? `${slot.busy.trial.config.preset} ${slot.busy.trial.config.method} ` : ''}${message.step}/${message.steps} loss ${message.loss.toFixed(3)}`);
          redraw();
          return;
        case 'trial-done': {
          const record = message.record;
          records.set(record.key, record);
          const trial = slot.busy?.kind === 'trial' ? slot.busy.trial : null;
          slot.busy = null;
          done += 1;
          progress.line(`${record.status === 'diverged' ? '✗' : '✓'} [${done}/${plan.toRun.length}] ${trial === null ? record.key : describeTrial(trial)}: ${formatTrialResult(record)}`);
          redraw();
          dispatchAll();
          return;
        }
        case 'ensemble-done': {
          const record = message.record;
          ensembles.push(record);
          slot.busy = null;
          progress.line(
            `ensemble ${record.preset} ${record.method} ${record.optionsLabel} ${record.task}, ${record.perPrompt.length} prompts: ` +
              `vote ${record.ensemble.toFixed(3)}, average ${record.average.toFixed(3)}, best ${record.best.toFixed(3)}`,
          );
          dispatchAll();
          return;
        }
        case 'error': {
          if (process.env.PEFTSCALE_DEBUG === '1') progress.line(message.stack);
          if (slot.busy?.kind === 'ensemble') {
            progress.line(`! ensemble ${slot.busy.id} skipped: ${message.message}`);
            slot.busy = null;
            dispatchAll();
            return;
          }
          if (slot.busy?.kind === 'trial') {
            const trial = slot.busy.trial;
            failed.push({ key: trial.key, description: describeTrial(trial), message: message.message });
            done += 1;
            progress.line(`! [${done}/${plan.toRun.length}] ${describeTrial(trial)}: FAILED: ${message.message}`);
          } else if (slot.busy?.kind === 'pretrain') {
            pretrainFailed.set(slot.busy.preset, message.message);
            pretrainRunning.delete(slot.busy.preset);
            progress.line(`! pretraining ${slot.busy.preset} FAILED: ${message.message}`);
          } else {
            settled = true;
            for (const s of slots) void s.worker.terminate();
            reject(new Error(`worker ${slot.id} failed to start: ${message.message}`));
            return;
          }
          slot.busy = null;
          dispatchAll();
          return;
        }
      }
    };

    const onExit = (slot: WorkerSlot, code: number): void => {
      slots.splice(slots.indexOf(slot), 1);
      activity.delete(slot.id);
      if (slot.exiting || settled) return;
      const lost = slot.busy;
      const doing = lost === null ? '' : lost.kind === 'trial' ? ` while running ${describeTrial(lost.trial)}` : lost.kind === 'pretrain' ? ` while pretraining ${lost.preset}` : ' while ensembling';
      log(`worker ${slot.id} exited (code ${code})${doing}`);
      if (lost?.kind === 'ensemble') {
        progress.line(`! ensemble ${lost.id} skipped: the worker exited`);
      } else if (lost?.kind === 'trial') {
        failed.push({ key: lost.trial.key, description: describeTrial(lost.trial), message: `worker exited with code ${code}` });
        done += 1;
      } else if (lost?.kind === 'pretrain') {
        pretrainFailed.set(lost.preset, `worker exited with code ${code}`);
      }
      if (restarts < 2 * workerCount && (pending.length > 0 || pretrainQueue.length > 0 || ensembleQueue.length > 0)) {
        restarts += 1;
        spawn();
      }
      if (slots.length === 0 && !settled && (pending.length > 0 || pretrainQueue.length > 0 || ensembleQueue.length > 0)) {
        for (const trial of pending.splice(0)) failed.push({ key: trial.key, description: describeTrial(trial), message: 'no worker left to run it' });
        pretrainQueue.splice(0);
        ensembleQueue.splice(0);
      }
      // Idle workers must see what the exit changed (a preset whose pretraining died fails its trials).
      dispatchAll();
    };

    // With every trial cached, one worker still runs: it reads the pretrained models' table for run.json.
    for (let i = 0; i < workerCount; i++) spawn();
    redraw();
  });
}

/**
 * Trials of a method with a learned prompt (its descriptor's learnedPrompt: prompt tuning) that differ
 * only in their seed and all finished (not diverged), two or more per configuration: the ensembles of
 * Lester et al. Table 3.
 */
export function ensembleGroups(trials: readonly PlannedTrial[], records: ReadonlyMap<string, TrialRecord>): EnsembleGroup[] {
  const groups = new Map<string, PlannedTrial[]>();
  for (const trial of trials) {
    if (getMethod(trial.config.method).learnedPrompt === undefined || records.get(trial.key)?.status !== 'finished') continue;
    const id = canonicalJson({ ...trial.config, seed: null });
    groups.set(id, [...(groups.get(id) ?? []), trial]);
  }
  return [...groups]
    .filter(([, members]) => members.length >= 2)
    .map(([id, members]) => ({ id, trials: [...members].sort((a, b) => a.config.seed - b.config.seed) }));
}

/** "test 0.733 (dev 0.750 at step 150; majority 0.500), 41s, 1.2k tok/s". */
export function formatTrialResult(record: TrialRecord): string {
  const diverged = record.divergedAt === null ? '' : `DIVERGED at step ${record.divergedAt.step} (loss ${record.divergedAt.loss}); best checkpoint before it: `;
  return (
    `${diverged}test ${record.test.accuracy.toFixed(3)} (dev ${record.dev.accuracy.toFixed(3)} at step ${record.dev.bestStep}; majority ${record.test.majority.toFixed(3)}), ` +
    `${formatDuration(record.timing.trainSeconds + record.timing.evalSeconds)}` +
    (record.timing.tokensPerSecond > 0 ? `, ${Math.round(record.timing.tokensPerSecond).toLocaleString('en-US')} tok/s` : '') +
    // Inputs cut to fit the context change what the model saw: said on the line, counted in the record.
    (record.inputs !== undefined && record.inputs.truncated.test > 0 ? `; ${record.inputs.truncated.test}/${record.test.examples} test inputs truncated to ${record.inputs.maxInputTokens} tokens` : '')
  );
}

/** The results folder of an experiment under a results root. */
export function resultsDirFor(root: string, experiment: string): string {
  // Names are validated with the file; checked again here because a path is made of it.
  if (!new RegExp(EXPERIMENT_NAME.pattern ?? '', 'u').test(experiment)) throw new Error(`experiment name ${JSON.stringify(experiment)} cannot name a results folder: allowed: ${EXPERIMENT_NAME.patternHelp ?? ''}`);
  return path.join(root, experiment);
}
