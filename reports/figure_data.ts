/**
 * The data behind each figure, as flat rows (each row is one mark; the same rows go to the figure's
 * CSV). Scores come from summary.json (mean and 95% Student-t interval over seeds, n ≥ 2 for an
 * interval); groupings the summary does not hold (gaps paired by seed, loss curves, compute) are
 * computed from results.jsonl with src/stats.ts. Scores are shown in percent.
 */
import type { BenchReport, BenchRow } from '../src/bench.js';
import type { FigureKind, SummaryRow, TrialRecord } from '../src/results.js';
import { accuracyInterval, optionsLabel } from '../src/results.js';
import { confidenceInterval } from '../src/stats.js';
import type { LoadedResults } from './load.js';
import { AVERAGE_TASK, compareMethods, methodColour, methodName, namerFor, panelOf, type SeriesNamer } from './series.js';
import { baselineMethod } from '../src/peft.js';

/** Trials of the sweeps that feed a figure kind, and those sweeps' names. */
export function recordsFor(results: LoadedResults, kind: FigureKind): { records: TrialRecord[]; sweeps: string[] } {
  const sweeps = results.manifest.sweeps.filter((s) => s.figure === kind).map((s) => s.name);
  return { records: results.records.filter((r) => r.sweeps.some((s) => sweeps.includes(s))), sweeps };
}

/** Summary rows of the (preset, method, options) groups that the given trials belong to. */
export function summaryRowsFor(results: LoadedResults, records: readonly TrialRecord[]): SummaryRow[] {
  const key = (preset: string, method: string, options: string): string => JSON.stringify([preset, method, options]);
  const wanted = new Set(records.map((r) => key(r.config.preset, r.config.method, optionsLabel(r.config.options))));
  return results.summary.filter((row) => wanted.has(key(row.preset, row.method, row.optionsLabel)));
}

const percent = (fraction: number): number => fraction * 100;
const finite = (value: number): number | null => (Number.isFinite(value) ? value : null);

/** One mean score: a point, with its 95% interval where n ≥ 2. */
export interface ScorePoint {
  panel: string;
  series: string;
  method: string;
  preset: string;
  /** Frozen base parameters. */
  parameters: number;
  /** The figure's x option (prompt length, init), when it has one. */
  x: number | string | null;
  /** Mean test accuracy, %. */
  accuracy: number;
  low: number | null;
  high: number | null;
  n: number;
  diverged: number;
  trainable: number;
  options: string;
}

function clampOrNull(value: number | null, min: number, max: number): number | null {
  return value === null ? null : Math.min(max, Math.max(min, value));
}

function scorePoint(row: SummaryRow, panel: string, series: string, x: number | string | null): ScorePoint {
  const interval = row.n >= 2 && Number.isFinite(row.ci95[0]) && Number.isFinite(row.ci95[1]);
  return {
    panel,
    series,
    method: row.method,
    preset: row.preset,
    parameters: row.baseParameters,
    x,
    accuracy: percent(row.mean),
    low: interval ? percent(accuracyInterval(row)[0]) : null,
    high: interval ? percent(accuracyInterval(row)[1]) : null,
    n: row.n,
    diverged: row.diverged,
    trainable: row.trainable,
    options: row.optionsLabel,
  };
}

/** Figure 1: every method's mean score per preset, a panel per task and one for the task average. */
export function scalingPoints(results: LoadedResults): { points: ScorePoint[]; namer: SeriesNamer; sweeps: string[]; allDiverged: string[] } {
  const { records, sweeps } = recordsFor(results, 'scaling');
  const namer = namerFor(records);
  const points: ScorePoint[] = [];
  const allDiverged: string[] = [];
  for (const row of summaryRowsFor(results, records)) {
    if (row.n === 0 || !Number.isFinite(row.mean)) {
      allDiverged.push(`${methodName(row.method)} on ${row.preset}, ${panelOf(row.task)}`);
      continue;
    }
    points.push(scorePoint(row, panelOf(row.task), namer.label(row.method, row.options), null));
  }
  return { points, namer, sweeps, allDiverged };
}

