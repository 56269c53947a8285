/**
 * The fixture run's hypotheses (one of each kind), recorded before its trials, for the Findings section
 * and the margin figure in report tests. Like the rest of the fixture, nothing here is measured.
 */
import { hypothesesHash, type HypothesesRecord, type Hypothesis } from '../src/results/hypotheses.js';
import { FIXTURE_PRESETS, FIXTURE_TASKS } from './report_fixture_shapes.js';

const PROMPT = { method: 'prompt-tuning', options: { length: 20, init: 'class-label' } };

export const FIXTURE_HYPOTHESES: Hypothesis[] = [
  { id: 'H1', statement: 'the gap to full tuning shrinks from the smallest to the largest size', kind: 'gap-shrinks', statistic: 't', method: PROMPT, baseline: { method: 'full' }, task: FIXTURE_TASKS[0], from: 'smallest', to: 'largest', figure: 'gap' },
  { id: 'H2', statement: 'prompt tuning on the largest model is above chance', kind: 'above-chance', statistic: 'bootstrap', method: PROMPT, task: FIXTURE_TASKS[0], at: FIXTURE_PRESETS[FIXTURE_PRESETS.length - 1], figure: 'scaling' },
  { id: 'H3', statement: 'the spread over prompt lengths shrinks with size', kind: 'effect-shrinks', statistic: 't', method: { method: 'prompt-tuning', options: { init: 'class-label' } }, task: FIXTURE_TASKS[0], option: 'length', values: [1, 20, 100], effect: 'spread', from: 'smallest', to: 'largest', figure: 'prompt-length' },
  { id: 'H5', statement: 'the recovered share rises with the zero-shot margin', kind: 'rank-correlation', statistic: 'bootstrap', method: PROMPT, baseline: { method: 'full' }, tasks: [...FIXTURE_TASKS], figure: 'margin' },
];

/** The record a run would have written when its plan was made (before `startedAt`). */
export function fixtureHypothesesRecord(startedAt: number): HypothesesRecord {
  return { hash: hypothesesHash(FIXTURE_HYPOTHESES), statedAt: new Date(startedAt - 60_000).toISOString(), git: { commit: '0123456789abcdef0123456789abcdef01234567', fileClean: true }, list: FIXTURE_HYPOTHESES };
}
