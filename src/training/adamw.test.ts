/**
 * AdamW: bit for bit tf.train.adam with 'float32' bias corrections (what fine-tuning's 'adam' relies on),
 * against a Float64 reference with decoupled weight decay and 'float64' corrections (pretraining's), the
 * moments a resumed optimiser is given, config validation and tensor leaks; on every test backend.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { AdamW, biasCorrection, clipByGlobalNorm, resolveAdamWConfig } from './adamw.js';
import { bytesOf, testBackends, useBackend } from '../../test/helpers.js';

/** A matrix, a vector and a fixed batch: loss = mean((tanh(x·W) + b - y)²), so the gradients differ in every element and step. */
function problem(seed: number): { variables: tf.Variable[]; loss: () => tf.Scalar; dispose: () => void } {
  const x = tf.randomNormal([12, 8], 0, 1, 'float32', seed); // [N, 8]
  const y = tf.randomNormal([12, 6], 0, 1, 'float32', seed + 1); // [N, 6]
  const w = tf.tidy(() => tf.variable(tf.randomNormal([8, 6], 0, 0.5, 'float32', seed + 2), true)); // [8, 6]
  const b = tf.tidy(() => tf.variable(tf.randomNormal([6], 0, 0.5, 'float32', seed + 3), true)); // [6]
  return {
    variables: [w, b],
    loss: () => tf.mean(tf.square(tf.sub(tf.add(tf.tanh(tf.matMul(x, w)), b), y))),
    dispose: () => tf.dispose([x, y, w, b]),
  };
}

