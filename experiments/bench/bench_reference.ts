/**
 * The reference training step of the core issue (src/model/config.ts REFERENCE_STEP): one method on seeded
 * initial weights and random tokens, Adam, timed step by step (wall and CPU time). `peftscale bench`
 * runs it last; `peftscale bench reference` runs it alone (and beside PyTorch, bench_pytorch.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { AdaptedModel } from '../../src/adapt/adapted.js';
import type { ReferenceStepResult } from '../../src/results/bench.js';
import { median, peakTensorBytes, timeTrainingSteps } from '../../src/util/bench_timing.js';
import { unknownNameMessage } from '../../src/model/config.js';
import { GPT2 } from '../../src/model/model.js';
import { getMethod, resolveOptions } from '../../src/adapt/peft.js';
import { methodCard, registeredCards } from '../../src/adapt/method_card.js';
import { Random } from '../../src/util/random.js';
import { optionsLabel } from '../../src/results/results.js';
import { createOptimizer, trainStep } from '../../src/training/train.js';
import { benchContext } from './bench_methods.js';
import type { ReferenceStepShape } from './bench_pytorch.js';

/** The methods the reference step can run: those scripts/reference_step.py implements (card benchmark.referenceStep). */
export const referenceMethods = (): string[] => registeredCards().filter((card) => card.benchmark.referenceStep).map((card) => card.name);

/** The reference step's shape and schedule (defaults: src/model/config.ts REFERENCE_STEP, full tuning, 5 + 20 steps). */
export interface ReferenceOptions extends ReferenceStepShape {
  onStep?: (index: number, ms: number, cpuMs: number) => void;
}

/** The reference training step: seeded initial weights, random tokens, Adam. */
export async function runReferenceStep(options: ReferenceOptions): Promise<ReferenceStepResult> {
  const { config, batchSize, sequenceLength } = options;
  if (!referenceMethods().includes(options.method)) throw new Error(`bench reference: --method ${unknownNameMessage('value', options.method, referenceMethods())}`);
  const base = GPT2.initialize(config, 0);
  const method = getMethod(options.method);
  const resolved = resolveOptions(method, methodCard(method.name).benchmark.options, config);
  const adapted = AdaptedModel.create(base, method, resolved, benchContext(base, 0));
  const random = new Random(0, 'reference-batch');
  const tokens = tf.tensor2d(Int32Array.from({ length: batchSize * sequenceLength }, () => random.int(config.vocabSize)), [batchSize, sequenceLength], 'int32');
  const optimizer = createOptimizer('adam', 1e-3);
  const cpuSamplesMs: number[] = [];
  const onStep = (index: number, ms: number, cpuMs: number): void => {
    cpuSamplesMs.push(cpuMs);
    options.onStep?.(index, ms, cpuMs);
  };
  try {
    const timing = timeTrainingSteps(adapted, optimizer, tokens, { warmupSteps: options.warmup, steps: options.steps, onStep });
    const peak = await peakTensorBytes(() => void trainStep(adapted, optimizer, tokens));
    return {
      method: options.method,
      options: optionsLabel(resolved),
      dModel: config.dModel,
      nLayers: config.nLayers,
      nHeads: config.nHeads,
      dFF: config.dFF,
      vocabSize: config.vocabSize,
      batchSize,
      sequenceLength,
      warmup: options.warmup,
      steps: options.steps,
      medianMs: timing.medianMs,
      p99Ms: timing.p99Ms,
      meanMs: timing.meanMs,
      tokensPerSecond: timing.tokensPerSecond,
      lastLoss: timing.lastLoss,
      leakedTensors: timing.leakedTensors,
      peakTensorBytes: Math.max(peak, timing.peakTensorBytes),
      peakRssBytes: timing.peakRssBytes,
      samplesMs: timing.samplesMs,
      cpuMedianMs: median(cpuSamplesMs),
    };
  } finally {
    tokens.dispose();
    optimizer.dispose();
    adapted.dispose();
    base.dispose();
  }
}

export function describeReference(r: ReferenceOptions): string {
  const c = r.config;
  return `d ${c.dModel}, ${c.nLayers} layers, ${c.nHeads} heads, d_ff ${c.dFF}, vocab ${c.vocabSize}, batch ${r.batchSize} × ${r.sequenceLength} tokens, Adam, method ${r.method}, ${r.warmup} warm-up + ${r.steps} steps`;
}
