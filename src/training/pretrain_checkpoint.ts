/**
 * Pretraining's files: the resumable checkpoints of a run in progress and the finished model folder.
 * Model weights and config.json go through src/io/checkpoint.ts (saveCheckpoint / loadCheckpoint), the
 * optimiser's moments through its saveTensors / loadWeights; the pointer and state files are JSON.
 *
 * Checkpoints, every `checkpointEvery` steps and at the last step:
 *
 *     checkpointDir/latest.json              {"step": 200, "folder": "step-00000200", ...}
 *     checkpointDir/step-00000200/model.safetensors, config.json    (saveCheckpoint)
 *                                /optimizer.safetensors             (AdamW m and v, "m.NAME", "v.NAME")
 *                                /state.json                        (step, seed, schedule, data hash, losses)
 *
 * A step folder is written completely under a temporary name, renamed, and only then does latest.json
 * (written atomically) point to it; older step folders are deleted after that. A kill at any moment
 * therefore leaves latest.json pointing at a complete folder (or no latest.json: a fresh start). Leftover
 * temporary folders are ignored and removed. A folder that latest.json points to but that is damaged (which
 * a kill cannot cause) is an error naming the file and telling the user to delete the checkpoint folder.
 *
 * A finished model folder is a loadable checkpoint plus pretrain.json, written last.
 */
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import { loadCheckpoint, loadWeights, saveCheckpoint, saveTensors, type CheckpointMetadata, type JsonValue } from '../io/checkpoint.js';
import type { ModelConfig } from '../model/config.js';
import type { GPT2 } from '../model/model.js';
import type { PretrainSchedule } from './pretrain_schedule.js';
import { writeFileAtomic } from '../io/atomic_file.js';

/** Identifies the files of a pretraining checkpoint; bump the version when their layout changes. */
export const PRETRAIN_STATE_FORMAT = 'peftscale-pretrain-state';
export const PRETRAIN_STATE_VERSION = 1;
export const LATEST_FILE = 'latest.json';
export const STATE_FILE = 'state.json';
export const OPTIMIZER_FILE = 'optimizer.safetensors';
/** Written last into a finished model folder: its presence means the folder is complete. */
export const PRETRAINED_FILE = 'pretrain.json';

/** state.json of a step folder. */
export interface TrainingState {
  format: typeof PRETRAIN_STATE_FORMAT;
  formatVersion: number;
  step: number;
  seed: number;
  config: ModelConfig;
  schedule: PretrainSchedule;
  dataHash: string;
  lastLoss: number;
  smoothedLoss: number;
  trainingSeconds: number;
  lossCurve: [number, number][];
}

interface Latest {
  format: typeof PRETRAIN_STATE_FORMAT;
  formatVersion: number;
  step: number;
  folder: string;
}

function stepFolderName(step: number): string {
  return `step-${step.toString().padStart(8, '0')}`;
}

/** Writes the checkpoint of `state.step` (model, moments by "m.NAME" / "v.NAME", state) and commits it in latest.json. */
export async function writeTrainingCheckpoint(dir: string, model: GPT2, moments: ReadonlyMap<string, tf.Tensor>, state: TrainingState): Promise<void> {
  await mkdir(dir, { recursive: true });
  const folder = stepFolderName(state.step);
  const temporary = path.join(dir, `${folder}.partial-${process.pid}-${Date.now().toString(36)}`);
  await saveCheckpoint(temporary, model, { seed: state.seed, steps: state.step, purpose: 'pretraining checkpoint' });
  await saveTensors(path.join(temporary, OPTIMIZER_FILE), moments, { step: String(state.step) });
  await writeFileAtomic(path.join(temporary, STATE_FILE), `${JSON.stringify(state)}\n`);
  const final = path.join(dir, folder);
  await rm(final, { recursive: true, force: true });
  await rename(temporary, final);
  const latest: Latest = { format: PRETRAIN_STATE_FORMAT, formatVersion: PRETRAIN_STATE_VERSION, step: state.step, folder };
  // The commit point: until this rename, latest.json names the previous (complete) folder.
  await writeFileAtomic(path.join(dir, LATEST_FILE), `${JSON.stringify(latest)}\n`);
  await removeStaleFolders(dir, folder);
}

/** Removes step folders other than `keep` and leftovers of interrupted saves. */
async function removeStaleFolders(dir: string, keep: string | null): Promise<void> {
  for (const entry of await readdir(dir)) {
    if (entry !== keep && /^step-\d+(\.partial-.*)?$/.test(entry)) await rm(path.join(dir, entry), { recursive: true, force: true });
  }
}

/** A training checkpoint as loaded: the caller owns (and must dispose) the tensors. */
export interface SavedCheckpoint {
  state: TrainingState;
  weights: Map<string, tf.Tensor>;
  moments: Map<string, tf.Tensor>;
  dispose(): void;
}

function damaged(dir: string, what: string): Error {
  return new Error(`the pretraining checkpoint in ${dir} is damaged: ${what}. Delete ${dir} to start this pretraining over`);
}

