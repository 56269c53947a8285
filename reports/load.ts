/**
 * Reads a results folder (results/<experiment>/): results.jsonl, summary.json, run.json and, when
 * present, ensembles.json and bench.json (or a bench.json given with --bench). Every field the report
 * uses is checked; problems are reported together, each naming the file, line, field, value and what is
 * allowed. JSON null in a numeric field (how JSON.stringify writes NaN, e.g. the mean of a group whose
 * trials all diverged) reads back as NaN.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { BENCH_COLUMNS, benchReportProblems, type BenchReport } from '../src/bench.js';
import { FIGURE_KINDS, frozenModelName, optionsLabel, READABLE_RESULTS_FORMATS, RESULT_FILES, type CapabilityGates, type EnsembleRecord, type GateScore, type RunManifest, type SummaryRow, type TrialRecord } from '../src/results.js';
import { Checker, isPlainObject, showValue, throwProblems } from './check.js';

/** Where `peftscale bench` writes bench.json unless told otherwise (experiments/bench.ts DEFAULT_BENCH_DIR). */
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
}

export interface LoadOptions {
  /** A bench.json to read instead of RESULTS/bench.json (an error if it is missing). */
  benchFile?: string;
}

const TRIAL_STATUSES = ['finished', 'diverged'] as const;

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

/** Checks one line of results.jsonl and returns it with nulls in numeric fields read as NaN. */
export function checkRecord(value: unknown, where: string): TrialRecord {
  const c = new Checker(where, value);
  const format = c.number('format');
  if (c.problems.length === 0 && !READABLE_RESULTS_FORMATS.includes(format)) c.problem('format', format, `${READABLE_RESULTS_FORMATS.join(' or ')} (the results formats this report reads)`);
  const sweeps = c.array('sweeps');
  sweeps.forEach((sweep, i) => {
    if (typeof sweep !== 'string') c.problem(`sweeps[${i}]`, sweep, 'a sweep name (string)');
  });
  const status = c.oneOf('status', TRIAL_STATUSES);
  const divergedAt = c.get('divergedAt');
  const record: TrialRecord = {
    format,
    key: c.string('key'),
    sweeps: sweeps.filter((s): s is string => typeof s === 'string'),
    config: {
      preset: c.string('config.preset'),
      profile: c.string('config.profile'),
      pretrainSeed: c.number('config.pretrainSeed'),
      modelId: c.string('config.modelId'),
      method: c.string('config.method'),
      options: c.object('config.options') as TrialRecord['config']['options'],
      task: c.string('config.task'),
      data: c.object('config.data') as TrialRecord['config']['data'],
      seed: c.number('config.seed'),
      ...(c.get('config.control') === true ? { control: true as const } : {}),
      training: {
        optimizer: c.string('config.training.optimizer'),
        learningRate: c.number('config.training.learningRate'),
        steps: c.number('config.training.steps'),
        batchSize: c.number('config.training.batchSize'),
        evalEvery: c.number('config.training.evalEvery'),
        weightDecay: c.number('config.training.weightDecay'),
      },
      // Tasks from files and checkpoint folders (absent for generated tasks and ps-* presets).
      ...(c.get('config.dataset') === undefined ? {} : { dataset: { recipe: c.string('config.dataset.recipe'), fingerprint: c.string('config.dataset.fingerprint') } }),
      ...(c.get('config.checkpoint') === undefined ? {} : { checkpoint: { fingerprint: c.string('config.checkpoint.fingerprint') } }),
    },
    status,
    divergedAt: divergedAt === null || divergedAt === undefined ? null : { step: c.number('divergedAt.step'), loss: c.number('divergedAt.loss', true) },
    parameters: {
      trainable: c.number('parameters.trainable'),
      base: c.number('parameters.base'),
      total: c.number('parameters.total'),
      percent: c.number('parameters.percent'),
      adapterBytes: c.number('parameters.adapterBytes'),
    },
    dev: {
      accuracy: c.number('dev.accuracy', true),
      examples: c.number('dev.examples'),
      majority: c.number('dev.majority', true),
      bestStep: c.number('dev.bestStep'),
    },
    test: { accuracy: c.number('test.accuracy', true), examples: c.number('test.examples'), majority: c.number('test.majority', true) },
    ...finalScores(c, format),
    lossCurve: c.pairs('lossCurve'),
    devCurve: c.pairs('devCurve'),
    timing: {
      trainSeconds: c.number('timing.trainSeconds', true),
      evalSeconds: c.number('timing.evalSeconds', true),
      stepSecondsMedian: c.number('timing.stepSecondsMedian', true),
      tokensPerSecond: c.number('timing.tokensPerSecond', true),
      tokensPerRow: c.number('timing.tokensPerRow', true),
    },
    memory: { peakTensorBytes: c.number('memory.peakTensorBytes', true), peakRssBytes: c.number('memory.peakRssBytes', true) },
    environment: checkEnvironment(c, 'environment'),
    finishedAt: c.string('finishedAt'),
    ...(c.get('inputs') === undefined
      ? {}
      : {
          inputs: {
            tokenizer: c.string('inputs.tokenizer'),
            maxInputTokens: c.number('inputs.maxInputTokens'),
            truncated: { train: c.number('inputs.truncated.train'), dev: c.number('inputs.truncated.dev'), test: c.number('inputs.truncated.test') },
          },
        }),
    ...(c.get('dataset') === undefined ? {} : { dataset: { recipe: c.string('dataset.recipe'), files: c.array('dataset.files') as NonNullable<TrialRecord['dataset']>['files'], splits: c.strings('dataset.splits') } }),
  };
  if (status === 'diverged' && record.divergedAt === null) c.problem('divergedAt', divergedAt, 'an object {step, loss} when status is "diverged"');
  c.throwIfProblems();
  return record;
}

