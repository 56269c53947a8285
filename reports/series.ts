/**
 * Names and orders for what the figures draw: series labels (a method's display name from the run's
 * cards, plus the options that tell its variants apart when a figure holds more than one), panel labels
 * and the order of presets by size, and the order and series of bench.json's rows.
 */
import type { BenchRow } from '../src/results/bench.js';
import type { OptionValue } from '../src/adapt/peft.js';
import { AVERAGE_TASK, optionsLabel, type TrialRecord } from '../src/results/results.js';
import type { MethodCards } from './method_cards.js';

export const AVERAGE_PANEL = 'average over tasks';

/** Colours for a method's second and later variants in one figure (the first has the method's own colour). */
const EXTRA_COLOURS = ['#f58518', '#eeca3b', '#ff9da6', '#bab0ac', '#17becf', '#8c564b', '#bcbd22', '#7f7f7f'];

/** Panel label of a task name. */
export function panelOf(task: string): string {
  return task === AVERAGE_TASK ? AVERAGE_PANEL : task;
}

/** Panels in order: tasks alphabetically, then the average. */
export function comparePanels(a: string, b: string): number {
  return (a === AVERAGE_PANEL ? 1 : 0) - (b === AVERAGE_PANEL ? 1 : 0) || a.localeCompare(b);
}

/** A series: what one line or colour stands for, and the colour it gets. */
export interface Series {
  label: string;
  method: string;
  colour: string;
}

/**
 * Labels the (method, options) variants of a set of trials: a method with one variant is its display
 * name; a method with several gets the options that differ between them, e.g. "LoRA (rank=4)".
 * `ignore` lists options a figure puts on an axis (prompt length) and so leaves out of labels.
 */
export class SeriesNamer {
  private readonly labels = new Map<string, string>();
  readonly series: Series[] = [];

  constructor(cards: MethodCards, variants: readonly { method: string; options: Readonly<Record<string, OptionValue>> }[], ignore: readonly string[] = []) {
    const byMethod = new Map<string, Map<string, Record<string, OptionValue>>>();
    for (const { method, options } of variants) {
      const kept = keptOptions(options, ignore);
      const map = byMethod.get(method) ?? new Map<string, Record<string, OptionValue>>();
      map.set(optionsLabel(kept), kept);
      byMethod.set(method, map);
    }
    let extra = 0;
    for (const method of [...byMethod.keys()].sort((a, b) => cards.compare(a, b))) {
      const optionSets = [...byMethod.get(method)!.entries()].sort(([a], [b]) => a.localeCompare(b));
      const names = new Set(optionSets.flatMap(([, options]) => Object.keys(options)));
      const varying = [...names].filter((name) => new Set(optionSets.map(([, options]) => (name in options ? optionsLabel({ [name]: options[name] }) : ''))).size > 1);
      optionSets.forEach(([key, options], i) => {
        const detail = optionsLabel(Object.fromEntries(varying.filter((name) => name in options).map((name) => [name, options[name]])));
        const label = detail === '' ? cards.name(method) : `${cards.name(method)} (${detail.replaceAll(' ', ', ')})`;
        const colour = i === 0 ? cards.colour(method) : EXTRA_COLOURS[extra++ % EXTRA_COLOURS.length];
        this.labels.set(JSON.stringify([method, key]), label);
        this.series.push({ label, method, colour });
      });
    }
  }

  /** The series label of a variant (it must be one the namer was built from). */
  label(method: string, options: Readonly<Record<string, OptionValue>>, ignore: readonly string[] = []): string {
    const label = this.labels.get(JSON.stringify([method, optionsLabel(keptOptions(options, ignore))]));
    if (label === undefined) throw new Error(`no series for method ${method} with options "${optionsLabel(options)}": allowed: ${this.series.map((s) => s.label).join(', ')}`);
    return label;
  }

  /** Colour scale domain and range for Vega-Lite; with `only`, just the series a figure draws (so its legend lists no absent ones). */
  colourScale(only?: readonly string[]): { domain: string[]; range: string[] } {
    const series = only === undefined ? this.series : this.series.filter((s) => only.includes(s.label));
    return { domain: series.map((s) => s.label), range: series.map((s) => s.colour) };
  }
}

function keptOptions(options: Readonly<Record<string, OptionValue>>, ignore: readonly string[]): Record<string, OptionValue> {
  return Object.fromEntries(Object.entries(options).filter(([name]) => !ignore.includes(name)));
}

/** Series of trial records (method and options). */
export function namerFor(cards: MethodCards, records: readonly TrialRecord[], ignore: readonly string[] = []): SeriesNamer {
  return new SeriesNamer(
    cards,
    records.map((r) => ({ method: r.config.method, options: r.config.options })),
    ignore,
  );
}

/** Presets ordered by frozen parameters (then name), with their parameter counts. */
export function presetsBySize(records: readonly TrialRecord[]): { name: string; parameters: number }[] {
  const sizes = new Map<string, number>();
  for (const r of records) sizes.set(r.config.preset, r.parameters.base);
  return [...sizes.entries()].map(([name, parameters]) => ({ name, parameters })).sort((a, b) => a.parameters - b.parameters || a.name.localeCompare(b.name));
}

/** Colour scale for presets, light (small) to dark (large): blues interpolated between two ends. */
export function presetColourScale(presets: readonly string[]): { domain: string[]; range: string[] } {
  const light = [0x9e, 0xca, 0xe1];
  const dark = [0x08, 0x30, 0x6b];
  const range = presets.map((_, i) => {
    const t = presets.length === 1 ? 0.6 : i / (presets.length - 1);
    return `#${light.map((c, j) => Math.round(c + (dark[j] - c) * t).toString(16).padStart(2, '0')).join('')}`;
  });
  return { domain: [...presets], range };
}

/** LoRA's variants in bench.json, in display order (unmerged: extra matmuls; merged: folded into the weights). */
const VARIANT_ORDER = ['', 'unmerged', 'merged'];

/** Orders bench.json rows: by preset size, the bare model first, then methods as everywhere in the report, then variants. */
export function compareBenchRows(cards: MethodCards, a: BenchRow, b: BenchRow): number {
  const bare = (row: BenchRow): number => (row.method === 'bare' ? 0 : 1);
  const variant = (row: BenchRow): number => (VARIANT_ORDER.includes(row.variant) ? VARIANT_ORDER.indexOf(row.variant) : VARIANT_ORDER.length);
  return a.parameters - b.parameters || a.preset.localeCompare(b.preset) || bare(a) - bare(b) || cards.compare(a.method, b.method) || variant(a) - variant(b) || a.variant.localeCompare(b.variant);
}

/** A bench.json row's series: the method's display name, with its variant when it has one ("LoRA (merged)"). */
export function benchSeries(cards: MethodCards, row: Pick<BenchRow, 'method' | 'variant'>): string {
  if (row.method === 'bare') return 'frozen model alone';
  return row.variant === '' ? cards.name(row.method) : `${cards.name(row.method)} (${row.variant})`;
}
