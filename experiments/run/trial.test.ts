import assert from 'node:assert/strict';
import { describe, it, before } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '../../methods/index.js';
import { GPT2 } from '../../src/model/model.js';
import type { TrialConfig, TrialEnvironment } from '../../src/results/results.js';
import { buildTaskSuite, findTask } from '../../datasets/tasks.js';
import { bytesOf, testBackends, TINY_CONFIG, useBackend } from '../../test/helpers.js';
import { methodContext, runTrial } from './trial.js';
import { virtualPositions } from './trial_scoring.js';
import { AdaptedModel } from '../../src/adapt/adapted.js';
import { getMethod, resolveOptions } from '../../src/adapt/peft.js';
import { ByteTokenizer } from '../../src/io/tokenizer.js';

const ENVIRONMENT: TrialEnvironment = {
  backend: 'test',
  versions: {},
  gitHash: 'test',
  gitDirty: false,
  machine: { cpu: 'test', cores: 1, memoryBytes: 0, platform: 'test', node: process.version },
};
const DATA = { worldSize: 40, townCount: 4, train: 16, dev: 8, test: 12 };
const CONFIG = { ...TINY_CONFIG, contextLength: 96 };

function trialConfig(method: string, options: TrialConfig['options'], training: Partial<TrialConfig['training']> = {}): TrialConfig {
  return {
    preset: 'tiny',
    profile: 'quick',
    pretrainSeed: 0,
    modelId: 'tiny-initialised',
    method,
    options,
    task: 'verify',
    data: DATA,
    seed: 0,
    training: { optimizer: 'adam', learningRate: 1e-2, steps: 12, batchSize: 4, evalEvery: 4, weightDecay: 0, ...training },
  };
}