/**
 * The last step's scores and the gain-over-init flag. Format 1 records lack both: the flag then follows
 * from the best-dev step (0 means the init was kept) for methods that train, and the scores are unknown.
 */
function finalScores(c: Checker, format: number): Pick<TrialRecord, 'final' | 'gainOverInit'> {
  if (format < 2) {
    const trains = c.get('parameters.trainable') !== 0 && c.get('config.training.steps') !== 0;
    const bestStep = c.get('dev.bestStep');
    return { final: null, gainOverInit: trains && typeof bestStep === 'number' ? bestStep > 0 : null };
  }
  const final = c.get('final');
  const gain = c.get('gainOverInit');
  if (gain !== null && typeof gain !== 'boolean') c.problem('gainOverInit', gain, 'true, false, or null (nothing trains)');
  return {
    final: final === null ? null : { step: c.number('final.step'), dev: c.number('final.dev', true), test: c.number('final.test', true) },
    gainOverInit: typeof gain === 'boolean' ? gain : null,
  };
}

function checkEnvironment(c: Checker, at: string): TrialRecord['environment'] {
  return {
    backend: c.string(`${at}.backend`),
    versions: c.object(`${at}.versions`) as Record<string, string>,
    gitHash: c.string(`${at}.gitHash`),
    gitDirty: c.boolean(`${at}.gitDirty`),
    machine: {
      cpu: c.string(`${at}.machine.cpu`),
      cores: c.number(`${at}.machine.cores`),
      memoryBytes: c.number(`${at}.machine.memoryBytes`),
      platform: c.string(`${at}.machine.platform`),
      node: c.string(`${at}.machine.node`),
    },
  };
}

