/**
 * Synthetic results for tests and previews of the report: realistic trial records (3 presets, all 7
 * methods, 2 seeds, 2 tasks, prompt lengths 1/5/20/50/100, 3 initialisations, one diverged trial), the
 * summary computed from them with the real summarize(), and a run manifest that says they are a fixture.
 * Scores follow the shape Lester et al. report (prompt tuning closes the gap to full model tuning with
 * size) plus seeded noise; parameter counts are the methods' real formulas on the real preset shapes.
 * Nothing here is measured.
 *
 * @example
 * const dir = await writeFixtureResults('test-output/fixture-results'); // results.jsonl, summary.json, run.json, ...
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { findPreset } from '../src/config.js';
import { countParameters, isBiasParameter, modelParameterSpecs } from '../src/params.js';
import type { OptionValue } from '../src/peft.js';
import { Random } from '../src/random.js';
import type { LoadedResults } from './load.js';
import { optionsLabel, RESULT_FILES, RESULTS_FORMAT_VERSION, summarize, type RunManifest, type SweepInfo, type TrialEnvironment, type TrialRecord } from '../src/results.js';

export const FIXTURE_PRESETS = ['ps-nano', 'ps-micro', 'ps-mini'] as const;
export const FIXTURE_TASKS = ['colour', 'town'] as const;
export const FIXTURE_SEEDS = [0, 1] as const;
export const FIXTURE_METHODS = ['full', 'prompt-tuning', 'prefix-tuning', 'p-tuning', 'lora', 'bitfit', 'prompt-design'] as const;
export const FIXTURE_LENGTHS = [1, 5, 20, 50, 100] as const;
export const FIXTURE_INITS = ['random-uniform', 'sampled-vocab', 'class-label'] as const;
/** The one diverged trial: p-tuning on ps-micro, task town, seed 1. */
export const FIXTURE_DIVERGED = { preset: 'ps-micro', method: 'p-tuning', task: 'town', seed: 1 } as const;

const SWEEPS: SweepInfo[] = [
  { name: 'scaling', figure: 'scaling', description: 'every method on every preset (fixture)' },
  { name: 'prompt-length', figure: 'prompt-length', description: 'prompt tuning, lengths 1 to 100, class-label init (fixture)' },
  { name: 'init', figure: 'init', description: 'prompt tuning, 20 tokens, three initialisations (fixture)' },
];

const STEPS = 200;
const EVAL_EVERY = 50;
const TEST_EXAMPLES = 200;
const FINISHED_AT = Date.parse('2025-01-15T12:00:00Z');

const ENVIRONMENT: TrialEnvironment = {
  backend: 'wasm',
  versions: { peftscale: '0.1.0', tfjs: '4.22.0', node: 'v20.20.2' },
  gitHash: 'f1x7ure',
  gitDirty: false,
  machine: { cpu: 'fixture CPU (synthetic results)', cores: 2, memoryBytes: 8 * 2 ** 30, platform: 'linux', node: 'v20.20.2' },
};

/** Method options as the runner resolves them (every option filled in). */
function methodOptions(method: string, length = 20, init = 'class-label'): Record<string, OptionValue> {
  switch (method) {
    case 'prompt-tuning':
      return { length, init, 'init-range': 0.5, 'init-text': '' };
    case 'prefix-tuning':
      return { length, projection: 0 };
    case 'p-tuning':
      return { length, encoder: 'mlp', hidden: 0 };
    case 'lora':
      return { rank: 8, alpha: 8, dropout: 0, targets: ['c_attn'] };
    case 'bitfit':
      return { biases: ['all'] };
    case 'prompt-design':
      return { template: 'Answer the question.', shots: 0, 'prompt-tokens': ['65', '110', '115'] };
    default:
      return {};
  }
}

/** Trainable values (Hugging Face PEFT conventions) and saved adapter values of a method on a preset. */
function parameterCounts(method: string, preset: string, options: Record<string, OptionValue>): { trainable: number; saved: number; base: number } {
  const config = findPreset(preset).config;
  const specs = modelParameterSpecs(config);
  const base = countParameters(specs);
  const d = config.dModel;
  const k = typeof options.length === 'number' ? options.length : 0;
  switch (method) {
    case 'prompt-tuning':
      return { trainable: k * d, saved: k * d, base };
    case 'prefix-tuning':
      return { trainable: k * config.nLayers * 2 * d, saved: k * config.nLayers * 2 * d, base };
    case 'p-tuning': {
      const h = d;
      return { trainable: k * d + (d * h + h) + (h * h + h) + (h * d + d), saved: k * d, base };
    }
    case 'lora':
      return { trainable: config.nLayers * 8 * (d + 3 * d), saved: config.nLayers * 8 * (d + 3 * d), base };
    case 'bitfit': {
      const biases = countParameters(specs.filter((s) => isBiasParameter(s.name)));
      return { trainable: biases, saved: biases, base };
    }
    case 'full':
      return { trainable: base, saved: base, base };
    default:
      return { trainable: 0, saved: 0, base };
  }
}

