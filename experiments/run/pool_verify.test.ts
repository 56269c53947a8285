/**
 * The pool's re-scoring queue (pool_verify.ts): every job ends, with counts or a reason, whatever happens
 * to its worker or its frozen model; none is retried and none waits forever.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PlannedTrial } from '../plan/spec.js';
import { VerifyQueue, type VerifyJob } from './pool_verify.js';

const job = (key: string, preset: string): VerifyJob => ({ trial: { key, config: { preset } } as unknown as PlannedTrial, adapterDir: `/a/${key}`, recordedBudget: 40 });

describe('VerifyQueue', () => {
  it('hands out only jobs whose model is ready, as verify messages with the recorded budget', () => {
    const queue = new VerifyQueue([job('a', 'ps-1'), job('b', 'ps-2')]);
    assert.equal(queue.next(() => false, () => '/m'), undefined);
    const next = queue.next((preset) => preset === 'ps-2', () => '/m2');
    assert.deepEqual(next?.message, { type: 'verify', trial: job('b', 'ps-2').trial, adapterDir: '/a/b', modelDir: '/m2', recordedBudget: 40 });
    assert.deepEqual([queue.length, queue.done, queue.total], [1, 0, 2]);
  });

  it("a worker that exits or throws mid-job ends that job with the reason", () => {
    const queue = new VerifyQueue([job('a', 'p'), job('b', 'p')]);
    queue.next(() => true, () => '/m');
    queue.workerExited('a', 70);
    queue.next(() => true, () => '/m');
    queue.failed('b', 'bad adapter');
    assert.deepEqual([...queue.outcomes], [['a', { error: 'the worker exited with code 70' }], ['b', { error: 'bad adapter' }]]);
    assert.deepEqual([queue.length, queue.done], [0, 2]);
  });

  it("a failed pretraining ends its preset's waiting jobs (first line of the reason), others wait; no worker left ends the rest", () => {
    const queue = new VerifyQueue([job('a', 'ps-1'), job('b', 'ps-2'), job('c', 'ps-1')]);
    queue.failPresets(new Map([['ps-1', 'out of memory\n  at stack']]));
    assert.deepEqual([...queue.outcomes.keys()].sort(), ['a', 'c']);
    assert.deepEqual(queue.outcomes.get('a'), { error: 'pretraining ps-1 failed: out of memory' });
    assert.equal(queue.length, 1);
    queue.failAll('no worker left to run it');
    assert.deepEqual(queue.outcomes.get('b'), { error: 'no worker left to run it' });
    assert.deepEqual([queue.length, queue.done, queue.total], [0, 3, 3]);
  });
});
