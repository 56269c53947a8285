/**
 * Reads a results folder (results/<experiment>/): results.jsonl, summary.json, run.json and, when
 * present, ensembles.json and bench.json (or a bench.json given with --bench). Every field the report
 * uses is checked (check_results.ts, check_bench.ts; ensembles here); problems are reported together,
 * each naming the file, line, field, value and what is allowed. JSON null in a numeric field (how
 * JSON.stringify writes NaN, e.g. the mean of a group whose trials all diverged) reads back as NaN.
 */
import type { Hypothesis } from '../src/results/hypotheses.js';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { BenchReport } from '../src/results/bench.js';
import { frozenModelName, optionsLabel, RESULT_FILES, summaryKey, type EnsembleRecord, type MethodCardRecord, type RunManifest, type SummaryRow, type TrialRecord } from '../src/results/results.js';
import { Checker, showValue, throwProblems } from './check.js';
import { checkBench } from './check_bench.js';
import { checkManifest, checkRecord, checkSummaryRow } from './check_results.js';
import { MethodCards } from './method_cards.js';

/** Where `peftscale bench` writes bench.json unless told otherwise (experiments/bench/bench_run.ts DEFAULT_BENCH_DIR). */
export const DEFAULT_BENCH_FILE = path.join('results', 'bench', RESULT_FILES.bench);

/** A checked bench.json and where it came from. */
export interface LoadedBench {
  /** The file it was read from, resolved. */
  file: string;
  /** "flag": given with --bench; "results": found in the results folder. */
  origin: 'flag' | 'results';
  report: BenchReport;
}

export interface LoadedResults {
  /** The folder, resolved. */
  dir: string;
  records: TrialRecord[];
  summary: SummaryRow[];
  manifest: RunManifest;
  /** ensembles.json; null when the run did not ensemble prompts (the file is absent). */
  ensembles: EnsembleRecord[] | null;
  bench: LoadedBench | null;
  /** Every hypothesis the Findings section evaluates (set by the report; figures such as the margin one draw from it). */
  hypotheses?: Hypothesis[];
  /** The methods' cards: run.json's, or for a folder written before run.json recorded them, LoadOptions.cardsIfMissing's. */
  methods: MethodCards;
}

export interface LoadOptions {
  /** A bench.json to read instead of RESULTS/bench.json (an error if it is missing). */
  benchFile?: string;
  /**
   * The cards to draw with when run.json has none (folders written before it recorded them): called only
   * then. `peftscale report` supplies the cards of today's method registry.
   */
  cardsIfMissing?: () => Promise<{ cards: MethodCardRecord[]; source: string }>;
}