/** Gap to full model tuning by preset size index (0, 1, 2): it closes with size for the prompt methods. */
const GAPS: Record<string, [number, number, number]> = {
  full: [0, 0, 0],
  'prompt-tuning': [0.22, 0.12, 0.04],
  'prefix-tuning': [0.15, 0.09, 0.05],
  'p-tuning': [0.18, 0.1, 0.05],
  lora: [0.06, 0.04, 0.02],
  bitfit: [0.1, 0.07, 0.04],
};
const LENGTH_EFFECT: Record<number, (size: number) => number> = {
  1: (size) => -0.12 + 0.05 * size,
  5: (size) => -0.05 + 0.02 * size,
  20: () => 0,
  50: () => 0.005,
  100: (size) => -0.01 - 0.005 * size,
};
const INIT_EFFECT: Record<string, (size: number) => number> = {
  'random-uniform': (size) => -0.08 + 0.035 * size,
  'sampled-vocab': (size) => -0.04 + 0.018 * size,
  'class-label': () => 0,
};
const TASK_EASE: Record<string, { offset: number; majority: number }> = { colour: { offset: 0.04, majority: 0.25 }, town: { offset: -0.03, majority: 0.2 } };

interface TrialSpec {
  preset: string;
  method: string;
  options: Record<string, OptionValue>;
  task: string;
  seed: number;
  sweeps: string[];
}

function fixtureKey(spec: TrialSpec): string {
  const text = JSON.stringify([spec.preset, spec.method, optionsLabel(spec.options), spec.task, spec.seed]);
  let hash = 0;
  for (let i = 0; i < text.length; i++) hash = (Math.imul(hash, 31) + text.charCodeAt(i)) >>> 0;
  return `fixture-${hash.toString(16).padStart(8, '0')}`;
}

