/**
 * Rows shared between splits of a task from files: the same input text (whitespace collapsed) in train
 * and test, say, makes a test score partly a memory test. Counted on the splits a trial uses (after
 * carving and caps), recorded with the task's provenance (run.json, each record, the report), and refused
 * above a share of the evaluated split unless the experiment allows it (`maxOverlap`).
 */
import type { TaskExample, TaskSplits } from './types.js';

/** The default `maxOverlap`: at most 1% of an evaluated split's rows may also be in another split. */
export const DEFAULT_MAX_OVERLAP = 0.01;

/** One pair of splits: rows of `of` (the evaluated one) whose input is also in `with`. */
export interface SplitPairOverlap {
  split: keyof TaskSplits;
  with: keyof TaskSplits;
  shared: number;
  rows: number;
  /** shared / rows. */
  share: number;
}

/** Every pair's overlap and the allowed share. */
export interface SplitOverlap {
  pairs: SplitPairOverlap[];
  maxShare: number;
}

/** The evaluated split second: train's rows in dev, train's and dev's rows in test. */
const PAIRS: [keyof TaskSplits, keyof TaskSplits][] = [
  ['dev', 'train'],
  ['test', 'train'],
  ['test', 'dev'],
];

const normalised = (example: TaskExample): string => example.input.replace(/\s+/g, ' ').trim();

export function splitOverlap(splits: TaskSplits, maxShare: number): SplitOverlap {
  const inputs = { train: new Set(splits.train.map(normalised)), dev: new Set(splits.dev.map(normalised)), test: new Set(splits.test.map(normalised)) };
  const pairs = PAIRS.map(([split, other]) => {
    const rows = splits[split].length;
    const shared = splits[split].filter((example) => inputs[other].has(normalised(example))).length;
    return { split, with: other, shared, rows, share: rows === 0 ? 0 : shared / rows };
  });
  return { pairs, maxShare };
}

/** A line per pair with shared rows, for the report and messages ("test: 3 of 150 rows (2.0%) also in train"). */
export function overlapLines(overlap: SplitOverlap): string[] {
  return overlap.pairs.filter((p) => p.shared > 0).map((p) => `${p.split}: ${p.shared} of ${p.rows} rows (${(100 * p.share).toFixed(1)}%) also in ${p.with}`);
}

/** Why the overlap refuses the task, or null when every pair is within the allowed share. */
export function overlapProblem(overlap: SplitOverlap): string | null {
  const over = overlap.pairs.filter((p) => p.share > overlap.maxShare);
  if (over.length === 0) return null;
  return `rows shared between splits (the same input text): ${over.map((p) => `${p.split}: ${p.shared} of ${p.rows} rows (${(100 * p.share).toFixed(1)}%) also in ${p.with}`).join('; ')}: allowed: at most ${(100 * overlap.maxShare).toFixed(1)}% of a split (maxOverlap = ${overlap.maxShare}; set maxOverlap higher in the dataset entry to run them anyway, and the report says so)`;
}
