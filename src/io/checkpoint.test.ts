import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../model/backend.js';
import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_FORMAT_VERSION,
  CONFIG_FILE,
  loadCheckpoint,
  loadWeights,
  saveCheckpoint,
  saveTensors,
  WEIGHTS_FILE,
  type CheckpointConfigFile,
} from './checkpoint.js';
import type { ModelConfig } from '../model/config.js';
import { GPT2 } from '../model/model.js';
import { encodeSafetensors, readSafetensorsFile } from './safetensors.js';

const TINY: ModelConfig = { vocabSize: 260, contextLength: 16, dModel: 8, nLayers: 2, nHeads: 2, dFF: 32, layerNormEps: 1e-5 };

let root = '';
let counter = 0;
const freshDir = (): string => path.join(root, `ckpt-${counter++}`);

const bytesOf = (data: ArrayBufferView): Uint8Array => new Uint8Array(data.buffer, data.byteOffset, data.byteLength);

function logits(model: GPT2): Float32Array {
  const tokens = tf.tensor2d([[1, 2, 3, 259, 0, 255], [7, 7, 7, 7, 7, 7]], [2, 6], 'int32');
  const out = model.forward(tokens);
  const values = out.dataSync() as Float32Array;
  tokens.dispose();
  out.dispose();
  return values;
}

/** The shape fields of our config.json (transformers' GPT-2 names), for editing. */
interface HfShape {
  model: { dModel: number; nHeads: number; nLayers: number };
}

/** Edits config.json through ModelConfig-style names mapped onto transformers' fields (n_embd, n_head, n_layer). */
function editConfig(dir: string, edit: (file: HfShape) => void): void {
  const configPath = path.join(dir, CONFIG_FILE);
  const file = JSON.parse(fs.readFileSync(configPath, 'utf8')) as Record<string, number>;
  const view: HfShape = { model: { dModel: file.n_embd, nHeads: file.n_head, nLayers: file.n_layer } };
  edit(view);
  Object.assign(file, { n_embd: view.model.dModel, n_head: view.model.nHeads, n_layer: view.model.nLayers });
  fs.writeFileSync(configPath, JSON.stringify(file));
}