function fixtureRecord(spec: TrialSpec, index: number): TrialRecord {
  const size = FIXTURE_PRESETS.indexOf(spec.preset as (typeof FIXTURE_PRESETS)[number]);
  const random = new Random(spec.seed, fixtureKey(spec));
  const task = TASK_EASE[spec.task];
  const counts = parameterCounts(spec.method, spec.preset, spec.options);
  const adds = spec.method !== 'full' && spec.method !== 'bitfit';
  const total = counts.base + (adds ? counts.trainable : 0);
  const trains = spec.method !== 'prompt-design';

  const full = 0.6 + 0.09 * size + task.offset;
  let score = spec.method === 'prompt-design' ? task.majority + 0.04 + 0.03 * size : full - (GAPS[spec.method]?.[size] ?? 0);
  if (spec.method === 'prompt-tuning') {
    const length = Number(spec.options.length);
    score += (LENGTH_EFFECT[length] ?? (() => 0))(size) + (INIT_EFFECT[String(spec.options.init)] ?? (() => 0))(size);
  }
  const accuracy = Math.round(Math.min(1, Math.max(0, score + 0.015 * random.normal())) * TEST_EXAMPLES) / TEST_EXAMPLES;
  const diverged =
    spec.preset === FIXTURE_DIVERGED.preset && spec.method === FIXTURE_DIVERGED.method && spec.task === FIXTURE_DIVERGED.task && spec.seed === FIXTURE_DIVERGED.seed;

  const startLoss = 2.4 + 0.1 * random.normal();
  const floor = 0.35 + (1 - score) * 1.2;
  const lossCurve: [number, number][] = [];
  for (let step = EVAL_EVERY; trains && step <= STEPS; step += EVAL_EVERY) {
    if (diverged && step > EVAL_EVERY) break;
    lossCurve.push([step, floor + (startLoss - floor) * Math.exp((-3 * step) / STEPS) + 0.02 * random.normal()]);
  }
  const virtual = typeof spec.options.length === 'number' && spec.method !== 'prefix-tuning' ? spec.options.length : 0;
  const tokensPerRow = 40 + virtual;
  const stepFactor: Record<string, number> = { full: 1, lora: 0.74, bitfit: 0.68, 'prompt-tuning': 0.7, 'prefix-tuning': 0.76, 'p-tuning': 0.82 };
  const stepSeconds = trains ? (0.012 * counts.base ** 0.35 * (stepFactor[spec.method] ?? 1) * tokensPerRow * (1 + 0.05 * random.normal())) / 1000 : 0;
  const batch = 16;
  return {
    format: RESULTS_FORMAT_VERSION,
    key: fixtureKey(spec),
    sweeps: spec.sweeps,
    config: {
      preset: spec.preset,
      profile: 'quick',
      pretrainSeed: 0,
      modelId: `${spec.preset}-fixture`,
      method: spec.method,
      options: spec.options,
      task: spec.task,
      data: { worldSize: 2000, townCount: 5, train: 400, dev: 100, test: TEST_EXAMPLES },
      seed: spec.seed,
      training: { optimizer: spec.method === 'prompt-tuning' ? 'adafactor' : 'adam', learningRate: spec.method === 'prompt-tuning' ? 0.3 : 1e-3, steps: STEPS, batchSize: batch, evalEvery: EVAL_EVERY, weightDecay: 0 },
    },
    status: diverged ? 'diverged' : 'finished',
    divergedAt: diverged ? { step: 73, loss: NaN } : null,
    parameters: { trainable: counts.trainable, base: counts.base, total, percent: (counts.trainable / total) * 100, adapterBytes: counts.saved * 4 },
    dev: { accuracy: diverged ? NaN : Math.min(1, accuracy + 0.01), examples: 100, majority: task.majority, bestStep: trains ? STEPS : 0 },
    test: { accuracy: diverged ? NaN : accuracy, examples: TEST_EXAMPLES, majority: task.majority },
    lossCurve,
    devCurve: lossCurve.map(([step]) => [step, Math.min(1, accuracy * (0.8 + (0.2 * step) / STEPS))]),
    timing: {
      trainSeconds: stepSeconds * STEPS,
      evalSeconds: 2 + size,
      stepSecondsMedian: stepSeconds,
      tokensPerSecond: trains ? (batch * tokensPerRow) / stepSeconds : 0,
      tokensPerRow,
    },
    memory: {
      peakTensorBytes: Math.round(counts.base * 4 * (spec.method === 'full' ? 4 : 1.2) + counts.trainable * 12 + batch * tokensPerRow * 2e4 * (size + 1)),
      peakRssBytes: 180e6 + size * 20e6,
    },
    environment: ENVIRONMENT,
    finishedAt: new Date(FINISHED_AT + index * 7_000).toISOString(),
  };
}

/** The fixture's trial records: every trial once, carrying every sweep that asks for it. */
export function fixtureRecords(): TrialRecord[] {
  const specs = new Map<string, TrialSpec>();
  const add = (spec: Omit<TrialSpec, 'sweeps'>, sweep: string): void => {
    const key = fixtureKey({ ...spec, sweeps: [] });
    const existing = specs.get(key);
    if (existing === undefined) specs.set(key, { ...spec, sweeps: [sweep] });
    else existing.sweeps.push(sweep);
  };
  for (const preset of FIXTURE_PRESETS) {
    for (const task of FIXTURE_TASKS) {
      for (const seed of FIXTURE_SEEDS) {
        for (const method of FIXTURE_METHODS) add({ preset, method, options: methodOptions(method), task, seed }, 'scaling');
        for (const length of FIXTURE_LENGTHS) add({ preset, method: 'prompt-tuning', options: methodOptions('prompt-tuning', length), task, seed }, 'prompt-length');
        for (const init of FIXTURE_INITS) add({ preset, method: 'prompt-tuning', options: methodOptions('prompt-tuning', 20, init), task, seed }, 'init');
      }
    }
  }
  return [...specs.values()].map(fixtureRecord);
}

