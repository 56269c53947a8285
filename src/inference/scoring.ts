/**
 * Label-word scoring (rank classification): an example is classified by the label word the model finds
 * most likely after the example's text, P(label | text) = Σ log p(label token | everything before it).
 * Sums (not means) over the label's tokens, as lm-evaluation-harness's `acc`; methods are trained on the
 * same label tokens, so a trained model is not biased towards shorter labels.
 *
 * @example
 * const rows = labelRows(tokenizer.encode(task.format(example)), task.labels.map((l) => tokenizer.encode(l)));
 * const scores = sequenceScores((tokens) => model.forward(tokens), rows, { batchSize: 64 }); // one per label
 * const predicted = argmax(scores);
 */
import * as tf from '@tensorflow/tfjs-core';
import { SPECIAL_TOKENS } from '../io/tokenizer.js';

/** A token row whose tokens from `targetStart` on are scored (each predicted from the tokens before it). */
export interface ScoredRow {
  tokens: readonly number[];
  /** Index of the first scored token; ≥ 1 (the first token has nothing before it to be predicted from). */
  targetStart: number;
}

/**
 * Rows for scoring each label after a context: <|endoftext|> + context + label, one row per label.
 * `startId` is the model tokenizer's end-of-text id (default: the byte tokenizer's).
 */
export function labelRows(context: readonly number[], labels: readonly (readonly number[])[], startId: number = SPECIAL_TOKENS.endOfText): ScoredRow[] {
  return labels.map((label) => {
    if (label.length === 0) throw new Error('labelRows: a label has no tokens');
    return { tokens: [startId, ...context, ...label], targetStart: 1 + context.length };
  });
}

/** Right-pads rows with <|pad|> into one int32 tensor [B, T]; padding comes after every scored token, so causal attention never sees it. */
export function padRows(rows: readonly ScoredRow[], padToken: number = SPECIAL_TOKENS.pad): tf.Tensor2D {
  const length = Math.max(...rows.map((r) => r.tokens.length));
  const values = new Int32Array(rows.length * length).fill(padToken);
  rows.forEach((row, i) => values.set(row.tokens, i * length));
  return tf.tensor2d(values, [rows.length, length], 'int32');
}

/**
 * Σ log p(tokens[t] | tokens[<t]) over t ≥ targetStart, per row, from the logits of those rows
 * ([B, T, V], position t predicting token t + 1).
 */
export function scoreFromLogits(logits: tf.Tensor3D, rows: readonly ScoredRow[]): number[] {
  const [batch, length, vocab] = logits.shape;
  if (batch !== rows.length) throw new Error(`scoreFromLogits: logits [${logits.shape}] for ${rows.length} rows`);
  const indices: number[] = [];
  const owners: number[] = [];
  rows.forEach((row, b) => {
    if (row.targetStart < 1 || row.targetStart >= row.tokens.length) {
      throw new Error(`scoreFromLogits: row ${b}: targetStart ${row.targetStart} must be in [1, ${row.tokens.length - 1}] for ${row.tokens.length} tokens`);
    }
    if (row.tokens.length > length) throw new Error(`scoreFromLogits: row ${b} has ${row.tokens.length} tokens, logits only ${length} positions`);
    for (let t = row.targetStart; t < row.tokens.length; t++) {
      indices.push((b * length + t - 1) * vocab + row.tokens[t]); // position t-1 predicts token t
      owners.push(b);
    }
  });
  const picked = tf.tidy(() => {
    const logProbabilities = tf.logSoftmax(logits); // [B, T, V]
    return tf.gather(tf.reshape(logProbabilities, [-1]), tf.tensor1d(indices, 'int32')); // [targets]
  });
  const values = picked.dataSync();
  picked.dispose();
  const scores = new Array<number>(rows.length).fill(0);
  owners.forEach((b, i) => (scores[b] += values[i]));
  return scores;
}

/**
 * Scores many rows in batches of `batchSize` with a forward function (tokens [B, T] → logits [B, T, V]).
 * `padId`: the model tokenizer's padding id (default: the byte tokenizer's).
 */
export function sequenceScores(forward: (tokens: tf.Tensor2D) => tf.Tensor3D, rows: readonly ScoredRow[], options: { batchSize: number; padId?: number }): number[] {
  if (!(Number.isInteger(options.batchSize) && options.batchSize >= 1)) throw new Error(`sequenceScores: batchSize = ${options.batchSize}: allowed: an integer ≥ 1`);
  const scores: number[] = [];
  for (let start = 0; start < rows.length; start += options.batchSize) {
    const chunk = rows.slice(start, start + options.batchSize);
    const tokens = padRows(chunk, options.padId);
    const logits = tf.tidy(() => forward(tokens));
    try {
      scores.push(...scoreFromLogits(logits, chunk));
    } finally {
      tokens.dispose();
      logits.dispose();
    }
  }
  return scores;
}

/** Scores that hold NaN: the model that produced them has non-finite weights or activations. */
export class NonFiniteScoresError extends RangeError {
  override readonly name = 'NonFiniteScoresError';
}

/**
 * Index of the largest value (the first on ties); -1 for none. A NaN is an error, never a prediction:
 * a model that scores NaN is broken (non-finite weights), and counting it as a wrong answer would
 * record a finished trial at chance.
 */
export function argmax(values: readonly number[]): number {
  let best = -1;
  for (let i = 0; i < values.length; i++) {
    if (Number.isNaN(values[i])) throw new NonFiniteScoresError(`argmax: value ${i} of [${values.join(', ')}] is NaN: the scores come from a model with non-finite outputs`);
    if (best < 0 || values[i] > values[best]) best = i;
  }
  return best;
}
