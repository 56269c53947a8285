/**
 * The gap to full model tuning against model size, per method: each method's test accuracy minus the
 * baseline's on the same frozen model, task and seed. The paired differences are the summary's
 * (gapsToBaseline in src/results/results_summary.ts, whose mean is the summary table's "gap to full"), so table,
 * figure and the scale claim cannot disagree; this figure adds their 95% interval.
 */
import type { TopLevelSpec } from 'vega-lite';
import { AVERAGE_TASK, frozenModelName, gapsToBaseline, optionsLabel, seedGroups, summaryKey, type TrialRecord } from '../../src/results/results.js';
import { confidenceInterval } from '../../src/results/stats.js';
import { escapeHtml as p } from '../format.js';
import type { LoadedResults } from '../load.js';
import { namerFor, panelOf, type SeriesNamer } from '../series.js';
import { runLine } from '../tables.js';
import { clampOrNull, finite, nothingToDraw, percent, recordsFor, scalingNotice, sourceLine, type FigureDefinition } from './figure.js';
import { colourBy, facetedSpec, HAS_INTERVAL, PANEL_HEIGHT, PANEL_WIDTH, parametersAxis, taskFacet, tip, type ColourScale } from './spec.js';

/** A gap to full model tuning: mean of per-seed differences (percentage points) and its 95% interval. */
export interface GapPoint {
  panel: string;
  series: string;
  method: string;
  preset: string;
  parameters: number;
  /** Training examples of the trials (one size per point). */
  train: number;
  /** Mean over seeds of (method − full model tuning), percentage points. */
  gap: number;
  low: number | null;
  high: number | null;
  /** Seeds where both finished. */
  n: number;
}

/**
 * Per preset and method of the scaling sweeps, the gap to the baseline on the same preset, task and seed
 * (paired by seed), a panel per task plus the task average (seeds that finished every task). Points come
 * in the order the sweeps' finished trials first name their group and task, each group's average last.
 */
export function gapPoints(results: LoadedResults): { points: GapPoint[]; namer: SeriesNamer; hasFull: boolean } {
  const baseline = results.methods.baseline().name;
  const { records } = recordsFor(results, 'scaling');
  const namer = namerFor(results.methods, records);
  const groups = seedGroups(results.records);
  const gaps = new Map([...gapsToBaseline(groups, baseline)].map(([group, differences]) => [group.key, differences]));
  const finished = records.filter((r) => r.status === 'finished' && Number.isFinite(r.test.accuracy));
  const panels = new Map<string, { record: TrialRecord; tasks: Set<string> }>();
  for (const r of finished) {
    const key = JSON.stringify([r.config.preset, r.config.method, optionsLabel(r.config.options), r.config.data.train]);
    panels.set(key, { record: r, tasks: (panels.get(key)?.tasks ?? new Set<string>()).add(r.config.task) });
  }
  const points: GapPoint[] = [];
  for (const { record, tasks } of panels.values()) {
    if (record.config.method === baseline) continue;
    for (const task of [...tasks, ...(tasks.size >= 2 ? [AVERAGE_TASK] : [])]) {
      const differences = gaps.get(summaryKey(frozenModelName(record.config), record.config.method, optionsLabel(record.config.options), task, record.config.data.train)) ?? [];
      if (differences.length === 0) continue;
      const interval = confidenceInterval(differences.map(percent));
      points.push({
        panel: panelOf(task),
        series: namer.label(record.config.method, record.config.options),
        method: record.config.method,
        preset: record.config.preset,
        parameters: record.parameters.base,
        train: record.config.data.train,
        gap: interval.mean,
        // A difference of accuracies lies in [-100, 100]; wider intervals (two seeds) are cut there.
        low: interval.n >= 2 ? clampOrNull(finite(interval.low), -100, 100) : null,
        high: interval.n >= 2 ? clampOrNull(finite(interval.high), -100, 100) : null,
        n: interval.n,
      });
    }
  }
  return { points, namer, hasFull: finished.some((r) => r.config.method === baseline) };
}

/** Gap to full model tuning (percentage points) against frozen-model parameters, per method. */
export function gapSpec(points: readonly GapPoint[], colours: ColourScale, subtitle: string): TopLevelSpec {
  // x sits in each data layer, not the shared encoding, so that the zero rule spans the whole panel.
  const x = parametersAxis(points);
  return facetedSpec('Gap to full model tuning against frozen-model size', subtitle, points, taskFacet(points), {
    width: PANEL_WIDTH,
    height: PANEL_HEIGHT,
    encoding: { color: colourBy('method', colours) },
    layer: [
      { mark: { type: 'rule', strokeWidth: 1.5, strokeDash: [5, 4] }, encoding: { y: { datum: 0 }, color: { value: '#252525' } } },
      { transform: [HAS_INTERVAL], mark: { type: 'rule', strokeWidth: 1.5, opacity: 0.7 }, encoding: { x, y: { field: 'low', type: 'quantitative' }, y2: { field: 'high' } } },
      { mark: { type: 'line', strokeWidth: 2 }, encoding: { x, y: { field: 'gap', type: 'quantitative' } } },
      {
        mark: { type: 'point', filled: true, size: 55 },
        encoding: {
          x,
          y: { field: 'gap', type: 'quantitative', title: ['accuracy minus full model tuning', '(percentage points)'], axis: { format: '~r' } },
          tooltip: [
            { field: 'series', title: 'method' },
            { field: 'preset', title: 'frozen model' },
            tip('parameters', 'frozen parameters', ','),
            { field: 'panel', title: 'task' },
            tip('gap', 'gap (percentage points)', '+.1f'),
            tip('low', '95% CI low', '+.1f'),
            tip('high', '95% CI high', '+.1f'),
            { field: 'n', title: 'paired seeds' },
          ],
        },
      },
    ],
  });
}

export const gapFigure: FigureDefinition = {
  id: 'gap',
  title: 'Gap to full model tuning against model size, per method',
  plan(results, { subtitle }) {
    const { points, namer, hasFull } = gapPoints(results);
    if (points.length === 0) {
      return nothingToDraw(scalingNotice(results, hasFull ? 'No method shares a frozen model, task and seed with full model tuning.' : 'The scaling sweeps have no finished full-model-tuning trial to compare with.'));
    }
    const baselineSeries = namer.series.filter((x) => x.method === results.methods.baseline().name).map((x) => x.label);
    return {
      spec: gapSpec(points, namer.colourScale([...points.map((pt) => pt.series), ...baselineSeries]), subtitle),
      rows: points.map((pt) => ({ ...pt })),
      paragraphs: [
        p(
          'Each method’s test accuracy minus full model tuning’s on the same frozen model, task and seed, averaged over seeds (percentage points; the dashed line at 0 is full model tuning). ' +
            'Error bars are 95% Student-t intervals of those paired differences, where at least two seeds were paired. Below zero, the method trails full model tuning.',
        ),
        p(runLine(results.manifest)),
        sourceLine('Lester et al. 2021, Fig. 1: the gap of prompt tuning to model tuning closes as T5 grows and vanishes at XXL (11B parameters).'),
      ],
      warnings: [],
    };
  },
};
