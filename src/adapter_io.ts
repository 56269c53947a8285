/**
 * PEFT adapters on disk: what one method saves for one task, as a folder holding
 * `adapter.safetensors` (the tensors) and `adapter.json` (format tag and version, method name, resolved
 * options, the base model's config, parameter counts, free metadata), like Hugging Face PEFT's
 * adapter_model.safetensors + adapter_config.json pair.
 *
 * What is saved: a method's {@link PeftMethod.adapterTensors} when it has them (the computed prompts of
 * P-tuning and projected prefix tuning), otherwise its trainable tensors (added ones, and the trained
 * copies of base parameters for BitFit and full tuning). Loading onto the same frozen base gives hooks
 * that reproduce the trained model's outputs bit for bit.
 *
 * Methods are looked up in the registry (src/peft.ts): import methods/index.js before loading.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { AdaptedModel } from './adapted.js';
import { isObject, loadWeights, MODEL_FIELDS, readJsonFile, saveTensors, type JsonValue } from './checkpoint.js';
import type { ModelConfig } from './config.js';
import type { ModelHooks } from './hooks.js';
import type { GPT2 } from './model.js';
import { modelParameterSpecs, numel } from './params.js';
import { getMethod, resolveOptions, type MethodOptions, type PeftMethod, type TensorMap } from './peft.js';
import { writeFileAtomic } from './safetensors.js';

export const ADAPTER_WEIGHTS_FILE = 'adapter.safetensors';
export const ADAPTER_CONFIG_FILE = 'adapter.json';
/** Identifies a peftscale adapter's adapter.json. */
export const ADAPTER_FORMAT = 'peftscale-adapter';
/** Bumped whenever the folder layout or adapter.json changes incompatibly. */
export const ADAPTER_FORMAT_VERSION = 1;

/** The contents of adapter.json. */
export interface AdapterConfigFile {
  format: typeof ADAPTER_FORMAT;
  formatVersion: number;
  method: string;
  /** Resolved options (defaults filled, derived values such as prompt design's tokens included). */
  options: MethodOptions;
  /** The base model the adapter belongs to. */
  model: ModelConfig;
  counts: {
    /** Trainable values while training (the method's parameter plan). */
    trainable: number;
    /** Base plus added values, as PEFT's "all params". */
    total: number;
    /** Values stored in adapter.safetensors. */
    saved: number;
  };
  /** Name and shape of every saved tensor, in the order saved. */
  tensors: { name: string; shape: number[] }[];
  metadata: Record<string, JsonValue>;
}

/** The tensors an adapted model saves; the caller owns and disposes them. */
export function adapterTensors(model: AdaptedModel): Map<string, tf.Tensor> {
  const { method, options, base } = model;
  if (method.adapterTensors !== undefined) return method.adapterTensors(model.trainable, base.config, options);
  // Copies, so disposing what is returned never touches the live variables.
  return new Map([...model.trainable].map(([name, variable]) => [name, variable.clone()]));
}

/** Saves an adapted model's adapter into `dir` (created if needed); both files are written atomically. */
export async function saveAdapter(
  dir: string,
  model: AdaptedModel,
  metadata: Record<string, JsonValue> = {},
): Promise<{ weightsPath: string; configPath: string }> {
  await mkdir(dir, { recursive: true });
  const weightsPath = path.join(dir, ADAPTER_WEIGHTS_FILE);
  const configPath = path.join(dir, ADAPTER_CONFIG_FILE);
  const tensors = adapterTensors(model);
  try {
    await saveTensors(weightsPath, tensors, { format: 'pt', method: model.method.name });
    const file: AdapterConfigFile = {
      format: ADAPTER_FORMAT,
      formatVersion: ADAPTER_FORMAT_VERSION,
      method: model.method.name,
      options: model.options,
      model: { ...model.base.config },
      counts: { trainable: model.plan.trainable, total: model.plan.total, saved: [...tensors.values()].reduce((sum, t) => sum + t.size, 0) },
      tensors: [...tensors].map(([name, t]) => ({ name, shape: [...t.shape] })),
      metadata,
    };
    await writeFileAtomic(configPath, `${JSON.stringify(file, null, 2)}\n`);
  } finally {
    for (const tensor of tensors.values()) tensor.dispose();
  }
  return { weightsPath, configPath };
}

export interface LoadedAdapter {
  method: PeftMethod;
  options: MethodOptions;
  config: ModelConfig;
  /** The saved tensors (owned by this object). */
  tensors: Map<string, tf.Tensor>;
  /** Hooks that apply the adapter to the base it was loaded onto. */
  hooks: ModelHooks;
  metadata: Record<string, JsonValue>;
  /** Logits of the base with the adapter: tokens [B, T] → [B, T, V]. */
  forward(tokens: tf.Tensor2D): tf.Tensor3D;
  dispose(): void;
}

