/**
 * Trial packing in `peftscale bench`: a seeds × lengths × inits sweep of the learned-prompt method (the one
 * declaring learnedPrompt: prompt tuning) trained one trial at a time against packed as the runner packs it
 * (experiments/run/trial_packs.ts: trials of one prompt length share a step, up to the cap on rows). Both
 * sides run the real steps (trainStep alone, packedTrainStep packed) on the same token rows; a trial's
 * training time is its steps times the median step, so trials per hour = trials × 3600 / Σ step time
 * (evaluation, which packing leaves as it is, is not counted).
 */
import * as tf from '@tensorflow/tfjs-core';
import { methodCard } from '../../src/adapt/method_card.js';
import { AdaptedModel } from '../../src/adapt/adapted.js';
import { learnedPromptMethod, resolveOptions } from '../../src/adapt/peft.js';
import type { GPT2 } from '../../src/model/model.js';
import type { PackingBenchRow } from '../../src/results/bench.js';
import { createOptimizer, packedTrainStep, trainStep } from '../../src/training/train.js';
import { timeInterleaved } from '../../src/util/bench_timing.js';
import { benchContext } from './bench_methods.js';

/** The sweep and the cap: what `--pack-*` flags set. */
export interface PackingBenchSettings {
  seeds: number;
  lengths: number[];
  inits: string[];
  /** Rows per step of one trial alone. */
  batchSize: number;
  /** Most rows per packed step. */
  maxRows: number;
  /** Steps per trial, for the trials-per-hour figure (the scaling profile's 1,500 by default). */
  steps: number;
}

export const DEFAULT_PACKING_BENCH: PackingBenchSettings = { seeds: 4, lengths: [5, 20], inits: ['class-label', 'random-uniform', 'sampled-vocab'], batchSize: 8, maxRows: 64, steps: 1500 };

interface Member {
  model: AdaptedModel;
  optimizer: tf.Optimizer;
}

/** The sweep on one preset, alone and packed: rows of `sequenceLength` real tokens cut from `tokens`' text. */
export function benchPacking(base: GPT2, preset: string, tokens: tf.Tensor2D, settings: PackingBenchSettings, timing: { warmup: number; iterations: number }): PackingBenchRow {
  const method = learnedPromptMethod();
  if (method === null) throw new Error('bench packing: no registered method declares a learnedPrompt (set --pack-rows 0 to skip it)');
  if (method.packing === undefined) throw new Error(`bench packing: method "${method.name}" does not declare packing (set --pack-rows 0 to skip it)`);
  const sequenceLength = tokens.shape[1];
  const perPack = Math.max(1, Math.floor(settings.maxRows / settings.batchSize));
  const trialsPerLength = settings.seeds * settings.inits.length;
  let aloneSeconds = 0;
  let packedSeconds = 0;
  let packs = 0;
  let tokenCount = 0; // real and virtual positions the sweep trains on, the same either way
  for (const length of settings.lengths) {
    const members = (count: number): Member[] =>
      Array.from({ length: count }, (_, i) => ({
        model: AdaptedModel.create(base, method, resolveOptions(method, { length: String(length), init: settings.inits[i % settings.inits.length] }, base.config), benchContext(base, i)),
        optimizer: createOptimizer(methodCard(method.name).training.optimizer, methodCard(method.name).training.learningRate, { weightDecay: methodCard(method.name).training.weightDecay }),
      }));
    // Packed: full packs of perPack trials, and the remainder as one smaller pack. One trial at a time:
    // every trial of this length costs the same step, so one is timed, in rounds interleaved with the packs
    // (a machine whose speed drifts moves both alike).
    const sizes = [...Array(Math.floor(trialsPerLength / perPack)).fill(perPack), ...(trialsPerLength % perPack === 0 ? [] : [trialsPerLength % perPack])] as number[];
    const distinct = [...new Set([1, ...sizes])];
    const medians = timeSteps(distinct.map((size) => ({ members: members(size), batch: batchOf(tokens, size * settings.batchSize) })), timing);
    const stepMs = new Map(distinct.map((size, i) => [size, medians[i]]));
    aloneSeconds += (trialsPerLength * settings.steps * (stepMs.get(1) as number)) / 1000;
    tokenCount += trialsPerLength * settings.steps * settings.batchSize * (sequenceLength + length);
    for (const size of sizes) packedSeconds += (settings.steps * (stepMs.get(size) as number)) / 1000;
    packs += sizes.length;
  }
  const trials = trialsPerLength * settings.lengths.length;
  return {
    preset,
    method: method.name,
    trials,
    sweep: `${settings.seeds} seeds × lengths ${settings.lengths.join(', ')} × inits ${settings.inits.join(', ')}`,
    batchSize: settings.batchSize,
    maxRows: settings.maxRows,
    packs,
    sequenceLength,
    steps: settings.steps,
    aloneTrialsPerHour: (trials * 3600) / aloneSeconds,
    packedTrialsPerHour: (trials * 3600) / packedSeconds,
    speedup: aloneSeconds / packedSeconds,
    aloneTokensPerSecond: tokenCount / aloneSeconds,
    packedTokensPerSecond: tokenCount / packedSeconds,
  };
}

/** Rows [rows, T] taken from the bench's token rows, repeating them when more are needed, with a loss mask on the last quarter. */
function batchOf(tokens: tf.Tensor2D, rows: number): { tokens: tf.Tensor2D; mask: tf.Tensor2D } {
  return tf.tidy(() => {
    const [available, length] = tokens.shape;
    const picked = tf.gather(tokens, tf.tensor1d(Array.from({ length: rows }, (_, i) => i % available), 'int32')) as tf.Tensor2D;
    const mask = tf.tensor2d(Array.from({ length: rows * length }, (_, i) => (i % length >= length - Math.max(1, Math.floor(length / 4)) ? 1 : 0)), [rows, length]);
    return { tokens: tf.keep(picked), mask: tf.keep(mask) };
  });
}

/** Median milliseconds of one step of each set of members (one: trainStep; several: packedTrainStep), timed in interleaved rounds; disposes them all. */
function timeSteps(sets: { members: Member[]; batch: { tokens: tf.Tensor2D; mask: tf.Tensor2D } }[], timing: { warmup: number; iterations: number }): number[] {
  try {
    const functions = sets.map(({ members, batch }) => {
      const rows = batch.tokens.shape[0] / members.length;
      const fn =
        members.length === 1
          ? (): void => void trainStep(members[0].model, members[0].optimizer, batch.tokens, batch.mask)
          : (): void => void packedTrainStep(members.map((m) => ({ ...m, rows })), batch.tokens, batch.mask);
      return { name: `${members.length} trial(s)`, fn };
    });
    return timeInterleaved(functions, timing).map((summary) => summary.medianMs);
  } finally {
    for (const { members, batch } of sets) {
      tf.dispose([batch.tokens, batch.mask]);
      for (const { model, optimizer } of members) {
        model.dispose();
        optimizer.dispose();
      }
    }
  }
}
