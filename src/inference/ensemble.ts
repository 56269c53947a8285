/**
 * Prompt ensembling (Lester et al. 2021 §7, Table 3): N prompts trained for one task (different seeds)
 * share one frozen model, so they are evaluated together, in the same batches, each row carrying its own
 * prompt (src/inference/serving.ts); each prompt predicts by label-word scoring (src/inference/scoring.ts) and the ensemble
 * answers by majority vote. Reported next to the average and the best single prompt.
 *
 * Tie-break (documented rule): among the labels with the most votes, the one with the highest score
 * summed over all N prompts (Σ log P(label | text)); if that ties too, the lowest label index.
 *
 * @example
 * const result = evaluateEnsemble(base, prompts, examples, { batchSize: 64 }); // prompts: [k, D] each
 * console.log(result.ensemble, result.average, result.best);
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GPT2 } from '../model/model.js';
import { logitsAtWithRowPrompts } from './serving.js';
import { forwardBytesPerRow } from '../model/memory.js';
import { argmax, labelRows, sequenceScores, type ScoredRow } from './scoring.js';

/** One example: its text's token ids, each label word's token ids, and the index of the right label. */
export interface EnsembleExample {
  context: readonly number[];
  labels: readonly (readonly number[])[];
  answer: number;
}

export interface EnsembleResult {
  /** Number of prompts N. */
  prompts: number;
  examples: number;
  /** Accuracy of each prompt alone, in the order given. */
  perPrompt: number[];
  /** Mean of perPrompt. */
  average: number;
  /** Largest of perPrompt, and which prompt (the first on ties). */
  best: number;
  bestPrompt: number;
  /** Accuracy of the majority vote. */
  ensemble: number;
  /** predictions[p][e]: the label prompt p picks for example e. */
  predictions: number[][];
  /** The ensemble's label per example. */
  votes: number[];
  /** Examples whose vote was tied and settled by the tie-break rule. */
  tiedVotes: number;
}

/**
 * The majority label of N predictions over L labels. Ties between the most-voted labels go to the one
 * with the highest `summedScores` entry, then to the lowest index.
 */
export function majorityVote(predictions: readonly number[], summedScores: readonly number[]): { label: number; tied: boolean } {
  const labels = summedScores.length;
  if (predictions.length === 0) throw new Error('majorityVote: no predictions');
  const counts = new Array<number>(labels).fill(0);
  predictions.forEach((label, p) => {
    if (!(Number.isInteger(label) && label >= 0 && label < labels)) throw new Error(`majorityVote: prediction ${p} is ${label}; allowed: a label index 0..${labels - 1}`);
    counts[label] += 1;
  });
  const most = Math.max(...counts);
  const tiedLabels = counts.flatMap((count, label) => (count === most ? [label] : []));
  if (tiedLabels.length === 1) return { label: tiedLabels[0], tied: false };
  let label = tiedLabels[0];
  // Strictly greater: on equal sums the lower index (met first) stays. NaN never wins.
  for (const candidate of tiedLabels) if (summedScores[candidate] > summedScores[label] || Number.isNaN(summedScores[label])) label = candidate;
  return { label, tied: true };
}

/**
 * Accuracies from label scores: scores[e][p][l] is prompt p's score of label l on example e, answers[e]
 * the right label. Each prompt predicts its argmax (first on ties), the ensemble by {@link majorityVote}.
 */
