/**
 * One optimisation step for an adapted model: only its trainable variables receive updates, so the
 * frozen base is untouched by construction (tests check it bit for bit).
 */
import * as tf from '@tensorflow/tfjs-core';
import { Adafactor } from './adafactor.js';
import { AdamW } from './adamw.js';
import type { AdaptedModel } from '../adapt/adapted.js';
import { packHooks } from '../adapt/packed.js';
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

/** A trial in a packed step: its adapted model, its own optimiser, and how many consecutive rows of the batch are its. */
export interface PackedTrainee {
  model: AdaptedModel;
  optimizer: tf.Optimizer;
  rows: number;
}

/**
 * One step for several adapted models of one frozen base, packed in one batch of token rows [B, T]: the
 * members' rows in order. One forward and backward pass; each member's loss is the mean over its own rows
 * (as {@link trainStep} of its rows alone), the gradient of their sum gives each member exactly the
 * gradient of its own loss (no tensor is shared), and each optimiser updates only its member's variables.
 * Returns each member's loss before the update.
 */
export function packedTrainStep(members: readonly PackedTrainee[], tokens: tf.Tensor2D, lossMask?: tf.Tensor2D): number[] {
  if (members.length === 0) throw new Error('packedTrainStep: no members');
  const base = members[0].model.base;
  members.forEach(({ model }, i) => {
    if (model.base !== base) throw new Error(`packedTrainStep: member ${i} adapts another frozen model; allowed: one base for the whole pack`);
    if (model.variables().length === 0) throw new Error(`packedTrainStep: member ${i} (method "${model.method.name}") has no trainable parameters: nothing to train`);
  });
  const rowGroups = members.map((member) => member.rows);
  let perMember: tf.Tensor | null = null;
  const { value, grads } = tf.variableGrads(() => {
    const hooks = packHooks(members.map(({ model, rows }) => ({ hooks: model.hooks(), rows })));
    const losses = base.groupedLanguageModelLoss(tokens, { hooks, training: true, rowGroups, ...(lossMask === undefined ? {} : { lossMask }) }); // [G]
    perMember = tf.keep(tf.clone(losses));
    return tf.sum(losses);
  }, members.flatMap((member) => member.model.variables()));
  try {
    for (const { model, optimizer } of members) optimizer.applyGradients(Object.fromEntries(model.variables().map((v) => [v.name, grads[v.name]])));
    return Array.from((perMember as tf.Tensor | null)?.dataSync() ?? []);
  } finally {
    value.dispose();
    tf.dispose(grads);
    (perMember as tf.Tensor | null)?.dispose();
  }
}
