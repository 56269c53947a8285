/**
 * The report's figures, listed once, in order: a figure's number is its place in this list (the claims
 * table holds place 8, as the report has always numbered it). Each figure is one file beside this one:
 * its data, its Vega-Lite spec and its caption. Where the page shows each one is report.ts's concern.
 */
import type { LoadedResults } from '../load.js';
import { shortHash } from '../tables.js';
import { computeFigure } from './compute.js';
import { curvesFigure } from './curves.js';
import { dataSizeFigure } from './data_size.js';
import { efficiencyFigure } from './efficiency.js';
import type { FigureDefinition, FigurePlan } from './figure.js';
import { gapFigure } from './gap.js';
import { gatesFigure } from './gates.js';
import { initFigure } from './init.js';
import { marginFigure } from './margin.js';
import { overheadFigure } from './overhead.js';
import { promptLengthFigure } from './prompt_length.js';
import { recoveredFigure } from './recovered.js';
import { scalingFigure } from './scaling.js';

export type { FigurePlan } from './figure.js';

/** The claims table (claims.ts): not a figure, but numbered among them. */
export const CLAIMS_TABLE = { id: 'claims', title: 'Claims for prompt tuning, against this run' } as const;

/** The numbered items of the report, in number order. */
const NUMBERED: readonly (FigureDefinition | typeof CLAIMS_TABLE)[] = [
  scalingFigure,
  gapFigure,
  promptLengthFigure,
  initFigure,
  efficiencyFigure,
  curvesFigure,
  computeFigure,
  CLAIMS_TABLE,
  overheadFigure,
  gatesFigure,
  recoveredFigure,
  marginFigure,
  dataSizeFigure,
];

/** The number of a figure (or of the claims table) by id. */
export function numberOf(id: string): number {
  const index = NUMBERED.findIndex((item) => item.id === id);
  if (index === -1) throw new Error(`no figure "${id}": allowed: ${NUMBERED.map((item) => item.id).join(', ')}`);
  return index + 1;
}

/** The id of the inference-overhead figure, which the page shows inside the benchmark section. */
export const OVERHEAD_FIGURE = overheadFigure.id;
/** The id of the gates figure, which the page shows in the gates section, before every score figure. */
export const GATES_FIGURE = gatesFigure.id;

/** The chart subtitle naming the run: experiment, profile, backend, git and date. */
function runSubtitle(results: LoadedResults): string {
  const m = results.manifest;
  return `${m.experiment} · profile ${m.profile} · backend ${m.environment.backend} · git ${shortHash(m.environment.gitHash)}${m.environment.gitDirty ? ' (uncommitted changes)' : ''} · ${m.finishedAt.slice(0, 10)}`;
}

/** Every figure of the report, planned, in number order. */
export function planFigures(results: LoadedResults): FigurePlan[] {
  const subtitle = runSubtitle(results);
  return NUMBERED.flatMap((item, i): FigurePlan[] => {
    if (!('plan' in item)) return [];
    const number = i + 1;
    return [{ id: item.id, number, title: item.title, ...item.plan(results, { number, subtitle }) }];
  });
}
