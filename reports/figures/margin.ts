/**
 * The mechanism behind Lester et al.'s curve, as a figure of its own: per (frozen model, task) group, the
 * frozen model's zero-shot gate margin on the task (its zero-shot accuracy minus chance, run.json's
 * gates) against the share of full model tuning's gain over chance that prompt tuning recovers. Drawn for
 * the first rank-correlation hypothesis the report evaluates, whose groups and rule it uses
 * (src/results/hypotheses.ts marginPoints); the verdict and its interval are in the Findings section.
 */
import type { TopLevelSpec } from 'vega-lite';
import { comparisonView, marginPoints } from '../../src/results/hypotheses.js';
import { escapeHtml } from '../format.js';
import type { LoadedResults } from '../load.js';
import { runLine } from '../tables.js';
import { nothingToDraw, type FigureDefinition } from './figure.js';
import { CONFIG, tip, VEGA_LITE_SCHEMA } from './spec.js';

export const marginFigure: FigureDefinition = {
  id: 'margin',
  title: "Recovered share of full tuning's gain against the frozen model's zero-shot margin",
  plan(results: LoadedResults, { subtitle }) {
    const h = (results.hypotheses ?? results.manifest.hypotheses?.list ?? []).find((x) => x.kind === 'rank-correlation');
    if (h === undefined) return nothingToDraw('This run states no rank-correlation hypothesis (zero-shot margin against recovered share), so there is nothing to draw here.');
    // The records the verdict reads (its training-set size, when the run has several).
    const view = comparisonView(h, { records: results.records, pretrained: results.manifest.pretrained });
    if (typeof view === 'string') return nothingToDraw(`Hypothesis ${h.id}: ${view}, so there is nothing to draw here.`);
    const points = marginPoints(h, view.inputs).map((p) => ({ ...p, margin: 100 * p.margin, recovered: 100 * p.recovered }));
    if (points.length === 0) return nothingToDraw(`Hypothesis ${h.id} has no group where full model tuning clears chance and the gates measured the task, so there is nothing to draw here.`);
    const spec: TopLevelSpec = {
      $schema: VEGA_LITE_SCHEMA,
      title: { text: "Prompt tuning's recovered share against the frozen model's zero-shot margin", subtitle },
      data: { values: points },
      width: 420,
      height: 260,
      layer: [
        { mark: { type: 'rule', strokeDash: [4, 3], color: '#888' }, encoding: { y: { datum: 100 } } },
        {
          mark: { type: 'point', filled: true, size: 70 },
          encoding: {
            x: { field: 'margin', type: 'quantitative', title: 'zero-shot gate margin: accuracy minus chance (points)' },
            y: { field: 'recovered', type: 'quantitative', title: "recovered share of full tuning's gain (%)" },
            color: { field: 'task', type: 'nominal', title: 'task' },
            shape: { field: 'preset', type: 'nominal', title: 'frozen model' },
            tooltip: [{ field: 'preset', title: 'frozen model' }, { field: 'task', title: 'task' }, tip('margin', 'zero-shot margin (points)', '.1f'), tip('recovered', 'recovered share (%)', '.0f')],
          },
        },
      ],
      config: CONFIG,
    };
    const caption = `${escapeHtml(`Hypothesis ${h.id}: ${h.statement}`)} One point per frozen model and task where full model tuning's 95% interval clears chance; recovered share = (prompt tuning − chance) / (full tuning − chance), means over seeds. The rank correlation and its bootstrap interval are in the Findings section. ${escapeHtml(runLine(results.manifest))}`;
    return { spec, rows: points, paragraphs: [caption], warnings: [] };
  },
};
