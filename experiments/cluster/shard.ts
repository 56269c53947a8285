/**
 * Sharding: `peftscale experiment FILE --shard I/N` runs a deterministic share of an experiment's trials,
 * so that N processes (a Slurm job array, or N machines) over one shared trial cache run every trial
 * exactly once between them.
 *
 * The partition is computed from the whole planned trial list, never from what is cached: every shard,
 * whenever it starts, computes the same partition, so two shards never run the same trial even when one
 * starts after another has finished some of its trials. A shard then skips the trials of its share that
 * are already cached (a resubmitted shard recomputes only its unfinished trials).
 *
 * Balance: trials are dealt largest estimated cost first to the shard with the least estimated work so
 * far (longest-processing-time first; ties go to the lower shard, equal costs in key order), which keeps
 * the longest shard within one trial of the best possible for these estimates.
 */
import { planParameters } from '../../src/adapt/adapted.js';
import { countParameters, modelParameterSpecs } from '../../src/model/params.js';
import { getMethod } from '../../src/adapt/peft.js';
import type { RunPlan } from '../run/runner.js';
import type { PlannedTrial } from '../plan/spec.js';
import { TYPICAL_EXAMPLE_TOKENS } from '../plan/estimate.js';

/** Shard `index` (1-based, as Slurm's `--array=1-N` numbers its tasks) of `count`. */
export interface Shard {
  index: number;
  count: number;
}

/** Parses "I/N" (1 ≤ I ≤ N); a bad value is an error naming the flag, the value and what is allowed. */
export function parseShard(text: string, flag = '--shard'): Shard {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const allowed = 'I/N with integers 1 ≤ I ≤ N (e.g. 2/8: the second of eight shards)';
  if (match === null) throw new Error(`${flag} = ${JSON.stringify(text)}: allowed: ${allowed}`);
  const index = Number(match[1]);
  const count = Number(match[2]);
  if (!Number.isSafeInteger(count) || count < 1 || index < 1 || index > count) throw new Error(`${flag} = ${JSON.stringify(text)}: allowed: ${allowed}`);
  return { index, count };
}

/**
 * A shard count must not exceed the trials it shares: an empty shard is a mistake (and a count of 1e9
 * would allocate a load per shard). Checked before any partition is computed; `what` names the flag.
 */
export function checkShardCount(count: number, trials: number, what: string): void {
  if (!Number.isSafeInteger(count) || count < 1 || count > trials) {
    throw new Error(`${what}: ${count} shard(s) for ${trials} trial(s): allowed: 1 to ${trials} shards (one trial at least in each)`);
  }
}


/**
 * The estimated cost of a trial in base-parameter × token units: a forward and backward pass (about 3×
 * a forward) over every training token, when the method trains anything, and a forward pass over dev at
 * every evaluation and over test once. Extra positions a method adds (a prompt's `length`) count as
 * tokens. Only the ratios between trials matter: it balances shards, it predicts no time.
 */
export function estimateTrialCost(trial: Pick<PlannedTrial, 'config' | 'modelConfig'>): number {
  const { config, modelConfig } = trial;
  const parameters = countParameters(modelParameterSpecs(modelConfig));
  const method = getMethod(config.method);
  const trains = planParameters(modelConfig, method, config.options).trainable > 0;
  const length = config.options.length;
  const positions = TYPICAL_EXAMPLE_TOKENS + (typeof length === 'number' ? length : 0);
  const { steps, batchSize, evalEvery } = config.training;
  const trainTokens = trains ? steps * batchSize * positions : 0;
  const evaluations = trains ? Math.floor(steps / Math.max(1, evalEvery)) + 1 : 1;
  const evalTokens = (evaluations * config.data.dev + config.data.test) * positions;
  return parameters * (3 * trainTokens + evalTokens);
}

/** The shard (1-based) of every trial key: the whole partition. */
export function partitionTrials(trials: readonly PlannedTrial[], count: number, what = 'shard count'): Map<string, number> {
  checkShardCount(count, trials.length, what);
  const costed = trials.map((trial) => ({ key: trial.key, cost: estimateTrialCost(trial) }));
  // Largest first; equal costs in key order, so the order (and the partition) never depends on file order.
  costed.sort((a, b) => b.cost - a.cost || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const load = new Array<number>(count).fill(0);
  const assignment = new Map<string, number>();
  for (const { key, cost } of costed) {
    let best = 0;
    for (let shard = 1; shard < count; shard++) if (load[shard] < load[best]) best = shard;
    load[best] += cost;
    assignment.set(key, best + 1);
  }
  return assignment;
}

/** The estimated work of each shard (index 0 is shard 1), for the plan's printout and the tests. */
export function shardLoads(trials: readonly PlannedTrial[], count: number): number[] {
  const assignment = partitionTrials(trials, count);
  const load = new Array<number>(count).fill(0);
  for (const trial of trials) load[(assignment.get(trial.key) as number) - 1] += estimateTrialCost(trial);
  return load;
}

/** A shard's part of a plan: its trials, those of them cached, and those it still has to run. */
export function shardPlan(plan: RunPlan, shard: Shard): RunPlan {
  const assignment = partitionTrials(plan.trials, shard.count, `--shard ${shard.index}/${shard.count}`);
  const trials = plan.trials.filter((trial) => assignment.get(trial.key) === shard.index);
  const keys = new Set(trials.map((trial) => trial.key));
  return {
    trials,
    cached: new Map([...plan.cached].filter(([key]) => keys.has(key))),
    toRun: plan.toRun.filter((trial) => keys.has(trial.key)),
  };
}
