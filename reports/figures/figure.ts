/**
 * What every figure module (one file per figure in this folder, listed once in index.ts) shares: the
 * plan a figure returns, how it is defined, the records of the sweeps that feed it, and the caption
 * phrases several figures use.
 */
import type { TopLevelSpec } from 'vega-lite';
import { optionsLabel, type FigureKind, type SummaryRow, type TrialRecord } from '../../src/results/results.js';
import { escapeHtml, listText } from '../format.js';
import type { LoadedResults } from '../load.js';
import { presetsBySize } from '../series.js';

/** A figure before rendering: spec and rows, or a notice saying why the run has nothing to draw. */
export interface FigurePlan {
  id: string;
  /** Its place in index.ts's list. */
  number: number;
  title: string;
  spec: TopLevelSpec | null;
  rows: Record<string, unknown>[];
  paragraphs: string[];
  notice?: string;
  /** Things left out of the figure, also listed in the report's notes. */
  warnings: string[];
}

/** What a figure module builds: its plan less the id, number and title the definition and the list give. */
export type FigureBody = Omit<FigurePlan, 'id' | 'number' | 'title'>;

/** What a figure is given besides the results: its number (from the list's order) and the run's chart subtitle. */
export interface FigureContext {
  number: number;
  subtitle: string;
}

/** One figure: its id (file names, anchors), title, and how it is planned from a results folder. */
export interface FigureDefinition {
  id: string;
  title: string;
  plan(results: LoadedResults, context: FigureContext): FigureBody;
}

/** A figure with nothing to draw: the notice says why. */
export function nothingToDraw(notice: string, warnings: string[] = []): FigureBody {
  return { spec: null, rows: [], paragraphs: [], notice, warnings };
}

/** Trials of the sweeps that feed a figure kind, and those sweeps' names. */
export function recordsFor(results: LoadedResults, kind: FigureKind): { records: TrialRecord[]; sweeps: string[] } {
  const sweeps = results.manifest.sweeps.filter((s) => s.figure === kind).map((s) => s.name);
  return { records: results.records.filter((r) => r.sweeps.some((s) => sweeps.includes(s))), sweeps };
}

/** Summary rows of the (preset, method, options, training-set size) groups that the given trials belong to. */
export function summaryRowsFor(results: LoadedResults, records: readonly TrialRecord[]): SummaryRow[] {
  const key = (preset: string, method: string, options: string, train: number): string => JSON.stringify([preset, method, options, train]);
  const wanted = new Set(records.map((r) => key(r.config.preset, r.config.method, optionsLabel(r.config.options), r.config.data.train)));
  return results.summary.filter((row) => wanted.has(key(row.preset, row.method, row.optionsLabel, row.train)));
}

/** The presets of the scaling sweeps, smallest first. */
export function scalingPresets(results: LoadedResults): string[] {
  return presetsBySize(recordsFor(results, 'scaling').records).map((x) => x.name);
}

export const percent = (fraction: number): number => fraction * 100;
export const finite = (value: number): number | null => (Number.isFinite(value) ? value : null);

export function clampOrNull(value: number | null, min: number, max: number): number | null {
  return value === null ? null : Math.min(max, Math.max(min, value));
}

export function sweepText(sweeps: readonly string[]): string {
  return sweeps.length === 1 ? `sweep “${sweeps[0]}”` : `sweeps ${listText(sweeps.map((s) => `“${s}”`))}`;
}

export function noSweep(kind: FigureKind): string {
  return `This run has no sweep whose figure is “${kind}” (run.json), so there is nothing to draw here.`;
}

/** The notice of a scaling-sweep figure with no points: no scaling sweep at all, else `otherwise`. */
export function scalingNotice(results: LoadedResults, otherwise: string): string {
  return recordsFor(results, 'scaling').records.length === 0 ? noSweep('scaling') : otherwise;
}

/** The published finding a figure is compared with, as a caption line. */
export function sourceLine(text: string): string {
  return `<span class="source">Published, for comparison: ${escapeHtml(text)}</span>`;
}
