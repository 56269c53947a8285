import assert from 'node:assert/strict';
import { it } from 'node:test';
import '../../methods/index.js';
import { getMethod, resolveOptions } from '../../src/adapt/peft.js';
import type { ModelConfig } from '../../src/model/config.js';
import { countParameters, modelParameterSpecs } from '../../src/model/params.js';
import { estimateTrial } from './estimate.js';

// A tiny byte-vocabulary shape: d 16, 2 layers of 2 heads, feed-forward 64, context 64.
const TINY: ModelConfig = { vocabSize: 260, contextLength: 64, dModel: 16, nLayers: 2, nHeads: 2, dFF: 64, layerNormEps: 1e-5 };
const training = { steps: 10, batchSize: 4, evalEvery: 5, optimizer: 'adam' as const };
const data = { dev: 3, test: 5 };
// Rendered inputs of 20 bytes on average, 30 at most: a byte vocabulary has a token per byte.
const BYTES = { mean: 20, max: 30 };

it('estimate: prompt tuning memory on a tiny shape equals the hand computation', () => {
  // Parameters by hand: embeddings 260·16 + 64·16 = 5184; a layer 2·32 (LayerNorms) + 16·48+48 + 16·16+16
  // + 16·64+64 + 64·16+16 = 3280; the final LayerNorm 32: 5184 + 2·3280 + 32 = 11776.
  assert.equal(countParameters(modelParameterSpecs(TINY)), 11776);
  const options = resolveOptions(getMethod('prompt-tuning'), { length: 4 }, TINY);
  const estimate = estimateTrial({ config: { method: 'prompt-tuning', options, training, data }, modelConfig: TINY }, BYTES, 1);
  // Longest row: 30 tokens + <|endoftext|> + a label token + 4 virtual = 36 positions (32 real, 4 extra).
  assert.deepEqual(estimate.positions, { mean: 26, max: 36 });
  // Activations per row (src/model/memory.ts): s = 36 positions, 40 keys; a layer 10·36·16 + 4·36·64 +
  // 3·2·36·40 = 23616 floats; the row 4·36·16 + 2·23616 + 3·260 (one scored position) = 50316 floats.
  const activations = 4 * 4 * 50316; // batch 4, float32
  const prompt = 4 * 16; // the 4×16 prompt, trained with Adam (2 slots) and a gradient
  assert.deepEqual(estimate.memory, { weights: 4 * 11776, added: 4 * prompt, gradients: 4 * prompt, optimizer: 4 * 2 * prompt, activations, total: 47104 + 256 + 256 + 512 + 805056 });
});

it('estimate: full tuning keeps a gradient and two Adam slots per base parameter, and costs 3 passes a step', () => {
  const estimate = estimateTrial({ config: { method: 'full', options: {}, training, data }, modelConfig: TINY }, BYTES, 1);
  assert.deepEqual([estimate.memory.added, estimate.memory.gradients, estimate.memory.optimizer], [0, 4 * 11776, 8 * 11776]);
  // Forward FLOPs of a row of P positions: 2·(11776 − 5184)·P + 4·2·P²·16 + 2·16·260 (one scored position).
  const forward = (p: number): number => 2 * 6592 * p + 128 * p * p + 8320;
  // No virtual positions: rows of 32 tokens at most (padded in training), 22 on average (evaluation);
  // 10 steps of 4 rows at 3 passes, 3 evaluations (steps 0, 5, 10) of 3 dev rows and one of 5 test rows.
  const flops = 10 * 4 * 3 * forward(32) + (3 * 3 + 5) * forward(22);
  assert.equal(estimate.flops, flops);
  assert.equal(estimate.seconds, flops / 1e12);
  // Prompt design trains nothing: one pass over dev and test, no gradient or optimiser state.
  const design = estimateTrial({ config: { method: 'prompt-design', options: resolveOptions(getMethod('prompt-design'), {}, TINY), training, data }, modelConfig: TINY }, BYTES, 1);
  assert.deepEqual([design.memory.gradients, design.memory.optimizer], [0, 0]);
  assert.equal(design.flops, (3 + 5) * forward(22));
});
