/**
 * The pretrained model family (what `peftscale pretrain` and the runner's workers ask for): pretrains
 * the small presets of a profile on the generated world corpus and caches them, so experiments get frozen
 * models that already know things (Lester et al.'s premise). Also saves,
 * per preset, a never-trained control (the same seeded initial weights, no training) so reports can show
 * what prompt tuning owes to pretraining.
 *
 * Cache layout (default .cache/peftscale/models/):
 *
 *     <cache>/<preset>/pretrained-c<corpus fingerprint>-s<seed>-b<budget hash>-v<code version>/
 *         model.safetensors, config.json    (loadCheckpoint)
 *         pretrain.json                     (written last: the folder is finished)
 *         gates.json                        (capability gates against the control; computed when missing)
 *         training/                         (resumable checkpoints while unfinished; removed when done)
 *     <cache>/<preset>/control-c<fingerprint>-s<seed>-v<code version>/   (same files, no training)
 *     <cache>/pretrain-<profile>-s<seed>-c<fingerprint>.json             (the held-out loss table)
 *
 * A finished folder is reused (and says so); a model shipped with the repository (shipped_family.ts) is
 * installed into the cache when its files verify; an unfinished one resumes from its last checkpoint. A
 * finished folder whose files are damaged is an error telling the user to delete it (never silently
 * retrained: pretraining can take hours and damage means something outside went wrong).
 */
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { activeBackend } from '../../src/model/backend.js';
import { findPreset, PRESETS, type ModelConfig } from '../../src/model/config.js';
import { GPT2 } from '../../src/model/model.js';
import { countParameters, modelParameterSpecs } from '../../src/model/params.js';
import { readPretrainedSummary, savePretrainedModel } from '../../src/training/pretrain_checkpoint.js';
import { heldOutLoss } from '../../src/training/pretrain_data.js';
import { pretrain } from '../../src/training/pretrain_loop.js';
import { resolveSchedule, type PretrainSchedule } from '../../src/training/pretrain_schedule.js';
import { formatDuration, Progress } from '../../src/util/progress.js';
import { hashString } from '../../src/util/random.js';
import { ByteTokenizer } from '../../src/io/tokenizer.js';
import type { CapabilityGates } from '../../src/results/results.js';
import { corpusFingerprint, type CorpusConfig } from '../../datasets/corpus.js';
import { withFileLock } from '../../src/io/file_lock.js';
import { ensureGates } from './gates.js';
import { installShippedModel, shippedDir } from './shipped_family.js';
import { corpusFor, DEFAULT_GATE_EXAMPLES, profileCorpusConfig, type PretrainProfile } from './pretrain_profiles.js';

/**
 * The capability gates of a finished pretrained model and its control (experiments/pretrain/gates.ts): read from
 * the model's folder, or computed there now (also for models cached before gates existed).
 */
export async function gatesOf(trained: EnsuredModel, control: EnsuredModel, profile: PretrainProfile, log: (message: string) => void): Promise<CapabilityGates> {
  const examples = profile.gateExamples ?? DEFAULT_GATE_EXAMPLES;
  return ensureGates({ dir: trained.dir, controlDir: control.dir, corpus: trained.corpus, examples, log: (message) => log(`${trained.preset}: ${message}`) });
}

/** Bump when a change to the trainer or model code makes old cached models stale. */
export const PRETRAIN_CODE_VERSION = 1;
export const DEFAULT_CACHE_DIR = path.join('.cache', 'peftscale', 'models');

/** Which model to locate or pretrain. */
export interface PretrainedModelSpec {
  preset: string;
  /** Resolved once by the caller (resolveProfile). */
  profile: PretrainProfile;
  /** World, corpus, initial weights and batch order. Default 0. */
  seed?: number;
  /** Default DEFAULT_CACHE_DIR (relative to the working directory). */
  cacheDir?: string;
  /** Override the profile's step count. */
  steps?: number;
  /** The never-trained control instead of the pretrained model. */
  control?: boolean;
}

function resolvedSchedule(spec: PretrainedModelSpec): PretrainSchedule {
  const config = findPreset(spec.preset).config;
  const input = spec.profile.schedule(spec.preset);
  return resolveSchedule(spec.steps === undefined ? input : { ...input, steps: spec.steps, warmupSteps: Math.min(input.warmupSteps ?? spec.steps, Math.floor(spec.steps / 10)) }, config);
}

/** The cache folder of a model (pretrained or control); nothing is created. */
export function pretrainedModelDir(spec: PretrainedModelSpec): string {
  const preset = findPreset(spec.preset);
  if (preset.kind !== 'pretrain') throw new Error(`preset "${spec.preset}" is a published shape, too big to pretrain here; pretrainable: ${pretrainablePresets().join(', ')}`);
  const seed = spec.seed ?? 0;
  const fingerprint = corpusFingerprint(profileCorpusConfig(spec.profile, seed));
  const root = path.join(spec.cacheDir ?? DEFAULT_CACHE_DIR, spec.preset);
  if (spec.control === true) return path.join(root, `control-c${fingerprint}-s${seed}-v${PRETRAIN_CODE_VERSION}`);
  const budget = hashString(JSON.stringify(resolvedSchedule(spec))).toString(16).padStart(8, '0');
  return path.join(root, `pretrained-c${fingerprint}-s${seed}-b${budget}-v${PRETRAIN_CODE_VERSION}`);
}

