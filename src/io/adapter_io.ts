/**
 * Adapters on disk: what one method saves for one task, as a folder.
 *
 * Methods that Hugging Face PEFT has (prompt tuning, prefix tuning, P-tuning, LoRA, (IA)³: those with a
 * {@link PeftFormat}) are saved in PEFT's format, so `PeftModel.from_pretrained(model, dir)` loads ours and
 * we load PEFT's: `adapter_config.json` (PEFT's fields: peft_type, task_type, the method's fields) and
 * `adapter_model.safetensors` (PEFT's tensor names and layouts). Our own record (method, resolved options,
 * the base model's config, counts, free metadata) rides in the safetensors header's `__metadata__` under
 * "peftscale", which PEFT ignores; an adapter PEFT wrote has none, and its options come from its config.
 *
 * The others (BitFit, full tuning, prompt design) have no PEFT format: `adapter.safetensors` + `adapter.json`
 * (format tag and version, method name, resolved options, the base model's config, counts, metadata, and a
 * `note` saying that PEFT has no such method, so the folder is peftscale's own format).
 *
 * What is saved: a method's {@link PeftMethod.adapterTensors} when it has them (the computed prompts of
 * P-tuning and projected prefix tuning), otherwise its trainable tensors (added ones, and the trained
 * copies of base parameters for BitFit and full tuning). Loading onto the same frozen base gives hooks
 * that reproduce the trained model's outputs bit for bit.
 *
 * Methods are looked up in the registry (src/adapt/peft.ts): import methods/index.js before loading.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { planParameters, type AdaptedModel } from '../adapt/adapted.js';
import { isObject, loadWeights, MODEL_FIELDS, readJsonFile, saveTensors, type JsonValue } from './checkpoint.js';
import type { ModelConfig } from '../model/config.js';
import type { ModelHooks } from '../adapt/hooks.js';
import type { GPT2 } from '../model/model.js';
import { modelParameterSpecs, numel } from '../model/params.js';
import { getMethod, methodForPeftType, peftTypes, resolveOptions, type MethodOptions, type PeftFormat, type PeftJson, type PeftMethod, type TensorMap } from '../adapt/peft.js';
import { writeFileAtomic } from './atomic_file.js';
import { nonFiniteTensors } from './finite.js';

export const ADAPTER_WEIGHTS_FILE = 'adapter.safetensors';
export const ADAPTER_CONFIG_FILE = 'adapter.json';
/** Identifies a peftscale adapter's adapter.json. */
export const ADAPTER_FORMAT = 'peftscale-adapter';
/** Bumped whenever the folder layout or adapter.json changes incompatibly. */
export const ADAPTER_FORMAT_VERSION = 1;
/** PEFT's file names. */
export const PEFT_CONFIG_FILE = 'adapter_config.json';
export const PEFT_WEIGHTS_FILE = 'adapter_model.safetensors';
/** The safetensors metadata key that holds our record in a PEFT-format adapter. */
export const PEFT_METADATA_KEY = 'peftscale';

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

/** What a saved adapter is: method, options, base config and parameter counts. */
interface AdapterSource {
  method: PeftMethod;
  options: MethodOptions;
  config: ModelConfig;
  plan: { trainable: number; total: number };
}

/** Our record of an adapter: adapter.json's contents, and the "peftscale" metadata of a PEFT-format one. */
function adapterRecord(model: AdapterSource, tensors: ReadonlyMap<string, tf.Tensor>, metadata: Record<string, JsonValue>): AdapterConfigFile {
  return {
    format: ADAPTER_FORMAT,
    formatVersion: ADAPTER_FORMAT_VERSION,
    method: model.method.name,
    options: model.options,
    model: { ...model.config },
    counts: { trainable: model.plan.trainable, total: model.plan.total, saved: [...tensors.values()].reduce((sum, t) => sum + t.size, 0) },
    tensors: [...tensors].map(([name, t]) => ({ name, shape: [...t.shape] })),
    metadata,
  };
}

/**
 * Saves an adapted model's adapter into `dir` (created if needed), in PEFT's format when the method has
 * one (see the module comment); both files are written atomically. `metadata.base`, when a string, is
 * written as PEFT's base_model_name_or_path.
 */
export async function saveAdapter(
  dir: string,
  model: AdaptedModel,
  metadata: Record<string, JsonValue> = {},
): Promise<{ weightsPath: string; configPath: string }> {
  const tensors = adapterTensors(model);
  try {
    return await saveAdapterTensors(dir, model.method, model.options, model.base.config, tensors, metadata);
  } finally {
    for (const tensor of tensors.values()) tensor.dispose();
  }
}

/** What a method without a PEFT format says in its adapter.json, so a reader knows why it is not PEFT's. */
export function notPeftNote(method: PeftMethod): string {
  return `peftscale's own adapter format (${ADAPTER_CONFIG_FILE} + ${ADAPTER_WEIGHTS_FILE}): Hugging Face PEFT has no "${method.name}" method, so PeftModel cannot load it; load it with peftscale's loadAdapter`;
}

