import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendName } from './backend.js';
import { PRESETS, findPreset, type ModelConfig } from './config.js';
import { GPT2 } from './model.js';
import { closedFormParameterCount, countParameters, modelParameterSpecs, numel } from './params.js';
import { bytesOf, maxAbsDifference, testBackends, tokenRows, TINY_CONFIG, useBackend } from '../../test/helpers.js';

describe('parameter counts (declared shapes, nothing allocated)', () => {
  it('gpt2 has exactly 124,439,808 parameters and gpt2-medium 354,823,168', () => {
    assert.equal(countParameters(modelParameterSpecs(findPreset('gpt2').config)), 124_439_808);
    assert.equal(countParameters(modelParameterSpecs(findPreset('gpt2-medium').config)), 354_823_168);
  });
  it('gpt2-large and gpt2-xl match their published sizes', () => {
    assert.equal(countParameters(modelParameterSpecs(findPreset('gpt2-large').config)), 774_030_080);
    assert.equal(countParameters(modelParameterSpecs(findPreset('gpt2-xl').config)), 1_557_611_200);
  });
  for (const preset of PRESETS) {
    it(`${preset.name}: declared shapes equal the closed form, and every parameter is counted exactly once`, () => {
      const specs = modelParameterSpecs(preset.config);
      assert.equal(countParameters(specs), closedFormParameterCount(preset.config));
      const names = specs.map((s) => s.name);
      assert.equal(new Set(names).size, names.length, 'a parameter name appears twice');
      // Partition by role: embeddings, per-layer tensors, final norm; together exactly all of them.
      const groups = [names.filter((n) => n.startsWith('wte.') || n.startsWith('wpe.')), names.filter((n) => /^h\.\d+\./.test(n)), names.filter((n) => n.startsWith('ln_f.'))];
      assert.equal(groups.reduce((sum, g) => sum + g.length, 0), names.length);
      assert.equal(groups[1].length, preset.config.nLayers * 12);
    });
  }
  it('the pretrainable presets span at least 50x, the smallest under 50K parameters', () => {
    const counts = PRESETS.filter((p) => p.kind === 'pretrain').map((p) => countParameters(modelParameterSpecs(p.config)));
    assert.ok(counts.length >= 5);
    assert.ok(Math.min(...counts) < 50_000, `smallest has ${Math.min(...counts)}`);
    assert.ok(Math.max(...counts) / Math.min(...counts) >= 50);
    assert.deepEqual([...counts].sort((a, b) => a - b), counts, 'presets are listed smallest first');
  });
  it('an allocated model holds exactly the declared number of values', async () => {
    await useBackend('wasm');
    const model = GPT2.initialize(TINY_CONFIG, 1);
    let allocated = 0;
    for (const tensor of model.parameters().values()) allocated += tensor.size;
    assert.equal(allocated, countParameters(modelParameterSpecs(TINY_CONFIG)));
    model.dispose();
  });
});

