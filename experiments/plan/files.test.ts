import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import '../../methods/index.js';
import { experimentPath, resolveExperiment } from './spec.js';

const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..', '..');
const DATA = path.join(REPO, 'test', 'fixtures', 'data');
const TINY_GPT2 = path.join(REPO, 'test', 'fixtures', 'hf', 'tiny-gpt2');
const root = mkdtempSync(path.join(os.tmpdir(), 'peftscale-files-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** An experiment in `dir` naming the fixture files by paths relative to it. */
function experiment(dir: string, overrides: Record<string, unknown> = {}): string {
  mkdirSync(dir, { recursive: true });
  cpSync(DATA, path.join(dir, 'data'), { recursive: true });
  cpSync(TINY_GPT2, path.join(dir, 'models', 'tiny'), { recursive: true });
  const file = path.join(dir, 'exp.json');
  const document = {
    name: 'files',
    presets: ['tiny'],
    tasks: ['sst2', 'rte'],
    checkpoints: { tiny: { path: 'models/tiny' } },
    datasets: {
      sst2: { recipe: 'sst2', files: { dev: 'data/sst2-dev.tsv' } },
      rte: { recipe: 'rte', files: { train: 'data/rte-train.jsonl', dev: '${PEFTSCALE_TEST_DATA:-data}/rte-val.jsonl' } },
    },
    training: { steps: 2, batchSize: 2, evalEvery: 1 },
    sweeps: [{ name: 'main', methods: [{ method: 'prompt-tuning', options: { length: 2, init: 'class-label' } }] }],
    ...overrides,
  };
  writeFileSync(file, JSON.stringify(document));
  return file;
}

describe('experiment files naming dataset files and checkpoint folders', () => {
  it('plans trials on a checkpoint folder and file tasks; paths are relative to the experiment file; keys follow contents, not paths', () => {
    const first = resolveExperiment(experiment(path.join(root, 'a')), 'quick');
    assert.equal(first.trials.length, 2);
    assert.deepEqual(first.presets, ['tiny']);
    assert.deepEqual(first.checkpoints.map((c) => [c.name, c.tokenizer, c.config.contextLength]), [['tiny', 'bpe', 48]]);
    const rte = first.trials.find((t) => t.config.task === 'rte');
    assert.deepEqual(rte?.config.data, { worldSize: 0, townCount: 0, train: 36, dev: 4, test: 16 });
    assert.equal(rte?.config.dataset?.recipe, 'rte');
    assert.match(rte?.config.modelId ?? '', /^checkpoint-[0-9a-f]{16}$/);
    assert.equal(rte?.dataset?.loader.files.dev, path.join(root, 'a', 'data', 'rte-val.jsonl'));
    assert.equal(rte?.checkpointDir, path.join(root, 'a', 'models', 'tiny'));

    // The same files elsewhere: the same keys.
    const moved = resolveExperiment(experiment(path.join(root, 'b', 'deeper')), 'quick');
    assert.deepEqual(moved.trials.map((t) => t.key), first.trials.map((t) => t.key));
    // One byte changed in a data file: that task's keys change, the other's stay.
    const dir = path.join(root, 'c');
    const file = experiment(dir);
    const sst2 = path.join(dir, 'data', 'sst2-dev.tsv');
    writeFileSync(sst2, readFileSync(sst2, 'utf8').replace('charming', 'charmless'));
    const changed = resolveExperiment(file, 'quick');
    const keyOf = (e: typeof first, task: string): string | undefined => e.trials.find((t) => t.config.task === task)?.key;
    assert.notEqual(keyOf(changed, 'sst2'), keyOf(first, 'sst2'));
    assert.equal(keyOf(changed, 'rte'), keyOf(first, 'rte'));
    // One byte changed in the checkpoint's weights: every key changes.
    const weights = path.join(dir, 'models', 'tiny', 'model.safetensors');
    const bytes = readFileSync(weights);
    bytes[bytes.length - 1] ^= 1;
    writeFileSync(weights, bytes);
    assert.notEqual(keyOf(resolveExperiment(file, 'quick'), 'rte'), keyOf(first, 'rte'));
  });

  it('reports every bad dataset and checkpoint before any work, each naming the field, the value and what is allowed', () => {
    const dir = path.join(root, 'bad');
    const file = experiment(dir, {
      presets: ['tiny', 'gone', 'ps-nanoo'],
      tasks: ['sst2', 'rte', 'copa', 'reviews'],
      checkpoints: { tiny: { path: 'models/tiny', shape: 'gpt2' }, gone: { path: 'models/gone' } },
      datasets: {
        sst2: { recipe: 'sst', files: { dev: 'data/sst2-dev.tsv' } },
        rte: { recipe: 'rte', files: { train: 'data/rte-train.jsonl' }, labelWords: { entailment: ' yes', contradiction: ' no' } },
        copa: { recipe: 'copa', files: { train: 'data/copa.jsonl' } },
        reviews: { recipe: 'generic', files: { train: 'data/empty.csv' }, format: 'csv', textFields: ['text'], labelField: 'stars', labelWords: { 1: ' bad', 5: ' good' } },
      },
    });
    writeFileSync(path.join(dir, 'data', 'empty.csv'), 'text,stars\n');
    assert.throws(
      () => resolveExperiment(file, 'quick'),
      (error: unknown) => {
        const message = (error as Error).message;
        const expected = [
          /checkpoints\.tiny\.shape = "gpt2": the folder's config\.json has vocabSize 384 \(expected 50257\)/,
          /checkpoints\.gone\.path = ".*models\/gone": checkpoint folder not found/,
          /presets: unknown preset or checkpoint "ps-nanoo"; did you mean "ps-nano"\?/,
          /datasets\.sst2\.recipe: unknown recipe "sst"; did you mean "sst2"\?/,
          /rte-train\.jsonl:1: label "not_entailment" is not in labelWords \(allowed: entailment, contradiction\)/,
          /datasets\.copa\.files\.train = ".*copa\.jsonl": not found; it is the training file train\.jsonl of SuperGLUE v2 \(https:\/\/dl\.fbaipublicfiles\.com\/glue\/superglue\/data\/v2\/COPA\.zip\)/,
          /datasets\.reviews: files\.train = ".*empty\.csv": the file holds no rows/,
        ];
        for (const pattern of expected) assert.match(message, pattern);
        return true;
      },
    );
  });

  it('a checkpoint whose config and weights disagree is refused with every mismatch', () => {
    const dir = path.join(root, 'mismatch');
    const file = experiment(dir);
    const config = path.join(dir, 'models', 'tiny', 'config.json');
    writeFileSync(config, JSON.stringify({ ...JSON.parse(readFileSync(config, 'utf8')), n_embd: 48 }));
    assert.throws(() => resolveExperiment(file, 'quick'), /checkpoints\.tiny: the weights in .* do not match its config\.json: \d+ mismatch\(es\):\n\s+wte\.weight: shape \[384,32\] in model\.safetensors, the config needs \[384,48\]/);
  });

  it('an unset environment variable without a default names the field', () => {
    const file = experiment(path.join(root, 'env'), { checkpoints: { tiny: { path: '${PEFTSCALE_TEST_UNSET_VARIABLE}/tiny' } } });
    assert.throws(() => resolveExperiment(file, 'quick'), /checkpoints\.tiny\.path = "\$\{PEFTSCALE_TEST_UNSET_VARIABLE\}\/tiny": environment variable PEFTSCALE_TEST_UNSET_VARIABLE is not set/);
  });

  it('the gpu experiment plans GPT-2 small to XL on SuperGLUE files with a dry run, and a real run names the missing folders', () => {
    const previous = process.env.PEFTSCALE_CHECKPOINTS;
    process.env.PEFTSCALE_CHECKPOINTS = path.join(root, 'no-checkpoints-here');
    process.env.PEFTSCALE_DATA = DATA;
    try {
      const dry = resolveExperiment(experimentPath('gpu'), 'quick', { allowMissingCheckpoints: true });
      assert.deepEqual(dry.presets, ['gpt2', 'gpt2-medium', 'gpt2-large', 'gpt2-xl']);
      assert.equal(dry.missingCheckpoints.length, 4);
      assert.match(dry.missingCheckpoints[0], /checkpoints\.gpt2\.path = ".*no-checkpoints-here\/gpt2": checkpoint folder not found/);
      const lengths = new Set(dry.trials.filter((t) => t.config.method === 'prompt-tuning').map((t) => t.config.options.length));
      assert.ok(lengths.size >= 4, 'a prompt-length sweep');
      assert.ok(dry.trials.every((t) => t.config.method !== 'prompt-tuning' || t.config.options.init === 'class-label'));
      assert.throws(() => resolveExperiment(experimentPath('gpu'), 'quick'), /checkpoints\.gpt2-xl\.path = ".*no-checkpoints-here\/gpt2-xl": checkpoint folder not found/);
    } finally {
      if (previous === undefined) delete process.env.PEFTSCALE_CHECKPOINTS;
      else process.env.PEFTSCALE_CHECKPOINTS = previous;
      delete process.env.PEFTSCALE_DATA;
    }
  });
});
