/**
 * The summary of many trial records (summary.json, summary.csv): per (frozen model, method, options,
 * task) and per task average, the mean test accuracy over seeds with its interval, the gap to the
 * baseline paired by seed, the share of the baseline's gain recovered and the breakouts. Every derived
 * quantity is computed here once, for the tables and the figures alike.
 */
import type { OptionValue } from '../adapt/peft.js';
import { frozenModelName, optionsLabel, type TrialRecord } from './results_record.js';
import { confidenceInterval } from './stats.js';

/** Trial records grouped by (preset, method, options, task, training-set size): the rows of summary.csv. */
export interface SummaryRow {
  preset: string;
  /** Frozen base parameters. */
  baseParameters: number;
  method: string;
  /** The options as one stable string ("init=class-label length=20"), for grouping and labels. */
  optionsLabel: string;
  options: Record<string, OptionValue>;
  /** A task name, or AVERAGE_TASK ("average") for the per-seed mean over tasks. */
  task: string;
  /** Training examples of the group's trials (a sweep's trainExamples makes it an axis). */
  train: number;
  trainable: number;
  percent: number;
  /** Finished trials in the group (diverged ones are counted in `diverged`, not averaged). */
  n: number;
  diverged: number;
  /**
   * Finished trials whose chosen checkpoint is the untrained init (no gain over init); for the task
   * average, seeds whose trial kept its init on every task (of n); null when nothing trains.
   */
  noGain: number | null;
  /**
   * Finished trials whose test accuracy is clearly above the majority baseline (see {@link leftChance});
   * for the task average, seeds whose trials left chance on every task (of n).
   */
  breakouts: number;
  /** Mean over seeds of the last step's test accuracy (NaN when the records lack it). */
  finalMean: number;
  /** Mean majority-class (chance) test accuracy of the group's trials. */
  chance: number;
  /**
   * The share of full model tuning's gain above chance that this row recovers, (mean - chance) /
   * (full's mean - chance) on the same preset and task; null when full tuning did not clearly leave
   * chance (its interval's low end not above it) or is absent.
   */
  recovered: number | null;
  /** Test accuracy across seeds: mean, sample standard deviation, 95% Student-t interval. */
  mean: number;
  std: number;
  ci95: [number, number];
  /** Test accuracy minus full model tuning's on the same preset and task, averaged over the seeds both finished (null when there are none). */
  gapToFull: number | null;
  /** Mean seconds per training step and training tokens per second. */
  stepSeconds: number;
  tokensPerSecond: number;
  peakTensorBytes: number;
}

/**
 * A summary row's 95% interval of accuracy, cut to [0, 1]: an accuracy cannot leave it, but a t-interval
 * over two seeds easily does (summary.json keeps the interval whole; tables and figures show this).
 */
export function accuracyInterval(row: Pick<SummaryRow, 'ci95'>): [number, number] {
  return [Math.max(0, row.ci95[0]), Math.min(1, row.ci95[1])];
}

/** The task name of a summary row that holds the per-seed mean over the group's tasks. */
export const AVERAGE_TASK = 'average';

/** The key of a summary row or group: frozen model (frozenModelName), method, options label, task and training-set size. */
export function summaryKey(frozenModel: string, method: string, options: string, task: string, train: number): string {
  return JSON.stringify([frozenModel, method, options, task, train]);
}

/** One summary row before any statistic: its finished trials' test accuracy by seed. */
export interface SeedGroup {
  /** summaryKey of the row. */
  key: string;
  /** The group's first record: its frozen model, method, options and sizes. */
  first: TrialRecord;
  /** A task name, or AVERAGE_TASK. */
  task: string;
  /** Test accuracy per seed; for the average, the mean over the group's tasks of the seeds that finished every one. */
  scores: Map<number, number>;
  /** The finished trials behind `scores`. */
  used: TrialRecord[];
  diverged: number;
}

/**
 * Groups trial records by (frozen model, method, options, task, training-set size), in the order the records first name
 * them, then adds an average group per (frozen model, method, options) with two or more tasks: per seed,
 * the mean over the tasks (only seeds that finished every task of the group count).
 */
