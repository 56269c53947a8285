/**
 * A worker thread of the experiment runner: it initialises its own backend, then takes jobs from the
 * main thread one at a time: pretrain a preset (with its never-trained control) or run a trial. A
 * finished trial's record is written to the trial cache by the worker itself (atomically) before the
 * main thread hears of it, so a run killed at any moment loses only the trials in flight.
 *
 * Frozen models and task suites are loaded once per worker and reused across trials; the corpus's token
 * frequencies come with each trial (the main thread computed them once).
 */
import { mkdir } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '../../src/model/backend.js';
import type { GPT2 } from '../../src/model/model.js';
import type { TrialEnvironment, TrialRecord } from '../../src/results/results.js';
import '../../methods/index.js';
import { buildTaskSuite, findTask, type Task } from '../../datasets/tasks.js';
import * as tf from '@tensorflow/tfjs-core';
import { loadWeights, saveTensors } from '../../src/io/checkpoint.js';
import { evaluateEnsemble } from '../../src/inference/ensemble.js';
import { countParameters, modelParameterSpecs } from '../../src/model/params.js';
import { getMethod, registeredMethods, type MethodOptions } from '../../src/adapt/peft.js';
import { optionsLabel, type EnsembleRecord } from '../../src/results/results.js';
import type { Tokenizer } from '../../src/io/tokenizer.js';
import { datasetFingerprint, loadFileTask } from '../../datasets/file_tasks.js';
import { loadFrozenModel } from '../pretrain/frozen_model.js';
import { adapterCacheMaxBytes, trialPromptPath, writeTrialAdapter, writeTrialRecord } from './trial_cache.js';
import { saveAdapterTensors } from '../../src/io/adapter_io.js';
import { nonFiniteTensors } from '../../src/io/finite.js';
import { ensurePretrained, gatesOf } from '../pretrain/pretrain_family.js';
import { resolveProfile } from '../pretrain/pretrain_profiles.js';
import { encodedSplit, inputBudget } from './trial_scoring.js';
import { rescoreAdapter } from './trial_rescore.js';
import { runPackedTrials, type PackedTrialJob } from './packed_trials.js';
import type { EnsembleGroup, MainMessage, WorkerMessage, WorkerSetup } from './worker_protocol.js';
import type { PlannedTrial } from '../plan/spec.js';

const port = parentPort;
if (port === null) throw new Error('experiments/run/worker.js must run as a worker thread');
const setup = workerData as WorkerSetup;
const send = (message: WorkerMessage): void => port.postMessage(message);

const models = new Map<string, { model: GPT2; tokenizer: Tokenizer }>();
const suites = new Map<string, Task[]>();
let environment: TrialEnvironment | null = null;

async function start(): Promise<void> {
  const backend = await initBackend(setup.backend);
  // The provider and thread count say whether a re-scoring (--verify) can expect the same sums (trial_verify.ts).
  environment = { ...setup.environment, backend: backend.name, provider: backend.provider, ...(backend.threads === undefined ? {} : { threads: backend.threads }), versions: backend.versions };
  // One small op before anything else: a worker that loaded tfjs-node and exited without ever running an
  // op (a fully cached run) crashed the whole process with SIGSEGV at exit on the tensorflow backend.
  tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(1)).dataSync());
  send({ type: 'ready', backend: backend.name, versions: backend.versions });
}

