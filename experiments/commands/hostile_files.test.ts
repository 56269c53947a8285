/**
 * Hostile inputs, round three: files that are not files (devices, FIFOs, directories) wherever the suite
 * reads data, checkpoints or adapters; the same rows in two splits; adapters with non-finite weights;
 * shapes and shard counts past their bounds; the messages that named the wrong thing. Every case must be
 * refused within 30 s (on 2 cores) with a message naming the path or field, the value and what is allowed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '../../methods/index.js';
import { PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE } from '../../src/io/adapter_io.js';
import { loadAdapter } from '../../src/io/adapter_load.js';
import { initBackend } from '../../src/model/backend.js';
import { resolveModelConfig } from '../../src/model/config.js';
import type { GPT2 } from '../../src/model/model.js';
import { loadPretrained } from '../../src/io/pretrained.js';
import { readSafetensorsFile, writeSafetensorsFile, type SafeTensor } from '../../src/io/safetensors.js';
import { HF_FIXTURES } from '../../test/golden.js';
import { runCollect } from './collect.js';
import { runExperiment } from './experiment.js';
import { resolveExperiment } from '../plan/spec.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'peftscale-hostile-files-'));
after(() => rmSync(root, { recursive: true, force: true }));
const DATA = path.resolve(HF_FIXTURES, '..', 'data');
const TINY = path.join(HF_FIXTURES, 'tiny-gpt2');
let counter = 0;
const fresh = (name: string): string => {
  const dir = path.join(root, `${name}-${counter++}`);
  mkdirSync(dir, { recursive: true });
  return dir;
};
const fifo = (file: string): string => {
  const made = spawnSync('mkfifo', [file]);
  assert.equal(made.status, 0, `mkfifo ${file}`);
  return file;
};

/** The limit every refusal must meet. */
const REFUSED_WITHIN_MS = 30_000;

/** The error message of `work` (which must fail), checked to arrive within the limit. */
async function refusal(work: () => unknown): Promise<string> {
  const started = performance.now();
  try {
    await work();
  } catch (error) {
    const elapsed = performance.now() - started;
    assert.ok(elapsed < REFUSED_WITHIN_MS, `refused after ${elapsed.toFixed(0)} ms`);
    return (error as Error).message;
  }
  return assert.fail('expected a refusal');
}

/** An experiment on ps-nano over one file task "t", its dataset entry given; the error of resolving it. */
function datasetRefusal(entry: Record<string, unknown>): Promise<string> {
  const file = path.join(fresh('exp'), 'x.json');
  writeFileSync(file, JSON.stringify({ name: 'h', presets: ['ps-nano'], tasks: ['t'], datasets: { t: entry }, sweeps: [{ name: 'm', methods: [{ method: 'lora' }] }] }));
  return refusal(() => resolveExperiment(file, 'quick'));
}

const rteLines = (name: string): string[] => readFileSync(path.join(DATA, name), 'utf8').trim().split('\n');

