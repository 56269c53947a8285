/**
 * Parameter efficiency (Lester et al. Fig. 4): task-specific trainable parameters as a percentage of the
 * model against the frozen model's size, this run's methods beside published counts and Lester et al.'s
 * Fig. 4 ranges.
 */
import type { TopLevelSpec } from 'vega-lite';
import { capitalize, escapeHtml as p, listText } from '../format.js';
import type { LoadedResults } from '../load.js';
import { efficiencyReferences, LESTER_2021, LESTER_FIG4_LINES, LESTER_FINDINGS } from '../references.js';
import { namerFor, type SeriesNamer } from '../series.js';
import { runLine } from '../tables.js';
import { nothingToDraw, recordsFor, scalingNotice, sourceLine, type FigureDefinition } from './figure.js';
import { colourBy, CONFIG, tip, VEGA_LITE_SCHEMA, type ColourScale } from './spec.js';

/** A method's task-specific parameters as % of the model, from this run or a publication. */
export interface EfficiencyPoint {
  source: string;
  series: string;
  method: string;
  label: string;
  parameters: number;
  trainable: number | null;
  percent: number;
  adapterBytes: number | null;
}

/** This run's part: one point per preset and method variant; 0% (prompt design) cannot sit on a log axis and is listed instead. */
export function efficiencyPoints(results: LoadedResults): { points: EfficiencyPoint[]; namer: SeriesNamer; zero: string[] } {
  const { records } = recordsFor(results, 'scaling');
  const namer = namerFor(results.methods, records);
  const seen = new Map<string, EfficiencyPoint>();
  const zero = new Set<string>();
  for (const r of records) {
    const series = namer.label(r.config.method, r.config.options);
    if (!(r.parameters.percent > 0)) {
      zero.add(series);
      continue;
    }
    seen.set(JSON.stringify([series, r.config.preset]), {
      source: 'this run',
      series,
      method: r.config.method,
      label: `${series} on ${r.config.preset}`,
      parameters: r.parameters.base,
      trainable: r.parameters.trainable,
      percent: r.parameters.percent,
      adapterBytes: r.parameters.adapterBytes,
    });
  }
  return { points: [...seen.values()].sort((a, b) => a.parameters - b.parameters || a.series.localeCompare(b.series)), namer, zero: [...zero] };
}

/** A published band or line (Lester et al. Fig. 4): from `percent` up to `upTo` when a band. */
export interface ReferenceLine {
  percent: number;
  upTo?: number;
  label: string;
}

/** Powers of ten covering [low, high], for log axes whose ticks should sit on decades. */
export function decades(low: number, high: number): number[] {
  const values: number[] = [];
  for (let k = Math.floor(Math.log10(low)); k <= Math.ceil(Math.log10(high)); k++) values.push(Number(`1e${k}`));
  return values;
}

/**
 * Trainable parameters as % of the model (log y) against frozen-model parameters (log x): this run's
 * methods as filled points joined by lines, published points hollow, Lester et al.'s Fig. 4 bands
 * shaded or dashed, labelled where the data leaves room.
 */
