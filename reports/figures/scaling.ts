/**
 * Scaling (Lester et al. Fig. 1): every method's mean test accuracy (summary.json) against the frozen
 * model's parameter count, a panel per task and one for the task average.
 */
import type { TopLevelSpec } from 'vega-lite';
import { escapeHtml as p } from '../format.js';
import type { LoadedResults } from '../load.js';
import { LESTER_FINDINGS } from '../references.js';
import { namerFor, panelOf, type SeriesNamer } from '../series.js';
import { runLine } from '../tables.js';
import { nothingToDraw, noSweep, recordsFor, sourceLine, summaryRowsFor, sweepText, type FigureDefinition } from './figure.js';
import { scoreLineLayers, scorePoint, type ScorePoint } from './scores.js';
import { colourBy, facetedSpec, PANEL_HEIGHT, PANEL_WIDTH, parametersAxis, taskFacet, tip, type ColourScale } from './spec.js';

/** Every method's mean score per preset, a panel per task and one for the task average; groups whose every trial diverged are listed. */
export function scalingPoints(results: LoadedResults): { points: ScorePoint[]; namer: SeriesNamer; sweeps: string[]; allDiverged: string[] } {
  const { records, sweeps } = recordsFor(results, 'scaling');
  const namer = namerFor(results.methods, records);
  const points: ScorePoint[] = [];
  const allDiverged: string[] = [];
  for (const row of summaryRowsFor(results, records)) {
    if (row.n === 0 || !Number.isFinite(row.mean)) {
      allDiverged.push(`${results.methods.name(row.method)} on ${row.preset}, ${panelOf(row.task)}`);
      continue;
    }
    points.push(scorePoint(row, panelOf(row.task), namer.label(row.method, row.options), null));
  }
  return { points, namer, sweeps, allDiverged };
}

/** Test accuracy against frozen-model parameters (log x), a line per method, a panel per task. */
export function scalingSpec(points: readonly ScorePoint[], colours: ColourScale, subtitle: string): TopLevelSpec {
  return facetedSpec('Scaling: test accuracy against frozen-model size, every method', subtitle, points, taskFacet(points), {
    width: PANEL_WIDTH,
    height: PANEL_HEIGHT,
    encoding: { x: parametersAxis(points), color: colourBy('method', colours) },
    layer: scoreLineLayers([{ field: 'series', title: 'method' }, { field: 'preset', title: 'frozen model' }, tip('parameters', 'frozen parameters', ',')]),
  });
}

export const scalingFigure: FigureDefinition = {
  id: 'scaling',
  title: 'Scaling (Lester et al. Fig. 1): score against frozen-model size, every method',
  plan(results, { number, subtitle }) {
    const { points, namer, sweeps, allDiverged } = scalingPoints(results);
    if (points.length === 0) return nothingToDraw(noSweep('scaling'));
    const diverged = recordsFor(results, 'scaling').records.filter((r) => r.status === 'diverged').length;
    return {
      spec: scalingSpec(points, namer.colourScale(), subtitle),
      rows: points.map((pt) => ({ ...pt })),
      paragraphs: [
        p(
          `Mean test accuracy (%, over seeds) of every method on each frozen model of the ${sweepText(sweeps)}, against the frozen model's parameter count (log axis): ` +
            `a panel per task${points.some((pt) => pt.panel === 'average over tasks') ? ' and one for the per-seed average over tasks' : ''}. ` +
            'Error bars are 95% Student-t intervals over seeds, drawn where at least two seeds finished (cut at 0 and 100%: with two seeds they are wide); a point without bars had one. ' +
            'Full model tuning trains every parameter; prompt design trains none (the frozen model with a discrete prompt). ' +
            `Diverged trials (${diverged} in these sweeps) are left out of the means and counted in the summary table.`,
        ),
        p(runLine(results.manifest)),
        sourceLine(LESTER_FINDINGS.fig1),
      ],
      warnings: allDiverged.map((g) => `Figure ${number}: ${g}: every trial diverged, no point drawn`),
    };
  },
};
