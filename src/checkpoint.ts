/**
 * Model checkpoints as a folder: `model.safetensors` (every base parameter, Hugging Face GPT-2 names and
 * [in, out] layouts) and `config.json` (format tag and version, the ModelConfig, free metadata such as the
 * seed, preset and training steps). Both files are written atomically; loading checks the config and every
 * tensor's name, shape and dtype, and reports all mismatches in one error.
 *
 * Also the generic pieces others build on (PEFT adapters): {@link saveTensors} and {@link loadWeights}
 * move maps of TensorFlow.js tensors to and from a safetensors file.
 */
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { validateModelConfig, type ModelConfig } from './config.js';
import { GPT2, weightMismatches } from './model.js';
import { readSafetensorsFile, writeFileAtomic, writeSafetensorsFile, type DecodedTensor, type SafeTensor } from './safetensors.js';

export const WEIGHTS_FILE = 'model.safetensors';
export const CONFIG_FILE = 'config.json';
/** Identifies a peftscale model checkpoint's config.json. */
export const CHECKPOINT_FORMAT = 'peftscale-gpt2';
/** Bumped whenever the layout of the folder or of config.json changes incompatibly. */
export const CHECKPOINT_FORMAT_VERSION = 1;

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Free metadata stored in config.json; the named fields are conventions, any JSON value is allowed. */
export interface CheckpointMetadata {
  seed?: number;
  preset?: string;
  steps?: number;
  [key: string]: JsonValue | undefined;
}

/** The contents of config.json. */
export interface CheckpointConfigFile {
  format: typeof CHECKPOINT_FORMAT;
  formatVersion: number;
  model: ModelConfig;
  metadata: CheckpointMetadata;
}

export interface LoadedCheckpoint {
  model: GPT2;
  config: ModelConfig;
  metadata: CheckpointMetadata;
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
 * Saves a model into `dir` (created if needed): model.safetensors, then config.json, each atomically.
 * Returns the two paths. Saving the same model twice gives identical bytes.
 */
export async function saveCheckpoint(dir: string, model: GPT2, metadata: CheckpointMetadata = {}): Promise<{ weightsPath: string; configPath: string }> {
  await mkdir(dir, { recursive: true });
  const weightsPath = path.join(dir, WEIGHTS_FILE);
  const configPath = path.join(dir, CONFIG_FILE);
  // "pt" is the tag Hugging Face loaders expect: names and [in, out] Conv1D layouts follow their GPT-2.
  await saveTensors(weightsPath, model.parameters(), { format: 'pt' });
  const file: CheckpointConfigFile = { format: CHECKPOINT_FORMAT, formatVersion: CHECKPOINT_FORMAT_VERSION, model: { ...model.config }, metadata };
  await writeFileAtomic(configPath, `${JSON.stringify(file, null, 2)}\n`);
  return { weightsPath, configPath };
}

/** Parses a JSON file; a missing file is `${what}: <path> does not exist`, bad JSON names the file. */
export async function readJsonFile(filePath: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(filePath, 'utf8');
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

/** The "model" object of config.json as a validated ModelConfig; unknown fields (typos) are errors. */
function parseModelConfig(value: unknown, configPath: string): ModelConfig {
  if (!isObject(value)) throw new Error(`${configPath}: "model" must be an object with ${MODEL_FIELDS.join(', ')}, got ${JSON.stringify(value)}`);
  const unknown = Object.keys(value).filter((key) => !(MODEL_FIELDS as readonly string[]).includes(key));
  if (unknown.length > 0) throw new Error(`${configPath}: unknown field(s) ${unknown.map((k) => `"${k}"`).join(', ')} in "model"; allowed: ${MODEL_FIELDS.join(', ')}`);
  const config = Object.fromEntries(MODEL_FIELDS.map((field) => [field, value[field]])) as unknown as ModelConfig;
  return validateModelConfig(config, `model config in ${configPath}`);
}

/** Reads and validates a checkpoint's config.json: format tag and version, model config, metadata. */
export async function readCheckpointConfig(dir: string): Promise<CheckpointConfigFile> {
  const configPath = path.join(dir, CONFIG_FILE);
  const raw = await readJsonFile(configPath, `no checkpoint in ${dir}`);
  if (!isObject(raw)) throw new Error(`${configPath}: must be a JSON object, got ${JSON.stringify(raw)}`);
  if (raw.format !== CHECKPOINT_FORMAT) {
    throw new Error(`${configPath}: format ${JSON.stringify(raw.format)}, expected "${CHECKPOINT_FORMAT}" (not a peftscale model checkpoint)`);
  }
  if (raw.formatVersion !== CHECKPOINT_FORMAT_VERSION) {
    throw new Error(`${configPath}: formatVersion ${JSON.stringify(raw.formatVersion)} is not supported; this build reads ${CHECKPOINT_FORMAT_VERSION}`);
  }
  const metadata = raw.metadata ?? {};
  if (!isObject(metadata)) throw new Error(`${configPath}: "metadata" must be an object, got ${JSON.stringify(metadata)}`);
  return { format: CHECKPOINT_FORMAT, formatVersion: CHECKPOINT_FORMAT_VERSION, model: parseModelConfig(raw.model, configPath), metadata: metadata as CheckpointMetadata };
}

function configSummary(config: ModelConfig): string {
  return MODEL_FIELDS.map((field) => `${field} ${config[field]}`).join(', ');
}

/**
 * Loads a checkpoint folder written by {@link saveCheckpoint}. config.json is validated, then every tensor
 * of model.safetensors is checked against it (names, shapes, dtypes); all mismatches are reported in one
 * error naming both files. Tensors stored as F16/BF16 are accepted and widened to float32.
 */
export async function loadCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  const { model: config, metadata } = await readCheckpointConfig(dir);
  const weightsPath = path.join(dir, WEIGHTS_FILE);
  const { tensors } = await readSafetensorsFile(weightsPath);
  const shapes = new Map([...tensors].map(([name, t]) => [name, { shape: t.shape, dtype: t.dtype === 'F32' ? 'float32' : `safetensors ${t.storedDtype}` }]));
  const problems = weightMismatches(config, shapes);
  if (problems.length > 0) {
    throw new Error(
      `${weightsPath} does not match the model in ${path.join(dir, CONFIG_FILE)} (${configSummary(config)}): ` +
        `${problems.length} mismatch${problems.length === 1 ? '' : 'es'}:\n  ${problems.join('\n  ')}`,
    );
  }
  const weights = toTfTensors(tensors, weightsPath);
  try {
    return { model: GPT2.fromWeights(config, weights, weightsPath), config, metadata };
  } catch (error) {
    for (const tensor of weights.values()) tensor.dispose();
    throw error;
  }
}
