/**
 * Model checkpoints as a folder, in the layout Hugging Face transformers writes for GPT-2, so that
 * `GPT2LMHeadModel.from_pretrained(dir)` reads ours and we read theirs as they are:
 * - `config.json`: transformers' GPT-2 fields (see hf_config.ts); ours add a `peftscale` object (format
 *   tag and version, tokenizer name, free metadata such as the seed, preset and training steps). The
 *   older peftscale format (`{"format": "peftscale-gpt2", "formatVersion": 1, "model": {...}}`) is still read.
 * - weights: `model.safetensors`, or shards listed in `model.safetensors.index.json`; tensor names with or
 *   without the `transformer.` prefix; the attention buffers `h.N.attn.bias` / `h.N.attn.masked_bias` of
 *   older hub files ignored; an `lm_head.weight` accepted only when it equals `wte.weight` (tied);
 *   F16/BF16 widened to float32. Ours are written F32 with the prefix, as save_pretrained does.
 * Both files are written atomically; loading checks the config and every tensor's name, shape and dtype,
 * and reports all mismatches in one error.
 *
 * Also the generic pieces others build on (PEFT adapters): {@link saveTensors} and {@link loadWeights}
 * move maps of TensorFlow.js tensors to and from a safetensors file.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { validateModelConfig, type ModelConfig } from '../model/config.js';
import { hfConfigFor, isHfConfig, modelConfigFromHf } from './hf_config.js';
import { GPT2, weightMismatches } from '../model/model.js';
import { writeFileAtomic } from './atomic_file.js';
import { MAX_JSON_FILE_BYTES, readInputFile } from './input_files.js';
import { readSafetensorsFile, writeSafetensorsFile, type DecodedTensor, type SafeTensor } from './safetensors.js';
import { ByteTokenizer, type Tokenizer } from './tokenizer.js';

export const WEIGHTS_FILE = 'model.safetensors';
/** The index of a sharded checkpoint: {"metadata": {...}, "weight_map": {tensor name: shard file}}. */
export const WEIGHTS_INDEX_FILE = 'model.safetensors.index.json';
export const CONFIG_FILE = 'config.json';
/** Identifies a peftscale model checkpoint's config.json. */
export const CHECKPOINT_FORMAT = 'peftscale-gpt2';
/** Bumped whenever the layout of the folder or of config.json changes incompatibly (2: transformers' config.json). */
export const CHECKPOINT_FORMAT_VERSION = 2;
/** Versions this build reads (1: the older `{"format", "formatVersion", "model", "metadata"}` file). */
export const READABLE_FORMAT_VERSIONS: readonly number[] = [1, 2];
/** The prefix transformers' GPT2LMHeadModel gives the base model's tensors. */
export const HF_PREFIX = 'transformer.';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Free metadata stored in config.json; the named fields are conventions, any JSON value is allowed. */
export interface CheckpointMetadata {
  seed?: number;
  preset?: string;
  steps?: number;
  [key: string]: JsonValue | undefined;
}

/** What config.json says, whichever format it is in. */
export interface CheckpointConfigFile {
  /** 'huggingface': a config.json written by transformers (no peftscale fields). */
  format: typeof CHECKPOINT_FORMAT | 'huggingface';
  /** The peftscale format version; 0 for a Hugging Face folder. */
  formatVersion: number;
  model: ModelConfig;
  metadata: CheckpointMetadata;
  /** The tokenizer by name ('byte' for the ps-* family), or null: the folder's own tokenizer files. */
  tokenizer: string | null;
}

/** The `peftscale` object of a config.json we write. */
export interface PeftscaleConfigFields {
  format: typeof CHECKPOINT_FORMAT;
  formatVersion: number;
  tokenizer: string;
  metadata: CheckpointMetadata;
}

export interface LoadedCheckpoint {
  model: GPT2;
  config: ModelConfig;
  metadata: CheckpointMetadata;
  /** How config.json was read, and which tokenizer the checkpoint names. */
  file: CheckpointConfigFile;
}

