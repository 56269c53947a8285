/**
 * The timing loops (tinybench) and their statistics: which calls run in which order, which are measured,
 * and the quantiles and summaries of the samples. No timing thresholds, only counts, orders and exact relations.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { interpolatedQuantile, median, summarizeSamples, timeAgainstBaseline, timeInterleaved, timeSync } from './bench_timing.js';

describe('timeSync (tinybench)', () => {
  it('measures exactly `iterations` calls after `warmup`, in order, and passes errors on', () => {
    let calls = 0;
    const seen: number[] = [];
    const timing = timeSync('count', () => void (calls += 1), { warmup: 3, iterations: 5, onSample: (i) => seen.push(i) });
    assert.equal(calls, 8);
    assert.equal(timing.samplesMs.length, 5);
    assert.deepEqual(seen, [0, 1, 2, 3, 4]);
    assert.ok(timing.minMs <= timing.medianMs && timing.medianMs <= timing.maxMs && timing.p99Ms <= timing.maxMs);
    assert.throws(() => timeSync('boom', () => { throw new Error('inner failure'); }, { warmup: 0, iterations: 1 }), /inner failure/);
    assert.throws(() => timeSync('none', () => undefined, { warmup: 0, iterations: 0 }), /none: iterations = 0: allowed: an integer ≥ 1/);
  });
});

describe('timeInterleaved and the statistics', () => {
  it('calls the functions in turn, each round starting one later, and measures only the rounds after warm-up', () => {
    const calls: string[] = [];
    const after: string[] = [];
    const timings = timeInterleaved(
      ['a', 'b', 'c'].map((name) => ({ name, fn: () => void calls.push(name), afterEach: () => void after.push(name) })),
      { warmup: 1, iterations: 2 },
    );
    assert.deepEqual(calls, ['a', 'b', 'c', 'b', 'c', 'a', 'c', 'a', 'b']);
    assert.deepEqual(after, calls);
    assert.deepEqual(timings.map((t) => [t.warmup, t.iterations, t.samplesMs.length]), [[1, 2, 2], [1, 2, 2], [1, 2, 2]]);
    assert.throws(() => timeInterleaved([{ name: 'x', fn: () => undefined }, { name: 'x', fn: () => undefined }], { warmup: 0, iterations: 1 }), /two functions are named "x"/);
    assert.throws(() => timeInterleaved([{ name: 'y', fn: () => { throw new Error('inner y'); } }], { warmup: 0, iterations: 1 }), /inner y/);
  });
  it('brackets every candidate call by baseline calls, and takes the median of each call over the mean of its two neighbours', () => {
    const calls: string[] = [];
    const comparison = timeAgainstBaseline(
      { name: 'base', fn: () => void calls.push('base') },
      ['a', 'b'].map((name) => ({ name, fn: () => void calls.push(name) })),
      { warmup: 1, iterations: 3 },
    );
    const round = (first: string, second: string) => ['base', first, 'base', second, 'base'];
    assert.deepEqual(calls, [...round('a', 'b'), ...round('b', 'a'), ...round('a', 'b'), ...round('b', 'a')]);
    assert.equal(comparison.baseline.samplesMs.length, 3 * 3, 'three baseline calls in each measured round');
    assert.deepEqual(comparison.candidates.map((c) => c.samplesMs.length), [3, 3]);
    // Measured rounds 1, 2, 3 start with b, a, b: recompute each ratio from the recorded samples.
    const base = comparison.baseline.samplesMs;
    const [a, b] = comparison.candidates.map((c) => c.samplesMs);
    const firstsOf = [['b', 'a'], ['a', 'b'], ['b', 'a']];
    const ratiosOf = (name: string, own: number[]) =>
      firstsOf.map((order, r) => {
        const j = order.indexOf(name);
        return own[r] / ((base[3 * r + j] + base[3 * r + j + 1]) / 2);
      });
    assert.deepEqual(comparison.ratios, [median(ratiosOf('a', a)), median(ratiosOf('b', b))]);
    assert.throws(() => timeAgainstBaseline({ name: 'x', fn: () => undefined }, [{ name: 'x', fn: () => undefined }], { warmup: 0, iterations: 1 }), /two functions are named "x"/);
  });
  it('computes type-7 quantiles (tinybench\'s) and the summary of samples', () => {
    assert.equal(interpolatedQuantile([1, 2, 3, 4], 0.5), 2.5);
    assert.equal(interpolatedQuantile([10, 20, 30], 0.99), 29.8);
    assert.equal(interpolatedQuantile([7], 0.99), 7);
    const summary = summarizeSamples([4, 1, 3, 2], 2);
    assert.deepEqual(summary.samplesMs, [4, 1, 3, 2], 'kept in the order measured');
    assert.deepEqual([summary.medianMs, summary.meanMs, summary.minMs, summary.maxMs, summary.warmup, summary.iterations], [2.5, 2.5, 1, 4, 2, 4]);
    assert.ok(Math.abs(summary.sdMs - Math.sqrt(5 / 3)) < 1e-12);
    assert.equal(summarizeSamples([5], 0).sdMs, 0);
  });
});
