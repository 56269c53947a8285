import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { evaluateHypotheses, hypothesesHash, marginPoints, verdictOf, type Hypothesis } from './hypotheses.js';
import type { TrialRecord } from './results_record.js';
import type { PretrainedInfo } from './results_run.js';
import { averageRanks, bootstrapInterval, spearman } from './stats.js';

const SIZES: Record<string, number> = { small: 1_000, medium: 10_000, large: 100_000 };
const PT = { method: 'prompt-tuning', options: { length: 20, init: 'class-label' } };

/** The fields evaluation reads; the rest of a record does not enter any hypothesis. */
function record(preset: string, method: string, options: Record<string, string | number>, seed: number, accuracy: number, task = 't', majority = 0.25, train = 64): TrialRecord {
  return {
    status: 'finished',
    config: { preset, method, options, task, seed, data: { train } },
    parameters: { base: SIZES[preset] },
    test: { accuracy, majority, examples: 100 },
  } as unknown as TrialRecord;
}

/** Per seed 0..n-1 one record of each accuracy. */
function seeds(preset: string, method: string, options: Record<string, string | number>, accuracies: number[], task = 't'): TrialRecord[] {
  return accuracies.map((a, seed) => record(preset, method, options, seed, a, task));
}

// t(0.975, 2) = 4.302653: for three values with standard deviation s, the half-width is 4.302653 · s / √3.
const HALF_3 = (s: number): number => (4.302653 * s) / Math.sqrt(3);

