/**
 * The figures built from fixture results: the right data (checked against summary rows and records),
 * fields, scales and encodings; every data layer positioned on both axes; titles, axis titles, legends
 * and tooltips present; every spec compiles with Vega-Lite without a warning and renders to SVG.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { summarize, type TrialRecord } from '../../src/results/results.js';
import { confidenceInterval } from '../../src/results/stats.js';
import { FIXTURE_DIVERGED, FIXTURE_LENGTHS, FIXTURE_PRESETS, fixtureBench, fixtureLoaded, fixtureManifest, fixtureRecords } from '../../test/report_fixtures.js';
import { planFigures, type FigurePlan } from './index.js';
import { isPlainObject } from '../check.js';
import type { LoadedResults } from '../load.js';
import { compileSpec, renderSvg } from '../render.js';
import { INIT_ORDER } from './init.js';
import { fixtureWithDataSize, promptTuningLagsWithFewExamples } from '../../test/report_fixture_data_size.js';

type Json = Record<string, unknown>;

function figure(plans: FigurePlan[], id: string): FigurePlan {
  const plan = plans.find((p) => p.id === id);
  assert.ok(plan !== undefined, `figure ${id} exists`);
  return plan;
}

function json(value: unknown): Json {
  assert.ok(isPlainObject(value), `expected an object, got ${JSON.stringify(value)}`);
  return value;
}

interface Leaf {
  mark: string;
  encoding: Json;
  transform: unknown[];
  /** The layer's own inline data rows, when it has them. */
  data: Json[] | null;
}

/** Every leaf layer of a spec (through facet, hconcat and layer) with its effective encoding (shared encodings merged in). */
function leafLayers(spec: Json, inherited: Json = {}): Leaf[] {
  const encoding = { ...inherited, ...(isPlainObject(spec.encoding) ? spec.encoding : {}) };
  if (isPlainObject(spec.spec)) return leafLayers(spec.spec, encoding);
  const children = Array.isArray(spec.layer) ? spec.layer : Array.isArray(spec.hconcat) ? spec.hconcat : null;
  if (children !== null) return children.flatMap((child) => leafLayers(json(child), encoding));
  const mark = typeof spec.mark === 'string' ? spec.mark : String(json(spec.mark).type);
  const data = isPlainObject(spec.data) && Array.isArray(spec.data.values) ? spec.data.values.map(json) : null;
  return [{ mark, encoding, transform: Array.isArray(spec.transform) ? spec.transform : [], data }];
}

function channel(layer: { encoding: Json }, name: string): Json {
  return json(layer.encoding[name]);
}

function values(plan: FigurePlan): Json[] {
  const data = json(json(plan.spec).data);
  assert.ok(Array.isArray(data.values));
  return data.values.map(json);
}

// Figure 13 needs a data-size sweep, which the base fixture lacks: it is drawn from the fixture with one.
const basePlans = planFigures(fixtureLoaded({ bench: true }));
const dataSizePlan = planFigures(fixtureWithDataSize(promptTuningLagsWithFewExamples)).find((p) => p.id === 'data-size') as FigurePlan;
const plans = [...basePlans.filter((p) => p.id !== 'data-size'), dataSizePlan];
const records = fixtureRecords();
const summary = summarize(records, 'full');

