/**
 * Shared fixtures for the method tests: a tiny model, a method context, a learnable batch.
 */
import * as tf from '@tensorflow/tfjs-core';
import { AdaptedModel } from '../src/adapt/adapted.js';
import type { ModelConfig } from '../src/model/config.js';
import { GPT2 } from '../src/model/model.js';
import { getMethod, resolveOptions, type MethodContext } from '../src/adapt/peft.js';
import { ByteTokenizer } from '../src/io/tokenizer.js';

/** vocab 260, context 64, width 16, 2 layers, 2 heads, d_ff 64: each step takes milliseconds. */
export const TINY: ModelConfig = { vocabSize: 260, contextLength: 64, dModel: 16, nLayers: 2, nHeads: 2, dFF: 64, layerNormEps: 1e-5 };

const tokenizer = new ByteTokenizer();

/**
 * A tiny base whose weight matrices are 10x GPT-2's init scale. At std 0.02 a random model's output
 * barely depends on its input, so a prompt could hardly move the loss; a pretrained model is not like
 * that, and this cheap stand-in is not either.
 */
export function sensitiveBase(seed = 3): GPT2 {
  const init = GPT2.initialize(TINY, seed);
  const weights = new Map([...init.parameters()].map(([name, t]) => [name, t.rank === 2 ? tf.mul(t, 10) : t.clone()]));
  init.dispose();
  return GPT2.fromWeights(TINY, weights);
}

export function methodContext(base: GPT2, seed = 7): MethodContext {
  return {
    config: base.config,
    seed,
    baseParameter: (name) => base.parameter(name),
    encode: (text) => tokenizer.encode(text),
    labelWords: ['yes', 'no'],
    demonstrations: [
      { input: 'Is the sky blue? A:', label: 'yes' },
      { input: 'Is fire cold? A:', label: 'no' },
    ],
  };
}

/** Resolves, prepares and applies a method to `base`. */
export function adapt(base: GPT2, name: string, raw: Record<string, unknown>, seed = 7): AdaptedModel {
  const method = getMethod(name);
  const context = methodContext(base, seed);
  const options = resolveOptions(method, raw, base.config);
  return AdaptedModel.create(base, method, options, context);
}

/** Rows of a fixed short byte pattern at different offsets: [4, 16] int32, a task any method can learn. */
export function patternBatch(): tf.Tensor2D {
  const pattern = [104, 101, 108, 108, 111, 33, 32];
  const rows = Array.from({ length: 4 }, (_, row) => Array.from({ length: 16 }, (_, t) => pattern[(row + t) % pattern.length]));
  return tf.tensor2d(rows, [4, 16], 'int32');
}

/** The bytes of a tensor's values, for bit-for-bit comparison. */
export function bytesOf(tensor: tf.Tensor): Uint8Array {
  const values = tensor.dataSync();
  return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
}

/** Largest absolute difference between two tensors of the same shape. */
export function maxAbsDifference(a: tf.Tensor, b: tf.Tensor): number {
  const x = a.dataSync();
  const y = b.dataSync();
  let max = 0;
  for (let i = 0; i < x.length; i++) max = Math.max(max, Math.abs(x[i] - y[i]));
  return max;
}
