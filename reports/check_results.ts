/**
 * Checks of the three files every results folder holds, field by field: a line of results.jsonl, a row
 * of summary.json and run.json (with each frozen model's capability gates). Each problem names the file,
 * line, field, value and what is allowed; JSON null in a numeric field (how JSON.stringify writes NaN)
 * reads back as NaN.
 */
import { HYPOTHESIS_KINDS, HYPOTHESIS_STATISTICS, hypothesesHash, type HypothesesRecord, type Hypothesis } from '../src/results/hypotheses.js';
import { FIGURE_KINDS, READABLE_RESULTS_FORMATS, type CapabilityGates, type GateScore, type MethodCardRecord, type RunManifest, type SummaryRow, type TrialRecord } from '../src/results/results.js';
import { Checker } from './check.js';

const TRIAL_STATUSES = ['finished', 'diverged'] as const;

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
    // Absent in summaries written before training-set sizes could vary (load.ts fills it from the records).
    train: c.get('train') === undefined ? NaN : c.number('train'),
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

/** A pretrained model's capability gates (src/results/results_run.ts CapabilityGates). */
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

/** run.json's methods: each card's name, role, display name and colour, learnedPrompt and published count. */
function checkCards(c: Checker, where: string): MethodCardRecord[] {
  return c.array('methods').map((entry, i) => {
    const m = new Checker(`${where}: methods[${i}]`, entry);
    const published = m.get('publishedGpt2');
    const card: MethodCardRecord = {
      name: m.string('name'),
      role: m.string('role'),
      display: { name: m.string('display.name'), colour: m.string('display.colour') },
      learnedPrompt: m.boolean('learnedPrompt'),
      ...(published === undefined ? {} : { publishedGpt2: { setting: m.string('publishedGpt2.setting'), trainable: m.number('publishedGpt2.trainable') } }),
    };
    if (!/^#[0-9a-f]{6}$/.test(card.display.colour) && typeof m.get('display.colour') === 'string') m.problem('display.colour', card.display.colour, 'a colour as #rrggbb (lower case)');
    c.problems.push(...m.problems);
    return card;
  });
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
    ...(c.get('hypotheses') === undefined ? {} : { hypotheses: checkHypotheses(c) }),
    // Runs written before run.json recorded the methods' cards have none: the caller supplies them.
    ...(c.get('methods') === undefined ? {} : { methods: checkCards(c, where) }),
  };
  c.throwIfProblems();
  return manifest;
}

/** run.json's hypotheses record: its fields, each hypothesis's kind and statistic, and a list that still matches its hash. */
function checkHypotheses(c: Checker): HypothesesRecord {
  const list = c.array('hypotheses.list').map((item, i) => {
    const h = new Checker(`${c.where}: hypotheses.list[${i}]`, item);
    h.string('id');
    h.string('statement');
    h.oneOf('kind', HYPOTHESIS_KINDS);
    h.oneOf('statistic', HYPOTHESIS_STATISTICS);
    h.string('method.method');
    c.problems.push(...h.problems);
    return item as Hypothesis;
  });
  const hash = c.string('hypotheses.hash');
  if (c.problems.length === 0 && hypothesesHash(list) !== hash) c.problem('hypotheses.hash', hash, 'the sha256 of the recorded list (the list was edited after it was recorded)');
  const git = c.get('hypotheses.git') as HypothesesRecord['git'] | undefined;
  return { hash, statedAt: c.string('hypotheses.statedAt'), git: git ?? { commit: null, fileClean: null }, list };
}
