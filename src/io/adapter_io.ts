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
 * Loading (ours or PEFT's, every tensor checked): src/io/adapter_load.ts.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { planParameters, type AdaptedModel } from '../adapt/adapted.js';
import { saveTensors, type JsonValue } from './checkpoint.js';
import type { ModelConfig } from '../model/config.js';
import type { MethodOptions, PeftFormat, PeftJson, PeftMethod } from '../adapt/peft.js';
import { writeFileAtomic } from './atomic_file.js';
import type { ModelHooks } from '../adapt/hooks.js';

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

/** An adapter folder loaded onto a base (src/io/adapter_load.ts's loadAdapter). */
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