describe('hypothesis evaluation, against hand computations', () => {
  it('above-chance: holds, does not hold and inconclusive by the one rule', () => {
    const h: Hypothesis = { id: 'A', statement: 's', kind: 'above-chance', statistic: 't', method: PT, task: 't', at: 'largest' };
    // accuracy − chance per seed: 0.10, 0.12, 0.14 → mean 0.12, s 0.02 → [0.0703, 0.1697]
    const holds = evaluateHypotheses([h], { records: seeds('large', 'prompt-tuning', PT.options, [0.35, 0.37, 0.39]), pretrained: [] })[0];
    assert.equal(holds.verdict, 'holds');
    assert.ok(Math.abs(holds.estimate - 0.12) < 1e-12);
    assert.ok(Math.abs(holds.low - (0.12 - HALF_3(0.02))) < 1e-6 && Math.abs(holds.high - (0.12 + HALF_3(0.02))) < 1e-6);
    // 0.15, 0.13, 0.11 → mean −0.12 relative to chance 0.25: interval entirely below 0
    assert.equal(evaluateHypotheses([h], { records: seeds('large', 'prompt-tuning', PT.options, [0.15, 0.13, 0.11]), pretrained: [] })[0].verdict, 'does not hold');
    // 0.1, 0.2, 0.3 above chance: mean 0.2, s 0.1 → [−0.048, 0.448]
    const wide = evaluateHypotheses([h], { records: seeds('large', 'prompt-tuning', PT.options, [0.35, 0.45, 0.55]), pretrained: [] })[0];
    assert.equal(wide.verdict, 'inconclusive');
    assert.ok(Math.abs(wide.low - (0.2 - HALF_3(0.1))) < 1e-6);
    // One seed: no interval, and the reason says so.
    const one = evaluateHypotheses([h], { records: seeds('large', 'prompt-tuning', PT.options, [0.9]), pretrained: [] })[0];
    assert.equal(one.verdict, 'inconclusive');
    assert.match(one.reason ?? '', /1 seed\(s\) on large: at least 2/);
  });

  it('gap-shrinks: pairs by seed, picks the smallest size where the baseline clears chance, skips sizes below it', () => {
    const h: Hypothesis = { id: 'G', statement: 's', kind: 'gap-shrinks', statistic: 't', method: PT, baseline: { method: 'full' }, task: 't', from: 'smallest-where-baseline-clears-chance', to: 'largest' };
    const records = [
      // small: full at chance (0.25 ± noise): not a candidate for `from`
      ...seeds('small', 'full', {}, [0.24, 0.26, 0.25]),
      ...seeds('small', 'prompt-tuning', PT.options, [0.25, 0.25, 0.25]),
      // medium: gaps 0.30, 0.32, 0.34
      ...seeds('medium', 'full', {}, [0.70, 0.72, 0.74]),
      ...seeds('medium', 'prompt-tuning', PT.options, [0.40, 0.40, 0.40]),
      // large: gaps 0.05, 0.05, 0.09
      ...seeds('large', 'full', {}, [0.80, 0.80, 0.84]),
      ...seeds('large', 'prompt-tuning', PT.options, [0.75, 0.75, 0.75]),
    ];
    const r = evaluateHypotheses([h], { records, pretrained: [] })[0];
    // Per seed gap(medium) − gap(large): 0.25, 0.27, 0.25 → mean 0.256667, s 0.011547
    assert.equal(r.verdict, 'holds');
    assert.ok(Math.abs(r.estimate - 0.77 / 3) < 1e-9);
    assert.ok(Math.abs(r.high - r.low - 2 * HALF_3(0.011547)) < 1e-5);
    assert.match(r.detail, /gap on medium .*gap on large/);
    // Unpaired seeds are left out: drop seed 2 of large's prompt tuning → n = 2.
    const unpaired = evaluateHypotheses([h], { records: records.filter((x) => !(x.config.preset === 'large' && x.config.method === 'prompt-tuning' && x.config.seed === 2)), pretrained: [] })[0];
    assert.equal(unpaired.n, 2);
    // A reversed gap does not hold.
    const reversed = evaluateHypotheses([{ ...h, from: 'large', to: 'medium' }], { records, pretrained: [] })[0];
    assert.equal(reversed.verdict, 'does not hold');
    // The baseline clears chance nowhere: inconclusive, with the reason.
    const none = evaluateHypotheses([h], { records: records.filter((x) => x.config.preset === 'small'), pretrained: [] })[0];
    assert.equal(none.verdict, 'inconclusive');
    assert.match(none.reason ?? '', /the baseline clears chance on no preset/);
  });

  it('effect-shrinks: spread over values and the difference of two values, per seed', () => {
    const spread: Hypothesis = { id: 'S', statement: 's', kind: 'effect-shrinks', statistic: 't', method: { method: 'prompt-tuning', options: { init: 'class-label' } }, task: 't', option: 'length', values: [1, 20, 100], effect: 'spread', from: 'small', to: 'large' };
    const opts = (length: number): Record<string, string | number> => ({ length, init: 'class-label' });
    const records = [
      ...seeds('small', 'prompt-tuning', opts(1), [0.3, 0.3, 0.3]),
      ...seeds('small', 'prompt-tuning', opts(20), [0.5, 0.6, 0.5]),
      ...seeds('small', 'prompt-tuning', opts(100), [0.4, 0.4, 0.7]),
      ...seeds('large', 'prompt-tuning', opts(1), [0.8, 0.8, 0.8]),
      ...seeds('large', 'prompt-tuning', opts(20), [0.82, 0.8, 0.81]),
      ...seeds('large', 'prompt-tuning', opts(100), [0.8, 0.83, 0.8]),
    ];
    // spreads: small 0.2, 0.3, 0.4; large 0.02, 0.03, 0.01 → differences 0.18, 0.27, 0.39: mean 0.28
    const r = evaluateHypotheses([spread], { records, pretrained: [] })[0];
    assert.ok(Math.abs(r.estimate - 0.28) < 1e-9, String(r.estimate));
    assert.equal(r.verdict, 'holds'); // s = 0.10536 → half 0.2617 < 0.28
    const diff: Hypothesis = { ...spread, id: 'D', values: [100, 1], effect: 'difference' };
    // difference 100 − 1: small 0.1, 0.1, 0.4; large 0, 0.03, 0 → 0.1, 0.07, 0.4: mean 0.19, wide
    const d = evaluateHypotheses([diff], { records, pretrained: [] })[0];
    assert.ok(Math.abs(d.estimate - 0.19) < 1e-9);
    assert.equal(d.verdict, 'inconclusive');
  });

  it('rank-correlation: Spearman over groups where the baseline clears chance, margins from the gates', () => {
    const h: Hypothesis = { id: 'R', statement: 's', kind: 'rank-correlation', statistic: 'bootstrap', method: PT, baseline: { method: 'full' }, tasks: ['t', 'u'] };
    const gate = (model: number) => ({ model, control: 0.25, chance: 0.25, n: 100 });
    const pretrained = [
      { preset: 'small', gates: { zeroShot: { t: gate(0.26), u: gate(0.3) } } },
      { preset: 'medium', gates: { zeroShot: { t: gate(0.4), u: gate(0.5) } } },
      { preset: 'large', gates: { zeroShot: { t: gate(0.6), u: gate(0.7) } } },
    ] as unknown as PretrainedInfo[];
    const records: TrialRecord[] = [];
    // full at 0.85 everywhere; prompt tuning recovers more where the margin is larger.
    const pt: Record<string, Record<string, number>> = { small: { t: 0.3, u: 0.4 }, medium: { t: 0.5, u: 0.6 }, large: { t: 0.7, u: 0.8 } };
    for (const preset of Object.keys(pt)) {
      for (const task of ['t', 'u']) {
        records.push(...seeds(preset, 'full', {}, [0.84, 0.85, 0.86], task));
        records.push(...seeds(preset, 'prompt-tuning', PT.options, [pt[preset][task], pt[preset][task], pt[preset][task]], task));
      }
    }
    const points = marginPoints(h, { records, pretrained });
    assert.equal(points.length, 6);
    // small/t: margin 0.01, recovered (0.3 − 0.25) / (0.85 − 0.25) = 0.08333
    const first = points.find((p) => p.preset === 'small' && p.task === 't');
    assert.ok(first !== undefined && Math.abs(first.margin - 0.01) < 1e-12 && Math.abs(first.recovered - 0.05 / 0.6) < 1e-12);
    const r = evaluateHypotheses([h], { records, pretrained })[0];
    // Margins 0.01, 0.05, 0.15, 0.25, 0.35, 0.45 and recovered shares in the same order: ρ = 1.
    assert.equal(r.estimate, 1);
    assert.equal(r.verdict, 'holds');
    // The same interval on every evaluation (seeded bootstrap).
    assert.deepEqual([evaluateHypotheses([h], { records, pretrained })[0].low], [r.low]);
    // Fewer than three groups: inconclusive.
    const two = evaluateHypotheses([{ ...h, tasks: ['t'] }], { records: records.filter((x) => x.config.preset !== 'large'), pretrained })[0];
    assert.equal(two.verdict, 'inconclusive');
    assert.match(two.reason ?? '', /2 group\(s\)/);
  });

  it('above-control: the pretrained model against its never-trained control, paired by seed', () => {
    const h: Hypothesis = { id: 'C', statement: 's', kind: 'above-control', statistic: 't', method: PT, task: 't', at: 'largest' };
    const control = (accuracies: number[]): TrialRecord[] => seeds('large', 'prompt-tuning', PT.options, accuracies).map((x) => ({ ...x, config: { ...x.config, control: true as const } }));
    // pretrained 0.40, 0.42, 0.44 against control 0.25, 0.25, 0.27 → 0.15, 0.17, 0.17: mean 0.163333, s 0.011547
    const r = evaluateHypotheses([h], { records: [...seeds('large', 'prompt-tuning', PT.options, [0.4, 0.42, 0.44]), ...control([0.25, 0.25, 0.27])], pretrained: [] })[0];
    assert.ok(Math.abs(r.estimate - 0.49 / 3) < 1e-9);
    assert.ok(Math.abs(r.low - (0.49 / 3 - HALF_3(0.011547))) < 1e-5);
    assert.equal(r.verdict, 'holds');
    assert.match(r.detail, /pretrained large .*never-trained control/);
    const none = evaluateHypotheses([h], { records: seeds('large', 'prompt-tuning', PT.options, [0.4, 0.42, 0.44]), pretrained: [] })[0];
    assert.match(none.reason ?? '', /both the pretrained model and its never-trained control/);
  });

  it('never-trained controls are not sizes a selector can pick', () => {
    const h: Hypothesis = { id: 'A', statement: 's', kind: 'above-chance', statistic: 't', method: PT, task: 't', at: 'largest' };
    const control = seeds('large', 'prompt-tuning', PT.options, [0.25, 0.25, 0.25]).map((x) => ({ ...x, config: { ...x.config, control: true as const } }));
    const r = evaluateHypotheses([h], { records: [...seeds('medium', 'prompt-tuning', PT.options, [0.35, 0.37, 0.39]), ...control], pretrained: [] })[0];
    assert.match(r.detail, /on medium/);
  });
});