/**
 * Saves a method's saved tensors (what {@link adapterTensors} gives, e.g. a trial's onAdapter) with their
 * options and base config, as {@link saveAdapter} does; `tensors` stay the caller's.
 */
export async function saveAdapterTensors(
  dir: string,
  method: PeftMethod,
  options: MethodOptions,
  config: ModelConfig,
  tensors: ReadonlyMap<string, tf.Tensor>,
  metadata: Record<string, JsonValue> = {},
): Promise<{ weightsPath: string; configPath: string }> {
  await mkdir(dir, { recursive: true });
  const source: AdapterSource = { method, options, config, plan: planParameters(config, method, options) };
  const copies = new Map([...tensors].map(([name, tensor]) => [name, tensor.clone()]));
  if (method.peft !== undefined) return savePeftAdapter(dir, source, method.peft, copies, metadata);
  const weightsPath = path.join(dir, ADAPTER_WEIGHTS_FILE);
  const configPath = path.join(dir, ADAPTER_CONFIG_FILE);
  try {
    await saveTensors(weightsPath, copies, { format: 'pt', method: method.name });
    await writeFileAtomic(configPath, `${JSON.stringify({ ...adapterRecord(source, copies, metadata), note: notPeftNote(method) }, null, 2)}\n`);
  } finally {
    for (const tensor of copies.values()) tensor.dispose();
  }
  return { weightsPath, configPath };
}

/**
 * Saves a loaded adapter again, in PEFT's format (an adapter PEFT wrote, written by us: the same tensors
 * under the same names). Only methods with a PEFT format.
 */
export async function saveLoadedAdapter(dir: string, adapter: LoadedAdapter, metadata: Record<string, JsonValue> = adapter.metadata): Promise<{ weightsPath: string; configPath: string }> {
  const { method, options, config } = adapter;
  if (method.peft === undefined) throw new Error(`saveLoadedAdapter: method "${method.name}" has no PEFT format`);
  await mkdir(dir, { recursive: true });
  const plan = planParameters(config, method, options);
  const copies = new Map([...adapter.tensors].map(([name, tensor]) => [name, tensor.clone()]));
  return savePeftAdapter(dir, { method, options, config, plan }, method.peft, copies, metadata);
}

