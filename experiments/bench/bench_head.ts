/**
 * `peftscale bench head`: what computing the LM head at the scored positions only saves (GPT2.logitsAt,
 * languageModelLoss with a loss mask), on a GPT-2-shaped model (default the gpt2 preset: d 768, 12 layers,
 * the 50,257-token vocabulary, seeded initial weights). A training step of the learned-prompt method on
 * rows whose last `scored` tokens are the answer (as trials mark label tokens) is timed with the head at
 * those positions against the same step with the head over every position (the path before), each call
 * bracketed by calls of the other (timeAgainstBaseline); likewise a scoring pass. Both paths' losses are
 * reported, so a reader sees they compute the same thing.
 */
import * as tf from '@tensorflow/tfjs-core';
import { methodCard } from '../../src/adapt/method_card.js';
import { AdaptedModel } from '../../src/adapt/adapted.js';
import { getMethod, learnedPromptMethod, resolveOptions } from '../../src/adapt/peft.js';
import { findPreset, type ModelConfig } from '../../src/model/config.js';
import { GPT2 } from '../../src/model/model.js';
import { crossEntropy } from '../../src/ops/cross_entropy.js';
import { createOptimizer } from '../../src/training/train.js';
import { timeAgainstBaseline, type TimingSummary } from '../../src/util/bench_timing.js';
import { Random } from '../../src/util/random.js';
import { benchContext } from './bench_methods.js';

export interface HeadBenchOptions {
  preset: string;
  /** Fewer blocks than the preset (same width and vocabulary); default the preset's. */
  layers?: number;
  batchSize: number;
  sequenceLength: number;
  /** Answer tokens per row: the positions the loss and the score need. */
  scored: number;
  warmup: number;
  iterations: number;
}

export interface HeadBenchPart {
  wholeVocabulary: TimingSummary;
  scoredPositions: TimingSummary;
  /** Median of the scored-position call's time over its neighbouring whole-vocabulary calls. */
  ratio: number;
}

export interface HeadBenchResult {
  config: ModelConfig;
  method: string;
  batchSize: number;
  sequenceLength: number;
  scored: number;
  train: HeadBenchPart;
  score: HeadBenchPart;
  /** The masked loss both ways on the same weights (equal within float rounding). */
  loss: { wholeVocabulary: number; scoredPositions: number };
}

/** The masked next-token loss with the head over every position: what languageModelLoss computed before. */
function wholeVocabularyLoss(model: AdaptedModel, tokens: tf.Tensor2D, mask: tf.Tensor2D): tf.Scalar {
  const [b, t] = tokens.shape;
  const v = model.base.config.vocabSize;
  const logits = model.forward(tokens, true); // [B, T, V]
  const predicting = tf.reshape(tf.slice(logits, [0, 0, 0], [b, t - 1, v]), [-1, v]) as tf.Tensor2D;
  const targets = tf.reshape(tf.slice(tokens, [0, 1], [b, t - 1]), [-1]) as tf.Tensor1D;
  const weights = tf.reshape(tf.slice(mask, [0, 1], [b, t - 1]), [-1]) as tf.Tensor1D;
  return crossEntropy(predicting, targets, weights);
}

export function runHeadBench(options: HeadBenchOptions): HeadBenchResult {
  const preset = findPreset(options.preset).config;
  const layers = options.layers ?? preset.nLayers;
  if (!(Number.isInteger(layers) && layers >= 1)) throw new Error(`bench head: --layers = ${layers}: allowed: an integer ≥ 1`);
  if (!(options.scored >= 1 && options.scored < options.sequenceLength)) throw new Error(`bench head: --scored = ${options.scored}: allowed: 1..${options.sequenceLength - 1} (below --sequence-length)`);
  const config: ModelConfig = { ...preset, nLayers: layers };
  const method = learnedPromptMethod() ?? getMethod('full');
  const base = GPT2.initialize(config, 0);
  const adapted = AdaptedModel.create(base, method, resolveOptions(method, methodCard(method.name).benchmark.options, config), benchContext(base, 0));
  const { batchSize, sequenceLength, scored } = options;
  const random = new Random(0, 'head-batch');
  const tokens = tf.tensor2d(Int32Array.from({ length: batchSize * sequenceLength }, () => random.int(config.vocabSize)), [batchSize, sequenceLength], 'int32');
  const maskValues = new Float32Array(batchSize * sequenceLength);
  for (let b = 0; b < batchSize; b++) maskValues.fill(1, (b + 1) * sequenceLength - scored, (b + 1) * sequenceLength);
  const mask = tf.tensor2d(maskValues, [batchSize, sequenceLength]);
  const positions = Int32Array.from({ length: batchSize * scored }, (_, i) => Math.floor(i / scored) * sequenceLength + sequenceLength - scored - 1 + (i % scored));
  const optimizer = createOptimizer('adam', 1e-4);
  const variables = adapted.variables();
  const step = (loss: () => tf.Scalar) => (): void => {
    const value = optimizer.minimize(loss, true, variables);
    value?.dataSync();
    value?.dispose();
  };
  const readBack = (run: () => tf.Tensor) => (): void => {
    const out = tf.tidy(run);
    out.dataSync();
    out.dispose();
  };
  try {
    const loss = tf.tidy(() => ({
      wholeVocabulary: wholeVocabularyLoss(adapted, tokens, mask).dataSync()[0],
      scoredPositions: adapted.loss(tokens, mask, true).dataSync()[0],
    }));
    const rounds = { warmup: options.warmup, iterations: options.iterations };
    const train = timeAgainstBaseline({ name: 'whole-vocabulary step', fn: step(() => wholeVocabularyLoss(adapted, tokens, mask)) }, [{ name: 'scored-position step', fn: step(() => adapted.loss(tokens, mask, true)) }], rounds);
    const score = timeAgainstBaseline(
      { name: 'whole-vocabulary scoring', fn: readBack(() => tf.logSoftmax(adapted.forward(tokens, false))) },
      [{ name: 'scored-position scoring', fn: readBack(() => tf.logSoftmax(adapted.logitsAt(tokens, positions, false))) }],
      rounds,
    );
    const part = (c: typeof train): HeadBenchPart => ({ wholeVocabulary: c.baseline, scoredPositions: c.candidates[0], ratio: c.ratios[0] });
    return { config, method: method.name, batchSize, sequenceLength, scored, train: part(train), score: part(score), loss };
  } finally {
    tf.dispose([tokens, mask]);
    optimizer.dispose();
    adapted.dispose();
    base.dispose();
  }
}

export function formatHeadBench(r: HeadBenchResult, backend: string): string {
  const c = r.config;
  const ms = (t: TimingSummary): string => `${t.medianMs.toFixed(0)} ms`;
  const line = (what: string, p: HeadBenchPart): string =>
    `${what.padEnd(9)} whole vocabulary ${ms(p.wholeVocabulary).padStart(8)}   scored positions ${ms(p.scoredPositions).padStart(8)}   ratio ${p.ratio.toFixed(2)} (${((1 - p.ratio) * 100).toFixed(0)}% less time)`;
  return [
    `LM head at scored positions, ${backend}: d ${c.dModel}, ${c.nLayers} layers, vocab ${c.vocabSize}, ${r.method}, batch ${r.batchSize} × ${r.sequenceLength} tokens, ${r.scored} scored per row`,
    line('train', r.train),
    line('score', r.score),
    `masked loss: whole vocabulary ${r.loss.wholeVocabulary.toFixed(6)}, scored positions ${r.loss.scoredPositions.toFixed(6)}`,
  ].join('\n');
}