export function efficiencySpec(points: readonly EfficiencyPoint[], lines: readonly ReferenceLine[], colours: ColourScale, sources: string[], subtitle: string): TopLevelSpec {
  const ours = points.filter((pt) => pt.source === 'this run');
  const published = points.filter((pt) => pt.source !== 'this run');
  const xs = points.map((pt) => pt.parameters);
  const ys = [...points.map((pt) => pt.percent), ...lines.flatMap((l) => [l.percent, l.upTo ?? l.percent])];
  const oursMax = Math.max(...ours.map((pt) => pt.parameters));
  const publishedMin = Math.min(...published.map((pt) => pt.parameters));
  // Labels go in the empty stretch between this run's models and the published ones, else at the right edge.
  const gap = published.length > 0 && publishedMin / oursMax > 30;
  const labelX = gap ? { datum: Math.sqrt(oursMax * publishedMin) } : { value: 'width' as const };
  const x = { field: 'parameters', type: 'quantitative' as const, scale: { type: 'log' as const, nice: false, padding: 20 }, title: 'frozen-model parameters (log scale)', axis: { format: '~s', values: decades(Math.min(...xs), Math.max(...xs)) } };
  const y = { field: 'percent', type: 'quantitative' as const, scale: { type: 'log' as const, nice: false, padding: 12 }, title: 'task-specific trainable parameters (% of the model, log scale)', axis: { format: '~g', values: decades(Math.min(...ys), Math.max(...ys)) } };
  const colour = colourBy('method', colours);
  const tooltip = [
    { field: 'label', title: 'what' },
    { field: 'source', title: 'source' },
    tip('parameters', 'model parameters', ','),
    tip('trainable', 'trainable parameters', ','),
    tip('percent', 'trainable (% of the model)', '.4~g'),
    tip('adapterBytes', 'saved per task (bytes)', ','),
  ];
  const shape = { field: 'source', type: 'nominal' as const, title: 'source', scale: { domain: sources, range: ['circle', 'diamond', 'square', 'triangle-up', 'cross'] } };
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: { text: 'Parameter efficiency: task-specific parameters as a share of the model', subtitle },
    width: 620,
    height: 340,
    layer: [
      {
        data: { values: lines.filter((l) => l.upTo !== undefined) },
        mark: { type: 'rect', color: '#888', opacity: 0.1 },
        encoding: { y: { field: 'percent', type: 'quantitative' }, y2: { field: 'upTo' }, tooltip: [{ field: 'label', title: 'Lester et al. 2021, Fig. 4' }] },
      },
      {
        data: { values: lines.filter((l) => l.upTo === undefined) },
        mark: { type: 'rule', color: '#999', strokeDash: [3, 3] },
        encoding: { y: { field: 'percent', type: 'quantitative' }, tooltip: [{ field: 'label', title: 'Lester et al. 2021, Fig. 4' }] },
      },
      {
        data: { values: [...lines] },
        mark: { type: 'text', align: gap ? 'center' : 'right', baseline: 'bottom', dy: -3, color: '#666', fontSize: 10 },
        encoding: { y: { field: 'upTo', type: 'quantitative' }, x: labelX, text: { field: 'label' } },
        transform: [{ calculate: 'datum.upTo != null ? datum.upTo : datum.percent', as: 'upTo' }],
      },
      { data: { values: ours }, mark: { type: 'line', strokeWidth: 2 }, encoding: { x, y, color: colour } },
      { data: { values: ours }, mark: { type: 'point', size: 70, filled: true }, encoding: { x, y, color: colour, shape, tooltip } },
      { data: { values: published }, mark: { type: 'point', size: 80, filled: false, strokeWidth: 2 }, encoding: { x, y, color: colour, shape, tooltip } },
    ],
    config: CONFIG,
  };
}

export const efficiencyFigure: FigureDefinition = {
  id: 'efficiency',
  title: 'Parameter efficiency (Lester et al. Fig. 4): task-specific parameters as % of the model',
  plan(results, { subtitle }) {
    const { points, namer, zero } = efficiencyPoints(results);
    if (points.length === 0) return nothingToDraw(scalingNotice(results, 'Every method of the scaling sweeps trains 0 parameters.'));
    const references: EfficiencyPoint[] = efficiencyReferences(results.methods).map((ref) => ({
      source: ref.source === LESTER_2021 ? 'Lester et al. 2021 (T5, computed E × P)' : 'Hugging Face PEFT (gpt2, published)',
      series: results.methods.name(ref.method),
      method: ref.method,
      label: `${ref.label}: ${ref.note}`,
      parameters: ref.parameters,
      trainable: null,
      percent: ref.percent,
      adapterBytes: null,
    }));
    const colours: ColourScale = namer.colourScale(points.map((pt) => pt.series));
    for (const ref of references) {
      if (!colours.domain.includes(ref.series)) {
        colours.domain.push(ref.series);
        colours.range.push(namer.series.find((s) => s.method === ref.method)?.colour ?? results.methods.colour(ref.method));
      }
    }
    const sources = ['this run', ...new Set(references.map((r) => r.source))];
    const all = [...points, ...references];
    return {
      spec: efficiencySpec(all, LESTER_FIG4_LINES, colours, sources, subtitle),
      rows: all.map((pt) => ({ ...pt })),
      paragraphs: [
        p(
          'Task-specific trainable parameters as a percentage of the model (trainable ÷ (frozen + added) × 100, log axis) against the frozen model’s parameters (log axis), per method of the scaling sweeps (filled points joined by lines). ' +
            `${zero.length === 0 ? '' : `${capitalize(listText(zero))} train${zero.length === 1 ? 's' : ''} 0 parameters, which a log axis cannot show: left out here (0% in the summary table). `}` +
            'Hollow points are published counts, not measured here: Hugging Face PEFT’s for gpt2 (124M) and Lester et al.’s T5 prompts of 100 tokens (E × P over the approximate model size). Dashed lines and the shaded band mark Lester et al.’s Fig. 4 ranges.',
        ),
        p(runLine(results.manifest)),
        sourceLine(LESTER_FINDINGS.fig4),
      ],
      warnings: [],
    };
  },
};
