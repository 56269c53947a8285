/**
 * Hypotheses stated in an experiment file before its run, and their evaluation from the trial records.
 *
 * Every kind reduces to one statistic whose expected sign is positive, with a 95% interval; the rule is
 * the same for every kind:
 * - holds: the interval's low end is above 0;
 * - does not hold: its high end is at or below 0;
 * - inconclusive: the interval contains 0, or the comparison cannot be made (a size that matches no
 *   records, fewer than two paired seeds, fewer than three groups), with the reason.
 *
 * Values are test accuracies (fractions); "chance" is the majority-class accuracy of the test split.
 * Sizes are chosen among the frozen models (presets) that have records for the comparison, by name or
 * by a rule stated with the hypothesis (SIZE_SELECTORS); with axis "train", among the training-set sizes
 * of one preset instead.
 */
import { optionsLabel, type TrialRecord } from './results_record.js';
import type { PretrainedInfo } from './results_run.js';
import { bootstrapInterval, confidenceInterval, spearman } from './stats.js';
import { canonicalJson } from '../util/canonical_json.js';
import { createHash } from 'node:crypto';
import { BOOTSTRAP_RESAMPLES, type Hypothesis, type HypothesisKind, type HypothesisStatistic, type MethodRef, type Verdict } from './hypothesis_types.js';

export * from './hypothesis_types.js';

/** One hypothesis evaluated. */
export interface HypothesisResult {
  id: string;
  statement: string;
  kind: HypothesisKind;
  statistic: HypothesisStatistic;
  verdict: Verdict;
  /** The statistic: its estimate and 95% interval (NaN when it could not be computed), and its n. */
  estimate: number;
  low: number;
  high: number;
  n: number;
  /** The numbers behind it in words (sizes chosen, means and intervals per side). */
  detail: string;
  /** Why it is inconclusive without an interval; null otherwise. */
  reason: string | null;
  figure: string | null;
}

/** The hash that ties a report's hypotheses to the recorded ones. */
export function hypothesesHash(list: readonly Hypothesis[]): string {
  return createHash('sha256').update(canonicalJson(list)).digest('hex');
}

/** The verdict of an interval by the one rule (see the module comment). */
export function verdictOf(low: number, high: number): Verdict {
  if (!Number.isFinite(low) || !Number.isFinite(high)) return 'inconclusive';
  if (low > 0) return 'holds';
  if (high <= 0) return 'does not hold';
  return 'inconclusive';
}

/** The records a reference picks on one task: per preset (frozen model), test accuracy by seed. */
function scoresOf(records: readonly TrialRecord[], ref: MethodRef, task: string, extra: Record<string, string | number | boolean> = {}, controls = false): Map<string, Map<number, { accuracy: number; chance: number }>> {
  const wanted = { ...(ref.options ?? {}), ...extra };
  const byPreset = new Map<string, Map<number, { accuracy: number; chance: number }>>();
  for (const r of records) {
    // Never-trained controls are not sizes of the family: no selector may pick one (only above-control asks for them, by name).
    if (r.status !== 'finished' || (r.config.control === true) !== controls || r.config.method !== ref.method || r.config.task !== task) continue;
    if (!Object.entries(wanted).every(([name, value]) => r.config.options[name] === value)) continue;
    const preset = r.config.preset;
    const bySeed = byPreset.get(preset) ?? new Map<number, { accuracy: number; chance: number }>();
    bySeed.set(r.config.seed, { accuracy: r.test.accuracy, chance: r.test.majority });
    byPreset.set(preset, bySeed);
  }
  return byPreset;
}

/** Option sets a reference matches on a task: more than one is ambiguous (the file must say which). */
export function matchedOptionSets(records: readonly TrialRecord[], ref: MethodRef, task: string, extra: Record<string, string | number | boolean> = {}): string[] {
  const wanted = { ...(ref.options ?? {}), ...extra };
  const labels = new Set<string>();
  for (const r of records) {
    if (r.config.method !== ref.method || r.config.task !== task) continue;
    if (Object.entries(wanted).every(([name, value]) => r.config.options[name] === value)) labels.add(optionsLabel(r.config.options));
  }
  return [...labels];
}

