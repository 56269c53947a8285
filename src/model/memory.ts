/**
 * What a forward pass holds in memory, per row, to size evaluation batches (src/inference/scoring.ts):
 * inside one tf.tidy every intermediate of every layer stays alive until the pass ends, so the estimate
 * adds them all up. The coefficients count the tensors model.ts and the ops create per layer (LayerNorm's
 * moments, the three attention projections, the scores and their softmax, GELU's tanh terms), fitted to
 * the peaks tf.profile measured on wasm, cpu and tensorflow (1.1-2x them); memory.test.ts checks the bound.
 */
import type { ModelConfig } from './config.js';

/**
 * Bytes of float32 intermediates for one row of `length` real tokens, `extraPositions` more in front
 * (virtual tokens, key/value prefixes), and `scoredPositions` positions that go through the LM head.
 */
export function forwardBytesPerRow(config: ModelConfig, length: number, extraPositions = 0, scoredPositions = length): number {
  const { dModel: d, dFF: f, nHeads: h, nLayers: layers, vocabSize: v } = config;
  const s = length + extraPositions;
  const keys = s + extraPositions;
  const perLayer = 10 * s * d + 4 * s * f + 3 * h * s * keys;
  const floats = 4 * s * d + layers * perLayer + 3 * scoredPositions * v;
  return 4 * floats;
}
