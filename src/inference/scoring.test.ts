import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { GPT2 } from '../model/model.js';
import { argmax, labelRows, padRows, scoreFromLogits, scoringBatches, sequenceScores, sharedContextScores } from './scoring.js';
import { SPECIAL_TOKENS } from '../io/tokenizer.js';
import { testBackends, TINY_CONFIG, useBackend } from '../../test/helpers.js';

for (const backend of testBackends()) {
  describe(`label-word scoring [${backend}]`, () => {
    before(async () => useBackend(backend));

    it('sums the log-probabilities of the target tokens, each predicted from the position before it', () => {
      // Vocabulary of 3; position t's logits predict token t + 1.
      const logits = tf.tensor3d([[[0, 0, 0], [Math.log(3), 0, 0], [0, 0, 0]]]);
      const scores = scoreFromLogits(logits, [{ tokens: [2, 0, 1], targetStart: 1 }]);
      // p(0 | pos 0) = 1/3; p(1 | pos 1) = 1/(3 + 1 + 1) = 0.2.
      assert.ok(Math.abs(scores[0] - (Math.log(1 / 3) + Math.log(0.2))) < 1e-5, `${scores[0]}`);
      logits.dispose();
    });

    it('a row scores the same alone and right-padded in a batch with longer rows', () => {
      const model = GPT2.initialize(TINY_CONFIG, 3);
      const rows = [...labelRows([10, 11, 12], [[20], [21, 22, 23]]), ...labelRows([30, 31, 32, 33, 34, 35, 36], [[40, 41]])];
      const logitsAt = (tokens: tf.Tensor2D, positions: Int32Array): tf.Tensor2D => model.logitsAt(tokens, positions);
      const batched = sequenceScores(logitsAt, rows, { batchSize: 3 });
      const alone = rows.map((row) => sequenceScores(logitsAt, [row], { batchSize: 1 })[0]);
      for (let i = 0; i < rows.length; i++) assert.ok(Math.abs(batched[i] - alone[i]) < 1e-4, `row ${i}: ${batched[i]} vs ${alone[i]}`);
      const padded = padRows(rows);
      assert.deepEqual(padded.shape, [3, 10]);
      assert.equal(padded.arraySync()[0][5], SPECIAL_TOKENS.pad);
      padded.dispose();
      model.dispose();
    });

    it('scores from the head at the scored positions equal scores from the whole-vocabulary logits', () => {
      const model = GPT2.initialize(TINY_CONFIG, 5);
      const rows = [...labelRows([10, 11, 12], [[20], [21, 22, 23]]), ...labelRows([30, 31, 32, 33, 34, 35, 36], [[40, 41]]), ...labelRows([7], [[8, 9]])];
      const tokens = padRows(rows);
      const logits = model.forward(tokens); // [B, T, V]: the old path
      const old = scoreFromLogits(logits, rows);
      const headed = sequenceScores((t, positions) => model.logitsAt(t, positions), rows, { batchSize: 64 });
      assert.equal(headed.length, rows.length);
      for (let i = 0; i < rows.length; i++) assert.ok(Math.abs(headed[i] - old[i]) < 1e-5, `row ${i}: ${headed[i]} vs ${old[i]}`);
      tokens.dispose();
      logits.dispose();
      model.dispose();
    });

    it('single-token labels scored from one shared row per context equal one row per label', () => {
      const model = GPT2.initialize(TINY_CONFIG, 6);
      const contexts = [[10, 11, 12], [30, 31, 32, 33, 34, 35, 36], [7], [50, 51]];
      const labelIds = [20, 21, 99];
      const logitsAt = (tokens: tf.Tensor2D, positions: Int32Array): tf.Tensor2D => model.logitsAt(tokens, positions);
      const shared = sharedContextScores(logitsAt, contexts, labelIds, { batchSize: 3 });
      const perLabel = sequenceScores(logitsAt, contexts.flatMap((context) => labelRows(context, labelIds.map((id) => [id]))), { batchSize: 64 });
      assert.equal(shared.length, contexts.length);
      shared.forEach((scores, e) => scores.forEach((score, l) => assert.ok(Math.abs(score - perLabel[e * 3 + l]) < 1e-5, `example ${e} label ${l}: ${score} vs ${perLabel[e * 3 + l]}`)));
      model.dispose();
    });

    it('batches follow memory: at most batchSize rows, and no more than memoryBytes / rowBytes(longest row)', () => {
      const rows = [5, 5, 5, 9, 9, 3, 3, 3, 3].map((n) => ({ tokens: Array.from({ length: n }, () => 1), targetStart: 1 }));
      assert.deepEqual(scoringBatches(rows, { batchSize: 64 }), [9]);
      assert.deepEqual(scoringBatches(rows, { batchSize: 4 }), [4, 4, 1]);
      // 100 bytes a token: a batch of 2 rows of 9 tokens (1,800) fits 2,000, a third row does not.
      const byMemory = scoringBatches(rows, { batchSize: 64, rowBytes: (length) => 100 * length, memoryBytes: 2000 });
      assert.deepEqual(byMemory, [3, 2, 4]);
      // A row larger than the budget still gets a batch of its own.
      assert.deepEqual(scoringBatches(rows.slice(3, 5), { batchSize: 64, rowBytes: () => 1e9, memoryBytes: 10 }), [1, 1]);
      assert.throws(() => scoringBatches(rows, { batchSize: 0 }), /batchSize = 0: allowed: an integer ≥ 1/);
    });

    it('label rows start with <|endoftext|> and score only the label', () => {
      assert.deepEqual(labelRows([5, 6], [[7, 8]]), [{ tokens: [SPECIAL_TOKENS.endOfText, 5, 6, 7, 8], targetStart: 3 }]);
      assert.throws(() => labelRows([5], [[]]), /a label has no tokens/);
      const logits = tf.zeros([1, 2, 4]) as tf.Tensor3D;
      assert.throws(() => scoreFromLogits(logits, [{ tokens: [1, 2], targetStart: 0 }]), /targetStart 0 must be in \[1, 1\]/);
      logits.dispose();
    });

    it('argmax takes the first of ties and refuses NaN', () => {
      assert.equal(argmax([1, 3, 3]), 1);
      assert.equal(argmax([-Infinity, -1]), 1);
      assert.throws(() => argmax([NaN, -1]), /value 0 .* is NaN/);
      assert.throws(() => argmax([2, NaN]), /value 1 .* is NaN/);
      assert.equal(argmax([]), -1);
    });
  });
}
