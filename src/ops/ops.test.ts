import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { causalAttention } from './causal_attention.js';
import { gelu } from './gelu.js';
import { layerNorm } from './layer_norm.js';
import { crossEntropy, expNonPositive, groupedCrossEntropy } from './cross_entropy.js';
import { transposeMatrix } from './transpose.js';
import { embed } from './embedding.js';
import { maxAbsDifference, testBackends, useBackend } from '../../test/helpers.js';
import { Random } from '../util/random.js';

function randomTensor(shape: number[], seed: number, scale = 1): tf.Tensor {
  const random = new Random(seed, 'ops-test');
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: size }, () => scale * random.normal()), shape);
}

function causalMask(queries: number, prefix: number): tf.Tensor2D {
  const keys = prefix + queries;
  const values = new Float32Array(queries * keys);
  for (let i = 0; i < queries; i++) for (let j = prefix + i + 1; j < keys; j++) values[i * keys + j] = -1e9;
  return tf.tensor2d(values, [queries, keys]);
}

for (const backend of testBackends()) {
  describe(`ops on ${backend}`, () => {
    it('gelu matches the tanh formula of GPT-2, values and gradient', async () => {
      await useBackend(backend);
      const x = randomTensor([64], 1, 3);
      const reference = (t: tf.Tensor) => tf.mul(tf.mul(0.5, t), tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(t, tf.mul(0.044715, tf.mul(t, tf.mul(t, t))))))));
      assert.ok(maxAbsDifference(gelu(x), reference(x)) < 1e-5);
      assert.ok(maxAbsDifference(tf.grad((t: tf.Tensor) => tf.sum(gelu(t)))(x), tf.grad((t: tf.Tensor) => tf.sum(reference(t)))(x)) < 1e-5);
    });

    it('layerNorm equals the composite formula, and its hand-written gradient equals autograd', async () => {
      await useBackend(backend);
      const x = randomTensor([6, 8], 2, 2);
      const weight = tf.variable(randomTensor([8], 3), true);
      const bias = tf.variable(randomTensor([8], 4), true);
      const reference = (t: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => {
        const centred = tf.sub(t, tf.mean(t, -1, true));
        return tf.add(tf.mul(tf.div(centred, tf.sqrt(tf.add(tf.mean(tf.square(centred), -1, true), 1e-5))), w), b);
      };
      assert.ok(maxAbsDifference(layerNorm(x, weight, bias, 1e-5), reference(x, weight, bias)) < 1e-5);
      const upstream = randomTensor([6, 8], 5);
      const ours = tf.grads((t: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(layerNorm(t, w, b, 1e-5), upstream)))([x, weight, bias]);
      const theirs = tf.grads((t: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(reference(t, w, b), upstream)))([x, weight, bias]);
      ours.forEach((g, i) => assert.ok(maxAbsDifference(g, theirs[i]) < 1e-4, `gradient ${i} differs by ${maxAbsDifference(g, theirs[i])}`));
    });

    it('causal attention: the depthwise and matmul kernels agree, values and gradients, with a key prefix', async () => {
      await useBackend(backend);
      const [batch, queries, heads, size, prefix] = [2, 5, 3, 4, 2];
      const q = randomTensor([batch, queries, heads, size], 6) as tf.Tensor4D;
      const k = randomTensor([batch, prefix + queries, heads, size], 7) as tf.Tensor4D;
      const v = randomTensor([batch, prefix + queries, heads, size], 8) as tf.Tensor4D;
      const mask = causalMask(queries, prefix);
      const upstream = randomTensor([batch, queries, heads, size], 9);
      const run = (kernel: 'depthwise' | 'matmul') => {
        const value = causalAttention(q, k, v, mask, kernel);
        const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(causalAttention(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor4D, mask, kernel), upstream)))([q, k, v]);
        return { value, grads };
      };
      const depthwise = run('depthwise');
      const matmul = run('matmul');
      assert.ok(maxAbsDifference(depthwise.value, matmul.value) < 1e-5);
      depthwise.grads.forEach((g, i) => assert.ok(maxAbsDifference(g, matmul.grads[i]) < 1e-4, `gradient ${'qkv'[i]} differs by ${maxAbsDifference(g, matmul.grads[i])}`));
    });

    it('fast matmul, gather and broadcast-add gradients equal the analytic ones', async () => {
      await useBackend(backend);
      const a = randomTensor([5, 7], 10);
      const b = randomTensor([7, 3], 11);
      const upstream = randomTensor([5, 3], 12);
      const [da, db] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y), upstream)))([a, b]);
      assert.ok(maxAbsDifference(da, tf.matMul(upstream, tf.transpose(b))) < 1e-5);
      assert.ok(maxAbsDifference(db, tf.matMul(tf.transpose(a), upstream)) < 1e-5);
      // Both orders of the dB product (transposing A, or dy and the result) are used depending on sizes.
      const wide = randomTensor([5, 40], 13);
      const narrowW = randomTensor([40, 2], 14);
      const up2 = randomTensor([5, 2], 15);
      const dW = tf.grad((w: tf.Tensor) => tf.sum(tf.mul(tf.matMul(wide, w), up2)))(narrowW);
      assert.ok(maxAbsDifference(dW, tf.matMul(tf.transpose(wide), up2)) < 1e-5);
      // dy far larger than A and B (LoRA's up-projection): dB = (dyᵀ·A)ᵀ.
      const thin = randomTensor([21, 1], 21);
      const row = randomTensor([1, 30], 22);
      const up3 = randomTensor([21, 30], 23);
      const [dThin, dRow] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y), up3)))([thin, row]);
      assert.ok(maxAbsDifference(dRow, tf.matMul(tf.transpose(thin), up3)) < 1e-5);
      assert.ok(maxAbsDifference(dThin, tf.matMul(up3, tf.transpose(row))) < 1e-5);

      const table = randomTensor([6, 4], 16);
      const indices = tf.tensor1d([1, 3, 1, 0, 1], 'int32');
      const dTable = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, indices), randomTensor([5, 4], 17))))(table);
      const expected = tf.tidy(() => {
        const up = randomTensor([5, 4], 17).arraySync() as number[][];
        const rows = Array.from({ length: 6 }, () => [0, 0, 0, 0]);
        [1, 3, 1, 0, 1].forEach((row, i) => up[i].forEach((value, j) => (rows[row][j] += value)));
        return tf.tensor2d(rows);
      });
      assert.ok(maxAbsDifference(dTable, expected) < 1e-5, 'duplicate indices must be summed');

      const bias = randomTensor([3], 18);
      const dBias = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.add(randomTensor([4, 5, 3], 19), t), randomTensor([4, 5, 3], 20))))(bias);
      assert.ok(maxAbsDifference(dBias, tf.sum(randomTensor([4, 5, 3], 20), [0, 1])) < 1e-5);
    });

    it('embed equals tf.gather, values and gradient with repeated ids', async () => {
      await useBackend(backend);
      const table = randomTensor([6, 4], 28);
      const ids = tf.tensor1d([5, 0, 5, 2, 5], 'int32');
      assert.deepEqual(embed(table, ids).arraySync(), tf.gather(table, ids).arraySync());
      const upstream = randomTensor([5, 4], 29);
      const ours = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(embed(t, ids), upstream)))(table);
      const theirs = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, ids), upstream)))(table);
      assert.ok(maxAbsDifference(ours, theirs) < 1e-6, `gradient differs by ${maxAbsDifference(ours, theirs)}`);
      const direct = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gatherND(t, tf.reshape(ids, [5, 1])), upstream)))(table);
      assert.ok(maxAbsDifference(direct, theirs) < 1e-6, 'GatherNd gradient on this backend');
      assert.throws(() => embed(table, tf.reshape(ids, [5, 1])), /needs a table \[V, D\] and ids \[N\], got \[6,4\] and \[5,1\]/);
    });

    it('transposeMatrix equals tf.transpose for even, odd and prime row counts and rank 3, values and gradients', async () => {
      await useBackend(backend);
      for (const shape of [[12, 5], [9, 4], [7, 3], [1, 6], [6, 1], [2, 3, 4]]) {
        const x = randomTensor(shape, 24);
        const permutation = shape.length === 2 ? [1, 0] : [0, 2, 1];
        assert.deepEqual(transposeMatrix(x).arraySync(), tf.transpose(x, permutation).arraySync(), `[${shape}]`);
        const upstream = randomTensor(tf.transpose(x, permutation).shape, 25);
        const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(transposeMatrix(t), upstream)))(x);
        assert.deepEqual(dx.arraySync(), tf.transpose(upstream, permutation).arraySync(), `gradient of [${shape}]`);
      }
      assert.throws(() => transposeMatrix(tf.ones([3])), /needs rank 2 or more, got \[3\]/);
    });

    it('expNonPositive equals exp on z ≤ 0 to float precision', async () => {
      await useBackend(backend);
      const z = tf.neg(tf.abs(randomTensor([200], 26, 20)));
      const ratio = tf.div(expNonPositive(z), tf.exp(z)).dataSync();
      for (const r of ratio) assert.ok(Math.abs(r - 1) < 1e-5, `exp ratio ${r}`);
      assert.equal(expNonPositive(tf.tensor1d([0])).dataSync()[0], 1);
    });

    it('cross-entropy equals logSoftmax at the targets, with and without weights, and its gradient equals autograd of that formula', async () => {
      await useBackend(backend);
      const logits = randomTensor([9, 11], 27, 4);
      const targets = tf.tensor1d([0, 3, 10, 5, 5, 1, 7, 2, 9], 'int32');
      const weights = tf.tensor1d([1, 0, 1, 1, 0, 1, 1, 0, 1]);
      const reference = (l: tf.Tensor, w?: tf.Tensor): tf.Scalar => {
        const picked = tf.sum(tf.mul(tf.logSoftmax(l), tf.oneHot(targets, 11)), -1); // [9]
        return (w === undefined ? tf.neg(tf.mean(picked)) : tf.div(tf.neg(tf.sum(tf.mul(picked, w))), tf.sum(w))) as tf.Scalar;
      };
      for (const w of [undefined, weights]) {
        const ours = crossEntropy(logits as tf.Tensor2D, targets, w).dataSync()[0];
        const theirs = reference(logits, w).dataSync()[0];
        assert.ok(Math.abs(ours - theirs) < 1e-5, `loss ${ours} vs ${theirs}`);
        const dOurs = tf.grad((l: tf.Tensor) => crossEntropy(l as tf.Tensor2D, targets, w))(logits);
        const dTheirs = tf.grad((l: tf.Tensor) => reference(l, w))(logits);
        assert.ok(maxAbsDifference(dOurs, dTheirs) < 1e-6, `gradient differs by ${maxAbsDifference(dOurs, dTheirs)}`);
      }
      const none = crossEntropy(logits as tf.Tensor2D, targets, tf.zeros([9]) as tf.Tensor1D);
      assert.equal(none.dataSync()[0], 0, 'all-zero weights give 0, not NaN');
    });

    it('grouped cross-entropy gives each group of rows its own cross-entropy and gradient (packed training)', async () => {
      await useBackend(backend);
      const logits = randomTensor([9, 11], 31, 3) as tf.Tensor2D;
      const targets = tf.tensor1d([0, 3, 10, 5, 5, 1, 7, 2, 9], 'int32');
      const groups = [2, 4, 3];
      // The middle group's weights are all zero: 0, as crossEntropy gives, not NaN.
      for (const w of [undefined, tf.tensor1d([1, 1, 0, 0, 0, 0, 1, 0, 1])]) {
        const rowsOf = (t: tf.Tensor, start: number, n: number): tf.Tensor => tf.slice(t, [start, ...t.shape.slice(1).map(() => 0)], [n, ...t.shape.slice(1)]);
        const separate = (l: tf.Tensor): tf.Tensor => {
          let start = 0;
          return tf.stack(groups.map((n) => {
            const loss = crossEntropy(rowsOf(l, start, n) as tf.Tensor2D, rowsOf(targets, start, n) as tf.Tensor1D, w === undefined ? undefined : (rowsOf(w, start, n) as tf.Tensor1D));
            start += n;
            return loss;
          }));
        };
        const ours = groupedCrossEntropy(logits, targets, groups, w);
        assert.ok(maxAbsDifference(ours, separate(logits)) < 1e-5, `losses ${ours.dataSync()} vs ${separate(logits).dataSync()}`);
        const scale = tf.tensor1d([1, -2, 0.5]); // a different dy per group
        const dOurs = tf.grad((l: tf.Tensor) => tf.sum(tf.mul(groupedCrossEntropy(l as tf.Tensor2D, targets, groups, w), scale)))(logits);
        const dTheirs = tf.grad((l: tf.Tensor) => tf.sum(tf.mul(separate(l), scale)))(logits);
        assert.ok(maxAbsDifference(dOurs, dTheirs) < 1e-6, `gradient differs by ${maxAbsDifference(dOurs, dTheirs)}`);
      }
      // A group with NaN logits (a diverged trial) leaves the other groups' losses and gradients finite.
      const broken = tf.concat([tf.slice(logits, [0, 0], [2, 11]), tf.fill([4, 11], NaN), tf.slice(logits, [6, 0], [3, 11])]) as tf.Tensor2D;
      const losses = groupedCrossEntropy(broken, targets, groups).dataSync();
      assert.ok(Number.isFinite(losses[0]) && Number.isNaN(losses[1]) && Number.isFinite(losses[2]), `losses ${losses}`);
      const gradient = tf.grad((l: tf.Tensor) => tf.sum(groupedCrossEntropy(l as tf.Tensor2D, targets, groups)))(broken).arraySync() as number[][];
      assert.ok([0, 1, 6, 7, 8].every((row) => gradient[row].every(Number.isFinite)), 'the other groups\' gradients stay finite');
      assert.throws(() => groupedCrossEntropy(logits, targets, [2, 4]), /group rows \[2, 4\] must be positive integers summing to the 9 rows/);
    });

    it('cross-entropy is logsumexp minus the target logit, weighted positions only', async () => {
      await useBackend(backend);
      assert.ok(Math.abs(crossEntropy(tf.tensor2d([[0, 0]]), tf.tensor1d([1], 'int32')).dataSync()[0] - Math.log(2)) < 1e-6);
      const logits = tf.tensor2d([[2, 0, 0], [0, 5, 0]]);
      const weighted = crossEntropy(logits, tf.tensor1d([0, 2], 'int32'), tf.tensor1d([1, 0])).dataSync()[0];
      const expected = Math.log(Math.exp(2) + 2) - 2;
      assert.ok(Math.abs(weighted - expected) < 1e-5, `${weighted} vs ${expected}`);
      assert.throws(() => crossEntropy(logits, tf.tensor1d([0], 'int32')), /need targets \[2\], got \[1\]/);
    });
  });
}