function pretrainablePresets(): string[] {
  return PRESETS.filter((preset) => preset.kind === 'pretrain').map((preset) => preset.name);
}

export interface EnsurePretrainedOptions extends PretrainedModelSpec {
  /** Show a progress display on stderr (default true). */
  progress?: boolean;
  /** Messages (reused, resumed, saved); default: a line on stderr. */
  log?: (message: string) => void;
  /** Stop after this many steps, as if killed (tests). The result then has finished: false. */
  stopAfterStep?: number;
  /** Called after every pretraining step (for a display elsewhere, e.g. the experiment runner's). */
  onStep?: (step: number, steps: number) => void;
  /** Where shipped models are looked for (shipped_family.ts); null: never. Default shippedDir(). */
  shippedDir?: string | null;
}

/** A model folder ready to load with loadCheckpoint (or, with finished false, a stopped pretraining). */
export interface EnsuredModel {
  dir: string;
  preset: string;
  kind: 'pretrained' | 'control';
  config: ModelConfig;
  parameters: number;
  heldOutLoss: number;
  /** 'reused' a finished folder, 'trained' from scratch, 'resumed' from a checkpoint, 'stopped' by stopAfterStep. */
  status: 'reused' | 'trained' | 'resumed' | 'stopped';
  finished: boolean;
  steps: number;
  /** Training seconds recorded in the folder (all sessions). */
  trainingSeconds: number;
  corpusFingerprint: string;
  /** The world the model knows: build the task suite from it. */
  corpus: CorpusConfig;
}
/**
 * A model folder without pretrain.json is unfinished: only its `training/` state is ours to resume.
 * Anything else there (weights copied in by hand, a finished model whose pretrain.json was deleted) is
 * moved to `<dir>.aside-<time>/` with a warning, never overwritten.
 */
