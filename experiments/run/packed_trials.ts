/**
 * Packed trials: trials of one frozen model and task whose methods declare packing train together, one
 * batch per step holding each trial's own batch on its own rows (src/adapt/packed.ts,
 * packedTrainStep). A sweep over seeds, prompt lengths and inits then costs a few large steps instead of
 * many small ones. Everything but the step is each trial's own (experiments/run/trial.ts TrialRun): init,
 * batch order, optimiser state, evaluations and checkpoint choice, so the records are those of training
 * alone within float tolerance, plus a `packing` field naming the pack.
 *
 * Trials pack only when their rows have the same shape: the same positions before the real tokens (the
 * method's declaration, checked against the hooks) and the same row length. Others run in their own pack
 * or alone, one after another.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { getMethod } from '../../src/adapt/peft.js';
import { packingPositions, packingProblem } from '../../src/adapt/packed.js';
import type { TrialConfig, TrialRecord } from '../../src/results/results.js';
import { packedTrainStep, trainStep } from '../../src/training/train.js';
import { trainingBatch, TrialRun, type TrialOptions, type TrialResources } from './trial.js';

/** One trial of a pack: what {@link runTrial} takes. */
export interface PackedTrialJob {
  config: TrialConfig;
  key: string;
  sweeps: string[];
  resources: TrialResources;
  options?: TrialOptions;
}

/**
 * Runs the trials, packing those that can share steps; returns, in the jobs' order, each record or the
 * error that stopped that trial (a trial that fails to start fails alone; an error in a packed step fails
 * its pack). `onRecord` hears each record as soon as its trial finishes.
 */
export function runPackedTrials(jobs: readonly PackedTrialJob[], onRecord?: (record: TrialRecord, index: number) => void): (TrialRecord | Error)[] {
  const results: (TrialRecord | Error | undefined)[] = new Array(jobs.length).fill(undefined);
  const started: { run: TrialRun; index: number; layout: string | null }[] = [];
  jobs.forEach((job, index) => {
    try {
      const run = TrialRun.start(job.config, job.key, job.sweeps, job.resources, job.options);
      started.push({ run, index, layout: layoutOf(run, job) });
    } catch (error) {
      results[index] = asError(error);
    }
  });
  // Packs by layout, in the order their first trial came; unpackable trials each on their own.
  const packs = new Map<string, typeof started>();
  started.forEach((entry, n) => {
    const id = entry.layout ?? `alone:${n}`;
    packs.set(id, [...(packs.get(id) ?? []), entry]);
  });
  for (const members of packs.values()) {
    try {
      trainPack(members.map((m) => m.run), jobs[members[0].index].resources);
      for (const { run, index } of members) {
        const keys = members.map((m) => m.run.key);
        const rows = members.reduce((sum, m) => sum + m.run.config.training.batchSize, 0);
        const record = run.finish(members.length === 1 ? undefined : { size: members.length, keys, rows });
        results[index] = record;
        onRecord?.(record, index);
      }
    } catch (error) {
      for (const { index } of members) results[index] ??= asError(error);
    } finally {
      for (const { run } of members) run.dispose();
    }
  }
  return results.map((result) => result ?? new Error('runPackedTrials: no result'));
}

/**
 * What a trial's rows must share with a pack's other rows, or null when its trials train alone: the
 * frozen model, the task and its tokenizer, the positions before the real tokens and the row length.
 */
function layoutOf(run: TrialRun, job: PackedTrialJob): string | null {
  const method = getMethod(job.config.method);
  const { base } = job.resources;
  if (!run.wantsStep || packingProblem(method, base.config, run.model.options) !== null) return null;
  const positions = packingPositions(method, base.config, run.model.options);
  if (positions.input !== run.virtual || positions.attention !== run.prefixPositions) {
    throw new Error(`method "${method.name}" declares ${positions.input} input and ${positions.attention} key/value positions for packing, its hooks put ${run.virtual} and ${run.prefixPositions}: the declaration (packing.positions) is wrong`);
  }
  return JSON.stringify([job.resources.task.name, job.resources.tokenizer.name, positions.input, positions.attention, run.rowLength]);
}

/** Trains a pack's trials step by step until each is done: one packed step for those still training. */
function trainPack(runs: readonly TrialRun[], resources: TrialResources): void {
  const base = resources.base;
  for (const run of runs) if (run.model.base !== base) throw new Error(`trial ${run.key}: a pack shares one frozen model`);
  for (;;) {
    const active = runs.filter((run) => run.wantsStep);
    if (active.length === 0) return;
    const batches = active.map((run) => run.nextBatch());
    const [tokens, mask] = trainingBatch(batches.flat(), active[0].rowLength, resources.tokenizer);
    const started = performance.now();
    let losses: number[];
    try {
      // A trial that trains alone takes the plain step, exactly as runTrial does.
      losses =
        runs.length === 1
          ? [trainStep(active[0].model, active[0].optimizer as tf.Optimizer, tokens, mask)]
          : packedTrainStep(active.map((run, g) => ({ model: run.model, optimizer: run.optimizer as tf.Optimizer, rows: batches[g].length })), tokens, mask);
    } finally {
      tokens.dispose();
      mask.dispose();
    }
    const seconds = (performance.now() - started) / 1000;
    const rows = batches.reduce((sum, batch) => sum + batch.length, 0);
    // Each trial's share of the step: its rows over the pack's, so the shares add up to the wall time.
    active.forEach((run, g) => run.completeStep(losses[g], (seconds * batches[g].length) / rows));
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