async function handle(message: MainMessage): Promise<void> {
  if (message.type === 'exit') {
    for (const { model } of models.values()) model.dispose();
    process.exit(0);
  }
  if (message.type === 'pretrain') {
    const { preset, seed, steps, cacheDir } = message;
    const profile = resolveProfile(message.profile); // by name: a profile object cannot cross threads
    const log = (text: string): void => send({ type: 'log', text });
    const control = await ensurePretrained({ preset, profile, seed, steps, cacheDir, control: true, progress: false, log });
    let lastReport = 0;
    const trained = await ensurePretrained({
      preset,
      profile,
      seed,
      steps,
      cacheDir,
      progress: false,
      log,
      onStep: (step, steps) => {
        const now = Date.now();
        if (now - lastReport > 1000 || step === steps) {
          lastReport = now;
          send({ type: 'pretrain-progress', preset, step, steps });
        }
      },
    });
    const gates = await gatesOf(trained, control, profile, log);
    send({
      type: 'pretrained',
      preset,
      info: { preset, parameters: trained.parameters, steps: trained.steps, heldOutLoss: trained.heldOutLoss, controlHeldOutLoss: control.heldOutLoss, trainingSeconds: trained.trainingSeconds, gates },
      dir: trained.dir,
      controlDir: control.dir,
    });
    return;
  }
  if (message.type === 'ensemble') {
    send({ type: 'ensemble-done', id: message.group.id, record: await ensemble(message.group, message.modelDir, message.trialCacheDir) });
    return;
  }
  if (message.type === 'verify') {
    if (environment === null) throw new Error('worker: a re-scoring arrived before the backend was ready');
    // Fault injection for the pool's verify tests (experiments/commands/import_verify.test.ts): the worker dies mid-job. Unset in every real run.
    if (process.env.PEFTSCALE_FAULT_WORKER_EXIT_ON_VERIFY === '1') process.exit(70);
    const { model, tokenizer } = await baseModel(message.modelDir);
    const rescored = await rescoreAdapter(message.adapterDir, message.trial.key, message.trial.config, message.recordedBudget, model, tokenizer, taskOf(message.trial));
    send({ type: 'verified', key: message.trial.key, rescored, environment });
    return;
  }
  const { trials, modelDir, trialCacheDir } = message;
  const { model: base, tokenizer } = await baseModel(modelDir);
  if (environment === null) throw new Error('worker: a trial arrived before the backend was ready');
  const trialEnvironment = environment;
  let lastReport = 0;
  // A learned prompt (the method declares learnedPrompt) is kept beside the record, for ensembles across seeds;
  // every adapter up to the cache's size limit is kept as a folder (`peftscale export` takes it from there).
  const prompts = new Map<string, Map<string, tf.Tensor>>();
  const adapters = new Map<string, KeptAdapter>();
  const jobs: PackedTrialJob[] = trials.map(({ planned, frequentTokens }) => ({
    config: planned.config,
    key: planned.key,
    sweeps: planned.sweeps,
    resources: { base, task: taskOf(planned), tokenizer, frequentTokens, environment: trialEnvironment },
    options: {
      onStep: ({ step, steps, loss }) => {
        // Fault injection for the crash-safety test (experiments/commands/faults.test.ts): this worker thread dies
        // mid-trial, as a crashed or OOM-killed worker would. Unset in every real run.
        if (process.env.PEFTSCALE_FAULT_WORKER_EXIT_AT_STEP !== undefined && step === Number(process.env.PEFTSCALE_FAULT_WORKER_EXIT_AT_STEP)) process.exit(70);
        const now = Date.now();
        if (now - lastReport > 1000 || step === steps) {
          lastReport = now;
          send({ type: 'trial-progress', key: planned.key, step, steps, loss });
        }
      },
      onAdapter: (tensors, options) => {
        if (getMethod(planned.config.method).learnedPrompt !== undefined) prompts.set(planned.key, new Map([...tensors].map(([name, tensor]) => [name, tensor.clone()])));
        if (tensors.size === 0) return; // prompt design: nothing trained
        const bytes = [...tensors.values()].reduce((sum, tensor) => sum + 4 * tensor.size, 0);
        if (bytes > adapterCacheMaxBytes()) adapters.set(planned.key, { skipped: `its adapter (${(bytes / 2 ** 20).toFixed(1)} MiB) is over the cache's limit of ${(adapterCacheMaxBytes() / 2 ** 20).toFixed(0)} MiB (PEFTSCALE_ADAPTER_CACHE_MAX_MB)` });
        else adapters.set(planned.key, { tensors: new Map([...tensors].map(([name, tensor]) => [name, tensor.clone()])), options });
      },
    },
  }));
  const results = runPackedTrials(jobs);
  for (const [i, result] of results.entries()) {
    const key = trials[i].planned.key;
    if (result instanceof Error) send({ type: 'trial-failed', key, message: result.message, stack: result.stack ?? '' });
    else await cacheTrial(result, prompts.get(key) ?? null, adapters.get(key) ?? null, base, trialCacheDir);
  }
}

