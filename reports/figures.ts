/**
 * The report's figures (1–7 from the experiment's results, 9 from bench.json): for each, its data rows
 * (figure_data.ts), its Vega-Lite spec (specs.ts) and the paragraphs under it: what it shows, which
 * sweeps and run it came from, what was left out and why, and the published finding it is compared with.
 */
import type { FigureKind } from '../src/results.js';
import { benchLine, benchSubtitle } from './bench_section.js';
import type { FigurePlan } from './figure_plan.js';
import { OVERHEAD_CLAIM_PERCENT } from './references.js';
import { computePoints, curvePoints, efficiencyPoints, gapPoints, optionPoints, overheadPoints, recordsFor, scalingPoints, type EfficiencyPoint } from './figure_data.js';
import { capitalize, escapeHtml, listText } from './format.js';
import type { LoadedResults } from './load.js';
import { CLAIM_SOURCES, efficiencyReferences, LESTER_2021, LESTER_FIG4_LINES, LESTER_FINDINGS } from './references.js';
import { methodColour, methodName, presetColourScale, presetsBySize } from './series.js';
import { computeSpec, curvesSpec, efficiencySpec, gapSpec, initSpec, overheadSpec, promptLengthSpec, scalingSpec, type ColourScale } from './specs.js';
import { runLine, shortHash } from './tables.js';
import { gatesFigure } from './gates.js';
import { recoveredFigure } from './recovered.js';
import { baselineMethod } from '../src/peft.js';

export type { FigurePlan } from './figure_plan.js';

const p = escapeHtml;

function sweepText(sweeps: readonly string[]): string {
  return sweeps.length === 1 ? `sweep “${sweeps[0]}”` : `sweeps ${listText(sweeps.map((s) => `“${s}”`))}`;
}

function noSweep(kind: FigureKind): string {
  return `This run has no sweep whose figure is “${kind}” (run.json), so there is nothing to draw here.`;
}

function divergedIn(results: LoadedResults, kind: FigureKind): number {
  return recordsFor(results, kind).records.filter((r) => r.status === 'diverged').length;
}

/** A figure plan with nothing to draw: the notice says why. */
function nothingToDraw(base: Pick<FigurePlan, 'id' | 'number' | 'title'>, notice: string, warnings: string[] = []): FigurePlan {
  return { ...base, spec: null, rows: [], paragraphs: [], notice, warnings };
}

/** The notice of a scaling-sweep figure with no points: no scaling sweep at all, else `otherwise`. */
function scalingNotice(results: LoadedResults, otherwise: string): string {
  return recordsFor(results, 'scaling').records.length === 0 ? noSweep('scaling') : otherwise;
}

/** The presets of the scaling sweeps, smallest first. */
function scalingPresets(results: LoadedResults): string[] {
  return presetsBySize(recordsFor(results, 'scaling').records).map((x) => x.name);
}

function sourceLine(text: string): string {
  return `<span class="source">Published, for comparison: ${p(text)}</span>`;
}

export function scalingFigure(results: LoadedResults, subtitle: string): FigurePlan {
  const base = { id: 'scaling', number: 1, title: 'Scaling (Lester et al. Fig. 1): score against frozen-model size, every method' };
  const { points, namer, sweeps, allDiverged } = scalingPoints(results);
  if (points.length === 0) return nothingToDraw(base, noSweep('scaling'));
  const warnings = allDiverged.map((g) => `Figure 1: ${g}: every trial diverged, no point drawn`);
  return {
    ...base,
    spec: scalingSpec(points, namer.colourScale(), subtitle),
    rows: points.map((pt) => ({ ...pt })),
    paragraphs: [
      p(
        `Mean test accuracy (%, over seeds) of every method on each frozen model of the ${sweepText(sweeps)}, against the frozen model's parameter count (log axis): ` +
          `a panel per task${points.some((pt) => pt.panel === 'average over tasks') ? ' and one for the per-seed average over tasks' : ''}. ` +
          'Error bars are 95% Student-t intervals over seeds, drawn where at least two seeds finished (cut at 0 and 100%: with two seeds they are wide); a point without bars had one. ' +
          'Full model tuning trains every parameter; prompt design trains none (the frozen model with a discrete prompt). ' +
          `Diverged trials (${divergedIn(results, 'scaling')} in these sweeps) are left out of the means and counted in the summary table.`,
      ),
      p(runLine(results.manifest)),
      sourceLine(LESTER_FINDINGS.fig1),
    ],
    warnings,
  };
}

