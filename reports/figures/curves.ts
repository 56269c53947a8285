/**
 * Training curves: mean training loss against the training step per method of the scaling sweeps, a
 * panel per frozen model (each seed's loss averaged over tasks; bands: 95% interval over seeds).
 */
import type { TopLevelSpec } from 'vega-lite';
import type { TrialRecord } from '../../src/results/results.js';
import { confidenceInterval } from '../../src/results/stats.js';
import { capitalize, escapeHtml as p, listText } from '../format.js';
import type { LoadedResults } from '../load.js';
import { namerFor, type SeriesNamer } from '../series.js';
import { runLine } from '../tables.js';
import { clampOrNull, finite, nothingToDraw, recordsFor, scalingNotice, scalingPresets, type FigureDefinition } from './figure.js';
import { colourBy, facetedSpec, HAS_INTERVAL, PANEL_HEIGHT, PANEL_WIDTH, tip, type ColourScale } from './spec.js';

/** Mean training loss at a step, over seeds (each seed's loss averaged over tasks). */
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

/** Loss curves of the scaling sweep's finished trials; methods that never train have none and are listed. */
export function curvePoints(results: LoadedResults): { points: CurvePoint[]; namer: SeriesNamer; untrained: string[] } {
  const { records } = recordsFor(results, 'scaling');
  const namer = namerFor(results.methods, records);
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

/** Mean training loss against step, a line per method, a panel per preset (bands: 95% CI over seeds). */
export function curvesSpec(points: readonly CurvePoint[], colours: ColourScale, presets: string[], subtitle: string): TopLevelSpec {
  return facetedSpec('Training curves: training loss against step, per method', subtitle, points, { field: 'preset', title: 'frozen model', sort: presets }, {
    width: PANEL_WIDTH,
    height: PANEL_HEIGHT,
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'training step', axis: { format: 'd', tickMinStep: 1 } },
      color: { ...colourBy('method', colours), legend: { symbolOpacity: 1 } },
    },
    layer: [
      { transform: [HAS_INTERVAL], mark: { type: 'area', opacity: 0.18 }, encoding: { y: { field: 'low', type: 'quantitative' }, y2: { field: 'high' } } },
      { mark: { type: 'line', strokeWidth: 2 }, encoding: { y: { field: 'loss', type: 'quantitative', title: 'training loss (cross-entropy per label token, nats)' } } },
      {
        mark: { type: 'point', filled: true, size: 25 },
        encoding: {
          y: { field: 'loss', type: 'quantitative' },
          tooltip: [
            { field: 'series', title: 'method' },
            { field: 'preset', title: 'frozen model' },
            { field: 'step', title: 'step' },
            tip('loss', 'mean loss (nats)', '.3f'),
            tip('low', '95% CI low', '.3f'),
            tip('high', '95% CI high', '.3f'),
            { field: 'n', title: 'seeds' },
          ],
        },
      },
    ],
  });
}

export const curvesFigure: FigureDefinition = {
  id: 'curves',
  title: 'Training curves: training loss against step per method, a panel per frozen model',
  plan(results, { subtitle }) {
    const { points, namer, untrained } = curvePoints(results);
    if (points.length === 0) return nothingToDraw(scalingNotice(results, 'No finished trial of the scaling sweeps recorded a loss curve.'));
    return {
      spec: curvesSpec(points, namer.colourScale(points.map((pt) => pt.series)), scalingPresets(results), subtitle),
      rows: points.map((pt) => ({ ...pt })),
      paragraphs: [
        p(
          'Mean training loss (cross-entropy per label token, nats) over each evaluation interval, against the training step, per method of the scaling sweeps, a panel per frozen model. ' +
            'Each seed’s loss is first averaged over tasks; the line is the mean over seeds and the band its 95% Student-t interval (two or more seeds). ' +
            `${untrained.length === 0 ? '' : `${capitalize(listText(untrained))} ${untrained.length === 1 ? 'trains' : 'train'} nothing and ${untrained.length === 1 ? 'has' : 'have'} no curve.`}`,
        ),
        p(runLine(results.manifest)),
      ],
      warnings: [],
    };
  },
};
