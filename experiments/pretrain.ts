/**
 * `peftscale pretrain`: pretrains the small presets of a profile on the generated world corpus and caches
 * them, so experiments get frozen models that already know things (Lester et al.'s premise). Also saves,
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
 * A finished folder is reused (and says so); an unfinished one resumes from its last checkpoint. A
 * finished folder whose files are damaged is an error telling the user to delete it (never silently
 * retrained: pretraining can take hours and damage means something outside went wrong).
 */
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { activeBackend, describeBackend, initBackend } from '../src/backend.js';
import { booleanFlag, formatFlags, numberFlag, parseArgs, stringFlag, type FlagSpec } from '../src/cli_args.js';
import { findPreset, PRESETS, unknownNameMessage, type ModelConfig } from '../src/config.js';
import { GPT2 } from '../src/model.js';
import { countParameters, modelParameterSpecs } from '../src/params.js';
import { readPretrainedSummary, savePretrainedModel } from '../src/pretrain_checkpoint.js';
import { heldOutLoss } from '../src/pretrain_data.js';
import { pretrain } from '../src/pretrain_loop.js';
import { resolveSchedule, type PretrainSchedule, type PretrainScheduleInput } from '../src/pretrain_schedule.js';
import { formatDuration, Progress } from '../src/progress.js';
import { hashString } from '../src/random.js';
import { ByteTokenizer } from '../src/tokenizer.js';
import type { CapabilityGates } from '../src/results.js';
import { buildCorpus, corpusFingerprint, type Corpus, type CorpusConfig } from '../datasets/corpus.js';
import { withFileLock } from './file_lock.js';
import { ensureGates, formatGates } from './gates.js';

/** Test examples per task and probe that the gates score when a profile does not say. */
export const DEFAULT_GATE_EXAMPLES = 48;

/**
 * The capability gates of a finished pretrained model and its control (experiments/gates.ts): read from
 * the model's folder, or computed there now (also for models cached before gates existed).
 */
export async function gatesOf(trained: EnsuredModel, control: EnsuredModel, profile: PretrainProfileName | PretrainProfile, log: (message: string) => void): Promise<CapabilityGates> {
  const examples = resolveProfile(profile).gateExamples ?? DEFAULT_GATE_EXAMPLES;
  return ensureGates({ dir: trained.dir, controlDir: control.dir, corpus: trained.corpus, examples, log: (message) => log(`${trained.preset}: ${message}`) });
}

/** Bump when a change to the trainer or model code makes old cached models stale. */
export const PRETRAIN_CODE_VERSION = 1;
export const DEFAULT_CACHE_DIR = path.join('.cache', 'peftscale', 'models');
export const PROFILE_NAMES = ['quick', 'scaling', 'full'] as const;
export type PretrainProfileName = (typeof PROFILE_NAMES)[number];

/** What a profile pretrains, on which corpus, with which budget. */
export interface PretrainProfile {
  name: string;
  description: string;
  /** The world and corpus (tasks must use the same worldSize and townCount; the seed comes from --seed). */
  corpus: Omit<CorpusConfig, 'seed'> & { worldSize: number; townCount: number };
  /** Presets pretrained by default, smallest first. */
  presets: readonly string[];
  /** The training budget of a preset. */
  schedule(preset: string): PretrainScheduleInput;
  /** Checkpoint every this many steps. */
  checkpointEvery: number;
  /** Documents per held-out batch. */
  evalBatchSize: number;
  /** Test examples per task (at most) that the capability gates score, on the model and on its control; default 48. */
  gateExamples?: number;
}

/**
 * quick: measured on a 2-core machine with the wasm backend, 2048 tokens per step: 240 steps of the three
 * presets take about 3.5 to 4.5 minutes in all. Every preset sees the same batches, so the size comparison
 * is fair. T is the whole 256-token context (B 8 × T 256 rather than 16 × 128, for about the same cost):
 * prompt tuning puts its virtual tokens first, so with 100 of them a task row (≤ 80 bytes) sits at
 * positions 100–180, whose position embeddings a 128-token pretraining would never have trained.
 */
const QUICK: PretrainProfile = {
  name: 'quick',
  description: 'ps-nano, ps-micro, ps-mini; 240 steps of 8 × 256 tokens each (~4 min on 2 CPU cores, wasm)',
  corpus: { worldSize: 120, townCount: 8, corpusBytes: 300_000, heldoutBytes: 12_000 },
  presets: ['ps-nano', 'ps-micro', 'ps-mini'],
  schedule: (preset) => ({
    steps: 240,
    batchSize: 8,
    sequenceLength: 256,
    learningRate: QUICK_LEARNING_RATES[preset] ?? 2e-3,
    warmupSteps: 20,
    finalLearningRateFraction: 0.1,
  }),
  checkpointEvery: 50,
  evalBatchSize: 32,
  // Few: the quick run must stay within 15 minutes; intervals over 32 examples are wide (±17 points).
  gateExamples: 32,
};
const QUICK_LEARNING_RATES: Record<string, number> = { 'ps-nano': 3e-3, 'ps-micro': 3e-3, 'ps-mini': 2.5e-3, 'ps-small': 2e-3 };

