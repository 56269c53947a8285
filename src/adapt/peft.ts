/**
 * The one interface every fine-tuning method implements (its maths and its adapter format), and the
 * registry methods add themselves to. A method is data plus two functions: it declares its options and
 * its trainable tensors (as {@link ParamSpec}s and names of base parameters), and turns the current
 * values of those tensors into {@link ModelHooks}. Allocation, the trainable/frozen partition, training
 * and saving live in the core. How the suite runs and shows a method (role, display, training defaults,
 * bench options, published counts) is its card, beside it in its methods/ file (src/adapt/method_card.ts).
 */
import type * as tf from '@tensorflow/tfjs-core';
import { unknownNameMessage, type ModelConfig } from '../model/config.js';
import type { ModelHooks } from './hooks.js';
import type { ParamSpec } from '../model/params.js';

export type OptionValue = number | string | boolean | string[];

export interface OptionSpec {
  /** Name as written on the command line without dashes, e.g. "length". */
  name: string;
  type: 'integer' | 'number' | 'string' | 'boolean' | 'list';
  description: string;
  default?: OptionValue;
  /** For strings and list items: the allowed values. */
  choices?: readonly string[];
  min?: number;
  max?: number;
}

export type MethodOptions = Record<string, OptionValue>;

/** What a method may read from the frozen model and the task when it initialises its tensors. */
export interface MethodContext {
  config: ModelConfig;
  seed: number;
  /** A frozen base tensor by name (read only). */
  baseParameter(name: string): tf.Tensor;
  /** Token ids of a text, with the base model's tokenizer. */
  encode(text: string): number[];
  /** Token ids from most to least frequent in the pretraining corpus (sampled-vocab initialisation). */
  frequentTokens?: readonly number[];
  /** The task's label words (class-label initialisation, prompt design). */
  labelWords?: readonly string[];
  /** Formatted training examples with their label words (prompt design's shots). */
  demonstrations?: readonly { input: string; label: string }[];
}

/** The current values of a method's trainable tensors: added ones by their own name, base copies by the base name. */
export type TensorMap = ReadonlyMap<string, tf.Tensor>;

/** Read access to the frozen base model's tensors by name. */
export type BaseReader = (name: string) => tf.Tensor;

/** Positions a method's hooks put before the real tokens: input embeddings (inputPrefix) and key/value positions (attentionPrefix). */
export interface PackingPositions {
  input: number;
  attention: number;
}

/**
 * That a method's trials may train packed: several trials of one frozen model, task and schedule in one
 * batch, each on its own rows with its own tensors and optimiser (src/adapt/packed.ts). Declared only by a
 * method that leaves every base weight frozen and acts only through hooks that apply per row group
 * (HOOK_PACKS in hooks.ts); trials pack together only when their positions agree.
 */
export interface MethodPacking {
  positions(config: ModelConfig, options: MethodOptions): PackingPositions;
}

