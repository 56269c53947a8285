/**
 * Recovered share: the share of full model tuning's gain above chance that each method recovers, against
 * frozen-model size, with each method's breakout rate over seeds in the tooltip and caption (the
 * audit's metrics beside Lester et al.'s absolute gap). Both come from summary.json (computed once in
 * src/results/results_summary.ts: recoveredShare, leftChance); the summary table shows the same numbers.
 */
import type { TopLevelSpec } from 'vega-lite';
import { escapeHtml } from '../format.js';
import type { LoadedResults } from '../load.js';
import { comparePanels, namerFor, panelOf } from '../series.js';
import { runLine } from '../tables.js';
import { nothingToDraw, recordsFor, summaryRowsFor, type FigureDefinition } from './figure.js';
import { CONFIG, PANEL_HEIGHT, PANEL_WIDTH, parametersAxis, tip, VEGA_LITE_SCHEMA, type ColourScale } from './spec.js';

/** One point: a method's recovered share on one frozen model and task panel. */
export interface RecoveredPoint {
  panel: string;
  series: string;
  method: string;
  preset: string;
  parameters: number;
  /** (mean - chance) / (full's mean - chance), in %. */
  recovered: number;
  /** Seeds that left chance, of those that finished. */
  breakouts: number;
  n: number;
  /** breakouts / n, in %. */
  breakoutRate: number;
}

/** Points of the scaling sweeps' rows whose share is defined (full tuning clearly left chance). */
export function recoveredPoints(results: LoadedResults): { points: RecoveredPoint[]; colours: ColourScale; undefinedRows: number } {
  const { records } = recordsFor(results, 'scaling');
  const namer = namerFor(results.methods, records);
  const rows = summaryRowsFor(results, records).filter((r) => r.method !== results.methods.baseline().name && r.n > 0);
  const points = rows.flatMap((r): RecoveredPoint[] =>
    r.recovered === null
      ? []
      : [{ panel: panelOf(r.task), series: namer.label(r.method, r.options), method: r.method, preset: r.preset, parameters: r.baseParameters, recovered: 100 * r.recovered, breakouts: r.breakouts, n: r.n, breakoutRate: (100 * r.breakouts) / r.n }],
  );
  return { points, colours: namer.colourScale([...new Set(points.map((p) => p.series))]), undefinedRows: rows.length - points.length };
}

function recoveredSpec(points: readonly RecoveredPoint[], colours: ColourScale, subtitle: string): TopLevelSpec {
  const x = parametersAxis(points);
  const panels = [...new Set(points.map((p) => p.panel))].sort(comparePanels);
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: { text: "Share of full model tuning's gain above chance that each method recovers", subtitle },
    data: { values: [...points] },
    facet: { field: 'panel', type: 'nominal', title: 'task', sort: panels },
    columns: Math.min(panels.length, 3),
    spec: {
      width: PANEL_WIDTH,
      height: PANEL_HEIGHT,
      layer: [
        { mark: { type: 'rule', strokeDash: [4, 3], color: '#888' }, encoding: { y: { datum: 100 } } },
        {
          mark: { type: 'line', point: { filled: true, size: 55 }, strokeWidth: 2 },
          encoding: {
            x,
            y: { field: 'recovered', type: 'quantitative', title: "recovered share of full tuning's gain (%)" },
            color: { field: 'series', type: 'nominal', title: 'method', scale: { domain: colours.domain, range: colours.range } },
            tooltip: [
              { field: 'series', title: 'method' },
              { field: 'preset', title: 'frozen model' },
              tip('recovered', 'recovered share (%)', '.0f'),
              { field: 'breakouts', title: 'seeds that left chance' },
              { field: 'n', title: 'seeds (finished)' },
              tip('breakoutRate', 'breakout rate (%)', '.0f'),
            ],
          },
        },
      ],
    },
    config: CONFIG,
  };
}

export const recoveredFigure: FigureDefinition = {
  id: 'recovered',
  title: "Recovered share of full tuning's gain above chance, and breakouts over seeds",
  plan(results, { subtitle }) {
    const { points, colours, undefinedRows } = recoveredPoints(results);
    if (points.length === 0) {
      const why = recordsFor(results, 'scaling').records.length === 0 ? 'This run has no sweep whose figure is “scaling”.' : 'Full model tuning did not clearly leave chance on any frozen model and task (the low end of its 95% interval is not above the majority baseline, or it has fewer than two seeds), so there is no gain to share.';
      return nothingToDraw(why);
    }
    return {
      spec: recoveredSpec(points, colours, subtitle),
      rows: points.map((pt) => ({ ...pt })),
      paragraphs: [
        escapeHtml(
          "(method's mean − chance) ÷ (full model tuning's mean − chance) on the same frozen model and task, in %, against parameters (log axis); chance is the majority-class rate, and the dashed line is full tuning's gain. " +
            'Tooltips give the breakout rate: the seeds whose test accuracy is above chance by a one-sided 95% binomial margin. Where full tuning itself did not clearly leave chance the share is undefined and not drawn' +
            (undefinedRows > 0 ? ` (${undefinedRows} method rows here).` : '.'),
        ),
        escapeHtml(runLine(results.manifest)),
      ],
      warnings: [],
    };
  },
};