describe('hypothesis statistics', () => {
  it('verdictOf: the rule at its edges', () => {
    assert.equal(verdictOf(0.001, 0.2), 'holds');
    assert.equal(verdictOf(0, 0.2), 'inconclusive');
    assert.equal(verdictOf(-0.2, 0), 'does not hold');
    assert.equal(verdictOf(0, 0), 'does not hold'); // every seed exactly at chance
    assert.equal(verdictOf(NaN, NaN), 'inconclusive');
  });

  it('Spearman with ties uses average ranks', () => {
    assert.deepEqual(averageRanks([10, 20, 20, 30]), [1, 2.5, 2.5, 4]);
    assert.equal(spearman([1, 2, 3, 4], [4, 3, 2, 1]), -1);
    // Hand computation: ranks x 1 2.5 2.5 4, y 1 2 3 4 → r = 4.5 / √(4.5 · 5) = 0.948683
    assert.ok(Math.abs(spearman([10, 20, 20, 30], [1, 2, 3, 4]) - 4.5 / Math.sqrt(4.5 * 5)) < 1e-12);
    assert.ok(Number.isNaN(spearman([1, 1, 1], [1, 2, 3])));
  });

  it('the percentile bootstrap of a mean brackets it, is seeded, and widens with spread', () => {
    const values = [0.1, 0.2, 0.3, 0.4, 0.5];
    const mean = (pick: number[]): number => pick.reduce((s, i) => s + values[i], 0) / pick.length;
    const [low, high] = bootstrapInterval(values.length, mean, 10_000, 'x');
    assert.ok(low < 0.3 && high > 0.3 && low >= 0.1 && high <= 0.5);
    assert.deepEqual(bootstrapInterval(values.length, mean, 10_000, 'x'), [low, high]);
  });

  it('the hash is of the canonical list: key order does not change it, a value does', () => {
    const h: Hypothesis = { id: 'A', statement: 's', kind: 'above-chance', statistic: 't', method: PT, task: 't', at: 'largest' };
    const reordered = JSON.parse('{"task":"t","at":"largest","method":{"options":{"init":"class-label","length":20},"method":"prompt-tuning"},"statistic":"t","kind":"above-chance","statement":"s","id":"A"}') as Hypothesis;
    assert.equal(hypothesesHash([h]), hypothesesHash([reordered]));
    assert.notEqual(hypothesesHash([h]), hypothesesHash([{ ...h, at: 'smallest' }]));
  });
});

