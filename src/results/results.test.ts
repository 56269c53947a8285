import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AVERAGE_TASK, leftChance, optionsLabel, summarize, summaryCounts, type TrialRecord } from './results.js';

/** A record with only what summarize reads filled in meaningfully. */
function record(method: string, preset: string, task: string, seed: number, accuracy: number, status: TrialRecord['status'] = 'finished', gain: boolean | null = true): TrialRecord {
  return {
    format: 2,
    key: `${method}-${preset}-${task}-${seed}`,
    sweeps: ['s'],
    config: {
      preset,
      profile: 'quick',
      pretrainSeed: 0,
      modelId: 'm',
      method,
      options: method === 'lora' ? { rank: 8, targets: ['c_attn'] } : {},
      task,
      data: { worldSize: 1, townCount: 1, train: 1, dev: 1, test: 1 },
      seed,
      training: { optimizer: 'adam', learningRate: 1, steps: 1, batchSize: 1, evalEvery: 1, weightDecay: 0 },
    },
    status,
    divergedAt: status === 'diverged' ? { step: 3, loss: NaN } : null,
    parameters: { trainable: 10, base: preset === 'small' ? 100 : 1000, total: 1010, percent: 1, adapterBytes: 40 },
    dev: { accuracy, examples: 10, majority: 0.5, bestStep: gain === true ? 1 : 0 },
    test: { accuracy, examples: 10, majority: 0.5 },
    final: { step: 1, dev: accuracy, test: accuracy - 0.1 },
    gainOverInit: gain,
    lossCurve: [],
    devCurve: [],
    timing: { trainSeconds: 1, evalSeconds: 1, stepSecondsMedian: 0.5, tokensPerSecond: 100, tokensPerRow: 10 },
    memory: { peakTensorBytes: 5, peakRssBytes: 6 },
    environment: { backend: 'wasm', versions: {}, gitHash: 'x', gitDirty: false, machine: { cpu: 'x', cores: 1, memoryBytes: 1, platform: 'x', node: 'x' } },
    finishedAt: '2026-01-01T00:00:00Z',
  };
}

describe('summaries over seeds', () => {
  const records = [
    record('full', 'small', 'a', 0, 0.8),
    record('full', 'small', 'a', 1, 0.9),
    record('full', 'small', 'b', 0, 0.6),
    record('full', 'small', 'b', 1, 0.7),
    record('lora', 'small', 'a', 0, 0.5),
    record('lora', 'small', 'a', 1, 0.7),
    record('lora', 'small', 'a', 2, 0.1, 'diverged'),
    record('lora', 'small', 'b', 0, 0.4),
    record('lora', 'big', 'a', 0, 0.9),
  ];
  const rows = summarize(records, 'full');
  const find = (method: string, preset: string, task: string) => rows.find((r) => r.method === method && r.preset === preset && r.task === task);

  it('means, sample standard deviations and intervals per group; diverged trials counted, not averaged', () => {
    const lora = find('lora', 'small', 'a');
    assert.deepEqual([lora?.n, lora?.diverged], [2, 1]);
    assert.ok(Math.abs((lora?.mean ?? 0) - 0.6) < 1e-12);
    assert.ok(Math.abs((lora?.std ?? 0) - Math.sqrt(0.02)) < 1e-12);
    assert.ok(Math.abs((lora?.ci95[1] ?? 0) - (0.6 + (12.7062047 * Math.sqrt(0.02)) / Math.sqrt(2))) < 1e-6);
  });

  it('the gap to full model tuning is on the same preset and task, paired by seed, null where full did not run', () => {
    assert.ok(Math.abs((find('lora', 'small', 'a')?.gapToFull ?? 0) - (0.6 - 0.85)) < 1e-12);
    assert.equal(find('full', 'small', 'a')?.gapToFull, 0);
    assert.equal(find('lora', 'big', 'a')?.gapToFull, null);
    // lora on b finished seed 0 only: its gap pairs it with full's seed 0 (0.4 - 0.6), not full's mean over 0 and 1.
    assert.ok(Math.abs((find('lora', 'small', 'b')?.gapToFull ?? 0) - (0.4 - 0.6)) < 1e-12);
  });

  it('the task average uses only seeds that finished every task', () => {
    const full = find('full', 'small', 'average');
    assert.equal(full?.n, 2);
    assert.ok(Math.abs((full?.mean ?? 0) - 0.75) < 1e-12);
    const lora = find('lora', 'small', 'average');
    assert.equal(lora?.n, 1, 'seed 1 has no task b');
    assert.ok(Math.abs((lora?.mean ?? 0) - 0.45) < 1e-12);
    assert.equal(find('lora', 'big', 'average'), undefined, 'one task: no average row');
  });

  it('trials on several training-set sizes are separate rows, each with its own gap to full on the same size', () => {
    const at = (r: TrialRecord, train: number, accuracy: number): TrialRecord => ({ ...r, key: `${r.key}-${train}`, config: { ...r.config, data: { ...r.config.data, train } }, test: { ...r.test, accuracy } });
    const rows = summarize(
      [at(record('full', 'small', 'a', 0, 0), 32, 0.6), at(record('full', 'small', 'a', 0, 0), 512, 0.9), at(record('lora', 'small', 'a', 0, 0), 32, 0.5), at(record('lora', 'small', 'a', 0, 0), 512, 0.85)],
      'full',
    );
    const lora = rows.filter((r) => r.method === 'lora').map((r) => [r.train, r.n, Number(r.gapToFull?.toFixed(6))]);
    assert.deepEqual(lora, [[32, 1, -0.1], [512, 1, -0.05]]);
  });

  it('rows are ordered by model size, then method', () => {
    assert.deepEqual(
      rows.map((r) => `${r.preset} ${r.method} ${r.task}`),
      ['small full a', 'small full b', 'small full average', 'small lora a', 'small lora b', 'small lora average', 'big lora a'],
    );
  });

  it('option labels are stable and leave out empty and derived values', () => {
    assert.equal(optionsLabel({ rank: 8, alpha: 16, targets: ['c_attn', 'c_proj'] }), 'alpha=16 rank=8 targets=c_attn+c_proj');
    assert.equal(optionsLabel({ 'init-text': '', 'prompt-tokens': ['1'], shots: 2 }), 'shots=2');
  });
});