/** The checkpoint latest.json names, or null when there is none (fresh start). Leftovers are cleaned up. */
export async function readLatestCheckpoint(dir: string): Promise<SavedCheckpoint | null> {
  let text: string;
  try {
    text = await readFile(path.join(dir, LATEST_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    // No commit yet: anything here is an interrupted first save.
    if (await exists(dir)) await removeStaleFolders(dir, null);
    return null;
  }
  let latest: Latest;
  try {
    latest = JSON.parse(text) as Latest;
  } catch {
    throw damaged(dir, `${LATEST_FILE} is not valid JSON`);
  }
  if (latest.format !== PRETRAIN_STATE_FORMAT || latest.formatVersion !== PRETRAIN_STATE_VERSION || typeof latest.folder !== 'string' || !/^step-\d+$/.test(latest.folder)) {
    throw damaged(dir, `${LATEST_FILE} is not a ${PRETRAIN_STATE_FORMAT} v${PRETRAIN_STATE_VERSION} pointer`);
  }
  await removeStaleFolders(dir, latest.folder);
  const folder = path.join(dir, latest.folder);
  let state: TrainingState;
  try {
    state = JSON.parse(await readFile(path.join(folder, STATE_FILE), 'utf8')) as TrainingState;
  } catch (error) {
    throw damaged(dir, `cannot read ${path.join(folder, STATE_FILE)} (${error instanceof Error ? error.message : String(error)})`);
  }
  if (state.format !== PRETRAIN_STATE_FORMAT || state.formatVersion !== PRETRAIN_STATE_VERSION || state.step !== latest.step) {
    throw damaged(dir, `${path.join(folder, STATE_FILE)} does not match ${LATEST_FILE} (step ${String(state.step)} vs ${latest.step})`);
  }
  let weights: Map<string, tf.Tensor>;
  try {
    const loaded = await loadCheckpoint(folder);
    weights = new Map(loaded.model.parameters());
  } catch (error) {
    throw damaged(dir, error instanceof Error ? error.message : String(error));
  }
  let moments: Map<string, tf.Tensor>;
  try {
    moments = (await loadWeights(path.join(folder, OPTIMIZER_FILE))).tensors;
  } catch (error) {
    for (const t of weights.values()) t.dispose();
    throw damaged(dir, error instanceof Error ? error.message : String(error));
  }
  const problems: string[] = [];
  for (const [name, tensor] of weights) {
    for (const slot of ['m', 'v']) {
      const moment = moments.get(`${slot}.${name}`);
      if (moment === undefined) problems.push(`${OPTIMIZER_FILE} lacks "${slot}.${name}"`);
      else if (moment.shape.join() !== tensor.shape.join()) problems.push(`${OPTIMIZER_FILE}: "${slot}.${name}" is [${moment.shape}], expected [${tensor.shape}]`);
    }
  }
  const dispose = (): void => {
    for (const t of weights.values()) t.dispose();
    for (const t of moments.values()) t.dispose();
  };
  if (problems.length > 0) {
    dispose();
    throw damaged(dir, problems.slice(0, 5).join('; '));
  }
  return { state, weights, moments, dispose };
}

async function exists(target: string): Promise<boolean> {
  try {
    await readdir(target);
    return true;
  } catch {
    return false;
  }
}

/** pretrain.json of a finished model folder: what was trained and how well. */
export interface PretrainedSummary {
  format: typeof PRETRAIN_STATE_FORMAT;
  formatVersion: number;
  /** 'pretrained', or 'control' for a never-trained model saved the same way. */
  kind: 'pretrained' | 'control';
  parameters: number;
  heldOutLoss: number;
  heldOutTokens: number;
  /** Free details (preset, seed, schedule, corpus fingerprint, backend, timings, ...). */
  details: { [key: string]: JsonValue };
}

/**
 * Writes a finished model folder: model.safetensors and config.json (loadable with loadCheckpoint), then
 * pretrain.json, atomically and last, so its presence means the folder is complete.
 */
export async function savePretrainedModel(dir: string, model: GPT2, summary: Omit<PretrainedSummary, 'format' | 'formatVersion'>, metadata: CheckpointMetadata = {}): Promise<PretrainedSummary> {
  await mkdir(dir, { recursive: true });
  // A stale marker must not vouch for new weights while they are being written.
  await rm(path.join(dir, PRETRAINED_FILE), { force: true });
  await saveCheckpoint(dir, model, { ...metadata, kind: summary.kind, heldOutLoss: summary.heldOutLoss });
  const full: PretrainedSummary = { format: PRETRAIN_STATE_FORMAT, formatVersion: PRETRAIN_STATE_VERSION, ...summary };
  await writeFileAtomic(path.join(dir, PRETRAINED_FILE), `${JSON.stringify(full, null, 2)}\n`);
  return full;
}

/**
 * The summary of a finished model folder, or null when it is not finished (no pretrain.json). With
 * `verify`, the model is loaded once to check its files; a finished folder whose files are damaged is an
 * error naming the folder (the marker is written last, so only outside damage causes that).
 */
export async function readPretrainedSummary(dir: string, options: { verify?: boolean } = {}): Promise<PretrainedSummary | null> {
  let text: string;
  try {
    text = await readFile(path.join(dir, PRETRAINED_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  let summary: PretrainedSummary;
  try {
    summary = JSON.parse(text) as PretrainedSummary;
  } catch {
    throw new Error(`${path.join(dir, PRETRAINED_FILE)} is not valid JSON: the model folder ${dir} is damaged; delete it to pretrain again`);
  }
  if (summary.format !== PRETRAIN_STATE_FORMAT || summary.formatVersion !== PRETRAIN_STATE_VERSION || typeof summary.heldOutLoss !== 'number') {
    throw new Error(`${path.join(dir, PRETRAINED_FILE)} is not a ${PRETRAIN_STATE_FORMAT} v${PRETRAIN_STATE_VERSION} summary: delete ${dir} to pretrain again`);
  }
  if (options.verify === true) {
    try {
      (await loadCheckpoint(dir)).model.dispose();
    } catch (error) {
      throw new Error(`the finished model in ${dir} is damaged (${error instanceof Error ? error.message : String(error)}); delete ${dir} to pretrain again`);
    }
  }
  return summary;
}
