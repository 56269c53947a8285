import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import '../../methods/index.js';
import { TASK_NAMES } from '../../datasets/tasks.js';
import { EXPERIMENT_SCHEMA, validate } from './schema.js';
import { defaultProfile, EXPERIMENTS_DIR, experimentPath, mergeDocuments, optionCombinations, resolveExperiment, shippedExperiments, trialKey } from './spec.js';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Writes experiment files into a fresh folder; returns the path of the first. */
function files(contents: Record<string, unknown>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'peftscale-spec-'));
  dirs.push(dir);
  for (const [name, value] of Object.entries(contents)) writeFileSync(path.join(dir, name), JSON.stringify(value));
  return path.join(dir, Object.keys(contents)[0]);
}

const TWO_METHODS = [{ name: 'main', methods: [{ method: 'lora' }, { method: 'prompt-tuning', sweep: { length: [1, 5] } }] }];

describe('experiment files', () => {
  it('the shipped schema.json is the schema the code validates with', () => {
    assert.deepEqual(JSON.parse(readFileSync(path.join(EXPERIMENTS_DIR, 'schema.json'), 'utf8')), EXPERIMENT_SCHEMA);
  });

  it('an experiment file may name the profile used when --profile is not given (finding: scaling; else quick)', () => {
    assert.equal(defaultProfile(experimentPath('finding')), 'scaling');
    assert.equal(defaultProfile(experimentPath('default')), 'quick');
  });

  it('every shipped experiment resolves under every profile', () => {
    assert.deepEqual(shippedExperiments(), ['control', 'data-size', 'default', 'ensemble', 'finding', 'gpu', 'init', 'prompt-length', 'replication', 'replication-b', 'scaling', 'skill-attempt', 'smoke', 'tiny-files']);
    // gpu needs SuperGLUE files and checkpoint folders that a clone lacks: experiments/plan/files.test.ts plans it from fixtures.
    for (const name of shippedExperiments().filter((n) => n !== 'gpu')) {
      for (const profile of ['quick', 'scaling', 'full']) assert.ok(resolveExperiment(experimentPath(name), profile).trials.length > 0, `${name} ${profile}`);
    }
  });

  it('the scaling profile: 4 presets (20x), 3 seeds, 1,500 steps; length sweep on the largest two, init on the smallest and largest two', () => {
    const experiment = resolveExperiment(experimentPath('default'), 'scaling');
    assert.deepEqual(experiment.presets, ['ps-nano', 'ps-micro', 'ps-mini', 'ps-small']);
    const presetsOf = (sweep: string) => [...new Set(experiment.trials.filter((t) => t.sweeps.includes(sweep)).map((t) => t.config.preset))].sort();
    assert.deepEqual(presetsOf('prompt-length'), ['ps-mini', 'ps-small']);
    assert.deepEqual(presetsOf('init'), ['ps-mini', 'ps-nano', 'ps-small']);
    assert.ok(experiment.trials.every((t) => t.config.training.steps >= 1500 && [0, 1, 2].includes(t.config.seed)));
    const lengths = new Set(experiment.trials.filter((t) => t.sweeps.includes('prompt-length')).map((t) => t.config.options.length));
    assert.deepEqual([...lengths].sort((a, b) => Number(a) - Number(b)), [1, 5, 20, 50, 100]);
  });

  it('expands the default quick experiment: scaling, prompt length and init share trials', () => {
    const experiment = resolveExperiment(experimentPath('default'), 'quick');
    // 3 presets × 2 seeds × 1 task × (7 scaling methods + 4 more prompt lengths + 2 more inits), and the 7 methods on ps-nano's never-trained control.
    assert.equal(experiment.trials.length, 3 * 2 * 1 * (7 + 4 + 2) + 2 * 7);
    assert.deepEqual(experiment.presets, ['ps-nano', 'ps-micro', 'ps-mini']);
    assert.deepEqual(
      experiment.sweeps.map((s) => [s.name, s.figure]),
      [
        ['scaling', 'scaling'],
        ['prompt-length', 'prompt-length'],
        ['init', 'init'],
        ['control', 'control'],
      ],
    );
    const shared = experiment.trials.filter((t) => t.sweeps.length === 3);
    assert.equal(shared.length, 6, 'prompt tuning, 20 tokens, class-label init: in all three sweeps, per preset and seed');
    for (const trial of shared) assert.deepEqual([trial.config.method, trial.config.options.length, trial.config.options.init], ['prompt-tuning', 20, 'class-label']);
    assert.equal(new Set(experiment.trials.map((t) => t.key)).size, experiment.trials.length, 'keys are unique');
    const promptTuning = experiment.trials.find((t) => t.config.method === 'prompt-tuning');
    assert.deepEqual([promptTuning?.config.training.optimizer, promptTuning?.config.training.learningRate, promptTuning?.config.training.weightDecay], ['adam', 1e-2, 0], 'prompt tuning: Adam 1e-2, not Adafactor 0.3 (docs/methods.md)');
  });

  it('the ensemble experiment keeps five prompts per configuration under both profiles, and turns voting on', () => {
    for (const profile of ['quick', 'full']) {
      const experiment = resolveExperiment(experimentPath('ensemble'), profile);
      assert.equal(experiment.ensemble, true);
      assert.deepEqual([...new Set(experiment.trials.map((t) => t.config.seed))], [0, 1, 2, 3, 4], profile);
    }
  });

  it('the full profile covers every preset, 3 seeds, every skill at template distance 2 and infer', () => {
    const experiment = resolveExperiment(experimentPath('scaling'), 'full');
    assert.equal(experiment.presets.length, 6);
    const tasks = ['infer', 'lookup-d2', 'recall-d2', 'versus-d2'];
    assert.ok(tasks.every((t) => TASK_NAMES.includes(t)));
    assert.equal(experiment.trials.length, 6 * 3 * tasks.length * 7);
    assert.deepEqual([...new Set(experiment.trials.map((t) => t.config.task))].sort(), tasks);
  });

  it('merges includes: objects deeply, lists replaced, sweeps by name', () => {
    const merged = mergeDocuments(
      { training: { steps: 10, batchSize: 4 }, seeds: [0, 1], sweeps: [{ name: 'a', presets: ['ps-nano'] }, { name: 'b' }] },
      { training: { steps: 20 }, seeds: [5], sweeps: [{ name: 'a', tasks: ['verify'] }, { name: 'c' }] },
    );
    assert.deepEqual(merged, {
      training: { steps: 20, batchSize: 4 },
      seeds: [5],
      sweeps: [{ name: 'a', presets: ['ps-nano'], tasks: ['verify'] }, { name: 'b' }, { name: 'c' }],
    });
  });

  it('an including file and the profile override the included one', () => {
    const file = files({
      'child.json': { include: ['base.json'], name: 'child', seeds: [3], profiles: { full: { training: { steps: 7 } } } },
      'base.json': { presets: ['ps-nano'], tasks: ['entail'], seeds: [0, 1], training: { steps: 5, evalEvery: 5 }, sweeps: TWO_METHODS },
    });
    const quick = resolveExperiment(file, 'quick');
    assert.equal(quick.name, 'child');
    assert.equal(quick.trials.length, 3, '3 option sets × 1 preset × 1 task × 1 seed');
    assert.ok(quick.trials.every((t) => t.config.seed === 3 && t.config.task === 'entail' && t.config.training.steps === 5));
    const full = resolveExperiment(file, 'full');
    assert.ok(full.trials.every((t) => t.config.training.steps === 7));
  });

  it('sweeps every combination of swept options', () => {
    assert.deepEqual(optionCombinations({ method: 'prompt-tuning', options: { init: 'text' }, sweep: { length: [1, 2], 'init-range': [0.1, 0.2, 0.3] } }).length, 6);
  });

  it('a trial key changes with anything that changes the result, and only then', () => {
    const file = files({ 'a.json': { name: 'a', presets: ['ps-nano'], tasks: ['verify'], seeds: [0], sweeps: [{ name: 's', methods: [{ method: 'lora' }] }] } });
    const [trial] = resolveExperiment(file, 'quick').trials;
    assert.equal(trialKey(trial.config), trial.key);
    assert.equal(trialKey(structuredClone(trial.config)), trial.key, 'same config, same key');
    const variants = [
      { ...trial.config, seed: 1 },
      { ...trial.config, training: { ...trial.config.training, steps: trial.config.training.steps + 1 } },
      { ...trial.config, options: { ...trial.config.options, rank: 4 } },
      { ...trial.config, data: { ...trial.config.data, train: 1 } },
      { ...trial.config, modelId: `${trial.config.modelId}x` },
    ];
    for (const variant of variants) assert.notEqual(trialKey(variant), trial.key);
    // Key order in the config does not matter.
    const reordered = Object.fromEntries(Object.entries(trial.config).reverse()) as typeof trial.config;
    assert.equal(trialKey(reordered), trial.key);
  });
});