/**
 * scaling: four presets spanning 20x in parameters (42K to 859K), long enough for the in-context skills
 * to appear (the notes' pilot: lookup 0.40 on ps-micro and 0.77 on ps-mini after 3,000 steps of 8 × 256).
 * A bigger world (600 characters) so the recall task has 150 test characters. Every preset sees the same
 * batches. Cost: ps-small is about 14 GFLOP a step, 3,000 steps ≈ 30 min with the native backend (~25
 * GFLOP/s a worker) and ≈ 75 min on wasm; the four presets in all ≈ 50 min of one worker, native.
 */
const SCALING: PretrainProfile = {
  name: 'scaling',
  description: 'ps-nano, ps-micro, ps-mini, ps-small (20x); 3000 steps of 8 × 256 tokens each (~30 min on 2 CPU cores, native backend)',
  // skillShare 0.9 (not the default 0.5): with 0.5 no preset learnt the lookup skill in 3,000 steps (ps-small's
  // probe 17.7%, chance 16.7%; README), while the notes' lookup-heavy pilot reached 0.36 on ps-mini after
  // 1,200 steps. 0.9 puts lookup at 45% of the filler (was 25%), set from the gates alone, before any
  // downstream score of this corpus was seen.
  corpus: { worldSize: 600, townCount: 8, corpusBytes: 3_000_000, heldoutBytes: 60_000, skillShare: 0.9 },
  presets: ['ps-nano', 'ps-micro', 'ps-mini', 'ps-small'],
  schedule: (preset) => ({
    steps: 3000,
    batchSize: 8,
    sequenceLength: 256,
    learningRate: QUICK_LEARNING_RATES[preset] ?? 2e-3,
    warmupSteps: 100,
    finalLearningRateFraction: 0.1,
  }),
  checkpointEvery: 250,
  evalBatchSize: 32,
  gateExamples: 96,
};

/** full: every ps-* preset, the full 256-token context, much longer (hours; meant for a bigger machine). */
const FULL: PretrainProfile = {
  name: 'full',
  description: 'every ps-* preset; 6000 steps of 32 × 256 tokens (hours; a bigger machine)',
  corpus: { worldSize: 1000, townCount: 8, corpusBytes: 8_000_000, heldoutBytes: 100_000 },
  presets: ['ps-nano', 'ps-micro', 'ps-mini', 'ps-small', 'ps-base', 'ps-large'],
  schedule: (preset) => ({
    steps: 6000,
    batchSize: 32,
    sequenceLength: 256,
    learningRate: FULL_LEARNING_RATES[preset] ?? 1e-3,
    warmupSteps: 300,
    finalLearningRateFraction: 0.1,
    weightDecay: 0.01,
  }),
  checkpointEvery: 250,
  evalBatchSize: 32,
  gateExamples: 240,
};
const FULL_LEARNING_RATES: Record<string, number> = {
  'ps-nano': 3e-3,
  'ps-micro': 2e-3,
  'ps-mini': 1.5e-3,
  'ps-small': 1e-3,
  'ps-base': 8e-4,
  'ps-large': 6e-4,
};

export const PRETRAIN_PROFILES: Readonly<Record<PretrainProfileName, PretrainProfile>> = { quick: QUICK, scaling: SCALING, full: FULL };

/** A profile by name (unknown names suggest the nearest), or a custom profile object as is. */
export function resolveProfile(profile: PretrainProfileName | string | PretrainProfile): PretrainProfile {
  if (typeof profile !== 'string') return profile;
  const found = (PRETRAIN_PROFILES as Record<string, PretrainProfile | undefined>)[profile];
  if (found === undefined) throw new Error(unknownNameMessage('pretraining profile', profile, PROFILE_NAMES));
  return found;
}

/** The corpus config of a profile and seed: also the world the task suite must be built from. */
export function profileCorpusConfig(profile: PretrainProfileName | PretrainProfile, seed: number): CorpusConfig {
  return { ...resolveProfile(profile).corpus, seed };
}

const corpora = new Map<string, Corpus>();

