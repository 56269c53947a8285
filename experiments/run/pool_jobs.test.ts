import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TrialRecord } from '../../src/results/results.js';
import { formatTrialResult } from './pool_jobs.js';

/** The fields a progress line reads. */
function record(divergedAt: TrialRecord['divergedAt'] = null): TrialRecord {
  return {
    divergedAt,
    test: { accuracy: 0.4267, majority: 1 / 6, examples: 150 },
    dev: { accuracy: 0.5, examples: 64, majority: 1 / 6, bestStep: 750 },
    timing: { trainSeconds: 100, evalSeconds: 5, stepSecondsMedian: 0.06, tokensPerSecond: 12_345.6, tokensPerRow: 40 },
  } as unknown as TrialRecord;
}

describe('progress lines', () => {
  it('show the scores, or, blind (a run that states hypotheses), no dev or test number at all', () => {
    assert.match(formatTrialResult(record()), /^test 0\.427 \(dev 0\.500 at step 750; majority 0\.167\), 1m45s, 12,346 tok\/s$/);
    const blind = formatTrialResult(record(), true);
    assert.match(blind, /^scores hidden until the run ends, 1m45s, 12,346 tok\/s$/);
    assert.doesNotMatch(blind, /0\.4|0\.5|dev|test \d/);
    // A divergence is a status, not a score: it is still said.
    assert.match(formatTrialResult(record({ step: 73, loss: NaN }), true), /^DIVERGED at step 73 \(loss NaN\); best checkpoint before it: scores hidden until the run ends/);
  });
});