export function gapFigure(results: LoadedResults, subtitle: string): FigurePlan {
  const base = { id: 'gap', number: 2, title: 'Gap to full model tuning against model size, per method' };
  const { points, namer, hasFull } = gapPoints(results);
  if (points.length === 0) {
    return nothingToDraw(base, scalingNotice(results, hasFull ? 'No method shares a frozen model, task and seed with full model tuning.' : 'The scaling sweeps have no finished full-model-tuning trial to compare with.'));
  }
  return {
    ...base,
    spec: gapSpec(points, namer.colourScale([...points.map((pt) => pt.series), ...namer.series.filter((x) => x.method === baselineMethod().name).map((x) => x.label)]), subtitle),
    rows: points.map((pt) => ({ ...pt })),
    paragraphs: [
      p(
        'Each method’s test accuracy minus full model tuning’s on the same frozen model, task and seed, averaged over seeds (percentage points; the dashed line at 0 is full model tuning). ' +
          'Error bars are 95% Student-t intervals of those paired differences, where at least two seeds were paired. Below zero, the method trails full model tuning.',
      ),
      p(runLine(results.manifest)),
      sourceLine('Lester et al. 2021, Fig. 1: the gap of prompt tuning to model tuning closes as T5 grows and vanishes at XXL (11B parameters).'),
    ],
    warnings: [],
  };
}

export function promptLengthFigure(results: LoadedResults, subtitle: string): FigurePlan {
  const base = { id: 'prompt-length', number: 3, title: 'Prompt length (Lester et al. Fig. 3a): score against prompt length, a line per frozen model' };
  const { points, sweeps, presets, left } = optionPoints(results, 'prompt-length', 'length');
  const warnings = left.map((w) => `Figure 3: ${w}`);
  if (points.length === 0) return nothingToDraw(base, sweeps.length === 0 ? noSweep('prompt-length') : `The ${sweepText(sweeps)} have no trial with a prompt length to draw.`, warnings);
  return {
    ...base,
    spec: promptLengthSpec(points, presetColourScale(presets), subtitle),
    rows: points.map((pt) => ({ ...pt, length: pt.x })),
    paragraphs: [
      p(
        `Mean test accuracy (%, over seeds) against the number of prompt tokens (log axis) in the ${sweepText(sweeps)}, a line per frozen model (lighter is smaller); ` +
          `${points.every((pt) => pt.panel.endsWith('average over tasks')) ? 'the per-seed average over tasks' : 'a panel per task'}. Error bars are 95% Student-t intervals over seeds where at least two finished, cut at 0 and 100%.`,
      ),
      p(runLine(results.manifest)),
      sourceLine(LESTER_FINDINGS.fig3a),
    ],
    warnings,
  };
}

export function initFigure(results: LoadedResults, subtitle: string): FigurePlan {
  const base = { id: 'init', number: 4, title: 'Initialisation (Lester et al. Fig. 3b): score per prompt initialisation across frozen models' };
  const { points, sweeps, presets, left } = optionPoints(results, 'init', 'init');
  const warnings = left.map((w) => `Figure 4: ${w}`);
  if (points.length === 0) return nothingToDraw(base, sweeps.length === 0 ? noSweep('init') : `The ${sweepText(sweeps)} have no trial with an init option to draw.`, warnings);
  return {
    ...base,
    spec: initSpec(points, presetColourScale(presets), subtitle),
    rows: points.map((pt) => ({ ...pt, init: pt.x })),
    paragraphs: [
      p(
        `Mean test accuracy (%, over seeds) for each way of initialising the prompt in the ${sweepText(sweeps)}: random-uniform (U(−r, r)), sampled-vocab (embeddings of frequent corpus tokens) and class-label (embeddings of the label words); ` +
          `a point per frozen model (lighter is smaller), ${points.every((pt) => pt.panel.endsWith('average over tasks')) ? 'on the per-seed average over tasks' : 'a panel per task'}. Error bars are 95% Student-t intervals over seeds where at least two finished, cut at 0 and 100%.`,
      ),
      p(runLine(results.manifest)),
      sourceLine(LESTER_FINDINGS.fig3b),
    ],
    warnings,
  };
}

