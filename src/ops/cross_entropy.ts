/**
 * Mean token-level cross-entropy of logits [N, V] against integer targets [N], counting only the
 * positions whose weight is non-zero (padding and prompt positions get weight 0).
 * Computed as logsumexp(logits) − logits[target]; the one-hot product avoids a gather, whose gradient
 * wasm lacks.
 *
 * @example
 * crossEntropy(tf.tensor2d([[0, 0]]), tf.tensor1d([1], 'int32')); // ln 2 ≈ 0.6931
 */
import * as tf from '@tensorflow/tfjs-core';

export function crossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D, weights?: tf.Tensor1D): tf.Scalar {
  const [rows, vocab] = logits.shape;
  if (targets.rank !== 1 || targets.shape[0] !== rows) {
    throw new Error(`crossEntropy: logits [${logits.shape}] need targets [${rows}], got [${targets.shape}]`);
  }
  if (weights !== undefined && (weights.rank !== 1 || weights.shape[0] !== rows)) {
    throw new Error(`crossEntropy: logits [${logits.shape}] need weights [${rows}], got [${weights.shape}]`);
  }
  return tf.tidy(() => {
    const logProbabilities = tf.logSoftmax(logits); // [N, V]
    const picked = tf.sum(tf.mul(logProbabilities, tf.oneHot(tf.cast(targets, 'int32'), vocab)), -1); // [N]
    if (weights === undefined) return tf.neg(tf.mean(picked)) as tf.Scalar;
    const total = tf.sum(weights);
    return tf.div(tf.neg(tf.sum(tf.mul(picked, weights))), tf.maximum(total, 1)) as tf.Scalar;
  });
}
