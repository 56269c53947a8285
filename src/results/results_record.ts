/**
 * What a finished trial records: one line of results.jsonl (its config, scores, costs and environment)
 * and the stable label of a method's options. A field added here is a field every reader sees; a field
 * renamed is a format change (bump RESULTS_FORMAT_VERSION).
 */
import type { OptionValue } from '../adapt/peft.js';

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
  dataset?: {
    recipe: string;
    files: { split: string; path: string; sha256: string; rows: number }[];
    splits: string[];
    /** Rows shared between splits (the same input text) and the allowed share (absent in older records). */
    overlap?: { pairs: { split: string; with: string; shared: number; rows: number; share: number }[]; maxShare: number };
  };
  /**
   * Trials that trained packed with this one, each on its own rows of every step (an execution detail: not
   * part of the key; the scores are those of training alone, within float tolerance). Absent: trained alone.
   * Its timing counts its share of each packed step (its rows over the pack's).
   */
  packing?: { size: number; keys: string[]; rows: number };
  environment: TrialEnvironment;
  /** ISO time the trial finished. */
  finishedAt: string;
  /**
   * "sha256:" and the hex digest of the record's canonical content (every field but `sweeps`, which a
   * run sets per experiment, and this one), written when the trial finishes (record_checksum.ts): an
   * import or a cache read refuses a record whose content no longer matches. Absent in older records.
   */
  checksum?: string;
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
  /** The package that provided the backend (tensorflow: @tensorflow/tfjs-node or tfjs-node-gpu). Absent in older records. */
  provider?: string;
  /** The native backend's intra-op threads (they may change float sums). Absent in older records and on other backends. */
  threads?: number;
  versions: Record<string, string>;
  gitHash: string;
  /** Whether the working tree had uncommitted changes. */
  gitDirty: boolean;
  machine: { cpu: string; cores: number; memoryBytes: number; platform: string; node: string };
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

