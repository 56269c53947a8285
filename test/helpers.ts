/**
 * Shared test utilities. The same tests run on every backend that loads here: wasm and cpu always,
 * tensorflow when a tfjs-node addon is built (`npm run setup:native`); PEFTSCALE_TEST_BACKENDS overrides the list.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, nativeAddonInstalled, type BackendName } from '../src/model/backend.js';
import type { ModelConfig } from '../src/model/config.js';
import { GPT2 } from '../src/model/model.js';

export const TINY_CONFIG: ModelConfig = { vocabSize: 260, contextLength: 64, dModel: 16, nLayers: 2, nHeads: 2, dFF: 64, layerNormEps: 1e-5 };

export function testBackends(): BackendName[] {
  const fromEnv = process.env.PEFTSCALE_TEST_BACKENDS;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv.split(',').map((s) => s.trim()) as BackendName[];
  return nativeAddonInstalled() ? ['wasm', 'cpu', 'tensorflow'] : ['wasm', 'cpu'];
}

/** The backend `auto` picks here, which worker threads of the runner use unless PEFTSCALE_BACKEND says otherwise. */
export function expectedAutoBackend(): BackendName {
  const fromEnv = process.env.PEFTSCALE_BACKEND;
  if (fromEnv !== undefined && fromEnv !== '' && fromEnv !== 'auto') return fromEnv as BackendName;
  return nativeAddonInstalled() ? 'tensorflow' : 'wasm';
}

export async function useBackend(name: BackendName): Promise<void> {
  await initBackend(name);
  if (tf.getBackend() !== name) throw new Error(`backend ${name} did not become active (got ${tf.getBackend()})`);
}

/** Bytes of a tensor's values, for bit-identical comparisons. */
export function bytesOf(t: tf.Tensor): Uint8Array {
  const values = t.dataSync();
  return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
}

export function maxAbsDifference(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

/** Token rows [B, T] with values in [0, vocab), deterministic. */
export function tokenRows(batch: number, length: number, vocab: number, offset = 0): tf.Tensor2D {
  return tf.tensor2d(Int32Array.from({ length: batch * length }, (_, i) => (i * 7 + offset * 13 + 3) % vocab), [batch, length], 'int32');
}

/** A TINY_CONFIG base with 10x GPT-2's init scale on matrices, so that prompts move the logits visibly (and different prompts lead to different answers). */
export function sensitiveBase(seed: number): GPT2 {
  const init = GPT2.initialize(TINY_CONFIG, seed);
  const weights = new Map([...init.parameters()].map(([name, t]) => [name, t.rank === 2 ? tf.mul(t, 10) : t.clone()]));
  init.dispose();
  return GPT2.fromWeights(TINY_CONFIG, weights);
}

/** A soft prompt [length, TINY_CONFIG.dModel] of standard normal values, deterministic in `seed`. */
export function randomPrompt(length: number, seed: number): tf.Tensor2D {
  return tf.randomNormal([length, TINY_CONFIG.dModel], 0, 1, 'float32', seed) as tf.Tensor2D;
}
