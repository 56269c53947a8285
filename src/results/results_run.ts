/**
 * What a results folder says about its run as a whole: run.json (sweeps, pretrained frozen models and
 * their capability gates, environment), ensembles.json and the file names inside the folder.
 */
import type { TrialEnvironment } from './results_record.js';
import type { HypothesesRecord } from './hypothesis_types.js';

/** The figure a sweep feeds in the report (null: tables only). */
export const FIGURE_KINDS = ['scaling', 'prompt-length', 'init', 'control', 'data-size'] as const;
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

/**
 * A method as the report shows it, copied from its card (src/adapt/method_card.ts) when the run was
 * written, so that a results folder is drawn without the method registry. run.json lists every
 * registered method, in the registry's order (the order reports list methods in).
 */
export interface MethodCardRecord {
  name: string;
  /** "baseline" marks the method gaps are measured against (exactly one). */
  role: string;
  display: { name: string; colour: string };
  /** Whether its adapter is one learned prompt (the method the claims table tests). */
  learnedPrompt: boolean;
  /** Hugging Face PEFT's published trainable count on gpt2, when there is one. */
  publishedGpt2?: { setting: string; trainable: number };
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
  datasets?: {
    name: string;
    fingerprint: string;
    recipe: string;
    files: { split: string; path: string; sha256: string; rows: number }[];
    splits: string[];
    /** Rows shared between splits (absent in older run.json files). */
    overlap?: { pairs: { split: string; with: string; shared: number; rows: number; share: number }[]; maxShare: number };
  }[];
  /** The experiment's hypotheses as first recorded when its plan was made (absent: it stated none). */
  hypotheses?: HypothesesRecord;
  /** The methods' cards as reports use them; absent in runs written before run.json recorded them. */
  methods?: MethodCardRecord[];
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
  hypotheses: 'hypotheses.json',
} as const;