/**
 * Figures 3 and 4: score against an option (prompt length, init), a series per preset. Uses the task
 * average when the summary has it, else every task as its own panel; panels also name the method when
 * the sweeps tuned more than one. Trials without the option are left out and reported.
 */
export function optionPoints(
  results: LoadedResults,
  kind: 'prompt-length' | 'init',
  option: string,
): { points: ScorePoint[]; sweeps: string[]; presets: string[]; left: string[] } {
  const { records, sweeps } = recordsFor(results, kind);
  const rows = summaryRowsFor(results, records);
  const useAverage = rows.some((row) => row.task === AVERAGE_TASK);
  const methods = new Set(rows.map((row) => row.method));
  // A series is a preset, plus the options (other than the x option) that differ between groups.
  const variants = new Map(rows.map((row) => [JSON.stringify([row.method, row.optionsLabel]), row]));
  const namer = namerFor(records, [option]);
  const otherVariants = new Set([...variants.values()].map((row) => namer.label(row.method, row.options, [option])));
  const points: ScorePoint[] = [];
  const left: string[] = [];
  const presets = new Map<string, number>();
  for (const row of rows) {
    if (useAverage !== (row.task === AVERAGE_TASK)) continue;
    const value = row.options[option];
    if (typeof value !== 'number' && typeof value !== 'string') {
      left.push(`${methodName(row.method)} on ${row.preset} (${row.optionsLabel || 'no options'}): no option "${option}"`);
      continue;
    }
    if (row.n === 0 || !Number.isFinite(row.mean)) {
      left.push(`${methodName(row.method)} on ${row.preset} (${row.optionsLabel}), ${panelOf(row.task)}: every trial diverged`);
      continue;
    }
    const variant = namer.label(row.method, row.options, [option]);
    const series = otherVariants.size > 1 ? `${row.preset}, ${variant}` : row.preset;
    const panel = methods.size > 1 ? `${methodName(row.method)} · ${panelOf(row.task)}` : panelOf(row.task);
    presets.set(series, row.baseParameters);
    points.push(scorePoint(row, panel, series, value));
  }
  const ordered = [...presets.entries()].sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0])).map(([name]) => name);
  return { points, sweeps, presets: ordered, left };
}

/** Finished trials' test accuracy by (group without task) → task → seed. */
function scoresBySeed(records: readonly TrialRecord[], groupOf: (r: TrialRecord) => string): Map<string, Map<string, Map<number, number>>> {
  const groups = new Map<string, Map<string, Map<number, number>>>();
  for (const r of records) {
    if (r.status !== 'finished' || !Number.isFinite(r.test.accuracy)) continue;
    const key = groupOf(r);
    const tasks = groups.get(key) ?? new Map<string, Map<number, number>>();
    const seeds = tasks.get(r.config.task) ?? new Map<number, number>();
    seeds.set(r.config.seed, r.test.accuracy);
    tasks.set(r.config.task, seeds);
    groups.set(key, tasks);
  }
  return groups;
}

/** Per-seed scores of one group on one panel: a task, or the average over the group's tasks (seeds with every task). */
function panelScores(tasks: Map<string, Map<number, number>>, task: string): Map<number, number> {
  if (task !== AVERAGE_TASK) return tasks.get(task) ?? new Map<number, number>();
  const all = [...tasks.values()];
  const seeds = [...(all[0]?.keys() ?? [])].filter((seed) => all.every((bySeed) => bySeed.has(seed)));
  return new Map(seeds.map((seed) => [seed, all.reduce((sum, bySeed) => sum + bySeed.get(seed)!, 0) / all.length]));
}

/** A gap to full model tuning: mean of per-seed differences (percentage points) and its 95% interval. */
export interface GapPoint {
  panel: string;
  series: string;
  method: string;
  preset: string;
  parameters: number;
  /** Mean over seeds of (method − full model tuning), percentage points. */
  gap: number;
  low: number | null;
  high: number | null;
  /** Seeds where both finished. */
  n: number;
}

/**
 * Figure 2: per preset and method, the gap to full model tuning on the same preset, task and seed
 * (paired by seed), a panel per task plus the task average (seeds that finished every task).
 */