export interface PeftMethod {
  readonly name: string;
  /**
   * The trained adapter is one prompt tensor [k, D] fed through inputPrefix, under this name: its trials'
   * prompts are kept for ensembles across seeds, mixed-task serving is benchmarked with it, and the
   * report's claims table tests it (Lester et al.'s claims). At most one method declares it.
   */
  readonly learnedPrompt?: { readonly tensor: string };
  /** Present when its trials may train packed with others (see {@link MethodPacking}); absent: every trial trains alone. */
  readonly packing?: MethodPacking;
  readonly options: readonly OptionSpec[];
  /** Checks relations between options that single-option validation cannot (e.g. a length that does not fit the context). */
  validate?(options: MethodOptions, config: ModelConfig): string[];
  /**
   * Derives option values from the model and the task before the method is applied (prompt design turns
   * its template and demonstrations into prompt tokens); the result replaces the options, and is what
   * an adapter file saves.
   */
  prepare?(options: MethodOptions, context: MethodContext): MethodOptions;
  /** Tensors the method adds, with shapes and initialisers. */
  addedParameters(config: ModelConfig, options: MethodOptions): ParamSpec[];
  /** Names of base parameters that train (a trainable copy replaces the frozen tensor in the forward pass). */
  trainableBaseParameters(config: ModelConfig, options: MethodOptions): string[];
  /** The number of trainable values from the paper's / PEFT's formula, checked against the declared shapes in tests. */
  closedFormTrainable(config: ModelConfig, options: MethodOptions): number;
  /** Initial values for an added tensor when its initialiser needs the model or the task (sampled vocab, label words). */
  initialValues?(spec: ParamSpec, options: MethodOptions, context: MethodContext): Float32Array | null;
  /** Hooks for a forward pass with the current trainable tensors; `seed` is the trial seed (training-time randomness such as dropout). */
  hooks(tensors: TensorMap, config: ModelConfig, options: MethodOptions, base: BaseReader, seed?: number): ModelHooks;
  /**
   * What is saved for one task (the deployable adapter), computed from the trainable tensors: by default
   * the trainable tensors themselves; P-tuning and projected prefix tuning save the computed prompts.
   */
  adapterTensors?(tensors: TensorMap, config: ModelConfig, options: MethodOptions): Map<string, tf.Tensor>;
  /** Hooks from a saved adapter; required when adapterTensors is defined. */
  hooksFromAdapter?(adapter: TensorMap, config: ModelConfig, options: MethodOptions, base: BaseReader): ModelHooks;
  /** Base weights with the method folded in (LoRA's merge), for inference with no added cost. */
  mergedParameters?(tensors: TensorMap, base: BaseReader, config: ModelConfig, options: MethodOptions): Map<string, tf.Tensor>;
  /** How the adapter reads and writes in Hugging Face PEFT's format; methods PEFT lacks have none. */
  readonly peft?: PeftFormat;
}

/** A JSON value of adapter_config.json. */
export type PeftJson = null | boolean | number | string | PeftJson[] | { [key: string]: PeftJson };

/**
 * A method's side of PEFT's adapter format (adapter_config.json + adapter_model.safetensors). The saved
 * tensors here are what {@link PeftMethod.adapterTensors} (or the trainable tensors) give; `toPeft` and
 * `fromPeft` translate names and layouts between those and PEFT's, both ways exactly.
 */
export interface PeftFormat {
  /** PEFT's peft_type, e.g. "PROMPT_TUNING", "LORA". */
  readonly peftType: string;
  /** The method's fields of adapter_config.json (PEFT's names and values) for these options. */
  config(config: ModelConfig, options: MethodOptions): Record<string, PeftJson>;
  /**
   * Our options from an adapter_config.json PEFT wrote, with every field it cannot honour or that disagrees
   * with the base model pushed onto `problems` (field, value, what is allowed).
   */
  options(fields: Readonly<Record<string, unknown>>, config: ModelConfig, problems: string[]): Record<string, unknown>;
  /** Our saved tensors → PEFT's names and layouts (new tensors; the caller disposes them). */
  toPeft(tensors: TensorMap, config: ModelConfig, options: MethodOptions): Map<string, tf.Tensor>;
  /** PEFT's tensors → ours (new tensors); names it does not know pass through unchanged, to be reported. */
  fromPeft(tensors: TensorMap, config: ModelConfig, options: MethodOptions): Map<string, tf.Tensor>;
}

/** The registered method whose PEFT format has this peft_type, or null. */
export function methodForPeftType(peftType: string): PeftMethod | null {
  return [...registry.values()].find((method) => method.peft?.peftType === peftType) ?? null;
}

/** PEFT types the registered methods read and write. */
export function peftTypes(): string[] {
  return [...registry.values()].flatMap((method) => (method.peft === undefined ? [] : [method.peft.peftType]));
}

const registry = new Map<string, PeftMethod>();

/** Adds a method under its name; a second method with the same name is a programming error. */
export function registerMethod(method: PeftMethod): void {
  if (registry.has(method.name)) throw new Error(`a method named "${method.name}" is already registered`);
  registry.set(method.name, method);
}

