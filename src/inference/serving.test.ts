/**
 * Mixed-task serving: every row of a mixed batch gets exactly what it gets when run alone with its own
 * prompt (equal and different prompt lengths, the bare model as a length-0 prompt), the per-task baseline
 * agrees, adapters load into a server and non-prompt adapters are refused. Uses small methods defined here
 * (src/ never imports methods/).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { AdaptedModel } from '../adapt/adapted.js';
import { saveAdapter } from '../io/adapter_io.js';
import { loadAdapter } from '../io/adapter_load.js';
import { GPT2 } from '../model/model.js';
import { registerMethod, resolveOptions, type PeftMethod } from '../adapt/peft.js';
import { adapterPrompt, forwardInGroups, forwardWithRowPrompts, MixedTaskServer } from './serving.js';
import { bytesOf, maxAbsDifference, randomPrompt, sensitiveBase, testBackends, tokenRows, TINY_CONFIG, useBackend } from '../../test/helpers.js';

/** A prompt-tuning stand-in: `length` trainable input embeddings. */
const promptMethod: PeftMethod = {
  name: 'serving-test-prompt',
  options: [{ name: 'length', type: 'integer', description: 'virtual tokens', default: 3, min: 1 }],
  addedParameters: (config, options) => [{ name: 'prompt', shape: [options.length as number, config.dModel], init: { kind: 'normal', std: 1 } }],
  trainableBaseParameters: () => [],
  closedFormTrainable: (config, options) => (options.length as number) * config.dModel,
  hooks: (tensors) => ({ inputPrefix: () => tensors.get('prompt') as tf.Tensor }),
};
/** A LoRA stand-in: a delta on one linear layer (not servable in a mixed batch). */
const deltaMethod: PeftMethod = {
  name: 'serving-test-delta',
  options: [],
  addedParameters: (config) => [{ name: 'scale', shape: [config.dModel], init: { kind: 'zeros' } }],
  trainableBaseParameters: () => [],
  closedFormTrainable: (config) => config.dModel,
  hooks: (tensors) => ({ linearDelta: (_layer, site, input) => (site === 'attn.c_proj' ? (tf.mul(input, tensors.get('scale') as tf.Tensor) as tf.Tensor2D) : null) }),
};
registerMethod(promptMethod);
registerMethod(deltaMethod);

/** Row `row` of tokens run alone, with `prompt` [k, D] (none for k = 0): [1, T, V]. */
function aloneLogits(base: GPT2, tokens: tf.Tensor2D, row: number, prompt: tf.Tensor2D): tf.Tensor3D {
  return tf.tidy(() => {
    const single = tf.slice(tokens, [row, 0], [1, tokens.shape[1]]) as tf.Tensor2D; // [1, T]
    return prompt.shape[0] === 0 ? base.forward(single) : base.forward(single, { hooks: { inputPrefix: () => prompt } });
  });
}

function rowOf(logits: tf.Tensor3D, row: number): tf.Tensor3D {
  return tf.slice(logits, [row, 0, 0], [1, logits.shape[1], logits.shape[2]]);
}

/** Float tolerance for one row computed in a batch versus alone: 1e-5 relative to the logits' scale. */
function tolerance(logits: tf.Tensor): number {
  return 1e-5 * Math.max(1, tf.tidy(() => tf.max(tf.abs(logits)).dataSync()[0]));
}

