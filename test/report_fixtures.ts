/**
 * Synthetic results for tests and previews of the report: realistic trial records (3 presets, all 7
 * methods, 2 seeds, 2 tasks, prompt lengths 1/5/20/50/100, 3 initialisations, one diverged trial), the
 * summary computed from them with the real summarize(), and a run manifest that says they are a fixture.
 * Scores follow the shape Lester et al. report (prompt tuning closes the gap to full model tuning with
 * size) plus seeded noise; parameter counts are the methods' real formulas on the real preset shapes.
 * Optionally a bench.json in the declared format (src/results/bench.ts; report_fixture_bench.ts) and an
 * ensembles.json of the prompt-tuning trials. Nothing here is measured.
 *
 * @example
 * const dir = await writeFixtureResults('test-output/fixture-results', { bench: true, ensembles: true });
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { findPreset } from '../src/model/config.js';
import { countParameters, modelParameterSpecs } from '../src/model/params.js';
import type { OptionValue } from '../src/adapt/peft.js';
import { Random } from '../src/util/random.js';
import { fixtureHypothesesRecord } from './report_fixture_hypotheses.js';
import '../methods/index.js'; // run.json records the registry's cards, as a real run writes them
import { cardRecords } from '../src/adapt/method_card.js';
import type { LoadedResults } from '../reports/load.js';
import { MethodCards } from '../reports/method_cards.js';
import { fixtureBench } from './report_fixture_bench.js';
import { fixtureGates, type FixtureGates } from './report_fixture_gates.js';
import { ENVIRONMENT, FIXTURE_DIVERGED, FIXTURE_INITS, FIXTURE_LENGTHS, FIXTURE_METHODS, FIXTURE_PRESETS, FIXTURE_SEEDS, FIXTURE_TASKS, methodOptions, parameterCounts } from './report_fixture_shapes.js';
import { optionsLabel, RESULT_FILES, RESULTS_FORMAT_VERSION, summarize, type EnsembleRecord, type RunManifest, type SweepInfo, type TrialRecord } from '../src/results/results.js';

export { FIXTURE_DIVERGED, FIXTURE_INITS, FIXTURE_LENGTHS, FIXTURE_METHODS, FIXTURE_PRESETS, FIXTURE_SEEDS, FIXTURE_TASKS } from './report_fixture_shapes.js';
export { FIXTURE_BENCH_GIT, fixtureBench } from './report_fixture_bench.js';

const SWEEPS: SweepInfo[] = [
  { name: 'scaling', figure: 'scaling', description: 'every method on every preset (fixture)' },
  { name: 'prompt-length', figure: 'prompt-length', description: 'prompt tuning, lengths 1 to 100, class-label init (fixture)' },
  { name: 'init', figure: 'init', description: 'prompt tuning, 20 tokens, three initialisations (fixture)' },
];

const STEPS = 200;
const EVAL_EVERY = 50;
const TEST_EXAMPLES = 200;
const FINISHED_AT = Date.parse('2025-01-15T12:00:00Z');

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
  // Random-uniform prompts on the smallest model never beat their init on dev: "no gain over init".
  const noGain = spec.method === 'prompt-tuning' && spec.options.init === 'random-uniform' && size === 0;

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
    dev: { accuracy: diverged ? NaN : Math.min(1, accuracy + 0.01), examples: 100, majority: task.majority, bestStep: trains && !noGain ? STEPS : 0 },
    test: { accuracy: diverged ? NaN : accuracy, examples: TEST_EXAMPLES, majority: task.majority },
    final: trains ? { step: diverged ? 73 : STEPS, dev: diverged ? NaN : Math.min(1, accuracy + 0.01), test: diverged ? NaN : noGain ? Math.max(0, accuracy - 0.03) : accuracy } : { step: 0, dev: Math.min(1, accuracy + 0.01), test: accuracy },
    gainOverInit: trains ? !noGain : null,
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
export function fixtureManifest(records: readonly TrialRecord[], gates: FixtureGates = 'pass'): RunManifest {
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
    hypotheses: fixtureHypothesesRecord(FINISHED_AT - 3_600_000),
    pretrained: FIXTURE_PRESETS.map((preset, i) => ({
      preset,
      parameters: countParameters(modelParameterSpecs(findPreset(preset).config)),
      steps: 3000,
      heldOutLoss: 1.9 - 0.25 * i,
      controlHeldOutLoss: 5.5,
      trainingSeconds: 300 * (i + 1) ** 2,
      ...(gates === 'absent' ? {} : { gates: fixtureGates(i, FIXTURE_PRESETS.length, FIXTURE_TASKS, gates) }),
    })),
    methods: cardRecords(),
  };
}

/**
 * ensembles.json for the fixture, as the runner would write it for the scaling sweep's prompt-tuning
 * configuration: per preset and task, the two seeds' prompts with their recorded test accuracies, and a
 * synthetic majority vote (a little above the average; below the best on one task). The runner also
 * ensembles the prompt-length and init configurations; the fixture keeps to one, for a short table.
 */
