/**
 * What the score figures share (scaling, prompt length, initialisation): a point per summary row (mean
 * test accuracy over seeds with its 95% interval, in percent, from summary.json), the points of an
 * option sweep, and the Vega-Lite layers that draw a score with its interval.
 */
import { accuracyInterval, AVERAGE_TASK, type SummaryRow } from '../../src/results/results.js';
import type { LoadedResults } from '../load.js';
import { namerFor, panelOf } from '../series.js';
import { percent, recordsFor, summaryRowsFor } from './figure.js';
import { HAS_INTERVAL, tip } from './spec.js';

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

export function scorePoint(row: SummaryRow, panel: string, series: string, x: number | string | null): ScorePoint {
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

/**
 * Score against an option (prompt length, init), a series per preset. Uses the task average when the
 * summary has it, else every task as its own panel; panels also name the method when the sweeps tuned
 * more than one. Trials without the option are left out and reported.
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
  const namer = namerFor(results.methods, records, [option]);
  const otherVariants = new Set([...variants.values()].map((row) => namer.label(row.method, row.options, [option])));
  const points: ScorePoint[] = [];
  const left: string[] = [];
  const presets = new Map<string, number>();
  for (const row of rows) {
    if (useAverage !== (row.task === AVERAGE_TASK)) continue;
    const value = row.options[option];
    if (typeof value !== 'number' && typeof value !== 'string') {
      left.push(`${results.methods.name(row.method)} on ${row.preset} (${row.optionsLabel || 'no options'}): no option "${option}"`);
      continue;
    }
    if (row.n === 0 || !Number.isFinite(row.mean)) {
      left.push(`${results.methods.name(row.method)} on ${row.preset} (${row.optionsLabel}), ${panelOf(row.task)}: every trial diverged`);
      continue;
    }
    const variant = namer.label(row.method, row.options, [option]);
    const series = otherVariants.size > 1 ? `${row.preset}, ${variant}` : row.preset;
    const panel = methods.size > 1 ? `${results.methods.name(row.method)} · ${panelOf(row.task)}` : panelOf(row.task);
    presets.set(series, row.baseParameters);
    points.push(scorePoint(row, panel, series, value));
  }
  const ordered = [...presets.entries()].sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0])).map(([name]) => name);
  return { points, sweeps, presets: ordered, left };
}

/** Whether every point is on the per-seed average over tasks (the option figures' caption says which). */
export function onAverage(points: readonly ScorePoint[]): boolean {
  return points.every((pt) => pt.panel.endsWith('average over tasks'));
}

/** Accuracy on y, not forced to include 0. */
export const ACCURACY_Y = { field: 'accuracy', type: 'quantitative' as const, scale: { zero: false } };

/** The y channel (with axis title) of the layer that carries a score figure's axis and tooltips. */
export const ACCURACY_AXIS = { ...ACCURACY_Y, title: 'test accuracy (%)', axis: { format: '~r' } };

/** The 95% interval of a score as a rule from `low` to `high`. */
export function scoreIntervalLayer(mark: { strokeWidth: number; opacity?: number }) {
  return { transform: [HAS_INTERVAL], mark: { type: 'rule' as const, ...mark }, encoding: { y: { ...ACCURACY_Y, field: 'low' }, y2: { field: 'high' } } };
}

/** Tooltip entries every score figure shows after its own: the panel, the mean, its interval, seeds and diverged trials. */
export const SCORE_TOOLTIP = [
  { field: 'panel', title: 'task' },
  tip('accuracy', 'mean test accuracy (%)', '.1f'),
  tip('low', '95% CI low (%)', '.1f'),
  tip('high', '95% CI high (%)', '.1f'),
  { field: 'n', title: 'seeds (finished)' },
  { field: 'diverged', title: 'diverged trials' },
];

/** Line figures of a score (scaling, prompt length): interval rules, the line of means and its points with tooltips. */
export function scoreLineLayers(tooltip: readonly object[]) {
  return [
    scoreIntervalLayer({ strokeWidth: 1.5, opacity: 0.7 }),
    { mark: { type: 'line' as const, strokeWidth: 2 }, encoding: { y: ACCURACY_Y } },
    { mark: { type: 'point' as const, filled: true, size: 55 }, encoding: { y: ACCURACY_AXIS, tooltip: [...tooltip, ...SCORE_TOOLTIP, tip('trainable', 'trainable parameters', ',')] } },
  ];
}
