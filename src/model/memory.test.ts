import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { GPT2 } from './model.js';
import { forwardBytesPerRow } from './memory.js';
import { testBackends, useBackend } from '../../test/helpers.js';

for (const backend of testBackends()) {
  describe(`forward memory estimate [${backend}]`, () => {
    before(async () => useBackend(backend));

    it('bounds the peak of a scoring pass from above, and by no more than 3x', async () => {
      for (const config of [
        { vocabSize: 5000, contextLength: 128, dModel: 32, nLayers: 2, nHeads: 4, dFF: 128, layerNormEps: 1e-5 },
        { vocabSize: 260, contextLength: 128, dModel: 64, nLayers: 2, nHeads: 8, dFF: 256, layerNormEps: 1e-5 },
      ]) {
        const model = GPT2.initialize(config, 1);
        const [rows, length] = [8, 96];
        const tokens = tf.tensor2d(Int32Array.from({ length: rows * length }, (_, i) => i % 250), [rows, length], 'int32');
        const positions = Array.from({ length: rows }, (_, b) => b * length + length - 2);
        const before = tf.memory().numBytes;
        const info = await tf.profile(() => tf.tidy(() => model.logitsAt(tokens, positions)));
        // The transposed head (V × D) is made once per pass, not per row.
        const peak = info.peakBytes - before - 4 * config.vocabSize * config.dModel;
        const estimate = rows * forwardBytesPerRow(config, length, 0, 1);
        assert.ok(estimate >= peak && estimate <= 3 * peak, `d ${config.dModel}: estimate ${estimate} bytes, measured peak ${peak}`);
        tokens.dispose();
        model.dispose();
      }
    });
  });
}
