/**
 * Hugging Face GPT-2 folders as transformers wrote them (test/fixtures/hf, from scripts/golden/make_fixtures.py):
 * logits against transformers' within 1e-4 (single file, sharded BF16, hub-style F16 with buffers), BPE ids
 * against transformers' on tricky strings from tokenizer.json and from vocab.json + merges.txt, our
 * checkpoints in transformers' layout, and named errors for bad folders.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { goldenInfo, goldenTensors, HF_FIXTURES, LOGIT_TOLERANCE, maxDifference } from '../../test/golden.js';
import { initBackend } from '../model/backend.js';
import { BpeTokenizer } from './bpe_tokenizer.js';
import { CONFIG_FILE, loadCheckpoint, saveCheckpoint, WEIGHTS_FILE, WEIGHTS_INDEX_FILE } from './checkpoint.js';
import { GPT2 } from '../model/model.js';
import { loadPretrained } from './pretrained.js';
import { encodeSafetensors, readSafetensorsFile } from './safetensors.js';

const BASE = path.join(HF_FIXTURES, 'tiny-gpt2');
let root = '';

/** A copy of a fixture folder to break. */
function copyFixture(name: string): string {
  const dir = fs.mkdtempSync(path.join(root, `${name}-`));
  fs.cpSync(path.join(HF_FIXTURES, name), dir, { recursive: true });
  return dir;
}

function editJson(file: string, edit: (json: Record<string, unknown>) => void): void {
  const json = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  edit(json);
  fs.writeFileSync(file, JSON.stringify(json));
}