/** Checks one summary.json row (nulls in numeric fields read as NaN). */
export function checkSummaryRow(value: unknown, where: string): SummaryRow {
  const c = new Checker(where, value);
  const ci = c.array('ci95');
  if (ci.length !== 2 || !ci.every((v) => typeof v === 'number' || v === null)) c.problem('ci95', ci, 'a [low, high] pair of numbers (or nulls)');
  const gap = c.get('gapToFull');
  const row: SummaryRow = {
    preset: c.string('preset'),
    baseParameters: c.number('baseParameters'),
    method: c.string('method'),
    optionsLabel: c.string('optionsLabel'),
    options: c.object('options') as SummaryRow['options'],
    task: c.string('task'),
    trainable: c.number('trainable'),
    percent: c.number('percent'),
    n: c.number('n'),
    diverged: c.number('diverged'),
    // Absent in summaries written before format 2: unknown, not zero.
    noGain: c.get('noGain') === undefined || c.get('noGain') === null ? null : c.number('noGain'),
    breakouts: c.get('breakouts') === undefined ? NaN : c.number('breakouts'),
    finalMean: c.get('finalMean') === undefined ? NaN : c.number('finalMean', true),
    chance: c.get('chance') === undefined ? NaN : c.number('chance', true),
    recovered: c.get('recovered') === undefined || c.get('recovered') === null ? null : c.number('recovered', true),
    mean: c.number('mean', true),
    std: c.number('std', true),
    ci95: [typeof ci[0] === 'number' ? ci[0] : NaN, typeof ci[1] === 'number' ? ci[1] : NaN],
    gapToFull: gap === null ? null : c.number('gapToFull'),
    stepSeconds: c.number('stepSeconds', true),
    tokensPerSecond: c.number('tokensPerSecond', true),
    peakTensorBytes: c.number('peakTensorBytes', true),
  };
  c.throwIfProblems();
  return row;
}

function checkGateScores(c: Checker, at: string): Record<string, GateScore> {
  const entries = Object.keys(c.object(at)).map((name): [string, GateScore] => [
    name,
    { model: c.number(`${at}.${name}.model`, true), control: c.number(`${at}.${name}.control`, true), chance: c.number(`${at}.${name}.chance`, true), n: c.number(`${at}.${name}.n`) },
  ]);
  return Object.fromEntries(entries);
}

/** A pretrained model's capability gates (src/results.ts CapabilityGates). */
function checkGates(c: Checker, at: string): CapabilityGates {
  const split = (path: string) => ({ deciding: c.number(`${path}.deciding`, true), spelling: c.number(`${path}.spelling`, true) });
  const labelLoss = Object.fromEntries(Object.keys(c.object(`${at}.labelLoss`)).map((task) => [task, { model: split(`${at}.labelLoss.${task}.model`), control: split(`${at}.labelLoss.${task}.control`) }]));
  return {
    zeroShot: checkGateScores(c, `${at}.zeroShot`),
    labelLoss,
    probes: checkGateScores(c, `${at}.probes`),
    pass: c.boolean(`${at}.pass`),
    rule: c.string(`${at}.rule`),
    reasons: c.strings(`${at}.reasons`),
    // Per-task verdicts: absent in gates written before they existed.
    ...(c.get(`${at}.tasks`) === undefined
      ? {}
      : {
          tasks: Object.fromEntries(
            Object.keys(c.object(`${at}.tasks`)).map((task) => [task, { pass: c.boolean(`${at}.tasks.${task}.pass`), gate: c.string(`${at}.tasks.${task}.gate`), reasons: c.strings(`${at}.tasks.${task}.reasons`) }]),
          ),
        }),
  };
}

