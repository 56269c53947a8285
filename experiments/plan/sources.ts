/**
 * Where an experiment's frozen models and tasks come from: a `presets` name is a ps-* preset pretrained
 * here or a folder of the file's `checkpoints`; a `tasks` name is a generated task or a file dataset of its
 * `datasets`. Each checkpoint and dataset is checked once, when the experiment is planned (before any
 * work): the folder's config and weight headers, every row of every file. Their fingerprints (contents,
 * not paths) go into the trial keys.
 */
import { existsSync } from 'node:fs';
import { findPreset, PRESETS, unknownNameMessage, type ModelConfig } from '../../src/model/config.js';
import { DatasetLoadError } from '../../datasets/loaders.js';
import { datasetFingerprint, loadFileTask, resolveDataset, type ResolvedDataset, type SplitCap } from '../../datasets/file_tasks.js';
import { TASK_NAMES } from '../../datasets/tasks.js';
import { inspectCheckpoint, type CheckpointInfo } from './checkpoints.js';
import type { DatasetInfo, ExperimentDocument } from './experiment_document.js';

/** A frozen model: a preset's config, or a checkpoint folder's (info null while the folder is missing in a dry run). */
export interface ModelSource {
  config: ModelConfig;
  checkpoint: { name: string; info: CheckpointInfo | null } | null;
}

/** A task: generated (dataset null) or from files. */
export interface TaskSourceRef {
  dataset: { resolved: ResolvedDataset; info: DatasetInfo } | null;
}

export class ExperimentSources {
  private readonly models = new Map<string, ModelSource | null>();
  private readonly tasks = new Map<string, TaskSourceRef | null>();
  readonly missingCheckpoints: string[] = [];

  constructor(
    private readonly document: ExperimentDocument,
    private readonly problems: string[],
    private readonly allowMissingCheckpoints: boolean,
    /** Datasets whose files are missing (named already by plan/data_files.ts): not loaded. */
    private readonly missingData: ReadonlySet<string> = new Set(),
  ) {
    for (const name of Object.keys(document.datasets ?? {})) {
      if (TASK_NAMES.includes(name)) problems.push(`datasets.${name}: the name of a generated task; allowed: another name (generated: ${TASK_NAMES.join(', ')})`);
    }
  }

  /** A preset or checkpoint name as a model; null (with a problem recorded once) when it is not usable. */
  model(name: string, at: string): ModelSource | null {
    if (this.models.has(name)) return this.models.get(name) ?? null;
    const source = this.resolveModel(name, at);
    this.models.set(name, source);
    return source;
  }

  private resolveModel(name: string, at: string): ModelSource | null {
    const entry = this.document.checkpoints?.[name];
    if (entry === undefined) {
      let preset;
      try {
        preset = findPreset(name);
      } catch {
        const checkpoints = Object.keys(this.document.checkpoints ?? {});
        this.problems.push(`${at}: ${unknownNameMessage('preset or checkpoint', name, [...checkpoints, ...presetNames()])}`);
        return null;
      }
      if (preset.kind !== 'pretrain') {
        this.problems.push(`${at}: preset "${name}" is a published shape, too big to pretrain here; use a ps-* preset, or name a checkpoint folder under "checkpoints"`);
        return null;
      }
      return { config: preset.config, checkpoint: null };
    }
    const at2 = `checkpoints.${name}`;
    // A checkpoint named after a published shape must have that shape.
    const shape = entry.shape ?? (isShapePreset(name) ? name : undefined);
    if (shape !== undefined && !isShapePreset(shape) && !isPreset(shape)) {
      this.problems.push(`${at2}.shape = ${JSON.stringify(shape)}: ${unknownNameMessage('preset', shape, presetNames())}`);
      return null;
    }
    if (!existsSync(entry.path) && this.allowMissingCheckpoints && shape !== undefined) {
      this.missingCheckpoints.push(`${at2}.path = ${JSON.stringify(entry.path)}: checkpoint folder not found`);
      return { config: findPreset(shape).config, checkpoint: { name, info: null } };
    }
    const { info, problems } = inspectCheckpoint(name, { ...entry, shape }, at2);
    if (info === null) {
      this.problems.push(...problems);
      return null;
    }
    return { config: info.config, checkpoint: { name, info } };
  }

  /** A generated task or a dataset name; null (with a problem recorded once) when it is not usable. */
  task(name: string, at: string, defaultSizes: Record<'train' | 'dev' | 'test', SplitCap>): TaskSourceRef | null {
    if (this.tasks.has(name)) return this.tasks.get(name) ?? null;
    const source = this.resolveTask(name, at, defaultSizes);
    this.tasks.set(name, source);
    return source;
  }

  private resolveTask(name: string, at: string, defaultSizes: Record<'train' | 'dev' | 'test', SplitCap>): TaskSourceRef | null {
    const entry = this.document.datasets?.[name];
    if (entry === undefined) {
      if (TASK_NAMES.includes(name)) return { dataset: null };
      this.problems.push(`${at}: ${unknownNameMessage('task', name, [...TASK_NAMES, ...Object.keys(this.document.datasets ?? {})])}`);
      return null;
    }
    if (this.missingData.has(name)) return null;
    const { dataset, problems } = resolveDataset(name, entry, defaultSizes, `datasets.${name}`);
    if (dataset === null) {
      this.problems.push(...problems);
      return null;
    }
    try {
      const task = loadFileTask(dataset);
      const source = task.source as NonNullable<typeof task.source>;
      const sizes = { train: task.splits.train.length, dev: task.splits.dev.length, test: task.splits.test.length };
      const bytes = [...task.splits.train, ...task.splits.dev, ...task.splits.test].map((e) => Buffer.byteLength(e.input));
      const inputBytes = { mean: bytes.reduce((sum, b) => sum + b, 0) / bytes.length, max: Math.max(...bytes) };
      return { dataset: { resolved: dataset, info: { name, fingerprint: datasetFingerprint(dataset, source), source, sizes, inputBytes } } };
    } catch (error) {
      if (error instanceof DatasetLoadError) this.problems.push(`datasets.${name}: ${error.message}`);
      else this.problems.push(`datasets.${name}: ${(error as Error).message.replace(/^dataset "[^"]*": /, '')}`);
      return null;
    }
  }

  /** The checkpoints and datasets in use, for run.json and the worker. */
  checkpoints(): CheckpointInfo[] {
    return [...this.models.values()].flatMap((m) => (m?.checkpoint?.info ? [m.checkpoint.info] : []));
  }

  datasets(): DatasetInfo[] {
    return [...this.tasks.values()].flatMap((t) => (t?.dataset ? [t.dataset.info] : []));
  }
}

function presetNames(): string[] {
  return PRESETS.map((preset) => preset.name);
}

function isPreset(name: string): boolean {
  try {
    findPreset(name);
    return true;
  } catch {
    return false;
  }
}

function isShapePreset(name: string): boolean {
  return isPreset(name) && findPreset(name).kind === 'shape';
}
