/**
 * Prompt ensembles: the vote and its tie-break on constructed cases (the ensemble right where each
 * single prompt is wrong somewhere), and the one-batch evaluation on a real model agreeing with each
 * prompt scored alone.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { ensembleFromScores, evaluateEnsemble, majorityVote, type EnsembleExample } from './ensemble.js';
import { GPT2 } from '../model/model.js';
import { argmax, labelRows, sequenceScores } from './scoring.js';
import { SPECIAL_TOKENS } from '../io/tokenizer.js';
import { randomPrompt, sensitiveBase, testBackends, TINY_CONFIG, useBackend } from '../../test/helpers.js';

/** Scores [L] for a prompt that predicts `label` with a margin: the chosen label 0, the others -margin. */
function picks(label: number, labels: number, margin = 1): number[] {
  return Array.from({ length: labels }, (_, l) => (l === label ? 0 : -margin));
}

describe('majority vote', () => {
  it('takes the label with the most votes', () => {
    assert.deepEqual(majorityVote([2, 0, 2], [0, 0, 0]), { label: 2, tied: false });
    assert.deepEqual(majorityVote([1], [-5, -1]), { label: 1, tied: false });
  });
  it('breaks a tie by the highest summed score among the tied labels, then by the lowest index', () => {
    // Labels 0 and 2 tie at two votes; label 1 has the best sum but is not tied, so it cannot win.
    assert.deepEqual(majorityVote([0, 2, 2, 0, 1], [-3, -0.5, -2]), { label: 2, tied: true });
    assert.deepEqual(majorityVote([0, 2, 2, 0, 1], [-1, -0.5, -2]), { label: 0, tied: true });
    // Equal sums: the lowest index.
    assert.deepEqual(majorityVote([1, 0], [-1, -1]), { label: 0, tied: true });
    assert.deepEqual(majorityVote([2, 1, 0], [-4, -4, -4]), { label: 0, tied: true });
  });
  it('refuses predictions outside the labels', () => {
    assert.throws(() => majorityVote([0, 3], [0, 0]), /prediction 1 is 3; allowed: a label index 0\.\.1/);
    assert.throws(() => majorityVote([], [0, 0]), /no predictions/);
  });
});

describe('ensemble accuracies from scores', () => {
  it('votes right on every example although each prompt is wrong on some', () => {
    // predictions per example (prompts 0, 1, 2) and the right answer:
    const cases: [number[], number][] = [
      [[0, 0, 1], 0], // prompt 2 wrong
      [[0, 1, 0], 0], // prompt 1 wrong
      [[1, 0, 0], 0], // prompt 0 wrong
      [[1, 1, 0], 1], // prompt 2 wrong
    ];
    const result = ensembleFromScores(
      cases.map(([predictions]) => predictions.map((label) => picks(label, 2))),
      cases.map(([, answer]) => answer),
    );
    assert.deepEqual(result.predictions, [
      [0, 0, 1, 1],
      [0, 1, 0, 1],
      [1, 0, 0, 0],
    ]);
    assert.deepEqual(result.perPrompt, [0.75, 0.75, 0.5]);
    assert.equal(result.average, 2 / 3);
    assert.equal(result.best, 0.75);
    assert.equal(result.bestPrompt, 0);
    assert.deepEqual(result.votes, [0, 0, 0, 1]);
    assert.equal(result.ensemble, 1);
    assert.equal(result.tiedVotes, 0);
    assert.equal(result.prompts, 3);
    assert.equal(result.examples, 4);
  });
  it('settles 2-2 ties by the summed scores, and can be worse than the best prompt', () => {
    // Four prompts, three labels. Example 0: labels 0 and 1 tie at two votes; prompts 2 and 3 are
    // very sure of label 1, prompts 0 and 1 barely prefer 0, so the sum picks 1 (the answer).
    // Example 1: a 2-2 tie with identical sums goes to label 0 (answer 2: wrong).
    const scores = [
      [picks(0, 3, 0.1), picks(0, 3, 0.1), picks(1, 3, 5), picks(1, 3, 5)],
      [picks(0, 3), picks(2, 3), picks(0, 3), picks(2, 3)],
    ];
    const result = ensembleFromScores(scores, [1, 2]);
    assert.deepEqual(result.votes, [1, 0]);
    assert.equal(result.tiedVotes, 2);
    assert.deepEqual(result.perPrompt, [0, 0.5, 0.5, 1]);
    assert.equal(result.best, 1);
    assert.equal(result.bestPrompt, 3);
    assert.equal(result.ensemble, 0.5);
  });
  it('refuses ragged scores', () => {
    assert.throws(() => ensembleFromScores([[picks(0, 2)], [picks(0, 2), picks(1, 2)]], [0, 0]), /example 1 has scores of 2 prompts, example 0 of 1/);
    assert.throws(() => ensembleFromScores([[picks(0, 2)]], [0, 1]), /1 examples of scores, 2 answers/);
  });
});

