/**
 * What an experiment file states as hypotheses, and the record of them a results folder keeps: the types
 * and names only (results_run.ts and the schema need them); the evaluation is hypotheses.ts.
 */
export const HYPOTHESIS_KINDS = ['above-chance', 'above-control', 'gap-shrinks', 'effect-shrinks', 'rank-correlation'] as const;
export type HypothesisKind = (typeof HYPOTHESIS_KINDS)[number];
export const HYPOTHESIS_STATISTICS = ['t', 'bootstrap'] as const;
export type HypothesisStatistic = (typeof HYPOTHESIS_STATISTICS)[number];
/** Size selectors besides a preset name, chosen among the presets that have the comparison's records. */
export const SIZE_SELECTORS = ['smallest', 'largest', 'smallest-where-baseline-clears-chance'] as const;
export const EFFECTS = ['spread', 'difference'] as const;
export type Effect = (typeof EFFECTS)[number];
/** What gap-shrinks and effect-shrinks compare along: frozen model sizes (presets) or training-set sizes on one preset. */
export const AXES = ['size', 'train'] as const;
export type Axis = (typeof AXES)[number];
export type Verdict = 'holds' | 'does not hold' | 'inconclusive';
/** Resamples of every bootstrap interval (fixed, and seeded, so a verdict is the same on every run). */
export const BOOTSTRAP_RESAMPLES = 10_000;

/** What each kind compares, in words (the schema's documentation and the report's). */
export const KIND_DOCS: Readonly<Record<HypothesisKind, string>> = {
  'above-chance': 'method on the preset `at` scores above chance on `task`: per seed, accuracy minus chance',
  'above-control':
    "method on the pretrained preset `at` scores above the same method on that preset's never-trained control (a control sweep): per seed, accuracy on the pretrained model minus accuracy on the control, paired by seed",
  'gap-shrinks':
    "the gap of `method` to `baseline` (baseline minus method, paired by seed) is larger at size `from` than at size `to`: per seed, gap(from) minus gap(to)",
  'effect-shrinks':
    "the effect of option `option` on `method` is larger at size `from` than at size `to`: per seed, effect(from) minus effect(to), where the effect is the spread (largest minus smallest accuracy over `values`) or the difference (accuracy at values[0] minus at values[1])",
  'rank-correlation':
    "across groups (preset × task in `tasks`) where the baseline's 95% interval clears chance, Spearman's rank correlation between the frozen model's zero-shot gate margin on the task (zero-shot accuracy minus chance, from run.json's gates) and the share of the baseline's gain over chance that `method` recovers ((method − chance) / (baseline − chance), means over seeds); bootstrap over groups",
};

/** A method and the options that pick its records (every option named must match; others are free). */
export interface MethodRef {
  method: string;
  options?: Record<string, string | number | boolean>;
}

/** One hypothesis as the experiment file states it. */
export interface Hypothesis {
  id: string;
  statement: string;
  kind: HypothesisKind;
  statistic: HypothesisStatistic;
  method: MethodRef;
  baseline?: MethodRef;
  task?: string;
  tasks?: string[];
  /** above-chance, above-control: the size; with axis "train", the preset whose training-set sizes are compared. */
  at?: string;
  /** gap-shrinks, effect-shrinks: the two sizes (presets; with axis "train", training-set sizes such as "32"). */
  from?: string;
  to?: string;
  /** gap-shrinks, effect-shrinks: "size" (default: from and to are presets) or "train" (training-set sizes on the preset `at`). */
  axis?: Axis;
  /** Only the trials trained on this many examples (needed when the run trains the compared methods on several). */
  train?: number;
  /** effect-shrinks: the swept option, its values and how the effect is measured. */
  option?: string;
  values?: (string | number | boolean)[];
  effect?: Effect;
  /** The report figure that shows it (a figure id), for the link. */
  figure?: string;
}

/** The hypotheses of a run as recorded when its plan was made (hypotheses.json, run.json). */
export interface HypothesesRecord {
  /** sha256 of the canonical JSON of `list`. */
  hash: string;
  /** When they were first recorded (before any of the run's trials). */
  statedAt: string;
  /** The git commit the experiment file was read at, and whether the file had uncommitted changes then. */
  git: { commit: string | null; fileClean: boolean | null };
  list: Hypothesis[];
}

