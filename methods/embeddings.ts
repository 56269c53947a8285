/**
 * Reading rows of the frozen token embedding (wte) for prompt initialisation and prompt design.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../src/model/config.js';
import type { MethodContext } from '../src/adapt/peft.js';
import { Random } from '../src/util/random.js';

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

/** Lester et al. 2021 §3.2 sample sampled-vocab (and class-label's extra) slots from the 5,000 most common tokens. */
export const SAMPLED_VOCAB_POOL = 5000;

/**
 * k token ids drawn with the trial seed (context.seed) from the most frequent tokens: the first
 * min(5,000, candidates) of context.frequentTokens (most frequent first) when the task supplies it,
 * otherwise of the ids 0, 1, 2, ... of the vocabulary. Drawn without replacement while the pool lasts;
 * k beyond the pool starts a fresh draw. `stream` separates draws of one trial (sampled-vocab, class-label).
 */
export function sampledTokenIds(context: MethodContext, k: number, stream: string): number[] {
  const candidates = context.frequentTokens !== undefined && context.frequentTokens.length > 0 ? context.frequentTokens : null;
  const size = Math.min(SAMPLED_VOCAB_POOL, candidates?.length ?? context.config.vocabSize);
  const pool = Array.from({ length: size }, (_, i) => (candidates === null ? i : candidates[i]));
  const random = new Random(context.seed, `init:${stream}`);
  const ids: number[] = [];
  while (ids.length < k) ids.push(...random.shuffle([...pool]).slice(0, k - ids.length));
  return ids;
}

/** Token ids of a text repeated and truncated to exactly k (PEFT's PromptTuningInit.TEXT). */
export function repeatToLength(ids: readonly number[], k: number, what: string): number[] {
  if (k === 0) return [];
  if (ids.length === 0) throw new Error(`${what}: the text encodes to no tokens; allowed: a non-empty text`);
  return Array.from({ length: k }, (_, i) => ids[i % ids.length]);
}
