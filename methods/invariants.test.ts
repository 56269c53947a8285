/**
 * Behaviour of every method on a tiny model, on wasm and cpu: the frozen base is never written,
 * identity at initialisation, LoRA merge, loss goes down, adapters round-trip bit for bit, prompt
 * design is prepending tokens, and nothing trains in prompt design.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type { AdaptedModel } from '../src/adapt/adapted.js';
import { saveAdapter } from '../src/io/adapter_io.js';
import { loadAdapter } from '../src/io/adapter_load.js';
import { initBackend } from '../src/model/backend.js';
import type { GPT2 } from '../src/model/model.js';
import { createOptimizer, trainStep } from '../src/training/train.js';
import { ByteTokenizer } from '../src/io/tokenizer.js';
import './index.js';
import { testBackends } from '../test/helpers.js';
import { adapt, bytesOf, maxAbsDifference, methodContext, patternBatch, sensitiveBase, TINY } from './test_support.js';
import { sampledTokenIds } from './embeddings.js';

/** Every trainable configuration, with a learning rate that suits it (Adam). */
const TRAINABLE = [
  { name: 'prompt-tuning', raw: { length: 4 }, lr: 0.2 },
  { name: 'prompt-tuning', raw: { length: 3, init: 'class-label' }, lr: 0.2 },
  { name: 'prefix-tuning', raw: { length: 4 }, lr: 0.1 },
  { name: 'prefix-tuning', raw: { length: 4, projection: 8 }, lr: 0.01 },
  { name: 'p-tuning', raw: { length: 4, encoder: 'mlp' }, lr: 0.01 },
  { name: 'p-tuning', raw: { length: 3, encoder: 'lstm', hidden: 8 }, lr: 0.01 },
  { name: 'lora', raw: { rank: 4, targets: 'all-linear', dropout: 0.1 }, lr: 0.01 },
  { name: 'bitfit', raw: {}, lr: 0.01 },
  { name: 'ia3', raw: {}, lr: 0.05 },
  { name: 'ia3', raw: { targets: 'c_attn,c_proj,c_fc', feedforward: 'mlp.c_proj' }, lr: 0.05 },
  { name: 'full', raw: {}, lr: 0.001 },
] as const;

const label = (c: { name: string; raw: object }): string => `${c.name} ${JSON.stringify(c.raw)}`;

function train(model: AdaptedModel, lr: number, steps: number, tokens: tf.Tensor2D): number[] {
  const optimizer = createOptimizer('adam', lr);
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) losses.push(trainStep(model, optimizer, tokens));
  optimizer.dispose();
  return losses;
}