/** Reads and checks adapter.json: format, version, and that its model config is the base's. */
export async function readAdapterConfig(dir: string, base: ModelConfig): Promise<AdapterConfigFile> {
  const configPath = path.join(dir, ADAPTER_CONFIG_FILE);
  const raw = await readJsonFile(configPath, `no adapter in ${dir}`);
  if (!isObject(raw)) throw new Error(`${configPath}: must be a JSON object`);
  if (raw.format !== ADAPTER_FORMAT) throw new Error(`${configPath}: format ${JSON.stringify(raw.format)}, expected "${ADAPTER_FORMAT}" (not a peftscale adapter)`);
  if (raw.formatVersion !== ADAPTER_FORMAT_VERSION) {
    throw new Error(`${configPath}: formatVersion ${JSON.stringify(raw.formatVersion)} is not supported; this build reads ${ADAPTER_FORMAT_VERSION}`);
  }
  if (typeof raw.method !== 'string') throw new Error(`${configPath}: "method" must be a method name, got ${JSON.stringify(raw.method)}`);
  if (!isObject(raw.options)) throw new Error(`${configPath}: "options" must be an object, got ${JSON.stringify(raw.options)}`);
  if (!isObject(raw.model)) throw new Error(`${configPath}: "model" must be an object, got ${JSON.stringify(raw.model)}`);
  const model = raw.model;
  const differences = MODEL_FIELDS.filter((field) => model[field] !== base[field]).map(
    (field) => `${field}: adapter ${JSON.stringify(model[field])}, base model ${JSON.stringify(base[field])}`,
  );
  const extra = Object.keys(model).filter((key) => !(MODEL_FIELDS as readonly string[]).includes(key));
  differences.push(...extra.map((key) => `${key}: in the adapter's model config, unknown to this build`));
  if (differences.length > 0) {
    throw new Error(`${configPath}: the adapter was trained on a different base model than the one it is loaded onto:\n  ${differences.join('\n  ')}`);
  }
  return raw as unknown as AdapterConfigFile;
}

/** Name → shape of what the method saves, for the given options (computed on zeros; nothing is kept). */
function expectedShapes(method: PeftMethod, config: ModelConfig, options: MethodOptions): Map<string, number[]> {
  const baseShapes = new Map(modelParameterSpecs(config).map((spec) => [spec.name, spec.shape]));
  const trainable = new Map<string, number[]>(method.addedParameters(config, options).map((spec) => [spec.name, spec.shape]));
  for (const name of method.trainableBaseParameters(config, options)) trainable.set(name, baseShapes.get(name) ?? []);
  if (method.adapterTensors === undefined) return trainable;
  const shapes = new Map<string, number[]>();
  tf.tidy(() => {
    const zeros: TensorMap = new Map([...trainable].map(([name, shape]) => [name, tf.zeros(shape)]));
    for (const [name, tensor] of method.adapterTensors?.(zeros, config, options) ?? []) shapes.set(name, [...tensor.shape]);
  });
  return shapes;
}

/**
 * Loads an adapter folder written by {@link saveAdapter} onto `base`, which must have the config the
 * adapter was trained on. Checks the method, its options, and every tensor's name and shape; all tensor
 * mismatches are reported in one error.
 */
export async function loadAdapter(dir: string, base: GPT2): Promise<LoadedAdapter> {
  const file = await readAdapterConfig(dir, base.config);
  const configPath = path.join(dir, ADAPTER_CONFIG_FILE);
  let method: PeftMethod;
  try {
    method = getMethod(file.method);
  } catch (error) {
    throw new Error(`${configPath}: ${error instanceof Error ? error.message : String(error)} (are the methods registered? import methods/index.js)`);
  }
  // The saved options already hold what prepare() derived (prompt design's tokens): use them as they are.
  const options = resolveOptions(method, file.options, base.config);

  const weightsPath = path.join(dir, ADAPTER_WEIGHTS_FILE);
  const { tensors } = await loadWeights(weightsPath);
  const dispose = (): void => {
    for (const tensor of tensors.values()) tensor.dispose();
  };
  try {
    const expected = expectedShapes(method, base.config, options);
    const problems: string[] = [];
    for (const [name, shape] of expected) {
      const tensor = tensors.get(name);
      if (tensor === undefined) problems.push(`${name}: missing (expected float32 [${shape}])`);
      else if (tensor.shape.join() !== shape.join() || numel(tensor.shape) !== numel(shape)) problems.push(`${name}: shape [${tensor.shape}], expected [${shape}]`);
      else if (tensor.dtype !== 'float32') problems.push(`${name}: dtype ${tensor.dtype}, expected float32`);
    }
    for (const name of tensors.keys()) if (!expected.has(name)) problems.push(`${name}: not a tensor that "${method.name}" saves with these options`);
    if (problems.length > 0) throw new Error(`${weightsPath} does not match ${configPath} (method "${method.name}"):\n  ${problems.join('\n  ')}`);

    const hooks = adapterHooks(method, tensors, base, options);
    return {
      method,
      options,
      config: base.config,
      tensors,
      hooks,
      metadata: isObject(file.metadata) ? (file.metadata as Record<string, JsonValue>) : {},
      forward: (tokens) => base.forward(tokens, { hooks }),
      dispose,
    };
  } catch (error) {
    dispose();
    throw error;
  }
}

/** The hooks of a saved adapter, built as AdaptedModel.hooks builds them from live tensors. */
function adapterHooks(method: PeftMethod, tensors: TensorMap, base: GPT2, options: MethodOptions): ModelHooks {
  const config = base.config;
  const reader = (name: string): tf.Tensor => base.parameter(name);
  if (method.adapterTensors !== undefined) {
    if (method.hooksFromAdapter === undefined) throw new Error(`method "${method.name}" defines adapterTensors but no hooksFromAdapter`);
    return method.hooksFromAdapter(tensors, config, options, reader);
  }
  const hooks = method.hooks(tensors, config, options, reader);
  const baseNames = method.trainableBaseParameters(config, options);
  if (baseNames.length === 0) return hooks;
  // Trained copies of base parameters (full tuning, BitFit) replace the frozen ones, as while training.
  const overrides = new Map<string, tf.Tensor>(hooks.parameterOverrides ?? []);
  for (const name of baseNames) overrides.set(name, tensors.get(name) as tf.Tensor);
  return { ...hooks, parameterOverrides: overrides };
}