/** A trained adapter kept for the trial cache, or why it was not. */
type KeptAdapter = { tensors: Map<string, tf.Tensor>; options: MethodOptions } | { skipped: string };

/** Writes a finished trial (its learned prompt and adapter, then its record) to the trial cache, then tells the main thread. */
async function cacheTrial(record: TrialRecord, kept: Map<string, tf.Tensor> | null, adapter: KeptAdapter | null, base: GPT2, trialCacheDir: string): Promise<void> {
  // A cache that refuses a write (read-only, full) costs the cache entry, not the result: the run
  // still reports the trial, and a later run computes it again.
  const notCached = (error: unknown): void => send({ type: 'log', text: `warning: ${(error as Error).message}; trial ${record.key} is in this run's results but not cached` });
  let promptSaved = true;
  if (kept !== null) {
    const promptPath = trialPromptPath(trialCacheDir, record.key);
    try {
      await mkdir(trialCacheDir, { recursive: true });
      await saveTensors(promptPath, kept, { key: record.key });
    } catch (error) {
      promptSaved = false;
      notCached(new Error(`cannot write ${promptPath}: ${(error as Error).message}`));
    } finally {
      for (const tensor of kept.values()) tensor.dispose();
    }
  }
  if (adapter !== null && 'skipped' in adapter) send({ type: 'log', text: `trial ${record.key}: ${adapter.skipped}; the record is cached without it` });
  else if (adapter !== null) {
    const config = record.config;
    try {
      const metadata = { key: record.key, task: config.task, preset: config.preset, seed: config.seed, base: config.preset };
      await writeTrialAdapter(trialCacheDir, record.key, (dir) => saveAdapterTensors(dir, getMethod(config.method), adapter.options, base.config, adapter.tensors, metadata));
    } catch (error) {
      send({ type: 'log', text: `warning: ${(error as Error).message}; trial ${record.key} is cached without its adapter` });
    } finally {
      for (const tensor of adapter.tensors.values()) tensor.dispose();
    }
  }
  // The record is written last: its presence means the trial (and its prompt and adapter) is finished.
  if (promptSaved) await writeTrialRecord(trialCacheDir, record).catch(notCached);
  send({ type: 'trial-done', record });
}

async function baseModel(modelDir: string): Promise<{ model: GPT2; tokenizer: Tokenizer }> {
  let base = models.get(modelDir);
  if (base === undefined) {
    base = await loadFrozenModel(modelDir);
    const broken = nonFiniteTensors(base.model.parameters());
    if (broken.length > 0) {
      base.model.dispose();
      throw new Error(`${modelDir}: ${broken.length} weight tensor(s) hold NaN or infinite values: ${broken.slice(0, 3).join('; ')}${broken.length > 3 ? '; …' : ''}`);
    }
    models.set(modelDir, base);
  }
  return base;
}

