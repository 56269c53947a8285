/**
 * The task interface shared by the synthetic suite and the real-data loaders. Other code (methods,
 * experiments) codes against these types; they are re-exported from tasks.ts.
 */

/** One labelled example. */
export interface TaskExample {
  /** Unique within a task (and across its splits). */
  id: string;
  /** The example's content; `Task.format` wraps it into the text the model reads. */
  input: string;
  /** The label word, one of `Task.labels` (with its leading space). */
  label: string;
  /** Ids of the world facts the example is about (empty for loaded real data). */
  facts: string[];
  /** Loaded real data: the text fields the template was filled with (truncation shortens these, never the label). */
  fields?: Record<string, string>;
}

/** Disjoint train, dev and test examples. */
export interface TaskSplits {
  train: TaskExample[];
  dev: TaskExample[];
  test: TaskExample[];
}

/**
 * A text-to-text classification task scored by comparing the model's likelihood of each label word.
 * Convention: `format(example)` ends right before the label word with no trailing space, and every
 * label word starts with a space (' yes'), so `format(example) + label` is the natural text.
 */
export interface Task {
  name: string;
  kind: string;
  description: string;
  /** Verbalisers: the label words as the model sees them (leading space, short, distinct). */
  labels: string[];
  splits: TaskSplits;
  /** The text the model reads, ending right before the label word. */
  format(example: TaskExample): string;
  /** The most frequent label of a split and the accuracy of always answering it. */
  majorityBaseline(split: keyof TaskSplits): { label: string; accuracy: number };
  /** Loaded real data: the "{field}" template that `format` renders from `example.fields`. */
  template?: string;
  /** Loaded real data: the text field shortened first when an input does not fit the context. */
  truncateField?: string;
  /** Loaded real data: where the examples came from and how the splits were made, as recorded with results. */
  source?: TaskSource;
}

/** Provenance of a task loaded from files. */
export interface TaskSource {
  recipe: string;
  /** Per file: the split it was given as, its path, its SHA-256 and its rows. */
  files: { split: keyof TaskSplits; path: string; sha256: string; rows: number }[];
  /** How each split was made from the files, in words (derived splits, caps). */
  splits: string[];
  /** Rows shared between the splits (the same input text), per pair, and the share the experiment allowed. */
  overlap?: { pairs: { split: keyof TaskSplits; with: keyof TaskSplits; shared: number; rows: number; share: number }[]; maxShare: number };
}

/** The split names in order. */
export const SPLIT_NAMES = ['train', 'dev', 'test'] as const satisfies readonly (keyof TaskSplits)[];

/** Most frequent label of the examples (ties: earlier in `labels`); accuracy 0 for no examples. */
export function majorityOf(examples: readonly TaskExample[], labels: readonly string[]): { label: string; accuracy: number } {
  const counts = new Map<string, number>(labels.map((l) => [l, 0]));
  for (const e of examples) counts.set(e.label, (counts.get(e.label) ?? 0) + 1);
  let best = labels[0] ?? '';
  for (const [label, count] of counts) if (count > (counts.get(best) ?? 0)) best = label;
  return { label: best, accuracy: examples.length === 0 ? 0 : (counts.get(best) ?? 0) / examples.length };
}