export function seedGroups(records: readonly TrialRecord[]): SeedGroup[] {
  interface Group {
    first: TrialRecord;
    bySeed: Map<number, TrialRecord>;
    diverged: number;
  }
  const groups = new Map<string, Group>();
  const keyOf = (r: TrialRecord, task: string): string => summaryKey(frozenModelName(r.config), r.config.method, optionsLabel(r.config.options), task, r.config.data.train);
  for (const record of records) {
    const key = keyOf(record, record.config.task);
    let group = groups.get(key);
    if (group === undefined) {
      group = { first: record, bySeed: new Map(), diverged: 0 };
      groups.set(key, group);
    }
    if (record.status === 'diverged') group.diverged += 1;
    else group.bySeed.set(record.config.seed, record);
  }
  const made: SeedGroup[] = [];
  for (const [key, group] of groups) {
    const used = [...group.bySeed.values()];
    made.push({ key, first: group.first, task: group.first.config.task, scores: new Map(used.map((r) => [r.config.seed, r.test.accuracy])), used, diverged: group.diverged });
  }

  // The task average: per (frozen model, method, options), per seed, the mean over the group's tasks.
  const averages = new Map<string, { first: TrialRecord; tasks: Set<string>; seeds: Map<number, TrialRecord[]>; diverged: number }>();
  for (const group of groups.values()) {
    const key = keyOf(group.first, AVERAGE_TASK);
    let entry = averages.get(key);
    if (entry === undefined) {
      entry = { first: group.first, tasks: new Set(), seeds: new Map(), diverged: 0 };
      averages.set(key, entry);
    }
    entry.tasks.add(group.first.config.task);
    entry.diverged += group.diverged;
    for (const [seed, record] of group.bySeed) entry.seeds.set(seed, [...(entry.seeds.get(seed) ?? []), record]);
  }
  for (const [key, entry] of averages) {
    if (entry.tasks.size < 2) continue;
    const complete = [...entry.seeds.entries()].filter(([, list]) => list.length === entry.tasks.size);
    const scores = new Map(complete.map(([seed, list]) => [seed, list.reduce((sum, r) => sum + r.test.accuracy, 0) / list.length]));
    made.push({ key, first: entry.first, task: AVERAGE_TASK, scores, used: complete.flatMap(([, list]) => list), diverged: entry.diverged });
  }
  return made;
}

/**
 * The gap to the baseline method (full model tuning, the method whose card declares the role
 * "baseline"), paired by seed: per group, its score minus the baseline's on the same frozen model and
 * task, for each seed both finished (a seed that diverged or failed on one side would otherwise bias the
 * gap). Empty when the baseline has no finished trial there or no seed in common. The summary's
 * gapToFull is the mean of these; the gap figure draws their mean and interval.
 */
export function gapsToBaseline(groups: readonly SeedGroup[], baseline: string): Map<SeedGroup, number[]> {
  const placeOf = (g: SeedGroup): string => JSON.stringify([frozenModelName(g.first.config), g.task, g.first.config.data.train]);
  const reference = new Map<string, Map<number, number>>();
  for (const g of groups) if (g.first.config.method === baseline && g.scores.size > 0) reference.set(placeOf(g), g.scores);
  const gaps = new Map<SeedGroup, number[]>();
  for (const g of groups) {
    const theirs = reference.get(placeOf(g));
    gaps.set(g, theirs === undefined ? [] : [...g.scores].filter(([seed]) => theirs.has(seed)).map(([seed, score]) => score - (theirs.get(seed) ?? NaN)));
  }
  return gaps;
}

const meanOf = (values: readonly number[]): number => (values.length === 0 ? NaN : values.reduce((a, b) => a + b, 0) / values.length);

/**
 * Of a group's n, how many have a property: trials of a task; for the task average, seeds whose trials
 * have it on every task (counted over seeds, like n, so never more than n; "all n" means every trial has it).
 */
function seedsWhere(group: SeedGroup, property: (record: TrialRecord) => boolean): number {
  if (group.task !== AVERAGE_TASK) return group.used.filter(property).length;
  const bySeed = new Map<number, boolean>();
  for (const record of group.used) bySeed.set(record.config.seed, (bySeed.get(record.config.seed) ?? true) && property(record));
  return [...bySeed.values()].filter(Boolean).length;
}

