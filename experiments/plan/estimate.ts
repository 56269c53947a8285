/**
 * A planned trial's memory and time, from the model's shape, for `experiment --dry-run` (shown for files
 * that require a GPU, or with --assume-tflops): whether the largest trial fits a card, and the hours.
 *
 * Memory (float32, bytes): the frozen weights (4·N), the method's added tensors, a gradient and the
 * optimiser's slots per trainable parameter (Adam 2; Adafactor's factored moments counted as 1, a bound;
 * SGD 0), and the activations the gradient tape keeps for the backward pass: batch × the per-row forward
 * intermediates of src/model/memory.ts (fitted to tf.profile peaks, 1.1-2x them) at the task's longest row,
 * which every training batch is padded to. A method that trains nothing holds one evaluation batch:
 * what fits the scoring budget (src/inference/scoring.ts, PEFTSCALE_EVAL_MEMORY_MB), one row at least.
 *
 * Time: a FLOP count divided by an assumed sustained throughput (not measured here: no GPU was lent
 * when it was written; pass the one you measure). Per row of P positions the forward pass costs
 * 2·(N − embeddings)·P for the matrix products, 4·layers·P²·d for attention and 2·d·V per scored position;
 * a training step is 2 forward passes (the forward and the input gradients through every layer) plus one
 * for the share of the base whose weights train (3 in full tuning), at the padded (longest) row; evaluation is
 * one forward pass over dev at each evaluation and over test once, at the mean row (its batches are padded to
 * their own longest). Rows are counted in tokens from the data's UTF-8 bytes (below).
 */
import { planParameters } from '../../src/adapt/adapted.js';
import { getMethod } from '../../src/adapt/peft.js';
import { scoringMemoryBytes } from '../../src/inference/scoring.js';
import { BYTE_VOCAB_SIZE, type ModelConfig } from '../../src/model/config.js';
import { forwardBytesPerRow } from '../../src/model/memory.js';
import { countParameters, modelParameterSpecs } from '../../src/model/params.js';
import type { TrialConfig } from '../../src/results/results.js';

/** The sustained throughput assumed without --assume-tflops (float32 through tfjs-node-gpu: a guess, stated as one). */
export const DEFAULT_ASSUMED_TFLOPS = 20;
/** Tokens a generated task's row takes on average (its rows are 20 to 80 bytes of a byte vocabulary). */
export const TYPICAL_EXAMPLE_TOKENS = 48;
/** UTF-8 bytes per GPT-2 BPE token: 4.56 on RTE train and 4.18 on SST-2 dev (measured with gpt-3-encoder). */
const BPE_BYTES_PER_TOKEN = 4;
const OPTIMIZER_SLOTS: Record<string, number> = { adam: 2, sgd: 0, adafactor: 1, 'adafactor-scaled': 1 };

/** A task's rendered inputs in UTF-8 bytes (file tasks), or null for a generated task. */
export type InputBytes = { mean: number; max: number } | null;

export interface TrialEstimate {
  /** Positions per row (virtual ones included): the mean sets the time, the longest the activations. */
  positions: { mean: number; max: number };
  memory: { weights: number; added: number; gradients: number; optimizer: number; activations: number; total: number };
  flops: number;
  seconds: number;
}

/** Positions a row takes: its tokens (from bytes), <|endoftext|>, one label token, and the method's virtual positions; at most the context. */
export function rowPositions(model: ModelConfig, inputBytes: InputBytes, virtual: number): { mean: number; max: number } {
  const perToken = model.vocabSize > BYTE_VOCAB_SIZE ? BPE_BYTES_PER_TOKEN : 1;
  const tokens = (bytes: number): number => Math.min(model.contextLength, Math.ceil(bytes / perToken) + 2 + virtual);
  return inputBytes === null ? { mean: tokens(TYPICAL_EXAMPLE_TOKENS * perToken), max: tokens(TYPICAL_EXAMPLE_TOKENS * perToken) } : { mean: tokens(inputBytes.mean), max: tokens(inputBytes.max) };
}

