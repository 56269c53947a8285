/**
 * LayerNorm over the last axis: (x − mean) / √(var + eps) · weight + bias, with the biased variance
 * as in PyTorch and GPT-2. The backward pass is written out (about a third of the ops autograd
 * records), and it skips the row sums for weight and bias unless they are trainable variables: in
 * parameter-efficient tuning the LayerNorms are frozen.
 *
 * @example
 * layerNorm(tf.tensor2d([[1, 2, 3]]), tf.ones([3]), tf.zeros([3]), 1e-5); // ≈ [[-1.2247, 0, 1.2247]]
 */
import * as tf from '@tensorflow/tfjs-core';

function isTrainable(t: tf.Tensor): boolean {
  return t instanceof tf.Variable && t.trainable;
}

export function layerNorm(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor, eps: number): tf.Tensor {
  const width = x.shape[x.rank - 1];
  if (weight.rank !== 1 || weight.shape[0] !== width || bias.rank !== 1 || bias.shape[0] !== width) {
    throw new Error(`layerNorm: x [${x.shape}] needs weight and bias of shape [${width}], got [${weight.shape}] and [${bias.shape}]`);
  }
  const weightTrains = isTrainable(weight);
  const biasTrains = isTrainable(bias);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, w, b, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const centred = tf.sub(input, tf.mean(input, -1, true)); // [..., D]
    const inverseStd = tf.rsqrt(tf.add(tf.mean(tf.mul(centred, centred), -1, true), eps)); // [..., 1]
    const normalised = tf.mul(centred, inverseStd); // [..., D]
    save([normalised, inverseStd, w]);
    const value = tf.add(tf.mul(normalised, w), b);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
      const [xHat, rstd, gamma] = saved;
      const dxHat = tf.mul(dy, gamma); // [..., D]
      // dx = rstd · (dx̂ − mean(dx̂) − x̂ · mean(dx̂ · x̂))
      const dx = tf.mul(rstd, tf.sub(tf.sub(dxHat, tf.mean(dxHat, -1, true)), tf.mul(xHat, tf.mean(tf.mul(dxHat, xHat), -1, true))));
      const rows = (t: tf.Tensor): tf.Tensor => tf.reshape(t, [-1, width]);
      const columnSum = (t: tf.Tensor): tf.Tensor => tf.reshape(tf.matMul(tf.ones([1, t.size / width]), rows(t)), [width]);
      const dWeight = weightTrains ? columnSum(tf.mul(dy, xHat)) : tf.zeros([width]);
      const dBias = biasTrains ? columnSum(dy) : tf.zeros([width]);
      return [dx, dWeight, dBias];
    };
    return { value, gradFunc };
  });
  return op(x, weight, bias);
}