describe('no gain over init, breakouts, recovered share, one-seed intervals', () => {
  const records = [
    record('full', 'mid', 'a', 0, 0.9),
    record('full', 'mid', 'a', 1, 0.9),
    record('full', 'mid', 'a', 2, 0.92),
    record('prompt-tuning', 'mid', 'a', 0, 0.7, 'finished', false),
    record('prompt-tuning', 'mid', 'a', 1, 0.7, 'finished', true),
    record('prompt-tuning', 'mid', 'a', 2, 0.8, 'finished', false),
    record('prompt-design', 'mid', 'a', 0, 0.5, 'finished', null),
    record('full', 'tiny', 'a', 0, 0.6),
    record('full', 'tiny', 'a', 1, 0.9),
    record('prompt-tuning', 'tiny', 'a', 0, 0.55, 'finished', false),
  ];
  const rows = summarize(records, 'full');
  const find = (method: string, preset: string) => rows.find((r) => r.method === method && r.preset === preset && r.task === 'a');

  it('counts trials that kept their init, null for methods that train nothing', () => {
    assert.equal(find('prompt-tuning', 'mid')?.noGain, 2);
    assert.equal(find('full', 'mid')?.noGain, 0);
    assert.equal(find('prompt-design', 'mid')?.noGain, null);
    assert.deepEqual(summaryCounts(rows), { trained: 9, noGain: 3, oneSeed: 2, diverged: 0 });
  });

  it('the task average counts seeds whose every task kept its init, or left chance, never more than its n', () => {
    // Seed 0 kept its init on both tasks, seed 1 on one, seed 2 on none: 3 trials, 1 seed on every task.
    const two = [
      record('full', 'mid', 'a', 0, 0.5, 'finished', false),
      record('full', 'mid', 'b', 0, 0.5, 'finished', false),
      record('full', 'mid', 'a', 1, 0.6, 'finished', false),
      record('full', 'mid', 'b', 1, 1.0, 'finished', true),
      record('full', 'mid', 'a', 2, 1.0, 'finished', true),
      record('full', 'mid', 'b', 2, 1.0, 'finished', true),
    ];
    const summary = summarize(two, 'full');
    const average = summary.find((r) => r.task === AVERAGE_TASK);
    assert.equal(average?.n, 3);
    assert.equal(average?.noGain, 1);
    assert.equal(summary.find((r) => r.task === 'a')?.noGain, 2);
    assert.equal(summaryCounts(summary).noGain, 3); // totals stay over the trials of each task
    // Chance is 50% of 10 examples: 100% leaves it, 50-60% does not. Task b: seeds 1 and 2; every task: seed 2.
    assert.equal(summary.find((r) => r.task === 'b')?.breakouts, 2);
    assert.equal(average?.breakouts, 1);
  });

  it('breakouts: above the majority rate by a one-sided 95% binomial margin (0.5 + 1.645·√(0.25/10) ≈ 0.76)', () => {
    assert.equal(find('prompt-tuning', 'mid')?.breakouts, 1, 'only the 0.8 seed leaves chance');
    assert.equal(find('full', 'mid')?.breakouts, 3);
    assert.equal(leftChance(record('lora', 'x', 'a', 0, 0.76)), false);
    assert.equal(leftChance(record('lora', 'x', 'a', 0, 0.77)), true);
    assert.equal(leftChance(record('lora', 'x', 'a', 0, 0.99, 'diverged')), false);
  });

  it("the share of full tuning's gain above chance, only when full tuning clearly left chance", () => {
    const full = (0.9 + 0.9 + 0.92) / 3;
    assert.ok(Math.abs((find('prompt-tuning', 'mid')?.recovered ?? NaN) - (0.7333333333 - 0.5) / (full - 0.5)) < 1e-6);
    assert.ok(Math.abs((find('full', 'mid')?.recovered ?? NaN) - 1) < 1e-12);
    // On tiny, full tuning's two seeds (0.6, 0.9) give an interval reaching below chance: no share.
    assert.equal(find('prompt-tuning', 'tiny')?.recovered, null);
  });

  it('one seed: NaN interval, never a zero-width one; the final-step mean beside the chosen one', () => {
    const one = find('prompt-tuning', 'tiny');
    assert.equal(one?.n, 1);
    assert.ok(Number.isNaN(one?.ci95[0]) && Number.isNaN(one?.ci95[1]));
    assert.ok(Math.abs((find('prompt-tuning', 'mid')?.finalMean ?? NaN) - (0.7333333333 - 0.1)) < 1e-6);
  });
});
