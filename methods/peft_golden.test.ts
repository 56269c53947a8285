/**
 * PEFT's adapter format against the real stack (fixtures from scripts/golden/make_fixtures.py, PEFT 0.21 on
 * transformers 5): adapters PEFT wrote load here and give PEFT's logits within 1e-4 (prompt tuning, prefix
 * tuning with PEFT's positions, P-tuning, LoRA merged and not); written back by us they are the same
 * tensors under the same names, with PEFT's config fields; and ours round-trip through PEFT's layout.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { AdaptedModel } from '../src/adapt/adapted.js';
import { PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE, saveAdapter, saveLoadedAdapter } from '../src/io/adapter_io.js';
import { loadAdapter } from '../src/io/adapter_load.js';
import { initBackend } from '../src/model/backend.js';
import type { GPT2 } from '../src/model/model.js';
import { getMethod, resolveOptions } from '../src/adapt/peft.js';
import { loadPretrained } from '../src/io/pretrained.js';
import { readSafetensorsFile } from '../src/io/safetensors.js';
import { goldenTensors, HF_FIXTURES, LOGIT_TOLERANCE, maxDifference } from '../test/golden.js';
import './index.js';

/** Fixture folder → the method it loads as (lora-all-linear: PEFT's all-linear, saved as full module paths). */
const FIXTURES: [string, string][] = [['prompt-tuning', 'prompt-tuning'], ['prefix-tuning', 'prefix-tuning'], ['p-tuning', 'p-tuning'], ['lora', 'lora'], ['ia3', 'ia3'], ['lora-all-linear', 'lora']];
/** Fields of adapter_config.json that decide what PEFT builds; ours must equal PEFT's. */
const KEY_FIELDS = [
  'peft_type', 'task_type', 'inference_mode', 'num_virtual_tokens', 'token_dim', 'num_layers', 'num_attention_heads', 'num_transformer_submodules',
  'encoder_reparameterization_type', 'encoder_hidden_size', 'prefix_projection', 'r', 'lora_alpha', 'lora_dropout', 'target_modules', 'fan_in_fan_out',
  'bias', 'use_dora', 'use_rslora', 'feedforward_modules',
];

/** A copy of a fixture adapter folder (under the test's temporary root) with its adapter_config.json edited. */
function editedAdapter(root: string, name: string, edit: (json: Record<string, unknown>) => void): string {
  const dir = fs.mkdtempSync(path.join(root, `${name}-`));
  fs.cpSync(path.join(HF_FIXTURES, 'adapters', name), dir, { recursive: true });
  const file = path.join(dir, PEFT_CONFIG_FILE);
  const json = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  edit(json);
  fs.writeFileSync(file, JSON.stringify(json));
  return dir;
}

