/**
 * The check of an experiment's hypotheses against its planned trials (after the schema, schema.ts, has
 * checked their shape), so that a malformed or unmeasurable one is refused before any work. The
 * evaluation itself is src/results/hypotheses.ts (the report reads records only).
 */
import { HYPOTHESIS_STATISTICS, refsOf, SIZE_SELECTORS, type Hypothesis, type HypothesisKind, type MethodRef } from '../../src/results/hypotheses.js';
import { unknownNameMessage } from '../../src/model/config.js';
import { optionsLabel, type TrialConfig } from '../../src/results/results.js';

/** Fields each kind needs (besides id, statement, kind, statistic, method). */
const REQUIRED: Readonly<Record<HypothesisKind, readonly (keyof Hypothesis)[]>> = {
  'above-chance': ['task', 'at'],
  'above-control': ['task', 'at'],
  'gap-shrinks': ['baseline', 'task', 'from', 'to'],
  'effect-shrinks': ['task', 'from', 'to', 'option', 'values', 'effect'],
  'rank-correlation': ['baseline', 'tasks'],
};
/** Statistics each kind allows: a rank correlation over groups has no per-seed Student-t interval. */
const STATISTICS: Readonly<Record<HypothesisKind, readonly string[]>> = {
  'above-chance': HYPOTHESIS_STATISTICS,
  'above-control': HYPOTHESIS_STATISTICS,
  'gap-shrinks': HYPOTHESIS_STATISTICS,
  'effect-shrinks': HYPOTHESIS_STATISTICS,
  'rank-correlation': ['bootstrap'],
};

