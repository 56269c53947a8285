/**
 * The plan of one figure, the type every figure module returns (apart from figures.ts, which lists them,
 * so that a figure module need not import the list).
 */
import type { TopLevelSpec } from 'vega-lite';

/** A figure before rendering: spec and rows, or a notice saying why the run has nothing to draw. */
export interface FigurePlan {
  id: string;
  number: number;
  title: string;
  spec: TopLevelSpec | null;
  rows: Record<string, unknown>[];
  paragraphs: string[];
  notice?: string;
  /** Things left out of the figure, also listed in the report's notes. */
  warnings: string[];
}
