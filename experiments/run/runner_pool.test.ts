import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MessageChannel } from 'node:worker_threads';
import { ByteTokenizer } from '../../src/io/tokenizer.js';
import { buildCorpus } from '../../datasets/corpus.js';
import { frequentTokensForTrials, PRETRAIN_PROFILES } from '../pretrain/pretrain_profiles.js';
import { trialMessage } from './runner_pool.js';
import { experimentPath, resolveExperiment, type PlannedTrial } from '../plan/spec.js';
import type { MainMessage } from './worker_protocol.js';

/** Token ids by count in the quick profile's training corpus, most first, ties lower id first: counted here from the corpus itself. */
function countedFromCorpus(seed: number): number[] {
  const tokenizer = new ByteTokenizer();
  const counts = new Map<number, number>();
  for (const text of buildCorpus({ ...PRETRAIN_PROFILES.quick.corpus, seed }).train) {
    for (const id of tokenizer.encode(text)) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  const ids = [...counts.keys()];
  return ids.sort((a, b) => (counts.get(b) as number) - (counts.get(a) as number) || a - b);
}

/** What a worker thread receives: the message after crossing a message port. */
function received(message: MainMessage): Promise<MainMessage> {
  const { port1, port2 } = new MessageChannel();
  return new Promise((resolve) => {
    port2.once('message', (copy: MainMessage) => {
      port1.close();
      resolve(copy);
    });
    port1.postMessage(message);
  });
}

describe('the token frequencies sent with each trial', () => {
  const planned = resolveExperiment(experimentPath('smoke'), 'quick').trials;
  const [first] = planned;
  const otherSeed: PlannedTrial = { ...first, key: 'other-pretrain-seed', config: { ...first.config, pretrainSeed: 1 } };
  const fromCheckpoint: PlannedTrial = { ...first, key: 'from-a-checkpoint', config: { ...first.config, checkpoint: { fingerprint: 'f' } } };
  const trials = [...planned, otherSeed, fromCheckpoint];
  const frequencies = frequentTokensForTrials(trials);

  it('are the pretraining corpus counts of the trial\'s profile and seed, as the worker receives them; none for a checkpoint', async () => {
    const seed0 = countedFromCorpus(0);
    const seed1 = countedFromCorpus(1);
    assert.ok(seed0.length > 20 && seed0.length <= 256, 'byte ids that occur in the corpus');
    assert.notDeepEqual(seed0, seed1, 'another seed is another corpus');
    for (const [trial, expected] of [...planned.map((t) => [t, seed0] as const), [otherSeed, seed1] as const, [fromCheckpoint, []] as const]) {
      const message = await received(trialMessage([trial], '/models/x', '/trials', frequencies));
      assert.equal(message.type, 'trials');
      if (message.type !== 'trials') return;
      assert.deepEqual(message.trials[0].frequentTokens, expected, `${trial.key}: the frequencies the worker gets`);
      assert.equal(message.trials[0].planned.key, trial.key);
    }
  });

  it('are computed once per corpus, for the trials to run only', () => {
    assert.ok(planned.length >= 2);
    for (const trial of planned) assert.equal(frequencies.get(trial.key), frequencies.get(first.key), 'one array shared by every trial on the corpus');
    assert.notEqual(frequencies.get(otherSeed.key), frequencies.get(first.key));
    assert.throws(() => trialMessage([first, { ...first, key: 'not-planned' }], '/models/x', '/trials', frequencies), /no token frequencies for trial not-planned/);
  });
});
