/**
 * Label-word scoring (rank classification): an example is classified by the label word the model finds
 * most likely after the example's text, P(label | text) = Σ log p(label token | everything before it).
 * Sums (not means) over the label's tokens, as lm-evaluation-harness's `acc`; methods are trained on the
 * same label tokens, so a trained model is not biased towards shorter labels.
 *
 * @example
 * const rows = labelRows(tokenizer.encode(task.format(example)), task.labels.map((l) => tokenizer.encode(l)));
 * const scores = sequenceScores((tokens, positions) => model.logitsAt(tokens, positions), rows, { batchSize: 64 }); // one per label
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

/** Logits at flat positions b·T + t of tokens [B, T]: [P, V] (GPT2.logitsAt, with a method's hooks). */
export type PositionLogits = (tokens: tf.Tensor2D, positions: Int32Array) => tf.Tensor2D;

/** The positions of padded rows [B, T] that predict scored tokens (flat b·T + t − 1), the tokens, and the row of each. */
export function scoredPositions(rows: readonly ScoredRow[], length: number): { positions: Int32Array; targets: Int32Array; owners: Int32Array } {
  const positions: number[] = [];
  const targets: number[] = [];
  const owners: number[] = [];
  rows.forEach((row, b) => {
    if (row.targetStart < 1 || row.targetStart >= row.tokens.length) {
      throw new Error(`scoredPositions: row ${b}: targetStart ${row.targetStart} must be in [1, ${row.tokens.length - 1}] for ${row.tokens.length} tokens`);
    }
    if (row.tokens.length > length) throw new Error(`scoredPositions: row ${b} has ${row.tokens.length} tokens, the batch only ${length} positions`);
    for (let t = row.targetStart; t < row.tokens.length; t++) {
      positions.push(b * length + t - 1); // position t-1 predicts token t
      targets.push(row.tokens[t]);
      owners.push(b);
    }
  });
  return { positions: Int32Array.from(positions), targets: Int32Array.from(targets), owners: Int32Array.from(owners) };
}

/** Per-row sums of log p(target) from logits [P, V] at the scored positions (scoredPositions' order). */
export function scoreFromPositionLogits(logits: tf.Tensor2D, targets: Int32Array, owners: Int32Array, rowCount: number): number[] {
  const [count, vocab] = logits.shape;
  if (count !== targets.length || owners.length !== targets.length) throw new Error(`scoreFromPositionLogits: logits [${logits.shape}] for ${targets.length} targets`);
  const picked = tf.tidy(() => {
    const indices = Int32Array.from(targets, (target, p) => p * vocab + target);
    return tf.gather(tf.reshape(tf.logSoftmax(logits), [-1]), tf.tensor1d(indices, 'int32')); // [P]
  });
  const values = picked.dataSync();
  picked.dispose();
  const scores = new Array<number>(rowCount).fill(0);
  owners.forEach((b, i) => (scores[b] += values[i]));
  return scores;
}

export interface ScoringOptions {
  /** At most this many rows per forward pass (an integer ≥ 1). */
  batchSize: number;
  /** The model tokenizer's padding id (default: the byte tokenizer's). */
  padId?: number;
  /**
   * Bytes a forward pass takes per row of a given length (forwardBytesPerRow): with it, a batch also stops
   * growing before `memoryBytes`, so long rows and wide models score in smaller batches. One row always fits.
   */
  rowBytes?: (length: number) => number;
  /** The memory a batch may take when `rowBytes` is given; default {@link scoringMemoryBytes}(). */
  memoryBytes?: number;
}

export const EVAL_MEMORY_ENV = 'PEFTSCALE_EVAL_MEMORY_MB';
/** What one scoring batch may take: $PEFTSCALE_EVAL_MEMORY_MB mebibytes, default 256 (wasm's heap is at most 4 GiB). */
export function scoringMemoryBytes(): number {
  const text = process.env[EVAL_MEMORY_ENV];
  if (text === undefined || text === '') return 256 * 2 ** 20;
  const mb = Number(text);
  if (!(Number.isFinite(mb) && mb >= 1)) throw new Error(`${EVAL_MEMORY_ENV} = ${JSON.stringify(text)}: allowed: a number of mebibytes ≥ 1`);
  return mb * 2 ** 20;
}

