/**
 * Pieces of PEFT's adapter format shared by the prompt-learning methods (prompt tuning, prefix tuning,
 * P-tuning): PromptLearningConfig's fields, their checks against the base model, and the one saved tensor
 * `prompt_embeddings`, which PEFT and we store with the same name and layout.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../src/model/config.js';
import type { PeftJson, TensorMap } from '../src/adapt/peft.js';

/** PromptLearningConfig's fields for a prompt of k virtual tokens on this model (decoder-only: one submodule). */
export function promptLearningFields(config: ModelConfig, k: number): Record<string, PeftJson> {
  return {
    num_virtual_tokens: k,
    token_dim: config.dModel,
    num_transformer_submodules: 1,
    num_attention_heads: config.nHeads,
    num_layers: config.nLayers,
    modules_to_save: null,
  };
}

/**
 * Checks PromptLearningConfig's fields against the base model (fields PEFT leaves null are filled from the
 * model at load time, so null passes) and returns num_virtual_tokens.
 */
export function promptLearningLength(fields: Readonly<Record<string, unknown>>, config: ModelConfig, problems: string[]): number {
  const expected: [string, number][] = [
    ['token_dim', config.dModel],
    ['num_layers', config.nLayers],
    ['num_attention_heads', config.nHeads],
    ['num_transformer_submodules', 1],
  ];
  for (const [field, value] of expected) {
    const given = fields[field];
    if (given !== undefined && given !== null && given !== value) problems.push(`${field} = ${JSON.stringify(given)}: the base model has ${value}`);
  }
  const k = fields.num_virtual_tokens;
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 0) problems.push(`num_virtual_tokens = ${JSON.stringify(k)}: must be a non-negative integer`);
  return k as number;
}

/** Copies of the tensors under the same names: prompt_embeddings is stored alike by PEFT and by us. */
export function sameTensors(tensors: TensorMap): Map<string, tf.Tensor> {
  return new Map([...tensors].map(([name, tensor]) => [name, tensor.clone()]));
}