/** Every problem with the hypotheses of a plan: missing fields per kind, duplicates, references to nothing planned. */
export function hypothesisProblems(list: readonly Hypothesis[], trials: readonly { config: TrialConfig }[], presets: readonly string[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  const tasks = [...new Set(trials.map((t) => t.config.task))];
  for (const [index, h] of list.entries()) {
    const at = `hypotheses[${index}] ("${h.id}")`;
    if (seen.has(h.id)) problems.push(`${at}.id: "${h.id}" is used twice: allowed: one hypothesis per id`);
    seen.add(h.id);
    for (const field of REQUIRED[h.kind]) if (h[field] === undefined) problems.push(`${at}: kind "${h.kind}" needs the field "${field}"`);
    if (!STATISTICS[h.kind].includes(h.statistic)) problems.push(`${at}.statistic = "${h.statistic}": allowed for kind "${h.kind}": ${STATISTICS[h.kind].join(', ')}`);
    if (h.kind === 'effect-shrinks' && h.effect === 'difference' && h.values !== undefined && h.values.length !== 2) problems.push(`${at}.values has ${h.values.length} values: allowed with effect "difference": exactly 2`);
    problems.push(...trainProblems(h, at, trials));
    const sizeFields = h.axis === 'train' ? [['at', h.at]] as const : [['at', h.at], ['from', h.from], ['to', h.to]] as const;
    for (const [field, value] of sizeFields) {
      if (value !== undefined && !(SIZE_SELECTORS as readonly string[]).includes(value) && !presets.includes(value)) problems.push(`${at}.${field}: ${unknownNameMessage('size', value, [...presets, ...SIZE_SELECTORS])}`);
    }
    if (h.from !== undefined && h.from === h.to) problems.push(`${at}: from and to are both "${h.from}": allowed: two different sizes`);
    for (const task of refsOf(h).tasks) {
      if (!tasks.includes(task)) problems.push(`${at}: task ${unknownNameMessage('task', task, tasks)} (tasks of the plan)`);
    }
    const refs: [string, MethodRef | undefined, Record<string, unknown>[]][] = [
      ['method', h.method, h.kind === 'effect-shrinks' && h.option !== undefined ? (h.values ?? []).map((v) => ({ [h.option as string]: v })) : [{}]],
      ['baseline', h.baseline, [{}]],
    ];
    for (const [field, ref, extras] of refs) {
      if (ref === undefined) continue;
      for (const task of refsOf(h).tasks) {
        for (const extra of extras) {
          const wanted = { ...(ref.options ?? {}), ...extra };
          const optionSets = new Set(
            trials
              .filter((t) => t.config.method === ref.method && t.config.task === task && (h.train === undefined || t.config.data.train === h.train) && Object.entries(wanted).every(([name, value]) => t.config.options[name] === value))
              .map((t) => optionsLabel(t.config.options)),
          );
          const picks = `${ref.method} ${JSON.stringify(wanted)} on ${task}`;
          if (optionSets.size === 0) problems.push(`${at}.${field}: ${picks} picks no planned trial: allowed: a method and options the sweeps run`);
          else if (optionSets.size > 1) problems.push(`${at}.${field}: ${picks} picks ${optionSets.size} option sets (${[...optionSets].join(' | ')}): name the options that tell them apart`);
        }
      }
    }
  }
  return problems;
}

/** Kinds that compare two levels of an axis (the others read one level). */
const COMPARES_LEVELS: readonly HypothesisKind[] = ['gap-shrinks', 'effect-shrinks'];

/**
 * The training-set size fields: `train` must be a size the plan runs the compared methods on; when the
 * plan runs them on several, the hypothesis must pick one (`train`) or compare them (axis "train", whose
 * `from` and `to` are planned sizes or the selectors, on the preset `at`).
 */
function trainProblems(h: Hypothesis, at: string, trials: readonly { config: TrialConfig }[]): string[] {
  const problems: string[] = [];
  const { methods, tasks } = refsOf(h);
  const compared = trials.filter((t) => methods.includes(t.config.method) && tasks.includes(t.config.task));
  const sizesOf = (list: readonly { config: TrialConfig }[]): number[] => [...new Set(list.map((t) => t.config.data.train))].sort((a, b) => a - b);
  const sizes = sizesOf(compared);
  if (h.train !== undefined && !sizes.includes(h.train)) problems.push(`${at}.train = ${h.train}: allowed: a training-set size the plan runs ${methods.join(' and ')} on (${sizes.join(', ') || 'none'})`);
  if (h.axis === 'train') {
    if (!COMPARES_LEVELS.includes(h.kind)) problems.push(`${at}.axis = "train": allowed only for kinds ${COMPARES_LEVELS.join(', ')}`);
    if (h.train !== undefined) problems.push(`${at}.train = ${h.train}: not allowed with axis "train", which compares training-set sizes (from, to)`);
    if (h.at === undefined) problems.push(`${at}: axis "train" needs the field "at" (the preset whose training-set sizes are compared)`);
    // The baseline-clears-chance rule picks among frozen models, not training-set sizes.
    if (h.at === 'smallest-where-baseline-clears-chance') problems.push(`${at}.at = "${h.at}": allowed with axis "train": a preset of the plan, "smallest" or "largest"`);
    // from and to must be sizes of the preset `at` when it is named (a selector picks it at report time).
    const onAt = h.at !== undefined && !(SIZE_SELECTORS as readonly string[]).includes(h.at) ? sizesOf(compared.filter((t) => t.config.preset === h.at)) : sizes;
    for (const [field, value] of [['from', h.from], ['to', h.to]] as const) {
      if (value !== undefined && !(SIZE_SELECTORS as readonly string[]).includes(value) && !onAt.map(String).includes(value)) {
        problems.push(`${at}.${field} = "${value}": allowed with axis "train": a training-set size the plan runs on ${h.at ?? 'the preset at'} (${onAt.join(', ') || 'none'}) or ${SIZE_SELECTORS.join(', ')}`);
      }
    }
  } else if (h.train === undefined && sizes.length > 1) {
    problems.push(`${at}: the plan trains ${methods.join(' and ')} on ${sizes.join(', ')} examples; allowed: "train" (one of them) or "axis": "train" (compare them)`);
  }
  return problems;
}
