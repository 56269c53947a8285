/**
 * Non-finite values in weights: a checkpoint full of NaN loads without complaint and then scores NaN
 * for every label, so it is checked when a frozen model is loaded, before any trial uses it.
 */
import type * as tf from '@tensorflow/tfjs-core';

/** One line per tensor holding NaN or ±Infinity: its name, shape, how many and the first. */
export function nonFiniteTensors(tensors: ReadonlyMap<string, tf.Tensor>): string[] {
  const problems: string[] = [];
  for (const [name, tensor] of tensors) {
    const values = tensor.dataSync();
    let count = 0;
    let first = -1;
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i])) {
        count += 1;
        if (first < 0) first = i;
      }
    }
    if (count > 0) problems.push(`${name} ${JSON.stringify(tensor.shape)}: ${count} non-finite value(s), the first at flat index ${first} (${values[first]})`);
  }
  return problems;
}