export function efficiencyFigure(results: LoadedResults, subtitle: string): FigurePlan {
  const base = { id: 'efficiency', number: 5, title: 'Parameter efficiency (Lester et al. Fig. 4): task-specific parameters as % of the model' };
  const { points, namer, zero } = efficiencyPoints(results);
  if (points.length === 0) return nothingToDraw(base, scalingNotice(results, 'Every method of the scaling sweeps trains 0 parameters.'));
  const references: EfficiencyPoint[] = efficiencyReferences().map((ref) => ({
    source: ref.source === LESTER_2021 ? 'Lester et al. 2021 (T5, computed E × P)' : 'Hugging Face PEFT (gpt2, published)',
    series: methodName(ref.method),
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
      colours.range.push(namer.series.find((s) => s.method === ref.method)?.colour ?? methodColour(ref.method));
    }
  }
  const sources = ['this run', ...new Set(references.map((r) => r.source))];
  const all = [...points, ...references];
  return {
    ...base,
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
}

export function curvesFigure(results: LoadedResults, subtitle: string): FigurePlan {
  const base = { id: 'curves', number: 6, title: 'Training curves: training loss against step per method, a panel per frozen model' };
  const { points, namer, untrained } = curvePoints(results);
  if (points.length === 0) return nothingToDraw(base, scalingNotice(results, 'No finished trial of the scaling sweeps recorded a loss curve.'));
  const presets = scalingPresets(results);
  return {
    ...base,
    spec: curvesSpec(points, namer.colourScale(points.map((pt) => pt.series)), presets, subtitle),
    rows: points.map((pt) => ({ ...pt })),
    paragraphs: [
      p(
        'Mean training loss (cross-entropy per label token, nats) over each evaluation interval, against the training step, per method of the scaling sweeps, a panel per frozen model. ' +
          'Each seed’s loss is first averaged over tasks; the line is the mean over seeds and the band its 95% Student-t interval (two or more seeds). ' +
          `${untrained.length === 0 ? '' : `${capitalize(listText(untrained))} ${untrained.length === 1 ? 'trains' : 'train'} nothing and ${untrained.length === 1 ? 'has' : 'have'} no curve.`}`,
      ),
      p(runLine(results.manifest)),
    ],
    warnings: [],
  };
}

export function computeFigure(results: LoadedResults, subtitle: string): FigurePlan {
  const base = { id: 'compute', number: 7, title: 'Compute: training step time, tokens per second and peak memory per method and frozen model' };
  const { points, namer, untrained } = computePoints(results);
  if (points.length === 0) return nothingToDraw(base, scalingNotice(results, 'No finished trial of the scaling sweeps took a training step.'));
  const presets = scalingPresets(results);
  const machine = results.manifest.environment.machine;
  return {
    ...base,
    spec: computeSpec(points, namer.colourScale(points.map((pt) => pt.series)), presets, subtitle),
    rows: points.map((pt) => ({ ...pt })),
    paragraphs: [
      p(
        'Per method and frozen model of the scaling sweeps: the median time of one training step (ms), training tokens per second (real and virtual prompt positions) and the most memory held by tfjs tensors (MiB, 2²⁰ bytes; the frozen model included). ' +
          'Bars are means over the finished trials (tasks × seeds) with 95% Student-t intervals for time and throughput; memory is the maximum. ' +
          `Measured on backend ${results.manifest.environment.backend}, ${machine.cpu} (${machine.cores} cores). ` +
          `${untrained.length === 0 ? '' : `${capitalize(listText(untrained))} took no training steps and ${untrained.length === 1 ? 'is' : 'are'} left out.`}`,
      ),
      p(runLine(results.manifest)),
    ],
    warnings: [],
  };
}

/** The id of Figure 9, which the page shows inside the benchmark section rather than with figures 1–7. */
export const OVERHEAD_FIGURE = 'overhead';

/** Figure 9, from bench.json (a separate run: its subtitle and caption name the benchmark, not the experiment). */
export function overheadFigure(results: LoadedResults): FigurePlan {
  const base = { id: OVERHEAD_FIGURE, number: 9, title: 'Inference overhead against the frozen model alone (bench.json)' };
  if (results.bench === null) return nothingToDraw(base, 'No bench.json, so no inference overhead to draw (see the benchmark section).');
  const bench = results.bench.report;
  const { points, colours, presets } = overheadPoints(bench);
  if (points.length === 0) return nothingToDraw(base, 'bench.json has no method rows beside the bare model, so no overhead to draw.');
  return {
    ...base,
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
}

/** Every figure of the report, in order. */
export function planFigures(results: LoadedResults): FigurePlan[] {
  const m = results.manifest;
  const subtitle = `${m.experiment} · profile ${m.profile} · backend ${m.environment.backend} · git ${shortHash(m.environment.gitHash)}${m.environment.gitDirty ? ' (uncommitted changes)' : ''} · ${m.finishedAt.slice(0, 10)}`;
  return [...[scalingFigure, gapFigure, promptLengthFigure, initFigure, efficiencyFigure, curvesFigure, computeFigure, gatesFigure, recoveredFigure].map((build) => build(results, subtitle)), overheadFigure(results)];
}