describe('hostile files: data', () => {
  const rte = (files: Record<string, string>, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ recipe: 'rte', files, ...extra });

  it('a dev file that is /dev/zero is refused by type (no 8 GB read)', async () => {
    assert.match(await datasetRefusal(rte({ dev: '/dev/zero' })), /datasets\.t: .*files\.dev = "\/dev\/zero": cannot be read \(data file \/dev\/zero is a device: allowed: a regular file\)/);
  });

  it('a dev file that is a FIFO is refused by type (no blocking read)', async () => {
    const pipe = fifo(path.join(fresh('fifo'), 'dev.jsonl'));
    assert.match(await datasetRefusal(rte({ dev: pipe })), /data file .*dev\.jsonl is a FIFO: allowed: a regular file/);
  });

  it('a dev file that is a directory is refused by type', async () => {
    const dir = fresh('dir');
    assert.match(await datasetRefusal(rte({ dev: dir })), /files\.dev = ".*": cannot be read \(data file .* is a directory: allowed: a regular file\)/);
  });

  it('a missing data file names the field and what is allowed', async () => {
    assert.match(await datasetRefusal(rte({ dev: path.join(root, 'gone.jsonl') })), /datasets\.t\.files\.dev = ".*gone\.jsonl": not found; it is the validation file val\.jsonl of SuperGLUE v2 .*"aps\/super_glue" config "rte" split "validation"/);
  });

  it('the same file as train, dev and test is refused', async () => {
    const file = path.join(DATA, 'rte-val.jsonl');
    assert.match(await datasetRefusal(rte({ train: file, dev: file, test: file })), /files\.train = ".*rte-val\.jsonl" and files\.dev = ".*rte-val\.jsonl" have the same content \(SHA-256 [0-9a-f]{12}…\): allowed: a different file per split/);
  });

  it('two copies of one file (different paths, same bytes) for train and test are refused', async () => {
    const dir = fresh('copies');
    copyFileSync(path.join(DATA, 'rte-train.jsonl'), path.join(dir, 'a.jsonl'));
    copyFileSync(path.join(DATA, 'rte-train.jsonl'), path.join(dir, 'b.jsonl'));
    assert.match(await datasetRefusal(rte({ train: path.join(dir, 'a.jsonl'), test: path.join(dir, 'b.jsonl') })), /files\.train = .* and files\.test = .* have the same content/);
  });

  /** A validation file holding 2 rows of the training file (as another row id): 2 of 18 test rows shared. */
  const overlapping = (): { train: string; dev: string } => {
    const dir = fresh('overlap');
    const shared = rteLines('rte-train.jsonl').slice(0, 2).map((line, i) => JSON.stringify({ ...(JSON.parse(line) as object), idx: 9000 + i }));
    writeFileSync(path.join(dir, 'val.jsonl'), `${[...rteLines('rte-val.jsonl'), ...shared].join('\n')}\n`);
    return { train: path.join(DATA, 'rte-train.jsonl'), dev: path.join(dir, 'val.jsonl') };
  };

  it('rows shared between splits above maxOverlap are refused with the count and share', async () => {
    assert.match(await datasetRefusal(rte(overlapping())), /rows shared between splits \(the same input text\): test: 2 of 18 rows \(11\.1%\) also in train: allowed: at most 1\.0% of a split \(maxOverlap = 0\.01/);
  });

  it('with maxOverlap 0.2 the task runs, and the shared rows are recorded with its provenance', () => {
    const file = path.join(fresh('exp'), 'x.json');
    writeFileSync(file, JSON.stringify({ name: 'h', presets: ['ps-nano'], tasks: ['t'], datasets: { t: rte(overlapping(), { maxOverlap: 0.2 }) }, sweeps: [{ name: 'm', methods: [{ method: 'lora' }] }] }));
    const experiment = resolveExperiment(file, 'quick');
    const overlap = experiment.datasets[0].source.overlap;
    assert.deepEqual(overlap?.pairs.find((p) => p.split === 'test' && p.with === 'train'), { split: 'test', with: 'train', shared: 2, rows: 18, share: 2 / 18 });
    assert.equal(overlap?.maxShare, 0.2);
  });

  it('maxOverlap outside [0, 1] is refused by the schema', async () => {
    assert.match(await datasetRefusal(rte({ dev: path.join(DATA, 'rte-val.jsonl') }, { maxOverlap: 2 })), /maxOverlap = 2: allowed: a number ≤ 1|maxOverlap = 2: allowed/);
  });

  it('a TSV with CR-only line ends is named as such, not "no rows"', async () => {
    const file = path.join(fresh('cr'), 'dev.tsv');
    writeFileSync(file, readFileSync(path.join(DATA, 'sst2-dev.tsv'), 'utf8').replace(/\n/g, '\r'));
    assert.match(await datasetRefusal({ recipe: 'sst2', files: { dev: file } }), /dev\.tsv:1: line ends are CR only \(classic Mac OS\).*allowed: LF or CRLF line ends/);
  });

  it('a JSONL file that starts with a byte-order mark is read, as a TSV one is', () => {
    const dir = fresh('bom');
    writeFileSync(path.join(dir, 'val.jsonl'), `\uFEFF${readFileSync(path.join(DATA, 'rte-val.jsonl'), 'utf8')}`);
    const file = path.join(dir, 'x.json');
    writeFileSync(file, JSON.stringify({ name: 'h', presets: ['ps-nano'], tasks: ['t'], datasets: { t: rte({ dev: path.join(dir, 'val.jsonl') }) }, sweeps: [{ name: 'm', methods: [{ method: 'lora' }] }] }));
    const rows = resolveExperiment(file, 'quick').datasets[0].source.files[0].rows;
    assert.equal(rows, rteLines('rte-val.jsonl').length);
  });
});

