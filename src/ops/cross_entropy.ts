/**
 * Mean token-level cross-entropy of logits [N, V] against integer targets [N], counting only the
 * positions whose weight is non-zero (padding and prompt positions get weight 0).
 * Computed as logsumexp(logits) − logits[target]; the one-hot product avoids a gather, whose gradient
 * wasm lacks. The backward pass is written out, (softmax − one-hot) · weight / Σweight, reusing the
 * forward's exponentials: autograd through logSoftmax exponentiates a second time. Targets and
 * weights are data, not differentiated.
 *
 * wasm's Exp is a scalar loop (~7 ms for [1008, 256]) while its Sigmoid is vectorised (XNNPACK); the
 * shifted logits z are ≤ 0, where exp(z) = s / (1 − s) with s = sigmoid(z) ≤ 1/2 loses no precision.
 *
 * @example
 * crossEntropy(tf.tensor2d([[0, 0]]), tf.tensor1d([1], 'int32')); // ln 2 ≈ 0.6931
 */
import * as tf from '@tensorflow/tfjs-core';

/** exp(z) for z ≤ 0; on wasm through sigmoid (see the file comment). */
export function expNonPositive(z: tf.Tensor): tf.Tensor {
  if (tf.getBackend() !== 'wasm') return tf.exp(z);
  return tf.tidy(() => {
    const s = tf.sigmoid(z);
    return tf.div(s, tf.sub(1, s));
  });
}

export function crossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D, weights?: tf.Tensor1D): tf.Scalar {
  const [rows, vocab] = logits.shape;
  if (targets.rank !== 1 || targets.shape[0] !== rows) {
    throw new Error(`crossEntropy: logits [${logits.shape}] need targets [${rows}], got [${targets.shape}]`);
  }
  if (weights !== undefined && (weights.rank !== 1 || weights.shape[0] !== rows)) {
    throw new Error(`crossEntropy: logits [${logits.shape}] need weights [${rows}], got [${weights.shape}]`);
  }
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const shifted = tf.sub(x, tf.max(x, -1, true)); // [N, V], every entry ≤ 0
    const exps = expNonPositive(shifted); // [N, V]
    const sums = tf.sum(exps, -1, true); // [N, 1]
    const oneHot = tf.cast(tf.oneHot(tf.cast(targets, 'int32'), vocab), 'float32'); // [N, V] (wasm's float32 OneHot writes integer bits)
    const perRow = tf.sub(tf.log(tf.reshape(sums, [rows])), tf.sum(tf.mul(shifted, oneHot), -1)); // [N]: logsumexp − target logit
    // Each row's share of the loss: 1/N, or weight / Σweight (Σ at least 1, so all-zero weights give 0).
    const share = weights === undefined ? tf.fill([rows], 1 / rows) : tf.div(weights, tf.maximum(tf.sum(weights), 1)); // [N]
    save([tf.div(exps, sums), oneHot, share]);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor => {
      const [probabilities, hot, rowShare] = saved;
      return tf.mul(tf.sub(probabilities, hot), tf.reshape(tf.mul(rowShare, dy), [rows, 1])); // [N, V]
    };
    return { value: tf.sum(tf.mul(perRow, share)), gradFunc };
  });
  return op(logits) as tf.Scalar;
}

/**
 * {@link crossEntropy} of several groups of consecutive rows at once (packed training: one group per
 * trial): logits [N, V], targets [N], rows per group summing to N, optional weights [N] → [G], each
 * group's loss as crossEntropy of its rows alone computes it (its own Σweight). One pass over the logits
 * instead of one per group. Group sums are taken on slices, never as products with a 0/1 indicator: a
 * group whose values are NaN (a diverged trial) must leave the others' losses and gradients finite.
 */
export function groupedCrossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D, groupRows: readonly number[], weights?: tf.Tensor1D): tf.Tensor1D {
  const [rows, vocab] = logits.shape;
  if (groupRows.some((n) => !(Number.isInteger(n) && n >= 1)) || groupRows.reduce((a, b) => a + b, 0) !== rows) {
    throw new Error(`groupedCrossEntropy: group rows [${groupRows.join(', ')}] must be positive integers summing to the ${rows} rows of logits [${logits.shape}]`);
  }
  if (targets.rank !== 1 || targets.shape[0] !== rows) throw new Error(`groupedCrossEntropy: logits [${logits.shape}] need targets [${rows}], got [${targets.shape}]`);
  if (weights !== undefined && (weights.rank !== 1 || weights.shape[0] !== rows)) throw new Error(`groupedCrossEntropy: logits [${logits.shape}] need weights [${rows}], got [${weights.shape}]`);
  const sizes = [...groupRows];
  /** [N] → [G]: the sum over each group's rows. */
  const groupSums = (t: tf.Tensor): tf.Tensor => tf.stack(tf.split(t, sizes, 0).map((part) => tf.sum(part)));
  /** [G] → [N]: each row gets its group's value. */
  const perRowOf = (t: tf.Tensor): tf.Tensor => tf.concat(sizes.map((n, g) => tf.broadcastTo(tf.slice(t, [g], [1]), [n])), 0);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const shifted = tf.sub(x, tf.max(x, -1, true)); // [N, V], every entry ≤ 0
    const exps = expNonPositive(shifted); // [N, V]
    const sums = tf.sum(exps, -1, true); // [N, 1]
    const oneHot = tf.cast(tf.oneHot(tf.cast(targets, 'int32'), vocab), 'float32'); // [N, V]
    const perRow = tf.sub(tf.log(tf.reshape(sums, [rows])), tf.sum(tf.mul(shifted, oneHot), -1)); // [N]
    // Each row's share of its group's loss: weight / Σweight over the group (Σ at least 1), or 1 / rows of the group.
    const share =
      weights === undefined ? perRowOf(tf.tensor1d(sizes.map((n) => 1 / n))) : tf.div(weights, perRowOf(tf.maximum(groupSums(weights), 1))); // [N]
    save([tf.div(exps, sums), oneHot, share]);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor => {
      const [probabilities, hot, rowShare] = saved;
      return tf.mul(tf.sub(probabilities, hot), tf.reshape(tf.mul(rowShare, perRowOf(dy)), [rows, 1])); // [N, V]
    };
    return { value: groupSums(tf.mul(perRow, share)), gradFunc };
  });
  return op(logits) as tf.Tensor1D;
}
