/**
 * GELU with the tanh approximation used by GPT-2:
 *   0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
 * computed through the identity 0.5·(1 + tanh(z)) = sigmoid(2z), because wasm's tanh is ~7x slower
 * than its sigmoid; x³ is x·x·x (pow is slow and its gradient needs a log). The backward pass is
 * written out: with s = sigmoid(u), u = c₁x + c₂x³, d/dx x·s = s + x·s·(1 − s)·(c₁ + 3c₂x²), which is
 * half the ops autograd records for the forward expression.
 *
 * @example
 * gelu(tf.tensor1d([-1, 0, 1])); // ≈ [-0.1588, 0, 0.8412]
 */
import * as tf from '@tensorflow/tfjs-core';

const C1 = 2 * Math.sqrt(2 / Math.PI);
const C2 = C1 * 0.044715;

export function gelu<T extends tf.Tensor>(x: T): T {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const squared = tf.mul(input, input);
    const gate = tf.sigmoid(tf.mul(input, tf.add(C1, tf.mul(C2, squared)))); // sigmoid(c₁x + c₂x³)
    save([input, squared, gate]);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor => {
      const [xs, x2, s] = saved;
      const slope = tf.mul(tf.mul(xs, tf.sub(s, tf.mul(s, s))), tf.add(C1, tf.mul(3 * C2, x2))); // x·s(1−s)·(c₁ + 3c₂x²)
      return tf.mul(dy, tf.add(s, slope));
    };
    return { value: tf.mul(input, gate), gradFunc };
  });
  return op(x) as T;
}
