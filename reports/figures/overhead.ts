/**
 * Inference overhead against the frozen model alone, from bench.json (a separate run: its subtitle and
 * caption name the benchmark, not the experiment); the report shows it inside the benchmark section.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { BenchReport } from '../../src/results/bench.js';
import { benchLine, benchSubtitle } from '../bench_section.js';
import { escapeHtml as p } from '../format.js';
import { CLAIM_SOURCES, OVERHEAD_CLAIM_PERCENT } from '../references.js';
import type { MethodCards } from '../method_cards.js';
import { benchSeries, compareBenchRows } from '../series.js';
import { nothingToDraw, sourceLine, type FigureDefinition } from './figure.js';
import { colourBy, CONFIG, tip, VEGA_LITE_SCHEMA, type ColourScale } from './spec.js';

/** One method's inference overhead on one preset, from bench.json. */
export interface OverheadPoint {
  preset: string;
  parameters: number;
  series: string;
  method: string;
  variant: string;
  /** The row's inferOverhead in percent: its median forward pass over the bare model's on the preset, minus 1. */
  overhead: number;
  inferMs: number;
  /** The bare model's median forward pass on the preset (null: bench.json has no bare row for it). */
  bareMs: number | null;
  virtualTokens: number;
}

/** A colour halfway to white: a method's second variant keeps its hue and reads as the same method. */
function lighter(hex: string): string {
  const channels = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return `#${channels.map((c) => Math.round(c + (255 - c) * 0.5).toString(16).padStart(2, '0')).join('')}`;
}

/** Every non-bare row of bench.json, with a colour per series (the method's colour; a second variant lighter). */
export function overheadPoints(cards: MethodCards, bench: BenchReport): { points: OverheadPoint[]; colours: ColourScale; presets: string[] } {
  const rows = [...bench.rows].sort((a, b) => compareBenchRows(cards, a, b));
  const bare = new Map(rows.filter((r) => r.method === 'bare').map((r) => [r.preset, r.inferMedianMs]));
  const points = rows
    .filter((r) => r.method !== 'bare')
    .map((r) => ({ preset: r.preset, parameters: r.parameters, series: benchSeries(cards, r), method: r.method, variant: r.variant, overhead: r.inferOverhead * 100, inferMs: r.inferMedianMs, bareMs: bare.get(r.preset) ?? null, virtualTokens: r.virtualTokens }));
  const domain: string[] = [];
  const range: string[] = [];
  for (const r of rows) {
    const series = benchSeries(cards, r);
    if (r.method === 'bare' || domain.includes(series)) continue;
    const earlier = points.some((p) => p.method === r.method && domain.includes(p.series));
    domain.push(series);
    range.push(earlier ? lighter(cards.colour(r.method)) : cards.colour(r.method));
  }
  const presets = [...new Set(rows.map((r) => r.preset))];
  return { points, colours: { domain, range }, presets };
}

/**
 * Inference overhead against the frozen model alone (%), a bar per method (and LoRA variant) within
 * each preset; the solid rule is the bare model (0%), the dashed one the 1% claimed for prompt tuning.
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

export const overheadFigure: FigureDefinition = {
  id: 'overhead',
  title: 'Inference overhead against the frozen model alone (bench.json)',
  plan(results) {
    if (results.bench === null) return nothingToDraw('No bench.json, so no inference overhead to draw (see the benchmark section).');
    const bench = results.bench.report;
    const { points, colours, presets } = overheadPoints(results.methods, bench);
    if (points.length === 0) return nothingToDraw('bench.json has no method rows beside the bare model, so no overhead to draw.');
    return {
      spec: overheadSpec(points, colours, presets, benchSubtitle(bench), OVERHEAD_CLAIM_PERCENT),
      rows: points.map((pt) => ({ ...pt })),
      paragraphs: [
        p(
          'Each method’s forward pass against the frozen model’s alone on the same preset, in percent: the median over rounds of its time divided by the bare passes timed just before and after it, minus 1 (bench.json’s inferOverhead; the bracketing keeps background load from counting as overhead). ' +
            'Prompt methods pay for their virtual tokens; unmerged LoRA for its extra matrix products; merged LoRA, BitFit and full model tuning change weights only, so theirs is timing noise around 0. ' +
            `The dashed line marks the ${OVERHEAD_CLAIM_PERCENT}% commonly claimed for prompt tuning.`,
        ),
        p(benchLine(bench)),
        sourceLine(CLAIM_SOURCES.overhead),
      ],
      warnings: [],
    };
  },
};
