/**
 * The core of multi-head attention: softmax(Q·Kᵀ + mask)·V per head, from and to [B, L, H, Dh].
 * Q must already carry the 1/√Dh scale; keys may be longer than queries (a key/value prefix).
 *
 * On wasm, batched matmuls bypass XNNPACK and run a scalar loop at ~1.6 GFLOP/s, while a depthwise
 * convolution goes through XNNPACK. A batched product [G, M, K]·[G, K, N] is exactly a depthwise conv
 * with input [M, K, 1, G] (rows as the batch, the contracted axis as height, groups as channels) and
 * filter [K, 1, G, N] (N as the channel multiplier). So on wasm the op runs as depthwise convs with a
 * hand-written backward (wasm has no depthwise backprop kernels); it is 2-3x faster. Other backends
 * use plain batched matmuls and autograd. Tests check both paths agree.
 *
 * @example
 * // q [B, T, H, Dh], k and v [B, P+T, H, Dh], mask [T, P+T] → [B, T, H, Dh]
 * const out = causalAttention(q, k, v, mask);
 */
import * as tf from '@tensorflow/tfjs-core';

/** Which implementation runs: 'auto' picks depthwise on wasm, batched matmul elsewhere. */
export type AttentionKernel = 'auto' | 'depthwise' | 'matmul';

export function causalAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, mask: tf.Tensor2D, kernel: AttentionKernel = 'auto'): tf.Tensor4D {
  const [batch, queries, heads, headSize] = q.shape;
  const keys = k.shape[1];
  if (k.shape.join() !== v.shape.join() || k.shape[0] !== batch || k.shape[2] !== heads || k.shape[3] !== headSize) {
    throw new Error(`causalAttention: q [${q.shape}] needs k and v of shape [${batch}, L, ${heads}, ${headSize}], got k [${k.shape}], v [${v.shape}]`);
  }
  if (mask.shape[0] !== queries || mask.shape[1] !== keys) {
    throw new Error(`causalAttention: mask [${mask.shape}] does not fit ${queries} queries and ${keys} keys`);
  }
  const useDepthwise = kernel === 'depthwise' || (kernel === 'auto' && tf.getBackend() === 'wasm');
  return useDepthwise ? depthwiseAttention(q, k, v, mask) : matmulAttention(q, k, v, mask);
}

/** Reference path: [B, L, H, Dh] → [B·H, L, Dh], batched matmuls, autograd. */
function matmulAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, mask: tf.Tensor2D): tf.Tensor4D {
  return tf.tidy(() => {
    const [batch, queries, heads, headSize] = q.shape;
    const keys = k.shape[1];
    const groups = (t: tf.Tensor4D, length: number) => tf.reshape(tf.transpose(t, [0, 2, 1, 3]), [batch * heads, length, headSize]);
    const scores = tf.add(tf.matMul(groups(q, queries), tf.transpose(groups(k, keys), [0, 2, 1])), mask); // [B·H, T, L]
    const out = tf.matMul(tf.softmax(scores), groups(v, keys)); // [B·H, T, Dh]
    return tf.transpose(tf.reshape(out, [batch, heads, queries, headSize]), [0, 2, 1, 3]) as tf.Tensor4D; // [B, T, H, Dh]
  });
}

/** out[m, g, n] = Σ_k x[m, k, g] · filter[k, g, n]: a batched matmul over g as one depthwise conv. */
function groupedProduct(x: tf.Tensor3D, filter: tf.Tensor3D): tf.Tensor3D {
  const [rows, inner, groups] = x.shape;
  const columns = filter.shape[2];
  const y = tf.depthwiseConv2d(tf.reshape(x, [rows, inner, 1, groups]) as tf.Tensor4D, tf.reshape(filter, [inner, 1, groups, columns]) as tf.Tensor4D, 1, 'valid'); // [M, 1, 1, G·N]
  return tf.reshape(y, [rows, groups, columns]);
}

/**
 * Depthwise path. Layouts (G = B·H groups, i queries, j keys, d head dims):
 *   qT [i, d, G], kT [d, G, j], vT [j, G, d], P [i, G, j], out [i, G, d].
 */
function depthwiseAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, mask: tf.Tensor2D): tf.Tensor4D {
  const [batch, queries, heads, headSize] = q.shape;
  const keys = k.shape[1];
  const groups = batch * heads;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [qIn, kIn, vIn, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const qT = tf.reshape(tf.transpose(qIn, [1, 3, 0, 2]), [queries, headSize, groups]) as tf.Tensor3D; // [i, d, G]
    const kT = tf.reshape(tf.transpose(kIn, [3, 0, 2, 1]), [headSize, groups, keys]) as tf.Tensor3D; // [d, G, j]
    const vT = tf.reshape(tf.transpose(vIn, [1, 0, 2, 3]), [keys, groups, headSize]) as tf.Tensor3D; // [j, G, d]
    const scores = tf.add(groupedProduct(qT, kT), tf.reshape(mask, [queries, 1, keys])); // [i, G, j]
    const probabilities = tf.softmax(scores) as tf.Tensor3D; // [i, G, j]
    const out = groupedProduct(tf.transpose(probabilities, [0, 2, 1]) as tf.Tensor3D, vT); // [i, G, d]
    save([qT, kT, vT, probabilities]);
    const value = tf.transpose(tf.reshape(out, [queries, batch, heads, headSize]), [1, 0, 2, 3]); // [B, T, H, Dh]
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
      const [sq, sk, sv, p] = saved as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
      const dOut = tf.reshape(tf.transpose(dy, [1, 0, 2, 3]), [queries, groups, headSize]) as tf.Tensor3D; // [i, G, d]
      const dV = groupedProduct(tf.transpose(p, [2, 0, 1]) as tf.Tensor3D, dOut); // [j, G, d] = Σ_i P·dO
      const dP = groupedProduct(tf.transpose(dOut, [0, 2, 1]) as tf.Tensor3D, tf.transpose(sv, [2, 1, 0]) as tf.Tensor3D); // [i, G, j] = dO·Vᵀ
      const dS = tf.mul(p, tf.sub(dP, tf.sum(tf.mul(dP, p), -1, true))) as tf.Tensor3D; // softmax backward, [i, G, j]
      const dQ = groupedProduct(tf.transpose(dS, [0, 2, 1]) as tf.Tensor3D, tf.transpose(sk, [2, 1, 0]) as tf.Tensor3D); // [i, G, d] = dS·K
      const dK = groupedProduct(tf.transpose(dS, [2, 0, 1]) as tf.Tensor3D, tf.transpose(sq, [0, 2, 1]) as tf.Tensor3D); // [j, G, d] = dSᵀ·Q
      const back = (t: tf.Tensor3D, length: number) => tf.transpose(tf.reshape(t, [length, batch, heads, headSize]), [1, 0, 2, 3]); // → [B, L, H, Dh]
      return [back(dQ, queries), back(dK, keys), back(dV, keys)];
    };
    return { value, gradFunc };
  });
  return op(q, k, v) as tf.Tensor4D;
}
