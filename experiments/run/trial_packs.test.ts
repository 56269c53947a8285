/**
 * The runner's packs on the shipped default experiment (scaling profile): every trial runs once; a pack
 * shares frozen model, task, schedule and declared positions, holds at most the cap's rows, and is one of
 * near-equal packs; methods that do not declare packing, or train base weights, run alone; a cap of 0 turns
 * packing off.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findPreset } from '../../src/model/config.js';
import { getMethod } from '../../src/adapt/peft.js';
import { experimentPath, resolveExperiment, type PlannedTrial } from '../plan/spec.js';
import { packGroup, packTrials } from './trial_packs.js';

const modelConfig = (trial: PlannedTrial): ReturnType<typeof findPreset>['config'] => findPreset(trial.config.preset).config;

describe('trial packs', () => {
  const trials = resolveExperiment(experimentPath('default'), 'scaling').trials;

  it('cover every trial once; packs share what packing needs and hold at most the cap', () => {
    const jobs = packTrials(trials, { maxRows: 64, workers: 2, modelConfig });
    assert.deepEqual(jobs.flat().map((t) => t.key).sort(), trials.map((t) => t.key).sort());
    const packs = jobs.filter((job) => job.length > 1);
    assert.ok(packs.length > 0);
    for (const pack of packs) {
      assert.equal(new Set(pack.map((t) => packGroup(t, modelConfig(t)))).size, 1, 'one group per pack');
      assert.ok(pack.reduce((sum, t) => sum + t.config.training.batchSize, 0) <= 64);
      assert.ok(pack.every((t) => getMethod(t.config.method).packing !== undefined));
    }
    // Per group: the packs the cap needs (there are more jobs than workers), sizes differing by at most one.
    const groups = new Map<string, PlannedTrial[][]>();
    for (const job of jobs) {
      const group = packGroup(job[0], modelConfig(job[0]));
      if (group !== null) groups.set(group, [...(groups.get(group) ?? []), job]);
    }
    for (const [group, members] of groups) {
      const n = members.flat().length;
      assert.equal(members.length, Math.ceil((8 * n) / 64), group);
      const sizes = members.map((job) => job.length);
      assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `${group}: ${sizes}`);
    }
    // ps-small prompt tuning at length 20: class-label, random-uniform, sampled-vocab × 3 seeds → 9 trials, 72 rows: two packs of 4 and 5.
    const small20 = jobs.filter((job) => job[0].config.preset === 'ps-small' && job[0].config.method === 'prompt-tuning' && job[0].config.options.length === 20 && job[0].config.control !== true);
    assert.deepEqual(small20.map((job) => job.length).sort(), [4, 5]);
    assert.equal(jobs.filter((job) => job.some((t) => t.config.method === 'full')).every((job) => job.length === 1), true, 'full tuning trains base weights: alone');
  });

  it('split further only while there are fewer jobs than workers; none with a cap of 0 or 1', () => {
    const nano = trials.filter((t) => t.config.preset === 'ps-nano' && t.config.method === 'prompt-tuning' && t.config.control !== true);
    assert.ok(nano.length >= 4);
    assert.equal(packTrials(nano, { maxRows: 1024, workers: 1, modelConfig }).length, 1);
    assert.deepEqual(packTrials(nano, { maxRows: 1024, workers: 2, modelConfig }).map((job) => job.length), [Math.floor(nano.length / 2), Math.ceil(nano.length / 2)]);
    for (const maxRows of [0, 1]) assert.ok(packTrials(trials, { maxRows, workers: 2, modelConfig }).every((job) => job.length === 1));
    assert.ok(packTrials(nano, { maxRows: 8, workers: 1, modelConfig }).every((job) => job.length === 1), 'a batch of 8 reaches a cap of 8: alone');
  });
});