/** Forward FLOPs of one row of `positions` positions with `scored` positions through the LM head. */
export function forwardFlops(model: ModelConfig, positions: number, scored: number): number {
  const { vocabSize: v, contextLength: c, dModel: d, nLayers: layers } = model;
  const matrices = countParameters(modelParameterSpecs(model)) - (v + c) * d;
  return 2 * matrices * positions + 4 * layers * positions * positions * d + 2 * d * v * scored;
}

/** What an estimate reads of a trial's config. */
export interface EstimatedConfig {
  method: string;
  options: TrialConfig['options'];
  training: Pick<TrialConfig['training'], 'steps' | 'batchSize' | 'evalEvery' | 'optimizer'>;
  data: Pick<TrialConfig['data'], 'dev' | 'test'>;
}

export function estimateTrial(trial: { config: EstimatedConfig; modelConfig: ModelConfig }, inputBytes: InputBytes, assumedTflops: number): TrialEstimate {
  const { config, modelConfig: model } = trial;
  const base = countParameters(modelParameterSpecs(model));
  const plan = planParameters(model, getMethod(config.method), config.options);
  const trains = plan.trainable > 0;
  const length = config.options.length;
  const virtual = typeof length === 'number' ? length : 0;
  const positions = rowPositions(model, inputBytes, virtual);
  const { steps, batchSize, evalEvery, optimizer } = config.training;
  const slots = OPTIMIZER_SLOTS[optimizer] ?? 2;
  const row = forwardBytesPerRow(model, positions.max - virtual, virtual, 1);
  const activations = trains ? batchSize * row : Math.max(row, Math.min(batchSize * row, scoringMemoryBytes()));
  const memory = {
    weights: 4 * base,
    added: 4 * (plan.total - base),
    gradients: trains ? 4 * plan.trainable : 0,
    optimizer: trains ? 4 * slots * plan.trainable : 0,
    activations,
    total: 0,
  };
  memory.total = memory.weights + memory.added + memory.gradients + memory.optimizer + memory.activations;
  const forward = forwardFlops(model, positions.mean, 1);
  const padded = forwardFlops(model, positions.max, 1);
  // Weight gradients cost a forward pass for the share of the base that trains (all of it in full tuning).
  const baseShare = plan.trainableBase.reduce((sum, p) => sum + p.count, 0) / base;
  const trainFlops = trains ? steps * batchSize * (2 + baseShare) * padded : 0;
  const evaluations = trains ? Math.floor(steps / Math.max(1, evalEvery)) + 1 : 1;
  const flops = trainFlops + (evaluations * config.data.dev + config.data.test) * forward;
  return { positions, memory, flops, seconds: flops / (assumedTflops * 1e12) };
}

/** Every trial's estimate by key, the summed time and the largest trial's memory. */
export function estimatePlan(
  trials: ReadonlyArray<{ key: string; config: TrialConfig; modelConfig: ModelConfig }>,
  datasets: ReadonlyArray<{ name: string; inputBytes?: { mean: number; max: number } }>,
  assumedTflops: number,
): { assumedTflops: number; trials: Map<string, TrialEstimate>; seconds: number; largestMemoryBytes: number } {
  const bytes = new Map(datasets.map((d) => [d.name, d.inputBytes ?? null]));
  const estimates = new Map(trials.map((trial) => [trial.key, estimateTrial(trial, bytes.get(trial.config.task) ?? null, assumedTflops)]));
  const all = [...estimates.values()];
  return { assumedTflops, trials: estimates, seconds: all.reduce((sum, e) => sum + e.seconds, 0), largestMemoryBytes: Math.max(0, ...all.map((e) => e.memory.total)) };
}

/** "3.2 GiB, 14 min" for a trial line. */
export function formatEstimate(estimate: TrialEstimate): string {
  return `≈ ${(estimate.memory.total / 2 ** 30).toFixed(2)} GiB, ${formatSeconds(estimate.seconds)}`;
}

export function formatSeconds(seconds: number): string {
  if (seconds < 90) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  if (seconds < 5400) return `${(seconds / 60).toFixed(0)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}