/** Every field of a ModelConfig, for checking config files. */
export const MODEL_FIELDS: readonly (keyof ModelConfig)[] = ['vocabSize', 'contextLength', 'dModel', 'nLayers', 'nHeads', 'dFF', 'layerNormEps'];

// ---------------------------------------------------------------------------------------------------
// Generic tensors <-> safetensors

/** A tf tensor's values as a safetensors tensor (float32 → F32, int32 → I32, bool → BOOL). */
async function toSafeTensor(name: string, tensor: tf.Tensor): Promise<SafeTensor> {
  const shape = [...tensor.shape];
  switch (tensor.dtype) {
    case 'float32':
      return { dtype: 'F32', shape, data: (await tensor.data()) as Float32Array };
    case 'int32':
      return { dtype: 'I32', shape, data: (await tensor.data()) as Int32Array };
    case 'bool':
      return { dtype: 'BOOL', shape, data: (await tensor.data()) as Uint8Array };
    default:
      throw new Error(`cannot save tensor "${name}": dtype ${tensor.dtype} has no safetensors equivalent here (allowed: float32, int32, bool)`);
  }
}

/**
 * Saves a map of tf tensors to one safetensors file, atomically. float32, int32 and bool are stored as
 * F32, I32 and BOOL, bit for bit. `metadata` goes into the header's "__metadata__" (strings only).
 */
export async function saveTensors(filePath: string, tensors: ReadonlyMap<string, tf.Tensor>, metadata?: Readonly<Record<string, string>>): Promise<void> {
  const stored = new Map<string, SafeTensor>();
  for (const [name, tensor] of tensors) stored.set(name, await toSafeTensor(name, tensor));
  await writeSafetensorsFile(filePath, stored, metadata);
}

/** A decoded tensor as a tf tensor: F32 (and F16/BF16, already widened) → float32, integers → int32, BOOL → bool. */
function toTfTensor(name: string, tensor: DecodedTensor, source: string): tf.Tensor {
  switch (tensor.dtype) {
    case 'F32':
      return tf.tensor(tensor.data, tensor.shape, 'float32');
    case 'I32':
      return tf.tensor(tensor.data, tensor.shape, 'int32');
    case 'I16':
    case 'I8':
    case 'U8':
      // Widening to int32 is exact; TensorFlow.js has no narrower integer dtype.
      return tf.tensor(Int32Array.from(tensor.data), tensor.shape, 'int32');
    case 'BOOL':
      return tf.tensor(tensor.data, tensor.shape, 'bool');
    case 'F64':
    case 'I64':
      throw new Error(`${source}: tensor "${name}" has dtype ${tensor.dtype}, which TensorFlow.js cannot hold without loss (allowed: F32, F16, BF16, I32, I16, I8, U8, BOOL)`);
  }
}

/** Converts every decoded tensor; on failure, disposes those already made. */
function toTfTensors(tensors: ReadonlyMap<string, DecodedTensor>, source: string): Map<string, tf.Tensor> {
  const made = new Map<string, tf.Tensor>();
  try {
    for (const [name, tensor] of tensors) made.set(name, toTfTensor(name, tensor, source));
  } catch (error) {
    for (const tensor of made.values()) tensor.dispose();
    throw error;
  }
  return made;
}

/**
 * Loads every tensor of a safetensors file as tf tensors (the caller owns and disposes them), with the
 * header's string metadata. See {@link toTfTensor} for the dtype mapping; F64 and I64 are refused.
 */
export async function loadWeights(filePath: string): Promise<{ tensors: Map<string, tf.Tensor>; metadata: Record<string, string> }> {
  const decoded = await readSafetensorsFile(filePath);
  return { tensors: toTfTensors(decoded.tensors, filePath), metadata: decoded.metadata };
}

// ---------------------------------------------------------------------------------------------------
// Checkpoints