export function ensembleFromScores(scores: readonly (readonly (readonly number[])[])[], answers: readonly number[]): EnsembleResult {
  if (scores.length !== answers.length) throw new Error(`ensembleFromScores: ${scores.length} examples of scores, ${answers.length} answers`);
  if (scores.length === 0) throw new Error('ensembleFromScores: no examples');
  const n = scores[0].length;
  if (n === 0) throw new Error('ensembleFromScores: no prompts');
  const predictions = Array.from({ length: n }, () => new Array<number>(scores.length).fill(-1));
  const votes: number[] = [];
  let tiedVotes = 0;
  scores.forEach((perPrompt, e) => {
    if (perPrompt.length !== n) throw new Error(`ensembleFromScores: example ${e} has scores of ${perPrompt.length} prompts, example 0 of ${n}`);
    const labels = perPrompt[0].length;
    if (perPrompt.some((row) => row.length !== labels)) throw new Error(`ensembleFromScores: example ${e}: prompts scored different numbers of labels`);
    const summed = new Array<number>(labels).fill(0);
    const picked = perPrompt.map((row, p) => {
      row.forEach((score, l) => (summed[l] += score));
      return (predictions[p][e] = argmax(row));
    });
    const vote = majorityVote(picked, summed);
    votes.push(vote.label);
    if (vote.tied) tiedVotes += 1;
  });
  const accuracy = (chosen: readonly number[]): number => chosen.filter((label, e) => label === answers[e]).length / answers.length;
  const perPrompt = predictions.map(accuracy);
  const bestPrompt = argmax(perPrompt);
  return {
    prompts: n,
    examples: answers.length,
    perPrompt,
    average: perPrompt.reduce((a, b) => a + b, 0) / n,
    best: perPrompt[bestPrompt],
    bestPrompt,
    ensemble: accuracy(votes),
    predictions,
    votes,
    tiedVotes,
  };
}

/**
 * Scores every example under every prompt (rows: example × prompt × label, `batchSize` rows per forward
 * pass, each row with its own prompt) and votes. prompts: N tensors [k, D] of one length k.
 */
export function evaluateEnsemble(base: GPT2, prompts: readonly tf.Tensor[], examples: readonly EnsembleExample[], options: { batchSize: number; startId?: number; padId?: number }): EnsembleResult {
  const width = base.config.dModel;
  if (prompts.length === 0) throw new Error('evaluateEnsemble: no prompts; allowed: one or more [k, D] tensors');
  if (prompts.some((p) => p.rank !== 2 || p.shape[1] !== width || p.shape[0] !== prompts[0].shape[0])) {
    throw new Error(`evaluateEnsemble: prompts must all be [k, ${width}] with one k, got ${prompts.map((p) => `[${p.shape}]`).join(', ')}`);
  }
  if (!(Number.isInteger(options.batchSize) && options.batchSize >= 1)) throw new Error(`evaluateEnsemble: batchSize = ${options.batchSize}: allowed: an integer ≥ 1`);
  examples.forEach((example, e) => {
    if (!(Number.isInteger(example.answer) && example.answer >= 0 && example.answer < example.labels.length)) {
      throw new Error(`evaluateEnsemble: example ${e} has answer ${example.answer}; allowed: a label index 0..${example.labels.length - 1}`);
    }
  });

  // Row order: example, then prompt, then label.
  const rows: ScoredRow[] = [];
  const rowPrompt: number[] = [];
  for (const example of examples) {
    const labelled = labelRows(example.context, example.labels, options.startId);
    prompts.forEach((_, p) => {
      rows.push(...labelled);
      rowPrompt.push(...labelled.map(() => p));
    });
  }
  const longestLabel = Math.max(1, ...examples.flatMap((example) => example.labels.map((label) => label.length)));
  const stacked = tf.stack([...prompts]) as tf.Tensor3D; // [N, k, D]
  let flat: number[];
  try {
    // sequenceScores passes the chunks in row order: `start` follows them to pick each chunk's prompts.
    let start = 0;
    const rowBytes = (length: number): number => forwardBytesPerRow(base.config, length, prompts[0].shape[0], longestLabel);
    flat = sequenceScores((tokens, positions) => {
      const chunkPrompts = rowPrompt.slice(start, start + tokens.shape[0]);
      start += tokens.shape[0];
      return logitsAtWithRowPrompts(base, tokens, stacked, chunkPrompts, positions); // [P, V]
    }, rows, { batchSize: options.batchSize, padId: options.padId, rowBytes });
  } finally {
    stacked.dispose();
  }

  const scores: number[][][] = [];
  let offset = 0;
  for (const example of examples) {
    const labels = example.labels.length;
    scores.push(prompts.map((_, p) => flat.slice(offset + p * labels, offset + (p + 1) * labels)));
    offset += prompts.length * labels;
  }
  return ensembleFromScores(scores, examples.map((e) => e.answer));
}
