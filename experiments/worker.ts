/**
 * A worker thread of the experiment runner: it initialises its own backend, then takes jobs from the
 * main thread one at a time: pretrain a preset (with its never-trained control) or run a trial. A
 * finished trial's record is written to the trial cache by the worker itself (atomically) before the
 * main thread hears of it, so a run killed at any moment loses only the trials in flight.
 *
 * Frozen models, task suites and corpus statistics are loaded once per worker and reused across trials.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '../src/backend.js';
import { loadCheckpoint } from '../src/checkpoint.js';
import type { GPT2 } from '../src/model.js';
import type { TrialEnvironment } from '../src/results.js';
import '../methods/index.js';
import { buildTaskSuite, findTask, type Task } from '../datasets/tasks.js';
import { writeTrialRecord } from './trial_cache.js';
import { ensurePretrained, frequentTokensOf, profileCorpusConfig, resolveProfile } from './pretrain.js';
import { runTrial } from './trial.js';
import type { MainMessage, WorkerMessage, WorkerSetup } from './worker_protocol.js';

const port = parentPort;
if (port === null) throw new Error('experiments/worker.js must run as a worker thread');
const setup = workerData as WorkerSetup;
const send = (message: WorkerMessage): void => port.postMessage(message);

const models = new Map<string, GPT2>();
const suites = new Map<string, Task[]>();
const frequencies = new Map<string, readonly number[]>();
let environment: TrialEnvironment | null = null;

async function start(): Promise<void> {
  const backend = await initBackend(setup.backend);
  environment = { ...setup.environment, backend: backend.name, versions: backend.versions };
  send({ type: 'ready', backend: backend.name });
}

async function handle(message: MainMessage): Promise<void> {
  if (message.type === 'exit') {
    for (const model of models.values()) model.dispose();
    process.exit(0);
  }
  if (message.type === 'pretrain') {
    const { preset, profile, seed, steps, cacheDir } = message;
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
    send({
      type: 'pretrained',
      preset,
      info: { preset, parameters: trained.parameters, steps: trained.steps, heldOutLoss: trained.heldOutLoss, controlHeldOutLoss: control.heldOutLoss, trainingSeconds: trained.trainingSeconds },
      dir: trained.dir,
    });
    return;
  }
  const { planned, modelDir, trialCacheDir } = message;
  const config = planned.config;
  let base = models.get(modelDir);
  if (base === undefined) {
    base = (await loadCheckpoint(modelDir)).model;
    models.set(modelDir, base);
  }
  // One task at a time: split sizes that fit one task may not fit another of the same world.
  const suiteKey = JSON.stringify([config.pretrainSeed, config.data, config.task]);
  let suite = suites.get(suiteKey);
  if (suite === undefined) {
    const { worldSize, townCount, train, dev, test } = config.data;
    suite = buildTaskSuite({ seed: config.pretrainSeed, worldSize, townCount, sizes: { train, dev, test }, tasks: [config.task] });
    suites.set(suiteKey, suite);
  }
  const corpusKey = JSON.stringify([config.profile, config.pretrainSeed]);
  let frequentTokens = frequencies.get(corpusKey);
  if (frequentTokens === undefined) {
    frequentTokens = frequentTokensOf(profileCorpusConfig(resolveProfile(config.profile), config.pretrainSeed));
    frequencies.set(corpusKey, frequentTokens);
  }
  if (environment === null) throw new Error('worker: a trial arrived before the backend was ready');
  let lastReport = 0;
  const record = runTrial(config, planned.key, planned.sweeps, { base, task: findTask(suite, config.task), frequentTokens, environment }, {
    onStep: ({ step, steps, loss }) => {
      const now = Date.now();
      if (now - lastReport > 1000 || step === steps) {
        lastReport = now;
        send({ type: 'trial-progress', key: planned.key, step, steps, loss });
      }
    },
  });
  await writeTrialRecord(trialCacheDir, record);
  send({ type: 'trial-done', record });
}

// Jobs run one at a time, in arrival order.
let queue: Promise<void> = start().catch((error: unknown) => send({ type: 'error', job: null, ...errorText(error) }));
port.on('message', (message: MainMessage) => {
  queue = queue.then(() =>
    handle(message).catch((error: unknown) => send({ type: 'error', job: message.type === 'trial' ? message.planned.key : message.type === 'pretrain' ? `pretrain:${message.preset}` : null, ...errorText(error) })),
  );
});

function errorText(error: unknown): { message: string; stack: string } {
  return error instanceof Error ? { message: error.message, stack: error.stack ?? '' } : { message: String(error), stack: '' };
}
