/**
 * The tolerance of `--import-trials --verify` (trial_verify.ts): none on the record's own backend; across
 * backends, one example in CROSS_BACKEND_EXAMPLES_PER_FLIP per split (at least one), said in the message.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TrialRecord } from '../../src/results/results.js';
import { fixtureRecords } from '../../test/report_fixtures.js';
import { allowedFlips, CROSS_BACKEND_EXAMPLES_PER_FLIP, reproductionProblems } from './trial_verify.js';

/** A fixture record recorded on `backend` with `devCorrect` of 64 and `testCorrect` of 150 correct. */
function recordOf(backend: string, devCorrect: number, testCorrect: number): TrialRecord {
  const record = fixtureRecords().find((r) => r.status === 'finished') as TrialRecord;
  return { ...record, environment: { ...record.environment, backend }, dev: { ...record.dev, accuracy: devCorrect / 64, examples: 64 }, test: { ...record.test, accuracy: testCorrect / 150, examples: 150 } };
}

const rescored = (backend: string, dev: number, test: number) => ({ backend, rescored: { dev: { correct: dev, examples: 64 }, test: { correct: test, examples: 150 }, seconds: 0 } });

describe('--verify tolerance', () => {
  it('allows no flip on the same backend, one per 200 examples (at least one) across backends', () => {
    assert.deepEqual([allowedFlips(150, true), allowedFlips(150, false), allowedFlips(872, false), allowedFlips(2 * CROSS_BACKEND_EXAMPLES_PER_FLIP, false)], [0, 1, 5, 2]);
  });

  it('on the record\'s backend one example off is refused, naming the split, the recorded and the re-scored counts', () => {
    assert.deepEqual(reproductionProblems('r.jsonl:3 (trial k)', recordOf('cpu', 40, 100), 'A', rescored('cpu', 40, 100)), []);
    const problems = reproductionProblems('r.jsonl:3 (trial k)', recordOf('cpu', 40, 100), 'A', rescored('cpu', 40, 101));
    assert.equal(problems.length, 1);
    assert.match(problems[0], /^r\.jsonl:3 \(trial k\): test\.accuracy = 0\.6+ recorded \(100 of 150 correct\), re-scored 0\.673+ \(101 of 150\) from A: allowed: the same count \(re-scored on the record's own backend, cpu/);
  });

  it('across backends one flip per split passes and two are refused, the message naming both backends', () => {
    assert.deepEqual(reproductionProblems('at', recordOf('tensorflow', 40, 100), 'A', rescored('wasm', 41, 99)), []);
    const problems = reproductionProblems('at', recordOf('tensorflow', 40, 100), 'A', rescored('wasm', 42, 100));
    assert.equal(problems.length, 1);
    assert.match(problems[0], /dev\.accuracy = 0\.625 recorded \(40 of 64 correct\), re-scored 0\.65625 \(42 of 64\) .*within 1 example\(s\) \(recorded on tensorflow, re-scored on wasm: float round-off .*--backend tensorflow re-scores exactly\)/);
  });

  it('a different example count, or a re-scoring that failed, is a problem', () => {
    const other = { backend: 'cpu', rescored: { dev: { correct: 40, examples: 60 }, test: { correct: 100, examples: 150 }, seconds: 0 } };
    assert.match(reproductionProblems('at', recordOf('cpu', 40, 100), 'A', other)[0], /dev\.examples = 64 recorded, 60 re-scored: allowed: the trial's own dev split/);
    assert.match(reproductionProblems('at', recordOf('cpu', 40, 100), 'A', { error: 'boom' })[0], /^at: its adapter A could not be re-scored: boom$/);
  });
});