function taskOf(planned: PlannedTrial): Task {
  const config = planned.config;
  if (planned.dataset !== undefined) {
    // Loaded again here from the paths; the fingerprint proves the files are those that were planned.
    const cacheKey = JSON.stringify(['files', config.task, config.dataset?.fingerprint]);
    const cached = suites.get(cacheKey);
    if (cached !== undefined) return cached[0];
    const task = loadFileTask(planned.dataset);
    const fingerprint = datasetFingerprint(planned.dataset, task.source as NonNullable<Task['source']>);
    if (fingerprint !== config.dataset?.fingerprint) {
      throw new Error(`dataset "${config.task}": its files changed after the experiment was planned (fingerprint ${fingerprint}, planned ${config.dataset?.fingerprint}); run the command again`);
    }
    suites.set(cacheKey, [task]);
    return task;
  }
  // One task at a time: split sizes that fit one task may not fit another of the same world.
  const suiteKey = JSON.stringify([config.pretrainSeed, config.data, config.task]);
  let suite = suites.get(suiteKey);
  if (suite === undefined) {
    const { worldSize, townCount, train, dev, test } = config.data;
    suite = buildTaskSuite({ seed: config.pretrainSeed, worldSize, townCount, sizes: { train, dev, test }, tasks: [config.task] });
    suites.set(suiteKey, suite);
  }
  return findTask(suite, config.task);
}

/** Scores a group's prompts together on test and votes (src/inference/ensemble.ts). */
async function ensemble(group: EnsembleGroup, modelDir: string, trialCacheDir: string): Promise<EnsembleRecord> {
  const { model: base, tokenizer } = await baseModel(modelDir);
  const first = group.trials[0].config;
  const task = taskOf(group.trials[0]);
  const promptTensor = getMethod(first.method).learnedPrompt?.tensor;
  if (promptTensor === undefined) throw new Error(`ensemble: method "${first.method}" declares no learnedPrompt; allowed: ${registeredMethods().filter((m) => m.learnedPrompt !== undefined).map((m) => m.name).join(', ')}`);
  const prompts: tf.Tensor[] = [];
  try {
    for (const trial of group.trials) {
      const { tensors } = await loadWeights(trialPromptPath(trialCacheDir, trial.key));
      const prompt = tensors.get(promptTensor);
      if (prompt === undefined) throw new Error(`${trialPromptPath(trialCacheDir, trial.key)} holds no "${promptTensor}" tensor`);
      for (const [name, tensor] of tensors) if (name !== promptTensor) tensor.dispose();
      prompts.push(prompt);
    }
    const labels = task.labels.map((label) => tokenizer.encode(label));
    const budget = inputBudget(task, tokenizer, base.config.contextLength, prompts[0].shape[0]);
    const examples = encodedSplit(task, 'test', tokenizer, budget).map((e) => ({ context: e.context, labels, answer: e.answer }));
    const result = evaluateEnsemble(base, prompts, examples, { batchSize: 64, startId: tokenizer.endOfTextId, padId: tokenizer.padId });
    return {
      preset: first.preset,
      baseParameters: countParameters(modelParameterSpecs(base.config)),
      method: first.method,
      optionsLabel: optionsLabel(first.options),
      task: first.task,
      keys: group.trials.map((t) => t.key),
      seeds: group.trials.map((t) => t.config.seed),
      perPrompt: result.perPrompt,
      average: result.average,
      best: result.best,
      ensemble: result.ensemble,
      examples: result.examples,
      tiedVotes: result.tiedVotes,
    };
  } finally {
    for (const prompt of prompts) prompt.dispose();
  }
}

/** The job a failed message was, as the pool names it in its error handling (null: not a job). */
function jobName(message: MainMessage): string | null {
  switch (message.type) {
    case 'trials':
      return message.trials.map((t) => t.planned.key).join(',');
    case 'pretrain':
      return `pretrain:${message.preset}`;
    case 'ensemble':
      return `ensemble:${message.group.id}`;
    case 'verify':
      return `verify:${message.trial.key}`;
    default:
      return null;
  }
}

// Jobs run one at a time, in arrival order.
let queue: Promise<void> = start().catch((error: unknown) => send({ type: 'error', job: null, ...errorText(error) }));
port.on('message', (message: MainMessage) => {
  queue = queue.then(() =>
    handle(message).catch((error: unknown) => send({ type: 'error', job: jobName(message), ...errorText(error) })),
  );
});

function errorText(error: unknown): { message: string; stack: string } {
  return error instanceof Error ? { message: error.message, stack: error.stack ?? '' } : { message: String(error), stack: '' };
}