/** run.json for the fixture: its description says the results are synthetic. */
export function fixtureManifest(records: readonly TrialRecord[]): RunManifest {
  const diverged = records.filter((r) => r.status === 'diverged').length;
  return {
    format: RESULTS_FORMAT_VERSION,
    experiment: 'fixture',
    description: 'Synthetic fixture results from reports/fixtures.ts (not measured): for tests and previews of the report only.',
    file: 'reports/fixtures.ts',
    profile: 'quick',
    sweeps: SWEEPS,
    startedAt: new Date(FINISHED_AT - 3_600_000).toISOString(),
    finishedAt: new Date(FINISHED_AT + records.length * 7_000).toISOString(),
    wallSeconds: 3_600 + records.length * 7,
    trials: { total: records.length, ran: records.length, cached: 0, diverged, failed: 0 },
    environment: ENVIRONMENT,
    pretrained: FIXTURE_PRESETS.map((preset, i) => ({
      preset,
      parameters: countParameters(modelParameterSpecs(findPreset(preset).config)),
      steps: 3000,
      heldOutLoss: 1.9 - 0.25 * i,
      controlHeldOutLoss: 5.5,
      trainingSeconds: 300 * (i + 1) ** 2,
    })),
  };
}

/** A bench.json in the shape `peftscale bench` writes (columns with units, one row per preset and method): synthetic values. */
export function fixtureBench(): Record<string, unknown> {
  const rows = FIXTURE_PRESETS.flatMap((preset, i) => [
    { preset, method: 'bare', variant: '', inferMedianMs: 4 + 3 * i, inferOverhead: 0, adapterBytes: null },
    { preset, method: 'prompt-tuning', variant: '', inferMedianMs: (4 + 3 * i) * (1.31 - 0.09 * i), inferOverhead: 0.31 - 0.09 * i, adapterBytes: 2560 * (i + 1) + 210 },
    { preset, method: 'lora', variant: 'merged', inferMedianMs: 4 + 3 * i, inferOverhead: 0, adapterBytes: 4096 * (i + 1) + 230 },
  ]);
  return {
    format: 'peftscale-bench',
    formatVersion: 1,
    columns: [
      { key: 'preset', type: 'string', nullable: false, unit: '', description: 'frozen model preset' },
      { key: 'method', type: 'string', nullable: false, unit: '', description: 'method ("bare": the frozen model alone)' },
      { key: 'variant', type: 'string', nullable: false, unit: '', description: 'LoRA: merged or unmerged' },
      { key: 'inferMedianMs', type: 'number', nullable: false, unit: 'ms', description: 'median forward pass' },
      { key: 'inferOverhead', type: 'number', nullable: false, unit: 'fraction', description: 'median forward pass relative to the bare model, minus 1' },
      { key: 'adapterBytes', type: 'number', nullable: true, unit: 'bytes', description: 'saved adapter folder' },
    ],
    rows,
  };
}

/** The fixture as loadResults would return it, without touching the disk (for tests). */
export function fixtureLoaded(options: FixtureOptions = {}): LoadedResults {
  const records = fixtureRecords();
  return {
    dir: '(fixture)',
    records,
    summary: summarize(records),
    manifest: fixtureManifest(records),
    bench: options.bench === true ? { rows: fixtureBench().rows as Record<string, unknown>[], raw: fixtureBench() } : null,
  };
}

export interface FixtureOptions {
  /** Also write bench.json (default false: the report must cope without it). */
  bench?: boolean;
}

/** Writes a complete fixture results folder and returns its path. */
export async function writeFixtureResults(dir: string, options: FixtureOptions = {}): Promise<string> {
  const records = fixtureRecords();
  const summary = summarize(records);
  await mkdir(dir, { recursive: true });
  const write = (file: string, text: string): Promise<void> => writeFile(path.join(dir, file), text);
  await write(RESULT_FILES.records, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  await write(RESULT_FILES.summary, `${JSON.stringify(summary, null, 2)}\n`);
  await write(RESULT_FILES.manifest, `${JSON.stringify(fixtureManifest(records), null, 2)}\n`);
  await write(
    RESULT_FILES.recordsCsv,
    stringify(
      records.map((r) => ({ key: r.key, status: r.status, preset: r.config.preset, method: r.config.method, options: optionsLabel(r.config.options), task: r.config.task, seed: r.config.seed, test_accuracy: r.test.accuracy })),
      { header: true },
    ),
  );
  await write(
    RESULT_FILES.summaryCsv,
    stringify(
      summary.map((s) => ({ preset: s.preset, method: s.method, options: s.optionsLabel, task: s.task, n: s.n, diverged: s.diverged, mean: s.mean, ci95_low: s.ci95[0], ci95_high: s.ci95[1] })),
      { header: true },
    ),
  );
  if (options.bench === true) await write(RESULT_FILES.bench, `${JSON.stringify(fixtureBench(), null, 2)}\n`);
  else await rm(path.join(dir, RESULT_FILES.bench), { force: true }); // no stale bench.json from an earlier call
  return dir;
}