describe('Hugging Face GPT-2 checkpoints and tokenizer (golden: transformers)', () => {
  let golden: Awaited<ReturnType<typeof goldenTensors>>;
  before(async () => {
    await initBackend('wasm');
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'peftscale-hf-'));
    golden = await goldenTensors();
  });
  after(() => {
    fs.rmSync(root, { recursive: true, force: true });
    golden.inputIds.dispose();
    for (const t of golden.logits.values()) t.dispose();
  });

  for (const [name, folder] of [['base', 'tiny-gpt2'], ['sharded_bf16', 'tiny-gpt2-sharded-bf16'], ['hub_f16', 'tiny-gpt2-hub-f16']] as const) {
    it(`${folder}: config, tokenizer and logits as transformers computes them (within ${LOGIT_TOLERANCE})`, async () => {
      const info = goldenInfo();
      const loaded = await loadPretrained(path.join(HF_FIXTURES, folder));
      try {
        assert.equal(loaded.file.format, 'huggingface');
        assert.deepEqual(loaded.config, {
          vocabSize: info.config.vocab_size,
          contextLength: info.config.n_positions,
          dModel: info.config.n_embd,
          nLayers: info.config.n_layer,
          nHeads: info.config.n_head,
          dFF: 4 * (info.config.n_embd as number),
          layerNormEps: info.config.layer_norm_epsilon,
        });
        assert.equal(loaded.tokenizer.name, 'gpt2-bpe');
        assert.equal(loaded.tokenizer.vocabSize, info.config.vocab_size);
        assert.equal(loaded.tokenizer.endOfTextId, info.config.eos_token_id);
        const logits = loaded.model.forward(golden.inputIds);
        const expected = golden.logits.get(name) as tf.Tensor3D;
        const difference = maxDifference(logits, expected);
        assert.ok(difference <= LOGIT_TOLERANCE, `max |ours - transformers| = ${difference}`);
        // Not trivially close: the logits spread over several units.
        assert.ok(tf.tidy(() => tf.moments(expected).variance.dataSync()[0]) > 0.1);
        logits.dispose();
      } finally {
        loaded.model.dispose();
      }
    });
  }

  it('BPE ids equal transformers on every tricky string, from tokenizer.json and from vocab.json + merges.txt; decode inverts', async () => {
    const cases = goldenInfo().tokenizer;
    assert.ok(cases.length >= 20);
    const fromJson = await BpeTokenizer.fromFolder(BASE);
    const fromPair = await BpeTokenizer.fromFolder(path.join(HF_FIXTURES, 'tiny-gpt2-sharded-bf16'));
    assert.match(fromPair.source, /vocab\.json \+ merges\.txt/);
    for (const tokenizer of [fromJson, fromPair]) {
      for (const { text, ids, decoded } of cases) {
        assert.deepEqual(tokenizer.encode(text), ids, `${tokenizer.source}: ${JSON.stringify(text)}`);
        assert.equal(tokenizer.decode(ids), decoded, JSON.stringify(text));
        assert.equal(decoded, text, 'byte-level BPE round-trips every string');
      }
      assert.deepEqual(tokenizer.encode('a', { endOfText: true }), [...tokenizer.encode('a'), tokenizer.endOfTextId]);
      assert.throws(() => tokenizer.decode([tokenizer.vocabSize]), /outside the vocabulary/);
    }
  });

  it('our checkpoints are transformers folders: HF config fields plus "peftscale", prefixed F32 tensors; they load back exactly', async () => {
    const dir = path.join(root, 'ours');
    const model = GPT2.initialize({ vocabSize: 260, contextLength: 16, dModel: 8, nLayers: 2, nHeads: 2, dFF: 24, layerNormEps: 1e-5 }, 3);
    await saveCheckpoint(dir, model, { seed: 3 });
    const config = JSON.parse(fs.readFileSync(path.join(dir, CONFIG_FILE), 'utf8')) as Record<string, unknown>;
    assert.equal(config.model_type, 'gpt2');
    assert.deepEqual(config.architectures, ['GPT2LMHeadModel']);
    assert.equal(config.n_inner, 24);
    assert.equal(config.eos_token_id, 256);
    assert.deepEqual(config.peftscale, { format: 'peftscale-gpt2', formatVersion: 2, tokenizer: 'byte', metadata: { seed: 3 } });
    const { tensors, metadata } = await readSafetensorsFile(path.join(dir, WEIGHTS_FILE));
    assert.deepEqual(metadata, { format: 'pt' });
    assert.ok([...tensors.keys()].every((name) => name.startsWith('transformer.')), [...tensors.keys()].join());
    assert.equal(tensors.size, model.specs.length);
    const loaded = await loadPretrained(dir);
    assert.equal(loaded.tokenizer.name, 'byte');
    assert.deepEqual(loaded.metadata, { seed: 3 });
    const tokens = tf.tensor2d([[1, 2, 3]], [1, 3], 'int32');
    assert.equal(maxDifference(loaded.model.forward(tokens), model.forward(tokens)), 0);
    loaded.model.dispose();
    model.dispose();
  });

  it('bad folders give named errors listing every problem, before any weights are used', async () => {
    const unknown = copyFixture('tiny-gpt2');
    fs.writeFileSync(path.join(unknown, CONFIG_FILE), JSON.stringify({ hidden: 3 }));
    await assert.rejects(loadPretrained(unknown), /config\.json: unknown config format: neither a Hugging Face GPT-2 config\.json .* its keys: "hidden"/);

    const other = copyFixture('tiny-gpt2');
    editJson(path.join(other, CONFIG_FILE), (json) => {
      json.model_type = 'llama';
      delete json.n_embd;
      json.n_head = 0;
      json.activation_function = 'relu';
      json.tie_word_embeddings = false;
    });
    await assert.rejects(loadPretrained(other), (error: Error) => {
      assert.match(error.message, /unsupported or incomplete GPT-2 config:/);
      for (const expected of [/model_type = "llama": only "gpt2"/, /n_embd: missing/, /n_head = 0: must be a positive integer/, /activation_function = "relu": not supported; allowed: gelu_new/, /tie_word_embeddings = false/]) {
        assert.match(error.message, expected);
      }
      return true;
    });

    const disagree = copyFixture('tiny-gpt2');
    editJson(path.join(disagree, CONFIG_FILE), (json) => {
      json.n_layer = 3;
      json.n_embd = 64;
    });
    await assert.rejects(loadCheckpoint(disagree), (error: Error) => {
      assert.match(error.message, /model\.safetensors does not match the model in .*config\.json \(vocabSize 384, contextLength 48, dModel 64/);
      assert.match(error.message, /wte\.weight: shape \[384,32\], expected \[384,64\]/);
      assert.match(error.message, /h\.2\.ln_1\.weight: missing/);
      return true;
    });

    const truncated = copyFixture('tiny-gpt2-sharded-bf16');
    const shard = path.join(truncated, 'model-00002-of-00003.safetensors');
    fs.writeFileSync(shard, fs.readFileSync(shard).subarray(0, 1000));
    await assert.rejects(loadCheckpoint(truncated), (error: Error) => error.message.startsWith(`${shard}: `) && /truncated/.test(error.message));
    fs.rmSync(shard);
    await assert.rejects(loadCheckpoint(truncated), /model\.safetensors\.index\.json: shard file\(s\) missing from .*: model-00002-of-00003\.safetensors/);

    const moved = copyFixture('tiny-gpt2-sharded-bf16');
    editJson(path.join(moved, WEIGHTS_INDEX_FILE), (json) => {
      (json.weight_map as Record<string, string>)['transformer.wte.weight'] = 'model-00001-of-00003.safetensors';
    });
    await assert.rejects(loadCheckpoint(moved), /does not match its shards:\n {2}transformer\.wte\.weight: listed in the index for model-00001-of-00003\.safetensors, not found there/);

    const untied = copyFixture('tiny-gpt2-hub-f16');
    const { tensors } = await readSafetensorsFile(path.join(untied, WEIGHTS_FILE));
    const head = tensors.get('lm_head.weight');
    assert.ok(head !== undefined);
    (head.data as Float32Array)[5] += 1;
    const widened = new Map([...tensors].map(([name, t]) => [name, { dtype: 'F32' as const, shape: t.shape, data: t.data as Float32Array }]));
    fs.writeFileSync(path.join(untied, WEIGHTS_FILE), encodeSafetensors(widened));
    await assert.rejects(loadCheckpoint(untied), /1 mismatch:\n {2}lm_head\.weight: differs from wte\.weight; only a tied LM head is supported/);

    const noWeights = copyFixture('tiny-gpt2');
    fs.renameSync(path.join(noWeights, WEIGHTS_FILE), path.join(noWeights, 'pytorch_model.bin'));
    await assert.rejects(loadCheckpoint(noWeights), /no weights in .*: expected model\.safetensors or model\.safetensors\.index\.json with its shards; pytorch_model\.bin \(a PyTorch pickle\) is not read/);

    const noTokenizer = copyFixture('tiny-gpt2-hub-f16');
    fs.rmSync(path.join(noTokenizer, 'merges.txt'));
    await assert.rejects(loadPretrained(noTokenizer), /no tokenizer in .*: expected tokenizer\.json, or vocab\.json \+ merges\.txt \(missing: merges\.txt\)/);

    const wordPiece = copyFixture('tiny-gpt2');
    editJson(path.join(wordPiece, 'tokenizer.json'), (json) => {
      (json.model as Record<string, unknown>).type = 'WordPiece';
    });
    await assert.rejects(loadPretrained(wordPiece), /tokenizer\.json: model\.type "WordPiece"; only a byte-level BPE/);

    const badMerges = copyFixture('tiny-gpt2-hub-f16');
    fs.appendFileSync(path.join(badMerges, 'merges.txt'), 'a b c\n');
    await assert.rejects(loadPretrained(badMerges), /merges\.txt: line \d+ is "a b c"; expected two tokens separated by one space/);

    const small = copyFixture('tiny-gpt2');
    editJson(path.join(small, CONFIG_FILE), (json) => {
      json.vocab_size = 300;
    });
    await assert.rejects(loadPretrained(small), /the tokenizer has 384 ids but the model's vocabulary \(vocab_size\) is 300/);
  });
});
