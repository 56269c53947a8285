/**
 * Packing is an execution detail: every packable method's trials, trained packed (different seeds, inits,
 * optimisers, LoRA dropout), give the records they give alone, within float tolerance, on every backend;
 * trials whose rows differ in shape go to separate packs, unpackable ones train alone, and the record
 * names its pack.
 */
import assert from 'node:assert/strict';
import { describe, it, before } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '../../methods/index.js';
import { getMethod, resolveOptions } from '../../src/adapt/peft.js';
import { GPT2 } from '../../src/model/model.js';
import type { TrialConfig, TrialEnvironment, TrialRecord } from '../../src/results/results.js';
import { buildTaskSuite, findTask, type Task } from '../../datasets/tasks.js';
import { testBackends, TINY_CONFIG, useBackend } from '../../test/helpers.js';
import { ByteTokenizer } from '../../src/io/tokenizer.js';
import { runTrial, type TrialResources } from './trial.js';
import { runPackedTrials, type PackedTrialJob } from './packed_trials.js';

const ENVIRONMENT: TrialEnvironment = { backend: 'test', versions: {}, gitHash: 'test', gitDirty: false, machine: { cpu: 'test', cores: 1, memoryBytes: 0, platform: 'test', node: process.version } };
const DATA = { worldSize: 40, townCount: 4, train: 12, dev: 4, test: 4 };
const CONFIG = { ...TINY_CONFIG, contextLength: 96 };

function trialConfig(method: string, options: TrialConfig['options'], seed: number, training: Partial<TrialConfig['training']> = {}): TrialConfig {
  return {
    preset: 'tiny',
    profile: 'quick',
    pretrainSeed: 0,
    modelId: 'tiny-initialised',
    method,
    options: resolveOptions(getMethod(method), options, CONFIG),
    task: 'verify',
    data: DATA,
    seed,
    training: { optimizer: 'adam', learningRate: 3e-2, steps: 4, batchSize: 3, evalEvery: 2, weightDecay: 0, ...training },
  };
}

const prompt = (length: number, init: string): TrialConfig['options'] => ({ length, init, 'init-range': 0.5, 'init-text': '' });
/** A pack per method family, and what must stay apart. */
const JOBS: [string, TrialConfig][] = [
  ['pt-a', trialConfig('prompt-tuning', prompt(4, 'class-label'), 0)],
  ['pt-b', trialConfig('prompt-tuning', prompt(4, 'random-uniform'), 1, { optimizer: 'adafactor', learningRate: 0.3, batchSize: 2 })],
  ['pt-c', trialConfig('prompt-tuning', prompt(4, 'sampled-vocab'), 2)],
  ['pt-short', trialConfig('prompt-tuning', prompt(2, 'class-label'), 0)],
  ['p-tuning', trialConfig('p-tuning', { length: 4, encoder: 'mlp', hidden: 8 }, 0)],
  ['prefix', trialConfig('prefix-tuning', { length: 3, projection: 0 }, 0)],
  ['prefix-projected', trialConfig('prefix-tuning', { length: 3, projection: 8 }, 1)],
  ['lora-a', trialConfig('lora', { rank: 2, alpha: 4, dropout: 0.1, targets: ['c_attn'] }, 0)],
  ['lora-b', trialConfig('lora', { rank: 4, alpha: 4, dropout: 0, targets: ['c_attn', 'mlp.c_fc'] }, 1)],
  ['bitfit', trialConfig('bitfit', {}, 0)],
];

/** Everything a record says about the trial's result (timing, memory, time, packing and the checksum over them left out). */
function result(record: TrialRecord): Omit<TrialRecord, 'timing' | 'memory' | 'finishedAt' | 'packing' | 'lossCurve' | 'checksum'> {
  const { timing: _t, memory: _m, finishedAt: _f, packing: _p, lossCurve: _l, checksum: _c, ...rest } = record;
  return rest;
}

