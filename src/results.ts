/**
 * What a finished trial records, and the summary computed from many: the contract between the experiment
 * runner (which writes results.jsonl, results.csv, summary.json and summary.csv) and the reports (which
 * read only those files). A field added here is a field every reader sees; a field renamed is a format
 * change (bump RESULTS_FORMAT_VERSION).
 */
import type { OptionValue } from './peft.js';
import { confidenceInterval } from './stats.js';

export const RESULTS_FORMAT_VERSION = 2;
/** Formats the report still reads: 1 lacks the final-step scores, the gain-over-init flag and the gates. */
export const READABLE_RESULTS_FORMATS: readonly number[] = [1, 2];

/** How a trial trains: resolved values, never defaults left implicit. */
export interface TrainingConfig {
  optimizer: string;
  learningRate: number;
  /** Optimisation steps. */
  steps: number;
  /** Training examples per step. */
  batchSize: number;
  /** Evaluate on dev every this many steps (and at the end); the best dev score picks the checkpoint. */
  evalEvery: number;
  /** Weight decay (Adafactor and AdamW style, decoupled); 0 for none. */
  weightDecay: number;
}

/** Everything that determines a trial's result; its hash (with the code and dataset versions) is the trial key. */
export interface TrialConfig {
  /** The frozen model: a ps-* preset pretrained under `profile` with `pretrainSeed`. */
  preset: string;
  profile: string;
  pretrainSeed: number;
  /** The frozen model's cache folder name: corpus fingerprint, seed, pretraining budget and code version. */
  modelId: string;
  method: string;
  /** The method's options, every one resolved (defaults filled in). */
  options: Record<string, OptionValue>;
  task: string;
  /** Task data: world size and split sizes (the world seed is pretrainSeed: tasks ask about the world the model learned). */
  data: { worldSize: number; townCount: number; train: number; dev: number; test: number };
  /** Seed of the trial: initialisation of the method's tensors, batch order. */
  seed: number;
  training: TrainingConfig;
  /** true: the frozen model is the never-trained control of the preset (same init weights, no pretraining). Absent: the pretrained model. */
  control?: true;
  /** A task from files: its recipe and a fingerprint of the files' contents and the split rules (not their paths). */
  dataset?: { recipe: string; fingerprint: string };
  /** A frozen model from a checkpoint folder (instead of a pretrained ps-* preset): a fingerprint of its files. */
  checkpoint?: { fingerprint: string };
}

/** The frozen model a trial tuned, as summaries name it: the preset, or "<preset> (never trained)" for the control. */
export function frozenModelName(config: Pick<TrialConfig, 'preset' | 'control'>): string {
  return config.control === true ? `${config.preset}${CONTROL_SUFFIX}` : config.preset;
}
export const CONTROL_SUFFIX = ' (never trained)';

/** A dev or test evaluation by label-word scoring. */
export interface Evaluation {
  /** Fraction of examples whose highest-scoring label word is the right one. */
  accuracy: number;
  examples: number;
  /** Accuracy of always answering the split's most frequent label. */
  majority: number;
}

export type TrialStatus = 'finished' | 'diverged';

/** One line of results.jsonl. */
export interface TrialRecord {
  format: number;
  key: string;
  /** Names of the sweeps (figures) that asked for this trial; one trial may serve several. */
  sweeps: string[];
  config: TrialConfig;
  status: TrialStatus;
  /** For diverged trials: the step whose loss was NaN or infinite, and that loss. */
  divergedAt: { step: number; loss: number } | null;
  parameters: {
    /** Task-specific trainable values (what the method trains). */
    trainable: number;
    /** Frozen base parameters (the model's size on the x axis of the scaling figure). */
    base: number;
    /** Base plus added tensors (Hugging Face PEFT's "all params"). */
    total: number;
    /** trainable / total × 100. */
    percent: number;
    /** Bytes of the saved adapter tensors (float32): per-task storage. */
    adapterBytes: number;
  };
  /** Dev score of the chosen checkpoint and the step it came from (0: before training). */
  dev: Evaluation & { bestStep: number };
  /** Test score of the chosen (best-dev) checkpoint. */
  test: Evaluation;
  /**
   * The last step's dev and test scores (the trained prompt whatever dev said), beside the chosen ones;
   * null in format-1 records. For a diverged trial, test is NaN (its weights are not finite).
   */
  final: { step: number; dev: number; test: number } | null;
  /**
   * Whether training improved dev on the initial values (best-dev step > 0): false means the reported
   * checkpoint is the untrained init ("no gain over init"); null when nothing trains (prompt design).
   */
  gainOverInit: boolean | null;
  /** Mean training loss per evaluation interval: [step, loss] pairs. */
  lossCurve: [number, number][];
  /** Dev accuracy at each evaluation: [step, accuracy] pairs. */
  devCurve: [number, number][];
  timing: {
    /** Seconds spent in training steps (evaluations excluded). */
    trainSeconds: number;
    /** Seconds spent evaluating (dev and test). */
    evalSeconds: number;
    /** Median seconds of one training step. */
    stepSecondsMedian: number;
    /** Training tokens (real and virtual positions) per second. */
    tokensPerSecond: number;
    /** Tokens per training row, virtual positions included. */
    tokensPerRow: number;
  };
  memory: {
    /** Most bytes held by tfjs tensors at any measured point of the trial. */
    peakTensorBytes: number;
    /** Largest process resident set size seen during the trial (the whole process, all workers). */
    peakRssBytes: number;
  };
  /** How inputs met the context (absent in records made before it was recorded). */
  inputs?: TrialInputs;
  /** A task from files: the files (path, SHA-256, rows) and how each split was made from them. */
  dataset?: { recipe: string; files: { split: string; path: string; sha256: string; rows: number }[]; splits: string[] };
  environment: TrialEnvironment;
  /** ISO time the trial finished. */
  finishedAt: string;
}

