// Writes adapters trained "here" (random values standing in for training) in PEFT's format, with our
// logits beside each, and a checkpoint of ours (a ps-*-style model, byte tokenizer) with its logits, for scripts/golden/check_peft_load.py to load with PEFT and compare. Run after
// `npm run build`: node scripts/golden/ours_to_peft.mjs OUT_DIR
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { AdaptedModel } from '../../dist/src/adapt/adapted.js';
import { saveAdapter } from '../../dist/src/io/adapter_io.js';
import { saveCheckpoint } from '../../dist/src/io/checkpoint.js';
import { GPT2 } from '../../dist/src/model/model.js';
import { initBackend } from '../../dist/src/model/backend.js';
import { getMethod, resolveOptions } from '../../dist/src/adapt/peft.js';
import { loadPretrained } from '../../dist/src/io/pretrained.js';
import '../../dist/methods/index.js';

import { loadAdapter } from '../../dist/src/io/adapter_load.js';

// `--logits ADAPTER_DIR`: our logits of a saved adapter (an exported trial's) on tiny-gpt2, as ours.json in that folder.
if (process.argv[2] === '--logits') {
  await initBackend('cpu');
  const { model: base, tokenizer } = await loadPretrained('test/fixtures/hf/tiny-gpt2');
  const ids = tokenizer.encode('Prompt tuning closes the gap, or does it?').slice(0, 10);
  const adapter = await loadAdapter(process.argv[3], base);
  const logits = adapter.forward(tf.tensor2d([ids], [1, ids.length], 'int32'));
  writeFileSync(path.join(process.argv[3], 'ours.json'), JSON.stringify({ input_ids: ids, shape: logits.shape, logits: Array.from(logits.dataSync()) }));
  process.exit(0);
}
const out = process.argv[2];
if (out === undefined) throw new Error('usage: node scripts/golden/ours_to_peft.mjs OUT_DIR | --logits ADAPTER_DIR');
const CASES = {
  'prompt-tuning': { length: 5 },
  'prefix-tuning': { length: 3, projection: 16 },
  'p-tuning': { length: 4, encoder: 'lstm', hidden: 8 },
  lora: { rank: 2, alpha: 5, targets: ['c_attn', 'c_proj', 'c_fc'] },
  ia3: { targets: ['c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'], feedforward: ['mlp.c_proj', 'attn.c_proj'] },
};
await initBackend('cpu');
const { model: base, tokenizer } = await loadPretrained('test/fixtures/hf/tiny-gpt2');
const ids = tokenizer.encode('Prompt tuning closes the gap, or does it?').slice(0, 10);
const tokens = tf.tensor2d([ids], [1, ids.length], 'int32');
for (const [name, raw] of Object.entries(CASES)) {
  const method = getMethod(name);
  const options = resolveOptions(method, raw, base.config);
  const context = { config: base.config, seed: 11, baseParameter: (n) => base.parameter(n), encode: (t) => tokenizer.encode(t) };
  const adapted = AdaptedModel.create(base, method, options, context);
  let seed = 1;
  for (const variable of adapted.trainable.values()) variable.assign(tf.randomNormal(variable.shape, 0, 0.4, 'float32', seed++));
  const dir = path.join(out, name);
  mkdirSync(dir, { recursive: true });
  await saveAdapter(dir, adapted, { base: 'tiny-gpt2' });
  const logits = adapted.forward(tokens);
  writeFileSync(path.join(dir, 'ours.json'), JSON.stringify({ input_ids: ids, shape: logits.shape, logits: Array.from(logits.dataSync()) }));
  console.log(`${name}: wrote ${dir}`);
}

// A checkpoint written here, for transformers' GPT2LMHeadModel.from_pretrained.
const ours = GPT2.initialize({ vocabSize: 260, contextLength: 32, dModel: 24, nLayers: 2, nHeads: 3, dFF: 40, layerNormEps: 1e-5 }, 5);
const checkpointDir = path.join(out, 'checkpoint');
await saveCheckpoint(checkpointDir, ours, { note: 'check_peft_load' });
const bytes = [72, 105, 33, 32, 256, 7];
const checkpointLogits = ours.forward(tf.tensor2d([bytes], [1, bytes.length], 'int32'));
writeFileSync(path.join(out, 'checkpoint.json'), JSON.stringify({ input_ids: bytes, shape: checkpointLogits.shape, logits: Array.from(checkpointLogits.dataSync()) }));
console.log(`checkpoint: wrote ${checkpointDir}`);
