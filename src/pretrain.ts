/**
 * Causal-LM pretraining of one GPT2 config on tokenized documents. Generic: it knows nothing of the
 * datasets; callers hand it token arrays.
 *
 * Data: every training document gets <|endoftext|> appended and all are concatenated into one stream.
 * A batch row is `sequenceLength` consecutive tokens of the stream starting at the first token of a
 * document drawn at random (the stream wraps around), so rows are packed (no padding, every position is a
 * target) and every row starts where a document starts, as task prompts do downstream.
 *
 * Determinism: the initial weights come from `seed` (JS-side, backend independent) and the rows of step
 * `s` from a Random stream named after `s`, so a batch is a pure function of (seed, step): the "RNG
 * position" to checkpoint is the step number itself. The optimiser is AdamW (adamw.ts) with bias
 * corrections from the step number, and its moments are plain tensors we save and restore exactly. On one
 * backend, a resumed run therefore repeats the uninterrupted run bit for bit (tested).
 *
 * Optimiser: AdamW (β1 0.9, β2 0.95), linear warmup then cosine decay to `finalLearningRateFraction` of
 * the peak, gradients clipped to a global norm, optional decoupled weight decay on matrices.
 *
 * Checkpoints (when `checkpointDir` is given), every `checkpointEvery` steps and at the last step:
 *
 *     checkpointDir/latest.json              {"step": 200, "folder": "step-00000200", ...}
 *     checkpointDir/step-00000200/model.safetensors, config.json    (saveCheckpoint)
 *                                /optimizer.safetensors             (Adam m and v, "m.NAME", "v.NAME")
 *                                /state.json                        (step, seed, schedule, data hash, losses)
 *
 * A step folder is written completely under a temporary name, renamed, and only then does latest.json
 * (written atomically) point to it; older step folders are deleted after that. A kill at any moment
 * therefore leaves latest.json pointing at a complete folder (or no latest.json: a fresh start). Leftover
 * temporary folders are ignored and removed. A folder that latest.json points to but that is damaged (which
 * a kill cannot cause) is an error naming the file and telling the user to delete the checkpoint folder.
 */
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { AdamW, clipByGlobalNorm } from './adamw.js';
import { loadCheckpoint, loadWeights, saveCheckpoint, saveTensors, type CheckpointMetadata, type JsonValue } from './checkpoint.js';
import { definedOnly, validateModelConfig, type ModelConfig } from './config.js';
import { GPT2 } from './model.js';
import { countParameters, modelParameterSpecs } from './params.js';
import { Random } from './random.js';
import { writeFileAtomic } from './safetensors.js';
import { SPECIAL_TOKENS } from './tokenizer.js';

/** Identifies the files of a pretraining checkpoint; bump the version when their layout changes. */
export const PRETRAIN_STATE_FORMAT = 'peftscale-pretrain-state';
export const PRETRAIN_STATE_VERSION = 1;
export const LATEST_FILE = 'latest.json';
export const STATE_FILE = 'state.json';
export const OPTIMIZER_FILE = 'optimizer.safetensors';
/** Written last into a finished model folder: its presence means the folder is complete. */
export const PRETRAINED_FILE = 'pretrain.json';

/** The training budget and optimiser settings. */
export interface PretrainSchedule {
  /** Optimiser steps in all. */
  steps: number;
  /** Rows per batch. */
  batchSize: number;
  /** Tokens per row (≤ the model's context length). */
  sequenceLength: number;
  /** Peak learning rate (reached after warmup). */
  learningRate: number;
  /** Linear warmup steps from 0 to the peak. */
  warmupSteps: number;
  /** Cosine decay ends at this fraction of the peak (default 0.1). */
  finalLearningRateFraction: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** Decoupled (AdamW) weight decay on rank ≥ 2 tensors; 0 = off (default). */
  weightDecay: number;
  /** Clip gradients to this global L2 norm; 0 = off (default 1). */
  gradientClip: number;
}

