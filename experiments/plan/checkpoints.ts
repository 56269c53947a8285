/**
 * Frozen models from checkpoint folders named in an experiment file (`checkpoints`): a folder saved by
 * Hugging Face transformers (config.json, model.safetensors or sharded safetensors with an index, the
 * tokenizer's vocab.json + merges.txt or tokenizer.json) or by peftscale (config.json of format
 * "peftscale-gpt2").
 *
 * Before any work starts, {@link inspectCheckpoint} reads only config.json and the safetensors headers:
 * it checks every tensor's name and shape against the config (the `transformer.` prefix, the tied
 * `lm_head.weight` and the attention mask buffers as transformers writes them), that the files hold
 * the bytes their headers promise, that a tokenizer is there, and fingerprints the folder's contents
 * (SHA-256 of every file the model is made of), which the trial key uses instead of the path.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { BYTE_VOCAB_SIZE, findPreset, validateModelConfig, type ModelConfig } from '../../src/model/config.js';
import { checkInputFile, MAX_JSON_FILE_BYTES } from '../../src/io/input_files.js';
import { countParameters, modelParameterSpecs } from '../../src/model/params.js';

/** A checkpoint as an experiment file names it (path already resolved). */
export interface CheckpointEntry {
  path: string;
  /** A published shape (e.g. "gpt2-xl") the folder must have: checked, and used to plan a dry run without the folder. */
  shape?: string;
  description?: string;
}

/** What the experiment needs to know about a checkpoint folder. */
export interface CheckpointInfo {
  name: string;
  dir: string;
  config: ModelConfig;
  parameters: number;
  /** "byte" (the ps-* tokenizer, a peftscale folder without tokenizer files) or "bpe" (the folder's own). */
  tokenizer: 'byte' | 'bpe';
  /** 16 hex digits of SHA-256 over the folder's model files (name and contents). */
  fingerprint: string;
}

const SAFETENSORS_INDEX = 'model.safetensors.index.json';
const ALLOWED_DTYPES = ['F32', 'F16', 'BF16'];
/** Buffers transformers writes beside the parameters (causal masks): not parameters, ignored. */
const BUFFER_SUFFIXES = ['.attn.bias', '.attn.masked_bias'];

