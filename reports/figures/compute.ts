/**
 * Compute: per method and frozen model of the scaling sweeps, the median training step time, training
 * tokens per second and the peak memory held by tfjs tensors, over the finished trials (tasks × seeds).
 */
import type { TopLevelSpec } from 'vega-lite';
import type { TrialRecord } from '../../src/results/results.js';
import { confidenceInterval } from '../../src/results/stats.js';
import { capitalize, escapeHtml as p, listText } from '../format.js';
import type { LoadedResults } from '../load.js';
import { namerFor, type SeriesNamer } from '../series.js';
import { runLine } from '../tables.js';
import { finite, nothingToDraw, recordsFor, scalingNotice, scalingPresets, type FigureDefinition } from './figure.js';
import { colourBy, CONFIG, PANEL_HEIGHT, tip, VEGA_LITE_SCHEMA, type ColourScale } from './spec.js';

/** Training cost of a method on a preset, over its finished trials (tasks × seeds). */
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

/** Step time, throughput and peak tensor memory of the scaling sweep's trials that trained. */
export function computePoints(results: LoadedResults): { points: ComputePoint[]; namer: SeriesNamer; untrained: string[] } {
  const { records } = recordsFor(results, 'scaling');
  const namer = namerFor(results.methods, records);
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

/** One panel: a bar per method within each preset, with 95% error bars where available. */
function computePanel(field: keyof ComputePoint, title: string, format: string, colours: ColourScale, presets: string[], interval: boolean) {
  return {
    width: 230,
    height: PANEL_HEIGHT + 30,
    encoding: {
      x: { field: 'preset', type: 'nominal' as const, sort: presets, title: 'frozen model', axis: { labelAngle: 0 } },
      xOffset: { field: 'series', type: 'nominal' as const, sort: colours.domain },
      color: colourBy('method', colours),
    },
    layer: [
      {
        mark: { type: 'bar' as const },
        encoding: {
          y: { field, type: 'quantitative' as const, title, scale: { domainMin: 0, clamp: true, nice: true } },
          tooltip: [
            { field: 'series', title: 'method' },
            { field: 'preset', title: 'frozen model' },
            tip(field, title, format),
            ...(interval ? [tip(`${field}Low`, '95% CI low', format), tip(`${field}High`, '95% CI high', format)] : []),
            { field: 'n', title: 'trials (tasks × seeds)' },
          ],
        },
      },
      ...(interval
        ? [
            {
              transform: [{ filter: `datum.${field}Low != null && datum.${field}High != null` }],
              mark: { type: 'rule' as const, color: '#333' },
              // Intervals of a positive quantity can reach below 0 with few trials: clamped at the axis (tooltips give the values).
              encoding: { y: { field: `${field}Low`, type: 'quantitative' as const, scale: { domainMin: 0, clamp: true } }, y2: { field: `${field}High` }, color: { value: '#333' } },
            },
          ]
        : []),
    ],
  };
}

/** Training step time, tokens per second and peak tensor memory per method and preset. */
export function computeSpec(points: readonly ComputePoint[], colours: ColourScale, presets: string[], subtitle: string): TopLevelSpec {
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: { text: 'Compute: training step time, throughput and peak memory', subtitle },
    data: { values: [...points] },
    hconcat: [
      computePanel('stepMs', 'median training step (ms)', '.1f', colours, presets, true),
      computePanel('tokensPerSecond', 'training throughput (tokens/s)', ',.0f', colours, presets, true),
      computePanel('peakTensorMiB', 'peak tfjs tensor memory (MiB)', '.1f', colours, presets, false),
    ],
    resolve: { scale: { color: 'shared' } },
    config: CONFIG,
  };
}

export const computeFigure: FigureDefinition = {
  id: 'compute',
  title: 'Compute: training step time, tokens per second and peak memory per method and frozen model',
  plan(results, { subtitle }) {
    const { points, namer, untrained } = computePoints(results);
    if (points.length === 0) return nothingToDraw(scalingNotice(results, 'No finished trial of the scaling sweeps took a training step.'));
    const machine = results.manifest.environment.machine;
    return {
      spec: computeSpec(points, namer.colourScale(points.map((pt) => pt.series)), scalingPresets(results), subtitle),
      rows: points.map((pt) => ({ ...pt })),
      paragraphs: [
        p(
          'Per method and frozen model of the scaling sweeps: the median time of one training step (ms), training tokens per second (real and virtual prompt positions) and the most memory held by tfjs tensors (MiB, 2²⁰ bytes; the frozen model included). ' +
            'Bars are means over the finished trials (tasks × seeds) with 95% Student-t intervals for time and throughput; memory is the maximum. ' +
            `Measured on backend ${results.manifest.environment.backend}, ${machine.cpu} (${machine.cores} cores). ` +
            `${untrained.length === 0 ? '' : `${capitalize(listText(untrained))} took no training steps and ${untrained.length === 1 ? 'is' : 'are'} left out.`}`,
        ),
        p(runLine(results.manifest)),
      ],
      warnings: [],
    };
  },
};