/** Checks run.json. */
export function checkManifest(value: unknown, where: string): RunManifest {
  const c = new Checker(where, value);
  const format = c.number('format');
  if (c.problems.length === 0 && !READABLE_RESULTS_FORMATS.includes(format)) c.problem('format', format, `${READABLE_RESULTS_FORMATS.join(' or ')} (the results formats this report reads)`);
  const sweeps = c.array('sweeps').map((sweep, i) => {
    const s = new Checker(`${where}: sweeps[${i}]`, sweep);
    const figure = s.get('figure');
    const info = {
      name: s.string('name'),
      figure: figure === null ? null : s.oneOf('figure', FIGURE_KINDS),
      description: typeof s.get('description') === 'string' ? s.string('description') : '',
    };
    c.problems.push(...s.problems);
    return info;
  });
  const pretrained = c.array('pretrained').map((entry, i) => {
    const p = new Checker(`${where}: pretrained[${i}]`, entry);
    const info = {
      preset: p.string('preset'),
      parameters: p.number('parameters'),
      steps: p.number('steps'),
      heldOutLoss: p.number('heldOutLoss', true),
      controlHeldOutLoss: p.number('controlHeldOutLoss', true),
      trainingSeconds: p.number('trainingSeconds', true),
      // Runs made before gates existed have none: the report says "not measured".
      ...(p.get('gates') === undefined || p.get('gates') === null ? {} : { gates: checkGates(p, 'gates') }),
    };
    c.problems.push(...p.problems);
    return info;
  });
  const manifest: RunManifest = {
    format,
    experiment: c.string('experiment'),
    description: typeof c.get('description') === 'string' ? c.string('description') : '',
    file: typeof c.get('file') === 'string' ? c.string('file') : '',
    profile: c.string('profile'),
    sweeps,
    startedAt: c.string('startedAt'),
    finishedAt: c.string('finishedAt'),
    wallSeconds: c.number('wallSeconds', true),
    trials: {
      total: c.number('trials.total'),
      ran: c.number('trials.ran'),
      cached: c.number('trials.cached'),
      diverged: c.number('trials.diverged'),
      failed: c.number('trials.failed'),
    },
    environment: checkEnvironment(c, 'environment'),
    pretrained,
    ...(c.get('checkpoints') === undefined ? {} : { checkpoints: c.array('checkpoints') as NonNullable<RunManifest['checkpoints']> }),
    ...(c.get('datasets') === undefined ? {} : { datasets: c.array('datasets') as NonNullable<RunManifest['datasets']> }),
  };
  c.throwIfProblems();
  return manifest;
}

/**
 * Checks bench.json against its declared format (src/bench.ts): benchReportProblems covers the top level
 * and every row column; the Checker here covers what the report also shows (settings, machine, models,
 * mixed serving, the reference step) and that each declared column keeps the unit the report converts
 * from. Every problem comes in one error, each line naming the file.
 */