/** A schedule where only the budget is required; the rest have defaults. */
export type PretrainScheduleInput = Pick<PretrainSchedule, 'steps' | 'batchSize' | 'sequenceLength' | 'learningRate'> & Partial<PretrainSchedule>;

/** Fills in defaults and validates (each problem names the field, value and what is allowed). */
export function resolveSchedule(input: PretrainScheduleInput, config?: ModelConfig): PretrainSchedule {
  const schedule: PretrainSchedule = {
    warmupSteps: Math.min(100, Math.floor(input.steps / 10)),
    finalLearningRateFraction: 0.1,
    beta1: 0.9,
    beta2: 0.95,
    epsilon: 1e-8,
    weightDecay: 0,
    gradientClip: 1,
    ...definedOnly(input),
  } as PretrainSchedule;
  const problems: string[] = [];
  const integer = (field: keyof PretrainSchedule, min: number): void => {
    const value = schedule[field];
    if (!Number.isInteger(value) || value < min) problems.push(`${field} = ${JSON.stringify(value)}: must be an integer ≥ ${min}`);
  };
  const number = (field: keyof PretrainSchedule, ok: (v: number) => boolean, allowed: string): void => {
    const value = schedule[field];
    if (typeof value !== 'number' || !Number.isFinite(value) || !ok(value)) problems.push(`${field} = ${JSON.stringify(value)}: must be ${allowed}`);
  };
  integer('steps', 1);
  integer('batchSize', 1);
  integer('sequenceLength', 2);
  integer('warmupSteps', 0);
  number('learningRate', (v) => v > 0, 'a number > 0');
  number('finalLearningRateFraction', (v) => v >= 0 && v <= 1, 'in [0, 1]');
  number('beta1', (v) => v >= 0 && v < 1, 'in [0, 1)');
  number('beta2', (v) => v >= 0 && v < 1, 'in [0, 1)');
  number('epsilon', (v) => v > 0, 'a number > 0');
  number('weightDecay', (v) => v >= 0, 'a number ≥ 0');
  number('gradientClip', (v) => v >= 0, 'a number ≥ 0 (0 = off)');
  if (config !== undefined && schedule.sequenceLength > config.contextLength) {
    problems.push(`sequenceLength = ${schedule.sequenceLength}: must be ≤ the model's context length ${config.contextLength}`);
  }
  if (problems.length > 0) throw new Error(`invalid pretraining schedule:\n  ${problems.join('\n  ')}`);
  return schedule;
}