for (const backend of testBackends()) {
  describe(`evaluateEnsemble on ${backend}`, () => {
    /**
     * Six examples whose labels are the three next tokens the bare model finds most likely (nearly tied,
     * so the prompts decide), plus a two-token label (rows of different lengths); answers cycle.
     */
    function makeExamples(base: GPT2): EnsembleExample[] {
      return Array.from({ length: 6 }, (_, e) => {
        const context = Array.from({ length: 4 + e }, (_, t) => (e * 31 + t * 7 + 5) % 256);
        const next = tf.tidy(() => {
          const logits = base.forward(tf.tensor2d([[SPECIAL_TOKENS.endOfText, ...context]], [1, context.length + 1], 'int32')); // [1, T, V]
          return Array.from(tf.slice(logits, [0, context.length, 0], [1, 1, 256]).dataSync());
        });
        const top = [...next.keys()].sort((a, b) => next[b] - next[a]).slice(0, 3);
        return { context, labels: [[top[0]], [top[1]], [top[2]], [top[0], top[1]]], answer: e % 3 };
      });
    }

    it('in one batch per chunk, each prompt predicts what it predicts scored alone, and the vote follows', async () => {
      await useBackend(backend);
      const base = sensitiveBase(21);
      const prompts = [0, 1, 2].map((seed) => randomPrompt(3, seed));
      evaluateEnsemble(base, prompts, makeExamples(base), { batchSize: 7 }); // caches the model's causal masks for these shapes
      const tensorsBefore = tf.memory().numTensors;
      const examples = makeExamples(base);
      const result = evaluateEnsemble(base, prompts, examples, { batchSize: 7 }); // chunks of 7 rows cut across examples
      assert.equal(tf.memory().numTensors, tensorsBefore, 'evaluateEnsemble leaks tensors');
      const alone = prompts.map((prompt) =>
        examples.map((example) => sequenceScores((tokens, positions) => base.logitsAt(tokens, positions, { hooks: { inputPrefix: () => prompt } }), labelRows(example.context, example.labels), { batchSize: 64 })),
      );
      const expected = alone.map((perExample) => perExample.map((scores) => argmax(scores)));
      assert.deepEqual(result.predictions, expected);
      const accuracies = expected.map((predicted) => predicted.filter((label, e) => label === examples[e].answer).length / examples.length);
      assert.deepEqual(result.perPrompt, accuracies);
      assert.equal(result.best, Math.max(...accuracies));
      examples.forEach((_, e) => {
        const summed = [0, 1, 2, 3].map((l) => alone.reduce((sum, perExample) => sum + perExample[e][l], 0));
        assert.equal(result.votes[e], majorityVote(expected.map((p) => p[e]), summed).label, `example ${e}`);
      });
      assert.equal(result.ensemble, result.votes.filter((label, e) => label === examples[e].answer).length / examples.length);
      // The prompts disagree somewhere, so the test exercises the vote rather than copying one prompt.
      assert.ok(examples.some((_, e) => new Set(expected.map((p) => p[e])).size > 1), 'all prompts agree on every example');
      for (const p of prompts) p.dispose();
      base.dispose();
    });

    it('N copies of one prompt vote exactly as that prompt', async () => {
      await useBackend(backend);
      const base = sensitiveBase(22);
      const prompt = randomPrompt(2, 9);
      const result = evaluateEnsemble(base, [prompt, prompt, prompt], makeExamples(base), { batchSize: 64 });
      assert.deepEqual(result.votes, result.predictions[0]);
      assert.deepEqual(result.predictions[1], result.predictions[0]);
      assert.equal(result.ensemble, result.perPrompt[0]);
      assert.equal(result.tiedVotes, 0);
      prompt.dispose();
      base.dispose();
    });

    it('names what is wrong with its inputs', async () => {
      await useBackend(backend);
      const base = GPT2.initialize(TINY_CONFIG, 23);
      const examples = makeExamples(base);
      const [a, b] = [tf.zeros([2, 16]), tf.zeros([3, 16])];
      assert.throws(() => evaluateEnsemble(base, [a, b], examples, { batchSize: 8 }), /prompts must all be \[k, 16\] with one k, got \[2,16\], \[3,16\]/);
      assert.throws(() => evaluateEnsemble(base, [], examples, { batchSize: 8 }), /no prompts/);
      assert.throws(() => evaluateEnsemble(base, [a], examples, { batchSize: 0 }), /batchSize = 0: allowed: an integer ≥ 1/);
      assert.throws(() => evaluateEnsemble(base, [a], [{ ...examples[0], answer: 4 }], { batchSize: 8 }), /example 0 has answer 4; allowed: a label index 0\.\.3/);
      a.dispose();
      b.dispose();
      base.dispose();
    });
  });
}