describe('PEFT adapters (golden: PEFT 0.21)', () => {
  let base: GPT2;
  let golden: Awaited<ReturnType<typeof goldenTensors>>;
  let root = '';
  before(async () => {
    await initBackend('wasm');
    base = (await loadPretrained(path.join(HF_FIXTURES, 'tiny-gpt2'))).model;
    golden = await goldenTensors();
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'peftscale-peft-'));
  });
  after(() => {
    base.dispose();
    golden.inputIds.dispose();
    for (const t of golden.logits.values()) t.dispose();
    fs.rmSync(root, { recursive: true, force: true });
  });

  for (const [name, methodName] of FIXTURES) {
    it(`${name}: PEFT's adapter gives PEFT's logits; written back, the same tensors and config fields; reloaded, the same logits`, async () => {
      const fixture = path.join(HF_FIXTURES, 'adapters', name);
      const loaded = await loadAdapter(fixture, base);
      const expected = golden.logits.get(name) as tf.Tensor3D;
      try {
        assert.equal(loaded.method.name, methodName);
        const logits = loaded.forward(golden.inputIds);
        const difference = maxDifference(logits, expected);
        assert.ok(difference <= LOGIT_TOLERANCE, `max |ours - PEFT| = ${difference}`);
        // The adapter matters: without it the logits are far from PEFT's.
        assert.ok(maxDifference(base.forward(golden.inputIds), expected) > 100 * LOGIT_TOLERANCE);

        if (name === 'lora') {
          const merged = loaded.method.mergedParameters?.(loaded.tensors, (n) => base.parameter(n), base.config, loaded.options);
          assert.ok(merged !== undefined && merged.size === 2 * 2, 'c_attn and mlp.c_proj in 2 layers');
          const mergedLogits = base.forward(golden.inputIds, { hooks: { parameterOverrides: merged } });
          const mergedDifference = maxDifference(mergedLogits, golden.logits.get('lora_merged') as tf.Tensor3D);
          assert.ok(mergedDifference <= LOGIT_TOLERANCE, `merged: max |ours - PEFT| = ${mergedDifference}`);
          for (const t of merged.values()) t.dispose();
        }

        const again = path.join(root, `${name}-again`);
        await saveLoadedAdapter(again, loaded);
        const theirs = await readSafetensorsFile(path.join(fixture, PEFT_WEIGHTS_FILE));
        const ours = await readSafetensorsFile(path.join(again, PEFT_WEIGHTS_FILE));
        assert.deepEqual([...ours.tensors.keys()].sort(), [...theirs.tensors.keys()].sort());
        for (const [tensorName, tensor] of theirs.tensors) {
          const mine = ours.tensors.get(tensorName);
          assert.deepEqual(mine?.shape, tensor.shape, tensorName);
          assert.deepEqual(mine?.data, tensor.data, `${tensorName}: bit for bit`);
        }
        const theirConfig = JSON.parse(fs.readFileSync(path.join(fixture, PEFT_CONFIG_FILE), 'utf8')) as Record<string, unknown>;
        const ourConfig = JSON.parse(fs.readFileSync(path.join(again, PEFT_CONFIG_FILE), 'utf8')) as Record<string, unknown>;
        for (const field of KEY_FIELDS) {
          if (!(field in theirConfig)) continue;
          // PEFT's resolved all-linear (one full path per layer and site) is written back as the sites it covers.
          if (name === 'lora-all-linear' && field === 'target_modules') assert.deepEqual(ourConfig[field], ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj']);
          else assert.deepEqual(ourConfig[field], theirConfig[field], field);
        }

        const reloaded = await loadAdapter(again, base);
        assert.equal(maxDifference(reloaded.forward(golden.inputIds), logits), 0);
        reloaded.dispose();
      } finally {
        loaded.dispose();
      }
    });
  }

  it("ours -> PEFT's layout -> ours: LoRA's A and B transposed to PEFT's [r, in] / [out, r], names prefixed; the same logits", async () => {
    const method = getMethod('lora');
    const options = resolveOptions(method, { rank: 3, alpha: 6, targets: ['c_fc'] }, base.config);
    const context = { config: base.config, seed: 4, baseParameter: (n: string) => base.parameter(n), encode: () => [] };
    const adapted = AdaptedModel.create(base, method, options, context);
    for (const [name, variable] of adapted.trainable) variable.assign(tf.randomNormal(variable.shape, 0, 0.3, 'float32', name.length));
    const dir = path.join(root, 'ours-lora');
    await saveAdapter(dir, adapted, { base: 'tiny-gpt2' });
    const { tensors } = await readSafetensorsFile(path.join(dir, PEFT_WEIGHTS_FILE));
    const a = tensors.get('base_model.model.transformer.h.1.mlp.c_fc.lora_A.weight');
    const b = tensors.get('base_model.model.transformer.h.1.mlp.c_fc.lora_B.weight');
    assert.deepEqual([a?.shape, b?.shape], [[3, 32], [128, 3]]);
    const ourA = adapted.trainable.get('h.1.mlp.c_fc.lora_A.weight') as tf.Tensor;
    assert.deepEqual(a?.data, tf.transpose(ourA).dataSync());
    const config = JSON.parse(fs.readFileSync(path.join(dir, PEFT_CONFIG_FILE), 'utf8')) as Record<string, unknown>;
    assert.deepEqual([config.peft_type, config.r, config.lora_alpha, config.target_modules, config.base_model_name_or_path], ['LORA', 3, 6, ['c_fc'], 'tiny-gpt2']);
    const loaded = await loadAdapter(dir, base);
    assert.equal(maxDifference(loaded.forward(golden.inputIds), adapted.forward(golden.inputIds)), 0);
    loaded.dispose();
    adapted.dispose();
  });

  it('a PEFT adapter that cannot be honoured is refused, every field named', async () => {
    await assert.rejects(loadAdapter(editedAdapter(root, 'lora', (j) => (j.peft_type = 'ADALORA')), base), /peft_type "ADALORA" is not supported; allowed: .*PROMPT_TUNING.*LORA.*IA3/);
    await assert.rejects(loadAdapter(editedAdapter(root, 'lora', (j) => (j.task_type = 'SEQ_CLS')), base), /task_type "SEQ_CLS" is not supported; allowed: "CAUSAL_LM"/);
    await assert.rejects(
      loadAdapter(editedAdapter(root, 'lora', (j) => Object.assign(j, { use_dora: true, target_modules: '.*attn.*' })), base),
      /cannot be loaded onto the base model:\n {2}use_dora = true: not supported[\s\S]*target_modules = "\.\*attn\.\*": matches transformer\.h\.0\.attn, transformer\.h\.0\.attn\.attn_dropout, transformer\.h\.0\.attn\.resid_dropout and \d+ more, not linear layers here/,
    );
    await assert.rejects(loadAdapter(editedAdapter(root, 'prefix-tuning', (j) => Object.assign(j, { token_dim: 64, num_layers: 5 })), base), /token_dim = 64: the base model has 32\n {2}num_layers = 5: the base model has 2/);
    await assert.rejects(loadAdapter(editedAdapter(root, 'p-tuning', (j) => (j.num_virtual_tokens = 6)), base), /prompt_embeddings: shape \[4,32\], expected \[6,32\]/);
  });

  it('target_modules as full paths, a regex or "all-linear" load when they cover whole sites; the rest is refused, field by field', async () => {
    const expected = golden.logits.get('lora-all-linear') as tf.Tensor3D;
    for (const targets of ['all-linear', '.*\\.(c_attn|c_proj|c_fc)', 'transformer\\.h\\.\\d+\\.(attn|mlp)\\.c_.*', ['c_attn', 'c_proj', 'c_fc']]) {
      const loaded = await loadAdapter(editedAdapter(root, 'lora-all-linear', (j) => (j.target_modules = targets)), base);
      assert.deepEqual(loaded.method.name, 'lora');
      const difference = maxDifference(loaded.forward(golden.inputIds), expected);
      assert.ok(difference <= LOGIT_TOLERANCE, `${JSON.stringify(targets)}: max |ours - PEFT| = ${difference}`);
      loaded.dispose();
    }
    // The fixture's own list without layer 1: PEFT would adapt layer 0 only, which is not a setting here.
    await assert.rejects(
      loadAdapter(editedAdapter(root, 'lora-all-linear', (j) => (j.target_modules = (j.target_modules as string[]).filter((t) => t.startsWith('transformer.h.0.')))), base),
      /target_modules = .*: attn\.c_attn is matched in layer 0 of 2; allowed: every layer/,
    );
    await assert.rejects(loadAdapter(editedAdapter(root, 'lora', (j) => (j.target_modules = ['c_attn', 'lm_head'])), base), /target_modules = \["c_attn","lm_head"\]: matches lm_head, not linear layers here/);
    await assert.rejects(loadAdapter(editedAdapter(root, 'lora', (j) => (j.target_modules = ['c_atn'])), base), /"c_atn" matches no module of GPT-2/);
    await assert.rejects(loadAdapter(editedAdapter(root, 'lora', (j) => (j.target_modules = '(?P<x>c_attn)')), base), /target_modules = "\(\?P<x>c_attn\)": not a regular expression this build can read/);
    await assert.rejects(loadAdapter(editedAdapter(root, 'ia3', (j) => (j.feedforward_modules = ['c_fc'])), base), /feedforward_modules = \["c_fc"\]: mlp\.c_fc is not a target; allowed: a subset of target_modules/);
    // A vector of the other orientation (PEFT's [1, in] where [out, 1] is due) is reported, not applied to the wrong side.
    await assert.rejects(
      loadAdapter(editedAdapter(root, 'ia3', (j) => (j.feedforward_modules = [])), base),
      /h\.0\.mlp\.c_proj\.ia3_l: shape \[1,128\], expected \[32\]/,
    );
  });
});