export function gapPoints(results: LoadedResults): { points: GapPoint[]; namer: SeriesNamer; hasFull: boolean } {
  const { records } = recordsFor(results, 'scaling');
  const namer = namerFor(records);
  const byGroup = scoresBySeed(records, (r) => JSON.stringify([r.config.preset, r.config.method, optionsLabel(r.config.options)]));
  const fullByPreset = scoresBySeed(
    records.filter((r) => r.config.method === baselineMethod().name),
    (r) => r.config.preset,
  );
  const points: GapPoint[] = [];
  const first = new Map(records.map((r) => [JSON.stringify([r.config.preset, r.config.method, optionsLabel(r.config.options)]), r]));
  for (const [key, tasks] of byGroup) {
    const record = first.get(key)!;
    const full = fullByPreset.get(record.config.preset);
    if (record.config.method === baselineMethod().name || full === undefined) continue;
    const panels = [...tasks.keys(), ...(tasks.size >= 2 ? [AVERAGE_TASK] : [])];
    for (const task of panels) {
      const fullTasks = task === AVERAGE_TASK ? new Map([...full].filter(([t]) => tasks.has(t))) : full;
      if (task === AVERAGE_TASK && fullTasks.size !== tasks.size) continue; // full model tuning lacks one of the tasks
      const mine = panelScores(tasks, task);
      const theirs = panelScores(fullTasks, task);
      const differences = [...mine.entries()].filter(([seed]) => theirs.has(seed)).map(([seed, score]) => percent(score - theirs.get(seed)!));
      if (differences.length === 0) continue;
      const interval = confidenceInterval(differences);
      points.push({
        panel: panelOf(task),
        series: namer.label(record.config.method, record.config.options),
        method: record.config.method,
        preset: record.config.preset,
        parameters: record.parameters.base,
        gap: interval.mean,
        // A difference of accuracies lies in [-100, 100]; wider intervals (two seeds) are cut there.
        low: interval.n >= 2 ? clampOrNull(finite(interval.low), -100, 100) : null,
        high: interval.n >= 2 ? clampOrNull(finite(interval.high), -100, 100) : null,
        n: interval.n,
      });
    }
  }
  return { points, namer, hasFull: fullByPreset.size > 0 };
}

/** Figure 5: a method's task-specific parameters as % of the model, from this run or a publication. */
export interface EfficiencyPoint {
  source: string;
  series: string;
  method: string;
  label: string;
  parameters: number;
  trainable: number | null;
  percent: number;
  adapterBytes: number | null;
}

/** Figure 5 (this run's part): one point per preset and method variant; 0% (prompt design) cannot sit on a log axis and is listed instead. */
export function efficiencyPoints(results: LoadedResults): { points: EfficiencyPoint[]; namer: SeriesNamer; zero: string[] } {
  const { records } = recordsFor(results, 'scaling');
  const namer = namerFor(records);
  const seen = new Map<string, EfficiencyPoint>();
  const zero = new Set<string>();
  for (const r of records) {
    const series = namer.label(r.config.method, r.config.options);
    if (!(r.parameters.percent > 0)) {
      zero.add(series);
      continue;
    }
    seen.set(JSON.stringify([series, r.config.preset]), {
      source: 'this run',
      series,
      method: r.config.method,
      label: `${series} on ${r.config.preset}`,
      parameters: r.parameters.base,
      trainable: r.parameters.trainable,
      percent: r.parameters.percent,
      adapterBytes: r.parameters.adapterBytes,
    });
  }
  return { points: [...seen.values()].sort((a, b) => a.parameters - b.parameters || a.series.localeCompare(b.series)), namer, zero: [...zero] };
}

/** Figure 6: mean training loss at a step, over seeds (each seed's loss averaged over tasks). */
export interface CurvePoint {
  preset: string;
  parameters: number;
  series: string;
  method: string;
  step: number;
  loss: number;
  low: number | null;
  high: number | null;
  n: number;
}