describe('experiment file errors (before any work)', () => {
  const errorOf = (contents: Record<string, unknown>, profile = 'quick'): string => {
    try {
      resolveExperiment(files(contents), profile);
    } catch (error) {
      return (error as Error).message;
    }
    assert.fail('expected an error');
  };

  it('an unknown field names the path and suggests the nearest', () => {
    const message = errorOf({ 'x.json': { name: 'x', sweeps: [{ name: 's', methods: [{ metod: 'lora' }] }] } });
    assert.match(message, /sweeps\[0\]\.methods\[0\]\.metod: unknown field "metod"; did you mean "method"\?/);
    assert.match(message, /sweeps\[0\]\.methods\[0\]: the field "method" is required/);
  });

  it('training overrides for an unknown method, and two settings of one method and options that one summary row would merge', () => {
    const base = { name: 'x', presets: ['ps-nano'], tasks: ['infer'], seeds: [0], training: { steps: 4, evalEvery: 2 } };
    assert.match(errorOf({ 'x.json': { ...base, methodTraining: { LoRA: { learningRate: 0.1 } }, sweeps: [{ name: 's', methods: [{ method: 'lora' }] }] } }), /methodTraining: unknown method "LoRA"; did you mean "lora"\?/);
    const twoBudgets = errorOf({
      'x.json': { ...base, sweeps: [{ name: 's', methods: [{ method: 'lora', options: { rank: 2 } }, { method: 'lora', options: { rank: 2 }, training: { learningRate: 0.01 } }] }] },
    });
    assert.match(twoBudgets, /methods\[1\]: the same method and options as sweeps\[0\] \("s"\)\.methods\[0\] \(lora .*rank=2.* on ps-nano, infer, 64 training examples, seed 0\) but another training or data setting/);
    // Prompt tuning on Adam: the method's Adafactor weight decay does not follow it, so this is no error.
    const adam = resolveExperiment(files({ 'x.json': { ...base, sweeps: [{ name: 's', methods: [{ method: 'prompt-tuning', training: { optimizer: 'adam', learningRate: 0.01 } }] }] } }), 'quick');
    assert.deepEqual([adam.trials[0].config.training.optimizer, adam.trials[0].config.training.weightDecay], ['adam', 0]);
    assert.match(errorOf({ 'x.json': { ...base, sweeps: [{ name: 's', methods: [{ method: 'lora', training: { weightDecay: 0.1 } }] }] } }), /weightDecay = 0.1: optimizer "adam" applies no weight decay/);
    // The same trial named twice (here by two sweeps) is one trial, not a conflict.
    const shared = resolveExperiment(files({ 'x.json': { ...base, sweeps: [{ name: 'a', methods: [{ method: 'lora' }] }, { name: 'b', methods: [{ method: 'lora' }] }] } }), 'quick');
    assert.deepEqual(shared.trials.map((t) => t.sweeps), [['a', 'b']]);
  });

  it('a wrong type or range names the field, the value and what is allowed', () => {
    const message = errorOf({ 'x.json': { name: 'x', seeds: [-1], training: { steps: 'many' }, sweeps: [] } });
    assert.match(message, /seeds\[0\] = -1: allowed: an integer ≥ 0/);
    assert.match(message, /training\.steps = "many": allowed: an integer ≥ 0/);
  });

  it('unknown method, preset, task and option values are reported together', () => {
    const message = errorOf({
      'x.json': {
        name: 'x',
        presets: ['ps-nanp', 'gpt2', 'ps-nano'],
        tasks: ['verfy'],
        sweeps: [{ name: 's', methods: [{ method: 'lorra' }, { method: 'prompt-tuning', options: { init: 'magic' } }] }],
      },
    });
    assert.match(message, /method "lorra".*did you mean "lora"/);
    assert.match(message, /ps-nanp.*did you mean "ps-nano"/);
    assert.match(message, /"gpt2" is a published shape/);
    assert.match(message, /task "verfy".*did you mean "verify"/);
    assert.match(message, /methods\[1\] on ps-nano: invalid options for method "prompt-tuning": options.init = "magic": unknown value "magic"/);
  });

  it('a prompt longer than the context is refused by the method', () => {
    assert.match(errorOf({ 'x.json': { name: 'x', presets: ['ps-nano'], sweeps: [{ name: 's', methods: [{ method: 'prompt-tuning', options: { length: 300 } }] }] } }), /length/);
  });

  it('include cycles, bad JSON, unknown profiles and missing sweeps', () => {
    assert.match(errorOf({ 'a.json': { include: ['b.json'], name: 'a' }, 'b.json': { include: ['a.json'] } }), /include cycle/);
    const dir = path.dirname(files({ 'ok.json': { name: 'ok' } }));
    writeFileSync(path.join(dir, 'broken.json'), '{"name": ');
    assert.throws(() => resolveExperiment(path.join(dir, 'broken.json'), 'quick'), /broken\.json: not valid JSON/);
    assert.throws(() => resolveExperiment(path.join(dir, 'ok.json'), 'quik'), /did you mean "quick"/);
    assert.throws(() => resolveExperiment(path.join(dir, 'ok.json'), 'quick'), /sweeps: at least one sweep is required/);
    assert.throws(() => experimentPath('scalin'), /did you mean "scaling"/);
  });

  it('the validator accepts what the schema allows', () => {
    assert.deepEqual(validate({ name: 'x', training: { steps: 0, learningRate: 0.1 }, sweeps: [{ name: 's', figure: null, methods: [{ method: 'full' }] }] }, EXPERIMENT_SCHEMA), []);
    assert.equal(validate({ training: { learningRate: 0 } }, EXPERIMENT_SCHEMA).length, 1, 'learning rate must be > 0');
  });
});