describe('checkpoints', () => {
  let model: GPT2;

  before(async () => {
    await initBackend('wasm');
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'peftscale-checkpoint-'));
    model = GPT2.initialize(TINY, 1234);
  });
  after(() => {
    model.dispose();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('round-trips a model bit for bit: every tensor, the logits, the config and the metadata', async () => {
    const dir = freshDir();
    const metadata = { seed: 1234, preset: 'custom', steps: 0, note: { nested: [1, 'two'] } };
    const { weightsPath, configPath } = await saveCheckpoint(dir, model, metadata);
    assert.deepEqual(fs.readdirSync(dir).sort(), [CONFIG_FILE, WEIGHTS_FILE], 'no temporary files are left');
    assert.equal(weightsPath, path.join(dir, WEIGHTS_FILE));
    const written = JSON.parse(fs.readFileSync(configPath, 'utf8')) as Record<string, unknown>;
    assert.deepEqual(written.peftscale, { format: CHECKPOINT_FORMAT, formatVersion: CHECKPOINT_FORMAT_VERSION, tokenizer: 'byte', metadata });
    assert.deepEqual(
      [written.vocab_size, written.n_positions, written.n_embd, written.n_layer, written.n_head, written.n_inner, written.layer_norm_epsilon],
      [TINY.vocabSize, TINY.contextLength, TINY.dModel, TINY.nLayers, TINY.nHeads, TINY.dFF, TINY.layerNormEps],
    );

    const loaded = await loadCheckpoint(dir);
    try {
      assert.deepEqual(loaded.config, TINY);
      assert.deepEqual(loaded.metadata, metadata);
      assert.deepEqual([...loaded.model.parameters().keys()], [...model.parameters().keys()]);
      for (const [name, tensor] of model.parameters()) {
        const other = loaded.model.parameter(name);
        assert.equal(other.dtype, 'float32', name);
        assert.deepEqual(other.shape, tensor.shape, name);
        assert.deepEqual(bytesOf(other.dataSync()), bytesOf(tensor.dataSync()), name);
      }
      assert.deepEqual(logits(loaded.model), logits(model));
    } finally {
      loaded.model.dispose();
    }
  });

  it('saves the same model to identical bytes, and the file is plain safetensors with Hugging Face names', async () => {
    const first = freshDir();
    const second = freshDir();
    await saveCheckpoint(first, model, { seed: 1234 });
    await saveCheckpoint(second, model, { seed: 1234 });
    assert.deepEqual(fs.readFileSync(path.join(first, WEIGHTS_FILE)), fs.readFileSync(path.join(second, WEIGHTS_FILE)));
    const { tensors, metadata } = await readSafetensorsFile(path.join(first, WEIGHTS_FILE));
    assert.deepEqual(metadata, { format: 'pt' });
    assert.deepEqual(tensors.get('transformer.h.1.attn.c_attn.weight')?.shape, [8, 24]);
    assert.equal(tensors.get('transformer.wte.weight')?.dtype, 'F32');
  });

  it('a config with another width or depth gives ONE error listing every mismatched tensor and naming the file', async () => {
    const dir = freshDir();
    await saveCheckpoint(dir, model);
    const weightsPath = path.join(dir, WEIGHTS_FILE);

    editConfig(dir, (file) => {
      file.model.dModel = 16;
      file.model.nHeads = 4;
    });
    await assert.rejects(loadCheckpoint(dir), (error: Error) => {
      assert.ok(error.message.startsWith(`${weightsPath} does not match the model in ${path.join(dir, CONFIG_FILE)}`), error.message);
      assert.match(error.message, /dModel 16/);
      assert.match(error.message, /wte\.weight: shape \[260,8\], expected \[260,16\]/);
      assert.match(error.message, /h\.1\.mlp\.c_proj\.weight: shape \[32,8\], expected \[32,16\]/);
      assert.match(error.message, /ln_f\.bias: shape \[8\], expected \[16\]/);
      const listed = error.message.split('\n').filter((line) => line.startsWith('  '));
      assert.equal(listed.length, model.specs.length - 2, 'every tensor but the two d_ff-only biases is listed (h.*.mlp.c_fc.bias is [32])');
      return true;
    });

    editConfig(dir, (file) => {
      file.model.dModel = 8;
      file.model.nHeads = 2;
      file.model.nLayers = 3;
    });
    await assert.rejects(loadCheckpoint(dir), (error: Error) => {
      assert.ok(error.message.includes(weightsPath), error.message);
      assert.match(error.message, /12 mismatches/);
      assert.match(error.message, /h\.2\.ln_1\.weight: missing \(expected float32 \[8\]\)/);
      assert.match(error.message, /h\.2\.mlp\.c_proj\.bias: missing/);
      return true;
    });

    editConfig(dir, (file) => {
      file.model.nLayers = 1;
    });
    await assert.rejects(loadCheckpoint(dir), /h\.1\.attn\.c_attn\.weight: not a parameter of this model[^]*h\.1\.ln_2\.bias: not a parameter of this model/);
  });

  it('a tensor stored with the wrong dtype is reported', async () => {
    const dir = freshDir();
    await saveCheckpoint(dir, model);
    const weightsPath = path.join(dir, WEIGHTS_FILE);
    const { tensors } = await readSafetensorsFile(weightsPath);
    tensors.set('transformer.ln_f.bias', { dtype: 'I32', storedDtype: 'I32', shape: [8], data: new Int32Array(8) });
    fs.writeFileSync(weightsPath, encodeSafetensors(tensors));
    await assert.rejects(loadCheckpoint(dir), /1 mismatch:\n {2}ln_f\.bias: dtype safetensors I32, expected float32/);
  });

  it('an invalid config.json is refused with its path and the reason', async () => {
    const dir = freshDir();
    await saveCheckpoint(dir, model);
    const configPath = path.join(dir, CONFIG_FILE);
    const original = fs.readFileSync(configPath, 'utf8');

    editConfig(dir, (file) => {
      file.model.nHeads = 3;
    });
    await assert.rejects(loadCheckpoint(dir), new RegExp(`invalid model config in ${configPath.replace(/[.\\]/g, '\\$&')}:\\n.*dModel \\(--d-model\\) = 8 is not divisible by nHeads \\(--heads\\) = 3`));

    // The older peftscale file (format version 1) is still read; a typo in its "model" is named.
    const version1: CheckpointConfigFile | Record<string, unknown> = { format: CHECKPOINT_FORMAT, formatVersion: 1, model: TINY, metadata: { seed: 1 } };
    fs.writeFileSync(configPath, JSON.stringify(version1));
    const old = await loadCheckpoint(dir);
    assert.deepEqual([old.config, old.metadata, old.file.tokenizer], [TINY, { seed: 1 }, 'byte']);
    old.model.dispose();
    fs.writeFileSync(configPath, JSON.stringify(version1).replace('"dModel"', '"d_model"'));
    await assert.rejects(loadCheckpoint(dir), /unknown field\(s\) "d_model" in "model"/);

    fs.writeFileSync(configPath, original.replace(`"formatVersion": ${CHECKPOINT_FORMAT_VERSION}`, '"formatVersion": 99'));
    await assert.rejects(loadCheckpoint(dir), /formatVersion 99 is not supported; this build reads 1 and 2/);

    fs.writeFileSync(configPath, original.slice(0, 20));
    await assert.rejects(loadCheckpoint(dir), (error: Error) => error.message.startsWith(`${configPath}: not valid JSON`));

    fs.rmSync(configPath);
    await assert.rejects(loadCheckpoint(dir), new RegExp(`no checkpoint in .*: .*config\\.json does not exist`));
  });

  it('a truncated model.safetensors is refused with its path', async () => {
    const dir = freshDir();
    await saveCheckpoint(dir, model);
    const weightsPath = path.join(dir, WEIGHTS_FILE);
    const bytes = fs.readFileSync(weightsPath);
    fs.writeFileSync(weightsPath, bytes.subarray(0, bytes.length - 100));
    await assert.rejects(loadCheckpoint(dir), (error: Error) => error.message.startsWith(`${weightsPath}: `) && /truncated/.test(error.message));
  });

  it('saveTensors/loadWeights round-trip float32, int32 and bool tensors', async () => {
    const file = path.join(root, 'adapter.safetensors');
    const tensors = new Map<string, tf.Tensor>([
      ['lora.A', tf.tensor2d([[0.1, -0.2], [3, 4e-30]])],
      ['steps', tf.tensor1d([1, 2, 3], 'int32')],
      ['mask', tf.tensor1d([true, false], 'bool')],
    ]);
    await saveTensors(file, tensors, { method: 'lora' });
    const loaded = await loadWeights(file);
    assert.deepEqual(loaded.metadata, { method: 'lora' });
    for (const [name, tensor] of tensors) {
      const other = loaded.tensors.get(name);
      assert.ok(other !== undefined, name);
      assert.equal(other.dtype, tensor.dtype, name);
      assert.deepEqual(other.shape, tensor.shape, name);
      assert.deepEqual(bytesOf(other.dataSync()), bytesOf(tensor.dataSync()), name);
    }
    for (const tensor of [...tensors.values(), ...loaded.tensors.values()]) tensor.dispose();
  });
});
