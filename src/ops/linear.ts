/**
 * A GPT-2 Conv1D layer: y = x·W + b with W stored [in, out] (Hugging Face layout). Inputs of any rank
 * are flattened to 2-D first, because wasm's batched matmul is ~10x slower than its 2-D one.
 *
 * @example
 * linear(tf.ones([2, 5, 3]), tf.ones([3, 4]), tf.zeros([4])); // [2, 5, 4], every entry 3
 */
import * as tf from '@tensorflow/tfjs-core';

export function linear(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor | null): tf.Tensor {
  const inputWidth = x.shape[x.rank - 1];
  if (weight.rank !== 2 || weight.shape[0] !== inputWidth) {
    throw new Error(`linear: x [${x.shape}] does not fit weight [${weight.shape}] (expected weight [${inputWidth}, out])`);
  }
  const outputWidth = weight.shape[1];
  if (bias !== null && (bias.rank !== 1 || bias.shape[0] !== outputWidth)) {
    throw new Error(`linear: bias [${bias.shape}] does not fit weight [${weight.shape}] (expected [${outputWidth}])`);
  }
  return tf.tidy(() => {
    const flat = x.rank === 2 ? x : tf.reshape(x, [-1, inputWidth]); // [N, in]
    let y = tf.matMul(flat, weight); // [N, out]
    if (bias !== null) y = tf.add(y, bias);
    return x.rank === 2 ? y : tf.reshape(y, [...x.shape.slice(0, -1), outputWidth] as number[]);
  });
}
