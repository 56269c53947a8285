/**
 * Initialisation (Lester et al. Fig. 3b): mean test accuracy per way of initialising the prompt, a point
 * per frozen model side by side, from the init sweeps.
 */
import type { TopLevelSpec } from 'vega-lite';
import { escapeHtml as p } from '../format.js';
import { LESTER_FINDINGS } from '../references.js';
import { presetColourScale } from '../series.js';
import { runLine } from '../tables.js';
import { nothingToDraw, noSweep, sourceLine, sweepText, type FigureDefinition } from './figure.js';
import { ACCURACY_AXIS, onAverage, optionPoints, SCORE_TOOLTIP, scoreIntervalLayer, type ScorePoint } from './scores.js';
import { colourBy, facetedSpec, PANEL_HEIGHT, PANEL_WIDTH, taskFacet, tip, type ColourScale } from './spec.js';

/** Lester et al.'s order of initialisations, worst to best; others follow alphabetically. */
export const INIT_ORDER = ['random-uniform', 'sampled-vocab', 'class-label'];

function rankInit(init: string): number {
  const index = INIT_ORDER.indexOf(init);
  return index === -1 ? INIT_ORDER.length : index;
}

/** Test accuracy per initialisation strategy (x), a point per preset side by side. */
export function initSpec(points: readonly ScorePoint[], presetColours: ColourScale, subtitle: string): TopLevelSpec {
  const inits = [...new Set(points.map((p) => String(p.x)))].sort((a, b) => rankInit(a) - rankInit(b) || a.localeCompare(b));
  return facetedSpec('Initialisation: test accuracy per prompt initialisation, across frozen models', subtitle, points, taskFacet(points), {
    width: PANEL_WIDTH + 60,
    height: PANEL_HEIGHT + 20,
    encoding: {
      x: { field: 'x', type: 'nominal', sort: inits, title: 'prompt initialisation', axis: { labelAngle: 0 } },
      xOffset: { field: 'series', type: 'nominal', sort: presetColours.domain },
      color: colourBy('frozen model', presetColours),
    },
    layer: [
      scoreIntervalLayer({ strokeWidth: 2 }),
      {
        mark: { type: 'point', filled: true, size: 70 },
        encoding: {
          y: ACCURACY_AXIS,
          tooltip: [{ field: 'x', title: 'initialisation' }, { field: 'series', title: 'frozen model' }, tip('parameters', 'frozen parameters', ','), ...SCORE_TOOLTIP],
        },
      },
    ],
  });
}

export const initFigure: FigureDefinition = {
  id: 'init',
  title: 'Initialisation (Lester et al. Fig. 3b): score per prompt initialisation across frozen models',
  plan(results, { number, subtitle }) {
    const { points, sweeps, presets, left } = optionPoints(results, 'init', 'init');
    const warnings = left.map((w) => `Figure ${number}: ${w}`);
    if (points.length === 0) return nothingToDraw(sweeps.length === 0 ? noSweep('init') : `The ${sweepText(sweeps)} have no trial with an init option to draw.`, warnings);
    return {
      spec: initSpec(points, presetColourScale(presets), subtitle),
      rows: points.map((pt) => ({ ...pt, init: pt.x })),
      paragraphs: [
        p(
          `Mean test accuracy (%, over seeds) for each way of initialising the prompt in the ${sweepText(sweeps)}: random-uniform (U(−r, r)), sampled-vocab (embeddings of frequent corpus tokens) and class-label (embeddings of the label words); ` +
            `a point per frozen model (lighter is smaller), ${onAverage(points) ? 'on the per-seed average over tasks' : 'a panel per task'}. Error bars are 95% Student-t intervals over seeds where at least two finished, cut at 0 and 100%.`,
        ),
        p(runLine(results.manifest)),
        sourceLine(LESTER_FINDINGS.fig3b),
      ],
      warnings,
    };
  },
};
