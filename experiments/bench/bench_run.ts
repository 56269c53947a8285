/**
 * `peftscale bench` (what `npm run bench` runs): the cost of each method on each preset, on the chosen
 * backend. Per (preset, method): training step time (median, p99), tokens/s and peak memory; inference
 * latency of the saved adapter against the bare frozen model (prompt tuning adds k positions, unmerged
 * LoRA adds matmuls, merged LoRA adds none); storage per task (adapter bytes). Then mixed-task serving
 * (one batch, a different prompt per row, against per-task batches) and the reference training step of
 * the core issue. Output: tables on stdout (or the JSON with --json), and bench.json under --out, whose
 * format (BenchReport) is declared in src/results/bench.ts. This file runs them in order; bench_methods.ts,
 * bench_serving.ts and bench_reference.ts measure, bench_text.ts prints and bench_command.ts is the command.
 *
 * Weights: timing does not depend on weight values, so by default (--weights auto) a preset uses its
 * cached pretrained checkpoint when there is one and seeded initial weights otherwise, and nothing is
 * pretrained just to be timed; --weights pretrained pretrains missing ones first (quick profile: ~4.5 min).
 * Each row records which it used.
 */
import { mkdtemp, rm, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendInfo } from '../../src/model/backend.js';
import { BENCH_COLUMNS, BENCH_FORMAT, BENCH_FORMAT_VERSION, type BenchModelInfo, type BenchReport, type BenchRow, type MixedServingRow, type PackingBenchRow, type ReferenceStepResult } from '../../src/results/bench.js';
import { loadCheckpoint } from '../../src/io/checkpoint.js';
import { PRESETS, unknownNameMessage, type ModelConfig } from '../../src/model/config.js';
import { GPT2 } from '../../src/model/model.js';
import { countParameters, modelParameterSpecs } from '../../src/model/params.js';
import { readPretrainedSummary } from '../../src/training/pretrain_checkpoint.js';
import { optionsLabel, RESULT_FILES } from '../../src/results/results.js';
import { writeFileAtomic } from '../../src/io/atomic_file.js';
import { ByteTokenizer, SPECIAL_TOKENS } from '../../src/io/tokenizer.js';
import { buildTaskSuite } from '../../datasets/tasks.js';
import { allMethods, benchOptionsOf, benchPreset, createMethod, type MethodBenchSettings } from './bench_methods.js';
import { describeReference, runReferenceStep, type ReferenceOptions } from './bench_reference.js';
import { benchMixedServing } from './bench_serving.js';
import { benchPacking, type PackingBenchSettings } from './bench_packing.js';
import { fixed } from './bench_text.js';
import { ensurePretrained, pretrainedModelDir } from '../pretrain/pretrain_family.js';
import { PRETRAIN_PROFILES, profileCorpusConfig, resolveProfile } from '../pretrain/pretrain_profiles.js';
import { environmentInfo } from '../run/runner.js';
import { BENCH_SUBDIR, DEFAULT_RESULTS_DIR } from '../run/results_files.js';

export const DEFAULT_BENCH_DIR = path.join(DEFAULT_RESULTS_DIR, BENCH_SUBDIR);
/** The presets benchmarked by default: those the quick profile pretrains (its experiments' models). */
export const DEFAULT_BENCH_PRESETS: readonly string[] = PRETRAIN_PROFILES.quick.presets;
export const WEIGHT_CHOICES = ['auto', 'init', 'pretrained'] as const;
export type WeightChoice = (typeof WEIGHT_CHOICES)[number];

/** A model to benchmark: a preset name and its shape (tests pass tiny shapes under their own names). */
export interface BenchModel {
  name: string;
  config: ModelConfig;
}

export interface BenchOptions extends MethodBenchSettings {
  models: BenchModel[];
  methods: string[];
  weights: WeightChoice;
  /** Pretraining profile and cache whose checkpoints count as pretrained weights. */
  profile: string;
  cacheDir: string;
  batchSize: number;
  sequenceLength: number;
  warmup: number;
  iterations: number;
  seed: number;
  /** Mixed-task serving: this many tasks' prompt-tuning prompts of this length; null to skip. */
  mixedServing: { tasks: number; promptLength: number } | null;
  /** Trial packing: the sweep and the cap (bench_packing.ts); null to skip. */
  packing: PackingBenchSettings | null;
  reference: ReferenceOptions | null;
  /** Progress lines (default: stderr). */
  log?: (message: string) => void;
}

const tokenizer = new ByteTokenizer();