export function checkBench(value: unknown, where: string): BenchReport {
  const problems = benchReportProblems(value).map((problem) => `${where}: ${problem}`);
  if (!isPlainObject(value)) throw new Error(problems.join('\n'));
  const c = new Checker(where, value);
  // Parents benchReportProblems already found to be of the wrong kind are not walked again.
  if (isPlainObject(value.environment)) {
    c.object('environment.versions');
    c.boolean('environment.gitDirty');
    if (isPlainObject(value.environment.machine)) {
      for (const key of ['cpu', 'platform', 'node']) c.string(`environment.machine.${key}`);
      for (const key of ['cores', 'memoryBytes']) c.number(`environment.machine.${key}`);
    }
  }
  if (isPlainObject(value.settings)) {
    c.strings('settings.presets');
    c.strings('settings.methods');
    const options = c.object('settings.methodOptions');
    for (const [method, label] of Object.entries(options)) if (typeof label !== 'string') c.problem(`settings.methodOptions.${method}`, label, 'a string (the options label)');
    for (const key of ['weights', 'batchText', 'optimizer']) c.string(`settings.${key}`);
    for (const key of ['batchSize', 'sequenceLength', 'warmup', 'iterations', 'seed']) c.number(`settings.${key}`);
  }
  const entries = (key: string): unknown[] => (Array.isArray(value[key]) ? (value[key] as unknown[]) : []);
  entries('models').forEach((model, i) => {
    const m = new Checker(`${where}: models[${i}]`, model);
    m.string('preset');
    m.number('parameters');
    m.oneOf('weights', ['pretrained', 'initialised']);
    m.stringOrNull('source');
    c.problems.push(...m.problems);
  });
  const declared = new Map(BENCH_COLUMNS.map((column) => [column.key, column]));
  entries('columns').forEach((column, i) => {
    const k = new Checker(`${where}: columns[${i}]`, column);
    const key = k.string('key');
    k.oneOf('type', ['string', 'number']);
    k.boolean('nullable');
    const unit = k.string('unit');
    k.string('description');
    const expected = declared.get(key);
    if (expected !== undefined && k.problems.length === 0 && unit !== expected.unit) k.problem('unit', unit, `"${expected.unit}" (the unit src/bench.ts declares for ${key}; the report converts from it)`);
    c.problems.push(...k.problems);
  });
  entries('mixedServing').forEach((row, i) => {
    const m = new Checker(`${where}: mixedServing[${i}]`, row);
    m.string('preset');
    for (const key of ['tasks', 'promptLength', 'batchSize', 'sequenceLength', 'mixedPasses', 'separatePasses', 'mixedMedianMs', 'separateMedianMs', 'mixedRowsPerSecond', 'separateRowsPerSecond', 'speedup', 'maxAbsDifference']) {
      m.number(key);
    }
    c.problems.push(...m.problems);
  });
  if (isPlainObject(value.reference)) {
    const r = new Checker(`${where}: reference`, value.reference);
    for (const key of ['method', 'options']) r.string(key);
    for (const key of ['dModel', 'nLayers', 'nHeads', 'dFF', 'vocabSize', 'batchSize', 'sequenceLength', 'warmup', 'steps', 'medianMs', 'p99Ms', 'meanMs', 'tokensPerSecond', 'leakedTensors', 'peakTensorBytes', 'peakRssBytes']) {
      r.number(key);
    }
    r.number('lastLoss', true); // a step whose loss was NaN is still a timed step
    r.numbers('samplesMs');
    c.problems.push(...r.problems);
  }
  throwProblems([...problems, ...c.problems]);
  // Every field BenchReport declares was checked above or by benchReportProblems.
  return value as unknown as BenchReport;
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

/** The summary key of a trial or a summary row: preset, method, options, task. */
export function groupKey(preset: string, method: string, options: string, task: string): string {
  return JSON.stringify([preset, method, options, task]);
}

/**
 * summary.json must describe results.jsonl: every group of trials has a row whose n (finished seeds)
 * and diverged count match. A stale summary is an error, not a silently wrong figure.
 */
export function checkSummaryMatchesRecords(records: readonly TrialRecord[], summary: readonly SummaryRow[]): void {
  const groups = new Map<string, { seeds: Set<number>; diverged: number }>();
  for (const r of records) {
    const key = groupKey(frozenModelName(r.config), r.config.method, optionsLabel(r.config.options), r.config.task);
    const group = groups.get(key) ?? { seeds: new Set<number>(), diverged: 0 };
    if (r.status === 'diverged') group.diverged += 1;
    else group.seeds.add(r.config.seed);
    groups.set(key, group);
  }
  const rows = new Map(summary.map((row) => [groupKey(row.preset, row.method, row.optionsLabel, row.task), row]));
  const problems: string[] = [];
  for (const [key, group] of groups) {
    const row = rows.get(key);
    const [preset, method, options, task] = JSON.parse(key) as string[];
    const name = `${preset} ${method} (${options}) on ${task}`;
    if (row === undefined) problems.push(`${RESULT_FILES.summary}: no row for ${name}, which ${RESULT_FILES.records} has: the summary is out of date`);
    else if (row.n !== group.seeds.size || row.diverged !== group.diverged)
      problems.push(`${RESULT_FILES.summary}: ${name}: n = ${row.n}, diverged = ${row.diverged}; ${RESULT_FILES.records} has ${group.seeds.size} finished seeds and ${group.diverged} diverged: the summary is out of date`);
  }
  throwProblems(problems);
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
  const summary = checkAll(summaryValue, (row, i) => checkSummaryRow(row, `${RESULT_FILES.summary} row ${i}`));
  checkSummaryMatchesRecords(records, summary);
  const ensembles = ensemblesText === null ? null : parseEnsembles(ensemblesText, records);
  const bench = await loadBench(resolved, options.benchFile);
  return { dir: resolved, records, summary, manifest, ensembles, bench };
}