/** A summary row of one group: statistics over seeds, with the gap (mean of `gaps`) and no recovered share yet. */
function summaryRow(group: SeedGroup, gaps: readonly number[]): SummaryRow {
  const { first, used } = group;
  const interval = confidenceInterval([...group.scores.values()]);
  return {
    preset: frozenModelName(first.config),
    baseParameters: first.parameters.base,
    method: first.config.method,
    optionsLabel: optionsLabel(first.config.options),
    options: first.config.options,
    task: group.task,
    train: first.config.data.train,
    trainable: first.parameters.trainable,
    percent: first.parameters.percent,
    n: group.scores.size,
    diverged: group.diverged,
    noGain: used.some((r) => r.gainOverInit !== null) ? seedsWhere(group, (r) => r.gainOverInit === false) : null,
    breakouts: seedsWhere(group, leftChance),
    finalMean: meanOf(used.map((r) => r.final?.test ?? NaN)),
    chance: meanOf(used.map((r) => r.test.majority)),
    recovered: null,
    mean: interval.mean,
    std: interval.std,
    ci95: [interval.low, interval.high],
    gapToFull: gaps.length === 0 ? null : meanOf(gaps),
    stepSeconds: meanOf(used.map((r) => r.timing.stepSecondsMedian)),
    tokensPerSecond: meanOf(used.map((r) => r.timing.tokensPerSecond)),
    peakTensorBytes: Math.max(0, ...used.map((r) => r.memory.peakTensorBytes)),
  };
}

/**
 * The rows of summary.json: per group (seedGroups) the mean test accuracy over seeds, its sample standard
 * deviation and 95% confidence interval, the gap to the baseline method (`baseline`, gapsToBaseline) and
 * the share of the baseline's gain recovered, on the same frozen model and task.
 */
export function summarize(records: readonly TrialRecord[], baseline: string): SummaryRow[] {
  const groups = seedGroups(records);
  const gaps = gapsToBaseline(groups, baseline);
  const rows = groups.map((group) => summaryRow(group, gaps.get(group) ?? []));
  const place = (r: SummaryRow): string => JSON.stringify([r.preset, r.task, r.train]);
  const fullRows = new Map(rows.filter((r) => r.method === baseline).map((r) => [place(r), r]));
  for (const r of rows) r.recovered = recoveredShare(r, fullRows.get(place(r)));
  rows.sort(
    (a, b) =>
      a.baseParameters - b.baseParameters ||
      a.method.localeCompare(b.method) ||
      a.optionsLabel.localeCompare(b.optionsLabel) ||
      a.train - b.train ||
      (a.task === AVERAGE_TASK ? 1 : 0) - (b.task === AVERAGE_TASK ? 1 : 0) ||
      a.task.localeCompare(b.task),
  );
  return rows;
}

/**
 * Whether a trial left chance: test accuracy above the majority baseline p by more than a one-sided 95%
 * binomial margin, 1.645·√(p(1-p)/n) (the audit's "breaks out or does not": a run that does not stays
 * at the baseline within sampling noise).
 */
export function leftChance(record: Pick<TrialRecord, 'status' | 'test'>): boolean {
  if (record.status !== 'finished') return false;
  const p = record.test.majority;
  const n = record.test.examples;
  return n > 0 && record.test.accuracy > p + 1.645 * Math.sqrt((p * (1 - p)) / n);
}

/**
 * The share of full model tuning's gain above chance that a row recovers: (mean - chance) / (full's
 * mean - chance), from the same preset and task. Null when full tuning is absent or did not clearly
 * leave chance (the low end of its 95% interval is not above chance): a share of no gain means nothing.
 */
export function recoveredShare(row: Pick<SummaryRow, 'mean' | 'chance'>, full: Pick<SummaryRow, 'mean' | 'chance' | 'ci95' | 'n'> | undefined): number | null {
  if (full === undefined || full.n < 2 || !(full.ci95[0] > full.chance) || !Number.isFinite(row.mean)) return null;
  return (row.mean - row.chance) / (full.mean - full.chance);
}

/** Counts over a summary's rows for a caption: trials that reported their init, breakouts, one-seed rows. */
export interface SummaryCounts {
  /** Finished trials of methods that train. */
  trained: number;
  /** Of those, trials whose chosen checkpoint is the untrained init. */
  noGain: number;
  /** Rows with a single finished seed (no interval). */
  oneSeed: number;
  diverged: number;
}

/** Totals over per-task rows (the "average" rows would count trials twice). */
export function summaryCounts(rows: readonly SummaryRow[]): SummaryCounts {
  const own = rows.filter((r) => r.task !== AVERAGE_TASK);
  return {
    trained: own.filter((r) => r.noGain !== null).reduce((sum, r) => sum + r.n, 0),
    noGain: own.reduce((sum, r) => sum + (r.noGain ?? 0), 0),
    oneSeed: own.filter((r) => r.n === 1).length,
    diverged: own.reduce((sum, r) => sum + r.diverged, 0),
  };
}