for (const backend of testBackends()) {
  describe(`a trial [${backend}]`, () => {
    before(async () => useBackend(backend));
    const task = (): ReturnType<typeof findTask> =>
      findTask(buildTaskSuite({ seed: 0, worldSize: DATA.worldSize, townCount: DATA.townCount, sizes: { train: DATA.train, dev: DATA.dev, test: DATA.test }, tasks: ['verify'] }), 'verify');

    it('counts key/value prefix positions as taken context, like input prompt positions', () => {
      // Prefix tuning's keys and values are past tokens (model.ts): a trial must leave room for them.
      const base = GPT2.initialize(CONFIG, 1);
      const positions = (method: string, raw: Record<string, string>): string => {
        const peft = getMethod(method);
        const adapted = AdaptedModel.create(base, peft, resolveOptions(peft, raw, base.config), methodContext(base, task(), 0, [], new ByteTokenizer()));
        const { input, attention } = virtualPositions(() => adapted.hooks(), base.config);
        const count = `${input}+${attention}`;
        adapted.dispose();
        return count;
      };
      assert.equal(positions('prefix-tuning', { length: '7' }), '0+7');
      assert.equal(positions('prompt-tuning', { length: '5' }), '5+0');
      assert.equal(positions('lora', {}), '0+0');
      base.dispose();
    });

    it('trains, keeps the best dev checkpoint, scores test, and leaves the frozen model bit-identical', () => {
      const tensorsBefore = tf.memory().numTensors;
      const base = GPT2.initialize(CONFIG, 1);
      const before = new Map([...base.parameters()].map(([name, tensor]) => [name, bytesOf(tensor)]));
      const record = runTrial(trialConfig('prompt-tuning', { length: 4, init: 'class-label', 'init-range': 0.5, 'init-text': '' }, { optimizer: 'adafactor', learningRate: 0.3 }), 'k', ['s'], {
        base,
        task: task(),
        tokenizer: new ByteTokenizer(),
        frequentTokens: [],
        environment: ENVIRONMENT,
      });
      for (const [name, bytes] of before) assert.deepEqual(bytesOf(base.parameter(name)), bytes, `${name} unchanged`);
      assert.equal(record.status, 'finished');
      assert.deepEqual(record.lossCurve.map(([step]) => step), [4, 8, 12]);
      assert.deepEqual(record.devCurve.map(([step]) => step), [0, 4, 8, 12]);
      const bestDev = Math.max(...record.devCurve.map(([, accuracy]) => accuracy));
      assert.equal(record.dev.accuracy, bestDev);
      assert.equal(record.devCurve.find(([, accuracy]) => accuracy === bestDev)?.[0], record.dev.bestStep, 'the first step with the best dev score');
      assert.equal(record.test.examples, DATA.test);
      assert.ok(record.test.accuracy >= 0 && record.test.accuracy <= 1);
      assert.equal(record.parameters.trainable, 4 * CONFIG.dModel);
      assert.equal(record.parameters.adapterBytes, 4 * 4 * CONFIG.dModel);
      assert.ok(record.timing.tokensPerRow > 4, 'virtual positions count as tokens');
      assert.ok(record.memory.peakTensorBytes > 0);
      // The last step's scores beside the chosen ones, and whether training beat the init on dev.
      assert.equal(record.gainOverInit, record.dev.bestStep > 0);
      assert.equal(record.final?.step, 12);
      assert.equal(record.final?.dev, record.devCurve[record.devCurve.length - 1][1]);
      assert.ok(record.final !== null && record.final.test >= 0 && record.final.test <= 1);
      if (record.dev.bestStep === 12) assert.equal(record.final?.test, record.test.accuracy);
      base.dispose(); // (the base model caches its causal masks: they go with it)
      assert.equal(tf.memory().numTensors, tensorsBefore, 'no tensor leaks');
    });

    it('records a trial whose loss turns infinite or NaN as diverged, with its step', () => {
      const base = GPT2.initialize(CONFIG, 1);
      const record = runTrial(trialConfig('full', {}, { optimizer: 'sgd', learningRate: 1e12, steps: 8, evalEvery: 8 }), 'k', ['s'], { base, task: task(), tokenizer: new ByteTokenizer(), frequentTokens: [], environment: ENVIRONMENT });
      assert.equal(record.status, 'diverged');
      assert.ok(record.divergedAt !== null && record.divergedAt.step >= 1 && record.divergedAt.step <= 8);
      assert.ok(!Number.isFinite(record.divergedAt?.loss ?? 0));
      assert.equal(record.dev.bestStep, 0, 'no evaluation after the blow-up: the initial weights are the best checkpoint');
      assert.ok(Number.isFinite(record.test.accuracy));
      assert.equal(record.gainOverInit, false);
      assert.ok(record.final !== null && Number.isNaN(record.final.test), 'a diverged model has no last-step test score');
      base.dispose();
    });

    it('flags a trial whose training never beat its init on dev: no gain over init, the init reported as such', () => {
      const base = GPT2.initialize(CONFIG, 1);
      // A step of 1e-30 leaves float32 weights unchanged: dev stays where it started, so step 0 is kept.
      const record = runTrial(trialConfig('prompt-tuning', { length: 4, init: 'sampled-vocab', 'init-range': 0.5, 'init-text': '' }, { optimizer: 'sgd', learningRate: 1e-30 }), 'k', ['s'], {
        base,
        task: task(),
        tokenizer: new ByteTokenizer(),
        frequentTokens: [],
        environment: ENVIRONMENT,
      });
      assert.equal(record.status, 'finished');
      assert.ok(record.devCurve.every(([, accuracy]) => accuracy === record.devCurve[0][1]), 'dev never moved');
      assert.equal(record.dev.bestStep, 0);
      assert.equal(record.gainOverInit, false);
      assert.deepEqual(record.final, { step: 12, dev: record.devCurve[0][1], test: record.test.accuracy });
      base.dispose();
    });

    it('prompt design trains nothing and is scored once', () => {
      const base = GPT2.initialize(CONFIG, 1);
      const record = runTrial(trialConfig('prompt-design', { template: 'Hi.', shots: 1, 'prompt-tokens': [] }), 'k', ['s'], { base, task: task(), tokenizer: new ByteTokenizer(), frequentTokens: [], environment: ENVIRONMENT });
      assert.equal(record.parameters.trainable, 0);
      assert.deepEqual(record.lossCurve, []);
      assert.deepEqual(record.devCurve.map(([step]) => step), [0]);
      assert.equal(record.timing.trainSeconds, 0);
      assert.equal(record.gainOverInit, null, 'nothing trains: no gain flag');
      assert.deepEqual(record.final, { step: 0, dev: record.dev.accuracy, test: record.test.accuracy });
      base.dispose();
    });
  });
}
