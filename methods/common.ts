/**
 * Small pieces shared by the method modules: option specs every prompt-style method declares, a
 * PyTorch-style Linear layer declared as data, and lookup of a method's tensors by name.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../src/model/config.js';
import type { ForwardContext } from '../src/adapt/hooks.js';
import type { Initializer, ParamSpec } from '../src/model/params.js';
import type { MethodOptions, OptionSpec, TensorMap } from '../src/adapt/peft.js';

/** `length`: the number of virtual tokens (PEFT's num_virtual_tokens). */
export function lengthOption(min: number, defaultLength = 20): OptionSpec {
  return {
    name: 'length',
    type: 'integer',
    description: "number of virtual tokens k (PEFT's num_virtual_tokens)",
    default: defaultLength,
    min,
  };
}

/** Virtual input tokens take positions: k plus at least one real token must fit in the context. */
export function checkPromptFits(length: number, config: ModelConfig): string[] {
  return length + 1 <= config.contextLength
    ? []
    : [`--length = ${length}: a prompt of ${length} virtual tokens plus at least one real token exceeds the context length ${config.contextLength}; allowed: 0..${config.contextLength - 1}`];
}

export function integerOption(options: MethodOptions, name: string): number {
  const value = options[name];
  if (typeof value !== 'number') throw new Error(`option --${name} is missing or not a number (got ${JSON.stringify(value)}); resolve options with resolveOptions first`);
  return value;
}

export const numberOption = integerOption;

export function stringOption(options: MethodOptions, name: string): string {
  const value = options[name];
  if (typeof value !== 'string') throw new Error(`option --${name} is missing or not a string (got ${JSON.stringify(value)}); resolve options with resolveOptions first`);
  return value;
}

export function listOption(options: MethodOptions, name: string): string[] {
  const value = options[name];
  if (!Array.isArray(value)) throw new Error(`option --${name} is missing or not a list (got ${JSON.stringify(value)}); resolve options with resolveOptions first`);
  return value;
}

/** A method's tensor by name, with an error naming what is there when it is missing. */
export function tensorOf(tensors: TensorMap, name: string, method: string): tf.Tensor {
  const tensor = tensors.get(name);
  if (tensor === undefined) throw new Error(`method "${method}": no tensor "${name}" (have: ${[...tensors.keys()].join(', ') || 'none'})`);
  return tensor;
}

/**
 * torch.nn.Linear's default initialisation (kaiming_uniform with a = √5): weight and bias both
 * U(-1/√in, 1/√in). Weights are declared [in, out], the layout of every matrix in this repository.
 */
export function torchLinear(name: string, input: number, output: number): ParamSpec[] {
  const bound = 1 / Math.sqrt(input);
  const init: Initializer = { kind: 'uniform', low: -bound, high: bound };
  return [
    { name: `${name}.weight`, shape: [input, output], init },
    { name: `${name}.bias`, shape: [output], init },
  ];
}

/** y = x·W + b for a layer declared by {@link torchLinear}: [N, in] → [N, out]. */
export function applyLinear(tensors: TensorMap, name: string, x: tf.Tensor, method: string): tf.Tensor {
  return tf.add(tf.matMul(x as tf.Tensor2D, tensorOf(tensors, `${name}.weight`, method) as tf.Tensor2D), tensorOf(tensors, `${name}.bias`, method));
}

/**
 * Memoises a tensor computed from the trainable tensors for the length of one forward pass. The
 * model calls a hook once per layer with the same ForwardContext object, so keying on it computes a
 * prompt encoder once per pass; a new pass (new context) recomputes, so no tensor outlives the
 * tidy scope of the pass that made it.
 */
export function perForward(compute: () => tf.Tensor): (context: ForwardContext) => tf.Tensor {
  let lastContext: ForwardContext | null = null;
  let lastValue: tf.Tensor | null = null;
  return (context) => {
    if (context !== lastContext || lastValue === null || lastValue.isDisposed) {
      lastValue = compute();
      lastContext = context;
    }
    return lastValue;
  };
}