/** Builds (once per process) the corpus of a config. */
function corpusFor(config: CorpusConfig): Corpus {
  const fingerprint = corpusFingerprint(config);
  let corpus = corpora.get(fingerprint);
  if (corpus === undefined) {
    corpus = buildCorpus(config);
    corpora.set(fingerprint, corpus);
  }
  return corpus;
}

/**
 * Token ids from most to least frequent in a corpus's training text (ties: lower id first): the
 * "5,000 most common tokens" of Lester et al.'s sampled-vocabulary initialisation.
 */
export function frequentTokensOf(config: CorpusConfig): number[] {
  const tokenizer = new ByteTokenizer();
  const counts = new Map<number, number>();
  for (const text of corpusFor(config).train) for (const id of tokenizer.encode(text)) counts.set(id, (counts.get(id) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0]).map(([id]) => id);
}

/** Which model to locate or pretrain. */
export interface PretrainedModelSpec {
  preset: string;
  profile: PretrainProfileName | PretrainProfile;
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
  const profile = resolveProfile(spec.profile);
  const config = findPreset(spec.preset).config;
  const input = profile.schedule(spec.preset);
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
 * Returns the cached model of a preset, profile and seed, pretraining it first if needed (resuming an
 * interrupted run). With `control`, the never-trained model (same initial weights) saved the same way.
 * Holds `<folder>.lock` meanwhile: processes that share the cache (shards of a Slurm array) never write
 * one folder at once; the others wait, then reuse what the first finished.
 */
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
  const profile = resolveProfile(options.profile);
  const seed = options.seed ?? 0;
  const log = options.log ?? ((message: string): void => void process.stderr.write(`${message}\n`));
  const kind = options.control === true ? 'control' : 'pretrained';
  const dir = pretrainedModelDir(options);
  const config = findPreset(options.preset).config;
  const corpusConfig = profileCorpusConfig(profile, seed);
  const fingerprint = corpusFingerprint(corpusConfig);
  const parameters = countParameters(modelParameterSpecs(config));
  const base = { dir, preset: options.preset, kind, config, parameters, corpusFingerprint: fingerprint, corpus: corpusConfig } as const;

