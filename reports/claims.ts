/**
 * The claims table: what is commonly claimed for prompt tuning, each beside what this run measured and
 * a verdict. Every measured number comes from the results files (bench.json for inference overhead); a
 * claim the files cannot speak to says "not measured" and how to measure it.
 */
import { BARE_ROW, type BenchReport } from '../src/results/bench.js';
import { optionsLabel, type TrialRecord } from '../src/results/results.js';
import { confidenceInterval } from '../src/results/stats.js';
import { pairedValues } from '../src/results/hypotheses.js';
import { escapeHtml, formatAccuracy, formatBytes, formatCount, formatMs, formatPercent, formatPoints, formatSignedPercent, listText } from './format.js';
import { htmlTable } from './html.js';
import { recordsFor } from './figures/figure.js';
import { gapPoints, type GapPoint } from './figures/gap.js';
import { DEFAULT_BENCH_FILE, type LoadedResults } from './load.js';
import { CLAIM_SOURCES, OVERHEAD_CLAIM_PERCENT } from './references.js';
import { AVERAGE_PANEL } from './series.js';
import { gateVerdict, measuredTasks } from './gates.js';

/** 'not stated': the capability gates of the largest frozen model fail (or were not measured), so the claim is withheld. */
export type Verdict = 'holds' | 'partly holds' | 'does not hold' | 'inconclusive' | 'not measured' | 'not stated';

export interface Claim {
  claim: string;
  published: string;
  measured: string;
  verdict: Verdict;
}


/** The claims are Lester et al.'s, about the method whose card says its adapter is a learned prompt (prompt tuning); null when the run has none. */
function claimedMethod(results: Pick<LoadedResults, 'methods'>): string | null {
  return results.methods.learnedPrompt();
}

function verdictOf(passed: number, total: number): Verdict {
  if (total === 0) return 'not measured';
  if (passed === total) return 'holds';
  return passed === 0 ? 'does not hold' : 'partly holds';
}

/** One prompt-tuning record per preset (and options variant) of the scaling sweep, else of the whole run. */
function promptTuningBySize(results: LoadedResults): TrialRecord[] {
  const method = claimedMethod(results);
  const scaling = recordsFor(results, 'scaling').records.filter((r) => r.config.method === method);
  const pool = scaling.length > 0 ? scaling : results.records.filter((r) => r.config.method === method);
  const seen = new Map<string, TrialRecord>();
  for (const r of pool) if (!seen.has(r.config.preset)) seen.set(r.config.preset, r);
  return [...seen.values()].sort((a, b) => a.parameters.base - b.parameters.base);
}

function describeSetting(r: TrialRecord): string {
  const length = r.config.options.length;
  return typeof length === 'number' ? `${length} tokens` : 'prompt tuning';
}

export function parametersClaim(results: LoadedResults): Claim {
  const records = promptTuningBySize(results);
  const measured = records.map((r) => `${r.config.preset} (${formatCount(r.parameters.base)} parameters, ${describeSetting(r)}): ${formatCount(r.parameters.trainable)} trained = ${formatPercent(r.parameters.percent)}`);
  const passed = records.filter((r) => r.parameters.percent < 0.1).length;
  return {
    claim: 'Prompt tuning trains under 0.1% of the model’s parameters',
    published: CLAIM_SOURCES.parameters,
    measured: records.length === 0 ? 'not measured in this run: no prompt-tuning trials' : `${measured.join('; ')}. Under 0.1% at ${passed} of ${records.length} sizes.`,
    verdict: verdictOf(passed, records.length),
  };
}

export function storageClaim(results: LoadedResults): Claim {
  const records = promptTuningBySize(results);
  const fullBytes = new Map(results.records.filter((r) => r.config.method === results.methods.baseline().name).map((r) => [r.config.preset, r.parameters.adapterBytes]));
  const measured = records.map((r) => {
    const full = fullBytes.get(r.config.preset);
    const compare = full === undefined ? '' : ` (full model tuning: ${formatBytes(full)} per task, ${formatCount(full / r.parameters.adapterBytes)}× more)`;
    return `${r.config.preset}: ${formatBytes(r.parameters.adapterBytes)}${compare}`;
  });
  const passed = records.filter((r) => r.parameters.adapterBytes > 0 && r.parameters.adapterBytes < 1e9).length;
  const small = records.filter((r) => r.parameters.adapterBytes < 1e3).length;
  return {
    claim: 'Per-task storage is kilobytes to megabytes (a prompt, not a copy of the model)',
    published: CLAIM_SOURCES.storage,
    measured:
      records.length === 0
        ? 'not measured in this run: no prompt-tuning trials'
        : `Saved prompt per task (float32): ${measured.join('; ')}.${small > 0 ? ` ${small} of ${records.length} are under a kilobyte: the models here are small.` : ''}`,
    verdict: verdictOf(passed, records.length),
  };
}

