import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { confidenceInterval, logGamma, regularizedBeta, studentTCdf, studentTQuantile } from './stats.js';

describe('Student-t statistics', () => {
  it('quantiles match published t tables', () => {
    // Two-sided 95% critical values (p = 0.975) and a few others, from standard tables.
    const table: [number, number, number][] = [
      [0.975, 1, 12.7062],
      [0.975, 2, 4.3027],
      [0.975, 3, 3.1824],
      [0.975, 4, 2.7764],
      [0.975, 9, 2.2622],
      [0.975, 29, 2.0452],
      [0.995, 3, 5.8409],
      [0.9, 5, 1.4759],
      [0.95, 10, 1.8125],
    ];
    for (const [p, df, expected] of table) assert.ok(Math.abs(studentTQuantile(p, df) - expected) < 5e-4, `t(${p}, ${df}) = ${studentTQuantile(p, df)}, table ${expected}`);
    assert.ok(Math.abs(studentTQuantile(0.975, 1e6) - 1.95996) < 1e-4, 'tends to the normal quantile');
  });

  it('the quantile inverts the distribution function and is symmetric', () => {
    for (const df of [1, 2.5, 7, 40]) {
      for (const p of [0.01, 0.2, 0.5, 0.8, 0.999]) assert.ok(Math.abs(studentTCdf(studentTQuantile(p, df), df) - p) < 1e-9, `df ${df} p ${p}`);
      assert.equal(studentTQuantile(0.3, df), -studentTQuantile(0.7, df));
    }
  });

  it('ln Γ and the incomplete beta agree with closed forms', () => {
    assert.ok(Math.abs(logGamma(5) - Math.log(24)) < 1e-12);
    assert.ok(Math.abs(logGamma(0.5) - 0.5 * Math.log(Math.PI)) < 1e-12);
    assert.ok(Math.abs(regularizedBeta(0.3, 1, 1) - 0.3) < 1e-12, 'I_x(1, 1) = x');
    assert.ok(Math.abs(regularizedBeta(0.3, 2, 1) - 0.09) < 1e-12, 'I_x(2, 1) = x²');
  });

  it('confidence intervals: mean, sample standard deviation and the t half-width', () => {
    const interval = confidenceInterval([0.71, 0.74, 0.69]);
    assert.ok(Math.abs(interval.mean - 0.713333) < 1e-6);
    assert.ok(Math.abs(interval.std - 0.0251661) < 1e-6, 'n - 1 in the denominator');
    assert.ok(Math.abs(interval.high - interval.mean - (4.302653 * 0.0251661) / Math.sqrt(3)) < 1e-6);
    assert.deepEqual(confidenceInterval([0.5]), { n: 1, mean: 0.5, std: NaN, low: NaN, high: NaN }, 'one seed: no interval (NaN), never a zero-width one');
    assert.ok(Number.isNaN(confidenceInterval([]).mean));
    assert.throws(() => studentTQuantile(1, 3), /p = 1: allowed: 0 < p < 1/);
    assert.throws(() => confidenceInterval([1, 2], 95), /level = 95/);
  });
});