  const existing = await readPretrainedSummary(dir, { verify: true });
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

// ---------------------------------------------------------------------------------------------------
// The command

export const PRETRAIN_FLAGS: readonly FlagSpec[] = [
  { name: 'profile', type: 'string', description: `what to pretrain: ${PROFILE_NAMES.join(' or ')}`, default: 'quick' },
  { name: 'model', type: 'string', description: 'only this preset (any ps-* preset, even outside the profile)' },
  { name: 'seed', type: 'integer', description: 'seed of the world, corpus, initial weights and batch order', default: 0 },
  { name: 'steps', type: 'integer', description: "override the profile's steps per preset" },
  { name: 'backend', type: 'string', description: 'tensorflow, wasm, cpu or auto (default: $PEFTSCALE_BACKEND, else auto)' },
  { name: 'cache', type: 'string', description: 'cache folder for models', default: DEFAULT_CACHE_DIR },
  { name: 'json', type: 'boolean', description: 'print the result table as JSON on stdout' },
  { name: 'help', type: 'boolean', description: 'show this help' },
];

/** One row of the result table. */
export interface PretrainTableRow {
  preset: string;
  parameters: number;
  steps: number;
  heldOutLoss: number;
  controlHeldOutLoss: number;
  status: EnsuredModel['status'];
  trainingSeconds: number;
  dir: string;
  /** Absent when pretraining stopped before the end. */
  gates?: CapabilityGates;
}

/** Warnings when held-out loss does not fall as presets grow, or pretraining does not beat the control. */
export function scalingWarnings(rows: readonly PretrainTableRow[]): string[] {
  const warnings: string[] = [];
  const sorted = [...rows].sort((a, b) => a.parameters - b.parameters);
  for (let i = 1; i < sorted.length; i++) {
    const [smaller, larger] = [sorted[i - 1], sorted[i]];
    if (!(larger.heldOutLoss < smaller.heldOutLoss)) {
      warnings.push(
        `held-out loss does not fall with size: ${larger.preset} (${larger.parameters} params) ${larger.heldOutLoss.toFixed(4)} ≥ ` +
          `${smaller.preset} (${smaller.parameters} params) ${smaller.heldOutLoss.toFixed(4)}; the training budget or the world is wrong for a scaling study`,
      );
    }
  }
  for (const row of rows) {
    if (!(row.heldOutLoss < row.controlHeldOutLoss)) {
      warnings.push(`${row.preset}: pretrained held-out loss ${row.heldOutLoss.toFixed(4)} is not below the never-trained control's ${row.controlHeldOutLoss.toFixed(4)}`);
    }
  }
  return warnings;
}

/** The table as text. */
export function formatPretrainTable(rows: readonly PretrainTableRow[]): string {
  const header = ['preset', 'params', 'steps', 'held-out loss', 'control loss', 'status', 'train time'];
  const body = rows.map((r) => [r.preset, r.parameters.toLocaleString('en-US'), String(r.steps), r.heldOutLoss.toFixed(4), r.controlHeldOutLoss.toFixed(4), r.status, formatDuration(r.trainingSeconds)]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells: string[]): string => cells.map((cell, i) => (i === 0 || i === 5 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** `peftscale pretrain [--profile quick|full] [--model NAME] [--seed N] [--steps N] [--backend B] [--cache DIR] [--json]`. */
export async function runPretrain(argv: string[]): Promise<void> {
  const args = parseArgs(argv, PRETRAIN_FLAGS, 'pretrain');
  if (booleanFlag(args, 'help')) {
    process.stdout.write(`usage: peftscale pretrain [flags]\n\nPretrains the small presets on the generated world corpus and caches them.\n\n${formatFlags(PRETRAIN_FLAGS)}\n`);
    return;
  }
  if (args.positionals.length > 0) throw new Error(`pretrain: unexpected argument(s) ${args.positionals.join(' ')}; see --help`);
  const profile = resolveProfile(stringFlag(args, 'profile') ?? 'quick');
  const seed = numberFlag(args, 'seed') ?? 0;
  const steps = numberFlag(args, 'steps');
  if (steps !== undefined && steps < 1) throw new Error(`pretrain: --steps = ${steps}: allowed: an integer ≥ 1`);
  const cacheDir = stringFlag(args, 'cache') ?? DEFAULT_CACHE_DIR;
  const json = booleanFlag(args, 'json');
  const model = stringFlag(args, 'model');
  const presets = model === undefined ? [...profile.presets] : [model];
  for (const preset of presets) pretrainedModelDir({ preset, profile, seed, cacheDir, steps }); // validates names early

  const backend = await initBackend(stringFlag(args, 'backend'));
  process.stderr.write(`${describeBackend(backend)}\n`);
  const corpusConfig = profileCorpusConfig(profile, seed);
  const fingerprint = corpusFingerprint(corpusConfig);
  process.stderr.write(`profile ${profile.name}: ${profile.description}; corpus ${fingerprint} (world ${corpusConfig.worldSize}, ${corpusConfig.corpusBytes} bytes), seed ${seed}\n`);

  const started = performance.now();
  const rows: PretrainTableRow[] = [];
  for (const preset of presets) {
    const control = await ensurePretrained({ preset, profile, seed, cacheDir, steps, control: true });
    const trained = await ensurePretrained({ preset, profile, seed, cacheDir, steps });
    const gates = trained.finished ? await gatesOf(trained, control, profile, (message) => process.stderr.write(`${message}\n`)) : undefined;
    rows.push({
      gates,
      preset,
      parameters: trained.parameters,
      steps: trained.steps,
      heldOutLoss: trained.heldOutLoss,
      controlHeldOutLoss: control.heldOutLoss,
      status: trained.status,
      trainingSeconds: trained.trainingSeconds,
      dir: trained.dir,
    });
  }
  const wallSeconds = (performance.now() - started) / 1000;
  rows.sort((a, b) => a.parameters - b.parameters);
  const warnings = scalingWarnings(rows);
  const report = {
    profile: profile.name,
    seed,
    corpusFingerprint: fingerprint,
    corpus: corpusConfig,
    backend: backend.name,
    codeVersion: PRETRAIN_CODE_VERSION,
    wallSeconds,
    rows,
    warnings,
  };
  await mkdir(cacheDir, { recursive: true });
  const reportPath = path.join(cacheDir, `pretrain-${profile.name}-s${seed}-c${fingerprint}${model === undefined ? '' : `-${model}`}.json`);
  await writeFile(reportPath, `${JSON.stringify(report, null, 2)}\n`);
  if (json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    process.stdout.write(`\nheld-out corpus loss (nats/token) by preset, profile ${profile.name}, seed ${seed}:\n${formatPretrainTable(rows)}\n`);
    process.stdout.write(`\ncapability gates (zero-shot on test examples, the model beside its never-trained control):\n`);
    for (const row of rows) if (row.gates !== undefined) process.stdout.write(`${formatGates(row.preset, row.gates)}\n`);
    process.stdout.write(`wall time ${formatDuration(wallSeconds)}; table written to ${reportPath}\n`);
  }
  for (const warning of warnings) process.stderr.write(`WARNING: ${warning}\n`);
}
