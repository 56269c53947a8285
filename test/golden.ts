/**
 * The golden fixtures written by scripts/golden/make_fixtures.py with transformers, PEFT and tokenizers
 * (test/fixtures/hf/): paths, the expected logits and the tokenizer cases. Tests compare our outputs
 * against these; CI never runs the Python script.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { readSafetensorsFile } from '../src/io/safetensors.js';

/** test/fixtures/hf, from the compiled file (dist/test/golden.js) or the source. */
export const HF_FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'fixtures', 'hf');
/** Logits must match transformers within this (float32 on a different stack). */
export const LOGIT_TOLERANCE = 1e-4;

export interface GoldenInfo {
  versions: Record<string, string>;
  config: Record<string, number | string>;
  virtualTokens: number;
  inputShape: [number, number];
  cases: Record<string, { checkpoint: string; adapter?: string; merged?: boolean }>;
  tokenizer: { text: string; ids: number[]; decoded: string; tokens: string[] }[];
}

export function goldenInfo(): GoldenInfo {
  return JSON.parse(readFileSync(path.join(HF_FIXTURES, 'golden.json'), 'utf8')) as GoldenInfo;
}

/** The input ids [B, T] and the expected logits of every case ([B, T, V] each), as tf tensors. */
export async function goldenTensors(): Promise<{ inputIds: tf.Tensor2D; logits: Map<string, tf.Tensor3D> }> {
  const { tensors } = await readSafetensorsFile(path.join(HF_FIXTURES, 'golden.safetensors'));
  const ids = tensors.get('input_ids');
  if (ids === undefined || ids.dtype !== 'I32') throw new Error('golden.safetensors: input_ids (I32) missing');
  const logits = new Map<string, tf.Tensor3D>();
  for (const [name, tensor] of tensors) {
    if (name.startsWith('logits_') && tensor.dtype === 'F32') logits.set(name.slice('logits_'.length), tf.tensor3d(tensor.data, tensor.shape as [number, number, number]));
  }
  return { inputIds: tf.tensor2d(ids.data, ids.shape as [number, number], 'int32'), logits };
}

/** Largest absolute difference between two tensors of the same shape. */
export function maxDifference(a: tf.Tensor, b: tf.Tensor): number {
  if (a.shape.join() !== b.shape.join()) throw new Error(`shapes differ: [${a.shape}] vs [${b.shape}]`);
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}