/** Prompt tuning's inference cost on one preset: its bench.json row beside the bare model's on the same preset. */
export interface PromptOverhead {
  preset: string;
  parameters: number;
  virtualTokens: number;
  medianMs: number;
  /** The frozen model alone on the same preset; null when bench.json has no "bare" row for it. */
  bareMedianMs: number | null;
  /** The row's inferOverhead (a fraction, as BENCH_COLUMNS declares) in percent. */
  percent: number;
}

/** The prompt-tuning rows of bench.json, each with the bare model's row of its preset, smallest model first. */
export function promptTuningOverheads(results: Pick<LoadedResults, 'methods'>, bench: BenchReport): PromptOverhead[] {
  const bare = new Map(bench.rows.filter((r) => r.method === BARE_ROW).map((r) => [r.preset, r.inferMedianMs]));
  return bench.rows
    .filter((r) => r.method === claimedMethod(results))
    .sort((a, b) => a.parameters - b.parameters || a.preset.localeCompare(b.preset))
    .map((r) => ({ preset: r.preset, parameters: r.parameters, virtualTokens: r.virtualTokens, medianMs: r.inferMedianMs, bareMedianMs: bare.get(r.preset) ?? null, percent: r.inferOverhead * 100 }));
}

export function overheadClaim(results: LoadedResults): Claim {
  const base = { claim: 'Under 1% inference overhead', published: CLAIM_SOURCES.overhead };
  if (results.bench === null) {
    return { ...base, measured: `not measured in this run: no bench.json. Run npm run bench (it writes ${DEFAULT_BENCH_FILE}), then peftscale report RESULTS --bench ${DEFAULT_BENCH_FILE}`, verdict: 'not measured' };
  }
  const bench = results.bench.report;
  const rows = promptTuningOverheads(results, bench);
  if (rows.length === 0) return { ...base, measured: `not measured in this run: bench.json has no prompt-tuning rows (its methods: ${bench.settings.methods.join(', ')})`, verdict: 'not measured' };
  // The overhead is against the frozen model alone: a preset without a bare row has nothing to compare with.
  const compared = rows.filter((r) => r.bareMedianMs !== null);
  const unmatched = rows.filter((r) => r.bareMedianMs === null).map((r) => r.preset);
  const text = (r: PromptOverhead): string =>
    `${r.preset} (${formatCount(r.virtualTokens)} virtual tokens): ${formatMs(r.medianMs)} ms against ${formatMs(r.bareMedianMs ?? NaN)} ms for the frozen model alone, ${formatSignedPercent(r.percent)}`;
  const s = bench.settings;
  const setting = `median forward pass of ${s.batchSize} rows × ${s.sequenceLength} tokens, backend ${bench.environment.backend}, ${s.iterations} measured calls`;
  const passed = compared.filter((r) => r.percent < OVERHEAD_CLAIM_PERCENT).length;
  const parts = [
    compared.length === 0 ? '' : `From bench.json (${setting}): ${compared.map(text).join('; ')}. Under ${OVERHEAD_CLAIM_PERCENT}% at ${passed} of ${compared.length} sizes.`,
    unmatched.length === 0 ? '' : `No bare-model row for ${listText(unmatched)}: not compared.`,
  ];
  return { ...base, measured: parts.filter((p) => p !== '').join(' '), verdict: verdictOf(passed, compared.length) };
}

