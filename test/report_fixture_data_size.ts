/**
 * The report fixture with a data-size sweep (a sweep with trainExamples) added: prompt tuning and full
 * model tuning on the fixture's largest model and first task, at 32 and 512 training examples, three
 * seeds, with accuracies the caller chooses (so a test knows every gap by hand).
 */
import { summarize } from '../src/results/results.js';
import type { LoadedResults } from '../reports/load.js';
import { fixtureLoaded } from './report_fixtures.js';

export const DATA_SIZES = [32, 512];
export const DATA_SEEDS = [0, 1, 2];

/** The fixture plus the data-size trials; `accuracy` gives each one's test accuracy (chance is 0.5). */
export function fixtureWithDataSize(accuracy: (method: string, train: number, seed: number) => number): LoadedResults {
  const results = fixtureLoaded();
  const largest = [...results.records].sort((a, b) => b.parameters.base - a.parameters.base)[0].config.preset;
  const task = results.records[0].config.task;
  const template = (method: string) => {
    const found = results.records.find((r) => r.config.method === method && r.config.preset === largest && r.config.task === task && r.status === 'finished');
    if (found === undefined) throw new Error(`the fixture has no finished ${method} trial on ${largest}, ${task}`);
    return found;
  };
  const extra = ['prompt-tuning', 'full'].flatMap((method) =>
    DATA_SIZES.flatMap((train) =>
      DATA_SEEDS.map((seed) => {
        const r = template(method);
        return { ...r, key: `data-${method}-${train}-${seed}`, sweeps: ['data'], config: { ...r.config, seed, data: { ...r.config.data, train } }, test: { ...r.test, accuracy: accuracy(method, train, seed), majority: 0.5 } };
      }),
    ),
  );
  const records = [...results.records, ...extra];
  return { ...results, records, summary: summarize(records, 'full'), manifest: { ...results.manifest, sweeps: [...results.manifest.sweeps, { name: 'data', figure: 'data-size', description: 'training-set sizes' }] } };
}

/** The accuracies the tests use: full 0.9; prompt tuning 0.6 − 0.01·seed at 32 examples and 0.88 − 0.012·seed at 512. */
export function promptTuningLagsWithFewExamples(method: string, train: number, seed: number): number {
  return method === 'full' ? 0.9 : train === 32 ? 0.6 - 0.01 * seed : 0.88 - 0.012 * seed;
}