/** The tokenizer and the context budget of a trial's inputs. */
export interface TrialInputs {
  /** The frozen model's tokenizer ("byte" for ps-*). */
  tokenizer: string;
  /** Most input tokens an example could keep (the context less virtual positions, <|endoftext|> and the longest label). */
  maxInputTokens: number;
  /** Inputs shortened to fit, per split. */
  truncated: { train: number; dev: number; test: number };
}

/** Where and with what a trial ran. */
export interface TrialEnvironment {
  backend: string;
  versions: Record<string, string>;
  gitHash: string;
  /** Whether the working tree had uncommitted changes. */
  gitDirty: boolean;
  machine: { cpu: string; cores: number; memoryBytes: number; platform: string; node: string };
}

/** Trial records grouped by (preset, method, options, task): the rows of summary.csv. */
export interface SummaryRow {
  preset: string;
  /** Frozen base parameters. */
  baseParameters: number;
  method: string;
  /** The options as one stable string ("init=class-label length=20"), for grouping and labels. */
  optionsLabel: string;
  options: Record<string, OptionValue>;
  /** A task name, or "average" for the per-seed mean over tasks. */
  task: string;
  trainable: number;
  percent: number;
  /** Finished trials in the group (diverged ones are counted in `diverged`, not averaged). */
  n: number;
  diverged: number;
  /** Finished trials whose chosen checkpoint is the untrained init (no gain over init); null when nothing trains. */
  noGain: number | null;
  /** Finished trials whose test accuracy is clearly above the majority baseline (see {@link leftChance}). */
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

/** A stable text for a set of options: sorted keys, lists joined with "+", empty and derived values left out. */
export function optionsLabel(options: Readonly<Record<string, OptionValue>>): string {
  // Empty values (an unused init text) and derived ones (prompt design's token ids) say nothing to a reader.
  return Object.keys(options)
    .filter((name) => name !== 'prompt-tokens' && options[name] !== '' && !(Array.isArray(options[name]) && (options[name] as string[]).length === 0))
    .sort()
    .map((name) => {
      const value = options[name];
      return `${name}=${Array.isArray(value) ? value.join('+') : String(value)}`;
    })
    .join(' ');
}

/**
 * A summary row's 95% interval of accuracy, cut to [0, 1]: an accuracy cannot leave it, but a t-interval
 * over two seeds easily does (summary.json keeps the interval whole; tables and figures show this).
 */
export function accuracyInterval(row: Pick<SummaryRow, 'ci95'>): [number, number] {
  return [Math.max(0, row.ci95[0]), Math.min(1, row.ci95[1])];
}

/**
 * Groups trial records by (preset, method, options, task) and computes, over seeds, the mean test
 * accuracy, its sample standard deviation and a 95% confidence interval, plus the gap to the baseline
 * method (`baseline`: full model tuning, the registry's role "baseline") on the same preset and task.
 * Adds an "average" task per group: the mean over tasks of each seed (only seeds that finished every
 * task of the group count).
 */
export function summarize(records: readonly TrialRecord[], baseline: string): SummaryRow[] {
  interface Group {
    first: TrialRecord;
    bySeed: Map<number, TrialRecord>;
    diverged: number;
  }
  const groups = new Map<string, Group>();
  const groupKey = (r: TrialRecord, task: string): string => JSON.stringify([frozenModelName(r.config), r.config.method, optionsLabel(r.config.options), task]);
  for (const record of records) {
    const key = groupKey(record, record.config.task);
    let group = groups.get(key);
    if (group === undefined) {
      group = { first: record, bySeed: new Map(), diverged: 0 };
      groups.set(key, group);
    }
    if (record.status === 'diverged') group.diverged += 1;
    else group.bySeed.set(record.config.seed, record);
  }

  const rows: SummaryRow[] = [];
  // Each row's score per seed, for gaps paired by seed.
  const seedScores = new Map<SummaryRow, Map<number, number>>();
  const meanOf = (values: number[]): number => (values.length === 0 ? NaN : values.reduce((a, b) => a + b, 0) / values.length);
  const push = (first: TrialRecord, task: string, bySeed: Map<number, number>, used: TrialRecord[], diverged: number): void => {
    const scores = [...bySeed.values()];
    const interval = confidenceInterval(scores);
    const made: SummaryRow = {
      preset: frozenModelName(first.config),
      baseParameters: first.parameters.base,
      method: first.config.method,
      optionsLabel: optionsLabel(first.config.options),
      options: first.config.options,
      task,
      trainable: first.parameters.trainable,
      percent: first.parameters.percent,
      n: scores.length,
      diverged,
      noGain: used.some((r) => r.gainOverInit !== null) ? used.filter((r) => r.gainOverInit === false).length : null,
      breakouts: used.filter(leftChance).length,
      finalMean: meanOf(used.map((r) => r.final?.test ?? NaN)),
      chance: meanOf(used.map((r) => r.test.majority)),
      recovered: null,
      mean: interval.mean,
      std: interval.std,
      ci95: [interval.low, interval.high],
      gapToFull: null,
      stepSeconds: meanOf(used.map((r) => r.timing.stepSecondsMedian)),
      tokensPerSecond: meanOf(used.map((r) => r.timing.tokensPerSecond)),
      peakTensorBytes: Math.max(0, ...used.map((r) => r.memory.peakTensorBytes)),
    };
    seedScores.set(made, bySeed);
    rows.push(made);
  };
  for (const group of groups.values()) {
    const used = [...group.bySeed.values()];
    push(group.first, group.first.config.task, new Map(used.map((r) => [r.config.seed, r.test.accuracy])), used, group.diverged);
  }

  // The task average: per (preset, method, options), per seed, the mean over the group's tasks.
  const averages = new Map<string, { first: TrialRecord; tasks: Set<string>; seeds: Map<number, TrialRecord[]>; diverged: number }>();
  for (const group of groups.values()) {
    const key = groupKey(group.first, '');
    let entry = averages.get(key);
    if (entry === undefined) {
      entry = { first: group.first, tasks: new Set(), seeds: new Map(), diverged: 0 };
      averages.set(key, entry);
    }
    entry.tasks.add(group.first.config.task);
    entry.diverged += group.diverged;
    for (const [seed, record] of group.bySeed) entry.seeds.set(seed, [...(entry.seeds.get(seed) ?? []), record]);
  }
  for (const entry of averages.values()) {
    if (entry.tasks.size < 2) continue;
    const complete = [...entry.seeds.entries()].filter(([, list]) => list.length === entry.tasks.size);
    const bySeed = new Map(complete.map(([seed, list]) => [seed, list.reduce((sum, r) => sum + r.test.accuracy, 0) / list.length]));
    push(entry.first, 'average', bySeed, complete.flatMap(([, list]) => list), entry.diverged);
  }

  // Gap to full model tuning on the same preset and task, paired by seed: the mean difference over the
  // seeds both finished (a seed that diverged or failed on one side would otherwise bias the gap).
  const full = new Map<string, Map<number, number>>();
  for (const r of rows) if (r.method === baseline && r.n > 0) full.set(JSON.stringify([r.preset, r.task]), seedScores.get(r) ?? new Map());
  for (const r of rows) {
    const reference = full.get(JSON.stringify([r.preset, r.task]));
    const mine = seedScores.get(r) ?? new Map<number, number>();
    const differences = reference === undefined ? [] : [...mine].filter(([seed]) => reference.has(seed)).map(([seed, score]) => score - (reference.get(seed) ?? NaN));
    r.gapToFull = differences.length === 0 ? null : meanOf(differences);
  }
  const fullRows = new Map(rows.filter((r) => r.method === baseline).map((r) => [JSON.stringify([r.preset, r.task]), r]));
  for (const r of rows) r.recovered = recoveredShare(r, fullRows.get(JSON.stringify([r.preset, r.task])));
  rows.sort(
    (a, b) =>
      a.baseParameters - b.baseParameters ||
      a.method.localeCompare(b.method) ||
      a.optionsLabel.localeCompare(b.optionsLabel) ||
      (a.task === 'average' ? 1 : 0) - (b.task === 'average' ? 1 : 0) ||
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
  const own = rows.filter((r) => r.task !== 'average');
  return {
    trained: own.filter((r) => r.noGain !== null).reduce((sum, r) => sum + r.n, 0),
    noGain: own.reduce((sum, r) => sum + (r.noGain ?? 0), 0),
    oneSeed: own.filter((r) => r.n === 1).length,
    diverged: own.reduce((sum, r) => sum + r.diverged, 0),
  };
}

/** The figure a sweep feeds in the report (null: tables only). */
export const FIGURE_KINDS = ['scaling', 'prompt-length', 'init', 'control'] as const;
export type FigureKind = (typeof FIGURE_KINDS)[number];

/** One sweep of an experiment as run.json records it. */
export interface SweepInfo {
  name: string;
  figure: FigureKind | null;
  description: string;
}

/** A pretrained frozen model the run used (one per preset). */
export interface PretrainedInfo {
  preset: string;
  parameters: number;
  steps: number;
  heldOutLoss: number;
  /** The same architecture never trained: what the tuned methods owe to pretraining. */
  controlHeldOutLoss: number;
  trainingSeconds: number;
  /** What the frozen model could do before any method touched it; absent in runs made before gates existed. */
  gates?: CapabilityGates;
}

/** One gate measurement on the pretrained model, beside the never-trained control of the same shape. */
export interface GateScore {
  model: number;
  control: number;
  /** What guessing scores (1 / number of labels or answers). */
  chance: number;
  /** Examples measured. */
  n: number;
}

/** Mean label-word loss (nats) split into the deciding (first) token and the rest (spelling). */
export interface LabelLossSplit {
  deciding: number;
  spelling: number;
}

/**
 * Capability gates: measured when a frozen model is pretrained, stored in run.json. A scaling claim is
 * stated only when the largest model's gates pass (clearly above chance and above its control).
 */
export interface CapabilityGates {
  /** Zero-shot label-word accuracy per task (rank classification, nothing tuned). */
  zeroShot: Record<string, GateScore>;
  /** Label-word loss per task, on the model and on its control. */
  labelLoss: Record<string, { model: LabelLossSplit; control: LabelLossSplit }>;
  /** Cloze probe per skill, in the pretraining wording: does the frozen model have the skill at all? */
  probes: Record<string, GateScore>;
  /** Whether the gates pass, by the rule `rule` states. */
  pass: boolean;
  /** The rule applied, in words (shown in the report). */
  rule: string;
  /** Why the gates fail; empty when they pass. */
  reasons: string[];
  /**
   * Per task: whether the frozen model had what the task needs (`gate` names the score that decided: the
   * probe of the task's skill, or the task's own zero-shot score) and why not. Absent in older gates.
   */
  tasks?: Record<string, { pass: boolean; gate: string; reasons: string[] }>;
}

/** run.json: what a results folder is (written beside results.jsonl; reports read it for captions). */
export interface RunManifest {
  format: number;
  experiment: string;
  description: string;
  /** The experiment file, as resolved (includes and profile applied). */
  file: string;
  profile: string;
  sweeps: SweepInfo[];
  startedAt: string;
  finishedAt: string;
  wallSeconds: number;
  trials: { total: number; ran: number; cached: number; diverged: number; failed: number };
  environment: TrialEnvironment;
  pretrained: PretrainedInfo[];
  /** Frozen models from checkpoint folders (not pretrained here): folder, size, tokenizer, content fingerprint. */
  checkpoints?: { name: string; dir: string; parameters: number; tokenizer: string; fingerprint: string }[];
  /** Tasks from files: recipe, files (path, SHA-256, rows), how each split was made, fingerprint. */
  datasets?: { name: string; fingerprint: string; recipe: string; files: { split: string; path: string; sha256: string; rows: number }[]; splits: string[] }[];
}

/**
 * Prompt ensembling (Lester et al. 2021 Table 3): the prompts of one prompt-tuning configuration trained
 * with different seeds, evaluated together on test in shared batches, with a majority vote.
 */
export interface EnsembleRecord {
  preset: string;
  baseParameters: number;
  method: string;
  optionsLabel: string;
  task: string;
  /** The trial keys (one per seed) whose prompts were ensembled, and their seeds. */
  keys: string[];
  seeds: number[];
  /** Test accuracy of each prompt alone (recomputed in the shared batches), their mean and the best. */
  perPrompt: number[];
  average: number;
  best: number;
  /** Test accuracy of the majority vote. */
  ensemble: number;
  examples: number;
  /** Votes settled by the tie-break rule (highest summed label score). */
  tiedVotes: number;
}

/** File names inside a results folder (results/<experiment>/). */
export const RESULT_FILES = {
  records: 'results.jsonl',
  recordsCsv: 'results.csv',
  summary: 'summary.json',
  summaryCsv: 'summary.csv',
  manifest: 'run.json',
  ensembles: 'ensembles.json',
  ensemblesCsv: 'ensembles.csv',
  bench: 'bench.json',
} as const;