/** The prompt-tuning gap points of one panel (the task average when there is one), smallest model first. */
function promptTuningGaps(results: LoadedResults): GapPoint[] {
  const points = gapPoints(results).points.filter((p) => p.method === claimedMethod(results));
  const panels = [...new Set(points.map((p) => p.panel))];
  const panel = panels.includes(AVERAGE_PANEL) ? AVERAGE_PANEL : panels.sort()[0];
  const series = [...new Set(points.map((p) => p.series))].sort()[0];
  return points.filter((p) => p.panel === panel && p.series === series).sort((a, b) => a.parameters - b.parameters);
}

/**
 * Where the baseline itself did not leave chance on a preset (its 95% interval reaches chance), the gap
 * there is bounded by what the baseline learnt: said beside the claim, so a small gap at a size where
 * nothing was learnt is not read as prompt tuning matching full model tuning.
 */
function baselineFloorNote(results: LoadedResults, g: GapPoint): string {
  if (g.panel === AVERAGE_PANEL) return '';
  const baseline = results.methods.baseline();
  const row = results.summary.find((r) => r.preset === g.preset && r.method === baseline.name && r.task === g.panel && r.train === g.train);
  if (row === undefined || row.n < 2 || row.ci95[0] > row.chance) return '';
  return (
    ` On ${g.preset} ${baseline.display.name} itself is not clear of chance (${formatAccuracy(row.mean)}, 95% interval from ${formatAccuracy(row.ci95[0])}; chance ${formatAccuracy(row.chance)}): ` +
    'the gap there is bounded by what the baseline learnt.'
  );
}

export function scaleClaim(results: LoadedResults): Claim {
  const base = { claim: 'Prompt tuning gets better with scale: the gap to full model tuning closes as the model grows', published: CLAIM_SOURCES.scale };
  const gates = gateVerdict(results.manifest, measuredTasks(results.records));
  if (gates.state !== 'pass') return { ...base, measured: gates.text, verdict: 'not stated' };
  const gaps = promptTuningGaps(results);
  if (gaps.length < 2) return { ...base, measured: 'not measured in this run: needs prompt tuning and full model tuning on at least two model sizes (a sweep with figure "scaling")', verdict: 'not measured' };
  const text = (g: GapPoint): string => `${g.preset} ${formatPoints(g.gap)}${g.low === null || g.high === null ? ` (n = ${g.n})` : ` [${formatPoints(g.low)}, ${formatPoints(g.high)}] (n = ${g.n})`}`;
  const small = gaps[0];
  const large = gaps[gaps.length - 1];
  let verdict: Verdict;
  if (small.low === null || small.high === null || large.low === null || large.high === null) verdict = 'inconclusive';
  else if (large.low > small.high) verdict = 'holds';
  else if (large.high < small.low) verdict = 'does not hold';
  else verdict = 'inconclusive';
  const why = verdict === 'inconclusive' ? (small.low === null || large.low === null ? ' Inconclusive: fewer than two paired seeds at an end.' : ' Inconclusive: the 95% intervals at the two ends overlap.') : '';
  const trend = large.gap > small.gap ? 'narrows' : large.gap < small.gap ? 'widens' : 'stays the same';
  return {
    ...base,
    measured:
      `Prompt tuning minus full model tuning (${gaps[0].panel}, mean over seeds paired by seed, 95% interval): ${listText(gaps.map(text))}. ` +
      `The mean gap ${trend} from ${formatPoints(small.gap)} on ${small.preset} to ${formatPoints(large.gap)} on ${large.preset}.${why}` +
      baselineFloorNote(results, small) +
      baselineFloorNote(results, large),
    verdict,
  };
}

/**
 * The data-size sweeps on their largest frozen model and one task (the first, by name, that prompt
 * tuning ran there), one option set per method (the first by label, as the other claims pick one
 * series): per training-set size, prompt tuning minus the baseline per seed (paired).
 */
