/**
 * Vega-Lite specs of the report's figures, built from the rows in figure_data.ts (inline data, so each
 * .vl.json opens on its own). Every chart has a title, axis titles with units, a legend and tooltips.
 * Error bars are 95% Student-t intervals over seeds, drawn where at least two seeds finished.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { ComputePoint, CurvePoint, EfficiencyPoint, GapPoint, OverheadPoint, ScorePoint } from './figure_data.js';
import { comparePanels } from './series.js';

export const VEGA_LITE_SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/** A colour scale: the series (legend entries) in order and their colours. */
export interface ColourScale {
  domain: string[];
  range: string[];
}

export const PANEL_WIDTH = 250;
export const PANEL_HEIGHT = 190;
const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';

/** Fonts and sizes shared by every figure. */
export const CONFIG = {
  font: FONT,
  title: { fontSize: 15, subtitleFontSize: 12, anchor: 'start' as const, subtitleColor: '#555' },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#e6e6e6' },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 260 },
  header: { labelFontSize: 12, titleFontSize: 12 },
  view: { stroke: '#ddd' },
};

/** A quantitative tooltip entry, formatted with a d3 format. */
export function tip(field: string, title: string, format: string) {
  return { field, title, type: 'quantitative' as const, format };
}

/** Colour by series, with the figure's legend title and colours. */
function colourBy(title: string, colours: ColourScale) {
  return { field: 'series', type: 'nominal' as const, title, scale: { domain: colours.domain, range: colours.range } };
}

/** Only rows with a 95% interval (two or more seeds). */
const HAS_INTERVAL = { filter: 'datum.low != null && datum.high != null' };

/** Accuracy on y, not forced to include 0. */
const ACCURACY_Y = { field: 'accuracy', type: 'quantitative' as const, scale: { zero: false } };

/** The y channel (with axis title) of the layer that carries a score figure's axis and tooltips. */
const ACCURACY_AXIS = { ...ACCURACY_Y, title: 'test accuracy (%)', axis: { format: '~r' } };

/** The 95% interval of a score as a rule from `low` to `high`. */
function scoreIntervalLayer(mark: { strokeWidth: number; opacity?: number }) {
  return { transform: [HAS_INTERVAL], mark: { type: 'rule' as const, ...mark }, encoding: { y: { ...ACCURACY_Y, field: 'low' }, y2: { field: 'high' } } };
}

/** Tooltip entries every score figure shows after its own: the panel, the mean, its interval, seeds and diverged trials. */
const SCORE_TOOLTIP = [
  { field: 'panel', title: 'task' },
  tip('accuracy', 'mean test accuracy (%)', '.1f'),
  tip('low', '95% CI low (%)', '.1f'),
  tip('high', '95% CI high (%)', '.1f'),
  { field: 'n', title: 'seeds (finished)' },
  { field: 'diverged', title: 'diverged trials' },
];

/** Line figures of a score (1, 3): interval rules, the line of means and its points with tooltips. */
function scoreLineLayers(tooltip: readonly object[]) {
  return [
    scoreIntervalLayer({ strokeWidth: 1.5, opacity: 0.7 }),
    { mark: { type: 'line' as const, strokeWidth: 2 }, encoding: { y: ACCURACY_Y } },
    { mark: { type: 'point' as const, filled: true, size: 55 }, encoding: { y: ACCURACY_AXIS, tooltip: [...tooltip, ...SCORE_TOOLTIP, tip('trainable', 'trainable parameters', ',')] } },
  ];
}

type FacetSpec = Extract<TopLevelSpec, { facet: unknown }>;

/** A figure of panels (at most three a row), one per value of `facet.field`, sharing a title, data and config. */
function facetedSpec(text: string, subtitle: string, points: readonly object[], facet: { field: string; title: string; sort: string[] }, spec: FacetSpec['spec']): TopLevelSpec {
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: { text, subtitle },
    data: { values: [...points] },
    facet: { ...facet, type: 'nominal' },
    columns: Math.min(facet.sort.length, 3),
    spec,
    config: CONFIG,
  };
}

/** The task panels of a figure, in order. */
function taskFacet(points: readonly { panel: string }[]) {
  return { field: 'panel', title: 'task', sort: [...new Set(points.map((p) => p.panel))].sort(comparePanels) };
}

/** A log x axis of frozen-model parameters with a tick at each model size drawn. */
export function parametersAxis(points: readonly { parameters: number }[]) {
  const values = [...new Set(points.map((p) => p.parameters))].sort((a, b) => a - b);
  return {
    field: 'parameters',
    type: 'quantitative' as const,
    scale: { type: 'log' as const, nice: false, padding: 18 },
    title: 'frozen-model parameters (log scale)',
    axis: { format: '.3~s', values, labelOverlap: 'greedy' as const },
  };
}

/** Figure 1: test accuracy against frozen-model parameters (log x), a line per method, a panel per task. */
export function scalingSpec(points: readonly ScorePoint[], colours: ColourScale, subtitle: string): TopLevelSpec {
  return facetedSpec('Scaling: test accuracy against frozen-model size, every method', subtitle, points, taskFacet(points), {
    width: PANEL_WIDTH,
    height: PANEL_HEIGHT,
    encoding: { x: parametersAxis(points), color: colourBy('method', colours) },
    layer: scoreLineLayers([{ field: 'series', title: 'method' }, { field: 'preset', title: 'frozen model' }, tip('parameters', 'frozen parameters', ',')]),
  });
}