describe('hostile files: checkpoint folders', () => {
  /** A copy of the tiny GPT-2 folder with one change; the error of planning an experiment on it. */
  const checkpointRefusal = async (change: (dir: string) => void): Promise<string> => {
    const dir = path.join(fresh('ckpt'), 'tiny');
    cpSync(TINY, dir, { recursive: true });
    change(dir);
    const file = path.join(path.dirname(dir), 'x.json');
    writeFileSync(file, JSON.stringify({ name: 'h', presets: ['tiny'], checkpoints: { tiny: { path: dir } }, tasks: ['infer'], sweeps: [{ name: 'm', methods: [{ method: 'lora' }] }] }));
    return refusal(() => resolveExperiment(file, 'quick'));
  };
  const replaceWithDirectory = (file: string): void => {
    unlinkSync(file);
    mkdirSync(file);
  };

  it('a directory as model.safetensors names the path (no bare EISDIR)', async () => {
    assert.match(await checkpointRefusal((dir) => replaceWithDirectory(path.join(dir, 'model.safetensors'))), /checkpoints\.tiny: weights file .*tiny\/model\.safetensors is a directory: allowed: a regular file/);
  });

  it('config.json as a FIFO is refused by type', async () => {
    assert.match(await checkpointRefusal((dir) => (unlinkSync(path.join(dir, 'config.json')), fifo(path.join(dir, 'config.json')))), /checkpoints\.tiny: checkpoint .*: JSON file .*config\.json is a FIFO: allowed: a regular file/);
  });

  it('config.json as a link to /dev/zero is refused by type', async () => {
    assert.match(await checkpointRefusal((dir) => (unlinkSync(path.join(dir, 'config.json')), symlinkSync('/dev/zero', path.join(dir, 'config.json')))), /JSON file .*config\.json is a device: allowed: a regular file/);
  });

  it('a tokenizer file that is a directory is refused by type', async () => {
    assert.match(await checkpointRefusal((dir) => replaceWithDirectory(path.join(dir, 'tokenizer.json'))), /checkpoints\.tiny: checkpoint file .*tokenizer\.json is a directory: allowed: a regular file/);
  });

  it('n_embd: "32" is named with its value, not called missing', async () => {
    const message = await checkpointRefusal((dir) => {
      const file = path.join(dir, 'config.json');
      writeFileSync(file, JSON.stringify({ ...(JSON.parse(readFileSync(file, 'utf8')) as object), n_embd: '32' }));
    });
    assert.match(message, /config\.json: n_embd = "32": allowed: a positive integer \(a JSON number, not a string\)/);
    assert.doesNotMatch(message, /missing/);
  });

  it('a weights file truncated mid-tensor is refused naming the bytes', async () => {
    assert.match(await checkpointRefusal((dir) => {
      const file = path.join(dir, 'model.safetensors');
      writeFileSync(file, readFileSync(file).subarray(0, 4000));
    }), /model\.safetensors: truncated: the header promises \d+ bytes, the file has 4000/);
  });

  it('loadPretrained (the worker’s path) refuses a directory as model.safetensors, naming it', async () => {
    const dir = path.join(fresh('pretrained'), 'tiny');
    cpSync(TINY, dir, { recursive: true });
    replaceWithDirectory(path.join(dir, 'model.safetensors'));
    assert.match(await refusal(() => loadPretrained(dir)), /weights file .*model\.safetensors is a directory: allowed: a regular file/);
  });
});

