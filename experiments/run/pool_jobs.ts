/**
 * The runner pool's jobs in words and messages: the message a worker gets for trials (one or a pack), how
 * a trial, a job and a finished trial read on the console, and the ensemble groups formed after the trials.
 */
import { getMethod } from '../../src/adapt/peft.js';
import type { TrialRecord } from '../../src/results/results.js';
import { optionsLabel } from '../../src/results/results.js';
import { formatDuration } from '../../src/util/progress.js';
import type { PlannedTrial } from '../plan/spec.js';
import { canonicalJson } from '../plan/spec.js';
import type { EnsembleGroup, MainMessage } from './worker_protocol.js';

/** The job message of trials (one, or a pack): what the worker needs, each trial's corpus frequent tokens included. */
export function trialMessage(trials: readonly PlannedTrial[], modelDir: string, trialCacheDir: string, frequentTokens: ReadonlyMap<string, readonly number[]>): MainMessage {
  return {
    type: 'trials',
    trials: trials.map((planned) => {
      const tokens = frequentTokens.get(planned.key);
      if (tokens === undefined) throw new Error(`runner: no token frequencies for trial ${planned.key} (computed for the trials to run only)`);
      return { planned, frequentTokens: tokens };
    }),
    modelDir,
    trialCacheDir,
  };
}

/** A job in a few words: "ps-mini prompt-tuning verify s0", or "ps-mini pack of 8 (prompt-tuning)" for a pack. */
export function describeJob(trials: readonly PlannedTrial[], withSeed = true): string {
  const { preset, method, task, seed } = trials[0].config;
  if (trials.length === 1) return withSeed ? `${preset} ${method} ${task} s${seed}` : `${preset} ${method}`;
  return `${preset} pack of ${trials.length} (${[...new Set(trials.map((t) => t.config.method))].join(', ')})`;
}

/** A trial in a line: "ps-mini prompt-tuning init=class-label length=20 verify (64 train) seed 0". */
export function describeTrial(trial: PlannedTrial): string {
  const { preset, method, options, task, seed, data } = trial.config;
  const label = optionsLabel(options);
  return `${preset} ${method}${label === '' ? '' : ` ${label}`} ${task} (${data.train} train) seed ${seed}`;
}

/**
 * Trials of a method with a learned prompt (its descriptor's learnedPrompt: prompt tuning) that differ
 * only in their seed and all finished (not diverged), two or more per configuration: the ensembles of
 * Lester et al. Table 3.
 */
export function ensembleGroups(trials: readonly PlannedTrial[], records: ReadonlyMap<string, TrialRecord>): EnsembleGroup[] {
  const groups = new Map<string, PlannedTrial[]>();
  for (const trial of trials) {
    if (getMethod(trial.config.method).learnedPrompt === undefined || records.get(trial.key)?.status !== 'finished') continue;
    const id = canonicalJson({ ...trial.config, seed: null });
    groups.set(id, [...(groups.get(id) ?? []), trial]);
  }
  return [...groups]
    .filter(([, members]) => members.length >= 2)
    .map(([id, members]) => ({ id, trials: [...members].sort((a, b) => a.config.seed - b.config.seed) }));
}

/** "test 0.733 (dev 0.750 at step 150; majority 0.500), 41s, 1.2k tok/s". */
export function formatTrialResult(record: TrialRecord, blind = false): string {
  const diverged = record.divergedAt === null ? '' : `DIVERGED at step ${record.divergedAt.step} (loss ${record.divergedAt.loss}); best checkpoint before it: `;
  // Blind: no dev or test score until the run ends (its records and report have them all).
  const scores = blind ? 'scores hidden until the run ends' : `test ${record.test.accuracy.toFixed(3)} (dev ${record.dev.accuracy.toFixed(3)} at step ${record.dev.bestStep}; majority ${record.test.majority.toFixed(3)})`;
  return (
    `${diverged}${scores}, ` +
    `${formatDuration(record.timing.trainSeconds + record.timing.evalSeconds)}` +
    (record.timing.tokensPerSecond > 0 ? `, ${Math.round(record.timing.tokensPerSecond).toLocaleString('en-US')} tok/s` : '') +
    // Inputs cut to fit the context change what the model saw: said on the line, counted in the record.
    (record.inputs !== undefined && record.inputs.truncated.test > 0 ? `; ${record.inputs.truncated.test}/${record.test.examples} test inputs truncated to ${record.inputs.maxInputTokens} tokens` : '')
  );
}
