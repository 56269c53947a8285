/**
 * Re-scores a finished trial from its kept adapter (`experiment --import-trials DIR --verify`): the adapter
 * folder is loaded onto the trial's frozen model and dev and test are scored as the trial scored them
 * (the same encoding, the record's context budget, batch size and label-word scoring: trial_scoring.ts), so
 * where the record was produced the counts of correct examples come out the same. Runs in a worker (worker.ts).
 */
import { loadAdapter } from '../../src/io/adapter_load.js';
import type { GPT2 } from '../../src/model/model.js';
import type { TrialConfig } from '../../src/results/results.js';
import type { Tokenizer } from '../../src/io/tokenizer.js';
import type { Task } from '../../datasets/tasks.js';
import { encodedSplit, evaluateAccuracy, inputBudget, virtualPositions, type ScoringModel } from './trial_scoring.js';

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
  /** The input budget re-scored with (the record's) and the one today's code computes: they differ when the code changed. */
  budget: { recorded: number; now: number };
}

/** The batch size a trial evaluates with (TrialOptions.evalBatchSize's default): batches change float sums, so it is the same here. */
const TRIAL_EVAL_BATCH = 64;

/**
 * Loads `adapterDir` onto `base` and counts the correct dev and test examples of `task`, inputs fitted to
 * the record's own budget (`recorded`, its inputs.maxInputTokens; null: today's): a later change to how the budget
 * is computed must not make an honest record look wrong. The adapter must be one of the trial's method
 * whose metadata names the trial's key, as the trial cache's do: a folder without it (hand-copied, PEFT's
 * own) would otherwise pass as the trial's and be copied into the cache as its adapter.
 */
export async function rescoreAdapter(adapterDir: string, key: string, config: TrialConfig, recorded: number | null, base: GPT2, tokenizer: Tokenizer, task: Task): Promise<Rescored> {
  const started = performance.now();
  const adapter = await loadAdapter(adapterDir, base);
  try {
    if (adapter.method.name !== config.method) throw new Error(`${adapterDir}: an adapter of method "${adapter.method.name}"; trial ${key} is of method "${config.method}": allowed: the trial's own adapter`);
    const owner = adapter.metadata.key;
    if (owner !== key) {
      const found = typeof owner === 'string' ? `the adapter of trial ${owner} (its metadata "key")` : `an adapter whose metadata names no trial key (found ${JSON.stringify(adapter.metadata)})`;
      throw new Error(`${adapterDir}: ${found}; allowed: trial ${key}'s own adapter, as the trial cache keeps it in <key>.adapter/ (metadata "key": "${key}")`);
    }
    const hooks = adapter.hooks;
    const model: ScoringModel = { base, logitsAt: (tokens, positions, training) => base.logitsAt(tokens, positions, { hooks, training }) };
    const positions = virtualPositions(() => hooks, base.config);
    const virtual = positions.input;
    const now = inputBudget(task, tokenizer, base.config.contextLength, positions.input + positions.attention);
    const recordedBudget = recorded ?? now; // records from before inputs were recorded
    if (!Number.isInteger(recordedBudget) || recordedBudget < 1) throw new Error(`inputs.maxInputTokens = ${recordedBudget} recorded: allowed: a positive integer (the trial's input budget; ${now} now)`);
    const count = (split: 'dev' | 'test'): SplitCount => {
      const examples = encodedSplit(task, split, tokenizer, recordedBudget);
      // A budget recorded above today's is harmless while every input is short; one that ran past the
      // context now cannot be scored, and the code, not the record, is the likely cause.
      const longest = Math.max(0, ...examples.map((e) => e.context.length));
      if (longest > now) {
        throw new Error(`inputs.maxInputTokens = ${recordedBudget} recorded, ${now} now: the code that sizes inputs changed since the record was written (or the field was edited); a ${split} input of ${longest} tokens does not fit the context of ${base.config.contextLength} with ${positions.input + positions.attention} virtual position(s) now: allowed: inputs of at most ${now} tokens`);
      }
      const accuracy = evaluateAccuracy(model, task, examples, TRIAL_EVAL_BATCH, tokenizer, virtual);
      return { correct: Math.round(accuracy * examples.length), examples: examples.length };
    };
    const dev = count('dev');
    const test = count('test');
    return { dev, test, seconds: (performance.now() - started) / 1000, budget: { recorded: recordedBudget, now } };
  } finally {
    adapter.dispose();
  }
}
