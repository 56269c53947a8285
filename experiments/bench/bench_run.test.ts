/**
 * The cost benchmark's output: bench.json has every declared field with the declared types, one row per
 * (preset, method, variant) with the numbers each kind of row must have, and the tables print. Tiny
 * models and two measured calls: no timing thresholds, only shapes, counts and exact relations.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { planParameters } from '../../src/adapt/adapted.js';
import { activeBackend } from '../../src/model/backend.js';
import { BENCH_COLUMNS, benchReportProblems, type BenchReport } from '../../src/results/bench.js';
import type { ModelConfig } from '../../src/model/config.js';
import { getMethod, resolveOptions } from '../../src/adapt/peft.js';
import { METHODS } from '../../methods/index.js';
import { testBackends, TINY_CONFIG, useBackend } from '../../test/helpers.js';
import { benchOptionsOf } from './bench_methods.js';
import { runBenchCommand } from '../commands/bench_command.js';
import { runBenchmarks, writeBenchReport, type BenchOptions } from './bench_run.js';
import { formatBenchReport } from './bench_text.js';

const WIDE: ModelConfig = { ...TINY_CONFIG, dModel: 32, dFF: 128 };

function tinyOptions(): BenchOptions {
  return {
    models: [
      { name: 'tiny', config: TINY_CONFIG },
      { name: 'tiny-wide', config: WIDE },
    ],
    methods: METHODS.map(([m]) => m.name),
    weights: 'init',
    profile: 'quick',
    cacheDir: '.cache/unused',
    batchSize: 2,
    sequenceLength: 8,
    warmup: 1,
    iterations: 2,
    seed: 0,
    mixedServing: { tasks: 2, promptLength: 3 },
    packing: { seeds: 3, lengths: [2, 3], inits: ['random-uniform', 'class-label'], batchSize: 2, maxRows: 8, steps: 100 },
    reference: { method: 'full', config: TINY_CONFIG, batchSize: 2, sequenceLength: 8, warmup: 1, steps: 2 },
    log: () => undefined,
  };
}

describe('peftscale bench flags', () => {
  it('names the flag, the value and what is allowed, before any backend starts', async () => {
    const refuses = (argv: string[], pattern: RegExp) => assert.rejects(runBenchCommand(argv), pattern, argv.join(' '));
    await refuses(['--batch-size', '0'], /--batch-size = 0: allowed: an integer ≥ 1/);
    await refuses(['--sequence-length', '1'], /--sequence-length = 1: allowed: an integer ≥ 2/);
    await refuses(['--warmup', '-1'], /--warmup = -1: allowed: an integer ≥ 0/);
    await refuses(['--serving-tasks', '-2'], /--serving-tasks = -2: allowed: an integer ≥ 0/);
    await refuses(['--iterations', '2.5'], /--iterations = "2.5": allowed: an integer/);
    await refuses(['--presets', 'ps-nanoo'], /--presets: unknown model preset "ps-nanoo"; did you mean "ps-nano"\? Allowed: .*ps-large/);
    await refuses(['--presets', 'gpt2-medium'], /--presets gpt2-medium is a published shape.*allowed: ps-nano, ps-micro/);
    await refuses(['--methods', 'lora,prompt'], /--methods: unknown method "prompt".*Allowed: /);
    await refuses(['--weights', 'trained'], /--weights: unknown value "trained".*Allowed: auto, init, pretrained/);
    await refuses(['--profile', 'quik'], /--profile: unknown profile "quik"; did you mean "quick"\?/);
    await refuses(['--steps', '3'], /--steps applies to `peftscale bench reference` only/);
    await refuses(['reference', '--steps', '0'], /--steps = 0: allowed: an integer ≥ 1/);
    await refuses(['reference', '--method', 'bitfit'], /--method: unknown value "bitfit".*Allowed: full, prompt-tuning, lora/);
    await refuses(['reference', '--presets', 'ps-nano'], /--presets does not apply; allowed: --method, --steps, --warmup, --backend, --json/);
    await refuses(['--itterations', '3'], /unknown flag "--itterations"; did you mean "--iterations"\?/);
  });
});

for (const backend of testBackends()) {
  describe(`peftscale bench on ${backend}`, () => {
    it('writes a bench.json with the declared fields and one row per preset, method and variant', async () => {
      await useBackend(backend);
      const options = tinyOptions();
      const report = await runBenchmarks(options, activeBackend() ?? assert.fail('no active backend'));
      const dir = await mkdtemp(path.join(tmpdir(), 'peftscale-bench-test-'));
      let json: BenchReport;
      try {
        const file = await writeBenchReport(dir, report);
        assert.equal(path.basename(file), 'bench.json');
        json = JSON.parse(await readFile(file, 'utf8')) as BenchReport;
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      assert.deepEqual(benchReportProblems(json), []);
      assert.equal(json.environment.backend, backend);
      assert.deepEqual(json.settings.presets, ['tiny', 'tiny-wide']);
      assert.equal(json.settings.iterations, 2);
      assert.deepEqual(json.models.map((m) => [m.preset, m.weights, m.source]), [['tiny', 'initialised', null], ['tiny-wide', 'initialised', null]]);
      assert.deepEqual(json.columns.map((c) => c.key), BENCH_COLUMNS.map((c) => c.key));

      // bare, the seven methods, and LoRA's merged variant, per preset.
      const expected = ['bare', ...METHODS.flatMap(([m]) => (m.mergedParameters !== undefined ? [`${m.name}/unmerged`, `${m.name}/merged`] : [m.name]))];
      assert.equal(json.rows.length, 2 * expected.length);
      for (const [p, config] of [['tiny', TINY_CONFIG], ['tiny-wide', WIDE]] as const) {
        const rows = json.rows.filter((r) => r.preset === p);
        assert.deepEqual(rows.map((r) => (r.variant === '' ? r.method : `${r.method}/${r.variant}`)), expected);
        for (const row of rows) {
          const label = `${p} ${row.method} ${row.variant}`;
          const trains = row.method !== 'bare' && row.method !== 'prompt-design' && row.variant !== 'merged';
          assert.equal(row.trainMedianMs !== null, trains, `${label}: training measured iff the row trains`);
          assert.equal(row.leakedTensors, trains ? 0 : null, `${label}: leaked tensors`);
          assert.equal(row.adapterBytes === null, row.method === 'bare', `${label}: adapter bytes`);
          assert.ok(row.inferMedianMs > 0 && row.inferP99Ms >= row.inferMedianMs, label);
          assert.ok(Math.abs(row.inferRowsPerSecond - (2 / row.inferMedianMs) * 1000) < 1e-6, `${label}: rows/s`);
          if (row.method !== 'bare') {
            const method = getMethod(row.method);
            assert.equal(row.trainable, planParameters(config, method, resolveOptions(method, benchOptionsOf(row.method), config)).trainable, `${label}: trainable`);
          }
          if (row.adapterBytes !== null && row.adapterTensorBytes !== null) assert.ok(row.adapterBytes > row.adapterTensorBytes, `${label}: the folder holds the tensors and adapter.json`);
        }
        const byName = new Map(rows.map((r) => [`${r.method}${r.variant === '' ? '' : `/${r.variant}`}`, r]));
        const get = (name: string) => byName.get(name) ?? assert.fail(`no row ${name}`);
        assert.equal(get('bare').inferOverhead, 0);
        assert.equal(get('prompt-tuning').virtualTokens, 20);
        assert.equal(get('prompt-tuning').adapterTensorBytes, 20 * config.dModel * 4);
        assert.equal(get('prefix-tuning').virtualTokens, 20);
        assert.equal(get('p-tuning').adapterTensorBytes, 20 * config.dModel * 4, 'p-tuning saves the computed prompt, not its encoder');
        assert.equal(get('prompt-design').virtualTokens, 'Answer the question.\n'.length);
        assert.equal(get('lora/merged').adapterBytes, get('lora/unmerged').adapterBytes);
        assert.equal(get('lora/merged').virtualTokens, 0);
        assert.equal(get('full').adapterTensorBytes, 4 * get('full').parameters);
      }

      assert.equal(json.mixedServing.length, 2);
      for (const m of json.mixedServing) {
        assert.deepEqual([m.tasks, m.promptLength, m.batchSize, m.sequenceLength, m.mixedPasses, m.separatePasses], [2, 3, 2, 8, 1, 2]);
        assert.ok(m.maxAbsDifference <= 1e-5, `${m.preset}: a mixed row differs from the row alone by ${m.maxAbsDifference}`);
        assert.ok(Number.isFinite(m.speedup) && m.speedup > 0, `${m.preset}: speedup ${m.speedup}`);
      }
      // 3 seeds × 2 inits = 6 trials per length; 4 per pack of 8 rows: a pack of 4 and one of 2 per length.
      assert.deepEqual(json.packing?.map((p) => [p.preset, p.trials, p.packs, p.steps, p.sequenceLength]), [['tiny', 12, 4, 100, 8], ['tiny-wide', 12, 4, 100, 8]]);
      for (const p of json.packing ?? []) {
        assert.ok(p.aloneTrialsPerHour > 0 && p.packedTrialsPerHour > 0 && Math.abs(p.speedup - p.packedTrialsPerHour / p.aloneTrialsPerHour) < 1e-9, JSON.stringify(p));
        assert.ok(Math.abs(p.packedTokensPerSecond / p.aloneTokensPerSecond - p.speedup) < 1e-9, 'the same tokens either way');
      }
      const reference = json.reference ?? assert.fail('no reference step');
      assert.equal(reference.samplesMs.length, 2);
      assert.equal(reference.leakedTensors, 0);
      assert.ok(Number.isFinite(reference.lastLoss));

      const text = formatBenchReport(json);
      assert.equal(text.split('\n').filter((line) => /^tiny(-wide)? /.test(line)).length, 2 * expected.length + 4, 'one table line per row, per mixed-serving entry and per packing entry');
      assert.match(text, /trial packing: prompt-tuning, 3 seeds × lengths 2, 3 × inits random-uniform, class-label \(12 trials, batch 2, 8 tokens, 100 steps each\)/);
      assert.match(text, /reference step \(d 16, 2 layers, batch 2 × 8, full\)/);
    });

    it('leaves no tensor behind, and gives the same numbers other than times and memory for the same seed', async () => {
      await useBackend(backend);
      const backendInfo = activeBackend() ?? assert.fail('no active backend');
      const options: BenchOptions = { ...tinyOptions(), models: [{ name: 'tiny', config: TINY_CONFIG }], methods: ['prompt-tuning', 'lora', 'full'] };
      const tensorsBefore = tf.memory().numTensors;
      const first = await runBenchmarks(options, backendInfo);
      assert.equal(tf.memory().numTensors, tensorsBefore, 'runBenchmarks leaks tensors');
      const second = await runBenchmarks(options, backendInfo);
      // Times, throughputs and process RSS vary from run to run; everything else is a function of the seed.
      const varies = new Set(BENCH_COLUMNS.filter((c) => ['ms', 'tokens/s', 'rows/s', 'fraction'].includes(c.unit) || c.key === 'peakRssBytes').map((c) => c.key));
      const fixedPart = (report: BenchReport) => report.rows.map((row) => Object.fromEntries(Object.entries(row).filter(([key]) => !varies.has(key))));
      assert.deepEqual(fixedPart(second), fixedPart(first));
      assert.equal(second.reference?.lastLoss, first.reference?.lastLoss, 'the reference step trains the same weights on the same tokens');
      assert.equal(second.mixedServing[0].maxAbsDifference, first.mixedServing[0].maxAbsDifference);
      assert.deepEqual(first.settings, second.settings);
    });

    it('refuses bad settings before timing anything, naming the setting, its flag, the value and what is allowed', async () => {
      await useBackend(backend);
      const backendInfo = activeBackend() ?? assert.fail('no active backend');
      await assert.rejects(runBenchmarks({ ...tinyOptions(), methods: ['lorra'] }, backendInfo), /methods \(--methods\): unknown method "lorra"; did you mean "lora"\?/);
      await assert.rejects(runBenchmarks({ ...tinyOptions(), models: [], iterations: 0 }, backendInfo), /presets \(--presets\): none given[\s\S]*iterations \(--iterations\) = 0: allowed: an integer ≥ 1/);
      await assert.rejects(runBenchmarks({ ...tinyOptions(), methods: ['lora', 'bitfit', 'lora'] }, backendInfo), /"lora" is listed twice/);
      await assert.rejects(runBenchmarks({ ...tinyOptions(), packing: { seeds: 0, lengths: [], inits: ['random-uniform'], batchSize: 2, maxRows: 1, steps: 1 } }, backendInfo), /--pack-seeds = 0: allowed: an integer ≥ 1[\s\S]*--pack-rows = 1: allowed: an integer ≥ 2[\s\S]*--pack-lengths = : allowed: one or more integers ≥ 1/);
      await assert.rejects(runBenchmarks({ ...tinyOptions(), mixedServing: { tasks: 3, promptLength: 3 } }, backendInfo), /--serving-tasks\) = 3: allowed: 0 \(skip\) or an integer from 1 to the batch size 2/);
      // TINY_CONFIG's context is 64 positions; prompt design adds its 21-character instruction, the most.
      await assert.rejects(
        runBenchmarks({ ...tinyOptions(), sequenceLength: 50 }, backendInfo),
        /sequenceLength \(--sequence-length\) = 50: allowed: at most 43, with prompt-design's 21 virtual tokens and tiny's context of 64 positions/,
      );
      await assert.rejects(
        runBenchmarks({ ...tinyOptions(), methods: ['lora'], sequenceLength: 62 }, backendInfo),
        /= 62: allowed: at most 61, with the mixed-serving prompts' 3 virtual tokens and tiny's context of 64 positions/,
      );
    });
  });
}