/** The registered method of that name; an unknown name suggests the nearest one. */
export function getMethod(name: string): PeftMethod {
  const method = registry.get(name);
  if (method === undefined) throw new Error(unknownNameMessage('method', name, [...registry.keys()]));
  return method;
}

/** Every registered method, in registration order (methods/index.ts's order: the order reports list them). */
export function registeredMethods(): PeftMethod[] {
  return [...registry.values()];
}

/** The method that declares a {@link PeftMethod.learnedPrompt}, or null when none is registered. */
export function learnedPromptMethod(): PeftMethod | null {
  const found = [...registry.values()].filter((method) => method.learnedPrompt !== undefined);
  if (found.length > 1) throw new Error(`at most one method may declare learnedPrompt, found ${found.map((m) => m.name).join(', ')}`);
  return found[0] ?? null;
}

/**
 * Fills defaults and checks every option of a method: unknown names (with a suggestion), types,
 * ranges and choices. Throws one error listing every problem, naming option, value and what is allowed.
 */
export function resolveOptions(method: PeftMethod, raw: Record<string, unknown>, config: ModelConfig): MethodOptions {
  const problems: string[] = [];
  const resolved: MethodOptions = {};
  const known = method.options.map((o) => o.name);
  for (const name of Object.keys(raw)) {
    if (!known.includes(name)) problems.push(unknownNameMessage(`option for method "${method.name}"`, name, known));
  }
  for (const spec of method.options) {
    const value = raw[spec.name] ?? spec.default;
    if (value === undefined) {
      problems.push(`--${spec.name} is required for method "${method.name}" (${spec.description})`);
      continue;
    }
    const parsed = parseOption(spec, value);
    if (typeof parsed === 'string') problems.push(`--${spec.name} = ${JSON.stringify(value)}: ${parsed}`);
    else resolved[spec.name] = parsed.value;
  }
  if (problems.length === 0 && method.validate !== undefined) problems.push(...method.validate(resolved, config));
  if (problems.length > 0) throw new Error(`invalid options for method "${method.name}":\n  ${problems.join('\n  ')}`);
  return resolved;
}

/** Parses one option value (strings from the command line are converted); returns an error text on failure. */
function parseOption(spec: OptionSpec, value: unknown): { value: OptionValue } | string {
  const range = (): string =>
    spec.min !== undefined && spec.max !== undefined ? ` in [${spec.min}, ${spec.max}]` : spec.min !== undefined ? ` >= ${spec.min}` : spec.max !== undefined ? ` <= ${spec.max}` : '';
  switch (spec.type) {
    case 'integer':
    case 'number': {
      const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      if (typeof number !== 'number' || !Number.isFinite(number) || (spec.type === 'integer' && !Number.isInteger(number))) {
        return `allowed: ${spec.type === 'integer' ? 'an integer' : 'a number'}${range()}`;
      }
      if ((spec.min !== undefined && number < spec.min) || (spec.max !== undefined && number > spec.max)) return `out of range; allowed: ${spec.type}${range()}`;
      return { value: number };
    }
    case 'boolean': {
      if (typeof value === 'boolean') return { value };
      if (value === 'true' || value === 'false') return { value: value === 'true' };
      return 'allowed: true or false';
    }
    case 'string': {
      if (typeof value !== 'string') return 'allowed: a string';
      if (spec.choices !== undefined && !spec.choices.includes(value)) return unknownNameMessage('value', value, spec.choices);
      return { value };
    }
    case 'list': {
      const items = typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter((s) => s !== '') : value;
      if (!Array.isArray(items) || items.some((item) => typeof item !== 'string')) return 'allowed: a comma-separated list';
      const strings = items as string[];
      if (spec.choices !== undefined) {
        const bad = strings.filter((item) => !spec.choices?.includes(item));
        if (bad.length > 0) return unknownNameMessage('list item', bad[0], spec.choices);
      }
      return { value: strings };
    }
  }
}
