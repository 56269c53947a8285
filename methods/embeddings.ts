/**
 * Reading rows of the frozen token embedding (wte) for prompt initialisation and prompt design.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../src/config.js';
import type { MethodContext } from '../src/peft.js';

export function checkTokenIds(ids: readonly number[], config: ModelConfig, what: string): void {
  const bad = ids.find((id) => !Number.isInteger(id) || id < 0 || id >= config.vocabSize);
  if (bad !== undefined) throw new Error(`${what}: token id ${bad} is outside the vocabulary [0, ${config.vocabSize})`);
}

/** Rows of wte for the given token ids, flattened row-major: [ids.length, D]. */
export function embeddingRows(context: MethodContext, ids: readonly number[], what: string): Float32Array {
  checkTokenIds(ids, context.config, what);
  if (ids.length === 0) return new Float32Array(0);
  const rows = tf.tidy(() => tf.gather(context.baseParameter('wte.weight'), tf.tensor1d(Array.from(ids), 'int32'))); // [n, D]
  const values = rows.dataSync() as Float32Array;
  rows.dispose();
  return Float32Array.from(values);
}

/**
 * The k most frequent token ids: context.frequentTokens when the task supplies it (Lester et al.
 * sample from the 5,000 most common tokens), otherwise token ids 0, 1, 2, ... in order. Fewer
 * candidates than k wrap around.
 */
export function frequentTokenIds(context: MethodContext, k: number): number[] {
  const candidates = context.frequentTokens !== undefined && context.frequentTokens.length > 0 ? context.frequentTokens : null;
  const count = candidates?.length ?? context.config.vocabSize;
  return Array.from({ length: k }, (_, i) => (candidates === null ? i % count : candidates[i % count]));
}

/** Token ids of a text repeated and truncated to exactly k (PEFT's PromptTuningInit.TEXT). */
export function repeatToLength(ids: readonly number[], k: number, what: string): number[] {
  if (k === 0) return [];
  if (ids.length === 0) throw new Error(`${what}: the text encodes to no tokens; allowed: a non-empty text`);
  return Array.from({ length: k }, (_, i) => ids[i % ids.length]);
}
