/**
 * Timing of training steps: warm-up steps first (kernel setup, XNNPACK weight packing, JIT), then the
 * median and p99 of measured steps. Each step reads its loss back, so the time includes the whole
 * computation, not just its dispatch.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { AdaptedModel } from './adapted.js';
import { trainStep } from './train.js';

export interface StepTiming {
  warmupSteps: number;
  steps: number;
  /** Every measured step, in order, in milliseconds. */
  samplesMs: number[];
  medianMs: number;
  p99Ms: number;
  meanMs: number;
  /** Real tokens per second at the median step time. */
  tokensPerSecond: number;
  /** Loss of the last step (a sanity check that the step computed something finite). */
  lastLoss: number;
  /** Tensors alive after the run minus before: anything non-zero is a leak. */
  leakedTensors: number;
  /** Peak process resident set size seen during the measured steps, in bytes. */
  peakRssBytes: number;
}

/** Nearest-rank quantile of sorted values, q in [0, 1]. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new Error('quantile of an empty list');
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index];
}

/** The median: the mean of the two middle values for an even count. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of an empty list');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export function timeTrainingSteps(
  model: AdaptedModel,
  optimizer: tf.Optimizer,
  tokens: tf.Tensor2D,
  options: { warmupSteps: number; steps: number; onStep?: (index: number, ms: number) => void },
): StepTiming {
  if (options.steps < 1) throw new Error(`steps = ${options.steps}: allowed: at least 1`);
  let lastLoss = NaN;
  for (let i = 0; i < options.warmupSteps; i++) lastLoss = trainStep(model, optimizer, tokens);
  const tensorsBefore = tf.memory().numTensors;
  const samplesMs: number[] = [];
  let peakRssBytes = process.memoryUsage().rss;
  for (let i = 0; i < options.steps; i++) {
    const start = performance.now();
    lastLoss = trainStep(model, optimizer, tokens);
    const elapsed = performance.now() - start;
    samplesMs.push(elapsed);
    peakRssBytes = Math.max(peakRssBytes, process.memoryUsage().rss);
    options.onStep?.(i, elapsed);
  }
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const medianMs = median(samplesMs);
  return {
    warmupSteps: options.warmupSteps,
    steps: options.steps,
    samplesMs,
    medianMs,
    p99Ms: quantile(sorted, 0.99),
    meanMs: samplesMs.reduce((a, b) => a + b, 0) / samplesMs.length,
    tokensPerSecond: (tokens.size / medianMs) * 1000,
    lastLoss,
    leakedTensors: tf.memory().numTensors - tensorsBefore,
    peakRssBytes,
  };
}
