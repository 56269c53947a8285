/**
 * One optimisation step for an adapted model: only its trainable variables receive updates, so the
 * frozen base is untouched by construction (tests check it bit for bit).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { AdaptedModel } from './adapted.js';
import { unknownNameMessage } from './config.js';

export const OPTIMIZER_NAMES = ['adam', 'sgd'] as const;
export type OptimizerName = (typeof OPTIMIZER_NAMES)[number];

/** A TensorFlow.js optimiser by name; an unknown name suggests the nearest one. */
export function createOptimizer(name: string, learningRate: number): tf.Optimizer {
  if (!(learningRate > 0) || !Number.isFinite(learningRate)) throw new Error(`learning rate = ${learningRate}: allowed: a finite number > 0`);
  switch (name) {
    case 'adam':
      return tf.train.adam(learningRate);
    case 'sgd':
      return tf.train.sgd(learningRate);
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
