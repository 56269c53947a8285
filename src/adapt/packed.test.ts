/**
 * Packing: every group of a packed batch gets what its rows get alone with its own adapter (input prompts,
 * key/value prefixes, linear deltas), a packed training step moves each member as its own step would
 * (its own optimiser state included), and what cannot be packed is refused. Uses small methods defined
 * here (src/ never imports methods/); the real methods are compared trial by trial in
 * experiments/run/packed_trials.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { AdaptedModel } from './adapted.js';
import type { MethodContext, PeftMethod } from './peft.js';
import { packHooks, packingProblem } from './packed.js';
import type { GPT2 } from '../model/model.js';
import { createOptimizer, packedTrainStep, trainStep } from '../training/train.js';
import { maxAbsDifference, sensitiveBase, testBackends, tokenRows, TINY_CONFIG, useBackend } from '../../test/helpers.js';

const positions = { positions: () => ({ input: 0, attention: 0 }) };
const promptMethod: PeftMethod = {
  name: 'pack-test-prompt',
  packing: { positions: () => ({ input: 3, attention: 0 }) },
  options: [],
  addedParameters: (config) => [{ name: 'prompt', shape: [3, config.dModel], init: { kind: 'normal', std: 1 } }],
  trainableBaseParameters: () => [],
  closedFormTrainable: (config) => 3 * config.dModel,
  hooks: (tensors) => ({ inputPrefix: () => tensors.get('prompt') as tf.Tensor }),
};
const prefixMethod: PeftMethod = {
  name: 'pack-test-prefix',
  packing: { positions: () => ({ input: 0, attention: 2 }) },
  options: [],
  addedParameters: (config) => [{ name: 'kv', shape: [2, 2 * config.dModel], init: { kind: 'normal', std: 1 } }],
  trainableBaseParameters: () => [],
  closedFormTrainable: (config) => 4 * config.dModel,
  hooks: (tensors, config) => ({
    attentionPrefix: () => {
      const kv = tensors.get('kv') as tf.Tensor;
      return { key: tf.slice(kv, [0, 0], [2, config.dModel]), value: tf.slice(kv, [0, config.dModel], [2, config.dModel]) };
    },
  }),
};
/** A delta that depends on the rows it sees (so a wrong slice shows) and on a trainable matrix. */
const deltaMethod: PeftMethod = {
  name: 'pack-test-delta',
  packing: positions,
  options: [],
  addedParameters: (config) => [{ name: 'm', shape: [config.dModel, config.dModel], init: { kind: 'normal', std: 0.5 } }],
  trainableBaseParameters: () => [],
  closedFormTrainable: (config) => config.dModel * config.dModel,
  hooks: (tensors) => ({ linearDelta: (_layer, site, input) => (site === 'attn.c_proj' ? (tf.matMul(tf.tanh(input), tensors.get('m') as tf.Tensor2D) as tf.Tensor2D) : null) }),
};
const overrideMethod: PeftMethod = {
  name: 'pack-test-override',
  packing: positions,
  options: [],
  addedParameters: () => [],
  trainableBaseParameters: () => ['ln_f.bias'],
  closedFormTrainable: (config) => config.dModel,
  hooks: () => ({}),
};

function context(base: GPT2, seed: number): MethodContext {
  return { config: base.config, seed, baseParameter: (name) => base.parameter(name), encode: () => [] };
}

/** Rows [start, start + rows) of tokens. */
function rowsOf(tokens: tf.Tensor2D, start: number, rows: number): tf.Tensor2D {
  return tf.slice(tokens, [start, 0], [rows, tokens.shape[1]]);
}

/** 1e-5 relative to the larger magnitude of a and b. */
function close(a: tf.Tensor, b: tf.Tensor, what: string): void {
  const scale = tf.tidy(() => Math.max(1, tf.max(tf.abs(a)).dataSync()[0], tf.max(tf.abs(b)).dataSync()[0]));
  const difference = maxAbsDifference(a, b);
  assert.ok(difference <= 1e-5 * scale, `${what}: max |difference| ${difference} over ${1e-5 * scale}`);
}