/**
 * Saves a model into `dir` (created if needed): model.safetensors (F32, `transformer.` prefix), then
 * config.json (transformers' GPT-2 fields plus a `peftscale` object), each atomically. The tokenizer is
 * recorded by name; only a tokenizer that needs no files (the byte tokenizer) can be recorded. Returns the
 * two paths. Saving the same model twice gives identical bytes.
 */
export async function saveCheckpoint(
  dir: string,
  model: GPT2,
  metadata: CheckpointMetadata = {},
  tokenizer: Pick<Tokenizer, 'name' | 'endOfTextId' | 'padId'> = new ByteTokenizer(),
): Promise<{ weightsPath: string; configPath: string }> {
  if (tokenizer.name !== 'byte') throw new Error(`saveCheckpoint: tokenizer "${tokenizer.name}" has files of its own; only the byte tokenizer can be recorded by name`);
  await mkdir(dir, { recursive: true });
  const weightsPath = path.join(dir, WEIGHTS_FILE);
  const configPath = path.join(dir, CONFIG_FILE);
  const prefixed = new Map([...model.parameters()].map(([name, tensor]) => [`${HF_PREFIX}${name}`, tensor]));
  // "pt" is the tag Hugging Face loaders expect: names and [in, out] Conv1D layouts follow their GPT-2.
  await saveTensors(weightsPath, prefixed, { format: 'pt' });
  const peftscale: PeftscaleConfigFields = { format: CHECKPOINT_FORMAT, formatVersion: CHECKPOINT_FORMAT_VERSION, tokenizer: tokenizer.name, metadata };
  const file = hfConfigFor(model.config, { bos: tokenizer.endOfTextId, eos: tokenizer.endOfTextId, pad: tokenizer.padId }, { peftscale });
  await writeFileAtomic(configPath, `${JSON.stringify(file, null, 2)}\n`);
  return { weightsPath, configPath };
}