describe('figure specs from fixture results', () => {
  it('plans the twelve figures (1–7, 10–13 from the results, 9 from bench.json), all drawable from the fixture (13 with a data-size sweep)', () => {
    assert.equal(basePlans.find((p) => p.id === 'data-size')?.spec, null);
    assert.deepEqual(
      plans.map((p) => [p.number, p.id, p.spec !== null]),
      [
        [1, 'scaling', true],
        [2, 'gap', true],
        [3, 'prompt-length', true],
        [4, 'init', true],
        [5, 'efficiency', true],
        [6, 'curves', true],
        [7, 'compute', true],
        [9, 'overhead', true],
        [10, 'gates', true],
        [11, 'recovered', true],
        [12, 'margin', true],
        [13, 'data-size', true],
      ],
    );
  });

  it('positions every data layer on both axes (a layer without x would pile up in the middle)', () => {
    for (const plan of plans) {
      for (const layer of leafLayers(json(plan.spec))) {
        // Horizontal reference lines and bands span the width: a rule at a fixed y, or layers drawing published bands.
        const atDatum = isPlainObject(layer.encoding.y) && 'datum' in layer.encoding.y;
        const reference = layer.data !== null && layer.data.every((row) => !('parameters' in row));
        if ((atDatum || reference) && !('x' in layer.encoding)) continue;
        assert.ok('x' in layer.encoding, `${plan.id}: a ${layer.mark} layer has no x`);
        assert.ok('y' in layer.encoding, `${plan.id}: a ${layer.mark} layer has no y`);
      }
    }
  });

  it('gives every chart a title, axis titles with units, a colour legend with a title and tooltips', () => {
    for (const plan of plans) {
      const spec = json(plan.spec);
      assert.ok(typeof json(spec.title).text === 'string' && String(json(spec.title).text).length > 10, `${plan.id}: title`);
      const layers = leafLayers(spec);
      const titled = (name: string): string[] => layers.map((l) => (isPlainObject(l.encoding[name]) ? l.encoding[name].title : undefined)).filter((t): t is string => typeof t === 'string' || Array.isArray(t)).map(String);
      assert.ok(titled('x').length > 0, `${plan.id}: an x axis title`);
      assert.ok(titled('y').length > 0, `${plan.id}: a y axis title`);
      for (const title of [...titled('x'), ...titled('y')]) {
        if (/prompt initialisation|frozen model$/.test(title)) continue; // nominal axes have no unit
        assert.match(title, /\(|step/, `${plan.id}: axis title "${title}" states its unit`);
      }
      assert.ok(layers.some((l) => isPlainObject(l.encoding.color) && typeof l.encoding.color.title === 'string'), `${plan.id}: a titled colour legend`);
      assert.ok(layers.some((l) => Array.isArray(l.encoding.tooltip) && l.encoding.tooltip.length >= 3), `${plan.id}: tooltips`);
    }
  });

  it('compiles every spec with Vega-Lite without warnings and renders it to an SVG with marks', async () => {
    for (const plan of plans) {
      const warnings: string[] = [];
      compileSpec(plan.spec!, warnings);
      assert.deepEqual(warnings, [], `${plan.id}: Vega-Lite warnings`);
      const { svg } = await renderSvg(plan.spec!);
      assert.match(svg, /^<svg/);
      assert.match(svg, /role-mark/, `${plan.id}: the SVG has data marks`);
    }
  });

  it('figure 1: score (%) against log frozen parameters, a panel per task and the average, a colour per method, means and intervals from summary.json', () => {
    const plan = figure(plans, 'scaling');
    const spec = json(plan.spec);
    assert.deepEqual(json(spec.facet).field, 'panel');
    assert.deepEqual(json(spec.facet).sort, ['colour', 'town', 'average over tasks']);
    const [bars, line] = leafLayers(spec);
    assert.equal(bars.mark, 'rule');
    assert.deepEqual(json(channel(bars, 'y')).field, 'low');
    assert.deepEqual(json(channel(bars, 'y2')).field, 'high');
    assert.equal(line.mark, 'line');
    assert.equal(channel(line, 'x').field, 'parameters');
    assert.equal(json(channel(line, 'x').scale).type, 'log');
    assert.equal(channel(line, 'y').field, 'accuracy');
    assert.equal(channel(line, 'color').field, 'series');
    assert.deepEqual(json(channel(line, 'color').scale).domain, ['full model tuning', 'prompt tuning', 'prefix tuning', 'P-tuning', 'LoRA', 'BitFit', 'prompt design']);

    const rows = values(plan);
    assert.equal(rows.length, FIXTURE_PRESETS.length * 7 * 3); // presets × methods × (2 tasks + average)
    const row = summary.find((r) => r.preset === 'ps-nano' && r.method === 'prompt-tuning' && r.task === 'average' && r.options.init === 'class-label' && r.options.length === 20)!;
    const point = rows.find((r) => r.preset === 'ps-nano' && r.method === 'prompt-tuning' && r.panel === 'average over tasks')!;
    assert.ok(Math.abs(Number(point.accuracy) - row.mean * 100) < 1e-9);
    assert.ok(Math.abs(Number(point.low) - row.ci95[0] * 100) < 1e-9);
    assert.ok(Math.abs(Number(point.high) - row.ci95[1] * 100) < 1e-9);
    // The diverged trial leaves one seed: a point without an interval.
    const single = rows.find((r) => r.preset === FIXTURE_DIVERGED.preset && r.method === FIXTURE_DIVERGED.method && r.panel === FIXTURE_DIVERGED.task)!;
    assert.deepEqual([single.n, single.diverged, single.low, single.high], [1, 1, null, null]);
  });

  it('figure 2: gaps are per-seed differences to full model tuning, with the zero line spanning the panel', () => {
    const plan = figure(plans, 'gap');
    const rows = values(plan);
    assert.ok(!rows.some((r) => r.method === 'full'));
    const accuracy = (method: string, preset: string, task: string, seed: number): number =>
      records.find((r) => r.config.method === method && r.config.preset === preset && r.config.task === task && r.config.seed === seed && r.sweeps.includes('scaling'))!.test.accuracy;
    const differences = [0, 1].map((seed) => (accuracy('lora', 'ps-micro', 'town', seed) - accuracy('full', 'ps-micro', 'town', seed)) * 100);
    const expected = confidenceInterval(differences);
    const point = rows.find((r) => r.method === 'lora' && r.preset === 'ps-micro' && r.panel === 'town')!;
    assert.ok(Math.abs(Number(point.gap) - expected.mean) < 1e-9);
    assert.ok(Math.abs(Number(point.low) - expected.low) < 1e-9);
    const zero = leafLayers(json(plan.spec))[0];
    assert.equal(zero.mark, 'rule');
    assert.deepEqual(zero.encoding.y, { datum: 0 });
    assert.ok(!('x' in zero.encoding));
  });

  it('figure 3: score against prompt length on a log axis, a line per preset ordered by size, on the task average', () => {
    const plan = figure(plans, 'prompt-length');
    const line = leafLayers(json(plan.spec)).find((l) => l.mark === 'line')!;
    assert.equal(channel(line, 'x').field, 'x');
    assert.equal(json(channel(line, 'x').scale).type, 'log');
    assert.deepEqual(json(channel(line, 'x').axis).values, [...FIXTURE_LENGTHS]);
    assert.deepEqual(json(channel(line, 'color').scale).domain, [...FIXTURE_PRESETS]);
    const rows = values(plan);
    assert.deepEqual([...new Set(rows.map((r) => r.panel))], ['average over tasks']);
    assert.equal(rows.length, FIXTURE_PRESETS.length * FIXTURE_LENGTHS.length);
    assert.deepEqual([...new Set(rows.map((r) => r.x))].sort((a, b) => Number(a) - Number(b)), [...FIXTURE_LENGTHS]);
  });

  it('figure 4: score per initialisation in Lester et al.’s order, presets side by side', () => {
    const plan = figure(plans, 'init');
    const point = leafLayers(json(plan.spec)).find((l) => l.mark === 'point')!;
    assert.equal(channel(point, 'x').type, 'nominal');
    assert.deepEqual(channel(point, 'x').sort, INIT_ORDER);
    assert.equal(channel(point, 'xOffset').field, 'series');
    assert.equal(values(plan).length, FIXTURE_PRESETS.length * INIT_ORDER.length);
  });

  it('figure 5: trainable % on log y against log parameters; prompt design (0%) left out and said so; published points beside', () => {
    const plan = figure(plans, 'efficiency');
    const rows = plan.rows.map(json); // this figure's layers carry their own data: the rows are what they draw
    const ours = rows.filter((r) => r.source === 'this run');
    assert.ok(!ours.some((r) => r.method === 'prompt-design'));
    assert.equal(ours.length, FIXTURE_PRESETS.length * 6);
    const fullNano = ours.find((r) => r.method === 'full' && String(r.label).includes('ps-nano'))!;
    assert.equal(fullNano.percent, 100);
    const peft = rows.find((r) => r.source === 'Hugging Face PEFT (gpt2, published)' && r.method === 'prompt-tuning')!;
    assert.ok(Math.abs(Number(peft.percent) - (15_360 / 124_439_808) * 100) < 1e-12);
    const point = leafLayers(json(plan.spec)).find((l) => l.mark === 'point')!;
    assert.equal(json(channel(point, 'y').scale).type, 'log');
    assert.equal(json(channel(point, 'x').scale).type, 'log');
    assert.equal(channel(point, 'shape').field, 'source');
    assert.match(plan.paragraphs.join(' '), /Prompt design trains 0 parameters, which a log axis cannot show/);
  });

  it('figure 6: loss against step faceted by preset; each seed averaged over tasks, the mean and interval over seeds', () => {
    const plan = figure(plans, 'curves');
    assert.deepEqual(json(json(plan.spec).facet).sort, [...FIXTURE_PRESETS]);
    const rows = values(plan);
    assert.ok(!rows.some((r) => r.method === 'prompt-design'), 'prompt design trains nothing');
    const curve = (seed: number, task: string): [number, number][] =>
      records.find((r) => r.config.method === 'bitfit' && r.config.preset === 'ps-mini' && r.config.task === task && r.config.seed === seed)!.lossCurve;
    const perSeed = [0, 1].map((seed) => (curve(seed, 'colour')[1][1] + curve(seed, 'town')[1][1]) / 2);
    const point = rows.find((r) => r.method === 'bitfit' && r.preset === 'ps-mini' && r.step === curve(0, 'colour')[1][0])!;
    assert.ok(Math.abs(Number(point.loss) - (perSeed[0] + perSeed[1]) / 2) < 1e-12);
    assert.ok(Math.abs(Number(point.low) - confidenceInterval(perSeed).low) < 1e-12);
  });

  it('figure 7: three panels (step ms, tokens/s, peak MiB) per method and preset from the trials that trained', () => {
    const plan = figure(plans, 'compute');
    const spec = json(plan.spec);
    assert.ok(Array.isArray(spec.hconcat) && spec.hconcat.length === 3);
    const bars = leafLayers(spec).filter((l) => l.mark === 'bar');
    assert.deepEqual(
      bars.map((l) => channel(l, 'y').field),
      ['stepMs', 'tokensPerSecond', 'peakTensorMiB'],
    );
    const rows = values(plan);
    assert.ok(!rows.some((r) => r.method === 'prompt-design'));
    const trials = records.filter((r) => r.config.method === 'lora' && r.config.preset === 'ps-nano' && r.sweeps.includes('scaling'));
    const point = rows.find((r) => r.method === 'lora' && r.preset === 'ps-nano')!;
    assert.equal(point.n, trials.length);
    assert.ok(Math.abs(Number(point.stepMs) - confidenceInterval(trials.map((r) => r.timing.stepSecondsMedian * 1000)).mean) < 1e-9);
    assert.equal(point.peakTensorMiB, Math.max(...trials.map((r) => r.memory.peakTensorBytes)) / 2 ** 20);
  });

  it('figure 9: inference overhead (%) per method and LoRA variant within each preset, from bench.json’s rows, the bare model left out', () => {
    const plan = figure(plans, 'overhead');
    const [bars, zero, claim] = leafLayers(json(plan.spec));
    assert.ok(bars.data !== null, 'the bars carry their rows');
    const rows = bars.data;
    // Through JSON: rendering tags the data objects with Vega's symbol ids.
    assert.deepEqual(JSON.parse(JSON.stringify(rows)), plan.rows, 'the CSV rows are the plotted ones');
    const bench = fixtureBench().rows.filter((r) => r.method !== 'bare');
    assert.equal(rows.length, bench.length);
    for (const row of bench) {
      const point = rows.find((p) => p.preset === row.preset && p.method === row.method && p.variant === row.variant)!;
      assert.ok(point !== undefined, `${row.preset} ${row.method} ${row.variant}`);
      assert.equal(point.overhead, row.inferOverhead * 100);
      assert.equal(point.inferMs, row.inferMedianMs);
      assert.equal(point.bareMs, fixtureBench().rows.find((r) => r.method === 'bare' && r.preset === row.preset)!.inferMedianMs);
    }
    assert.equal(bars.mark, 'bar');
    assert.equal(channel(bars, 'y').field, 'overhead');
    assert.deepEqual(channel(bars, 'x').sort, [...FIXTURE_PRESETS]);
    assert.equal(channel(bars, 'xOffset').field, 'series');
    assert.equal(channel(zero, 'y').datum, 0);
    assert.equal(channel(claim, 'y').datum, 1, 'the dashed line at the claimed 1%');
    const colour = json(channel(bars, 'color').scale);
    const domain = colour.domain as string[];
    const range = colour.range as string[];
    assert.deepEqual(domain, ['full model tuning', 'prompt tuning', 'prefix tuning', 'P-tuning', 'LoRA (unmerged)', 'LoRA (merged)', 'BitFit', 'prompt design']);
    assert.equal(range[domain.indexOf('prompt tuning')], '#e45756', 'the method’s colour in every figure');
    assert.equal(range[domain.indexOf('LoRA (unmerged)')], '#54a24b');
    assert.equal(range[domain.indexOf('LoRA (merged)')], '#aad1a5', 'the second variant: the same hue, lighter');
  });

  it('says which run each figure came from: the experiment for 1–7, the benchmark for 9', () => {
    for (const plan of plans.filter((p) => p.id !== 'overhead')) assert.match(plan.paragraphs.join(' '), /Run: experiment “fixture”, profile quick, backend wasm, git f1x7ure, finished 2025-01-15/);
    assert.match(figure(plans, 'overhead').paragraphs.join(' '), /Benchmark: peftscale bench, 2025-01-16 09:00 UTC, backend wasm, git b3nchf1x7ure \(with uncommitted changes\), fixture CPU \(synthetic bench\) \(2 cores\), batch 16 × 64 tokens, 5 warm-up and 20 measured calls per timing\./);
  });
});

describe('figures from partial results', () => {
  const only = (keep: (r: TrialRecord) => boolean, sweeps: string[]): LoadedResults => {
    const kept = fixtureRecords()
      .filter(keep)
      .map((r) => ({ ...r, sweeps: r.sweeps.filter((s) => sweeps.includes(s)) }))
      .filter((r) => r.sweeps.length > 0);
    const manifest = fixtureManifest(kept);
    return { dir: '(test)', records: kept, summary: summarize(kept, 'full'), manifest: { ...manifest, sweeps: manifest.sweeps.filter((s) => sweeps.includes(s.name)) }, ensembles: null, bench: null, methods: fixtureLoaded().methods };
  };

  it('a run without prompt-length and init sweeps (and no bench.json) draws figures 1, 2, 5–7 and says why 3, 4, 9 and 13 are empty', () => {
    const partial = planFigures(only(() => true, ['scaling']));
    assert.deepEqual(
      partial.map((p) => p.spec !== null),
      [true, true, false, false, true, true, true, false, true, true, true, false],
    );
    assert.match(figure(partial, 'data-size').notice!, /no sweep whose figure is “data-size”/);
    assert.match(figure(partial, 'overhead').notice!, /No bench\.json/);
    assert.match(figure(partial, 'prompt-length').notice!, /no sweep whose figure is “prompt-length”/);
    assert.match(figure(partial, 'init').notice!, /no sweep whose figure is “init”/);
  });

  it('one task: no average panel, the task itself is the panel', () => {
    const partial = planFigures(only((r) => r.config.task === 'colour', ['scaling', 'prompt-length']));
    assert.deepEqual(json(json(figure(partial, 'scaling').spec).facet).sort, ['colour']);
    assert.deepEqual([...new Set(values(figure(partial, 'prompt-length')).map((r) => r.panel))], ['colour']);
  });

  it('one seed: points without intervals', () => {
    const partial = planFigures(only((r) => r.config.seed === 0, ['scaling']));
    const rows = values(figure(partial, 'scaling'));
    assert.ok(rows.length > 0 && rows.every((r) => r.low === null && r.high === null && r.n === 1));
  });
});