async function setAsideUnfinishedFiles(dir: string, log: (message: string) => void): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return;
  }
  const others = entries.filter((entry) => entry !== 'training');
  if (others.length === 0) return;
  const aside = `${dir}.aside-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  await mkdir(aside, { recursive: true });
  for (const entry of others) await rename(path.join(dir, entry), path.join(aside, entry));
  log(`warning: ${dir} had no pretrain.json (not a finished model); moved ${others.join(', ')} to ${aside} before pretraining`);
}

/**
 * Returns the cached model of a preset, profile and seed, pretraining it first if needed (resuming an
 * interrupted run). With `control`, the never-trained model (same initial weights) saved the same way.
 * Holds `<folder>.lock` meanwhile: processes that share the cache (shards of a Slurm array) never write
 * one folder at once; the others wait, then reuse what the first finished.
 */
export async function ensurePretrained(options: EnsurePretrainedOptions): Promise<EnsuredModel> {
  const dir = pretrainedModelDir(options);
  // A finished folder is never written again: reading it needs no lock (many array tasks reuse one model).
  if ((await readPretrainedSummary(dir)) !== null) return await ensurePretrainedLocked(options);
  await mkdir(path.dirname(dir), { recursive: true });
  const log = options.log ?? ((message: string): void => void process.stderr.write(`${message}\n`));
  const locked = (heartbeat: () => void): Promise<EnsuredModel> =>
    ensurePretrainedLocked({
      ...options,
      // Steps compute synchronously for long stretches: the lock's heartbeat rides on them.
      onStep: (step, steps) => {
        heartbeat();
        options.onStep?.(step, steps);
      },
    });
  return await withFileLock(`${dir}.lock`, locked, { onWait: (message) => log(`${options.preset}: ${message}`) });
}

async function ensurePretrainedLocked(options: EnsurePretrainedOptions): Promise<EnsuredModel> {
  const profile = options.profile;
  const seed = options.seed ?? 0;
  const log = options.log ?? ((message: string): void => void process.stderr.write(`${message}\n`));
  const kind = options.control === true ? 'control' : 'pretrained';
  const dir = pretrainedModelDir(options);
  const config = findPreset(options.preset).config;
  const corpusConfig = profileCorpusConfig(profile, seed);
  const fingerprint = corpusFingerprint(corpusConfig);
  const parameters = countParameters(modelParameterSpecs(config));
  const base = { dir, preset: options.preset, kind, config, parameters, corpusFingerprint: fingerprint, corpus: corpusConfig } as const;

  let existing = await readPretrainedSummary(dir, { verify: true });
  if (existing === null) {
    // A shipped copy of exactly this model (shipped_family.ts) replaces pretraining when its files verify.
    const installed = await installShippedModel(dir, options.preset, options.shippedDir === undefined ? shippedDir() : options.shippedDir);
    if (installed !== null) {
      log(installed);
      existing = await readPretrainedSummary(dir, { verify: true });
    }
  }
  if (existing !== null) {
    log(`${options.preset}: reusing the finished ${kind} model in ${dir} (held-out loss ${existing.heldOutLoss.toFixed(4)})`);
    const steps = typeof existing.details.steps === 'number' ? existing.details.steps : 0;
    const trainingSeconds = typeof existing.details.trainingSeconds === 'number' ? existing.details.trainingSeconds : 0;
    return { ...base, heldOutLoss: existing.heldOutLoss, status: 'reused', finished: true, steps, trainingSeconds };
  }

  await setAsideUnfinishedFiles(dir, log);
  const corpus = corpusFor(corpusConfig);
  const tokenizer = new ByteTokenizer();
  const heldout = corpus.heldout.map((text) => tokenizer.encode(text));
  const backend = activeBackend()?.name ?? 'unknown';
  const details = { preset: options.preset, profile: profile.name, seed, corpusFingerprint: fingerprint, backend, codeVersion: PRETRAIN_CODE_VERSION };

  if (kind === 'control') {
    const model = GPT2.initialize(config, seed);
    try {
      const loss = heldOutLoss(model, heldout, { batchSize: profile.evalBatchSize });
      await savePretrainedModel(dir, model, { kind, parameters, heldOutLoss: loss.loss, heldOutTokens: loss.tokens, details: { ...details, steps: 0, trainingSeconds: 0 } }, { seed, preset: options.preset, steps: 0 });
      log(`${options.preset}: saved the never-trained control in ${dir} (held-out loss ${loss.loss.toFixed(4)})`);
      return { ...base, heldOutLoss: loss.loss, status: 'trained', finished: true, steps: 0, trainingSeconds: 0 };
    } finally {
      model.dispose();
    }
  }

  const schedule = resolvedSchedule(options);
  const trainingDir = path.join(dir, 'training');
  let display: Progress | null = null;
  const result = await pretrain({
    config,
    seed,
    schedule,
    train: corpus.train.map((text) => tokenizer.encode(text)),
    heldout,
    evalBatchSize: profile.evalBatchSize,
    checkpointDir: trainingDir,
    checkpointEvery: profile.checkpointEvery,
    stopAfterStep: options.stopAfterStep,
    onLog: (message) => (display === null ? log(`${options.preset}: ${message}`) : display.line(`${options.preset}: ${message}`)),
    onProgress: (p) => {
      options.onStep?.(p.step, p.totalSteps);
      if (options.progress === false) return;
      // Created at the first step, so a resumed run's rate counts only this session's steps.
      display ??= new Progress({ label: options.preset, total: p.totalSteps, unit: 'step', startDone: p.step - 1, elapsedSeconds: p.elapsedSeconds });
      display.update(p.step, { loss: p.smoothedLoss, lr: p.learningRate, 'tok/s': Math.round(p.tokensPerSecond) });
    },
  });
  const finalDisplay = display as Progress | null;
  try {
    finalDisplay?.done({ loss: result.lastLoss, 'held-out': result.heldOut?.loss ?? NaN });
    if (!result.completed || result.heldOut === null) {
      log(`${options.preset}: stopped at step ${result.step}/${schedule.steps}; run again to resume from the last checkpoint in ${trainingDir}`);
      return { ...base, heldOutLoss: NaN, status: 'stopped', finished: false, steps: result.step, trainingSeconds: result.trainingSeconds };
    }
    const summaryDetails = {
      ...details,
      steps: result.step,
      trainTokens: result.trainTokens,
      trainingSeconds: result.trainingSeconds,
      lastLoss: result.lastLoss,
      schedule: { ...schedule },
      lossCurve: result.lossCurve,
      corpusStats: { ...corpus.stats },
    };
    await savePretrainedModel(dir, result.model, { kind, parameters, heldOutLoss: result.heldOut.loss, heldOutTokens: result.heldOut.tokens, details: summaryDetails }, { seed, preset: options.preset, steps: result.step });
    // The finished model is saved: the resumable state (2× the model in optimizer moments) is no longer needed.
    await rm(trainingDir, { recursive: true, force: true });
    log(`${options.preset}: saved the pretrained model in ${dir} (held-out loss ${result.heldOut.loss.toFixed(4)}, ${formatDuration(result.trainingSeconds)} of training)`);
    return {
      ...base,
      heldOutLoss: result.heldOut.loss,
      status: result.resumedFrom === null ? 'trained' : 'resumed',
      finished: true,
      steps: result.step,
      trainingSeconds: result.trainingSeconds,
    };
  } finally {
    result.model.dispose();
  }
}