/** Parses a JSON file; a missing file is `${what}: <path> does not exist`, bad JSON names the file. */
export async function readJsonFile(filePath: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = (await readInputFile(filePath, 'JSON file', MAX_JSON_FILE_BYTES)).toString('utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`${what}: ${filePath} does not exist`);
    throw error;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new Error(`${filePath}: not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The "model" object of a version-1 config.json as a validated ModelConfig; unknown fields (typos) are errors. */
function parseModelConfig(value: unknown, configPath: string): ModelConfig {
  if (!isObject(value)) throw new Error(`${configPath}: "model" must be an object with ${MODEL_FIELDS.join(', ')}, got ${JSON.stringify(value)}`);
  const unknown = Object.keys(value).filter((key) => !(MODEL_FIELDS as readonly string[]).includes(key));
  if (unknown.length > 0) throw new Error(`${configPath}: unknown field(s) ${unknown.map((k) => `"${k}"`).join(', ')} in "model"; allowed: ${MODEL_FIELDS.join(', ')}`);
  const config = Object.fromEntries(MODEL_FIELDS.map((field) => [field, value[field]])) as unknown as ModelConfig;
  return validateModelConfig(config, `model config in ${configPath}`);
}

function checkVersion(version: unknown, configPath: string): number {
  if (typeof version !== 'number' || !READABLE_FORMAT_VERSIONS.includes(version)) {
    throw new Error(`${configPath}: formatVersion ${JSON.stringify(version)} is not supported; this build reads ${READABLE_FORMAT_VERSIONS.join(' and ')}`);
  }
  return version;
}

function checkMetadata(metadata: unknown, where: string): CheckpointMetadata {
  if (!isObject(metadata)) throw new Error(`${where} must be an object, got ${JSON.stringify(metadata)}`);
  return metadata as CheckpointMetadata;
}

/**
 * Reads and validates a checkpoint's config.json in any of the formats it may have: ours (transformers'
 * fields plus `peftscale`), the older peftscale file (format version 1), or one transformers wrote.
 */
export async function readCheckpointConfig(dir: string): Promise<CheckpointConfigFile> {
  const configPath = path.join(dir, CONFIG_FILE);
  const raw = await readJsonFile(configPath, `no checkpoint in ${dir}`);
  if (!isObject(raw)) throw new Error(`${configPath}: must be a JSON object, got ${JSON.stringify(raw)}`);
  if (raw.format !== undefined) {
    if (raw.format !== CHECKPOINT_FORMAT) throw new Error(`${configPath}: format ${JSON.stringify(raw.format)}, expected "${CHECKPOINT_FORMAT}" or a Hugging Face GPT-2 config.json`);
    const formatVersion = checkVersion(raw.formatVersion, configPath);
    if (formatVersion !== 1) throw new Error(`${configPath}: formatVersion ${formatVersion} keeps its fields under "peftscale", not at the top level`);
    const metadata = checkMetadata(raw.metadata ?? {}, `${configPath}: "metadata"`);
    return { format: CHECKPOINT_FORMAT, formatVersion, model: parseModelConfig(raw.model, configPath), metadata, tokenizer: 'byte' };
  }
  if (!isHfConfig(raw)) {
    const keys = Object.keys(raw).slice(0, 8).map((key) => `"${key}"`).join(', ');
    throw new Error(
      `${configPath}: unknown config format: neither a Hugging Face GPT-2 config.json (model_type "gpt2", n_embd, n_layer, ...) ` +
        `nor a peftscale checkpoint (format "${CHECKPOINT_FORMAT}"); its keys: ${keys || 'none'}`,
    );
  }
  const model = modelConfigFromHf(raw, configPath);
  if (raw.peftscale === undefined) return { format: 'huggingface', formatVersion: 0, model, metadata: {}, tokenizer: null };
  const ours = raw.peftscale;
  if (!isObject(ours) || ours.format !== CHECKPOINT_FORMAT) {
    throw new Error(`${configPath}: "peftscale" must be an object with format "${CHECKPOINT_FORMAT}", got ${JSON.stringify(ours)}`);
  }
  const formatVersion = checkVersion(ours.formatVersion, configPath);
  if (typeof ours.tokenizer !== 'string') throw new Error(`${configPath}: peftscale.tokenizer = ${JSON.stringify(ours.tokenizer)}: must be a tokenizer name ("byte")`);
  const metadata = checkMetadata(ours.metadata ?? {}, `${configPath}: "peftscale.metadata"`);
  return { format: CHECKPOINT_FORMAT, formatVersion, model, metadata, tokenizer: ours.tokenizer };
}

function configSummary(config: ModelConfig): string {
  return MODEL_FIELDS.map((field) => `${field} ${config[field]}`).join(', ');
}

/** Every tensor of the checkpoint's weight files (one file, or the shards of the index), by stored name. */
async function readWeightFiles(dir: string): Promise<{ tensors: Map<string, DecodedTensor>; source: string }> {
  const single = path.join(dir, WEIGHTS_FILE);
  const indexPath = path.join(dir, WEIGHTS_INDEX_FILE);
  if (existsSync(single) || !existsSync(indexPath)) {
    if (!existsSync(single)) {
      const pickle = existsSync(path.join(dir, 'pytorch_model.bin'))
        ? '; pytorch_model.bin (a PyTorch pickle) is not read: save the model again with save_pretrained(dir, safe_serialization=True)'
        : '';
      throw new Error(`no weights in ${dir}: expected ${WEIGHTS_FILE} or ${WEIGHTS_INDEX_FILE} with its shards${pickle}`);
    }
    return { tensors: (await readSafetensorsFile(single)).tensors, source: single };
  }
  const index = await readJsonFile(indexPath, `no weights in ${dir}`);
  const weightMap = isObject(index) ? index.weight_map : undefined;
  if (!isObject(weightMap) || Object.values(weightMap).some((file) => typeof file !== 'string' || file.includes('/') || file.includes('\\'))) {
    throw new Error(`${indexPath}: "weight_map" must be an object mapping each tensor name to a shard file in ${dir}`);
  }
  const shards = [...new Set(Object.values(weightMap) as string[])].sort();
  const missing = shards.filter((file) => !existsSync(path.join(dir, file)));
  if (missing.length > 0) throw new Error(`${indexPath}: shard file(s) missing from ${dir}: ${missing.join(', ')}`);
  const tensors = new Map<string, DecodedTensor>();
  const problems: string[] = [];
  for (const file of shards) {
    for (const [name, tensor] of (await readSafetensorsFile(path.join(dir, file))).tensors) {
      if (weightMap[name] !== file) problems.push(`${name}: in ${file}, but the index says ${JSON.stringify(weightMap[name] ?? null)}`);
      tensors.set(name, tensor);
    }
  }
  for (const [name, file] of Object.entries(weightMap)) if (!tensors.has(name)) problems.push(`${name}: listed in the index for ${String(file)}, not found there`);
  if (problems.length > 0) throw new Error(`${indexPath} does not match its shards:\n  ${problems.join('\n  ')}`);
  return { tensors, source: `${indexPath} (${shards.length} shards)` };
}

/** h.N.attn.bias / h.N.attn.masked_bias: the causal-mask buffers older transformers saved with the weights. */
const ATTENTION_BUFFER = /^h\.\d+\.attn\.(bias|masked_bias)$/;

/**
 * Stored names to ours: the `transformer.` prefix dropped, attention buffers ignored, a tied lm_head
 * checked against wte and dropped. Problems (an untied head, a name stored twice) are returned, not thrown.
 */
export function normaliseWeightNames(stored: ReadonlyMap<string, DecodedTensor>): { tensors: Map<string, DecodedTensor>; problems: string[] } {
  const tensors = new Map<string, DecodedTensor>();
  const problems: string[] = [];
  let head: DecodedTensor | undefined;
  for (const [storedName, tensor] of stored) {
    const name = storedName.startsWith(HF_PREFIX) ? storedName.slice(HF_PREFIX.length) : storedName;
    if (ATTENTION_BUFFER.test(name)) continue;
    if (name === 'lm_head.weight') {
      head = tensor;
      continue;
    }
    if (tensors.has(name)) problems.push(`${name}: stored twice (with and without the "${HF_PREFIX}" prefix)`);
    tensors.set(name, tensor);
  }
  const wte = tensors.get('wte.weight');
  if (head !== undefined && wte !== undefined) {
    const same = head.shape.join() === wte.shape.join() && head.data.length === wte.data.length && head.data.every((value, i) => value === wte.data[i]);
    if (!same) problems.push('lm_head.weight: differs from wte.weight; only a tied LM head is supported (tie_word_embeddings true)');
  }
  return { tensors, problems };
}

/**
 * Loads a checkpoint folder: ours, or one transformers wrote (see the module comment). config.json is
 * validated, then every tensor is checked against it (names, shapes, dtypes); all mismatches are reported
 * in one error naming both files. Tensors stored as F16/BF16 are widened to float32.
 */
export async function loadCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  const file = await readCheckpointConfig(dir);
  const config = file.model;
  const { tensors: stored, source } = await readWeightFiles(dir);
  const { tensors, problems } = normaliseWeightNames(stored);
  const shapes = new Map([...tensors].map(([name, t]) => [name, { shape: t.shape, dtype: t.dtype === 'F32' ? 'float32' : `safetensors ${t.storedDtype}` }]));
  problems.push(...weightMismatches(config, shapes));
  if (problems.length > 0) {
    throw new Error(
      `${source} does not match the model in ${path.join(dir, CONFIG_FILE)} (${configSummary(config)}): ` +
        `${problems.length} mismatch${problems.length === 1 ? '' : 'es'}:\n  ${problems.join('\n  ')}`,
    );
  }
  const weights = toTfTensors(tensors, source);
  try {
    return { model: GPT2.fromWeights(config, weights, source), config, metadata: file.metadata, file };
  } catch (error) {
    for (const tensor of weights.values()) tensor.dispose();
    throw error;
  }
}
