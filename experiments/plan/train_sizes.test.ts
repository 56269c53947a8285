import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import '../../methods/index.js';
import { buildTaskSuite } from '../../datasets/tasks.js';
import { resolveExperiment } from './spec.js';

const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..', '..');
const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function file(document: Record<string, unknown>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'peftscale-train-sizes-'));
  dirs.push(dir);
  cpSync(path.join(REPO, 'test', 'fixtures', 'data'), path.join(dir, 'data'), { recursive: true });
  writeFileSync(path.join(dir, 'x.json'), JSON.stringify(document));
  return path.join(dir, 'x.json');
}

function errorOf(document: Record<string, unknown>): string {
  try {
    resolveExperiment(file(document), 'quick');
  } catch (error) {
    return (error as Error).message;
  }
  assert.fail('the experiment resolved');
}

const PT = { method: 'prompt-tuning', options: { length: 4, init: 'class-label' } };
const BASE = { name: 'x', presets: ['ps-nano'], tasks: ['lookup-d2'], seeds: [0, 1], data: { train: 16, dev: 8, test: 8 }, training: { steps: 4, evalEvery: 2 } };
const AXIS = { name: 'data', figure: 'data-size', trainExamples: [4, 12], methods: [PT, { method: 'full' }] };

describe('training-set size as a sweep axis (trainExamples)', () => {
  it('runs every trial of the sweep once per size; other sweeps keep data.train; keys differ by size only', () => {
    const experiment = resolveExperiment(file({ ...BASE, sweeps: [AXIS, { name: 'plain', methods: [PT] }] }), 'quick');
    // 2 methods × 2 sizes × 2 seeds, and prompt tuning at data.train × 2 seeds.
    assert.equal(experiment.trials.length, 2 * 2 * 2 + 2);
    const sizesOf = (sweep: string): number[] => [...new Set(experiment.trials.filter((t) => t.sweeps.includes(sweep)).map((t) => t.config.data.train))].sort((a, b) => a - b);
    assert.deepEqual(sizesOf('data'), [4, 12]);
    assert.deepEqual(sizesOf('plain'), [16]);
    assert.equal(new Set(experiment.trials.map((t) => t.key)).size, experiment.trials.length);
    // Only train changes: dev and test sizes, world and everything else are the experiment's.
    assert.ok(experiment.trials.every((t) => t.config.data.dev === 8 && t.config.data.test === 8));
  });

  it('a smaller training set is a subset of a larger one, and dev and test are the same examples', () => {
    const suite = (train: number) => buildTaskSuite({ seed: 0, worldSize: 60, townCount: 6, sizes: { train, dev: 8, test: 8 }, tasks: ['lookup-d2'] })[0];
    const small = suite(4);
    const large = suite(12);
    const ids = (xs: { id: string }[]): string[] => xs.map((x) => x.id);
    assert.equal(small.splits.train.length, 4);
    assert.ok(ids(small.splits.train).every((id) => ids(large.splits.train).includes(id)));
    assert.deepEqual(ids(small.splits.test), ids(large.splits.test));
    assert.deepEqual(ids(small.splits.dev), ids(large.splits.dev));
  });

  it('trainExamples only on a data-size sweep (other figures draw one point per model and method), and a data-size sweep needs it', () => {
    assert.match(errorOf({ ...BASE, sweeps: [{ ...AXIS, figure: 'scaling' }] }), /sweeps\[0\] \("data"\)\.trainExamples: allowed only on a sweep with "figure": "data-size" and no "control" \(this one: figure "scaling"\)/);
    assert.match(errorOf({ ...BASE, sweeps: [{ ...AXIS, control: true }] }), /\.trainExamples: allowed only on .* \(this one: figure "data-size", control\)/);
    const { trainExamples: _sizes, ...withoutSizes } = AXIS;
    assert.match(errorOf({ ...BASE, sweeps: [withoutSizes] }), /sweeps\[0\] \("data"\)\.figure = "data-size": the sweep needs "trainExamples"/);
  });

  it('a size the world cannot supply, and trainExamples on a task from files, are refused before any work', () => {
    assert.match(errorOf({ ...BASE, sweeps: [{ ...AXIS, trainExamples: [4, 5000] }] }), /sweeps\[0\] \("data"\)\.tasks: "lookup-d2" with data \{"train":5000,"dev":8,"test":8\} .*sizes\.train = 5000 but the train characters .* yield only \d+ examples/);
    const files = { ...BASE, tasks: ['rte'], datasets: { rte: { recipe: 'rte', files: { train: 'data/rte-train.jsonl', dev: 'data/rte-val.jsonl' } } } };
    assert.match(errorOf({ ...files, sweeps: [AXIS] }), /sweeps\[0\] \("data"\)\.trainExamples: task "rte" is read from files, whose training set is set by data\.train; allowed: trainExamples on synthetic tasks/);
  });

  it('hypotheses over several sizes must pick one ("train") or compare them ("axis": "train"), with planned sizes', () => {
    const h = { id: 'D', statement: 's', kind: 'gap-shrinks', statistic: 't', method: PT, baseline: { method: 'full' }, task: 'lookup-d2' };
    const withH = (hypotheses: Record<string, unknown>[]): Record<string, unknown> => ({ ...BASE, sweeps: [AXIS], hypotheses });
    assert.match(errorOf(withH([{ ...h, from: 'smallest', to: 'largest' }])), /hypotheses\[0\] \("D"\): the plan trains prompt-tuning and full on 4, 12 examples; allowed: "train" \(one of them\) or "axis": "train" \(compare them\)/);
    assert.match(errorOf(withH([{ ...h, from: 'smallest', to: 'largest', train: 5 }])), /hypotheses\[0\] \("D"\)\.train = 5: allowed: a training-set size the plan runs prompt-tuning and full on \(4, 12\)/);
    assert.match(errorOf(withH([{ ...h, axis: 'train', at: 'ps-nano', from: '4', to: '7' }])), /\.to = "7": allowed with axis "train": a training-set size the plan runs on ps-nano \(4, 12\) or smallest, largest/);
    assert.match(errorOf(withH([{ ...h, axis: 'train', from: '4', to: '12' }])), /axis "train" needs the field "at"/);
    assert.match(errorOf(withH([{ ...h, axis: 'train', at: 'smallest-where-baseline-clears-chance', from: '4', to: '12' }])), /\.at = "smallest-where-baseline-clears-chance": allowed with axis "train": a preset of the plan, "smallest" or "largest"/);
    assert.match(errorOf(withH([{ id: 'A', statement: 's', kind: 'above-chance', statistic: 't', method: PT, task: 'lookup-d2', at: 'ps-nano', axis: 'train' }])), /\.axis = "train": allowed only for kinds gap-shrinks, effect-shrinks/);
    // Well-formed: one size picked, and two sizes compared on a preset.
    const ok = resolveExperiment(file(withH([{ ...h, axis: 'train', at: 'ps-nano', from: '4', to: 'largest' }, { id: 'B', statement: 's', kind: 'above-chance', statistic: 't', method: PT, task: 'lookup-d2', at: 'ps-nano', train: 4 }])), 'quick');
    assert.equal(ok.hypotheses.length, 2);
  });
});
