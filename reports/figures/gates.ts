/**
 * Capability gates: each frozen model's zero-shot accuracy per task and skill-probe accuracy (run.json's
 * pretrained[].gates) against its size, the pretrained model beside its never-trained control, chance
 * dashed. The report shows it in the gates section (gates.ts), before every score figure.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { RunManifest } from '../../src/results/results.js';
import { escapeHtml } from '../format.js';
import { runLine } from '../tables.js';
import { nothingToDraw, type FigureDefinition } from './figure.js';
import { CONFIG, PANEL_HEIGHT, PANEL_WIDTH, parametersAxis, tip, VEGA_LITE_SCHEMA } from './spec.js';

/** A point: one gate score of one frozen model (pretrained or control). */
export interface GatePoint {
  gate: string;
  preset: string;
  parameters: number;
  model: 'pretrained' | 'never-trained control';
  score: number;
  chance: number;
  n: number;
}

export function gatePoints(manifest: RunManifest): GatePoint[] {
  return manifest.pretrained.flatMap((p) => {
    const g = p.gates;
    if (g === undefined) return [];
    const scores = [...Object.entries(g.zeroShot).map(([task, s]) => [`zero-shot: ${task}`, s] as const), ...Object.entries(g.probes).map(([skill, s]) => [`probe: ${skill}`, s] as const)];
    return scores.flatMap(([gate, s]) =>
      (['pretrained', 'never-trained control'] as const).map((model) => ({ gate, preset: p.preset, parameters: p.parameters, model, score: 100 * (model === 'pretrained' ? s.model : s.control), chance: 100 * s.chance, n: s.n })),
    );
  });
}

function gatesSpec(points: readonly GatePoint[], subtitle: string): TopLevelSpec {
  const x = parametersAxis(points);
  const y = { field: 'score', type: 'quantitative' as const, title: 'accuracy (%)', scale: { zero: false } };
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: { text: 'Capability gates: what each frozen model could do before tuning, beside its never-trained control', subtitle },
    data: { values: [...points] },
    facet: { field: 'gate', type: 'nominal', title: 'gate', sort: [...new Set(points.map((p) => p.gate))] },
    columns: Math.min(new Set(points.map((p) => p.gate)).size, 3),
    spec: {
      width: PANEL_WIDTH,
      height: PANEL_HEIGHT,
      layer: [
        { mark: { type: 'line', strokeDash: [4, 3], color: '#888' }, encoding: { x, y: { ...y, field: 'chance' } }, transform: [{ filter: "datum.model == 'pretrained'" }] },
        {
          mark: { type: 'line', point: { filled: true, size: 55 }, strokeWidth: 2 },
          encoding: {
            x,
            y,
            color: { field: 'model', type: 'nominal', title: 'frozen model', scale: { domain: ['pretrained', 'never-trained control'], range: ['#1f77b4', '#aaaaaa'] } },
            tooltip: [{ field: 'gate', title: 'gate' }, { field: 'preset', title: 'frozen model' }, { field: 'model', title: 'weights' }, tip('score', 'accuracy (%)', '.1f'), tip('chance', 'chance (%)', '.1f'), { field: 'n', title: 'examples' }],
          },
        },
      ],
    },
    config: CONFIG,
  };
}

export const gatesFigure: FigureDefinition = {
  id: 'gates',
  title: 'Capability gates: zero-shot and probe accuracy per frozen model, beside the never-trained control',
  plan(results, { subtitle }) {
    const points = gatePoints(results.manifest);
    if (points.length === 0) return nothingToDraw('Capability gates: not measured in this run (run.json has none), so there is nothing to draw.');
    return {
      spec: gatesSpec(points, subtitle),
      rows: points.map((pt) => ({ ...pt })),
      paragraphs: [
        escapeHtml(
          'Accuracy of each frozen model before any method touched it (blue), beside the same architecture never trained (grey), against parameters (log axis); the dashed line is chance. ' +
            'Zero-shot panels score the downstream template by label words; probe panels ask for each skill in the pretraining wording. A method can only unlock what the blue line shows above grey and chance.',
        ),
        escapeHtml(runLine(results.manifest)),
      ],
      warnings: [],
    };
  },
};
