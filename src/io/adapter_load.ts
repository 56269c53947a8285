/**
 * Loading an adapter folder written by saveAdapter (src/io/adapter_io.ts, whose module comment describes
 * both formats), or one Hugging Face PEFT wrote, onto a frozen base: every name, shape and value checked
 * before hooks are built, all mismatches in one error.
 *
 * Methods are looked up in the registry (src/adapt/peft.ts): import methods/index.js before loading.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { isObject, loadWeights, MODEL_FIELDS, readJsonFile, type JsonValue } from './checkpoint.js';
import type { ModelConfig } from '../model/config.js';
import type { ModelHooks } from '../adapt/hooks.js';
import type { GPT2 } from '../model/model.js';
import { modelParameterSpecs, numel } from '../model/params.js';
import { getMethod, methodForPeftType, peftTypes, resolveOptions, type MethodOptions, type PeftMethod, type TensorMap } from '../adapt/peft.js';
import { nonFiniteTensors } from './finite.js';
import { ADAPTER_CONFIG_FILE, ADAPTER_FORMAT, ADAPTER_FORMAT_VERSION, ADAPTER_WEIGHTS_FILE, PEFT_CONFIG_FILE, PEFT_METADATA_KEY, PEFT_WEIGHTS_FILE, type AdapterConfigFile, type LoadedAdapter } from './adapter_io.js';

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
