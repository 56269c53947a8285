import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { RESULT_FILES } from '../../src/results/results.js';
import { runCollect } from '../commands/collect.js';
import { runExperiment } from '../commands/experiment.js';
import type { RunPlan } from '../run/runner.js';
import { estimateTrialCost, parseShard, partitionTrials, shardLoads, shardPlan } from './shard.js';
import { experimentPath, resolveExperiment } from '../plan/spec.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'peftscale-shard-'));
after(() => rmSync(root, { recursive: true, force: true }));
const cli = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'cli.js');

describe('--shard I/N', () => {
  const experiment = resolveExperiment(experimentPath('default'), 'quick');
  const trials = experiment.trials;

  it('parses I/N and names the flag, the value and what is allowed otherwise', () => {
    assert.deepEqual(parseShard('2/8'), { index: 2, count: 8 });
    for (const bad of ['0/3', '4/3', '1/0', '3', 'a/b', '1/2/3', '-1/3']) {
      assert.throws(() => parseShard(bad), (error: Error) => error.message.startsWith(`--shard = "${bad}": allowed: I/N with integers 1 ≤ I ≤ N`), bad);
    }
  });

  it('partitions the trials completely and disjointly, the same way every time and in any file order, balanced by estimated cost', () => {
    assert.ok(trials.length >= 50, `${trials.length} trials`);
    const emptyPlan: RunPlan = { trials, cached: new Map(), toRun: trials };
    for (const count of [1, 2, 3, 5, 8, 16, 78, trials.length]) {
      const seen = new Map<string, number>();
      for (let index = 1; index <= count; index++) {
        for (const trial of shardPlan(emptyPlan, { index, count }).trials) {
          assert.equal(seen.get(trial.key), undefined, `${trial.key} in shards ${seen.get(trial.key)} and ${index} of ${count}`);
          seen.set(trial.key, index);
        }
      }
      assert.equal(seen.size, trials.length, `every trial in some shard of ${count}`);
      // Stable: recomputed, and from the trials in reverse order, it is the same partition.
      assert.deepEqual(partitionTrials(trials, count), seen);
      assert.deepEqual(new Map([...partitionTrials([...trials].reverse(), count)].sort()), new Map([...seen].sort()));
      // Longest-processing-time first: the fullest shard exceeds the emptiest by at most one trial.
      const loads = shardLoads(trials, count);
      const largest = Math.max(...trials.map((t) => estimateTrialCost(t)));
      assert.ok(Math.max(...loads) - Math.min(...loads) <= largest, `${count} shards: loads ${loads.join(', ')}`);
    }
    // With 3 shards on the default experiment's trials of very different sizes (ps-nano to ps-mini), no shard is more than 10% over the mean.
    const loads = shardLoads(trials, 3);
    const mean = loads.reduce((a, b) => a + b, 0) / 3;
    assert.ok(Math.max(...loads) <= 1.1 * mean, `loads ${loads.join(', ')}`);
  });

  it('a shard count above the trial count is refused with the numbers, at once (no allocation per shard)', () => {
    const started = performance.now();
    for (const count of [trials.length + 1, 1_000_000_000]) {
      assert.throws(() => partitionTrials(trials, count, '--shard 1/' + count), new RegExp(`--shard 1/${count}: ${count} shard\\(s\\) for ${trials.length} trial\\(s\\): allowed: 1 to ${trials.length} shards`));
    }
    assert.throws(() => parseShard('1/100000000000000000000'), /allowed: I\/N with integers/);
    assert.ok(performance.now() - started < 1000);
  });

  it('the partition does not depend on the cache: a shard skips its cached trials and never takes another shard’s', () => {
    const cachedKeys = new Set(trials.filter((_, i) => i % 3 === 0).map((t) => t.key));
    const plan: RunPlan = { trials, cached: new Map([...cachedKeys].map((key) => [key, null as never])), toRun: trials.filter((t) => !cachedKeys.has(t.key)) };
    const assignment = partitionTrials(trials, 4);
    for (let index = 1; index <= 4; index++) {
      const part = shardPlan(plan, { index, count: 4 });
      const mine = trials.filter((t) => assignment.get(t.key) === index);
      assert.deepEqual(part.trials.map((t) => t.key), mine.map((t) => t.key));
      assert.deepEqual(part.toRun.map((t) => t.key), mine.filter((t) => !cachedKeys.has(t.key)).map((t) => t.key));
      assert.equal(part.cached.size, mine.filter((t) => cachedKeys.has(t.key)).length);
    }
  });
});