interface Interval95 {
  estimate: number;
  low: number;
  high: number;
  n: number;
}

/** The mean of per-seed values and its 95% interval by the stated statistic (bootstrap seeded by the hypothesis id). */
function meanInterval(values: readonly number[], statistic: HypothesisStatistic, stream: string): Interval95 {
  if (values.length < 2) return { estimate: values.length === 1 ? values[0] : NaN, low: NaN, high: NaN, n: values.length };
  if (statistic === 't') {
    const ci = confidenceInterval(values);
    return { estimate: ci.mean, low: ci.low, high: ci.high, n: values.length };
  }
  const mean = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
  const [low, high] = bootstrapInterval(values.length, (pick) => mean(pick.map((i) => values[i])), BOOTSTRAP_RESAMPLES, stream);
  return { estimate: mean(values), low, high, n: values.length };
}

const pct = (x: number): string => (Number.isFinite(x) ? (100 * x).toFixed(1) : '--');
const pts = (x: number): string => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}` : '--');
const interval = (i: Interval95, format: (x: number) => string = pts): string => `${format(i.estimate)} (${format(i.low)} to ${format(i.high)}, n = ${i.n})`;

/** The context an evaluation needs besides the hypothesis: the records and the frozen models' gates. */
export interface EvaluationInputs {
  records: readonly TrialRecord[];
  /** run.json's frozen models (their capability gates give rank-correlation's margins). */
  pretrained: readonly PretrainedInfo[];
}

/** The presets among `available` by frozen size (base parameters), smallest first; ties by name. */
function bySize(inputs: EvaluationInputs, available: Iterable<string>): string[] {
  const size = new Map<string, number>();
  for (const r of inputs.records) if (r.config.control !== true) size.set(r.config.preset, r.parameters.base);
  return [...new Set(available)].sort((a, b) => (size.get(a) ?? 0) - (size.get(b) ?? 0) || a.localeCompare(b));
}

/** A size by name or selector among `candidates` (size order); null with the reason when none fits. */
function selectSize(selector: string, candidates: readonly string[], baselineClears: (preset: string) => boolean, noun = 'preset'): { preset: string | null; reason: string | null } {
  if (candidates.length === 0) return { preset: null, reason: `no ${noun} has records for this comparison` };
  if (selector === 'smallest') return { preset: candidates[0], reason: null };
  if (selector === 'largest') return { preset: candidates[candidates.length - 1], reason: null };
  if (selector === 'smallest-where-baseline-clears-chance') {
    const found = candidates.find(baselineClears);
    return found === undefined ? { preset: null, reason: `the baseline clears chance on no ${noun}` } : { preset: found, reason: null };
  }
  return candidates.includes(selector) ? { preset: selector, reason: null } : { preset: null, reason: `${noun} ${selector} has no records for this comparison` };
}

/** Whether a seed → score map's 95% Student-t interval lies above its chance. */
function clearsChance(bySeed: Map<number, { accuracy: number; chance: number }> | undefined): boolean {
  if (bySeed === undefined || bySeed.size < 2) return false;
  const ci = confidenceInterval([...bySeed.values()].map((v) => v.accuracy - v.chance));
  return ci.low > 0;
}

function result(h: Hypothesis, stat: Interval95, detail: string, reason: string | null = null): HypothesisResult {
  const verdict = reason === null ? verdictOf(stat.low, stat.high) : 'inconclusive';
  return { id: h.id, statement: h.statement, kind: h.kind, statistic: h.statistic, verdict, estimate: stat.estimate, low: stat.low, high: stat.high, n: stat.n, detail, reason, figure: h.figure ?? null };
}

const NONE: Interval95 = { estimate: NaN, low: NaN, high: NaN, n: 0 };

/** Per seed both maps have, a − b, in seed order. */
export function pairedValues(a: ReadonlyMap<number, number>, b: ReadonlyMap<number, number>): number[] {
  return [...a.keys()].filter((seed) => b.has(seed)).sort((x, y) => x - y).map((seed) => (a.get(seed) as number) - (b.get(seed) as number));
}

function evaluateAboveControl(h: Hypothesis, inputs: EvaluationInputs): HypothesisResult {
  const task = h.task as string;
  const trained = scoresOf(inputs.records, h.method, task);
  const controls = scoresOf(inputs.records, h.method, task, {}, true);
  const { preset, reason } = selectSize(h.at as string, bySize(inputs, [...trained.keys()].filter((p) => controls.has(p))), () => false);
  if (preset === null) return result(h, NONE, '', reason === 'no preset has records for this comparison' ? 'no preset has records on both the pretrained model and its never-trained control' : reason);
  const a = new Map([...(trained.get(preset) as Map<number, { accuracy: number }>)].map(([seed, v]) => [seed, v.accuracy]));
  const b = new Map([...(controls.get(preset) as Map<number, { accuracy: number }>)].map(([seed, v]) => [seed, v.accuracy]));
  const stat = meanInterval(pairedValues(a, b), h.statistic, h.id);
  const side = (label: string, m: Map<number, number>): string => `${label} ${interval(meanInterval([...m.values()], h.statistic, `${h.id}:${label}`), pct)}%`;
  return result(h, stat, `${h.method.method} on ${task}: ${side(`pretrained ${preset}`, a)}; ${side('never-trained control', b)}; difference ${interval(stat)} points`, stat.n < 2 ? `${stat.n} seed(s) paired: at least 2 are needed` : null);
}

function evaluateAboveChance(h: Hypothesis, inputs: EvaluationInputs): HypothesisResult {
  const task = h.task as string;
  const scores = scoresOf(inputs.records, h.method, task);
  const { preset, reason } = selectSize(h.at as string, bySize(inputs, scores.keys()), () => false);
  if (preset === null) return result(h, NONE, '', reason);
  const values = [...(scores.get(preset) as Map<number, { accuracy: number; chance: number }>).entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v.accuracy - v.chance);
  const stat = meanInterval(values, h.statistic, h.id);
  const why = stat.n < 2 ? `${stat.n} seed(s) on ${preset}: at least 2 are needed for an interval` : null;
  return result(h, stat, `${h.method.method} on ${preset}, ${task}: accuracy minus chance ${interval(stat)} points`, why);
}

/** Per size: per seed, the gap baseline − method (paired). */
function gapBySeed(inputs: EvaluationInputs, h: Hypothesis, task: string): { gaps: Map<string, Map<number, number>>; clears: (preset: string) => boolean } {
  const method = scoresOf(inputs.records, h.method, task);
  const baseline = scoresOf(inputs.records, h.baseline as MethodRef, task);
  const gaps = new Map<string, Map<number, number>>();
  for (const [preset, bySeed] of method) {
    const other = baseline.get(preset);
    if (other === undefined) continue;
    const paired = new Map<number, number>();
    for (const [seed, v] of bySeed) {
      const b = other.get(seed);
      if (b !== undefined) paired.set(seed, b.accuracy - v.accuracy);
    }
    if (paired.size > 0) gaps.set(preset, paired);
  }
  return { gaps, clears: (preset) => clearsChance(baseline.get(preset)) };
}

function evaluateGapShrinks(h: Hypothesis, inputs: EvaluationInputs): HypothesisResult {
  const task = h.task as string;
  const { gaps, clears } = gapBySeed(inputs, h, task);
  const side = (p: string, m: Map<number, number>): string => `gap on ${p} ${interval(meanInterval([...m.values()], h.statistic, `${h.id}:${p}`))}`;
  return compareSizes(h, inputs, gaps, clears, `${h.baseline?.method} minus ${h.method.method} on ${task}`, side);
}

/**
 * The two sizes of a *-shrinks hypothesis compared, paired by seed: per-seed values at `from` minus those
 * at `to`, with each side's mean and interval in the detail.
 */
function compareSizes(h: Hypothesis, inputs: EvaluationInputs, bySeed: Map<string, Map<number, number>>, clears: (preset: string) => boolean, what: string, side: (preset: string, values: Map<number, number>) => string): HypothesisResult {
  const candidates = bySize(inputs, bySeed.keys());
  const noun = h.axis === 'train' ? 'training-set size' : 'preset';
  const from = selectSize(h.from as string, candidates, clears, noun);
  const to = selectSize(h.to as string, candidates, clears, noun);
  if (from.preset === null || to.preset === null) return result(h, NONE, '', `from: ${from.reason ?? from.preset}; to: ${to.reason ?? to.preset}`);
  if (from.preset === to.preset) return result(h, NONE, '', `from and to select the same ${noun} (${from.preset}): nothing to compare`);
  const a = bySeed.get(from.preset) as Map<number, number>;
  const b = bySeed.get(to.preset) as Map<number, number>;
  const stat = meanInterval(pairedValues(a, b), h.statistic, h.id);
  return result(h, stat, `${what}: ${side(from.preset, a)}; ${side(to.preset, b)}; difference ${interval(stat)} points`, stat.n < 2 ? `${stat.n} seed(s) paired across ${from.preset} and ${to.preset}: at least 2 are needed` : null);
}

function evaluateEffectShrinks(h: Hypothesis, inputs: EvaluationInputs): HypothesisResult {
  const task = h.task as string;
  const option = h.option as string;
  const values = h.values as (string | number | boolean)[];
  const perValue = values.map((value) => scoresOf(inputs.records, h.method, task, { [option]: value }));
  // Per preset, per seed with every value: the effect.
  const effects = new Map<string, Map<number, number>>();
  for (const preset of perValue[0].keys()) {
    const bySeed = new Map<number, number>();
    for (const seed of perValue[0].get(preset)?.keys() ?? []) {
      const accuracies = perValue.map((m) => m.get(preset)?.get(seed)?.accuracy);
      if (accuracies.some((a) => a === undefined)) continue;
      const xs = accuracies as number[];
      bySeed.set(seed, h.effect === 'difference' ? xs[0] - xs[1] : Math.max(...xs) - Math.min(...xs));
    }
    if (bySeed.size > 0) effects.set(preset, bySeed);
  }
  const baseline = h.baseline === undefined ? null : scoresOf(inputs.records, h.baseline, task);
  const clears = (preset: string): boolean => baseline !== null && clearsChance(baseline.get(preset));
  const what = h.effect === 'difference' ? `${option} ${String(values[0])} minus ${String(values[1])}` : `spread over ${option} ${values.join(', ')}`;
  const side = (p: string, m: Map<number, number>): string => `${p} ${interval(meanInterval([...m.values()], h.statistic, `${h.id}:${p}`))}`;
  return compareSizes(h, inputs, effects, clears, `${h.method.method} on ${task}, ${what}`, side);
}

/** One point of the rank correlation (also the data of its figure). */
export interface MarginPoint {
  preset: string;
  task: string;
  margin: number;
  recovered: number;
}

/** The groups of a rank-correlation hypothesis: gate margin against recovered share. */
export function marginPoints(h: Hypothesis, inputs: EvaluationInputs): MarginPoint[] {
  const points: MarginPoint[] = [];
  for (const task of h.tasks ?? []) {
    const method = scoresOf(inputs.records, h.method, task);
    const baseline = scoresOf(inputs.records, h.baseline as MethodRef, task);
    for (const preset of bySize(inputs, method.keys())) {
      const base = baseline.get(preset);
      if (!clearsChance(base)) continue;
      const gate = inputs.pretrained.find((p) => p.preset === preset)?.gates?.zeroShot[task];
      if (gate === undefined) continue;
      const mean = (m: Map<number, { accuracy: number; chance: number }>): { acc: number; chance: number } => {
        const vs = [...m.values()];
        return { acc: vs.reduce((s, v) => s + v.accuracy, 0) / vs.length, chance: vs.reduce((s, v) => s + v.chance, 0) / vs.length };
      };
      const m = mean(method.get(preset) as Map<number, { accuracy: number; chance: number }>);
      const b = mean(base as Map<number, { accuracy: number; chance: number }>);
      points.push({ preset, task, margin: gate.model - gate.chance, recovered: (m.acc - b.chance) / (b.acc - b.chance) });
    }
  }
  return points;
}

function evaluateRankCorrelation(h: Hypothesis, inputs: EvaluationInputs): HypothesisResult {
  const points = marginPoints(h, inputs);
  if (points.length < 3) return result(h, { ...NONE, n: points.length }, '', `${points.length} group(s) where the baseline clears chance: at least 3 are needed for a rank correlation`);
  const rho = spearman(points.map((p) => p.margin), points.map((p) => p.recovered));
  const [low, high] = bootstrapInterval(points.length, (pick) => spearman(pick.map((i) => points[i].margin), pick.map((i) => points[i].recovered)), BOOTSTRAP_RESAMPLES, h.id);
  const stat = { estimate: rho, low, high, n: points.length };
  const list = points.map((p) => `${p.preset} ${p.task}: margin ${pts(p.margin)}, recovered ${pct(p.recovered)}%`).join('; ');
  return result(h, stat, `Spearman ρ ${rho.toFixed(2)} (${Number.isFinite(low) ? low.toFixed(2) : '--'} to ${Number.isFinite(high) ? high.toFixed(2) : '--'}, ${points.length} groups): ${list}`);
}

/** The methods and tasks a hypothesis reads. */
export function refsOf(h: Hypothesis): { methods: string[]; tasks: string[] } {
  return { methods: [h.method.method, ...(h.baseline === undefined ? [] : [h.baseline.method])], tasks: [...(h.task === undefined ? [] : [h.task]), ...(h.tasks ?? [])] };
}

/**
 * The records as the hypothesis compares them: only those trained on `train` examples when it says so;
 * with axis "train", only the preset `at`, each record's level relabelled as its training-set size (so
 * the size selectors order and pick training-set sizes). A string is why no comparison can be made.
 */
export function comparisonView(h: Hypothesis, inputs: EvaluationInputs): { inputs: EvaluationInputs; preset: string | null } | string {
  const { methods, tasks } = refsOf(h);
  const relevant = (r: TrialRecord): boolean => methods.includes(r.config.method) && tasks.includes(r.config.task);
  const records = h.train === undefined ? inputs.records : inputs.records.filter((r) => r.config.data.train === h.train);
  if (h.axis !== 'train') {
    const sizes = [...new Set(records.filter(relevant).map((r) => r.config.data.train))].sort((a, b) => a - b);
    if (sizes.length > 1) return `the compared trials were trained on ${sizes.join(', ')} examples: the hypothesis must say which ("train") or compare them ("axis": "train")`;
    return { inputs: { ...inputs, records }, preset: null };
  }
  const candidates = bySize({ ...inputs, records }, records.filter((r) => relevant(r) && r.config.control !== true).map((r) => r.config.preset));
  const { preset, reason } = selectSize(h.at as string, candidates, () => false);
  if (preset === null) return `at: ${reason}`;
  const relabelled = records
    .filter((r) => r.config.preset === preset && r.config.control !== true)
    .map((r) => ({ ...r, config: { ...r.config, preset: String(r.config.data.train) }, parameters: { ...r.parameters, base: r.config.data.train } }));
  return { inputs: { ...inputs, records: relabelled }, preset };
}

/** Every hypothesis evaluated from a run's records and its frozen models' gates. */
export function evaluateHypotheses(list: readonly Hypothesis[], all: EvaluationInputs): HypothesisResult[] {
  return list.map((h) => {
    const view = comparisonView(h, all);
    if (typeof view === 'string') return result(h, NONE, '', view);
    const evaluated = evaluateOne(h, view.inputs);
    return view.preset === null ? evaluated : { ...evaluated, detail: `on ${view.preset}, sizes are training examples: ${evaluated.detail}` };
  });
}

function evaluateOne(h: Hypothesis, inputs: EvaluationInputs): HypothesisResult {
  switch (h.kind) {
    case 'above-chance':
      return evaluateAboveChance(h, inputs);
    case 'above-control':
      return evaluateAboveControl(h, inputs);
    case 'gap-shrinks':
      return evaluateGapShrinks(h, inputs);
    case 'effect-shrinks':
      return evaluateEffectShrinks(h, inputs);
    case 'rank-correlation':
      return evaluateRankCorrelation(h, inputs);
  }
}