describe('hypotheses over training-set sizes (a sweep with trainExamples)', () => {
  /** Per seed 0..n-1, on a preset and a training-set size. */
  const atTrain = (preset: string, method: string, options: Record<string, string | number>, train: number, accuracies: number[]): TrialRecord[] =>
    accuracies.map((a, seed) => record(preset, method, options, seed, a, 't', 0.25, train));
  const records = [
    // large, 32 examples: gaps 0.30, 0.20, 0.25; 512 examples: gaps 0.05, 0.05, 0.02
    ...atTrain('large', 'full', {}, 32, [0.80, 0.70, 0.75]),
    ...atTrain('large', 'prompt-tuning', PT.options, 32, [0.50, 0.50, 0.50]),
    ...atTrain('large', 'full', {}, 512, [0.90, 0.90, 0.90]),
    ...atTrain('large', 'prompt-tuning', PT.options, 512, [0.85, 0.85, 0.88]),
    // medium, 32 examples only: must not enter a comparison on large
    ...atTrain('medium', 'full', {}, 32, [0.26, 0.26, 0.26]),
    ...atTrain('medium', 'prompt-tuning', PT.options, 32, [0.90, 0.90, 0.90]),
  ];

  it('axis "train": from and to are training-set sizes of the preset `at`, paired by seed', () => {
    const h: Hypothesis = { id: 'D1', statement: 's', kind: 'gap-shrinks', statistic: 't', method: PT, baseline: { method: 'full' }, task: 't', axis: 'train', at: 'largest', from: '32', to: '512' };
    const r = evaluateHypotheses([h], { records, pretrained: [] })[0];
    // Per seed gap(32) − gap(512): 0.25, 0.15, 0.23 → mean 0.21, s 0.052915
    assert.equal(r.verdict, 'holds');
    assert.ok(Math.abs(r.estimate - 0.21) < 1e-9);
    assert.ok(Math.abs(r.low - (0.21 - HALF_3(0.052915))) < 1e-5);
    assert.match(r.detail, /^on large, sizes are training examples: .*gap on 32 .*gap on 512/);
    // The selectors order sizes numerically (512 after 32, not as strings).
    assert.equal(evaluateHypotheses([{ ...h, from: 'smallest', to: 'largest' }], { records, pretrained: [] })[0].estimate, r.estimate);
    // On medium there is one size only: nothing to compare.
    const one = evaluateHypotheses([{ ...h, at: 'medium' }], { records, pretrained: [] })[0];
    assert.equal(one.verdict, 'inconclusive');
    assert.match(one.reason ?? '', /training-set size 512 has no records/);
  });

  it('"train" picks one size; without it, records of several sizes make the comparison inconclusive, with the reason', () => {
    const h: Hypothesis = { id: 'D2', statement: 's', kind: 'above-chance', statistic: 't', method: PT, task: 't', at: 'largest', train: 32 };
    // 32 examples on large: 0.50 − 0.25 every seed → 0.25 with a zero-width interval
    const r = evaluateHypotheses([h], { records, pretrained: [] })[0];
    assert.equal(r.verdict, 'holds');
    assert.ok(Math.abs(r.estimate - 0.25) < 1e-12);
    const mixed = evaluateHypotheses([{ ...h, train: undefined }], { records, pretrained: [] })[0];
    assert.equal(mixed.verdict, 'inconclusive');
    assert.match(mixed.reason ?? '', /trained on 32, 512 examples: the hypothesis must say which/);
  });
});