describe('shards over one shared cache, end to end', () => {
  it('two concurrent shards pretrain once; a killed shard, run again, computes only its unfinished trials; collect lists what is missing, then completes', async () => {
    const file = path.join(root, 'shards.json');
    writeFileSync(
      file,
      JSON.stringify({
        name: 'shards',
        presets: ['ps-nano'],
        pretrainSteps: 30,
        tasks: ['verify'],
        seeds: [0, 1],
        data: { train: 16, dev: 8, test: 8 },
        training: { steps: 12, batchSize: 4, evalEvery: 6 },
        sweeps: [{ name: 'scaling', figure: 'scaling', methods: [{ method: 'prompt-tuning', options: { length: 2 } }, { method: 'lora', options: { rank: 1 } }] }],
      }),
    );
    const trialCache = path.join(root, 'trials');
    const flags = ['--cache', path.join(root, 'models'), '--trial-cache', trialCache, '--workers', '1', '--backend', 'wasm'];
    const plan = resolveExperiment(file, 'quick');
    const assignment = partitionTrials(plan.trials, 2);
    const keysOf = (shard: number): string[] => plan.trials.filter((t) => assignment.get(t.key) === shard).map((t) => t.key).sort();
    const cachedKeys = (): string[] => readdirSync(trialCache).filter((name) => /^[0-9a-f]+\.json$/.test(name)).map((name) => name.slice(0, -5)).sort();
    assert.ok(keysOf(1).length >= 2 && keysOf(2).length >= 2);

    // Both shards start at once on an empty model cache; shard 1 is killed once it has finished one trial.
    const start = (shard: string): { done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>; stderr: () => string; kill: () => void } => {
      const child = spawn(process.execPath, [cli, 'experiment', file, '--shard', shard, ...flags], { stdio: ['ignore', 'ignore', 'pipe'] });
      let text = '';
      child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
      return { done: new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal }))), stderr: () => text, kill: () => child.kill('SIGKILL') };
    };
    const first = start('1/2');
    const second = start('2/2');
    const watch = setInterval(() => {
      if ((first.stderr().match(/^✓ /gm) ?? []).length >= 1) first.kill();
    }, 50);
    const [firstExit, secondExit] = await Promise.all([first.done, second.done]);
    clearInterval(watch);
    assert.equal(firstExit.signal, 'SIGKILL', `shard 1 was killed mid-shard:\n${first.stderr()}`);
    assert.equal(secondExit.code, 0, second.stderr());
    const both = first.stderr() + second.stderr();
    assert.equal((both.match(/saved the pretrained model/g) ?? []).length, 1, `ps-nano pretrained once between the two shards:\n${both}`);
    assert.match(both, /ps-nano: waiting for pid \d+ on .*, which holds .*\.lock/, 'the other shard waited for the lock');
    assert.ok(!readdirSync(path.join(root, 'models', 'ps-nano')).some((name) => name.endsWith('.lock')), 'no lock left behind');

    const afterKill = cachedKeys();
    const finishedByFirst = afterKill.filter((key) => keysOf(1).includes(key));
    assert.ok(finishedByFirst.length >= 1 && finishedByFirst.length < keysOf(1).length, `shard 1 finished ${finishedByFirst.length} of ${keysOf(1).length} before it was killed`);
    assert.deepEqual(afterKill.filter((key) => keysOf(2).includes(key)), keysOf(2), 'shard 2 finished its share');
    assert.equal(afterKill.length, finishedByFirst.length + keysOf(2).length, 'nothing outside the two shares');

    // collect now: the cached trials are written, the missing ones listed with their shard; exit status 2.
    // The exit status is the process's: kept aside (the test runner sets 1 when another test failed).
    const exitCodeBefore = process.exitCode;
    process.exitCode = undefined;
    const partial = await runCollect([file, '--shards', '2', '--results', path.join(root, 'results'), '--no-report', ...flags.slice(0, 4), '--backend', 'wasm']);
    assert.equal(process.exitCode, 2);
    process.exitCode = undefined;
    assert.deepEqual(partial?.missing.map((m) => m.key).sort(), keysOf(1).filter((key) => !finishedByFirst.includes(key)));
    assert.deepEqual(partial?.shardsToRerun, [1]);
    const partialLines = readFileSync(path.join(root, 'results', 'shards', RESULT_FILES.records), 'utf8').trim().split('\n');
    assert.equal(partialLines.length, afterKill.length, 'results.jsonl holds what is cached');

    // Shard 1 again: only its unfinished trials run; what it had finished is not recomputed.
    const before = new Map(afterKill.map((key) => [key, readFileSync(path.join(trialCache, `${key}.json`), 'utf8')]));
    const rerun = await runExperiment([file, '--shard', '1/2', ...flags]);
    assert.deepEqual([rerun?.trials, rerun?.cached, rerun?.ran, rerun?.failed], [keysOf(1).length, finishedByFirst.length, keysOf(1).length - finishedByFirst.length, 0]);
    for (const [key, text] of before) assert.equal(readFileSync(path.join(trialCache, `${key}.json`), 'utf8'), text, `${key} was not recomputed`);
    const again = await runExperiment([file, '--shard', '2/2', ...flags]);
    assert.deepEqual([again?.cached, again?.ran], [keysOf(2).length, 0], 'a finished shard runs nothing');

    const complete = await runCollect([file, '--shards', '2', '--results', path.join(root, 'results'), '--no-report', ...flags.slice(0, 4), '--backend', 'wasm']);
    assert.equal(process.exitCode ?? 0, 0);
    process.exitCode = exitCodeBefore;
    assert.deepEqual([complete?.cached, complete?.missing.length], [plan.trials.length, 0]);
    const records = readFileSync(path.join(root, 'results', 'shards', RESULT_FILES.records), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { key: string });
    assert.deepEqual(records.map((r) => r.key).sort(), plan.trials.map((t) => t.key).sort());
  });
});

