/**
 * Which trials the runner packs together (experiments/run/packed_trials.ts trains them): trials of one
 * frozen model, task, data and schedule (steps, evaluation interval) whose methods declare packing with
 * the same positions before the real tokens. A pack holds at most `maxRows` rows per step (the members'
 * batch sizes added); a group's trials go into as few packs as that allows, of near-equal size, and groups
 * are split further only while the run has fewer jobs than workers (so that packing leaves no core idle).
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
  // As few packs as the cap allows; more (splitting the largest) only while there are fewer jobs than workers.
  const counts = new Map([...groups].map(([group, members]) => [group, Math.ceil(rowsOf(members) / options.maxRows)]));
  let total = jobs.length - groups.size + [...counts.values()].reduce((a, b) => a + b, 0);
  while (total < options.workers) {
    const splittable = [...groups].filter(([group, members]) => (counts.get(group) as number) < members.length);
    if (splittable.length === 0) break;
    const [largest] = splittable.sort(([a, x], [b, y]) => y.length / (counts.get(b) as number) - x.length / (counts.get(a) as number))[0];
    counts.set(largest, (counts.get(largest) as number) + 1);
    total += 1;
  }
  const packsOf = new Map<number, PlannedTrial[][]>();
  for (const [group, members] of groups) packsOf.set(slots.get(group) as number, splitGroup(members, counts.get(group) as number, options.maxRows));
  return jobs.flatMap((job, i) => (packsOf.get(i) ?? [job]));
}

function rowsOf(trials: readonly PlannedTrial[]): number {
  return trials.reduce((sum, trial) => sum + trial.config.training.batchSize, 0);
}

/** One group's trials in at least `count` packs of near-equal size and at most maxRows rows each. */
function splitGroup(members: readonly PlannedTrial[], count: number, maxRows: number): PlannedTrial[][] {
  for (; ; count++) {
    // Consecutive runs of floor or ceil(n / count) trials; one more pack while any exceeds the cap.
    const packs = Array.from({ length: count }, (_, p) => members.slice(Math.floor((p * members.length) / count), Math.floor(((p + 1) * members.length) / count)));
    if (count >= members.length || packs.every((pack) => rowsOf(pack) <= maxRows)) return packs;
  }
}