/** Figure 2: gap to full model tuning (percentage points) against frozen-model parameters, per method. */
export function gapSpec(points: readonly GapPoint[], colours: ColourScale, subtitle: string): TopLevelSpec {
  // x sits in each data layer, not the shared encoding, so that the zero rule spans the whole panel.
  const x = parametersAxis(points);
  return facetedSpec('Gap to full model tuning against frozen-model size', subtitle, points, taskFacet(points), {
    width: PANEL_WIDTH,
    height: PANEL_HEIGHT,
    encoding: { color: colourBy('method', colours) },
    layer: [
      { mark: { type: 'rule', strokeWidth: 1.5, strokeDash: [5, 4] }, encoding: { y: { datum: 0 }, color: { value: '#252525' } } },
      { transform: [HAS_INTERVAL], mark: { type: 'rule', strokeWidth: 1.5, opacity: 0.7 }, encoding: { x, y: { field: 'low', type: 'quantitative' }, y2: { field: 'high' } } },
      { mark: { type: 'line', strokeWidth: 2 }, encoding: { x, y: { field: 'gap', type: 'quantitative' } } },
      {
        mark: { type: 'point', filled: true, size: 55 },
        encoding: {
          x,
          y: { field: 'gap', type: 'quantitative', title: ['accuracy minus full model tuning', '(percentage points)'], axis: { format: '~r' } },
          tooltip: [
            { field: 'series', title: 'method' },
            { field: 'preset', title: 'frozen model' },
            tip('parameters', 'frozen parameters', ','),
            { field: 'panel', title: 'task' },
            tip('gap', 'gap (percentage points)', '+.1f'),
            tip('low', '95% CI low', '+.1f'),
            tip('high', '95% CI high', '+.1f'),
            { field: 'n', title: 'paired seeds' },
          ],
        },
      },
    ],
  });
}

/** Figure 3: test accuracy against prompt length (log x), a line per preset. */
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

/** Lester et al.'s order of initialisations, worst to best; others follow alphabetically. */
export const INIT_ORDER = ['random-uniform', 'sampled-vocab', 'class-label'];

/** Figure 4: test accuracy per initialisation strategy (x), a point per preset side by side. */
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

function rankInit(init: string): number {
  const index = INIT_ORDER.indexOf(init);
  return index === -1 ? INIT_ORDER.length : index;
}

/** A published band or line of the efficiency figure (Lester et al. Fig. 4): from `percent` up to `upTo` when a band. */
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
 * Figure 5: task-specific trainable parameters as % of the model (log y) against frozen-model
 * parameters (log x): this run's methods as filled points joined by lines, published points hollow,
 * Lester et al.'s Fig. 4 bands shaded or dashed, labelled where the data leaves room.
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

/** Figure 6: mean training loss against step, a line per method, a panel per preset (bands: 95% CI over seeds). */
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

/** One panel of the compute figure: a bar per method within each preset, with 95% error bars where available. */
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

/** Figure 7: training step time, tokens per second and peak tensor memory per method and preset. */
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

/**
 * Figure 9: inference overhead against the frozen model alone (%), a bar per method (and LoRA variant)
 * within each preset, from bench.json; the solid rule is the bare model (0%), the dashed one the 1%
 * claimed for prompt tuning.
 */
export function overheadSpec(points: readonly OverheadPoint[], colours: ColourScale, presets: string[], subtitle: string, threshold: number): TopLevelSpec {
  const y = { type: 'quantitative' as const, title: 'inference overhead against the frozen model alone (%)' };
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: { text: 'Inference overhead against the frozen model alone, per method', subtitle },
    width: 620,
    height: 300,
    layer: [
      {
        data: { values: [...points] },
        mark: { type: 'bar' },
        encoding: {
          x: { field: 'preset', type: 'nominal', sort: presets, title: 'frozen model', axis: { labelAngle: 0 } },
          xOffset: { field: 'series', type: 'nominal', sort: colours.domain },
          y: { field: 'overhead', ...y },
          color: colourBy('method', colours),
          tooltip: [
            { field: 'series', title: 'method' },
            { field: 'preset', title: 'frozen model' },
            tip('parameters', 'frozen parameters', ','),
            tip('overhead', 'overhead (%)', '+.2f'),
            tip('inferMs', 'median forward pass (ms)', '.2f'),
            tip('bareMs', 'frozen model alone (ms)', '.2f'),
            { field: 'virtualTokens', title: 'virtual tokens' },
          ],
        },
      },
      // One-row data: the rules and their label are drawn once, not once per bar.
      { data: { values: [{}] }, mark: { type: 'rule', color: '#252525', strokeWidth: 1 }, encoding: { y: { datum: 0, ...y } } },
      { data: { values: [{}] }, mark: { type: 'rule', color: '#666', strokeDash: [5, 4] }, encoding: { y: { datum: threshold, ...y } } },
      {
        data: { values: [{}] },
        mark: { type: 'text', align: 'right', baseline: 'bottom', dy: -3, color: '#555', fontSize: 10 },
        encoding: { y: { datum: threshold, ...y }, x: { value: 'width' }, text: { value: `${threshold}%: the overhead claimed for prompt tuning` } },
      },
    ],
    config: CONFIG,
  };
}
