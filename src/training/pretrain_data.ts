/**
 * Pretraining's data: every training document gets <|endoftext|> appended and all are concatenated into
 * one stream. A batch row is `sequenceLength` consecutive tokens of the stream starting at the first token
 * of a document drawn at random (the stream wraps around), so rows are packed (no padding, every position
 * is a target) and every row starts where a document starts, as task prompts do downstream. The rows of
 * step `s` come from a Random stream named after `s`: a batch is a pure function of (seed, step).
 * Also the held-out loss, the mean token loss over documents evaluated one by one.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GPT2 } from '../model/model.js';
import { Random } from '../util/random.js';
import { SPECIAL_TOKENS } from '../io/tokenizer.js';

/** Training documents as one stream: each document followed by <|endoftext|>. */
export interface TokenStream {
  tokens: Int32Array;
  /** Offset of each document's first token in `tokens`. */
  starts: Int32Array;
  /** FNV-1a hash of the tokens (hex), to refuse resuming on different data. */
  hash: string;
}

/** Concatenates documents (each gets <|endoftext|>); ids must be inside the vocabulary. */
export function buildTokenStream(documents: readonly (readonly number[])[], vocabSize: number): TokenStream {
  if (documents.length === 0) throw new Error('pretraining needs at least one training document');
  const total = documents.reduce((sum, doc) => sum + doc.length + 1, 0);
  const tokens = new Int32Array(total);
  const starts = new Int32Array(documents.length);
  let offset = 0;
  let hash = 0x811c9dc5;
  documents.forEach((doc, index) => {
    starts[index] = offset;
    for (const id of doc) {
      if (!Number.isInteger(id) || id < 0 || id >= vocabSize) throw new Error(`training document ${index}: token id ${id} is outside the vocabulary [0, ${vocabSize})`);
      tokens[offset++] = id;
    }
    tokens[offset++] = SPECIAL_TOKENS.endOfText;
  });
  for (let i = 0; i < tokens.length; i++) hash = Math.imul(hash ^ tokens[i], 0x01000193);
  return { tokens, starts, hash: `${(hash >>> 0).toString(16).padStart(8, '0')}-${tokens.length}` };
}

/** The token rows [batchSize × sequenceLength] of 0-based step `step`: a pure function of (seed, step). */
export function batchRows(stream: TokenStream, seed: number, step: number, batchSize: number, sequenceLength: number): Int32Array {
  const random = new Random(seed, `pretrain:batch:${step}`);
  const rows = new Int32Array(batchSize * sequenceLength);
  const n = stream.tokens.length;
  for (let row = 0; row < batchSize; row++) {
    const start = stream.starts[random.int(stream.starts.length)];
    for (let t = 0; t < sequenceLength; t++) rows[row * sequenceLength + t] = stream.tokens[(start + t) % n];
  }
  return rows;
}

/** Mean next-token loss over every target token of the documents, and how many targets that was. */
export interface HeldOutLoss {
  loss: number;
  tokens: number;
  documents: number;
}

/**
 * Mean token loss over held-out documents, each evaluated on its own from position 0 (document +
 * <|endoftext|>, truncated to the context): the mean over every predicted token, not over documents.
 * No-grad forward passes in batches of `batchSize` documents of similar length, padded with <|pad|>,
 * which the loss mask keeps from ever being a target.
 */
export function heldOutLoss(model: GPT2, documents: readonly (readonly number[])[], options: { batchSize?: number } = {}): HeldOutLoss {
  const batchSize = options.batchSize ?? 16;
  const context = model.config.contextLength;
  const rows = documents.map((doc) => [...doc, SPECIAL_TOKENS.endOfText].slice(0, context)).filter((row) => row.length >= 2);
  if (rows.length === 0) throw new Error('heldOutLoss: no held-out document has a token to predict');
  // Sorting by length keeps padding (wasted work) small; the result does not depend on the order.
  const order = rows.map((_, i) => i).sort((a, b) => rows[a].length - rows[b].length || a - b);
  let sum = 0;
  let count = 0;
  for (let first = 0; first < order.length; first += batchSize) {
    const batch = order.slice(first, first + batchSize).map((i) => rows[i]);
    const width = Math.max(...batch.map((row) => row.length));
    const ids = new Int32Array(batch.length * width).fill(SPECIAL_TOKENS.pad);
    const mask = new Float32Array(batch.length * width);
    batch.forEach((row, r) => {
      ids.set(row, r * width);
      mask.fill(1, r * width, r * width + row.length);
    });
    const targets = batch.reduce((total, row) => total + row.length - 1, 0);
    const mean = tf.tidy(() => {
      const tokens = tf.tensor2d(ids, [batch.length, width], 'int32'); // [B, W]
      const lossMask = tf.tensor2d(mask, [batch.length, width], 'float32'); // [B, W]: 1 = real token
      return model.languageModelLoss(tokens, { lossMask });
    });
    sum += mean.dataSync()[0] * targets;
    mean.dispose();
    count += targets;
  }
  return { loss: sum / count, tokens: count, documents: rows.length };
}