/** Figure 6: loss curves of the scaling sweep's finished trials; methods that never train have none and are listed. */
export function curvePoints(results: LoadedResults): { points: CurvePoint[]; namer: SeriesNamer; untrained: string[] } {
  const { records } = recordsFor(results, 'scaling');
  const namer = namerFor(records);
  // (preset, series) → seed → step → losses over tasks
  const groups = new Map<string, { record: TrialRecord; seeds: Map<number, Map<number, number[]>> }>();
  const untrained = new Set<string>();
  const tasksOf = new Map<string, Set<string>>();
  for (const r of records) {
    const series = namer.label(r.config.method, r.config.options);
    const key = JSON.stringify([r.config.preset, series]);
    tasksOf.set(key, (tasksOf.get(key) ?? new Set<string>()).add(r.config.task));
    if (r.status !== 'finished') continue;
    if (r.lossCurve.length === 0) {
      untrained.add(series);
      continue;
    }
    const group = groups.get(key) ?? { record: r, seeds: new Map<number, Map<number, number[]>>() };
    const steps = group.seeds.get(r.config.seed) ?? new Map<number, number[]>();
    for (const [step, loss] of r.lossCurve) if (Number.isFinite(loss)) steps.set(step, [...(steps.get(step) ?? []), loss]);
    group.seeds.set(r.config.seed, steps);
    groups.set(key, group);
  }
  const points: CurvePoint[] = [];
  for (const [key, { record, seeds }] of groups) {
    const taskCount = tasksOf.get(key)!.size;
    const byStep = new Map<number, number[]>();
    for (const steps of seeds.values()) {
      for (const [step, losses] of steps) {
        if (losses.length !== taskCount) continue; // a seed counts at a step only with every task's loss there
        byStep.set(step, [...(byStep.get(step) ?? []), losses.reduce((a, b) => a + b, 0) / losses.length]);
      }
    }
    for (const [step, values] of [...byStep.entries()].sort((a, b) => a[0] - b[0])) {
      const interval = confidenceInterval(values);
      points.push({
        preset: record.config.preset,
        parameters: record.parameters.base,
        series: namer.label(record.config.method, record.config.options),
        method: record.config.method,
        step,
        loss: interval.mean,
        low: interval.n >= 2 ? clampOrNull(finite(interval.low), 0, Infinity) : null,
        high: interval.n >= 2 ? finite(interval.high) : null,
        n: interval.n,
      });
    }
  }
  return { points, namer, untrained: [...untrained].filter((s) => !points.some((p) => p.series === s)) };
}

/** Figure 7: training cost of a method on a preset, over its finished trials (tasks × seeds). */
export interface ComputePoint {
  preset: string;
  parameters: number;
  series: string;
  method: string;
  /** Median training step, ms: mean over trials and its 95% interval. */
  stepMs: number;
  stepMsLow: number | null;
  stepMsHigh: number | null;
  tokensPerSecond: number;
  tokensPerSecondLow: number | null;
  tokensPerSecondHigh: number | null;
  /** Most bytes held by tfjs tensors in any of the trials, MiB. */
  peakTensorMiB: number;
  n: number;
}

