/**
 * Seeded initialisation (Lester et al. 2021 §3.2): sampled-vocab and class-label's extra slots are drawn
 * with the trial seed from the 5,000 most frequent tokens, so seeds differ and each seed reproduces.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/model/backend.js';
import type { GPT2 } from '../src/model/model.js';
import './index.js';
import { SAMPLED_VOCAB_POOL, sampledTokenIds } from './embeddings.js';
import { adapt, bytesOf, methodContext, patternBatch, sensitiveBase } from './test_support.js';

describe('seeded prompt initialisation', () => {
  let base: GPT2;
  before(async () => {
    await initBackend('cpu');
    base = sensitiveBase();
  });

  it('draws distinct ids from the top of the frequency list, reproducibly per seed and differently across seeds', () => {
    // A frequency list longer than the pool: only its first 5,000 entries may be drawn.
    const frequent = Array.from({ length: 6000 }, (_, i) => (i * 7919) % 6000);
    const context = (seed: number) => ({ ...methodContext(base, seed), config: { ...base.config, vocabSize: 6000 }, frequentTokens: frequent });
    const allowed = new Set(frequent.slice(0, SAMPLED_VOCAB_POOL));
    const a = sampledTokenIds(context(1), 100, 'sampled-vocab');
    assert.deepEqual(sampledTokenIds(context(1), 100, 'sampled-vocab'), a, 'same seed, same ids');
    assert.equal(new Set(a).size, 100, 'no repeats while the pool lasts');
    assert.ok(a.every((id) => allowed.has(id)), 'every id from the 5,000 most frequent');
    const others = [2, 3, 4].map((seed) => sampledTokenIds(context(seed), 100, 'sampled-vocab'));
    for (const other of others) assert.ok(other.filter((id, i) => id !== a[i]).length > 90, 'another seed draws other ids');
    // The class-label stream is separate from sampled-vocab's.
    assert.notDeepEqual(sampledTokenIds(context(1), 100, 'class-label'), a);
  });

  it('uses fewer candidates when the list (or vocabulary) is smaller, repeating only past the pool', () => {
    const frequent = [5, 9, 11, 40, 41, 42, 100, 200];
    const ids = sampledTokenIds({ ...methodContext(base, 3), frequentTokens: frequent }, 20, 'sampled-vocab');
    assert.equal(ids.length, 20);
    assert.ok(ids.every((id) => frequent.includes(id)));
    assert.deepEqual([...ids.slice(0, 8)].sort((x, y) => x - y), [...frequent].sort((x, y) => x - y), 'the first 8 draws use every candidate once');
    // Without a frequency list the pool is the vocabulary (260 byte tokens here).
    const plain = sampledTokenIds(methodContext(base, 3), 50, 'sampled-vocab');
    assert.ok(plain.every((id) => id >= 0 && id < base.config.vocabSize));
    assert.equal(new Set(plain).size, 50);
  });

  it('prompt values: same seed same bytes; another seed changes sampled slots but not the label slots', () => {
    const prompt = (init: string, seed: number): Uint8Array => {
      const model = adapt(base, 'prompt-tuning', { length: 8, init }, seed);
      const bytes = bytesOf(model.trainable.get('prompt_embeddings') as tf.Tensor);
      model.dispose();
      return bytes;
    };
    for (const init of ['sampled-vocab', 'class-label', 'random-uniform']) {
      assert.deepEqual(prompt(init, 11), prompt(init, 11), `${init}: reproducible per seed`);
      assert.notDeepEqual(prompt(init, 11), prompt(init, 12), `${init}: differs across seeds`);
    }
    // class-label: slots 0 and 1 are the label words (yes, no) whatever the seed; 16 floats of 4 bytes per slot.
    const labelBytes = 2 * base.config.dModel * 4;
    assert.deepEqual(prompt('class-label', 11).slice(0, labelBytes), prompt('class-label', 12).slice(0, labelBytes));
  });

  it('LoRA dropout masks follow the trial seed', () => {
    const tokens = patternBatch();
    const trainingLogits = (seed: number): Uint8Array => {
      const model = adapt(base, 'lora', { rank: 2, dropout: 0.5 }, seed);
      // B starts at zero, which would hide the masks: give every factor a nonzero value.
      for (const variable of model.trainable.values()) variable.assign(tf.onesLike(variable));
      const bytes = bytesOf(model.forward(tokens, true));
      model.dispose();
      return bytes;
    };
    assert.deepEqual(trainingLogits(5), trainingLogits(5));
    assert.notDeepEqual(trainingLogits(5), trainingLogits(6));
  });
});