function readJson(file: string, what: string): unknown {
  let text: string;
  try {
    checkInputFile(file, 'JSON file', MAX_JSON_FILE_BYTES);
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(`${what}: ${code === 'ENOENT' ? `${file} does not exist` : (error as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new Error(`${what}: ${file} is not valid JSON (${(error as Error).message})`);
  }
}

/** The model config of a config.json in either format (Hugging Face GPT-2 or peftscale). */
export function checkpointModelConfig(dir: string): ModelConfig {
  const file = path.join(dir, 'config.json');
  const raw = readJson(file, `checkpoint ${dir}`);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${file}: must be a JSON object`);
  const c = raw as Record<string, unknown>;
  if (c.format === 'peftscale-gpt2') return validateModelConfig(c.model as ModelConfig, `model config in ${file}`);
  if (c.model_type !== undefined && c.model_type !== 'gpt2') throw new Error(`${file}: model_type ${JSON.stringify(c.model_type)}; allowed: "gpt2" (a GPT-2 checkpoint) or a peftscale config`);
  const shapeFields = ['vocab_size', 'n_positions', 'n_embd', 'n_layer', 'n_head'];
  const missing = shapeFields.filter((k) => c[k] === undefined);
  // A field that is there with the wrong type ("32") is named with its value, not called missing.
  const mistyped = shapeFields.filter((k) => c[k] !== undefined && typeof c[k] !== 'number');
  if (mistyped.length > 0) throw new Error(`${file}: ${mistyped.map((k) => `${k} = ${JSON.stringify(c[k])}`).join(', ')}: allowed: a positive integer (a JSON number, not a string)`);
  if (missing.length > 0) throw new Error(`${file}: neither a Hugging Face GPT-2 config (missing ${missing.join(', ')}) nor a peftscale one (format "peftscale-gpt2")`);
  const dModel = c.n_embd as number;
  const config: ModelConfig = {
    vocabSize: c.vocab_size as number,
    contextLength: c.n_positions as number,
    dModel,
    nLayers: c.n_layer as number,
    nHeads: c.n_head as number,
    dFF: typeof c.n_inner === 'number' ? c.n_inner : 4 * dModel,
    layerNormEps: typeof c.layer_norm_epsilon === 'number' ? c.layer_norm_epsilon : 1e-5,
  };
  return validateModelConfig(config, `model config in ${file}`);
}

/** The weight files: model.safetensors, or the shards an index names. */
function weightFiles(dir: string): string[] {
  const index = path.join(dir, SAFETENSORS_INDEX);
  if (existsSync(index)) {
    const raw = readJson(index, `checkpoint ${dir}`) as { weight_map?: Record<string, string> };
    if (typeof raw.weight_map !== 'object' || raw.weight_map === null) throw new Error(`${index}: no "weight_map" object`);
    return [...new Set(Object.values(raw.weight_map))].sort().map((file) => path.join(dir, file));
  }
  return [path.join(dir, 'model.safetensors')];
}

/** Name → shape and dtype from a safetensors header; the file must hold every byte the header promises. */
function safetensorsHeader(file: string): Map<string, { shape: number[]; dtype: string }> {
  if (!existsSync(file)) throw new Error(`weights file ${file} does not exist`);
  // Only the header is read here, so any size will do; a directory, device or FIFO is refused by type.
  checkInputFile(file, 'weights file', Number.MAX_SAFE_INTEGER);
  const size = statSync(file).size;
  const fd = openSync(file, 'r');
  try {
    const prefix = Buffer.alloc(8);
    if (readSync(fd, prefix, 0, 8, 0) < 8) throw new Error(`${file}: truncated (${size} bytes, shorter than the 8-byte header length)`);
    const length = Number(prefix.readBigUInt64LE(0));
    if (length > size - 8 || length > 100_000_000) throw new Error(`${file}: header length ${length} exceeds the file (${size} bytes): truncated or not safetensors`);
    const json = Buffer.alloc(length);
    readSync(fd, json, 0, length, 8);
    const header = JSON.parse(json.toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
    const tensors = new Map<string, { shape: number[]; dtype: string }>();
    let end = 0;
    for (const [name, entry] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      tensors.set(name, { shape: entry.shape, dtype: entry.dtype });
      end = Math.max(end, entry.data_offsets[1]);
    }
    if (8 + length + end > size) throw new Error(`${file}: truncated: the header promises ${8 + length + end} bytes, the file has ${size}`);
    return tensors;
  } finally {
    closeSync(fd);
  }
}

/** Every problem between a config and the tensors a folder holds, as lines. */
function weightProblems(config: ModelConfig, files: string[]): string[] {
  const stored = new Map<string, { shape: number[]; dtype: string; file: string }>();
  for (const file of files) {
    for (const [rawName, entry] of safetensorsHeader(file)) {
      const name = rawName.startsWith('transformer.') ? rawName.slice('transformer.'.length) : rawName;
      if (BUFFER_SUFFIXES.some((suffix) => name.endsWith(suffix))) continue;
      stored.set(name, { ...entry, file: path.basename(file) });
    }
  }
  const problems: string[] = [];
  const expected = modelParameterSpecs(config);
  for (const spec of expected) {
    const found = stored.get(spec.name);
    if (found === undefined) problems.push(`${spec.name}: missing (expected shape [${spec.shape}])`);
    else if (found.shape.join(',') !== spec.shape.join(',')) problems.push(`${spec.name}: shape [${found.shape}] in ${found.file}, the config needs [${spec.shape}]`);
    else if (!ALLOWED_DTYPES.includes(found.dtype)) problems.push(`${spec.name}: dtype ${found.dtype}; allowed: ${ALLOWED_DTYPES.join(', ')}`);
  }
  const names = new Set(expected.map((s) => s.name));
  const lmHead = stored.get('lm_head.weight');
  if (lmHead !== undefined && lmHead.shape.join(',') !== `${config.vocabSize},${config.dModel}`) problems.push(`lm_head.weight: shape [${lmHead.shape}], tied to wte [${config.vocabSize},${config.dModel}]`);
  for (const name of stored.keys()) if (!names.has(name) && name !== 'lm_head.weight') problems.push(`${name}: not a parameter of this GPT-2 config`);
  return problems;
}

/** SHA-256 of a file, read in chunks (checkpoints are gigabytes). */
function fileHash(file: string): string {
  checkInputFile(file, 'checkpoint file', Number.MAX_SAFE_INTEGER); // read in chunks: any size, but a regular file
  const hash = createHash('sha256');
  const fd = openSync(file, 'r');
  try {
    const chunk = Buffer.alloc(16 << 20);
    let read: number;
    while ((read = readSync(fd, chunk, 0, chunk.length, null)) > 0) hash.update(chunk.subarray(0, read));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/** The folder's tokenizer files (empty for a byte-vocabulary peftscale folder). */
export function tokenizerFiles(dir: string): string[] {
  if (existsSync(path.join(dir, 'tokenizer.json'))) return ['tokenizer.json'];
  if (existsSync(path.join(dir, 'vocab.json')) && existsSync(path.join(dir, 'merges.txt'))) return ['vocab.json', 'merges.txt'];
  return [];
}

/**
 * Checks a checkpoint folder without loading its weights; problems are lines naming the file, the field or
 * tensor, the value and what is allowed. `at` is the experiment field ("checkpoints.gpt2").
 */
export function inspectCheckpoint(name: string, entry: CheckpointEntry, at: string): { info: CheckpointInfo | null; problems: string[] } {
  const dir = entry.path;
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    return { info: null, problems: [`${at}.path = ${JSON.stringify(dir)}: checkpoint folder not found; allowed: a folder with config.json and model.safetensors (as transformers save_pretrained writes it, or a peftscale checkpoint)`] };
  }
  let config: ModelConfig;
  try {
    config = checkpointModelConfig(dir);
  } catch (error) {
    return { info: null, problems: [`${at}: ${(error as Error).message}`] };
  }
  const problems: string[] = [];
  if (entry.shape !== undefined) {
    const shape = findPreset(entry.shape).config;
    const differing = (Object.keys(shape) as (keyof ModelConfig)[]).filter((k) => k !== 'layerNormEps' && shape[k] !== config[k]);
    if (differing.length > 0) problems.push(`${at}.shape = "${entry.shape}": the folder's config.json has ${differing.map((k) => `${k} ${config[k]} (expected ${shape[k]})`).join(', ')}`);
  }
  let files: string[] = [];
  try {
    files = weightFiles(dir);
    const mismatches = weightProblems(config, files);
    if (mismatches.length > 0) problems.push(`${at}: the weights in ${dir} do not match its config.json: ${mismatches.length} mismatch(es):\n    ${mismatches.slice(0, 20).join('\n    ')}`);
  } catch (error) {
    problems.push(`${at}: ${(error as Error).message}`);
  }
  const tokenizer = tokenizerFiles(dir);
  if (tokenizer.length === 0 && config.vocabSize !== BYTE_VOCAB_SIZE) {
    problems.push(`${at}: ${dir} has no tokenizer (tokenizer.json, or vocab.json + merges.txt) for its ${config.vocabSize}-token vocabulary; only a ${BYTE_VOCAB_SIZE}-token (byte) model may come without one`);
  }
  if (problems.length > 0) return { info: null, problems };
  const hash = createHash('sha256');
  try {
    for (const file of [path.join(dir, 'config.json'), ...tokenizer.map((f) => path.join(dir, f)), ...files]) {
      hash.update(`${path.basename(file)}:${fileHash(file)}\n`);
    }
  } catch (error) {
    return { info: null, problems: [`${at}: ${(error as Error).message}`] };
  }
  return {
    info: { name, dir, config, parameters: countParameters(modelParameterSpecs(config)), tokenizer: tokenizer.length === 0 ? 'byte' : 'bpe', fingerprint: hash.digest('hex').slice(0, 16) },
    problems: [],
  };
}