async function readText(dir: string, file: string, required: boolean): Promise<string | null> {
  try {
    return await readFile(path.join(dir, file), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !required) return null;
    const needed = [RESULT_FILES.records, RESULT_FILES.summary, RESULT_FILES.manifest].join(', ');
    throw new Error(`cannot read ${path.join(dir, file)}: ${(error as Error).message}. A results folder holds ${needed} (and optionally ${RESULT_FILES.ensembles} and ${RESULT_FILES.bench}), as written by \`peftscale experiment\``);
  }
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${where}: not valid JSON: ${(error as Error).message}`);
  }
}

/** Checks every item, gathering each one's problems into a single error. */
function checkAll<T, U>(items: readonly T[], check: (item: T, i: number) => U): U[] {
  const checked: U[] = [];
  const problems: string[] = [];
  items.forEach((item, i) => {
    try {
      checked.push(check(item, i));
    } catch (error) {
      problems.push((error as Error).message);
    }
  });
  throwProblems(problems);
  return checked;
}
/** Checks one entry of ensembles.json (Lester et al. Table 3: N prompts of one configuration, voting). */
export function checkEnsemble(value: unknown, where: string): EnsembleRecord {
  const c = new Checker(where, value);
  const accuracy = (field: string): number => {
    const v = c.number(field);
    if (Number.isFinite(v) && (v < 0 || v > 1)) c.problem(field, v, 'an accuracy from 0 to 1');
    return v;
  };
  const count = (field: string, low: number): number => {
    const v = c.number(field);
    if (Number.isFinite(v) && !(Number.isInteger(v) && v >= low)) c.problem(field, v, `an integer ≥ ${low}`);
    return v;
  };
  const record: EnsembleRecord = {
    preset: c.string('preset'),
    baseParameters: count('baseParameters', 1),
    method: c.string('method'),
    optionsLabel: c.string('optionsLabel'),
    task: c.string('task'),
    keys: c.strings('keys'),
    seeds: c.numbers('seeds'),
    perPrompt: c.numbers('perPrompt'),
    average: accuracy('average'),
    best: accuracy('best'),
    ensemble: accuracy('ensemble'),
    examples: count('examples', 1),
    tiedVotes: count('tiedVotes', 0),
  };
  record.perPrompt.forEach((v, i) => {
    if (v < 0 || v > 1) c.problem(`perPrompt[${i}]`, v, 'an accuracy from 0 to 1');
  });
  const perPrompt = c.get('perPrompt');
  const prompts = Array.isArray(perPrompt) ? perPrompt.length : 0;
  if (Array.isArray(perPrompt) && prompts < 2) c.problem('perPrompt', perPrompt, 'two or more accuracies (an ensemble votes over two or more prompts)');
  for (const field of ['keys', 'seeds'] as const) {
    const list = c.get(field);
    if (Array.isArray(list) && Array.isArray(perPrompt) && list.length !== prompts) c.problem(field, list, `${prompts} entries, one per prompt (perPrompt has ${prompts})`);
  }
  if (c.problems.length === 0) {
    // Derived fields must agree with perPrompt: a hand-edited or truncated file is caught here.
    const mean = record.perPrompt.reduce((a, b) => a + b, 0) / prompts;
    if (Math.abs(record.average - mean) > 1e-9) c.problem('average', record.average, `the mean of perPrompt (${mean})`);
    const best = Math.max(...record.perPrompt);
    if (Math.abs(record.best - best) > 1e-9) c.problem('best', record.best, `the largest of perPrompt (${best})`);
    if (record.tiedVotes > record.examples) c.problem('tiedVotes', record.tiedVotes, `at most examples (${record.examples})`);
  }
  c.throwIfProblems();
  return record;
}

/** Parses ensembles.json: an array of ensembles, each naming trials that results.jsonl holds. */
export function parseEnsembles(text: string, records: readonly TrialRecord[], file = RESULT_FILES.ensembles): EnsembleRecord[] {
  const value = parseJson(text, file);
  if (!Array.isArray(value)) throw new Error(`${file}: (top level) = ${showValue(value)}: allowed: an array of ensembles`);
  const keys = new Set(records.map((r) => r.key));
  const problems: string[] = [];
  const ensembles: EnsembleRecord[] = [];
  value.forEach((entry, i) => {
    const where = `${file} entry ${i}`;
    try {
      const ensemble = checkEnsemble(entry, where);
      ensemble.keys.forEach((key, k) => {
        if (!keys.has(key)) problems.push(`${where}: keys[${k}] = ${showValue(key)}: allowed: the key of a trial in ${RESULT_FILES.records} (the file is from another run)`);
      });
      ensembles.push(ensemble);
    } catch (error) {
      problems.push((error as Error).message);
    }
  });
  throwProblems(problems);
  return ensembles;
}

/** bench.json: the file given with --bench (it must exist), else the results folder's when present. */
async function loadBench(dir: string, benchFile: string | undefined): Promise<LoadedBench | null> {
  if (benchFile !== undefined) {
    const file = path.resolve(benchFile);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
      throw new Error(`--bench ${benchFile}: cannot read ${file}: ${reason}. Give the bench.json \`peftscale bench\` wrote (by default ${DEFAULT_BENCH_FILE})`);
    }
    return { file, origin: 'flag', report: checkBench(parseJson(text, benchFile), benchFile) };
  }
  const text = await readText(dir, RESULT_FILES.bench, false);
  if (text === null) return null;
  const file = path.join(dir, RESULT_FILES.bench);
  return { file, origin: 'results', report: checkBench(parseJson(text, file), file) };
}

/** Parses results.jsonl text (blank lines are skipped). */
export function parseRecords(text: string, file = RESULT_FILES.records): TrialRecord[] {
  const lines = text
    .split('\n')
    .map((line, i) => ({ line, where: `${file} line ${i + 1}` }))
    .filter(({ line }) => line.trim() !== '');
  return checkAll(lines, ({ line, where }) => checkRecord(parseJson(line, where), where));
}

/** Every sweep a record names must be one run.json describes. */
function checkSweepNames(records: readonly TrialRecord[], manifest: RunManifest, file: string): void {
  const known = manifest.sweeps.map((s) => s.name);
  const problems: string[] = [];
  records.forEach((record) => {
    for (const sweep of record.sweeps) {
      if (!known.includes(sweep)) problems.push(`${file}: trial ${record.key}: sweeps contains "${sweep}": allowed: the sweeps of ${RESULT_FILES.manifest} (${known.join(', ')})`);
    }
  });
  throwProblems(problems);
}