for (const backend of testBackends()) {
  describe(`GPT2 on ${backend}`, () => {
    it('is causal: changing token t+1 leaves logits at positions ≤ t bit-identical', async () => {
      await useBackend(backend);
      const model = GPT2.initialize(TINY_CONFIG, 3);
      const length = 12;
      const tokens = tokenRows(2, length, TINY_CONFIG.vocabSize);
      const values = tokens.arraySync();
      for (const t of [0, 5, length - 2]) {
        const changed = values.map((row) => row.map((token, i) => (i === t + 1 ? (token + 101) % TINY_CONFIG.vocabSize : token)));
        const a = model.forward(tokens);
        const b = model.forward(tf.tensor2d(changed, [2, length], 'int32'));
        const prefixA = tf.slice(a, [0, 0, 0], [2, t + 1, TINY_CONFIG.vocabSize]);
        const prefixB = tf.slice(b, [0, 0, 0], [2, t + 1, TINY_CONFIG.vocabSize]);
        assert.deepEqual(bytesOf(prefixA), bytesOf(prefixB), `logits up to position ${t} changed`);
        const next = tf.slice(a, [0, t + 1, 0], [2, 1, TINY_CONFIG.vocabSize]);
        const nextChanged = tf.slice(b, [0, t + 1, 0], [2, 1, TINY_CONFIG.vocabSize]);
        assert.ok(maxAbsDifference(next, nextChanged) > 0, 'the changed position itself must see the change');
      }
      model.dispose();
    });

    it('the same seed gives the same weights and logits; another seed differs', async () => {
      await useBackend(backend);
      const a = GPT2.initialize(TINY_CONFIG, 7);
      const b = GPT2.initialize(TINY_CONFIG, 7);
      const c = GPT2.initialize(TINY_CONFIG, 8);
      for (const [name, tensor] of a.parameters()) assert.deepEqual(bytesOf(tensor), bytesOf(b.parameter(name)), name);
      const tokens = tokenRows(2, 10, TINY_CONFIG.vocabSize);
      assert.deepEqual(bytesOf(a.forward(tokens)), bytesOf(b.forward(tokens)));
      assert.ok(maxAbsDifference(a.forward(tokens), c.forward(tokens)) > 1e-4);
      for (const model of [a, b, c]) model.dispose();
    });

    it('a tiny preset trained for a few dozen steps on a repetitive byte string lowers its loss', async () => {
      await useBackend(backend);
      const model = GPT2.initialize(TINY_CONFIG, 0);
      const weights = new Map([...model.parameters()].map(([name, t]) => [name, tf.variable(t.clone(), true, `trainloss-${backend}-${name}`)]));
      const text = 'abcabcabdabcabcabd'.repeat(3).slice(0, 32);
      const tokens = tf.tensor2d([Array.from(text, (ch) => ch.charCodeAt(0)), Array.from(text, (ch) => ch.charCodeAt(0))], [2, 32], 'int32');
      const optimizer = tf.train.adam(1e-2);
      const lossOf = () => model.languageModelLoss(tokens, { hooks: { parameterOverrides: weights } });
      const before = lossOf().dataSync()[0];
      for (let step = 0; step < 40; step++) optimizer.minimize(lossOf, false, [...weights.values()]);
      const after = lossOf().dataSync()[0];
      assert.ok(after < before * 0.5, `loss went from ${before} to ${after}`);
      for (const [name, tensor] of model.parameters()) assert.notDeepEqual(bytesOf(tensor), bytesOf(weights.get(name) as tf.Tensor), `${name} never trained`);
      model.dispose();
    });

    it("a c_attn delta equal on every row acts exactly like that much more c_attn bias: loss and every parameter's gradient", async () => {
      await useBackend(backend);
      const model = GPT2.initialize(TINY_CONFIG, 4);
      const tokens = tokenRows(2, 9, TINY_CONFIG.vocabSize);
      const names = [...model.parameters().keys()];
      const shift = tf.mul(tf.randomNormal([3 * TINY_CONFIG.dModel], 0, 1, 'float32', 5), 0.5); // [3D]
      const gradientsWith = (asDelta: boolean) => {
        const lossOf = (...overrides: tf.Tensor[]): tf.Scalar => {
          const parameters = new Map(names.map((name, i) => [name, overrides[i]]));
          const biasName = 'h.1.attn.c_attn.bias';
          if (!asDelta) parameters.set(biasName, tf.add(parameters.get(biasName) as tf.Tensor, shift));
          const linearDelta = (layer: number, site: string, input: tf.Tensor2D) => (layer === 1 && site === 'attn.c_attn' ? (tf.mul(tf.ones([input.shape[0], 1]), shift) as tf.Tensor2D) : null);
          return model.languageModelLoss(tokens, { hooks: { parameterOverrides: parameters, linearDelta: asDelta ? linearDelta : undefined } });
        };
        const { value, grads } = tf.valueAndGrads(lossOf)(names.map((name) => model.parameter(name)));
        return { loss: value.dataSync()[0], grads };
      };
      const viaDelta = gradientsWith(true);
      const viaBias = gradientsWith(false);
      assert.ok(Math.abs(viaDelta.loss - viaBias.loss) < 1e-5, `loss ${viaDelta.loss} vs ${viaBias.loss}`);
      names.forEach((name, i) => assert.ok(maxAbsDifference(viaDelta.grads[i], viaBias.grads[i]) < 1e-5, `${name}: gradients differ by ${maxAbsDifference(viaDelta.grads[i], viaBias.grads[i])}`));
      const attnWeight = viaDelta.grads[names.indexOf('h.0.attn.c_attn.weight')];
      assert.ok(maxAbsDifference(attnWeight, tf.zerosLike(attnWeight)) > 1e-6, 'c_attn must receive a gradient');
      model.dispose();
    });
  });
}

describe('backends agree', () => {
  it('cpu and every other tested backend give the same forward pass within 1e-4', async () => {
    const config: ModelConfig = { ...TINY_CONFIG, dModel: 32, nHeads: 4, dFF: 128 };
    const logits: number[][] = [];
    const backends: BackendName[] = ['cpu', ...testBackends().filter((b) => b !== 'cpu')];
    assert.ok(backends.length >= 2, 'at least one backend besides cpu is tested');
    for (const backend of backends) {
      await useBackend(backend);
      const model = GPT2.initialize(config, 11);
      logits.push(Array.from(model.forward(tokenRows(3, 20, config.vocabSize)).dataSync()));
      model.dispose();
    }
    for (let b = 1; b < backends.length; b++) {
      assert.equal(logits[0].length, logits[b].length);
      const worst = logits[0].reduce((max, value, i) => Math.max(max, Math.abs(value - logits[b][i])), 0);
      assert.ok(worst <= 1e-4, `${backends[b]}: max difference ${worst}`);
    }
  });
});

describe('input checks', () => {
  it('too many tokens for the context is an error that prints the sizes', async () => {
    await useBackend('wasm');
    const model = GPT2.initialize({ ...TINY_CONFIG, contextLength: 8 }, 0);
    assert.throws(() => model.forward(tokenRows(1, 9, TINY_CONFIG.vocabSize)), /9 tokens \+ 0 virtual tokens = 9 exceeds the context length 8/);
    model.dispose();
  });
  it('fromWeights reports every mismatch at once', async () => {
    await useBackend('wasm');
    const model = GPT2.initialize(TINY_CONFIG, 0);
    const tensors = new Map(model.parameters());
    tensors.delete('ln_f.bias');
    tensors.set('wpe.weight', tf.zeros([3, 3]));
    tensors.set('extra.weight', tf.zeros([1]));
    assert.throws(
      () => GPT2.fromWeights(TINY_CONFIG, tensors, 'test weights'),
      (error: Error) => /ln_f\.bias: missing/.test(error.message) && /wpe\.weight: shape \[3,3\]/.test(error.message) && /extra\.weight: not a parameter/.test(error.message),
    );
    assert.equal(numel([2, 3]), 6);
    model.dispose();
  });
});