describe('hostile files: adapters', () => {
  let base: GPT2;
  before(async () => {
    await initBackend('cpu');
    base = (await loadPretrained(TINY)).model;
  });
  after(() => base.dispose());

  /** A copy of a PEFT fixture adapter with one change; the error of loading it. */
  const adapterRefusal = async (method: string, change: (dir: string) => Promise<void> | void): Promise<string> => {
    const dir = path.join(fresh('adapter'), method);
    cpSync(path.join(HF_FIXTURES, 'adapters', method), dir, { recursive: true });
    await change(dir);
    return refusal(() => loadAdapter(dir, base));
  };
  /** Writes NaN (or Infinity) into `count` values of the first tensor of the adapter's weights. */
  const poison = async (dir: string, value: number, count: number): Promise<string> => {
    const file = path.join(dir, PEFT_WEIGHTS_FILE);
    const decoded = await readSafetensorsFile(file);
    const [name, first] = [...decoded.tensors][0];
    const values = Float32Array.from(first.data as Float32Array);
    values.fill(value, 0, count);
    const tensors = new Map<string, SafeTensor>([...decoded.tensors].map(([n, t]) => [n, n === name ? { dtype: 'F32', shape: t.shape, data: values } : { dtype: 'F32', shape: t.shape, data: Float32Array.from(t.data as Float32Array) }]));
    await writeSafetensorsFile(file, tensors, decoded.metadata);
    return name;
  };

  it('a PEFT prompt-tuning adapter with NaN weights is refused, naming the tensor and the count', async () => {
    let name = '';
    const message = await adapterRefusal('prompt-tuning', async (dir) => void (name = await poison(dir, Number.NaN, 3)));
    assert.ok(message.includes(`${name} [`), message);
    assert.match(message, /adapter_model\.safetensors: 1 tensor\(s\) hold non-finite values .*allowed: finite values only\n {2}\S+ \[\d+(,\d+)*\]: 3 non-finite value\(s\), the first at flat index 0 \(NaN\)/);
  });

  it('a PEFT LoRA adapter with an infinite weight is refused, naming the tensor and the count', async () => {
    let name = '';
    const message = await adapterRefusal('lora', async (dir) => void (name = await poison(dir, Number.POSITIVE_INFINITY, 1)));
    assert.ok(message.includes(`${name} [`), message);
    assert.match(message, /1 non-finite value\(s\), the first at flat index 0 \(Infinity\)/);
  });

  it('r: 0 in adapter_config.json is named as r, in that file, not as --rank', async () => {
    const message = await adapterRefusal('lora', (dir) => {
      const file = path.join(dir, PEFT_CONFIG_FILE);
      writeFileSync(file, JSON.stringify({ ...(JSON.parse(readFileSync(file, 'utf8')) as object), r: 0 }));
    });
    assert.match(message, /adapter_config\.json: invalid options for method "lora":\n {2}r \(--rank\) = 0: out of range/);
  });

  it('adapter_model.safetensors as a directory is refused by type, naming the path', async () => {
    assert.match(await adapterRefusal('lora', (dir) => (unlinkSync(path.join(dir, PEFT_WEIGHTS_FILE)), mkdirSync(path.join(dir, PEFT_WEIGHTS_FILE)))), /weights file .*adapter_model\.safetensors is a directory: allowed: a regular file/);
  });

  it('adapter_config.json as a FIFO is refused by type (no blocking read)', async () => {
    assert.match(await adapterRefusal('prompt-tuning', (dir) => void (unlinkSync(path.join(dir, PEFT_CONFIG_FILE)), fifo(path.join(dir, PEFT_CONFIG_FILE)))), /JSON file .*adapter_config\.json is a FIFO: allowed: a regular file/);
  });

  it('an untouched PEFT adapter still loads (the checks refuse only what is wrong)', async () => {
    const loaded = await loadAdapter(path.join(HF_FIXTURES, 'adapters', 'lora'), base);
    const logits = loaded.forward(tf.tensor2d([[1, 2, 3]], [1, 3], 'int32'));
    assert.equal((await logits.data()).every((v) => Number.isFinite(v)), true);
    logits.dispose();
    loaded.dispose();
  });
});

describe('hostile files: shapes and shard counts', () => {
  it('params with a million layers and a 1e9 vocabulary is refused at once, before listing anything', async () => {
    assert.match(await refusal(() => resolveModelConfig(undefined, { dModel: 1_000_000, nLayers: 1_000_000, nHeads: 1, vocabSize: 1e9 })), /nLayers \(--layers\) = 1000000: allowed: at most 10,000/);
  });

  it('a shape past 2^53 parameters is refused with its exact count (BigInt, closed form)', async () => {
    assert.match(await refusal(() => resolveModelConfig(undefined, { dModel: 1_000_000, nLayers: 1000, nHeads: 1, vocabSize: 1e9 })), /the shape has 13,000,013,258,000,000 parameters: allowed: at most 9,007,199,254,740,991/);
  });

  it('--shard 1/1000000000 is refused at once with the numbers', async () => {
    assert.match(await refusal(() => runExperiment(['tiny-files', '--shard', '1/1000000000', '--dry-run'])), /--shard 1\/1000000000: 1000000000 shard\(s\) for 12 trial\(s\): allowed: 1 to 12 shards/);
  });

  it('--shard with a count past safe integers is refused by the parser', async () => {
    assert.match(await refusal(() => runExperiment(['tiny-files', '--shard', '1/99999999999999999999', '--dry-run'])), /--shard = "1\/99999999999999999999": allowed: I\/N/);
  });

  it('collect --shards above the trial count is refused with the numbers', async () => {
    assert.match(await refusal(() => runCollect(['tiny-files', '--shards', '13', '--trial-cache', fresh('trials')])), /collect: --shards = 13: 13 shard\(s\) for 12 trial\(s\)/);
  });

  it('collect with a --trial-cache that does not exist names it (not "nothing cached yet")', async () => {
    assert.match(await refusal(() => runCollect(['tiny-files', '--trial-cache', path.join(root, 'typo')])), /collect: --trial-cache = ".*typo": no such folder: allowed: the trial cache/);
  });

  it('--import-trials from a folder whose results.jsonl is a FIFO is refused by type', async () => {
    const dir = fresh('import');
    fifo(path.join(dir, 'results.jsonl'));
    assert.match(await refusal(() => runExperiment(['tiny-files', '--import-trials', dir, '--trial-cache', fresh('trials'), '--cache', fresh('models')])), /results file .*results\.jsonl is a FIFO: allowed: a regular file/);
  });
});
