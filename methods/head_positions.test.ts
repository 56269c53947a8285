/**
 * The LM head at scored positions only (GPT2.logitsAt, and languageModelLoss with a loss mask) gives what
 * the whole-vocabulary head gave, for every method that changes the forward pass, on every backend:
 * the logits at the scored positions, the masked loss and its gradients with respect to every trainable
 * tensor, within float tolerance.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type { AdaptedModel } from '../src/adapt/adapted.js';
import { initBackend } from '../src/model/backend.js';
import type { GPT2 } from '../src/model/model.js';
import { crossEntropy } from '../src/ops/cross_entropy.js';
import './index.js';
import { testBackends } from '../test/helpers.js';
import { adapt, maxAbsDifference, patternBatch, sensitiveBase } from './test_support.js';

/** Each way a method reaches into the forward pass: input prefix, key/value prefix, deltas, overrides (wte included). */
const CONFIGS = [
  { name: 'prompt-tuning', raw: { length: 4 } },
  { name: 'prefix-tuning', raw: { length: 3, projection: 8 } },
  { name: 'p-tuning', raw: { length: 3, encoder: 'lstm', hidden: 8 } },
  { name: 'lora', raw: { rank: 4, targets: 'all-linear' } },
  { name: 'ia3', raw: {} },
  { name: 'bitfit', raw: {} },
  { name: 'full', raw: {} },
] as const;

/** A loss mask [4, 16]: a few answer positions per row, as trials mark their label tokens, one row with none. */
function answerMask(): tf.Tensor2D {
  const mask = new Float32Array(4 * 16);
  mask.fill(1, 13, 16);
  mask.fill(1, 16 + 9, 16 + 11);
  mask[3 * 16 + 15] = 1;
  return tf.tensor2d(mask, [4, 16]);
}

/** The whole-vocabulary loss, as languageModelLoss computed it before the head moved to scored positions. */
function fullHeadLoss(model: AdaptedModel, tokens: tf.Tensor2D, mask: tf.Tensor2D): tf.Scalar {
  const [b, t] = tokens.shape;
  const v = model.base.config.vocabSize;
  const logits = model.forward(tokens, false);
  const predicting = tf.reshape(tf.slice(logits, [0, 0, 0], [b, t - 1, v]), [-1, v]) as tf.Tensor2D;
  const targets = tf.reshape(tf.slice(tokens, [0, 1], [b, t - 1]), [-1]) as tf.Tensor1D;
  const weights = tf.reshape(tf.slice(mask, [0, 1], [b, t - 1]), [-1]) as tf.Tensor1D;
  return crossEntropy(predicting, targets, weights);
}

for (const backend of testBackends()) {
  describe(`the LM head at scored positions [${backend}]`, () => {
    let base: GPT2;
    let tokens: tf.Tensor2D;
    let mask: tf.Tensor2D;
    before(async () => {
      await initBackend(backend);
      base = sensitiveBase();
      tokens = patternBatch();
      mask = answerMask();
    });
    after(() => {
      base.dispose();
      tokens.dispose();
      mask.dispose();
    });

    for (const config of CONFIGS) {
      it(`${config.name} ${JSON.stringify(config.raw)}: logits, masked loss and gradients equal the whole-vocabulary head's`, () => {
        const model = adapt(base, config.name, config.raw);
        // Move every trainable tensor off its init, so that identity-at-init methods are really exercised.
        for (const variable of model.variables()) variable.assign(tf.tidy(() => tf.add(variable, tf.mul(tf.randomNormal(variable.shape, 0, 1, 'float32', 11), 0.05))));
        try {
          const positions = [0, 5, 15, 16 + 3, 3 * 16 + 14, 2 * 16 + 7, 5];
          const full = model.forward(tokens, false); // [4, 16, V]
          const expected = tf.gather(tf.reshape(full, [-1, base.config.vocabSize]), tf.tensor1d(positions, 'int32'));
          const headed = model.logitsAt(tokens, positions, false);
          assert.deepEqual(headed.shape, [positions.length, base.config.vocabSize]);
          const scale = Math.max(1, tf.tidy(() => tf.max(tf.abs(expected)).dataSync()[0]));
          assert.ok(maxAbsDifference(headed, expected) <= 1e-5 * scale, `logits differ by ${maxAbsDifference(headed, expected)} (scale ${scale})`);

          const variables = model.variables();
          const before = tf.variableGrads(() => fullHeadLoss(model, tokens, mask), variables);
          const after = tf.variableGrads(() => model.loss(tokens, mask, false), variables);
          const [oldLoss, newLoss] = [before.value.dataSync()[0], after.value.dataSync()[0]];
          assert.ok(Number.isFinite(newLoss) && Math.abs(newLoss - oldLoss) <= 1e-5 * Math.max(1, Math.abs(oldLoss)), `loss ${newLoss} vs ${oldLoss}`);
          assert.equal(Object.keys(after.grads).length, variables.length);
          for (const [name, gradient] of Object.entries(before.grads)) {
            const gradScale = Math.max(1e-3, tf.tidy(() => tf.max(tf.abs(gradient)).dataSync()[0]));
            const difference = maxAbsDifference(after.grads[name], gradient);
            assert.ok(difference <= 1e-4 * gradScale, `${name}: gradients differ by ${difference} (largest ${gradScale})`);
          }
          tf.dispose([full, expected, headed, before.value, after.value, ...Object.values(before.grads), ...Object.values(after.grads)]);
        } finally {
          model.dispose();
        }
      });
    }

    it('refuses positions outside the batch, naming the position and the range', () => {
      assert.throws(() => base.logitsAt(tokens, [0, 64]), /position 1 = 64; allowed: an integer 0\.\.63/);
      assert.throws(() => base.logitsAt(tokens, [-1]), /position 0 = -1/);
    });
  });
}