/**
 * summary.json must describe results.jsonl: every group of trials has a row whose n (finished seeds)
 * and diverged count match. A stale summary is an error, not a silently wrong figure.
 */
export function checkSummaryMatchesRecords(records: readonly TrialRecord[], summary: readonly SummaryRow[]): void {
  const groups = new Map<string, { seeds: Set<number>; diverged: number }>();
  for (const r of records) {
    const key = summaryKey(frozenModelName(r.config), r.config.method, optionsLabel(r.config.options), r.config.task, r.config.data.train);
    const group = groups.get(key) ?? { seeds: new Set<number>(), diverged: 0 };
    if (r.status === 'diverged') group.diverged += 1;
    else group.seeds.add(r.config.seed);
    groups.set(key, group);
  }
  const rows = new Map(summary.map((row) => [summaryKey(row.preset, row.method, row.optionsLabel, row.task, row.train), row]));
  const problems: string[] = [];
  for (const [key, group] of groups) {
    const row = rows.get(key);
    const [preset, method, options, task, train] = JSON.parse(key) as string[];
    const name = `${preset} ${method} (${options}) on ${task}, ${train} training examples`;
    if (row === undefined) problems.push(`${RESULT_FILES.summary}: no row for ${name}, which ${RESULT_FILES.records} has: the summary is out of date`);
    else if (row.n !== group.seeds.size || row.diverged !== group.diverged)
      problems.push(`${RESULT_FILES.summary}: ${name}: n = ${row.n}, diverged = ${row.diverged}; ${RESULT_FILES.records} has ${group.seeds.size} finished seeds and ${group.diverged} diverged: the summary is out of date`);
  }
  throwProblems(problems);
}

/**
 * A summary written before training-set sizes could vary has no `train`: every trial then had the same
 * size, which the records say. Records of several sizes need a summary that tells them apart.
 */
function withTrainSizes(summary: SummaryRow[], records: readonly TrialRecord[]): SummaryRow[] {
  if (summary.every((row) => Number.isFinite(row.train))) return summary;
  const sizes = [...new Set(records.map((r) => r.config.data.train))];
  if (sizes.length !== 1) throw new Error(`${RESULT_FILES.summary}: rows without "train", but ${RESULT_FILES.records} has trials on ${sizes.join(', ')} training examples: the summary is out of date (peftscale collect rewrites it)`);
  return summary.map((row) => (Number.isFinite(row.train) ? row : { ...row, train: sizes[0] }));
}

/** Reads and checks a results folder (and the bench.json of `options.benchFile` when given). */
export async function loadResults(dir: string, options: LoadOptions = {}): Promise<LoadedResults> {
  const resolved = path.resolve(dir);
  const recordsText = (await readText(resolved, RESULT_FILES.records, true)) ?? '';
  const summaryText = (await readText(resolved, RESULT_FILES.summary, true)) ?? '';
  const manifestText = (await readText(resolved, RESULT_FILES.manifest, true)) ?? '';
  const ensemblesText = await readText(resolved, RESULT_FILES.ensembles, false);

  const manifest = checkManifest(parseJson(manifestText, RESULT_FILES.manifest), RESULT_FILES.manifest);
  const records = parseRecords(recordsText);
  if (records.length === 0) throw new Error(`${path.join(resolved, RESULT_FILES.records)}: no trial records: a report needs at least one finished trial`);
  checkSweepNames(records, manifest, RESULT_FILES.records);
  const summaryValue = parseJson(summaryText, RESULT_FILES.summary);
  if (!Array.isArray(summaryValue)) throw new Error(`${RESULT_FILES.summary}: (top level) = ${showValue(summaryValue)}: allowed: an array of summary rows`);
  const summary = withTrainSizes(checkAll(summaryValue, (row, i) => checkSummaryRow(row, `${RESULT_FILES.summary} row ${i}`)), records);
  checkSummaryMatchesRecords(records, summary);
  const ensembles = ensemblesText === null ? null : parseEnsembles(ensemblesText, records);
  const bench = await loadBench(resolved, options.benchFile);
  return { dir: resolved, records, summary, manifest, ensembles, bench, methods: await methodCards(manifest, options) };
}

async function methodCards(manifest: RunManifest, options: LoadOptions): Promise<MethodCards> {
  if (manifest.methods !== undefined) return new MethodCards(manifest.methods, RESULT_FILES.manifest);
  if (options.cardsIfMissing === undefined) {
    throw new Error(`${RESULT_FILES.manifest} has no "methods" (the run was written before run.json recorded the methods' cards) and no fallback was given: draw it with \`peftscale report\`, which supplies today's cards`);
  }
  const { cards, source } = await options.cardsIfMissing();
  return new MethodCards(cards, source);
}
