/**
 * Vega-Lite parts every figure's spec shares (each figure's spec lives in its own file): the schema,
 * fonts and sizes, colour by series, tooltips, faceted panels and the log axis of frozen-model size.
 * Data is inline, so each .vl.json opens on its own. Every chart has a title, axis titles with units, a
 * legend and tooltips; error bars are 95% Student-t intervals over seeds, drawn where two or more finished.
 */
import type { TopLevelSpec } from 'vega-lite';
import { comparePanels } from '../series.js';

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
export function colourBy(title: string, colours: ColourScale) {
  return { field: 'series', type: 'nominal' as const, title, scale: { domain: colours.domain, range: colours.range } };
}

/** Only rows with a 95% interval (two or more seeds). */
export const HAS_INTERVAL = { filter: 'datum.low != null && datum.high != null' };

type FacetSpec = Extract<TopLevelSpec, { facet: unknown }>;

/** A figure of panels (at most three a row), one per value of `facet.field`, sharing a title, data and config. */
export function facetedSpec(text: string, subtitle: string, points: readonly object[], facet: { field: string; title: string; sort: string[] }, spec: FacetSpec['spec']): TopLevelSpec {
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
export function taskFacet(points: readonly { panel: string }[]) {
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
