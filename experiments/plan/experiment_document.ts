/**
 * The experiment document's types (an experiment file after includes and the profile are merged), apart
 * from spec.ts so that the modules resolving its parts (sources.ts) need not import the resolver.
 */
import type { DatasetEntry } from '../../datasets/file_tasks.js';
import type { TaskSource } from '../../datasets/types.js';
import type { FigureKind, TrainingConfig } from '../../src/results/results.js';
import type { CheckpointEntry } from './checkpoints.js';
import type { Hypothesis } from '../../src/results/hypotheses.js';

export type JsonObject = Record<string, unknown>;

export interface MethodEntry {
  method: string;
  options?: JsonObject;
  sweep?: Record<string, unknown[]>;
  training?: Partial<TrainingConfig>;
}

export interface SweepSpec {
  name: string;
  figure?: FigureKind | null;
  description?: string;
  presets?: string[];
  tasks?: string[];
  seeds?: number[];
  methods?: MethodEntry[];
  training?: Partial<TrainingConfig>;
  /** Training-set sizes: each trial runs once per size instead of data.train (synthetic tasks only). */
  trainExamples?: number[];
  /** Tune the never-trained control of each preset instead of the pretrained model. */
  control?: boolean;
}


/** An experiment after includes and the profile are merged (not yet expanded). */
export interface ExperimentDocument {
  name?: string;
  /** The pretraining profile when the command line names none. */
  profile?: string;
  description?: string;
  presets?: string[];
  tasks?: string[];
  seeds?: number[];
  pretrainSeed?: number;
  pretrainSteps?: number;
  ensemble?: boolean;
  /** Most rows per packed training step (0 or 1: no packing); an execution detail, not part of any trial key. */
  packRows?: number;
  /** What the machine must have ("gpu": a TensorFlow GPU backend), checked before planning; not part of any trial key. */
  requires?: 'gpu';
  data?: { train?: number; dev?: number; test?: number };
  training?: Partial<TrainingConfig>;
  methodTraining?: Record<string, Partial<TrainingConfig>>;
  sweeps?: SweepSpec[];
  /** Tasks from files, by name (tasks lists may name them). */
  datasets?: Record<string, DatasetEntry>;
  /** Frozen models from checkpoint folders, by name (presets lists may name them). */
  checkpoints?: Record<string, CheckpointEntry>;
  /** Findings stated before the run (src/results/hypotheses.ts). */
  hypotheses?: Hypothesis[];
}

/** A task from files as the run uses it: its files, split derivation and fingerprint. */
export interface DatasetInfo {
  name: string;
  fingerprint: string;
  source: TaskSource;
  sizes: { train: number; dev: number; test: number };
  /** UTF-8 bytes of the rendered inputs over every split (mean, longest): what dry-run estimates count rows from. */
  inputBytes?: { mean: number; max: number };
}

