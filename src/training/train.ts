/**
 * One optimisation step for an adapted model: only its trainable variables receive updates, so the
 * frozen base is untouched by construction (tests check it bit for bit).
 */
import * as tf from '@tensorflow/tfjs-core';
import { Adafactor } from './adafactor.js';
import { AdamW } from './adamw.js';
import type { AdaptedModel } from '../adapt/adapted.js';
import { unknownNameMessage } from '../model/config.js';

export const OPTIMIZER_NAMES = ['adam', 'sgd', 'adafactor', 'adafactor-scaled'] as const;
/** Optimisers that apply (decoupled) weight decay. */
export const WEIGHT_DECAY_OPTIMIZERS: readonly string[] = ['adafactor', 'adafactor-scaled'];
export type OptimizerName = (typeof OPTIMIZER_NAMES)[number];

export interface OptimizerOptions {
  /** Decoupled weight decay (p ← p - lr·weightDecay·p); only the adafactor optimisers take a nonzero value. Default 0. */
  weightDecay?: number;
}

/**
 * An optimiser by name; an unknown name suggests the nearest one. `adafactor` is the prompt-tuning
 * configuration of Lester et al. 2021 (see adafactor.ts); `adafactor-scaled` the same with HF's scale_parameter; `adam` is
 * AdamW (adamw.ts) as tf.train.adam computes Adam. Adam and SGD here have no weight decay, so a
 * nonzero one is an error rather than silently dropped.
 */
export function createOptimizer(name: string, learningRate: number, options: OptimizerOptions = {}): tf.Optimizer {
  if (!(learningRate > 0) || !Number.isFinite(learningRate)) throw new Error(`learning rate = ${learningRate}: allowed: a finite number > 0`);
  const weightDecay = options.weightDecay ?? 0;
  if (!(weightDecay >= 0) || !Number.isFinite(weightDecay)) throw new Error(`weight decay = ${weightDecay}: allowed: a finite number ≥ 0`);
  if (weightDecay !== 0 && !WEIGHT_DECAY_OPTIMIZERS.includes(name) && (OPTIMIZER_NAMES as readonly string[]).includes(name)) {
    throw new Error(`weight decay = ${weightDecay} with optimizer "${name}": allowed: 0 (only ${WEIGHT_DECAY_OPTIMIZERS.join(' and ')} apply weight decay)`);
  }
  switch (name) {
    case 'adam':
      // tf.train.adam's settings and float32 bias corrections: bit for bit its weights (adamw.test.ts).
      return new AdamW({ learningRate, beta1: 0.9, beta2: 0.999, epsilon: tf.backend().epsilon(), biasCorrection: 'float32' });
    case 'sgd':
      return tf.train.sgd(learningRate);
    case 'adafactor':
      return new Adafactor({ learningRate, weightDecay });
    case 'adafactor-scaled':
      // The step relative to each parameter's RMS (HF scale_parameter): see docs/methods.md on why.
      return new Adafactor({ learningRate, weightDecay, scaleParameter: true });
    default:
      throw new Error(unknownNameMessage('optimizer', name, OPTIMIZER_NAMES));
  }
}

/** One step on a batch of token rows [B, T]; returns the loss before the update. */
export function trainStep(model: AdaptedModel, optimizer: tf.Optimizer, tokens: tf.Tensor2D, lossMask?: tf.Tensor2D): number {
  const variables = model.variables();
  if (variables.length === 0) throw new Error(`method "${model.method.name}" has no trainable parameters: nothing to train`);
  const loss = optimizer.minimize(() => model.loss(tokens, lossMask, true), true, variables);
  if (loss === null) throw new Error('optimizer.minimize returned no loss');
  const value = loss.dataSync()[0];
  loss.dispose();
  return value;
}