for (const backend of testBackends()) {
  describe(`packing on ${backend}`, () => {
    for (const method of [promptMethod, prefixMethod, deltaMethod]) {
      it(`${method.name}: every group of a packed forward equals its rows alone with its own adapter`, async () => {
        await useBackend(backend);
        const base = sensitiveBase(3);
        const models = [1, 2, 3].map((seed) => AdaptedModel.create(base, method, {}, context(base, seed)));
        const rows = [2, 1, 3];
        const tokens = tokenRows(6, 9, TINY_CONFIG.vocabSize);
        const packed = base.forward(tokens, { hooks: packHooks(models.map((model, g) => ({ hooks: model.hooks(), rows: rows[g] }))) });
        let start = 0;
        models.forEach((model, g) => {
          const alone = tf.tidy(() => model.forward(rowsOf(tokens, start, rows[g])));
          close(tf.slice(packed, [start, 0, 0], [rows[g], 9, TINY_CONFIG.vocabSize]), alone, `group ${g}`);
          start += rows[g];
          alone.dispose();
        });
        packed.dispose();
        tokens.dispose();
        models.forEach((model) => model.dispose());
        base.dispose();
      });
    }

    it('a packed step moves each member as its own step would, with its own optimiser and state', async () => {
      await useBackend(backend);
      const base = sensitiveBase(5);
      const methods = [promptMethod, promptMethod, promptMethod];
      const optimizers = ['adam', 'adafactor', 'sgd'];
      const rows = [2, 3, 2];
      const make = (): { model: AdaptedModel; optimizer: tf.Optimizer }[] =>
        methods.map((method, g) => ({ model: AdaptedModel.create(base, method, {}, context(base, 10 + g)), optimizer: createOptimizer(optimizers[g], 0.05) }));
      const packed = make();
      const alone = make();
      const tokens = tokenRows(7, 8, TINY_CONFIG.vocabSize, 2);
      const mask = tf.tensor2d(Array.from({ length: 7 * 8 }, (_, i) => (i % 8 >= 5 ? 1 : 0)), [7, 8]);
      for (let step = 0; step < 3; step++) {
        const losses = packedTrainStep(packed.map((member, g) => ({ ...member, rows: rows[g] })), tokens, mask);
        let start = 0;
        alone.forEach(({ model, optimizer }, g) => {
          const [t, m] = [rowsOf(tokens, start, rows[g]), rowsOf(mask, start, rows[g])];
          const loss = trainStep(model, optimizer, t, m);
          tf.dispose([t, m]);
          assert.ok(Math.abs(loss - losses[g]) <= 1e-5 * Math.max(1, Math.abs(loss)), `step ${step} member ${g}: loss ${losses[g]} packed, ${loss} alone`);
          start += rows[g];
        });
      }
      packed.forEach(({ model }, g) => close(model.variables()[0], alone[g].model.variables()[0], `member ${g} (${optimizers[g]}) after 3 steps`));
      assert.ok(maxAbsDifference(packed[0].model.variables()[0], packed[1].model.variables()[0]) > 0.01, 'members start and move differently');
      tf.dispose([tokens, mask]);
      for (const { model, optimizer } of [...packed, ...alone]) {
        model.dispose();
        optimizer.dispose();
      }
      base.dispose();
    });

    it('refuses what cannot be packed: weights replaced for the batch, base parameters that train, prefixes of different lengths', async () => {
      await useBackend(backend);
      const base = sensitiveBase(7);
      assert.match(packingProblem(overrideMethod, base.config, {}) ?? '', /trains base parameters \(ln_f\.bias\)/);
      assert.equal(packingProblem(promptMethod, base.config, {}), null);
      const override = AdaptedModel.create(base, overrideMethod, {}, context(base, 1));
      assert.throws(() => packHooks([{ hooks: override.hooks(), rows: 2 }]), /acts through parameterOverrides/);
      const prompt = AdaptedModel.create(base, promptMethod, {}, context(base, 1));
      const delta = AdaptedModel.create(base, deltaMethod, {}, context(base, 1));
      const tokens = tokenRows(3, 5, TINY_CONFIG.vocabSize);
      const hooks = packHooks([{ hooks: prompt.hooks(), rows: 2 }, { hooks: delta.hooks(), rows: 1 }]);
      assert.throws(() => base.forward(tokens, { hooks }), /inputPrefix lengths differ \(3, 0\)/);
      assert.throws(() => base.forward(tokens, { hooks: packHooks([{ hooks: prompt.hooks(), rows: 2 }]) }), /a batch of 3 rows; the members cover 2/);
      tokens.dispose();
      [override, prompt, delta].forEach((model) => model.dispose());
      base.dispose();
    });
  });
}
