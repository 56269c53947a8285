/**
 * Prompt length (Lester et al. Fig. 3a): mean test accuracy against the number of prompt tokens, a line
 * per frozen model, from the prompt-length sweeps.
 */
import type { TopLevelSpec } from 'vega-lite';
import { escapeHtml as p } from '../format.js';
import { LESTER_FINDINGS } from '../references.js';
import { presetColourScale } from '../series.js';
import { runLine } from '../tables.js';
import { nothingToDraw, noSweep, sourceLine, sweepText, type FigureDefinition } from './figure.js';
import { onAverage, optionPoints, scoreLineLayers, type ScorePoint } from './scores.js';
import { colourBy, facetedSpec, PANEL_HEIGHT, PANEL_WIDTH, taskFacet, tip, type ColourScale } from './spec.js';

/** Test accuracy against prompt length (log x), a line per preset. */
export function promptLengthSpec(points: readonly ScorePoint[], presetColours: ColourScale, subtitle: string): TopLevelSpec {
  const lengths = [...new Set(points.map((p) => Number(p.x)))].sort((a, b) => a - b);
  return facetedSpec('Prompt length: test accuracy against the number of prompt tokens', subtitle, points, taskFacet(points), {
    width: PANEL_WIDTH + 60,
    height: PANEL_HEIGHT + 20,
    encoding: {
      x: { field: 'x', type: 'quantitative', scale: { type: 'log', nice: false, padding: 18 }, title: 'prompt length (tokens, log scale)', axis: { values: lengths, format: 'd' } },
      color: colourBy('frozen model', presetColours),
    },
    layer: scoreLineLayers([{ field: 'series', title: 'frozen model' }, tip('parameters', 'frozen parameters', ','), { field: 'x', title: 'prompt length (tokens)' }]),
  });
}

export const promptLengthFigure: FigureDefinition = {
  id: 'prompt-length',
  title: 'Prompt length (Lester et al. Fig. 3a): score against prompt length, a line per frozen model',
  plan(results, { number, subtitle }) {
    const { points, sweeps, presets, left } = optionPoints(results, 'prompt-length', 'length');
    const warnings = left.map((w) => `Figure ${number}: ${w}`);
    if (points.length === 0) return nothingToDraw(sweeps.length === 0 ? noSweep('prompt-length') : `The ${sweepText(sweeps)} have no trial with a prompt length to draw.`, warnings);
    return {
      spec: promptLengthSpec(points, presetColourScale(presets), subtitle),
      rows: points.map((pt) => ({ ...pt, length: pt.x })),
      paragraphs: [
        p(
          `Mean test accuracy (%, over seeds) against the number of prompt tokens (log axis) in the ${sweepText(sweeps)}, a line per frozen model (lighter is smaller); ` +
            `${onAverage(points) ? 'the per-seed average over tasks' : 'a panel per task'}. Error bars are 95% Student-t intervals over seeds where at least two finished, cut at 0 and 100%.`,
        ),
        p(runLine(results.manifest)),
        sourceLine(LESTER_FINDINGS.fig3a),
      ],
      warnings,
    };
  },
};
