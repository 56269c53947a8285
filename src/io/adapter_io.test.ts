/**
 * Adapter folders: round trip, and clear errors for a wrong base model, a foreign or future file, an
 * unregistered method and tensors that do not fit. Uses a small method defined here (src/ never imports
 * methods/); methods/invariants.test.ts round-trips every real method.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { AdaptedModel } from '../adapt/adapted.js';
import { ADAPTER_CONFIG_FILE, saveAdapter } from './adapter_io.js';
import { loadAdapter } from './adapter_load.js';
import { initBackend } from '../model/backend.js';
import { saveTensors } from './checkpoint.js';
import type { ModelConfig } from '../model/config.js';
import { GPT2 } from '../model/model.js';
import { registerMethod, resolveOptions, type PeftMethod } from '../adapt/peft.js';

const CONFIG: ModelConfig = { vocabSize: 260, contextLength: 32, dModel: 8, nLayers: 1, nHeads: 2, dFF: 32, layerNormEps: 1e-5 };

/** k virtual tokens and a trained copy of ln_f.bias: exercises added tensors and base copies. */
const testMethod: PeftMethod = {
  name: 'adapter-io-test',
  options: [{ name: 'length', type: 'integer', description: 'virtual tokens', default: 2, min: 1 }],
  addedParameters: (config, options) => [{ name: 'prompt', shape: [options.length as number, config.dModel], init: { kind: 'normal', std: 0.5 } }],
  trainableBaseParameters: () => ['ln_f.bias'],
  closedFormTrainable: (config, options) => (options.length as number) * config.dModel + config.dModel,
  hooks: (tensors) => ({ inputPrefix: () => tensors.get('prompt') as tf.Tensor }),
};
registerMethod(testMethod);

describe('adapter files', () => {
  let dir: string;
  let base: GPT2;
  let adapted: AdaptedModel;
  const tokens = (): tf.Tensor2D => tf.tensor2d([[1, 2, 3, 4]], [1, 4], 'int32');
  before(async () => {
    await initBackend('wasm');
    dir = await mkdtemp(path.join(tmpdir(), 'peftscale-adapter-'));
    base = GPT2.initialize(CONFIG, 5);
    const context = { config: CONFIG, seed: 9, baseParameter: (name: string) => base.parameter(name), encode: () => [] };
    adapted = AdaptedModel.create(base, testMethod, resolveOptions(testMethod, { length: 3 }, CONFIG), context);
    (adapted.trainable.get('ln_f.bias') as tf.Variable).assign(tf.fill([CONFIG.dModel], 0.25));
    await saveAdapter(path.join(dir, 'ok'), adapted, { task: 'demo' });
  });
  after(async () => {
    adapted.dispose();
    base.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('round-trips bit for bit, with method, options, config and counts in adapter.json', async () => {
    const json = JSON.parse(await readFile(path.join(dir, 'ok', ADAPTER_CONFIG_FILE), 'utf8')) as Record<string, unknown>;
    assert.equal(json.format, 'peftscale-adapter');
    assert.equal(json.method, 'adapter-io-test');
    assert.deepEqual(json.options, { length: 3 });
    assert.deepEqual(json.model, CONFIG);
    assert.deepEqual(json.counts, { trainable: 32, total: adapted.plan.total, saved: 32 });
    const loaded = await loadAdapter(path.join(dir, 'ok'), base);
    assert.deepEqual(loaded.metadata, { task: 'demo' });
    assert.deepEqual(Array.from(loaded.forward(tokens()).dataSync()), Array.from(adapted.forward(tokens()).dataSync()));
    loaded.dispose();
  });

  it('refuses a different base model, naming each differing field', async () => {
    const other = GPT2.initialize({ ...CONFIG, dModel: 16, dFF: 64 }, 5);
    await assert.rejects(loadAdapter(path.join(dir, 'ok'), other), /trained on a different base model[\s\S]*dModel: adapter 8, base model 16[\s\S]*dFF: adapter 32, base model 64/);
    other.dispose();
  });

  it('refuses missing folders, foreign files and future versions', async () => {
    await assert.rejects(loadAdapter(path.join(dir, 'nowhere'), base), /no adapter in .*nowhere \(neither adapter_config\.json, PEFT's format, nor adapter\.json\): .*adapter\.json does not exist/);
    const json = await readFile(path.join(dir, 'ok', ADAPTER_CONFIG_FILE), 'utf8');
    for (const [name, edit, message] of [
      ['foreign', (j: Record<string, unknown>) => ({ ...j, format: 'something' }), /format "something", expected "peftscale-adapter"/],
      ['future', (j: Record<string, unknown>) => ({ ...j, formatVersion: 99 }), /formatVersion 99 is not supported; this build reads 1/],
      ['unknown-method', (j: Record<string, unknown>) => ({ ...j, method: 'adapter-io-tset' }), /unknown method "adapter-io-tset"; did you mean "adapter-io-test"\?.*import methods\/index\.js/],
      ['bad-option', (j: Record<string, unknown>) => ({ ...j, options: { length: 0 } }), /--length = 0: out of range/],
    ] as const) {
      await saveAdapter(path.join(dir, name), adapted);
      await writeFile(path.join(dir, name, ADAPTER_CONFIG_FILE), JSON.stringify(edit(JSON.parse(json) as Record<string, unknown>)));
      await assert.rejects(loadAdapter(path.join(dir, name), base), message, name);
    }
  });

  it('refuses tensors that do not fit the method and options, listing every problem', async () => {
    await saveAdapter(path.join(dir, 'bad-tensors'), adapted);
    await saveTensors(path.join(dir, 'bad-tensors', 'adapter.safetensors'), new Map([['prompt', tf.zeros([2, 8])], ['extra', tf.zeros([1])]]));
    await assert.rejects(
      loadAdapter(path.join(dir, 'bad-tensors'), base),
      /does not match[\s\S]*prompt: shape \[2,8\], expected \[3,8\][\s\S]*ln_f\.bias: missing[\s\S]*extra: not a tensor that "adapter-io-test" saves/,
    );
  });
});