/** Figure 7: step time, throughput and peak tensor memory of the scaling sweep's trials that trained. */
export function computePoints(results: LoadedResults): { points: ComputePoint[]; namer: SeriesNamer; untrained: string[] } {
  const { records } = recordsFor(results, 'scaling');
  const namer = namerFor(records);
  const groups = new Map<string, TrialRecord[]>();
  const untrained = new Set<string>();
  for (const r of records) {
    if (r.status !== 'finished') continue;
    const series = namer.label(r.config.method, r.config.options);
    if (!(r.timing.stepSecondsMedian > 0)) {
      untrained.add(series);
      continue;
    }
    const key = JSON.stringify([r.config.preset, series]);
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const points: ComputePoint[] = [];
  for (const trials of groups.values()) {
    const first = trials[0];
    const steps = confidenceInterval(trials.map((r) => r.timing.stepSecondsMedian * 1000));
    const throughput = confidenceInterval(trials.map((r) => r.timing.tokensPerSecond).filter(Number.isFinite));
    const memory = trials.map((r) => r.memory.peakTensorBytes).filter(Number.isFinite);
    points.push({
      preset: first.config.preset,
      parameters: first.parameters.base,
      series: namer.label(first.config.method, first.config.options),
      method: first.config.method,
      stepMs: steps.mean,
      stepMsLow: steps.n >= 2 ? finite(steps.low) : null,
      stepMsHigh: steps.n >= 2 ? finite(steps.high) : null,
      tokensPerSecond: throughput.mean,
      tokensPerSecondLow: throughput.n >= 2 ? finite(throughput.low) : null,
      tokensPerSecondHigh: throughput.n >= 2 ? finite(throughput.high) : null,
      peakTensorMiB: memory.length === 0 ? NaN : Math.max(...memory) / 2 ** 20,
      n: trials.length,
    });
  }
  points.sort((a, b) => a.parameters - b.parameters || a.series.localeCompare(b.series));
  return { points, namer, untrained: [...untrained].filter((s) => !points.some((p) => p.series === s)) };
}

/** LoRA's variants in bench.json, in display order (unmerged: extra matmuls; merged: folded into the weights). */
const VARIANT_ORDER = ['', 'unmerged', 'merged'];

/** Orders bench.json rows: by preset size, the bare model first, then methods as everywhere in the report, then variants. */
export function compareBenchRows(a: BenchRow, b: BenchRow): number {
  const bare = (row: BenchRow): number => (row.method === 'bare' ? 0 : 1);
  const variant = (row: BenchRow): number => (VARIANT_ORDER.includes(row.variant) ? VARIANT_ORDER.indexOf(row.variant) : VARIANT_ORDER.length);
  return a.parameters - b.parameters || a.preset.localeCompare(b.preset) || bare(a) - bare(b) || compareMethods(a.method, b.method) || variant(a) - variant(b) || a.variant.localeCompare(b.variant);
}

/** A bench.json row's series: the method's display name, with its variant when it has one ("LoRA (merged)"). */
export function benchSeries(row: Pick<BenchRow, 'method' | 'variant'>): string {
  if (row.method === 'bare') return 'frozen model alone';
  return row.variant === '' ? methodName(row.method) : `${methodName(row.method)} (${row.variant})`;
}

/** A colour halfway to white: a method's second variant keeps its hue and reads as the same method. */
function lighter(hex: string): string {
  const channels = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return `#${channels.map((c) => Math.round(c + (255 - c) * 0.5).toString(16).padStart(2, '0')).join('')}`;
}

/** Figure 9: one method's inference overhead on one preset, from bench.json. */
export interface OverheadPoint {
  preset: string;
  parameters: number;
  series: string;
  method: string;
  variant: string;
  /** The row's inferOverhead in percent: its median forward pass over the bare model's on the preset, minus 1. */
  overhead: number;
  inferMs: number;
  /** The bare model's median forward pass on the preset (null: bench.json has no bare row for it). */
  bareMs: number | null;
  virtualTokens: number;
}

/** Figure 9: every non-bare row of bench.json, with a colour per series (the method's colour; a second variant lighter). */
export function overheadPoints(bench: BenchReport): { points: OverheadPoint[]; colours: { domain: string[]; range: string[] }; presets: string[] } {
  const rows = [...bench.rows].sort(compareBenchRows);
  const bare = new Map(rows.filter((r) => r.method === 'bare').map((r) => [r.preset, r.inferMedianMs]));
  const points = rows
    .filter((r) => r.method !== 'bare')
    .map((r) => ({ preset: r.preset, parameters: r.parameters, series: benchSeries(r), method: r.method, variant: r.variant, overhead: r.inferOverhead * 100, inferMs: r.inferMedianMs, bareMs: bare.get(r.preset) ?? null, virtualTokens: r.virtualTokens }));
  const domain: string[] = [];
  const range: string[] = [];
  for (const r of rows) {
    const series = benchSeries(r);
    if (r.method === 'bare' || domain.includes(series)) continue;
    const earlier = points.some((p) => p.method === r.method && domain.includes(p.series));
    domain.push(series);
    range.push(earlier ? lighter(methodColour(r.method)) : methodColour(r.method));
  }
  const presets = [...new Set(rows.map((r) => r.preset))];
  return { points, colours: { domain, range }, presets };
}