for (const backend of testBackends()) {
  describe(`AdamW on ${backend}`, () => {
    it("with 'float32' corrections gives tf.train.adam's weights and moments bit for bit, step after step", async () => {
      await useBackend(backend);
      for (const learningRate of [1e-3, 0.05]) {
        const ours = problem(7);
        const theirs = problem(7);
        const adamw = new AdamW({ learningRate, epsilon: tf.backend().epsilon() });
        const adam = tf.train.adam(learningRate);
        for (let step = 1; step <= 40; step++) {
          adamw.minimize(ours.loss, false, ours.variables);
          adam.minimize(theirs.loss, false, theirs.variables);
          ours.variables.forEach((variable, i) => assert.deepEqual(bytesOf(variable), bytesOf(theirs.variables[i]), `lr ${learningRate}, step ${step}: ${variable.name} differs`));
        }
        const theirMoments = await adam.getWeights(); // [iterations, m per variable, v per variable]
        ours.variables.forEach((variable, i) => {
          const moments = adamw.moments(variable) ?? assert.fail('no moments');
          assert.deepEqual(bytesOf(moments.m), bytesOf(theirMoments[1 + i].tensor));
          assert.deepEqual(bytesOf(moments.v), bytesOf(theirMoments[1 + ours.variables.length + i].tensor));
        });
        tf.dispose(theirMoments[0].tensor);
        adamw.dispose();
        adam.dispose();
        ours.dispose();
        theirs.dispose();
      }
    });

    it("with 'float64' corrections and weight decay follows a Float64 reference; decay only on matrices", async () => {
      await useBackend(backend);
      const config = { learningRate: 0.01, beta1: 0.9, beta2: 0.95, epsilon: 1e-8, weightDecay: 0.1, biasCorrection: 'float64' as const };
      const w = tf.variable(tf.tensor2d([[0.5, -1], [2, 0.25]]), true); // [2, 2]
      const b = tf.variable(tf.tensor1d([1, -2]), true); // [2]
      const target = [[1, 2], [3, 4]];
      const reference = { w: [0.5, -1, 2, 0.25], b: [1, -2], mw: [0, 0, 0, 0], vw: [0, 0, 0, 0], mb: [0, 0], vb: [0, 0] };
      const adamw = new AdamW(config);
      for (let step = 1; step <= 10; step++) {
        // loss = Σ (w - target)² + Σ b²: gradients 2(w - target) and 2b.
        adamw.minimize(() => tf.add(tf.sum(tf.square(tf.sub(w, tf.tensor2d(target)))), tf.sum(tf.square(b))), false, [w, b]);
        const c1 = 1 - config.beta1 ** step;
        const c2 = 1 - config.beta2 ** step;
        const update = (p: number[], m: number[], v: number[], g: number[], decay: boolean): void => {
          p.forEach((value, i) => {
            m[i] = config.beta1 * m[i] + (1 - config.beta1) * g[i];
            v[i] = config.beta2 * v[i] + (1 - config.beta2) * g[i] ** 2;
            const u = m[i] / c1 / (Math.sqrt(v[i] / c2) + config.epsilon) + (decay ? config.weightDecay * value : 0);
            p[i] = value - config.learningRate * u;
          });
        };
        update(reference.w, reference.mw, reference.vw, reference.w.map((value, i) => 2 * (value - target[Math.floor(i / 2)][i % 2])), true);
        update(reference.b, reference.mb, reference.vb, reference.b.map((value) => 2 * value), false);
      }
      [...w.dataSync()].forEach((value, i) => assert.ok(Math.abs(value - reference.w[i]) < 1e-5, `w[${i}] ${value} vs ${reference.w[i]}`));
      [...b.dataSync()].forEach((value, i) => assert.ok(Math.abs(value - reference.b[i]) < 1e-5, `b[${i}] ${value} vs ${reference.b[i]}`));
      assert.equal(adamw.step, 10);
      adamw.dispose();
      tf.dispose([w, b]);
    });

    it('resumes from restored moments and a step count to the uninterrupted weights, leaving no tensor behind', async () => {
      await useBackend(backend);
      const before = tf.memory().numTensors;
      const config = { learningRate: 0.02, beta2: 0.95, epsilon: 1e-8, weightDecay: 0.05, biasCorrection: 'float64' as const };
      const straight = problem(3);
      const uninterrupted = new AdamW(config);
      for (let step = 0; step < 6; step++) uninterrupted.minimize(straight.loss, false, straight.variables);

      const resumed = problem(3);
      const first = new AdamW(config);
      for (let step = 0; step < 4; step++) first.minimize(resumed.loss, false, resumed.variables);
      const saved = resumed.variables.map((variable) => {
        const moments = first.moments(variable) ?? assert.fail('no moments');
        return { m: moments.m.clone(), v: moments.v.clone() };
      });
      first.dispose();
      const second = new AdamW({ ...config, step: 4 });
      resumed.variables.forEach((variable, i) => second.restoreMoments(variable, saved[i].m, saved[i].v));
      tf.dispose(saved.flatMap(({ m, v }) => [m, v]));
      for (let step = 4; step < 6; step++) second.minimize(resumed.loss, false, resumed.variables);
      resumed.variables.forEach((variable, i) => assert.deepEqual(bytesOf(variable), bytesOf(straight.variables[i])));
      const wrong = tf.zeros([2]);
      assert.throws(() => second.restoreMoments(resumed.variables[0], wrong, wrong), /m of ".*" is \[2\], expected \[8,6\]/);
      wrong.dispose();
      second.dispose();
      uninterrupted.dispose();
      straight.dispose();
      resumed.dispose();
      assert.equal(tf.memory().numTensors, before, 'AdamW left tensors allocated');
    });

    it('clips gradients to a global norm', async () => {
      await useBackend(backend);
      tf.tidy(() => {
        const [a, b] = clipByGlobalNorm([tf.tensor1d([3, 0]), tf.tensor1d([0, 4])], 1); // norm 5
        assert.ok(Math.abs(a.dataSync()[0] - 0.6) < 1e-6 && Math.abs(b.dataSync()[1] - 0.8) < 1e-6);
        const [c] = clipByGlobalNorm([tf.tensor1d([0.3, 0.4])], 1); // norm 0.5: unchanged
        assert.deepEqual([...c.dataSync()], [...tf.tensor1d([0.3, 0.4]).dataSync()]);
      });
    });
  });
}

describe('AdamW config', () => {
  it('names every invalid field', () => {
    assert.throws(
      () => resolveAdamWConfig({ learningRate: 0, beta2: 1, step: -1, biasCorrection: 'float16' as 'float32' }),
      (error: Error) => ['learningRate = 0', 'beta2 = 1', 'step = -1', 'biasCorrection = "float16"'].every((part) => error.message.includes(part)),
    );
  });
  it("computes 'float32' corrections as a float32 running product, 'float64' ones exactly", () => {
    assert.equal(biasCorrection(0.9, 1, 'float64'), 1 - 0.9);
    assert.equal(biasCorrection(0.9, 1, 'float32'), Math.fround(1 - Math.fround(0.9)));
    assert.equal(biasCorrection(0.9, 3, 'float32'), Math.fround(1 - Math.fround(Math.fround(Math.fround(0.9) * Math.fround(0.9)) * Math.fround(0.9))));
  });
});