for (const backend of testBackends()) {
  describe(`methods on ${backend}`, () => {
    let base: GPT2;
    let tokens: tf.Tensor2D;
    let baseLogits: tf.Tensor3D;
    let frozen: Map<string, Uint8Array>;
    let dir: string;
    before(async () => {
      await initBackend(backend);
      base = sensitiveBase();
      tokens = patternBatch();
      baseLogits = base.forward(tokens);
      frozen = new Map([...base.parameters()].map(([name, t]) => [name, bytesOf(t)]));
      dir = await mkdtemp(path.join(tmpdir(), 'peftscale-methods-'));
    });
    after(async () => {
      base.dispose();
      tokens.dispose();
      baseLogits.dispose();
      await rm(dir, { recursive: true, force: true });
    });

    it('at initialisation LoRA, a zero-length prompt, BitFit and full give the base logits bit for bit', () => {
      for (const [name, raw] of [['lora', { targets: 'all-linear' }], ['prompt-tuning', { length: 0 }], ['bitfit', {}], ['full', {}], ['prompt-design', { template: '' }], ['ia3', { targets: 'c_attn,c_proj,c_fc', feedforward: 'c_proj' }]] as const) {
        const adapted = adapt(base, name, raw);
        const logits = adapted.forward(tokens);
        assert.deepEqual(bytesOf(logits), bytesOf(baseLogits), `${name} ${JSON.stringify(raw)}`);
        logits.dispose();
        adapted.dispose();
      }
    });

    for (const c of TRAINABLE) {
      it(`${label(c)}: training lowers the loss, leaves the base untouched, and the adapter round-trips bit for bit`, async () => {
        const adapted = adapt(base, c.name, c.raw);
        // cpu is ~8x slower: it checks the invariants after a few steps; wasm and tensorflow also check learning.
        const steps = backend === 'cpu' ? 4 : 30;
        const losses = train(adapted, c.lr, steps, tokens);
        assert.ok(losses.every(Number.isFinite), `losses ${losses}`);
        const [first, last] = [losses[0], losses[losses.length - 1]];
        assert.ok(last < (backend === 'cpu' ? 1 : 0.9) * first, `${label(c)}: loss ${first.toFixed(4)} → ${last.toFixed(4)} in ${steps} steps`);
        for (const [name, t] of base.parameters()) assert.deepEqual(bytesOf(t), frozen.get(name), `base tensor ${name} changed`);

        const trained = adapted.forward(tokens);
        const where = path.join(dir, `${c.name}-${Object.keys(c.raw).length}-${'encoder' in c.raw ? c.raw.encoder : ''}`);
        await saveAdapter(where, adapted, { steps });
        const loaded = await loadAdapter(where, base);
        const reloaded = loaded.forward(tokens);
        assert.deepEqual(bytesOf(reloaded), bytesOf(trained), `${label(c)}: loaded adapter logits differ`);
        const untouched = base.forward(tokens);
        assert.deepEqual(bytesOf(untouched), bytesOf(baseLogits), 'the base model without hooks changed');
        for (const t of [trained, reloaded, untouched]) t.dispose();
        loaded.dispose();
        adapted.dispose();
      });
    }

    it('merged LoRA equals unmerged LoRA within 1e-5; unmerging is the untouched base', () => {
      const adapted = adapt(base, 'lora', { rank: 4, alpha: 16, targets: 'c_attn,c_proj,c_fc' });
      train(adapted, 0.01, 5, tokens);
      const b = adapted.trainable.get('h.0.attn.c_attn.lora_B.weight') as tf.Variable;
      assert.ok(maxAbsDifference(b, tf.zerosLike(b)) > 0, 'B is still zero after training');
      const merged = adapted.method.mergedParameters?.(adapted.trainable, (name) => base.parameter(name), base.config, adapted.options);
      assert.ok(merged !== undefined && merged.size === 3 * TINY.nLayers * 1 + TINY.nLayers, `merged ${merged?.size}`);
      const unmergedLogits = adapted.forward(tokens);
      const mergedLogits = base.forward(tokens, { hooks: { parameterOverrides: merged } });
      assert.ok(maxAbsDifference(mergedLogits, unmergedLogits) <= 1e-5, `merged differs by ${maxAbsDifference(mergedLogits, unmergedLogits)}`);
      assert.ok(maxAbsDifference(mergedLogits, baseLogits) > 1e-4, 'the merge changed nothing');
      const unmerged = base.forward(tokens); // unmerge: the base weights were never modified
      assert.deepEqual(bytesOf(unmerged), bytesOf(baseLogits));
      for (const t of [unmergedLogits, mergedLogits, unmerged, ...merged.values()]) t.dispose();
      adapted.dispose();
    });

    it('(IA)³ rescales c_attn\'s output and mlp.c_proj\'s input as scaled weights would; merged equals unmerged', () => {
      const adapted = adapt(base, 'ia3', {});
      // Vectors 1.5 on every c_attn output and 0.5 on every mlp.c_proj input: the same as a base whose
      // c_attn weight and bias are 1.5x and whose mlp.c_proj weight (not its bias) is 0.5x.
      for (const [name, variable] of adapted.trainable) variable.assign(tf.fill(variable.shape, name.includes('c_attn') ? 1.5 : 0.5));
      const scaled = new Map<string, tf.Tensor>();
      for (let layer = 0; layer < TINY.nLayers; layer++) {
        for (const suffix of ['attn.c_attn.weight', 'attn.c_attn.bias']) scaled.set(`h.${layer}.${suffix}`, tf.mul(base.parameter(`h.${layer}.${suffix}`), 1.5));
        scaled.set(`h.${layer}.mlp.c_proj.weight`, tf.mul(base.parameter(`h.${layer}.mlp.c_proj.weight`), 0.5));
      }
      const rescaled = adapted.forward(tokens);
      const expected = base.forward(tokens, { hooks: { parameterOverrides: scaled } });
      assert.ok(maxAbsDifference(rescaled, expected) <= 1e-5, `differs by ${maxAbsDifference(rescaled, expected)}`);
      assert.ok(maxAbsDifference(rescaled, baseLogits) > 1e-3, 'the vectors changed nothing');
      const merged = adapted.method.mergedParameters?.(adapted.trainable, (name) => base.parameter(name), base.config, adapted.options);
      assert.ok(merged !== undefined && merged.size === 3 * TINY.nLayers, `merged ${merged?.size}`);
      const mergedLogits = base.forward(tokens, { hooks: { parameterOverrides: merged } });
      assert.ok(maxAbsDifference(mergedLogits, rescaled) <= 1e-5, `merged differs by ${maxAbsDifference(mergedLogits, rescaled)}`);
      for (const t of [rescaled, expected, mergedLogits, ...scaled.values(), ...merged.values()]) t.dispose();
      adapted.dispose();
    });

    it('prompt design equals prepending the prompt tokens, trains nothing, and round-trips', async () => {
      const adapted = adapt(base, 'prompt-design', { template: 'Say:', shots: 1 });
      const ids = (adapted.options['prompt-tokens'] as string[]).map(Number);
      assert.deepEqual(ids, new ByteTokenizer().encode('Say:\nIs the sky blue? A: yes\n'));
      assert.equal(adapted.plan.trainable, 0);
      const [batch, length] = tokens.shape;
      const prompted = adapted.forward(tokens);
      const concatenated = tf.concat([tf.tile(tf.tensor2d([ids], [1, ids.length], 'int32'), [batch, 1]), tokens], 1) as tf.Tensor2D;
      const full = base.forward(concatenated);
      const realPositions = tf.slice(full, [0, ids.length, 0], [batch, length, TINY.vocabSize]);
      assert.ok(maxAbsDifference(prompted, realPositions) <= 1e-5, `differs by ${maxAbsDifference(prompted, realPositions)}`);

      assert.throws(() => trainStep(adapted, createOptimizer('adam', 0.1), tokens), /method "prompt-design" has no trainable parameters: nothing to train/);
      const where = path.join(dir, 'prompt-design');
      await saveAdapter(where, adapted);
      const loaded = await loadAdapter(where, base);
      const reloaded = loaded.forward(tokens);
      assert.deepEqual(bytesOf(reloaded), bytesOf(prompted));
      for (const t of [prompted, concatenated, full, realPositions, reloaded]) t.dispose();
      loaded.dispose();
      adapted.dispose();

      // An empty prompt saves no tokens; loading it must not try to derive them again.
      const empty = adapt(base, 'prompt-design', { template: '' });
      const emptyDir = path.join(dir, 'prompt-design-empty');
      await saveAdapter(emptyDir, empty);
      const emptyLoaded = await loadAdapter(emptyDir, base);
      assert.deepEqual(bytesOf(emptyLoaded.forward(tokens)), bytesOf(base.forward(tokens)));
      emptyLoaded.dispose();
      empty.dispose();
    });

    it('prompt-tuning inits read the right rows of wte', () => {
      const wte = base.parameter('wte.weight');
      const rows = (ids: number[]): Uint8Array => bytesOf(tf.gather(wte, tf.tensor1d(ids, 'int32')));
      const text = adapt(base, 'prompt-tuning', { length: 5, init: 'text', 'init-text': 'ab' });
      assert.deepEqual(bytesOf(text.trainable.get('prompt_embeddings') as tf.Tensor), rows([97, 98, 97, 98, 97]));
      const sampled = adapt(base, 'prompt-tuning', { length: 3, init: 'sampled-vocab' });
      assert.deepEqual(bytesOf(sampled.trainable.get('prompt_embeddings') as tf.Tensor), rows(sampledTokenIds(methodContext(base), 3, 'sampled-vocab')));
      const labels = adapt(base, 'prompt-tuning', { length: 3, init: 'class-label' }); // labels yes, no; then one sampled id
      const extra = sampledTokenIds(methodContext(base), 1, 'class-label');
      const expected = tf.concat([tf.mean(tf.gather(wte, tf.tensor1d([121, 101, 115], 'int32')), 0, true), tf.mean(tf.gather(wte, tf.tensor1d([110, 111], 'int32')), 0, true), tf.gather(wte, tf.tensor1d(extra, 'int32'))]);
      assert.ok(maxAbsDifference(labels.trainable.get('prompt_embeddings') as tf.Tensor, expected) <= 1e-7);
      for (const a of [text, sampled, labels]) a.dispose();
    });
  });
}