for (const backend of testBackends()) {
  describe(`packed trials [${backend}]`, () => {
    let task: Task;
    before(async () => {
      await useBackend(backend);
      task = findTask(buildTaskSuite({ seed: 0, worldSize: DATA.worldSize, townCount: DATA.townCount, sizes: { train: DATA.train, dev: DATA.dev, test: DATA.test }, tasks: ['verify'] }), 'verify');
    });

    it('give each trial the record it gets alone (within float tolerance) and name the pack', () => {
      const tensorsBefore = tf.memory().numTensors;
      const base = GPT2.initialize(CONFIG, 1);
      const resources: TrialResources = { base, task, tokenizer: new ByteTokenizer(), frequentTokens: [], environment: ENVIRONMENT };
      const methods = new Set(JOBS.map(([, config]) => config.method));
      const jobs: PackedTrialJob[] = JOBS.map(([key, config]) => ({ key, config, sweeps: ['s'], resources: { ...resources, frequentTokens: [...Array(200).keys()] } }));
      const alone = jobs.map((job) => runTrial(job.config, job.key, job.sweeps, job.resources));
      const heard: string[] = [];
      const packed = runPackedTrials(jobs, (record) => heard.push(record.key));
      assert.deepEqual([...heard].sort(), JOBS.map(([key]) => key).sort(), 'every record is heard once');
      packed.forEach((record, i) => {
        assert.ok(!(record instanceof Error), `${JOBS[i][0]}: ${record instanceof Error ? record.message : ''}`);
        const own = alone[i];
        assert.deepEqual(result(record), result(own), `${record.key}: the same record as alone`);
        assert.deepEqual(record.lossCurve.map(([step]) => step), own.lossCurve.map(([step]) => step));
        record.lossCurve.forEach(([step, loss], j) => {
          const expected = own.lossCurve[j][1];
          assert.ok(Math.abs(loss - expected) <= 1e-4 * Math.max(1, Math.abs(expected)), `${record.key} loss at step ${step}: ${loss} packed, ${expected} alone`);
        });
        assert.ok(record.dev.bestStep > 0 || record.key === 'bitfit' || record.devCurve.length > 1, `${record.key} trained`);
      });
      const packing = Object.fromEntries(packed.map((record) => [(record as TrialRecord).key, (record as TrialRecord).packing]));
      assert.deepEqual(packing['pt-a'], { size: 4, keys: ['pt-a', 'pt-b', 'pt-c', 'p-tuning'], rows: 11 }, 'same prompt length: prompt tuning and P-tuning share a pack, whatever their batch size and optimiser');
      assert.deepEqual(packing['prefix'], { size: 2, keys: ['prefix', 'prefix-projected'], rows: 6 });
      assert.deepEqual(packing['lora-a'], { size: 2, keys: ['lora-a', 'lora-b'], rows: 6 });
      assert.equal(packing['pt-short'], undefined, 'a prompt of another length trains in a pack of its own (here alone)');
      assert.equal(packing['bitfit'], undefined, 'a method that trains base weights never packs');
      assert.ok(methods.size >= 5);
      base.dispose();
      assert.equal(tf.memory().numTensors, tensorsBefore, 'no tensor leaks');
    });

    it('a trial that fails to start fails alone; a diverging trial leaves its pack, the others go on', () => {
      const base = GPT2.initialize(CONFIG, 1);
      const resources: TrialResources = { base, task, tokenizer: new ByteTokenizer(), frequentTokens: [], environment: ENVIRONMENT };
      const jobs: PackedTrialJob[] = [
        { key: 'ok', config: trialConfig('lora', {}, 0), sweeps: [], resources },
        { key: 'too-long', config: trialConfig('prompt-tuning', prompt(95, 'random-uniform'), 0), sweeps: [], resources },
        { key: 'diverges', config: trialConfig('lora', {}, 1, { optimizer: 'sgd', learningRate: 1e30 }), sweeps: [], resources },
      ];
      const [ok, tooLong, diverges] = runPackedTrials(jobs);
      assert.ok(tooLong instanceof Error && /leave no room for input/.test(tooLong.message), String(tooLong));
      assert.ok(!(diverges instanceof Error) && diverges.status === 'diverged', `the blow-up is recorded: ${JSON.stringify(diverges instanceof Error ? diverges.message : diverges.devCurve)}`);
      const alone = runTrial(jobs[0].config, 'ok', [], resources);
      assert.ok(!(ok instanceof Error));
      assert.deepEqual(result(ok), result(alone), 'the other trial is unaffected');
      assert.deepEqual(ok.packing, { size: 2, keys: ['ok', 'diverges'], rows: 6 });
      base.dispose();
    });
  });
}
