/**
 * How a trial scores: its inputs as token ids fitted to the context budget, and label-word accuracy with
 * a model's hooks. Shared by a trial (trial.ts) and the re-scoring of a kept adapter (trial_rescore.ts),
 * which must score exactly as the trial did.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GPT2 } from '../../src/model/model.js';
import type { ModelConfig } from '../../src/model/config.js';
import type { ModelHooks } from '../../src/adapt/hooks.js';
import { argmax, labelRows, sequenceScores, sharedContextScores } from '../../src/inference/scoring.js';
import type { Tokenizer } from '../../src/io/tokenizer.js';
import { forwardBytesPerRow } from '../../src/model/memory.js';
import type { Task, TaskExample } from '../../datasets/tasks.js';
import { fitInput } from '../../datasets/truncate.js';

/** An example as token ids. */
export interface EncodedExample {
  context: number[];
  label: number[];
  /** Index of the right label in task.labels. */
  answer: number;
  /** Whether the input was shortened to fit the context. */
  truncated: boolean;
}

/**
 * Input token ids that fit after `virtual` positions with room for <|endoftext|> and the longest label
 * word (each label is scored): the text is shortened when needed, never the label.
 */
export function inputBudget(task: Task, tokenizer: Tokenizer, contextLength: number, virtual: number): number {
  const longestLabel = Math.max(...task.labels.map((label) => tokenizer.encode(label).length));
  return contextLength - virtual - 1 - longestLabel;
}

function encodeExamples(task: Task, examples: readonly TaskExample[], tokenizer: Tokenizer, budget: number): EncodedExample[] {
  return examples.map((example) => {
    const answer = task.labels.indexOf(example.label);
    if (answer < 0) throw new Error(`task "${task.name}": example ${example.id} has label ${JSON.stringify(example.label)}, not one of ${JSON.stringify(task.labels)}`);
    const fitted = fitInput(task, example, budget, tokenizer, task.truncateField);
    return { context: fitted.ids, label: tokenizer.encode(example.label), answer, truncated: fitted.truncated };
  });
}

/** A split's examples as token ids (context fitted to `budget` tokens, label, index of the right label). */
export function encodedSplit(task: Task, split: 'train' | 'dev' | 'test', tokenizer: Tokenizer, budget: number): EncodedExample[] {
  return encodeExamples(task, task.splits[split], tokenizer, budget);
}

/** What scoring needs of a model: a trial's AdaptedModel, or a frozen base with a loaded adapter's hooks (trial_rescore.ts). */
export interface ScoringModel {
  readonly base: GPT2;
  logitsAt(tokens: tf.Tensor2D, positions: Int32Array, training: boolean): tf.Tensor2D;
}

/**
 * Accuracy of label-word scoring over encoded examples, with the current hooks of `model`. Batches hold
 * at most `batchSize` rows and what fits scoringMemoryBytes() (rows of `virtual` extra positions each).
 */
export function evaluateAccuracy(model: ScoringModel, task: Task, examples: readonly EncodedExample[], batchSize: number, tokenizer: Tokenizer, virtual = 0): number {
  if (examples.length === 0) return NaN;
  const labels = task.labels.map((label) => tokenizer.encode(label));
  const longestLabel = Math.max(...labels.map((label) => label.length));
  const rowBytes = (length: number): number => forwardBytesPerRow(model.base.config, length, virtual, longestLabel);
  const logitsAt = (tokens: tf.Tensor2D, positions: Int32Array): tf.Tensor2D => model.logitsAt(tokens, positions, false);
  const options = { batchSize, padId: tokenizer.padId, rowBytes, startId: tokenizer.endOfTextId };
  // Single-token labels (RTE's " yes"/" no", the generated tasks' words) share one row per example.
  const perExample =
    longestLabel === 1
      ? sharedContextScores(logitsAt, examples.map((e) => e.context), labels.map((label) => label[0]), options)
      : chunked(sequenceScores(logitsAt, examples.flatMap((example) => labelRows(example.context, labels, tokenizer.endOfTextId)), options), labels.length);
  let correct = 0;
  examples.forEach((example, i) => {
    if (argmax(perExample[i]) === example.answer) correct += 1;
  });
  return correct / examples.length;
}

/** values cut into consecutive groups of `size`. */
function chunked(values: readonly number[], size: number): number[][] {
  return Array.from({ length: values.length / size }, (_, i) => values.slice(i * size, (i + 1) * size));
}

/**
 * Context positions the method takes before the real tokens, from its hooks: `input` positions (prompt
 * tuning's k, rows of the forward pass) and `attention` key/value prefix positions (prefix tuning's k,
 * which the model counts as past tokens). Inputs must leave room for both.
 */
export function virtualPositions(hooks: () => ModelHooks, config: ModelConfig): { input: number; attention: number } {
  const context = { config, batchSize: 1, sequenceLength: 1, training: false };
  return tf.tidy(() => {
    const made = hooks();
    const input = made.inputPrefix?.(context)?.shape.at(-2) ?? 0;
    const attention = made.attentionPrefix?.(0, context)?.key.shape.at(-2) ?? 0; // every layer's is the same length (model.ts)
    return { input, attention };
  });
}