for (const backend of testBackends()) {
  describe(`mixed-task serving on ${backend}`, () => {
    it('a mixed batch of equal-length prompts is one pass, and every row equals that row run alone', async () => {
      await useBackend(backend);
      const base = sensitiveBase(11);
      const prompts = new Map([['a', randomPrompt(4, 1)], ['b', randomPrompt(4, 2)], ['c', randomPrompt(4, 3)]]);
      const server = new MixedTaskServer(base, prompts);
      const rowTasks = ['b', 'a', 'c', 'a', 'b', 'b'];
      const tokens = tokenRows(rowTasks.length, 10, TINY_CONFIG.vocabSize);
      assert.deepEqual(server.plan(rowTasks).passes, [{ promptLength: 4, rows: [0, 1, 2, 3, 4, 5], tasks: rowTasks }]);
      server.forward(tokens, rowTasks).dispose(); // the first pass caches the model's causal mask for this shape
      const tensorsBefore = tf.memory().numTensors;
      const mixed = server.forward(tokens, rowTasks);
      assert.deepEqual(mixed.shape, [6, 10, TINY_CONFIG.vocabSize]);
      assert.equal(tf.memory().numTensors, tensorsBefore + 1, 'forward leaves only its output');
      const limit = tolerance(mixed);
      rowTasks.forEach((task, row) => {
        const alone = aloneLogits(base, tokens, row, prompts.get(task) as tf.Tensor2D);
        const difference = maxAbsDifference(rowOf(mixed, row), alone);
        assert.ok(difference <= limit, `row ${row} (task ${task}): mixed differs from alone by ${difference} > ${limit}`);
        // The check can fail: the same row with another task's prompt is far from it.
        const other = aloneLogits(base, tokens, row, prompts.get(task === 'a' ? 'b' : 'a') as tf.Tensor2D);
        assert.ok(maxAbsDifference(rowOf(mixed, row), other) > 1000 * limit, `row ${row}: another task's prompt gives nearly the same logits`);
      });
      server.dispose();
      for (const p of prompts.values()) p.dispose();
      base.dispose();
    });

    it('prompts of different lengths (and the bare model as length 0) run one pass per length, each row still equal to alone', async () => {
      await useBackend(backend);
      const base = sensitiveBase(12);
      const prompts = new Map([['short', randomPrompt(2, 4)], ['long', randomPrompt(5, 5)], ['bare', tf.zeros([0, TINY_CONFIG.dModel]) as tf.Tensor2D], ['long2', randomPrompt(5, 6)]]);
      const server = new MixedTaskServer(base, prompts);
      const rowTasks = ['long', 'short', 'bare', 'long2', 'short', 'long'];
      const plan = server.plan(rowTasks);
      assert.deepEqual(plan.passes.map((p) => [p.promptLength, p.rows]), [[5, [0, 3, 5]], [2, [1, 4]], [0, [2]]]);
      const tokens = tokenRows(rowTasks.length, 9, TINY_CONFIG.vocabSize, 2);
      const mixed = server.forward(tokens, rowTasks);
      const separate = server.forwardSeparately(tokens, rowTasks);
      const limit = tolerance(mixed);
      rowTasks.forEach((task, row) => {
        const alone = aloneLogits(base, tokens, row, prompts.get(task) as tf.Tensor2D);
        assert.ok(maxAbsDifference(rowOf(mixed, row), alone) <= limit, `row ${row} (${task}): mixed differs from alone`);
        assert.ok(maxAbsDifference(rowOf(separate, row), alone) <= limit, `row ${row} (${task}): per-task batch differs from alone`);
      });
      server.dispose();
      for (const p of prompts.values()) p.dispose();
      base.dispose();
    });

    it('forwardInGroups puts outputs back in row order, and refuses groups that do not cover the rows once', async () => {
      await useBackend(backend);
      const tokens = tf.tensor2d([[0], [1], [2], [3]], [4, 1], 'int32');
      // run: each row's output is its token value + 10 × group index, as [b, 1, 1].
      const out = forwardInGroups(tokens, [[2, 0], [3], [1]], (t, g) => tf.tidy(() => tf.reshape(tf.add(tf.cast(t, 'float32'), 10 * g), [t.shape[0], 1, 1]) as tf.Tensor3D));
      assert.deepEqual(Array.from(out.dataSync()), [0, 21, 2, 13]);
      assert.throws(() => forwardInGroups(tokens, [[0, 1], [1, 2, 3]], () => tf.zeros([1, 1, 1])), /each row 0\.\.3 exactly once/);
      assert.throws(() => forwardInGroups(tokens, [[0, 1, 2]], () => tf.zeros([1, 1, 1])), /each row 0\.\.3 exactly once/);
    });

    it('loads prompt adapters bit for bit, and refuses adapters that change weights or layers', async () => {
      await useBackend(backend);
      const base = sensitiveBase(13);
      const dir = await mkdtemp(path.join(tmpdir(), 'peftscale-serving-'));
      try {
        const context = { config: TINY_CONFIG, seed: 0, baseParameter: (name: string) => base.parameter(name), encode: () => [] };
        const trained = ['x', 'y'].map((task, i) => {
          const model = AdaptedModel.create(base, promptMethod, resolveOptions(promptMethod, { length: 3 }, TINY_CONFIG), { ...context, seed: i + 1 });
          return { task, model };
        });
        for (const { task, model } of trained) await saveAdapter(path.join(dir, task), model);
        const server = await MixedTaskServer.fromAdapters(base, new Map(trained.map(({ task }) => [task, path.join(dir, task)])));
        assert.deepEqual(server.tasks, ['x', 'y']);
        for (const { task, model } of trained) assert.deepEqual(bytesOf(server.prompt(task)), bytesOf(model.trainable.get('prompt') as tf.Variable));

        const delta = AdaptedModel.create(base, deltaMethod, resolveOptions(deltaMethod, {}, TINY_CONFIG), context);
        await saveAdapter(path.join(dir, 'delta'), delta);
        const loaded = await loadAdapter(path.join(dir, 'delta'), base);
        assert.throws(() => adapterPrompt(loaded, 'task "z"'), /task "z": method "serving-test-delta" acts through linearDelta; mixed-task serving batches only adapters that prepend input embeddings/);
        loaded.dispose();
        await assert.rejects(MixedTaskServer.fromAdapters(base, new Map([['x', path.join(dir, 'x')], ['z', path.join(dir, 'delta')]])), /task "z" .*acts through linearDelta/);
        server.dispose();
        delta.dispose();
        for (const { model } of trained) model.dispose();
      } finally {
        await rm(dir, { recursive: true, force: true });
        base.dispose();
      }
    });

    it('names the row, the task and what is allowed in its errors', async () => {
      await useBackend(backend);
      const base = GPT2.initialize(TINY_CONFIG, 1);
      const prompt = randomPrompt(2, 7);
      const server = new MixedTaskServer(base, new Map([['verify', prompt]]));
      const tokens = tokenRows(2, 4, TINY_CONFIG.vocabSize);
      assert.throws(() => server.forward(tokens, ['verify', 'verfy']), /row 1: .*unknown task "verfy"; did you mean "verify"\? Allowed: verify/);
      assert.throws(() => server.forward(tokens, ['verify']), /1 row tasks for tokens \[2,4\]; allowed: one task per row/);
      assert.throws(() => new MixedTaskServer(base, new Map([['bad', tf.zeros([2, 5])]])), /prompt of task "bad" is \[2,5\], expected \[k, 16\]/);
      assert.throws(() => new MixedTaskServer(base, new Map()), /no prompts given/);
      assert.throws(() => forwardWithRowPrompts(base, tokens, tf.zeros([1, 2, 16]) as tf.Tensor3D, [0, 1]), /row 1 asks for prompt 1; allowed: 0\.\.0/);
      server.dispose();
      prompt.dispose();
      base.dispose();
    });
  });
}
