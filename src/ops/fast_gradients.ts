/**
 * Gradients that are fast on wasm, registered over TensorFlow.js's own for three kernels, plus one it
 * lacks. Each one is mathematically the same as the stock gradient (tests compare them), and stays lazy:
 * tfjs only calls a thunk for an input that needs a gradient, so a frozen weight costs no gradient work.
 *
 * - BatchMatMul: wasm multiplies plain 2-D matrices with XNNPACK at ~17 GFLOP/s, but with a transpose
 *   flag at ~1-2 GFLOP/s. The stock gradient uses the flags (dA = dy·Bᵀ, dB = Aᵀ·dy); this one
 *   transposes explicitly first.
 * - GatherV2: the stock gradient needs UnsortedSegmentSum, which wasm lacks; ScatterNd sums duplicate
 *   indices, so it gives the same row-wise scatter-add.
 * - GatherNd (no stock gradient): ScatterNd of dy, as for GatherV2; registered for every backend.
 * - Add with a broadcast bias: summing dy over the leading axis is slow on wasm (3.5 ms for
 *   [1024, 512]); a product with a row of ones is the same sum and runs on the fast matmul. Most of its
 *   cost is XNNPACK packing dy, which the weight gradient Aᵀ·dy then reuses (the packing is cached per
 *   tensor), so folding the bias into the weight gradient saves nothing (measured).
 *
 * @example
 * installFastGradients(); // once, before computing gradients; initBackend() does it.
 */
import * as tf from '@tensorflow/tfjs-core';
// The stock gradients must exist before they are wrapped or overridden.
// tfjs-core's node bundle has no gradients; the @tensorflow/tfjs bundle registers them globally.
import '@tensorflow/tfjs';
import { transposeMatrix } from './transpose.js';

let installed = false;
/** The backends on which the rewrites run; elsewhere the stock gradient does (see {@link installFastGradients}). */
let fastOn: ReadonlySet<string> = new Set();

/** True when the active backend uses the rewritten gradients. */
function fast(): boolean {
  return fastOn.has(tf.getBackend());
}

function stockGradient(kernelName: string): tf.GradConfig {
  const config = tf.getGradient(kernelName);
  if (config === undefined) throw new Error(`TensorFlow.js has no gradient registered for ${kernelName}`);
  return config;
}

/** Sums `dy` ([..., C]) down to `targetShape` when that is a broadcast of the trailing axes, via matmul. */
function sumLeadingAxesByMatmul(dy: tf.Tensor, targetShape: readonly number[]): tf.Tensor | null {
  // Only the common bias case: target is the trailing k axes of dy, all leading axes summed.
  const k = targetShape.length;
  if (k === 0 || k >= dy.rank) return null;
  const trailing = dy.shape.slice(dy.rank - k);
  if (trailing.some((size, i) => size !== targetShape[i])) return null;
  const columns = trailing.reduce((a, b) => a * b, 1);
  const rows = dy.size / columns;
  const ones = tf.ones([1, rows]);
  const summed = tf.matMul(ones, tf.reshape(dy, [rows, columns])); // [1, C]
  return tf.reshape(summed, [...targetShape]);
}

/**
 * Registers the rewritten gradients (once; the registry is global) and sets the backends they apply to;
 * on any other backend each falls through to TensorFlow.js's stock gradient at the time it runs, so a
 * process that switches backends (the tests do) gets the right one on each.
 */
export function installFastGradients(backends: readonly string[] = ['wasm', 'cpu']): void {
  fastOn = new Set(backends);
  if (installed) return;
  installed = true;

  const stockMatMul = stockGradient(tf.BatchMatMul);
  tf.registerGradient({
    kernelName: tf.BatchMatMul,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
      const [a, b] = saved;
      const gradient = dy as tf.Tensor;
      const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
      // Broadcast batch shapes need the stock reduction; everything else gets explicit transposes.
      if (!fast() || a.rank !== b.rank || (a.rank > 2 && a.shape.slice(0, -2).join() !== b.shape.slice(0, -2).join())) {
        return stockMatMul.gradFunc(dy, saved, attrs);
      }
      const t = transposeMatrix;
      if (!transposeA && !transposeB) {
        // dB = Aᵀ·dy, or (dyᵀ·A)ᵀ. XNNPACK packs the right operand (here a fresh tensor) at about the cost
        // of transposing it, and a bias gradient on the same dy has usually packed dy already (its ones-row
        // product comes first and XNNPACK caches by tensor): so Aᵀ·dy, unless dy is far larger than A and B
        // (LoRA's B: A [N, r], dy [N, out]), where transposing dy and packing the small A is cheaper.
        // dA = dy·Bᵀ packs only Bᵀ (a weight in every linear layer); (B·dyᵀ)ᵀ only when B is the larger.
        const gradB = (): tf.Tensor => (gradient.size <= 4 * (a.size + b.size) ? tf.matMul(t(a), gradient) : t(tf.matMul(t(gradient), a)));
        const gradA = (): tf.Tensor => (b.size <= gradient.size + a.size ? tf.matMul(gradient, t(b)) : t(tf.matMul(b, t(gradient))));
        return { a: gradA, b: gradB };
      } else if (!transposeA && transposeB) {
        return { a: () => tf.matMul(gradient, b), b: () => tf.matMul(t(gradient), a) };
      } else if (transposeA && !transposeB) {
        return { a: () => tf.matMul(b, t(gradient)), b: () => tf.matMul(a, gradient) };
      }
      return { a: () => tf.matMul(t(b), t(gradient)), b: () => tf.matMul(t(gradient), t(a)) };
    },
  });

  const stockGather = stockGradient(tf.GatherV2);
  tf.registerGradient({
    kernelName: tf.GatherV2,
    inputsToSave: ['x', 'indices'],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
      const [x, indices] = saved;
      const { axis, batchDims } = attrs as unknown as tf.GatherV2Attrs;
      if (!fast() || axis !== 0 || batchDims !== 0) return stockGather.gradFunc(dy, saved, attrs);
      return {
        x: () => {
          const rowShape = x.shape.slice(1);
          const updates = tf.reshape(dy as tf.Tensor, [indices.size, ...rowShape]);
          const flatIndices = tf.reshape(tf.cast(indices, 'int32'), [indices.size, 1]);
          return tf.scatterND(flatIndices, updates, x.shape); // duplicate indices are summed
        },
        indices: () => tf.zerosLike(indices),
      };
    },
  });

  // GatherNd has no stock gradient (src/ops/embedding.ts uses it on wasm): scatter dy back to the
  // gathered slices, summing duplicates, on every backend.
  if (tf.getGradient(tf.GatherNd) === undefined) {
    tf.registerGradient({
      kernelName: tf.GatherNd,
      inputsToSave: ['params', 'indices'],
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [params, indices] = saved;
        return { params: () => tf.scatterND(indices, dy as tf.Tensor, params.shape), indices: () => tf.zerosLike(indices) };
      },
    });
  }

  const stockAdd = stockGradient(tf.Add);
  tf.registerGradient({
    kernelName: tf.Add,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
      const [a, b] = saved;
      const gradient = dy as tf.Tensor;
      const stock = stockAdd.gradFunc(dy, saved, attrs);
      if (!fast()) return stock;
      const forInput = (input: tf.Tensor, fallback: () => tf.Tensor) => (): tf.Tensor => {
        if (input.shape.join() === gradient.shape.join()) return gradient;
        return sumLeadingAxesByMatmul(gradient, input.shape) ?? fallback();
      };
      return { a: forInput(a, stock.a), b: forInput(b, stock.b) };
    },
  });
}
