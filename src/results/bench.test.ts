/** bench.json's declared format: benchReportProblems names each way a file differs from it. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BENCH_COLUMNS, benchReportProblems } from './bench.js';

describe('benchReportProblems', () => {
  it('names a missing column, a wrong type and an undeclared field', () => {
    const row = Object.fromEntries(BENCH_COLUMNS.map((c) => [c.key, c.type === 'number' ? 1 : 'x']));
    const report = { format: 'peftscale-bench', formatVersion: 1, createdAt: 'now', wallSeconds: 1, environment: { backend: 'wasm', gitHash: 'abc', machine: {} }, settings: {}, models: [], columns: [], rows: [row], mixedServing: [], reference: null };
    assert.deepEqual(benchReportProblems(report), []);
    const { inferMedianMs: _dropped, ...missing } = row;
    assert.deepEqual(benchReportProblems({ ...report, rows: [missing, { ...row, trainMedianMs: 'fast', extra: 1 }] }), [
      'rows[0].inferMedianMs = undefined: allowed: a finite number',
      'rows[1].trainMedianMs = "fast": allowed: a finite number or null',
      'rows[1].extra: not a declared column',
    ]);
    assert.deepEqual(benchReportProblems({ ...report, format: 'other', rows: 'none' }), ['format is "other", expected "peftscale-bench"', 'rows must be an array']);
  });
});