/** adapter_config.json + adapter_model.safetensors, as PEFT writes them for a causal LM in inference mode; disposes `tensors`. */
async function savePeftAdapter(
  dir: string,
  model: AdapterSource,
  peft: PeftFormat,
  tensors: Map<string, tf.Tensor>,
  metadata: Record<string, JsonValue>,
): Promise<{ weightsPath: string; configPath: string }> {
  const weightsPath = path.join(dir, PEFT_WEIGHTS_FILE);
  const configPath = path.join(dir, PEFT_CONFIG_FILE);
  const config = model.config;
  let stored = new Map<string, tf.Tensor>();
  try {
    stored = peft.toPeft(tensors, config, model.options);
    const record = JSON.stringify(adapterRecord(model, tensors, metadata));
    await saveTensors(weightsPath, stored, { format: 'pt', [PEFT_METADATA_KEY]: record });
    const fields: Record<string, PeftJson> = {
      peft_type: peft.peftType,
      task_type: 'CAUSAL_LM',
      base_model_name_or_path: typeof metadata.base === 'string' ? metadata.base : null,
      revision: null,
      inference_mode: true,
      auto_mapping: null,
      ...peft.config(config, model.options),
    };
    const sorted = Object.fromEntries(Object.keys(fields).sort().map((key) => [key, fields[key]]));
    await writeFileAtomic(configPath, `${JSON.stringify(sorted, null, 2)}\n`);
  } finally {
    for (const tensor of [...tensors.values(), ...stored.values()]) tensor.dispose();
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
  const raw = await readJsonFile(configPath, `no adapter in ${dir} (neither ${PEFT_CONFIG_FILE}, PEFT's format, nor ${ADAPTER_CONFIG_FILE})`);
  return checkAdapterRecord(raw, configPath, base);
}

/** Checks our adapter record (adapter.json, or the "peftscale" metadata of a PEFT-format adapter) against the base. */
function checkAdapterRecord(raw: unknown, configPath: string, base: ModelConfig): AdapterConfigFile {
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
  if (existsSync(path.join(dir, PEFT_CONFIG_FILE))) return loadPeftAdapter(dir, base);
  const file = await readAdapterConfig(dir, base.config);
  const configPath = path.join(dir, ADAPTER_CONFIG_FILE);
  const method = methodOf(file.method, configPath);
  // The saved options already hold what prepare() derived (prompt design's tokens): use them as they are.
  const options = resolveOptions(method, file.options, base.config);
  const weightsPath = path.join(dir, ADAPTER_WEIGHTS_FILE);
  const { tensors } = await loadWeights(weightsPath);
  refuseNonFinite(tensors, weightsPath);
  return checkedAdapter(method, options, tensors, base, weightsPath, configPath, file.metadata);
}

function methodOf(name: string, configPath: string): PeftMethod {
  try {
    return getMethod(name);
  } catch (error) {
    throw new Error(`${configPath}: ${error instanceof Error ? error.message : String(error)} (are the methods registered? import methods/index.js)`);
  }
}

/**
 * A PEFT-format adapter folder (ours, or one PEFT wrote) onto `base`. With our record in the weights'
 * metadata, its method, options and base config are used and checked; without it, the method follows
 * peft_type and the options follow the method's fields, every field we cannot honour named.
 */
async function loadPeftAdapter(dir: string, base: GPT2): Promise<LoadedAdapter> {
  const configPath = path.join(dir, PEFT_CONFIG_FILE);
  const weightsPath = path.join(dir, PEFT_WEIGHTS_FILE);
  const raw = await readJsonFile(configPath, `no adapter in ${dir}`);
  if (!isObject(raw)) throw new Error(`${configPath}: must be a JSON object`);
  const method = typeof raw.peft_type === 'string' ? methodForPeftType(raw.peft_type) : null;
  if (method === null || method.peft === undefined) {
    throw new Error(`${configPath}: peft_type ${JSON.stringify(raw.peft_type)} is not supported; allowed: ${peftTypes().join(', ')} (are the methods registered? import methods/index.js)`);
  }
  if (raw.task_type !== undefined && raw.task_type !== null && raw.task_type !== 'CAUSAL_LM') {
    throw new Error(`${configPath}: task_type ${JSON.stringify(raw.task_type)} is not supported; allowed: "CAUSAL_LM" (a GPT-2 language model)`);
  }
  const { tensors: stored, metadata } = await loadWeights(weightsPath);
  refuseNonFinite(stored, weightsPath);
  let tensors: Map<string, tf.Tensor>;
  let options: MethodOptions;
  let recordMetadata: Record<string, JsonValue> = {};
  try {
    const recordText = metadata[PEFT_METADATA_KEY];
    if (recordText !== undefined) {
      const where = `${weightsPath} (metadata "${PEFT_METADATA_KEY}")`;
      let parsed: unknown;
      try {
        parsed = JSON.parse(recordText) as unknown;
      } catch {
        throw new Error(`${where}: not valid JSON`);
      }
      const record = checkAdapterRecord(parsed, where, base.config);
      if (record.method !== method.name) throw new Error(`${where}: method "${record.method}", but ${configPath} has peft_type ${JSON.stringify(raw.peft_type)} ("${method.name}")`);
      options = resolveOptions(method, record.options, base.config);
      recordMetadata = isObject(record.metadata) ? record.metadata : {};
    } else {
      const problems: string[] = [];
      const fromPeft = method.peft.options(raw, base.config, problems);
      if (problems.length > 0) throw new Error(`${configPath}: this ${String(raw.peft_type)} adapter cannot be loaded onto the base model:\n  ${problems.join('\n  ')}`);
      try {
        options = resolveOptions(method, fromPeft, base.config);
      } catch (error) {
        // The method speaks in flags (--rank); this file has PEFT's fields (r): name the field and the file.
        const peft = method.peft;
        throw new Error(`${configPath}: ${peftFieldNames((error as Error).message, raw, fromPeft, (fields) => peft.options(fields, base.config, []))}`);
      }
    }
    tensors = method.peft.fromPeft(stored, base.config, options);
  } finally {
    for (const tensor of stored.values()) tensor.dispose();
  }
  return checkedAdapter(method, options, tensors, base, weightsPath, configPath, recordMetadata);
}

/** Checks every tensor against what the method saves with these options (all mismatches at once), then builds the adapter. */
function checkedAdapter(
  method: PeftMethod,
  options: MethodOptions,
  tensors: Map<string, tf.Tensor>,
  base: GPT2,
  weightsPath: string,
  configPath: string,
  metadata: unknown,
): LoadedAdapter {
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
      metadata: isObject(metadata) ? (metadata as Record<string, JsonValue>) : {},
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

/**
 * An adapter whose weights hold NaN or ±Infinity loads and then gives all-NaN logits: refused at load,
 * naming each tensor and how many values (the tensors are disposed).
 */
function refuseNonFinite(tensors: Map<string, tf.Tensor>, weightsPath: string): void {
  const problems = nonFiniteTensors(tensors);
  if (problems.length === 0) return;
  for (const tensor of tensors.values()) tensor.dispose();
  throw new Error(`${weightsPath}: ${problems.length} tensor(s) hold non-finite values (a diverged or damaged adapter): allowed: finite values only\n  ${problems.join('\n  ')}`);
}

/**
 * "--rank = 0" → "r (--rank) = 0": the adapter_config.json field the option was read from, found by
 * changing each field with the option's value and seeing which one the option follows.
 */
function peftFieldNames(message: string, raw: Record<string, unknown>, options: Record<string, unknown>, optionsOf: (fields: Record<string, unknown>) => Record<string, unknown>): string {
  const marker = Symbol('field');
  return message.replace(/--([a-z][\w-]*)/g, (flag: string, name: string) => {
    const fields = Object.keys(raw).filter((field) => raw[field] === options[name] && optionsOf({ ...raw, [field]: marker })[name] === marker);
    return fields.length === 1 ? `${fields[0]} (${flag})` : flag;
  });
}
