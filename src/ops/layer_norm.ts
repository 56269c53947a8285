/**
 * LayerNorm over the last axis: (x − mean) / √(var + eps) · weight + bias, with the biased variance
 * as in PyTorch and GPT-2.
 *
 * @example
 * layerNorm(tf.tensor2d([[1, 2, 3]]), tf.ones([3]), tf.zeros([3]), 1e-5); // ≈ [[-1.2247, 0, 1.2247]]
 */
import * as tf from '@tensorflow/tfjs-core';

export function layerNorm(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor, eps: number): tf.Tensor {
  const width = x.shape[x.rank - 1];
  if (weight.rank !== 1 || weight.shape[0] !== width || bias.rank !== 1 || bias.shape[0] !== width) {
    throw new Error(`layerNorm: x [${x.shape}] needs weight and bias of shape [${width}], got [${weight.shape}] and [${bias.shape}]`);
  }
  return tf.tidy(() => {
    const centred = tf.sub(x, tf.mean(x, -1, true));
    const variance = tf.mean(tf.mul(centred, centred), -1, true);
    return tf.add(tf.mul(tf.mul(centred, tf.rsqrt(tf.add(variance, eps))), weight), bias);
  });
}