/**
 * Batches of consecutive rows: at most `batchSize` rows, and with `rowBytes`, at most `memoryBytes`
 * for the batch padded to its longest row. Returns the row count of each batch.
 */
export function scoringBatches(rows: readonly ScoredRow[], options: ScoringOptions): number[] {
  if (!(Number.isInteger(options.batchSize) && options.batchSize >= 1)) throw new Error(`sequenceScores: batchSize = ${options.batchSize}: allowed: an integer ≥ 1`);
  const budget = options.rowBytes === undefined ? Infinity : (options.memoryBytes ?? scoringMemoryBytes());
  const sizes: number[] = [];
  let count = 0;
  let longest = 0;
  for (const row of rows) {
    const length = Math.max(longest, row.tokens.length);
    const fits = count < options.batchSize && (count === 0 || (count + 1) * (options.rowBytes?.(length) ?? 0) <= budget);
    if (!fits) {
      sizes.push(count);
      count = 0;
    }
    longest = count === 0 ? row.tokens.length : length;
    count += 1;
  }
  if (count > 0) sizes.push(count);
  return sizes;
}

/**
 * Scores many rows in batches (scoringBatches) with a function that returns the logits at the scored
 * positions only (the LM head is not computed elsewhere; see GPT2.logitsAt).
 */
export function sequenceScores(logitsAt: PositionLogits, rows: readonly ScoredRow[], options: ScoringOptions): number[] {
  const scores: number[] = [];
  let start = 0;
  for (const size of scoringBatches(rows, options)) {
    const chunk = rows.slice(start, start + size);
    start += size;
    const tokens = padRows(chunk, options.padId);
    const { positions, targets, owners } = scoredPositions(chunk, tokens.shape[1]);
    const logits = tf.tidy(() => logitsAt(tokens, positions));
    try {
      scores.push(...scoreFromPositionLogits(logits, targets, owners, chunk.length));
    } finally {
      tokens.dispose();
      logits.dispose();
    }
  }
  return scores;
}

/**
 * Scores of single-token labels after each context, one row per context instead of one per label: the
 * logits at the context's last position give log p(label) for every label at once, which is what
 * labelRows + sequenceScores computes (each of its rows repeats the context). Returns scores[example][label].
 */
export function sharedContextScores(logitsAt: PositionLogits, contexts: readonly (readonly number[])[], labelIds: readonly number[], options: ScoringOptions & { startId?: number }): number[][] {
  if (labelIds.length === 0) throw new Error('sharedContextScores: no labels');
  const startId = options.startId ?? SPECIAL_TOKENS.endOfText;
  // Each row ends with the first label so that its length matches labelRows' rows (the same batches).
  const rows: ScoredRow[] = contexts.map((context) => ({ tokens: [startId, ...context, labelIds[0]], targetStart: 1 + context.length }));
  const scores: number[][] = [];
  let start = 0;
  for (const size of scoringBatches(rows, options)) {
    const chunk = rows.slice(start, start + size);
    start += size;
    const tokens = padRows(chunk, options.padId);
    const { positions } = scoredPositions(chunk, tokens.shape[1]);
    const picked = tf.tidy(() => {
      const logProbabilities = tf.logSoftmax(logitsAt(tokens, positions)); // [b, V]
      return tf.gather(logProbabilities, tf.tensor1d(Int32Array.from(labelIds), 'int32'), 1); // [b, L]
    });
    const values = picked.dataSync();
    tf.dispose([picked, tokens]);
    for (let b = 0; b < chunk.length; b++) scores.push(Array.from(values.subarray(b * labelIds.length, (b + 1) * labelIds.length)));
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