/** Runs every benchmark and returns the report (nothing is written; see {@link writeBenchReport}). */
export async function runBenchmarks(options: BenchOptions, backend: BackendInfo): Promise<BenchReport> {
  const log = options.log ?? ((message: string): void => void process.stderr.write(`${message}\n`));
  checkOptions(options);
  checkContext(options);
  const createdAt = new Date().toISOString();
  const started = performance.now();
  const rows: BenchRow[] = [];
  const models: BenchModelInfo[] = [];
  const mixedServing: MixedServingRow[] = [];
  const packing: PackingBenchRow[] = [];
  const scratch = await mkdtemp(path.join(tmpdir(), 'peftscale-bench-'));
  try {
    for (const model of options.models) {
      const { base, info } = await loadBenchModel(model, options);
      models.push(info);
      const tokens = benchTokens(options.batchSize, options.sequenceLength, model.config.vocabSize, options.seed);
      try {
        log(`${model.name}: ${info.weights} weights${info.source === null ? '' : ` from ${info.source}`}, ${info.parameters.toLocaleString('en-US')} parameters`);
        rows.push(...(await benchPreset(base, info, tokens, path.join(scratch, model.name), options, log)));
        if (options.mixedServing !== null) {
          const mixed = await benchMixedServing(base, model.name, tokens, path.join(scratch, `${model.name}-serving`), options.mixedServing, options);
          mixedServing.push(mixed);
          log(`  mixed serving: ${mixed.tasks} tasks in one batch ${fixed(mixed.mixedMedianMs)} ms vs per-task batches ${fixed(mixed.separateMedianMs)} ms (${mixed.speedup.toFixed(2)}x)`);
        }
        if (options.packing !== null) {
          const row = benchPacking(base, model.name, tokens, options.packing, options);
          packing.push(row);
          log(`  trial packing: ${row.trials} trials, ${fixed(row.aloneTrialsPerHour, 1)} trials/h alone, ${fixed(row.packedTrialsPerHour, 1)} packed in ${row.packs} packs (${row.speedup.toFixed(2)}x)`);
        }
      } finally {
        tokens.dispose();
        base.dispose();
      }
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  let reference: ReferenceStepResult | null = null;
  if (options.reference !== null) {
    log(`reference step: ${describeReference(options.reference)}`);
    reference = await runReferenceStep(options.reference);
  }
  return {
    format: BENCH_FORMAT,
    formatVersion: BENCH_FORMAT_VERSION,
    createdAt,
    wallSeconds: (performance.now() - started) / 1000,
    environment: benchEnvironment(backend),
    settings: {
      presets: options.models.map((m) => m.name),
      methods: [...options.methods],
      methodOptions: Object.fromEntries(options.methods.map((m) => [m, optionsLabel(benchOptionsOf(m))])),
      weights: options.weights,
      batchSize: options.batchSize,
      sequenceLength: options.sequenceLength,
      batchText: `${options.batchSize} rows × ${options.sequenceLength} tokens cut from the packed train examples of the synthetic tasks (quick-profile world, seed ${options.seed})`,
      warmup: options.warmup,
      iterations: options.iterations,
      optimizer: 'adam (learning rate 1e-3)',
      seed: options.seed,
    },
    models,
    columns: [...BENCH_COLUMNS],
    rows,
    mixedServing,
    packing,
    reference,
  };
}

/** The backend, its versions, git state and machine (bench.json's environment). */
export function benchEnvironment(backend: BackendInfo): BenchReport['environment'] {
  return { backend: backend.name, versions: backend.versions, ...environmentInfo() };
}

/** Every problem with the settings at once, each naming the setting, its flag, the value and what is allowed. */
function checkOptions(options: BenchOptions): void {
  const problems: string[] = [];
  if (options.models.length === 0) problems.push('presets (--presets): none given; allowed: one or more of the ps-* presets');
  const repeated = (names: readonly string[]): string[] => [...new Set(names.filter((name, i) => names.indexOf(name) !== i))];
  for (const name of repeated(options.models.map((m) => m.name))) problems.push(`presets (--presets): "${name}" is listed twice; allowed: each preset once`);
  for (const name of repeated(options.methods)) problems.push(`methods (--methods): "${name}" is listed twice; allowed: each method once`);
  for (const name of options.methods) if (!allMethods().includes(name)) problems.push(`methods (--methods): ${unknownNameMessage('method', name, allMethods())}`);
  const integer = (key: 'batchSize' | 'sequenceLength' | 'iterations' | 'warmup', flag: string, least: number, why = ''): void => {
    if (!(Number.isInteger(options[key]) && options[key] >= least)) problems.push(`${key} (${flag}) = ${options[key]}: allowed: an integer ≥ ${least}${why}`);
  };
  integer('batchSize', '--batch-size', 1);
  integer('sequenceLength', '--sequence-length', 2, ' (the loss predicts each next token)');
  integer('iterations', '--iterations', 1);
  integer('warmup', '--warmup', 0);
  const serving = options.mixedServing;
  if (serving !== null && !(Number.isInteger(serving.tasks) && serving.tasks >= 1 && serving.tasks <= options.batchSize)) {
    problems.push(`mixed-serving tasks (--serving-tasks) = ${serving.tasks}: allowed: 0 (skip) or an integer from 1 to the batch size ${options.batchSize}`);
  }
  const packing = options.packing;
  if (packing !== null) {
    const positive = (value: number, flag: string, least = 1): void => {
      if (!(Number.isInteger(value) && value >= least)) problems.push(`${flag} = ${value}: allowed: an integer ≥ ${least}`);
    };
    positive(packing.seeds, '--pack-seeds');
    positive(packing.batchSize, '--pack-batch');
    positive(packing.steps, '--pack-steps');
    positive(packing.maxRows, '--pack-rows', 2);
    if (packing.lengths.length === 0 || packing.lengths.some((k) => !(Number.isInteger(k) && k >= 1))) problems.push(`--pack-lengths = ${packing.lengths.join(',')}: allowed: one or more integers ≥ 1`);
    if (packing.inits.length === 0) problems.push('--pack-inits: none given; allowed: one or more prompt inits');
  }
  if (problems.length > 0) throw new Error(`bench: invalid settings:\n  ${problems.join('\n  ')}`);
}

/**
 * Checks, before anything is timed, that the rows fit every preset's context with each method's virtual
 * tokens (and the mixed-serving prompt): otherwise the run would fail part-way, in the model. Names the
 * tightest limit only.
 */
function checkContext(options: BenchOptions): void {
  let tightest: { allowed: number; why: string } | null = null;
  for (const model of options.models) {
    const base = GPT2.initialize(model.config, options.seed); // virtual tokens do not depend on the weights
    try {
      const needs = options.methods.map((name) => {
        const method = createMethod(base, name, options.seed);
        method.dispose();
        return { what: `${name}'s`, virtual: method.identity.virtualTokens };
      });
      if (options.mixedServing !== null) needs.push({ what: "the mixed-serving prompts'", virtual: options.mixedServing.promptLength });
      for (const length of options.packing?.lengths ?? []) needs.push({ what: "the packing sweep's (--pack-lengths)", virtual: length });
      for (const { what, virtual } of needs) {
        const allowed = model.config.contextLength - virtual;
        if (tightest === null || allowed < tightest.allowed) tightest = { allowed, why: `${what} ${virtual} virtual tokens and ${model.name}'s context of ${model.config.contextLength} positions` };
      }
    } finally {
      base.dispose();
    }
  }
  if (tightest !== null && options.sequenceLength > tightest.allowed) {
    throw new Error(`bench: sequenceLength (--sequence-length) = ${options.sequenceLength}: allowed: at most ${tightest.allowed}, with ${tightest.why}`);
  }
}

/** The frozen model of a preset: its cached pretrained checkpoint, or seeded initial weights. */
async function loadBenchModel(model: BenchModel, options: BenchOptions): Promise<{ base: GPT2; info: BenchModelInfo }> {
  const parameters = countParameters(modelParameterSpecs(model.config));
  const initialised = (): { base: GPT2; info: BenchModelInfo } => ({ base: GPT2.initialize(model.config, options.seed), info: { preset: model.name, parameters, weights: 'initialised', source: null } });
  if (options.weights === 'init') return initialised();
  const spec = { preset: model.name, profile: resolveProfile(options.profile), seed: options.seed, cacheDir: options.cacheDir };
  let dir: string;
  if (options.weights === 'pretrained') {
    dir = (await ensurePretrained(spec)).dir;
  } else {
    const isPretrainable = PRESETS.some((preset) => preset.name === model.name && preset.kind === 'pretrain');
    if (!isPretrainable) return initialised();
    dir = pretrainedModelDir(spec);
    if ((await readPretrainedSummary(dir)) === null) return initialised();
  }
  const { model: base } = await loadCheckpoint(dir);
  return { base, info: { preset: model.name, parameters, weights: 'pretrained', source: dir } };
}

/**
 * Token rows [B, T]: the train examples of the synthetic tasks (`<|endoftext|> text label`) packed into
 * one stream and cut into rows (wrapping round if short). Ids ≥ vocabSize are folded in (custom shapes).
 */
export function benchTokens(batchSize: number, sequenceLength: number, vocabSize: number, seed: number): tf.Tensor2D {
  const { worldSize, townCount } = profileCorpusConfig(PRETRAIN_PROFILES.quick, seed);
  const tasks = buildTaskSuite({ seed, worldSize, townCount, sizes: { train: 32, dev: 0, test: 0 } });
  const stream: number[] = [];
  for (const task of tasks) for (const example of task.splits.train) stream.push(SPECIAL_TOKENS.endOfText, ...tokenizer.encode(task.format(example) + example.label));
  const values = Int32Array.from({ length: batchSize * sequenceLength }, (_, i) => stream[i % stream.length] % vocabSize);
  return tf.tensor2d(values, [batchSize, sequenceLength], 'int32');
}

/** Writes bench.json into `dir` (created if needed); returns its path. */
export async function writeBenchReport(dir: string, report: BenchReport): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, RESULT_FILES.bench);
  await writeFileAtomic(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}