function gapsByTrainSize(results: LoadedResults): { preset: string; task: string; options: string; sizes: { train: number; gaps: Map<number, number> }[] } | null {
  const method = claimedMethod(results);
  const baseline = results.methods.baseline().name;
  const records = recordsFor(results, 'data-size').records.filter((r) => r.status === 'finished' && r.config.control !== true && Number.isFinite(r.test.accuracy));
  const mine = records.filter((r) => r.config.method === method);
  const largest = [...mine].sort((a, b) => b.parameters.base - a.parameters.base)[0];
  if (largest === undefined) return null;
  const preset = largest.config.preset;
  const first = (xs: Iterable<string>): string => [...new Set(xs)].sort()[0];
  const task = first(mine.filter((r) => r.config.preset === preset).map((r) => r.config.task));
  const at = (r: TrialRecord): boolean => r.config.preset === preset && r.config.task === task;
  const options = first(mine.filter(at).map((r) => optionsLabel(r.config.options)));
  const theirs = records.filter((r) => r.config.method === baseline && at(r));
  const baselineOptions = first(theirs.map((r) => optionsLabel(r.config.options)));
  const sizes = [...new Set(mine.filter(at).map((r) => r.config.data.train))].sort((a, b) => a - b);
  return {
    preset,
    task,
    options,
    sizes: sizes.map((train) => {
      const bySeed = (list: TrialRecord[], label: string): Map<number, number> => new Map(list.filter((r) => r.config.data.train === train && optionsLabel(r.config.options) === label).map((r) => [r.config.seed, r.test.accuracy]));
      const base = bySeed(theirs, baselineOptions);
      const gaps = new Map([...bySeed(mine.filter(at), options)].filter(([seed]) => base.has(seed)).map(([seed, accuracy]) => [seed, 100 * (accuracy - (base.get(seed) as number))]));
      return { train, gaps };
    }),
  };
}

export function dataClaim(results: LoadedResults): Claim {
  const base = { claim: 'Prompt tuning needs more training data than full model tuning: it lags most with few examples', published: CLAIM_SOURCES.data };
  const found = gapsByTrainSize(results);
  const measurable = found === null ? [] : found.sizes.filter((s) => s.gaps.size > 0);
  if (found === null || measurable.length < 2) return { ...base, measured: 'not measured in this run: needs prompt tuning and full model tuning at two or more training-set sizes (a sweep with trainExamples and figure "data-size")', verdict: 'not measured' };
  const gates = gateVerdict(results.manifest, measuredTasks(results.records));
  if (gates.state !== 'pass') return { ...base, measured: gates.text, verdict: 'not stated' };
  const interval = (xs: number[]): string => {
    const i = confidenceInterval(xs);
    return `${formatPoints(i.mean)}${i.n >= 2 ? ` [${formatPoints(i.low)}, ${formatPoints(i.high)}]` : ''} (n = ${i.n})`;
  };
  const few = measurable[0];
  const many = measurable[measurable.length - 1];
  // The statistic of the data-size experiment's D1: per seed, gap(most) − gap(fewest), paired by seed.
  const changes = pairedValues(many.gaps, few.gaps);
  const change = confidenceInterval(changes);
  const verdict: Verdict = change.n < 2 ? 'inconclusive' : change.low > 0 ? 'holds' : change.high <= 0 ? 'does not hold' : 'inconclusive';
  const why = change.n < 2 ? ' Inconclusive: fewer than two seeds paired across the two ends.' : verdict === 'inconclusive' ? ' Inconclusive: the interval of the change contains 0.' : '';
  return {
    ...base,
    measured:
      `Prompt tuning (${found.options || 'no options'}) minus full model tuning on ${found.preset}, ${found.task}, mean over seeds paired by seed with its 95% interval: ` +
      `${listText(measurable.map((s) => `${formatCount(s.train)} examples ${interval([...s.gaps.values()])}`))}. ` +
      `Change from ${formatCount(few.train)} to ${formatCount(many.train)} examples, per seed: ${interval(changes)}.${why}`,
    verdict,
  };
}

/** The claims, in the order the issues list them. */
export function claimsTable(results: LoadedResults): Claim[] {
  return [parametersClaim(results), storageClaim(results), overheadClaim(results), scaleClaim(results), dataClaim(results)];
}

/** The claims table as HTML. */
export function claimsHtml(claims: readonly Claim[]): string {
  return htmlTable(
    ['claim', 'published', 'this run measured', 'verdict'],
    claims.map((c) => [escapeHtml(c.claim), `<span class="source">${escapeHtml(c.published)}</span>`, escapeHtml(c.measured), `<span class="verdict-${c.verdict.replaceAll(' ', '-')}">${escapeHtml(c.verdict)}</span>`]),
    [],
    'claims',
  );
}
