/**
 * Which trials the runner packs together (experiments/run/packed_trials.ts trains them): trials of one
 * frozen model, task, data and schedule (steps, evaluation interval) whose methods declare packing with
 * the same positions before the real tokens. A pack holds at most `maxRows` rows per step (the members'
 * batch sizes added); the trials of a group are split into packs of near-equal size, at least as many as
 * there are workers (while there are trials to share), so that packing never leaves a core idle.
 */
import { getMethod } from '../../src/adapt/peft.js';
import { packingPositions, packingProblem } from '../../src/adapt/packed.js';
import type { ModelConfig } from '../../src/model/config.js';
import type { PlannedTrial } from '../plan/spec.js';

/** Rows per packed step when the experiment and the command line say nothing: batch 64 was where the CPU gain was measured. */
export const DEFAULT_PACK_ROWS = 64;

export interface PackingOptions {
  /** Most rows per packed step; a trial whose batch alone reaches it trains alone; ≤ 1 turns packing off. */
  maxRows: number;
  /** Workers that run packs side by side. */
  workers: number;
  /** The model config a trial's frozen model has (its preset's or its checkpoint's). */
  modelConfig: (trial: PlannedTrial) => ModelConfig;
}

/** What trials must share to be packed, or null for a trial that trains alone. */
export function packGroup(trial: PlannedTrial, config: ModelConfig): string | null {
  const method = getMethod(trial.config.method);
  if (packingProblem(method, config, trial.config.options) !== null || trial.config.training.steps === 0) return null;
  const { preset, profile, pretrainSeed, modelId, control, checkpoint, task, data, dataset, training } = trial.config;
  const positions = packingPositions(method, config, trial.config.options);
  return JSON.stringify([preset, profile, pretrainSeed, modelId, control ?? false, checkpoint ?? null, task, data, dataset ?? null, training.steps, training.evalEvery, positions.input, positions.attention]);
}

/** The trials as jobs: packs (in the order of their first trial) and single trials, every trial once. */
export function packTrials(trials: readonly PlannedTrial[], options: PackingOptions): PlannedTrial[][] {
  const jobs: PlannedTrial[][] = [];
  const groups = new Map<string, PlannedTrial[]>();
  const slots = new Map<string, number>();
  for (const trial of trials) {
    const group = options.maxRows > 1 && trial.config.training.batchSize < options.maxRows ? packGroup(trial, options.modelConfig(trial)) : null;
    if (group === null) {
      jobs.push([trial]);
      continue;
    }
    if (!groups.has(group)) {
      groups.set(group, []);
      slots.set(group, jobs.length);
      jobs.push([]); // the group's packs go here
    }
    (groups.get(group) as PlannedTrial[]).push(trial);
  }
  const packsOf = new Map<number, PlannedTrial[][]>();
  for (const [group, members] of groups) packsOf.set(slots.get(group) as number, splitGroup(members, options));
  return jobs.flatMap((job, i) => (packsOf.get(i) ?? [job]));
}

/** One group's trials in packs of at most maxRows rows and near-equal size, at least min(workers, trials) of them. */
function splitGroup(members: readonly PlannedTrial[], options: PackingOptions): PlannedTrial[][] {
  const rows = members.reduce((sum, trial) => sum + trial.config.training.batchSize, 0);
  for (let count = Math.max(Math.ceil(rows / options.maxRows), Math.min(Math.max(1, options.workers), members.length)); ; count++) {
    // Consecutive runs of floor or ceil(n / count) trials; one more pack while any exceeds the cap.
    const packs = Array.from({ length: count }, (_, p) => members.slice(Math.floor((p * members.length) / count), Math.floor(((p + 1) * members.length) / count)));
    if (count >= members.length || packs.every((pack) => pack.reduce((sum, trial) => sum + trial.config.training.batchSize, 0) <= options.maxRows)) return packs;
  }
}
