/**
 * A frozen base model with one method applied: the method's declared tensors allocated as variables,
 * every base parameter sorted into trainable or frozen exactly once, and the hooks that wire them in.
 * The frozen base tensors are shared and never written: base parameters that train are trained as copies.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../model/config.js';
import type { ModelHooks } from './hooks.js';
import type { GPT2 } from '../model/model.js';
import { countParameters, initialValues, modelParameterSpecs, numel, type ParamSpec } from '../model/params.js';
import type { MethodContext, MethodOptions, PeftMethod } from './peft.js';

/** Counts from declared shapes only: what `peftscale params` prints. */
export interface ParameterPlan {
  method: string;
  options: MethodOptions;
  /** Tensors the method adds, with their sizes. */
  added: { name: string; shape: number[]; count: number }[];
  /** Base parameters that train. */
  trainableBase: { name: string; shape: number[]; count: number }[];
  /** Base parameters that stay frozen. */
  frozenBase: { name: string; shape: number[]; count: number }[];
  trainable: number;
  frozen: number;
  /** Base model plus added tensors, as Hugging Face PEFT's print_trainable_parameters counts "all params". */
  total: number;
  /** trainable / total × 100. */
  percent: number;
  /** The method's closed-form trainable count (must equal `trainable`). */
  closedForm: number;
}

/**
 * Sorts every base parameter into trainable or frozen, exactly once, and checks the method's
 * declarations: no unknown or repeated base names, no added name that collides with a base name.
 */
export function planParameters(config: ModelConfig, method: PeftMethod, options: MethodOptions): ParameterPlan {
  const baseSpecs = modelParameterSpecs(config);
  const baseNames = new Set(baseSpecs.map((s) => s.name));
  const trainableNames = method.trainableBaseParameters(config, options);
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const name of trainableNames) {
    if (!baseNames.has(name)) problems.push(`declares unknown base parameter "${name}" as trainable`);
    if (seen.has(name)) problems.push(`declares base parameter "${name}" trainable twice`);
    seen.add(name);
  }
  const added = method.addedParameters(config, options);
  const addedNames = new Set<string>();
  for (const spec of added) {
    if (baseNames.has(spec.name)) problems.push(`adds "${spec.name}", which is already a base parameter`);
    if (addedNames.has(spec.name)) problems.push(`adds "${spec.name}" twice`);
    addedNames.add(spec.name);
  }
  if (problems.length > 0) throw new Error(`method "${method.name}" has an invalid parameter declaration:\n  ${problems.join('\n  ')}`);

  const describe = (spec: ParamSpec) => ({ name: spec.name, shape: [...spec.shape], count: numel(spec.shape) });
  const trainableBase = baseSpecs.filter((s) => seen.has(s.name)).map(describe);
  const frozenBase = baseSpecs.filter((s) => !seen.has(s.name)).map(describe);
  // The partition check: every base parameter is in exactly one of the two lists.
  if (trainableBase.length + frozenBase.length !== baseSpecs.length) throw new Error('parameter partition is not exact');

  const addedCount = countParameters(added);
  const trainable = addedCount + trainableBase.reduce((sum, p) => sum + p.count, 0);
  const frozen = frozenBase.reduce((sum, p) => sum + p.count, 0);
  const total = countParameters(baseSpecs) + addedCount;
  return {
    method: method.name,
    options,
    added: added.map(describe),
    trainableBase,
    frozenBase,
    trainable,
    frozen,
    total,
    percent: (100 * trainable) / total,
    closedForm: method.closedFormTrainable(config, options),
  };
}

export class AdaptedModel {
  readonly base: GPT2;
  readonly method: PeftMethod;
  readonly options: MethodOptions;
  readonly plan: ParameterPlan;
  /** Every trainable tensor: added ones by their own name, base copies by the base name. */
  readonly trainable: Map<string, tf.Variable>;
  private readonly trainableBaseNames: readonly string[];
  /** The trial seed, for training-time randomness in hooks (LoRA dropout masks). */
  private readonly seed: number;

  private constructor(base: GPT2, method: PeftMethod, options: MethodOptions, plan: ParameterPlan, trainable: Map<string, tf.Variable>, seed: number) {
    this.base = base;
    this.method = method;
    this.options = options;
    this.plan = plan;
    this.trainable = trainable;
    this.trainableBaseNames = plan.trainableBase.map((p) => p.name);
    this.seed = seed;
  }

  /** Applies a method (options already resolved) to a frozen base model, allocating its trainable tensors. */
  static create(base: GPT2, method: PeftMethod, resolvedOptions: MethodOptions, context: MethodContext): AdaptedModel {
    const options = method.prepare?.(resolvedOptions, context) ?? resolvedOptions;
    const plan = planParameters(base.config, method, options);
    const trainable = new Map<string, tf.Variable>();
    for (const spec of method.addedParameters(base.config, options)) {
      const values = method.initialValues?.(spec, options, context) ?? initialValues(spec, context.seed);
      if (values.length !== numel(spec.shape)) {
        throw new Error(`method "${method.name}" initialised "${spec.name}" with ${values.length} values, expected ${numel(spec.shape)} for shape [${spec.shape}]`);
      }
      trainable.set(spec.name, variableFrom(tf.tensor(values, spec.shape, 'float32'), spec.name));
    }
    for (const { name } of plan.trainableBase) {
      trainable.set(name, variableFrom(base.parameter(name).clone(), name));
    }
    return new AdaptedModel(base, method, options, plan, trainable, context.seed);
  }

  /** The hooks for a forward pass with the current trainable values. */
  hooks(): ModelHooks {
    const methodHooks = this.method.hooks(this.trainable, this.base.config, this.options, (name) => this.base.parameter(name), this.seed);
    if (this.trainableBaseNames.length === 0) return methodHooks;
    const overrides = new Map<string, tf.Tensor>(methodHooks.parameterOverrides ?? []);
    for (const name of this.trainableBaseNames) overrides.set(name, this.trainable.get(name) as tf.Variable);
    return { ...methodHooks, parameterOverrides: overrides };
  }

  forward(tokens: tf.Tensor2D, training = false): tf.Tensor3D {
    return this.base.forward(tokens, { hooks: this.hooks(), training });
  }

  /** Next-token logits at flat positions b·T + t only: [P, V] (GPT2.logitsAt). */
  logitsAt(tokens: tf.Tensor2D, positions: ArrayLike<number>, training = false): tf.Tensor2D {
    return this.base.logitsAt(tokens, positions, { hooks: this.hooks(), training });
  }

  /** Next-token loss over the positions marked in lossMask (all, when absent). */
  loss(tokens: tf.Tensor2D, lossMask?: tf.Tensor2D, training = true): tf.Scalar {
    return this.base.languageModelLoss(tokens, { hooks: this.hooks(), training, ...(lossMask === undefined ? {} : { lossMask }) });
  }

  /** The trainable variables, in a fixed order, for an optimiser. */
  variables(): tf.Variable[] {
    return [...this.trainable.values()];
  }

  dispose(): void {
    for (const variable of this.trainable.values()) variable.dispose();
    this.trainable.clear();
  }
}

/** A trainable variable from a fresh tensor; the tensor is released (the variable keeps its data). */
function variableFrom(initial: tf.Tensor, name: string): tf.Variable {
  const variable = tf.variable(initial, true, uniqueVariableName(name));
  initial.dispose();
  return variable;
}

let variableCounter = 0;
/** tfjs variable names are global: several adapted models (one per trial or per task) must not collide. */
function uniqueVariableName(name: string): string {
  variableCounter += 1;
  return `${name}#${variableCounter}`;
}
