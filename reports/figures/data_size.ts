/**
 * The data each method needs: mean test accuracy against the number of training examples, a line per
 * method, on the largest frozen model of the data-size sweeps (a sweep with trainExamples). Not in
 * Lester et al.; it is the column people draw when they compare these methods, measured here.
 */
import type { TopLevelSpec } from 'vega-lite';
import { AVERAGE_TASK } from '../../src/results/results.js';
import type { LoadedResults } from '../load.js';
import { escapeHtml as p } from '../format.js';
import { namerFor, panelOf } from '../series.js';
import { runLine } from '../tables.js';
import { nothingToDraw, noSweep, percent, recordsFor, summaryRowsFor, sweepText, type FigureDefinition } from './figure.js';
import { scoreLineLayers, scorePoint, type ScorePoint } from './scores.js';
import { colourBy, facetedSpec, PANEL_HEIGHT, PANEL_WIDTH, taskFacet, type ColourScale } from './spec.js';

/** A score point with the chance rate of its trials' test split (%), drawn as a dashed rule. */
export interface DataSizePoint extends ScorePoint {
  chance: number;
}

/** The points: per method and training-set size, on the largest frozen model; the task average when there is one. */
export function dataSizePoints(results: LoadedResults): { points: DataSizePoint[]; preset: string | null; sweeps: string[]; colours: ColourScale; left: string[] } {
  const { records, sweeps } = recordsFor(results, 'data-size');
  const namer = namerFor(results.methods, records);
  const rows = summaryRowsFor(results, records.filter((r) => r.config.control !== true));
  const largest = [...rows].sort((a, b) => b.baseParameters - a.baseParameters || a.preset.localeCompare(b.preset))[0];
  const preset = largest === undefined ? null : largest.preset;
  const useAverage = rows.some((row) => row.task === AVERAGE_TASK);
  const points: DataSizePoint[] = [];
  const left: string[] = [];
  for (const row of rows) {
    if (row.preset !== preset || useAverage !== (row.task === AVERAGE_TASK)) continue;
    if (row.n === 0 || !Number.isFinite(row.mean)) {
      left.push(`${results.methods.name(row.method)} on ${row.preset}, ${panelOf(row.task)}, ${row.train} training examples: every trial diverged`);
      continue;
    }
    points.push({ ...scorePoint(row, panelOf(row.task), namer.label(row.method, row.options), row.train), chance: percent(row.chance) });
  }
  return { points, preset, sweeps, colours: namer.colourScale(), left };
}

/** Test accuracy against training examples (log x), a line per method, a panel per task; chance dashed. */
export function dataSizeSpec(points: readonly DataSizePoint[], colours: ColourScale, preset: string, subtitle: string): TopLevelSpec {
  const sizes = [...new Set(points.map((pt) => Number(pt.x)))].sort((a, b) => a - b);
  return facetedSpec(`Data each method needs: test accuracy against training examples, on ${preset}`, subtitle, points, taskFacet(points), {
    width: PANEL_WIDTH + 60,
    height: PANEL_HEIGHT + 20,
    encoding: {
      x: { field: 'x', type: 'quantitative', scale: { type: 'log', nice: false, padding: 18 }, title: 'training examples (log scale)', axis: { values: sizes, format: 'd' } },
      color: colourBy('method', colours),
    },
    layer: [
      { mark: { type: 'rule', strokeDash: [4, 3], color: '#888' }, encoding: { y: { aggregate: 'mean', field: 'chance', type: 'quantitative' } } },
      ...scoreLineLayers([{ field: 'series', title: 'method' }, { field: 'x', title: 'training examples' }]),
    ],
  });
}

export const dataSizeFigure: FigureDefinition = {
  id: 'data-size',
  title: 'Data each method needs: score against training examples, a line per method, on the largest frozen model',
  plan(results, { number, subtitle }) {
    const { points, preset, sweeps, colours, left } = dataSizePoints(results);
    const warnings = left.map((w) => `Figure ${number}: ${w}`);
    if (points.length === 0 || preset === null) return nothingToDraw(sweeps.length === 0 ? noSweep('data-size') : `The ${sweepText(sweeps)} have no finished trial to draw.`, warnings);
    return {
      spec: dataSizeSpec(points, colours, preset, subtitle),
      rows: points.map((pt) => ({ ...pt, trainExamples: pt.x })),
      paragraphs: [
        p(
          `Mean test accuracy (%, over seeds) of each method on ${preset}, the largest frozen model of the ${sweepText(sweeps)}, against the number of training examples (log axis); ` +
            'every size trains for the same steps and picks its checkpoint on the same dev split, and each smaller training set is a subset of the larger ones. ' +
            'Error bars are 95% Student-t intervals over seeds where at least two finished, cut at 0 and 100%; the dashed line is chance (the majority class of the test split).',
        ),
        p(runLine(results.manifest)),
      ],
      warnings,
    };
  },
};