describe('shards of an experiment with its own checkpoint folder (tiny-files)', () => {
  it('costs each trial from the folder’s config.json, and `experiment tiny-files --shard I/2` then `collect tiny-files --shards 2` complete', async () => {
    const experiment = resolveExperiment(experimentPath('tiny-files'), 'quick');
    const folder = experiment.checkpoints[0];
    assert.equal(folder.name, 'tiny-gpt2');
    // The real shape, read from config.json (no preset of that name exists).
    const config = JSON.parse(readFileSync(path.join(folder.dir, 'config.json'), 'utf8')) as { n_embd: number; n_layer: number; vocab_size: number };
    for (const trial of experiment.trials) assert.deepEqual([trial.modelConfig.dModel, trial.modelConfig.nLayers, trial.modelConfig.vocabSize], [config.n_embd, config.n_layer, config.vocab_size]);
    assert.ok(experiment.trials.every((t) => estimateTrialCost(t) > 0));
    await assert.rejects(runExperiment(['tiny-files', '--shard', `1/${experiment.trials.length + 1}`, '--dry-run']), new RegExp(`${experiment.trials.length + 1} shard\\(s\\) for ${experiment.trials.length} trial\\(s\\)`));

    const dir = path.join(root, 'tiny-files');
    const flags = ['--cache', path.join(dir, 'models'), '--trial-cache', path.join(dir, 'trials'), '--workers', '1', '--backend', 'wasm'];
    const assignment = partitionTrials(experiment.trials, 2);
    for (const index of [1, 2]) {
      const shard = await runExperiment(['tiny-files', '--shard', `${index}/2`, ...flags]);
      assert.deepEqual([shard?.ran, shard?.failed], [experiment.trials.filter((t) => assignment.get(t.key) === index).length, 0]);
    }
    const exitCodeBefore = process.exitCode;
    const collected = await runCollect(['tiny-files', '--shards', '2', '--results', path.join(dir, 'results'), '--no-report', ...flags.slice(0, 4), '--backend', 'wasm']);
    assert.equal(process.exitCode ?? 0, exitCodeBefore ?? 0);
    assert.deepEqual([collected?.cached, collected?.missing.length], [experiment.trials.length, 0]);
    const lines = readFileSync(path.join(dir, 'results', 'tiny-files', RESULT_FILES.records), 'utf8').trim().split('\n');
    assert.equal(lines.length, experiment.trials.length);
    await assert.rejects(runCollect(['tiny-files', '--shards', '2', '--trial-cache', path.join(dir, 'no-such-cache')]), /--trial-cache = ".*no-such-cache": no such folder/);
  });
});