/** The learning rate of 0-based step `step`: linear warmup, then cosine decay to the final fraction. */
export function learningRateAt(step: number, schedule: PretrainSchedule): number {
  const { learningRate: peak, warmupSteps, steps, finalLearningRateFraction: fraction } = schedule;
  if (step < warmupSteps) return (peak * (step + 1)) / (warmupSteps + 1);
  const decaySteps = Math.max(1, steps - warmupSteps - 1);
  const progress = Math.min(1, (step - warmupSteps) / decaySteps);
  return peak * (fraction + (1 - fraction) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}

// ---------------------------------------------------------------------------------------------------
// Data

/** Training documents as one stream: each document followed by <|endoftext|>. */
export interface TokenStream {
  tokens: Int32Array;
  /** Offset of each document's first token in `tokens`. */
  starts: Int32Array;
  /** FNV-1a hash of the tokens (hex), to refuse resuming on different data. */
  hash: string;
}

/** Concatenates documents (each gets <|endoftext|>); ids must be inside the vocabulary. */
export function buildTokenStream(documents: readonly (readonly number[])[], vocabSize: number): TokenStream {
  if (documents.length === 0) throw new Error('pretraining needs at least one training document');
  const total = documents.reduce((sum, doc) => sum + doc.length + 1, 0);
  const tokens = new Int32Array(total);
  const starts = new Int32Array(documents.length);
  let offset = 0;
  let hash = 0x811c9dc5;
  documents.forEach((doc, index) => {
    starts[index] = offset;
    for (const id of doc) {
      if (!Number.isInteger(id) || id < 0 || id >= vocabSize) throw new Error(`training document ${index}: token id ${id} is outside the vocabulary [0, ${vocabSize})`);
      tokens[offset++] = id;
    }
    tokens[offset++] = SPECIAL_TOKENS.endOfText;
  });
  for (let i = 0; i < tokens.length; i++) hash = Math.imul(hash ^ tokens[i], 0x01000193);
  return { tokens, starts, hash: `${(hash >>> 0).toString(16).padStart(8, '0')}-${tokens.length}` };
}

/** The token rows [batchSize × sequenceLength] of 0-based step `step`: a pure function of (seed, step). */
export function batchRows(stream: TokenStream, seed: number, step: number, batchSize: number, sequenceLength: number): Int32Array {
  const random = new Random(seed, `pretrain:batch:${step}`);
  const rows = new Int32Array(batchSize * sequenceLength);
  const n = stream.tokens.length;
  for (let row = 0; row < batchSize; row++) {
    const start = stream.starts[random.int(stream.starts.length)];
    for (let t = 0; t < sequenceLength; t++) rows[row * sequenceLength + t] = stream.tokens[(start + t) % n];
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------------
// Held-out loss

/** Mean next-token loss over every target token of the documents, and how many targets that was. */
export interface HeldOutLoss {
  loss: number;
  tokens: number;
  documents: number;
}

/**
 * Mean token loss over held-out documents, each evaluated on its own from position 0 (document +
 * <|endoftext|>, truncated to the context): the mean over every predicted token, not over documents.
 * No-grad forward passes in batches of `batchSize` documents of similar length, padded with <|pad|>,
 * which the loss mask keeps from ever being a target.
 */
export function heldOutLoss(model: GPT2, documents: readonly (readonly number[])[], options: { batchSize?: number } = {}): HeldOutLoss {
  const batchSize = options.batchSize ?? 16;
  const context = model.config.contextLength;
  const rows = documents.map((doc) => [...doc, SPECIAL_TOKENS.endOfText].slice(0, context)).filter((row) => row.length >= 2);
  if (rows.length === 0) throw new Error('heldOutLoss: no held-out document has a token to predict');
  // Sorting by length keeps padding (wasted work) small; the result does not depend on the order.
  const order = rows.map((_, i) => i).sort((a, b) => rows[a].length - rows[b].length || a - b);
  let sum = 0;
  let count = 0;
  for (let first = 0; first < order.length; first += batchSize) {
    const batch = order.slice(first, first + batchSize).map((i) => rows[i]);
    const width = Math.max(...batch.map((row) => row.length));
    const ids = new Int32Array(batch.length * width).fill(SPECIAL_TOKENS.pad);
    const mask = new Float32Array(batch.length * width);
    batch.forEach((row, r) => {
      ids.set(row, r * width);
      mask.fill(1, r * width, r * width + row.length);
    });
    const targets = batch.reduce((total, row) => total + row.length - 1, 0);
    const mean = tf.tidy(() => {
      const tokens = tf.tensor2d(ids, [batch.length, width], 'int32'); // [B, W]
      const lossMask = tf.tensor2d(mask, [batch.length, width], 'float32'); // [B, W]: 1 = real token
      return model.languageModelLoss(tokens, { lossMask });
    });
    sum += mean.dataSync()[0] * targets;
    mean.dispose();
    count += targets;
  }
  return { loss: sum / count, tokens: count, documents: rows.length };
}

// ---------------------------------------------------------------------------------------------------
// Training

/** What the progress callback receives after every step. */
export interface PretrainProgress {
  /** Steps completed. */
  step: number;
  totalSteps: number;
  /** Loss of the step just taken (before its update). */
  loss: number;
  /** Exponential moving average of the loss (smooths batch noise for display). */
  smoothedLoss: number;
  learningRate: number;
  /** Training tokens per second in this process (excludes checkpoint saves and evaluation). */
  tokensPerSecond: number;
  /** Seconds since this process started (or resumed) training. */
  elapsedSeconds: number;
  /** Estimated seconds left, from this process's step rate. */
  etaSeconds: number;
  /** Set on steps where held-out loss was evaluated (evalEvery). */
  heldOutLoss?: number;
}

export interface PretrainOptions {
  config: ModelConfig;
  /** Seeds the initial weights and the batch order. */
  seed: number;
  schedule: PretrainScheduleInput;
  /** Training documents as token ids, without <|endoftext|> (appended here). */
  train: readonly (readonly number[])[];
  /** Held-out documents for {@link heldOutLoss} at the end (and every `evalEvery` steps). */
  heldout?: readonly (readonly number[])[];
  /** Documents per held-out batch (default 16). */
  evalBatchSize?: number;
  /** Evaluate held-out loss every this many steps (default 0: only at the end). */
  evalEvery?: number;
  /** Folder for resumable checkpoints; without it nothing is written. */
  checkpointDir?: string;
  /** Checkpoint every this many steps (default: a tenth of the steps); the last step is always saved. */
  checkpointEvery?: number;
  /** Stop after this many steps in all, as if killed (no extra checkpoint): for tests and time slicing. */
  stopAfterStep?: number;
  onProgress?: (progress: PretrainProgress) => void;
  /** Messages worth keeping (resumed from, checkpoint damaged, ...). */
  onLog?: (message: string) => void;
}

export interface PretrainResult {
  /** The trained model; the caller owns it (its weights are the trained tf.Variables). */
  model: GPT2;
  /** Steps completed. */
  step: number;
  /** Whether all `schedule.steps` are done (false when stopped by stopAfterStep). */
  completed: boolean;
  /** The checkpoint step this run resumed from, or null for a fresh start. */
  resumedFrom: number | null;
  schedule: PretrainSchedule;
  parameters: number;
  /** Loss of the last step taken (NaN when no step was taken in this process and none was saved). */
  lastLoss: number;
  /** Held-out loss at the end (null without held-out documents, or when not completed). */
  heldOut: HeldOutLoss | null;
  /** Training seconds over all sessions (resumed runs add up). */
  trainingSeconds: number;
  /** Training tokens seen over all sessions. */
  trainTokens: number;
  /** Sampled (step, loss) points over all sessions, for plots. */
  lossCurve: [number, number][];
}

/** state.json of a step folder. */
export interface TrainingState {
  format: typeof PRETRAIN_STATE_FORMAT;
  formatVersion: number;
  step: number;
  seed: number;
  config: ModelConfig;
  schedule: PretrainSchedule;
  dataHash: string;
  lastLoss: number;
  smoothedLoss: number;
  trainingSeconds: number;
  lossCurve: [number, number][];
}

interface Latest {
  format: typeof PRETRAIN_STATE_FORMAT;
  formatVersion: number;
  step: number;
  folder: string;
}

/**
 * Pretrains a GPT2 of `config` from seeded initial weights, resuming from `checkpointDir` when it holds
 * a checkpoint of the same run (same config, seed, schedule and data; anything else is an error).
 */
export async function pretrain(options: PretrainOptions): Promise<PretrainResult> {
  const config = validateModelConfig(options.config);
  const schedule = resolveSchedule(options.schedule, config);
  const stream = buildTokenStream(options.train, config.vocabSize);
  const specs = modelParameterSpecs(config);
  const checkpointEvery = options.checkpointEvery ?? Math.max(1, Math.round(schedule.steps / 10));
  if (!Number.isInteger(checkpointEvery) || checkpointEvery < 1) throw new Error(`checkpointEvery = ${checkpointEvery}: must be an integer ≥ 1`);
  const log = options.onLog ?? ((): void => undefined);

  // Start: seeded init, or the latest checkpoint of this very run.
  let step = 0;
  let resumedFrom: number | null = null;
  let weights: Map<string, tf.Tensor>;
  let moments: Map<string, tf.Tensor> | null = null;
  let lastLoss = NaN;
  let smoothedLoss = NaN;
  let trainingSeconds = 0;
  let lossCurve: [number, number][] = [];
  const saved = options.checkpointDir === undefined ? null : await readLatestCheckpoint(options.checkpointDir);
  if (saved !== null) {
    const expected = { seed: options.seed, config, schedule, dataHash: stream.hash };
    const differs = (Object.keys(expected) as (keyof typeof expected)[]).filter((key) => JSON.stringify(saved.state[key]) !== JSON.stringify(expected[key]));
    if (differs.length > 0) {
      saved.dispose();
      throw new Error(
        `the checkpoint in ${options.checkpointDir} belongs to a different pretraining run (differs in: ${differs.join(', ')}); ` +
          `use another checkpoint folder or delete this one to start over`,
      );
    }
    step = saved.state.step;
    resumedFrom = step;
    weights = saved.weights;
    moments = saved.moments;
    lastLoss = saved.state.lastLoss;
    smoothedLoss = saved.state.smoothedLoss;
    trainingSeconds = saved.state.trainingSeconds;
    lossCurve = saved.state.lossCurve;
    log(`resuming from the checkpoint at step ${step}/${schedule.steps} in ${options.checkpointDir}`);
  } else {
    weights = new Map(GPT2.initialize(config, options.seed).parameters());
  }

  // Trainable variables hold the weights; the GPT2 reads them directly, so gradients reach them.
  const variables = new Map<string, tf.Variable>();
  const optimizer = createPretrainOptimizer(schedule, step);
  for (const spec of specs) {
    const variable = tf.variable(weights.get(spec.name) as tf.Tensor, true);
    variables.set(spec.name, variable);
    const m = moments?.get(`m.${spec.name}`);
    const v = moments?.get(`v.${spec.name}`);
    if (m !== undefined && v !== undefined) optimizer.restoreMoments(variable, m, v);
  }
  for (const tensor of weights.values()) tensor.dispose();
  if (moments !== null) for (const tensor of moments.values()) tensor.dispose();
  const model = GPT2.fromWeights(config, variables, 'pretraining variables');
  const variableList = [...variables.values()];

  const stopAt = Math.min(schedule.steps, options.stopAfterStep ?? schedule.steps);
  const tokensPerStep = schedule.batchSize * schedule.sequenceLength;
  const curveEvery = Math.max(1, Math.floor(schedule.steps / 200));
  const startStep = step;
  let computeSeconds = 0;
  const sessionStart = performance.now();
  try {
    while (step < stopAt) {
      const t0 = performance.now();
      const learningRate = learningRateAt(step, schedule);
      const rows = batchRows(stream, options.seed, step, schedule.batchSize, schedule.sequenceLength);
      optimizer.learningRate = learningRate;
      lastLoss = trainStepAdamW(model, variableList, optimizer, rows, schedule);
      if (!Number.isFinite(lastLoss)) {
        throw new Error(`pretraining diverged: loss ${lastLoss} at step ${step + 1} (learning rate ${learningRate.toExponential(2)}); lower the learning rate`);
      }
      step++;
      computeSeconds += (performance.now() - t0) / 1000;
      smoothedLoss = Number.isNaN(smoothedLoss) ? lastLoss : 0.95 * smoothedLoss + 0.05 * lastLoss;
      if (step % curveEvery === 0 || step === schedule.steps) lossCurve.push([step, lastLoss]);

      let evaluated: number | undefined;
      const evalEvery = options.evalEvery ?? 0;
      if (evalEvery > 0 && options.heldout !== undefined && step % evalEvery === 0 && step < schedule.steps) {
        evaluated = heldOutLoss(model, options.heldout, { batchSize: options.evalBatchSize }).loss;
      }
      const elapsedSeconds = (performance.now() - sessionStart) / 1000;
      const stepsDone = step - startStep;
      options.onProgress?.({
        step,
        totalSteps: schedule.steps,
        loss: lastLoss,
        smoothedLoss,
        learningRate,
        tokensPerSecond: (stepsDone * tokensPerStep) / Math.max(computeSeconds, 1e-9),
        elapsedSeconds,
        etaSeconds: ((schedule.steps - step) * elapsedSeconds) / stepsDone,
        ...(evaluated === undefined ? {} : { heldOutLoss: evaluated }),
      });

      if (options.checkpointDir !== undefined && (step % checkpointEvery === 0 || step === schedule.steps)) {
        const state: TrainingState = {
          format: PRETRAIN_STATE_FORMAT,
          formatVersion: PRETRAIN_STATE_VERSION,
          step,
          seed: options.seed,
          config,
          schedule,
          dataHash: stream.hash,
          lastLoss,
          smoothedLoss,
          trainingSeconds: trainingSeconds + computeSeconds,
          lossCurve,
        };
        await writeTrainingCheckpoint(options.checkpointDir, model, momentsOf(variables, optimizer), state);
      }
    }
  } catch (error) {
    model.dispose();
    optimizer.dispose();
    throw error;
  }
  optimizer.dispose();
  trainingSeconds += computeSeconds;
  const completed = step >= schedule.steps;
  const heldOut = completed && options.heldout !== undefined ? heldOutLoss(model, options.heldout, { batchSize: options.evalBatchSize }) : null;
  return {
    model,
    step,
    completed,
    resumedFrom,
    schedule,
    parameters: countParameters(specs),
    lastLoss,
    heldOut,
    trainingSeconds,
    trainTokens: step * tokensPerStep,
    lossCurve,
  };
}

/** AdamW as pretraining runs it: bias corrections from the step number, so a resumed run repeats the uninterrupted one. */
function createPretrainOptimizer(schedule: PretrainSchedule, step: number): AdamW {
  const { learningRate, beta1, beta2, epsilon, weightDecay } = schedule;
  return new AdamW({ learningRate, beta1, beta2, epsilon, weightDecay, biasCorrection: 'float64', step });
}

/** The optimiser's moments by parameter name, as the checkpoint stores them: "m.NAME", "v.NAME", in parameter order. */
function momentsOf(variables: ReadonlyMap<string, tf.Variable>, optimizer: AdamW): Map<string, tf.Tensor> {
  const moments = new Map<string, tf.Tensor>();
  for (const [name, variable] of variables) {
    const slot = optimizer.moments(variable);
    if (slot === undefined) throw new Error(`pretraining checkpoint: no optimiser moments for "${name}" yet`);
    moments.set(`m.${name}`, slot.m);
    moments.set(`v.${name}`, slot.v);
  }
  return moments;
}

/** One AdamW step on rows [B, T], gradients clipped to the schedule's global norm; returns the loss before the update. */
function trainStepAdamW(model: GPT2, variableList: tf.Variable[], optimizer: AdamW, rows: Int32Array, schedule: PretrainSchedule): number {
  const tokens = tf.tensor2d(rows, [schedule.batchSize, schedule.sequenceLength], 'int32'); // [B, T]
  const { value, grads } = tf.variableGrads(() => model.languageModelLoss(tokens, { training: true }), variableList);
  tf.tidy(() => {
    const gradients = variableList.map((variable) => grads[variable.name]);
    const clipped = schedule.gradientClip > 0 ? clipByGlobalNorm(gradients, schedule.gradientClip) : gradients;
    optimizer.applyGradients(Object.fromEntries(variableList.map((variable, i) => [variable.name, clipped[i]])));
  });
  const loss = value.dataSync()[0];
  value.dispose();
  tokens.dispose();
  for (const gradient of Object.values(grads)) gradient.dispose();
  return loss;
}

// ---------------------------------------------------------------------------------------------------
// Checkpoint files

function stepFolderName(step: number): string {
  return `step-${step.toString().padStart(8, '0')}`;
}

async function writeTrainingCheckpoint(dir: string, model: GPT2, moments: ReadonlyMap<string, tf.Tensor>, state: TrainingState): Promise<void> {
  await mkdir(dir, { recursive: true });
  const folder = stepFolderName(state.step);
  const temporary = path.join(dir, `${folder}.partial-${process.pid}-${Date.now().toString(36)}`);
  await saveCheckpoint(temporary, model, { seed: state.seed, steps: state.step, purpose: 'pretraining checkpoint' });
  await saveTensors(path.join(temporary, OPTIMIZER_FILE), moments, { step: String(state.step) });
  await writeFileAtomic(path.join(temporary, STATE_FILE), `${JSON.stringify(state)}\n`);
  const final = path.join(dir, folder);
  await rm(final, { recursive: true, force: true });
  await rename(temporary, final);
  const latest: Latest = { format: PRETRAIN_STATE_FORMAT, formatVersion: PRETRAIN_STATE_VERSION, step: state.step, folder };
  // The commit point: until this rename, latest.json names the previous (complete) folder.
  await writeFileAtomic(path.join(dir, LATEST_FILE), `${JSON.stringify(latest)}\n`);
  await removeStaleFolders(dir, folder);
}

/** Removes step folders other than `keep` and leftovers of interrupted saves. */
async function removeStaleFolders(dir: string, keep: string | null): Promise<void> {
  for (const entry of await readdir(dir)) {
    if (entry !== keep && /^step-\d+(\.partial-.*)?$/.test(entry)) await rm(path.join(dir, entry), { recursive: true, force: true });
  }
}

/** A training checkpoint as loaded: the caller owns (and must dispose) the tensors. */
export interface SavedCheckpoint {
  state: TrainingState;
  weights: Map<string, tf.Tensor>;
  moments: Map<string, tf.Tensor>;
  dispose(): void;
}

function damaged(dir: string, what: string): Error {
  return new Error(`the pretraining checkpoint in ${dir} is damaged: ${what}. Delete ${dir} to start this pretraining over`);
}

/** The checkpoint latest.json names, or null when there is none (fresh start). Leftovers are cleaned up. */
export async function readLatestCheckpoint(dir: string): Promise<SavedCheckpoint | null> {
  let text: string;
  try {
    text = await readFile(path.join(dir, LATEST_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    // No commit yet: anything here is an interrupted first save.
    if (await exists(dir)) await removeStaleFolders(dir, null);
    return null;
  }
  let latest: Latest;
  try {
    latest = JSON.parse(text) as Latest;
  } catch {
    throw damaged(dir, `${LATEST_FILE} is not valid JSON`);
  }
  if (latest.format !== PRETRAIN_STATE_FORMAT || latest.formatVersion !== PRETRAIN_STATE_VERSION || typeof latest.folder !== 'string' || !/^step-\d+$/.test(latest.folder)) {
    throw damaged(dir, `${LATEST_FILE} is not a ${PRETRAIN_STATE_FORMAT} v${PRETRAIN_STATE_VERSION} pointer`);
  }
  await removeStaleFolders(dir, latest.folder);
  const folder = path.join(dir, latest.folder);
  let state: TrainingState;
  try {
    state = JSON.parse(await readFile(path.join(folder, STATE_FILE), 'utf8')) as TrainingState;
  } catch (error) {
    throw damaged(dir, `cannot read ${path.join(folder, STATE_FILE)} (${error instanceof Error ? error.message : String(error)})`);
  }
  if (state.format !== PRETRAIN_STATE_FORMAT || state.formatVersion !== PRETRAIN_STATE_VERSION || state.step !== latest.step) {
    throw damaged(dir, `${path.join(folder, STATE_FILE)} does not match ${LATEST_FILE} (step ${String(state.step)} vs ${latest.step})`);
  }
  let weights: Map<string, tf.Tensor>;
  try {
    const loaded = await loadCheckpoint(folder);
    weights = new Map(loaded.model.parameters());
  } catch (error) {
    throw damaged(dir, error instanceof Error ? error.message : String(error));
  }
  let moments: Map<string, tf.Tensor>;
  try {
    moments = (await loadWeights(path.join(folder, OPTIMIZER_FILE))).tensors;
  } catch (error) {
    for (const t of weights.values()) t.dispose();
    throw damaged(dir, error instanceof Error ? error.message : String(error));
  }
  const problems: string[] = [];
  for (const [name, tensor] of weights) {
    for (const slot of ['m', 'v']) {
      const moment = moments.get(`${slot}.${name}`);
      if (moment === undefined) problems.push(`${OPTIMIZER_FILE} lacks "${slot}.${name}"`);
      else if (moment.shape.join() !== tensor.shape.join()) problems.push(`${OPTIMIZER_FILE}: "${slot}.${name}" is [${moment.shape}], expected [${tensor.shape}]`);
    }
  }
  const dispose = (): void => {
    for (const t of weights.values()) t.dispose();
    for (const t of moments.values()) t.dispose();
  };
  if (problems.length > 0) {
    dispose();
    throw damaged(dir, problems.slice(0, 5).join('; '));
  }
  return { state, weights, moments, dispose };
}

async function exists(target: string): Promise<boolean> {
  try {
    await readdir(target);
    return true;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------
// Finished models

/** pretrain.json of a finished model folder: what was trained and how well. */
export interface PretrainedSummary {
  format: typeof PRETRAIN_STATE_FORMAT;
  formatVersion: number;
  /** 'pretrained', or 'control' for a never-trained model saved the same way. */
  kind: 'pretrained' | 'control';
  parameters: number;
  heldOutLoss: number;
  heldOutTokens: number;
  /** Free details (preset, seed, schedule, corpus fingerprint, backend, timings, ...). */
  details: { [key: string]: JsonValue };
}

/**
 * Writes a finished model folder: model.safetensors and config.json (loadable with loadCheckpoint), then
 * pretrain.json, atomically and last, so its presence means the folder is complete.
 */
export async function savePretrainedModel(dir: string, model: GPT2, summary: Omit<PretrainedSummary, 'format' | 'formatVersion'>, metadata: CheckpointMetadata = {}): Promise<PretrainedSummary> {
  await mkdir(dir, { recursive: true });
  // A stale marker must not vouch for new weights while they are being written.
  await rm(path.join(dir, PRETRAINED_FILE), { force: true });
  await saveCheckpoint(dir, model, { ...metadata, kind: summary.kind, heldOutLoss: summary.heldOutLoss });
  const full: PretrainedSummary = { format: PRETRAIN_STATE_FORMAT, formatVersion: PRETRAIN_STATE_VERSION, ...summary };
  await writeFileAtomic(path.join(dir, PRETRAINED_FILE), `${JSON.stringify(full, null, 2)}\n`);
  return full;
}

/**
 * The summary of a finished model folder, or null when it is not finished (no pretrain.json). With
 * `verify`, the model is loaded once to check its files; a finished folder whose files are damaged is an
 * error naming the folder (the marker is written last, so only outside damage causes that).
 */
export async function readPretrainedSummary(dir: string, options: { verify?: boolean } = {}): Promise<PretrainedSummary | null> {
  let text: string;
  try {
    text = await readFile(path.join(dir, PRETRAINED_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  let summary: PretrainedSummary;
  try {
    summary = JSON.parse(text) as PretrainedSummary;
  } catch {
    throw new Error(`${path.join(dir, PRETRAINED_FILE)} is not valid JSON: the model folder ${dir} is damaged; delete it to pretrain again`);
  }
  if (summary.format !== PRETRAIN_STATE_FORMAT || summary.formatVersion !== PRETRAIN_STATE_VERSION || typeof summary.heldOutLoss !== 'number') {
    throw new Error(`${path.join(dir, PRETRAINED_FILE)} is not a ${PRETRAIN_STATE_FORMAT} v${PRETRAIN_STATE_VERSION} summary: delete ${dir} to pretrain again`);
  }
  if (options.verify === true) {
    try {
      (await loadCheckpoint(dir)).model.dispose();
    } catch (error) {
      throw new Error(`the finished model in ${dir} is damaged (${error instanceof Error ? error.message : String(error)}); delete ${dir} to pretrain again`);
    }
  }
  return summary;
}
