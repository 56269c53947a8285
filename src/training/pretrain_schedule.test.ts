import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BYTE_VOCAB_SIZE, type ModelConfig } from '../model/config.js';
import { learningRateAt, resolveSchedule } from './pretrain_schedule.js';

const CONFIG: ModelConfig = { vocabSize: BYTE_VOCAB_SIZE, contextLength: 64, dModel: 16, nLayers: 2, nHeads: 2, dFF: 64, layerNormEps: 1e-5 };

describe('schedule', () => {
  it('warms up linearly, then decays by a cosine to the final fraction', () => {
    const schedule = resolveSchedule({ steps: 100, batchSize: 1, sequenceLength: 8, learningRate: 1, warmupSteps: 9, finalLearningRateFraction: 0.1 });
    assert.equal(learningRateAt(0, schedule), 0.1);
    assert.equal(learningRateAt(8, schedule), 0.9);
    assert.equal(learningRateAt(9, schedule), 1);
    assert.ok(Math.abs(learningRateAt(99, schedule) - 0.1) < 1e-12);
    for (let s = 10; s < 100; s++) assert.ok(learningRateAt(s, schedule) <= learningRateAt(s - 1, schedule));
  });
  it('names every invalid field', () => {
    assert.throws(
      () => resolveSchedule({ steps: 0, batchSize: 2, sequenceLength: 128, learningRate: -1 }, CONFIG),
      (error: Error) => /steps = 0/.test(error.message) && /learningRate = -1/.test(error.message) && /context length 64/.test(error.message),
    );
  });
});
