/**
 * Re-scores a finished trial from its kept adapter (`experiment --import-trials DIR --verify`): the adapter
 * folder is loaded onto the trial's frozen model and dev and test are scored as the trial scored them
 * (the same encoding, context budget, batch size and label-word scoring: trial.ts), so on the backend that
 * produced the record the counts of correct examples come out the same. Runs in a worker (worker.ts).
 */
import { loadAdapter } from '../../src/io/adapter_io.js';
import type { GPT2 } from '../../src/model/model.js';
import type { TrialConfig } from '../../src/results/results.js';
import type { Tokenizer } from '../../src/io/tokenizer.js';
import type { Task } from '../../datasets/tasks.js';
import { encodedSplit, evaluateAccuracy, inputBudget, virtualPositions, type ScoringModel } from './trial.js';

/** Correct examples of a split, as a re-scoring counts them. */
export interface SplitCount {
  correct: number;
  examples: number;
}

/** What re-scoring one trial's adapter gave. */
export interface Rescored {
  dev: SplitCount;
  test: SplitCount;
  seconds: number;
}

/** The batch size a trial evaluates with (TrialOptions.evalBatchSize's default): batches change float sums, so it is the same here. */
const TRIAL_EVAL_BATCH = 64;

/**
 * Loads `adapterDir` onto `base` and counts the correct dev and test examples of `task`. The adapter must
 * be one of the trial's method, and (when its metadata names one, as the trial cache's do) of the trial's key.
 */
export async function rescoreAdapter(adapterDir: string, key: string, config: TrialConfig, base: GPT2, tokenizer: Tokenizer, task: Task): Promise<Rescored> {
  const started = performance.now();
  const adapter = await loadAdapter(adapterDir, base);
  try {
    if (adapter.method.name !== config.method) throw new Error(`${adapterDir}: an adapter of method "${adapter.method.name}"; trial ${key} is of method "${config.method}": allowed: the trial's own adapter`);
    const owner = adapter.metadata.key;
    if (typeof owner === 'string' && owner !== key) throw new Error(`${adapterDir}: the adapter of trial ${owner} (its metadata "key"); allowed: trial ${key}'s own adapter`);
    const hooks = adapter.hooks;
    const model: ScoringModel = { base, logitsAt: (tokens, positions, training) => base.logitsAt(tokens, positions, { hooks, training }) };
    const virtual = virtualPositions(() => hooks, base.config);
    const budget = inputBudget(task, tokenizer, base.config.contextLength, virtual);
    const count = (split: 'dev' | 'test'): SplitCount => {
      const examples = encodedSplit(task, split, tokenizer, budget);
      const accuracy = evaluateAccuracy(model, task, examples, TRIAL_EVAL_BATCH, tokenizer, virtual);
      return { correct: Math.round(accuracy * examples.length), examples: examples.length };
    };
    const dev = count('dev');
    const test = count('test');
    return { dev, test, seconds: (performance.now() - started) / 1000 };
  } finally {
    adapter.dispose();
  }
}