export function fixtureEnsembles(records: readonly TrialRecord[]): EnsembleRecord[] {
  const groups = new Map<string, TrialRecord[]>();
  for (const r of records) {
    if (r.config.method !== 'prompt-tuning' || !r.sweeps.includes('scaling') || r.status !== 'finished') continue;
    const key = JSON.stringify([r.config.preset, optionsLabel(r.config.options), r.config.task]);
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()]
    .filter((members) => members.length >= 2)
    .map((members) => {
      const sorted = [...members].sort((a, b) => a.config.seed - b.config.seed);
      const first = sorted[0];
      const size = FIXTURE_PRESETS.indexOf(first.config.preset as (typeof FIXTURE_PRESETS)[number]);
      const perPrompt = sorted.map((r) => r.test.accuracy);
      const average = perPrompt.reduce((a, b) => a + b, 0) / perPrompt.length;
      const lift = [0.005, 0.01, 0.02][size] - (first.config.task === 'town' ? 0.015 : 0);
      return {
        preset: first.config.preset,
        baseParameters: first.parameters.base,
        method: first.config.method,
        optionsLabel: optionsLabel(first.config.options),
        task: first.config.task,
        keys: sorted.map((r) => r.key),
        seeds: sorted.map((r) => r.config.seed),
        perPrompt,
        average,
        best: Math.max(...perPrompt),
        ensemble: Math.round(Math.min(1, average + lift) * TEST_EXAMPLES) / TEST_EXAMPLES,
        examples: TEST_EXAMPLES,
        tiedVotes: 12 + 4 * size + Math.round(Math.abs(perPrompt[0] - perPrompt[1]) * TEST_EXAMPLES),
      };
    });
}

/** The fixture as loadResults would return it, without touching the disk (for tests). */
export function fixtureLoaded(options: FixtureOptions = {}): LoadedResults {
  const records = fixtureRecords();
  return {
    dir: '(fixture)',
    records,
    summary: summarize(records, 'full'),
    manifest: fixtureManifest(records, options.gates),
    ensembles: options.ensembles === true ? fixtureEnsembles(records) : null,
    bench: options.bench === true ? { file: '(fixture)/bench.json', origin: 'results', report: fixtureBench() } : null,
    methods: new MethodCards(cardRecords(), 'run.json'),
  };
}

export interface FixtureOptions {
  /** Also write bench.json (default false: the report must cope without it). */
  bench?: boolean;
  /** Also write ensembles.json (default false: runs without `"ensemble": true` have none). */
  ensembles?: boolean;
  /** The frozen models' capability gates: the largest passes (default), fails, or none were measured. */
  gates?: FixtureGates;
}

/** Writes a complete fixture results folder and returns its path. */
export async function writeFixtureResults(dir: string, options: FixtureOptions = {}): Promise<string> {
  const records = fixtureRecords();
  const summary = summarize(records, 'full');
  await mkdir(dir, { recursive: true });
  const write = (file: string, text: string): Promise<void> => writeFile(path.join(dir, file), text);
  await write(RESULT_FILES.records, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  await write(RESULT_FILES.summary, `${JSON.stringify(summary, null, 2)}\n`);
  await write(RESULT_FILES.manifest, `${JSON.stringify(fixtureManifest(records, options.gates), null, 2)}\n`);
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
  // Absent files are removed: no stale bench.json or ensembles.json from an earlier call.
  if (options.bench === true) await write(RESULT_FILES.bench, `${JSON.stringify(fixtureBench(), null, 2)}\n`);
  else await rm(path.join(dir, RESULT_FILES.bench), { force: true });
  if (options.ensembles === true) await write(RESULT_FILES.ensembles, `${JSON.stringify(fixtureEnsembles(records), null, 2)}\n`);
  else await rm(path.join(dir, RESULT_FILES.ensembles), { force: true });
  return dir;
}
