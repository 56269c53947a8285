/**
 * `peftscale bench` (what `npm run bench` runs): the cost of each method on each preset, on the chosen
 * backend. Per (preset, method): training step time (median, p99), tokens/s and peak memory; inference
 * latency of the saved adapter against the bare frozen model (prompt tuning adds k positions, unmerged
 * LoRA adds matmuls, merged LoRA adds none); storage per task (adapter bytes). Then mixed-task serving
 * (one batch, a different prompt per row, against per-task batches) and the reference training step of
 * the core issue. Output: tables on stdout (or the JSON with --json), and bench.json under --out, whose
 * format (BenchReport) is declared in src/bench.ts.
 *
 * Weights: timing does not depend on weight values, so by default (--weights auto) a preset uses its
 * cached pretrained checkpoint when there is one and seeded initial weights otherwise, and nothing is
 * pretrained just to be timed; --weights pretrained pretrains missing ones first (quick profile: ~4.5 min).
 * Each row records which it used.
 */
import { mkdtemp, readdir, rm, stat, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { AdaptedModel } from '../src/adapted.js';
import { loadAdapter, saveAdapter } from '../src/adapter_io.js';
import { describeBackend, initBackend, type BackendInfo } from '../src/backend.js';
import { checkPytorch, PYTHON_ENV_VAR, runPytorchReference, type PytorchReference, type ReferenceStepShape } from './bench_pytorch.js';
import {
  BARE_ROW,
  BENCH_COLUMNS,
  BENCH_FORMAT,
  BENCH_FORMAT_VERSION,
  median,
  MemoryPeak,
  peakTensorBytes,
  timeAgainstBaseline,
  timeInterleaved,
  timeTrainingSteps,
  type TimedFunction,
  type BenchModelInfo,
  type BenchReport,
  type BenchRow,
  type MixedServingRow,
  type ReferenceStepResult,
  type TimingSummary,
} from '../src/bench.js';
import { loadCheckpoint } from '../src/checkpoint.js';
import { booleanFlag, formatFlags, numberFlag, parseArgs, stringFlag, type FlagSpec, type ParsedArgs } from '../src/cli_args.js';
import { findPreset, PRESETS, REFERENCE_STEP, unknownNameMessage, type ModelConfig } from '../src/config.js';
import { GPT2 } from '../src/model.js';
import { countParameters, modelParameterSpecs } from '../src/params.js';
import { baselineMethod, getMethod, learnedPromptMethod, registeredMethods, resolveOptions, type MethodContext } from '../src/peft.js';
import { readPretrainedSummary } from '../src/pretrain.js';
import { Random } from '../src/random.js';
import { optionsLabel, RESULT_FILES } from '../src/results.js';
import { MixedTaskServer } from '../src/serving.js';
import { writeFileAtomic } from '../src/safetensors.js';
import { ByteTokenizer, SPECIAL_TOKENS } from '../src/tokenizer.js';
import { createOptimizer, trainStep } from '../src/train.js';
import '../methods/index.js'; // registers every method: --methods, its defaults and each one's benchmark options
import { buildTaskSuite } from '../datasets/tasks.js';
import { DEFAULT_CACHE_DIR, ensurePretrained, pretrainedModelDir, PRETRAIN_PROFILES, profileCorpusConfig, resolveProfile } from './pretrain.js';
import { environmentInfo } from './runner.js';
import { BENCH_SUBDIR, DEFAULT_RESULTS_DIR } from './results_files.js';

/** The options a method is benchmarked with: its descriptor's (PEFT's common settings); an unknown method is an error. */
export function benchOptionsOf(name: string): Readonly<Record<string, string>> {
  return getMethod(name).benchmark.options;
}

/** Every method, in the registry's order: what --methods defaults to. */
const allMethods = (): string[] => registeredMethods().map((m) => m.name);

/** The methods the reference step can run: those scripts/reference_step.py implements (descriptor benchmark.referenceStep). */
const referenceMethods = (): string[] => registeredMethods().filter((m) => m.benchmark.referenceStep).map((m) => m.name);

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

/** The reference step's shape and schedule (defaults: src/config.ts REFERENCE_STEP, full tuning, 5 + 20 steps). */
export interface ReferenceOptions extends ReferenceStepShape {
  onStep?: (index: number, ms: number, cpuMs: number) => void;
}

export interface BenchOptions {
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
    reference,
  };
}

/** The backend, its versions, git state and machine (bench.json's environment). */
function benchEnvironment(backend: BackendInfo): BenchReport['environment'] {
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
  const { worldSize, townCount } = profileCorpusConfig('quick', seed);
  const tasks = buildTaskSuite({ seed, worldSize, townCount, sizes: { train: 32, dev: 0, test: 0 } });
  const stream: number[] = [];
  for (const task of tasks) for (const example of task.splits.train) stream.push(SPECIAL_TOKENS.endOfText, ...tokenizer.encode(task.format(example) + example.label));
  const values = Int32Array.from({ length: batchSize * sequenceLength }, (_, i) => stream[i % stream.length] % vocabSize);
  return tf.tensor2d(values, [batchSize, sequenceLength], 'int32');
}

/** What a row describes (besides its numbers). */
interface RowIdentity {
  method: string;
  variant: string;
  options: string;
  trainable: number;
  virtualTokens: number;
}

interface TrainMeasure {
  medianMs: number;
  p99Ms: number;
  tokensPerSecond: number;
  peakTensorBytes: number;
  peakRssBytes: number;
  leakedTensors: number;
}

interface InferenceMeasure {
  timing: TimingSummary;
  /** Over the bare model's forward pass, minus 1. */
  overhead: number;
  peakTensorBytes: number;
  peakRssBytes: number;
}

/** A forward pass to time against the bare model, with what its row needs. */
interface InferenceCandidate {
  identity: RowIdentity;
  train: TrainMeasure | null;
  adapter: { bytes: number; tensorBytes: number } | null;
  /** Logits of the benchmark batch: [B, T, V]. */
  forward: () => tf.Tensor;
}

/** A method's adapted model, with its optimiser when it trains; dispose() frees both. */
interface MethodUnderTest {
  name: string;
  identity: RowIdentity;
  adapted: AdaptedModel;
  optimizer: tf.Optimizer | null;
  dispose(): void;
}

/** Adapter folders loaded back for inference; dispose() frees what was loaded. */
interface PreparedMethods {
  candidates: InferenceCandidate[];
  dispose(): void;
}

/** A function that runs `forward`, reads the logits back and frees them. */
function readBack(forward: () => tf.Tensor): () => void {
  return () => {
    const logits = forward(); // [B, T, V]
    logits.dataSync();
    logits.dispose();
  };
}

/**
 * One preset: every method's training steps timed in interleaved rounds, the adapters saved and loaded
 * back, then the forward pass of each timed against the bare model's (each call bracketed by bare calls),
 * so that methods are compared under the same conditions on a shared machine.
 */
async function benchPreset(base: GPT2, info: BenchModelInfo, tokens: tf.Tensor2D, dir: string, options: BenchOptions, log: (message: string) => void): Promise<BenchRow[]> {
  for (let i = 0; i < 3 * options.warmup; i++) base.forward(tokens).dispose(); // kernel setup and JIT, before anything is timed
  const methods: MethodUnderTest[] = [];
  let train: Map<string, TrainMeasure>;
  try {
    for (const name of options.methods) methods.push(createMethod(base, name, options.seed));
    const trained = methods.filter((m) => m.optimizer !== null);
    log(`  training ${trained.length} methods: ${options.warmup} warm-up + ${options.iterations} measured interleaved rounds`);
    train = await timeTraining(trained, tokens, options);
    log(`  training step medians: ${trained.map((m) => `${m.name} ${fixed((train.get(m.name) as TrainMeasure).medianMs)} ms`).join(', ')}`);
    for (const method of methods) await saveAdapter(path.join(dir, method.name), method.adapted, { benchmark: true });
  } finally {
    for (const method of methods) method.dispose();
  }
  const prepared: PreparedMethods[] = [];
  try {
    for (const method of methods) prepared.push(await loadForInference(base, method, train.get(method.name) ?? null, path.join(dir, method.name), tokens));
    const bare: InferenceCandidate = { identity: { method: BARE_ROW, variant: '', options: '', trainable: 0, virtualTokens: 0 }, train: null, adapter: null, forward: () => base.forward(tokens) };
    const candidates = prepared.flatMap((p) => p.candidates);
    log(`  forward passes: ${candidates.length} adapters against the bare model, ${options.warmup} warm-up + ${options.iterations} measured rounds`);
    const memories = [bare, ...candidates].map(() => new MemoryPeak());
    const timed = (c: InferenceCandidate, i: number): TimedFunction => ({ name: `${c.identity.method} ${c.identity.variant}`, fn: readBack(c.forward), afterEach: () => memories[i].sample() });
    const comparison = timeAgainstBaseline(timed(bare, 0), candidates.map((c, i) => timed(c, i + 1)), options);
    const measured = [
      { candidate: bare, timing: comparison.baseline, overhead: 0 },
      ...candidates.map((candidate, i) => ({ candidate, timing: comparison.candidates[i], overhead: comparison.ratios[i] - 1 })),
    ];
    const rows: BenchRow[] = [];
    for (const [i, { candidate, timing, overhead }] of measured.entries()) {
      memories[i].includeTensorBytes(await peakTensorBytes(readBack(candidate.forward)));
      rows.push(makeRow(info, options.batchSize, candidate, { timing, overhead, peakTensorBytes: memories[i].tensorBytes, peakRssBytes: memories[i].rssBytes }));
    }
    log(`  forward pass medians: ${rows.map((r) => `${r.method}${r.variant === '' ? '' : ` ${r.variant}`} ${fixed(r.inferMedianMs)} ms${r.method === BARE_ROW ? '' : ` (${percent(r.inferOverhead)})`}`).join(', ')}`);
    return rows;
  } finally {
    for (const method of prepared) method.dispose();
  }
}

function makeRow(info: BenchModelInfo, batchSize: number, candidate: InferenceCandidate, infer: InferenceMeasure): BenchRow {
  const { train, adapter } = candidate;
  return {
    preset: info.preset,
    parameters: info.parameters,
    ...candidate.identity,
    weights: info.weights,
    trainMedianMs: train?.medianMs ?? null,
    trainP99Ms: train?.p99Ms ?? null,
    trainTokensPerSecond: train?.tokensPerSecond ?? null,
    trainPeakTensorBytes: train?.peakTensorBytes ?? null,
    inferMedianMs: infer.timing.medianMs,
    inferP99Ms: infer.timing.p99Ms,
    inferRowsPerSecond: (batchSize / infer.timing.medianMs) * 1000,
    inferOverhead: infer.overhead,
    inferPeakTensorBytes: infer.peakTensorBytes,
    adapterBytes: adapter?.bytes ?? null,
    adapterTensorBytes: adapter?.tensorBytes ?? null,
    peakRssBytes: Math.max(infer.peakRssBytes, train?.peakRssBytes ?? 0),
    leakedTensors: train?.leakedTensors ?? null,
  };
}

/** The method context for benchmarks: no task-specific initialisation is needed for timing. */
function benchContext(base: GPT2, seed: number): MethodContext {
  return { config: base.config, seed, baseParameter: (name) => base.parameter(name), encode: (text) => tokenizer.encode(text), labelWords: [' yes', ' no'], demonstrations: [] };
}

/** Virtual tokens of an adapted model, from its hooks: input positions (prompt methods) or per-layer key/value positions (prefix tuning). */
function virtualTokensOf(model: AdaptedModel): number {
  const context = { config: model.base.config, batchSize: 1, sequenceLength: 1, training: false };
  return tf.tidy(() => {
    const hooks = model.hooks();
    return Math.max(hooks.inputPrefix?.(context)?.shape.at(-2) ?? 0, hooks.attentionPrefix?.(0, context)?.key.shape.at(-2) ?? 0);
  });
}

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir)) total += (await stat(path.join(dir, entry))).size;
  return total;
}

/** A method with its benchmark options on `base`, and Adam when it has anything to train. */
function createMethod(base: GPT2, name: string, seed: number): MethodUnderTest {
  const method = getMethod(name);
  const resolved = resolveOptions(method, method.benchmark.options, base.config);
  const adapted = AdaptedModel.create(base, method, resolved, benchContext(base, seed));
  const optimizer = adapted.plan.trainable > 0 ? createOptimizer('adam', 1e-3) : null;
  return {
    name,
    identity: { method: name, variant: '', options: optionsLabel(resolved), trainable: adapted.plan.trainable, virtualTokens: virtualTokensOf(adapted) },
    adapted,
    optimizer,
    dispose: () => {
      optimizer?.dispose();
      adapted.dispose();
    },
  };
}

/**
 * Training steps of several methods in interleaved rounds (one step each a round): median, p99, tokens/s,
 * peak memory, and the tensors each method's measured steps left alive.
 */
async function timeTraining(methods: readonly MethodUnderTest[], tokens: tf.Tensor2D, options: BenchOptions): Promise<Map<string, TrainMeasure>> {
  const memories = methods.map(() => new MemoryPeak());
  const leaked = methods.map(() => 0);
  const calls = methods.map(() => 0);
  const settled = Math.max(1, options.warmup); // Adam's slot variables appear in a method's first step
  let tensors = tf.memory().numTensors;
  const timings = timeInterleaved(
    methods.map((m, i) => ({
      name: m.name,
      fn: () => void trainStep(m.adapted, m.optimizer as tf.Optimizer, tokens),
      afterEach: () => {
        // Nothing else runs between two steps, so the change since the previous step's end is this step's.
        const now = tf.memory().numTensors;
        if (calls[i] >= settled) leaked[i] += now - tensors;
        tensors = now;
        calls[i] += 1;
        memories[i].sample();
      },
    })),
    options,
  );
  const measures = new Map<string, TrainMeasure>();
  for (const [i, m] of methods.entries()) {
    const peak = await peakTensorBytes(() => void trainStep(m.adapted, m.optimizer as tf.Optimizer, tokens));
    measures.set(m.name, {
      medianMs: timings[i].medianMs,
      p99Ms: timings[i].p99Ms,
      tokensPerSecond: (tokens.size / timings[i].medianMs) * 1000,
      peakTensorBytes: Math.max(peak, memories[i].tensorBytes),
      peakRssBytes: memories[i].rssBytes,
      leakedTensors: leaked[i],
    });
  }
  return measures;
}

/** A saved adapter loaded back onto `base`: its inference candidates (LoRA also with merged weights). */
async function loadForInference(base: GPT2, method: MethodUnderTest, train: TrainMeasure | null, dir: string, tokens: tf.Tensor2D): Promise<PreparedMethods> {
  const loaded = await loadAdapter(dir, base);
  const owned: tf.Tensor[] = [];
  try {
    const adapter = { bytes: await folderBytes(dir), tensorBytes: [...loaded.tensors.values()].reduce((sum, t) => sum + 4 * t.size, 0) };
    const merge = loaded.method.mergedParameters;
    const candidates: InferenceCandidate[] = [{ identity: { ...method.identity, variant: merge === undefined ? '' : 'unmerged' }, train, adapter, forward: () => loaded.forward(tokens) }];
    if (merge !== undefined) {
      const merged = merge(loaded.tensors, (n) => base.parameter(n), base.config, loaded.options);
      owned.push(...merged.values());
      const hooks = { parameterOverrides: merged };
      candidates.push({ identity: { ...method.identity, variant: 'merged' }, train: null, adapter, forward: () => base.forward(tokens, { hooks }) });
    }
    return {
      candidates,
      dispose: () => {
        for (const t of owned) t.dispose();
        loaded.dispose();
      },
    };
  } catch (error) {
    for (const t of owned) t.dispose();
    loaded.dispose();
    throw error;
  }
}

/** Mixed-task serving on one preset: saved prompt-tuning adapters of `tasks` tasks, rows assigned round-robin. */
async function benchMixedServing(
  base: GPT2,
  preset: string,
  tokens: tf.Tensor2D,
  dir: string,
  serving: { tasks: number; promptLength: number },
  options: BenchOptions,
): Promise<MixedServingRow> {
  const method = learnedPromptMethod();
  if (method === null) throw new Error('bench mixed serving: no registered method declares a learnedPrompt (set --serving-tasks 0 to skip it)');
  const resolved = resolveOptions(method, { length: String(serving.promptLength) }, base.config);
  const dirs = new Map<string, string>();
  for (let t = 0; t < serving.tasks; t++) {
    const adapted = AdaptedModel.create(base, method, resolved, benchContext(base, options.seed + 1 + t));
    try {
      await saveAdapter(path.join(dir, `task${t}`), adapted, { task: `task${t}` });
    } finally {
      adapted.dispose();
    }
    dirs.set(`task${t}`, path.join(dir, `task${t}`));
  }
  const server = await MixedTaskServer.fromAdapters(base, dirs);
  try {
    const [batchSize, sequenceLength] = tokens.shape;
    const rowTasks = Array.from({ length: batchSize }, (_, row) => `task${row % serving.tasks}`);
    const maxAbsDifference = tf.tidy(() => {
      const mixed = server.forward(tokens, rowTasks); // [B, T, V]
      let largest = 0;
      rowTasks.forEach((task, row) => {
        const alone = server.forwardTask(tf.slice(tokens, [row, 0], [1, sequenceLength]) as tf.Tensor2D, task); // [1, T, V]
        largest = Math.max(largest, tf.max(tf.abs(tf.sub(tf.slice(mixed, [row, 0, 0], [1, sequenceLength, mixed.shape[2]]), alone))).dataSync()[0]);
      });
      return largest;
    });
    const comparison = timeAgainstBaseline(
      { name: 'mixed', fn: readBack(() => server.forward(tokens, rowTasks)) },
      [{ name: 'separate', fn: readBack(() => server.forwardSeparately(tokens, rowTasks)) }],
      options,
    );
    const [mixed, separate] = [comparison.baseline, comparison.candidates[0]];
    return {
      preset,
      tasks: serving.tasks,
      promptLength: serving.promptLength,
      batchSize,
      sequenceLength,
      mixedPasses: server.plan(rowTasks).passes.length,
      separatePasses: new Set(rowTasks).size,
      mixedMedianMs: mixed.medianMs,
      separateMedianMs: separate.medianMs,
      mixedRowsPerSecond: (batchSize / mixed.medianMs) * 1000,
      separateRowsPerSecond: (batchSize / separate.medianMs) * 1000,
      speedup: comparison.ratios[0],
      maxAbsDifference,
    };
  } finally {
    server.dispose();
  }
}

/** The reference training step: seeded initial weights, random tokens, Adam. */
export async function runReferenceStep(options: ReferenceOptions): Promise<ReferenceStepResult> {
  const { config, batchSize, sequenceLength } = options;
  if (!referenceMethods().includes(options.method)) throw new Error(`bench reference: --method ${unknownNameMessage('value', options.method, referenceMethods())}`);
  const base = GPT2.initialize(config, 0);
  const method = getMethod(options.method);
  const resolved = resolveOptions(method, method.benchmark.options, config);
  const adapted = AdaptedModel.create(base, method, resolved, benchContext(base, 0));
  const random = new Random(0, 'reference-batch');
  const tokens = tf.tensor2d(Int32Array.from({ length: batchSize * sequenceLength }, () => random.int(config.vocabSize)), [batchSize, sequenceLength], 'int32');
  const optimizer = createOptimizer('adam', 1e-3);
  const cpuSamplesMs: number[] = [];
  const onStep = (index: number, ms: number, cpuMs: number): void => {
    cpuSamplesMs.push(cpuMs);
    options.onStep?.(index, ms, cpuMs);
  };
  try {
    const timing = timeTrainingSteps(adapted, optimizer, tokens, { warmupSteps: options.warmup, steps: options.steps, onStep });
    const peak = await peakTensorBytes(() => void trainStep(adapted, optimizer, tokens));
    return {
      method: options.method,
      options: optionsLabel(resolved),
      dModel: config.dModel,
      nLayers: config.nLayers,
      nHeads: config.nHeads,
      dFF: config.dFF,
      vocabSize: config.vocabSize,
      batchSize,
      sequenceLength,
      warmup: options.warmup,
      steps: options.steps,
      medianMs: timing.medianMs,
      p99Ms: timing.p99Ms,
      meanMs: timing.meanMs,
      tokensPerSecond: timing.tokensPerSecond,
      lastLoss: timing.lastLoss,
      leakedTensors: timing.leakedTensors,
      peakTensorBytes: Math.max(peak, timing.peakTensorBytes),
      peakRssBytes: timing.peakRssBytes,
      samplesMs: timing.samplesMs,
      cpuMedianMs: median(cpuSamplesMs),
    };
  } finally {
    tokens.dispose();
    optimizer.dispose();
    adapted.dispose();
    base.dispose();
  }
}

function describeReference(r: ReferenceOptions): string {
  const c = r.config;
  return `d ${c.dModel}, ${c.nLayers} layers, ${c.nHeads} heads, d_ff ${c.dFF}, vocab ${c.vocabSize}, batch ${r.batchSize} × ${r.sequenceLength} tokens, Adam, method ${r.method}, ${r.warmup} warm-up + ${r.steps} steps`;
}

/** Writes bench.json into `dir` (created if needed); returns its path. */
export async function writeBenchReport(dir: string, report: BenchReport): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, RESULT_FILES.bench);
  await writeFileAtomic(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}

// ---------------------------------------------------------------------------------------------------
// Text output

function fixed(value: number, digits = 1): string {
  return value.toFixed(digits);
}

/** A fraction as a signed percentage: 0.123 → "+12.3%". */
function percent(fraction: number): string {
  return `${fraction >= 0 ? '+' : ''}${fixed(100 * fraction)}%`;
}

function megabytes(bytes: number | null): string {
  return bytes === null ? '-' : (bytes / 2 ** 20).toFixed(1);
}

/** Aligns cells into columns: text left, numbers right. */
function formatTable(header: string[], body: string[][], rightAligned: readonly boolean[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells: string[]): string => cells.map((cell, i) => (rightAligned[i] ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** The report as text tables: per-method costs, mixed-task serving, the reference step. */
export function formatBenchReport(report: BenchReport): string {
  const { environment: env, settings } = report;
  const weights = report.models.map((m) => `${m.preset} ${m.weights}`).join(', ');
  const lines = [
    `peftscale bench: backend ${env.backend}, ${env.machine.cores} × ${env.machine.cpu}, node ${env.machine.node}, tfjs ${env.versions['@tensorflow/tfjs-core'] ?? '?'}, git ${env.gitHash.slice(0, 10)}${env.gitDirty ? ' (dirty)' : ''}`,
    `batch ${settings.batchSize} × ${settings.sequenceLength} tokens; ${settings.warmup} warm-up + ${settings.iterations} measured calls each (tinybench); weights: ${weights}`,
    '',
  ];
  const na = (value: number | null, digits = 1): string => (value === null ? '-' : fixed(value, digits));
  lines.push(
    formatTable(
      ['preset', 'method', 'variant', 'trainable', 'k', 'train ms', 'p99', 'train tok/s', 'train MB', 'fwd ms', 'p99', 'overhead', 'rows/s', 'adapter B', 'RSS MB'],
      report.rows.map((r) => [
        r.preset,
        r.method,
        r.variant,
        r.trainable.toLocaleString('en-US'),
        String(r.virtualTokens),
        na(r.trainMedianMs),
        na(r.trainP99Ms),
        na(r.trainTokensPerSecond, 0),
        megabytes(r.trainPeakTensorBytes),
        fixed(r.inferMedianMs),
        fixed(r.inferP99Ms),
        r.method === BARE_ROW ? '-' : percent(r.inferOverhead),
        fixed(r.inferRowsPerSecond, 0),
        r.adapterBytes === null ? '-' : r.adapterBytes.toLocaleString('en-US'),
        megabytes(r.peakRssBytes),
      ]),
      [false, false, false, true, true, true, true, true, true, true, true, true, true, true, true],
    ),
    '',
    'k: virtual tokens. train/fwd ms: median step/forward pass of the batch (p99 beside it); train MB: peak tfjs tensor memory of a step.',
    'overhead: each forward pass over the bare passes just before and after it (median over rounds): it follows the cost, where the',
    'medians of separately timed calls can differ by 20% on a machine whose speed changes. adapter B: saved folder (storage per task).',
  );
  if (report.mixedServing.length > 0) {
    lines.push('', 'mixed-task serving: one batch, one prompt per row, against one batch per task (speedup: per-task time over the mixed calls beside it)');
    lines.push(
      formatTable(
        ['preset', 'tasks', 'k', 'mixed ms', 'passes', 'per-task ms', 'passes', 'mixed rows/s', 'per-task rows/s', 'speedup', 'max |Δ| vs alone'],
        report.mixedServing.map((m) => [
          m.preset,
          String(m.tasks),
          String(m.promptLength),
          fixed(m.mixedMedianMs),
          String(m.mixedPasses),
          fixed(m.separateMedianMs),
          String(m.separatePasses),
          fixed(m.mixedRowsPerSecond, 0),
          fixed(m.separateRowsPerSecond, 0),
          `${m.speedup.toFixed(2)}x`,
          m.maxAbsDifference.toExponential(1),
        ]),
        [false, true, true, true, true, true, true, true, true, true, true],
      ),
    );
  }
  const ref = report.reference;
  if (ref !== null) {
    lines.push(
      '',
      `reference step (d ${ref.dModel}, ${ref.nLayers} layers, batch ${ref.batchSize} × ${ref.sequenceLength}, ${ref.method}): median ${fixed(ref.medianMs)} ms, p99 ${fixed(ref.p99Ms)} ms, ` +
        `${Math.round(ref.tokensPerSecond).toLocaleString('en-US')} tokens/s (${ref.steps} steps after ${ref.warmup} warm-up)`,
    );
  }
  lines.push('', `${report.wallSeconds.toFixed(0)} s in all`);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------------
// The command

export const BENCH_FLAGS: readonly FlagSpec[] = [
  { name: 'presets', type: 'string', description: 'comma-separated presets', default: DEFAULT_BENCH_PRESETS.join(',') },
  { name: 'methods', type: 'string', description: 'comma-separated methods', default: allMethods().join(',') },
  { name: 'weights', type: 'string', description: 'auto (pretrained when cached, else initialised), init, or pretrained (pretrains missing ones)', default: 'auto' },
  { name: 'profile', type: 'string', description: 'pretraining profile of --weights pretrained/auto', default: 'quick' },
  { name: 'cache', type: 'string', description: 'model cache folder', default: DEFAULT_CACHE_DIR },
  { name: 'batch-size', type: 'integer', description: 'rows per batch', default: 16 },
  { name: 'sequence-length', type: 'integer', description: 'tokens per row', default: 64 },
  { name: 'iterations', type: 'integer', description: 'measured calls per timing', default: 20 },
  { name: 'warmup', type: 'integer', description: 'unmeasured calls first', default: 5 },
  { name: 'serving-tasks', type: 'integer', description: 'tasks in the mixed-serving batch (0 skips it)', default: 4 },
  { name: 'skip-reference', type: 'boolean', description: 'leave out the reference step' },
  { name: 'seed', type: 'integer', description: 'seed of weights, prompts and text', default: 0 },
  { name: 'out', type: 'string', description: 'folder for bench.json', default: DEFAULT_BENCH_DIR },
  { name: 'backend', type: 'string', description: 'tensorflow, wasm, cpu or auto (also PEFTSCALE_BACKEND)' },
  { name: 'json', type: 'boolean', description: 'print the report as JSON instead of tables' },
  { name: 'method', type: 'string', description: `bench reference only: ${referenceMethods().join(', ')}`, default: baselineMethod().name },
  { name: 'steps', type: 'integer', description: 'bench reference only: measured steps', default: 20 },
  { name: 'compare-pytorch', type: 'boolean', description: 'bench reference only: also run the step in PyTorch (one thread) and print the ratio' },
  { name: 'python', type: 'string', description: `bench reference only: the Python with torch for --compare-pytorch (also ${PYTHON_ENV_VAR}; default python3)` },
];

export const BENCH_USAGE = `peftscale bench [flags]            every benchmark; bench.json under --out
peftscale bench reference [--method ${referenceMethods().join('|')}] [--steps N] [--warmup N] [--compare-pytorch [--python PY]] [--json]
${formatFlags(BENCH_FLAGS)}`;

function listFlag(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** `peftscale bench [reference]`. */
export async function runBenchCommand(argv: string[]): Promise<void> {
  const args = parseArgs(argv, BENCH_FLAGS, 'peftscale bench');
  const [which, ...extra] = args.positionals;
  if (extra.length > 0 || (which !== undefined && which !== 'reference')) {
    throw new Error(`peftscale bench: ${unknownNameMessage('benchmark', args.positionals.join(' '), ['reference'])} (or none for every benchmark)`);
  }
  const json = booleanFlag(args, 'json');
  if (which === 'reference') {
    const allowed = ['method', 'steps', 'warmup', 'backend', 'json', 'compare-pytorch', 'python'];
    const given = [...args.flags.keys()].filter((name) => !allowed.includes(name));
    if (given.length > 0) throw new Error(`peftscale bench reference: --${given[0]} does not apply; allowed: ${allowed.map((a) => `--${a}`).join(', ')}`);
    if (args.flags.has('python') && !booleanFlag(args, 'compare-pytorch')) throw new Error('peftscale bench reference: --python applies with --compare-pytorch only');
    // Checked before any timing, so that a missing torch costs nothing.
    const python = booleanFlag(args, 'compare-pytorch') ? checkPytorch(stringFlag(args, 'python')) : null;
    const reference: ReferenceOptions = {
      ...REFERENCE_STEP,
      method: referenceMethod(stringFlag(args, 'method') ?? baselineMethod().name),
      warmup: atLeast(args, 'warmup', 0),
      steps: atLeast(args, 'steps', 1),
      ...(json ? {} : { onStep: (i: number, ms: number, cpuMs: number) => void process.stderr.write(`  step ${i + 1}: ${fixed(ms)} ms (CPU ${fixed(cpuMs)} ms)\n`) }),
    };
    const backend = await initBackend(stringFlag(args, 'backend'));
    process.stderr.write(`${describeBackend(backend)}\n`);
    if (!json) process.stderr.write(`reference step: ${describeReference(reference)}\n`);
    const result = await runReferenceStep(reference);
    const environment = benchEnvironment(backend);
    let pytorch: PytorchReference | null = null;
    if (python !== null) {
      if (!json) process.stderr.write(`the same step in PyTorch (${python}, one thread)\n`);
      const options = benchOptionsOf(reference.method);
      pytorch = runPytorchReference(python, {
        ...reference,
        promptLength: Number(options.length ?? 20),
        rank: Number(options.rank ?? 8),
        alpha: Number(options.alpha ?? options.rank ?? 8),
      });
    }
    const ratio = pytorch === null ? null : result.medianMs / pytorch.medianMs;
    const cpuRatio = pytorch === null || result.cpuMedianMs === undefined ? null : result.cpuMedianMs / pytorch.cpuMedianMs;
    if (json) process.stdout.write(`${JSON.stringify({ benchmark: 'reference-step', ...result, environment, ...(pytorch === null ? {} : { pytorch, ratioToPytorch: ratio, cpuRatioToPytorch: cpuRatio }) })}\n`);
    else {
      const threads = backend.threads === undefined ? '' : `, ${backend.threads} intra-op thread${backend.threads === 1 ? '' : 's'}`;
      const cpu = result.cpuMedianMs === undefined ? '' : ` (CPU ${fixed(result.cpuMedianMs)} ms)`;
      console.log(`reference step on ${backend.name}${threads} (${result.method}): median ${fixed(result.medianMs)} ms${cpu}, p99 ${fixed(result.p99Ms)} ms, ${Math.round(result.tokensPerSecond).toLocaleString('en-US')} tokens/s (${result.steps} steps after ${result.warmup} warm-up; ${environment.machine.cores} × ${environment.machine.cpu})`);
      if (pytorch !== null && ratio !== null) {
        const cpuRatio = result.cpuMedianMs === undefined ? '' : `, CPU time ${(result.cpuMedianMs / pytorch.cpuMedianMs).toFixed(2)}x`;
        console.log(
          `PyTorch ${pytorch.torch} (${pytorch.blas}, ${pytorch.threads} thread, Python ${pytorch.python}): median ${fixed(pytorch.medianMs)} ms (CPU ${fixed(pytorch.cpuMedianMs)} ms); ` +
            `${backend.name} / PyTorch = ${ratio.toFixed(2)}x wall${cpuRatio}`,
        );
      }
    }
    return;
  }
  for (const name of ['method', 'steps']) if (args.flags.has(name)) throw new Error(`peftscale bench: --${name} applies to \`peftscale bench reference\` only`);

  const weights = stringFlag(args, 'weights') ?? 'auto';
  if (!(WEIGHT_CHOICES as readonly string[]).includes(weights)) throw new Error(`peftscale bench: --weights: ${unknownNameMessage('value', weights, WEIGHT_CHOICES)}`);
  const profile = stringFlag(args, 'profile') ?? 'quick';
  withFlag('profile', () => resolveProfile(profile)); // unknown names fail before anything runs
  const presets = listFlag(stringFlag(args, 'presets') ?? DEFAULT_BENCH_PRESETS.join(','));
  const pretrainable = PRESETS.filter((p) => p.kind === 'pretrain').map((p) => p.name);
  const models = presets.map((name) => {
    const preset = withFlag('presets', () => findPreset(name));
    if (preset.kind !== 'pretrain') throw new Error(`peftscale bench: --presets ${name} is a published shape, too big to run here; allowed: ${pretrainable.join(', ')}`);
    return { name, config: preset.config };
  });
  const methods = listFlag(stringFlag(args, 'methods') ?? allMethods().join(','));
  for (const name of methods) if (!allMethods().includes(name)) throw new Error(`peftscale bench: --methods: ${unknownNameMessage('method', name, allMethods())}`);
  const servingTasks = atLeast(args, 'serving-tasks', 0);
  const options: BenchOptions = {
    models,
    methods,
    weights: weights as WeightChoice,
    profile,
    cacheDir: stringFlag(args, 'cache') ?? DEFAULT_CACHE_DIR,
    batchSize: atLeast(args, 'batch-size', 1),
    sequenceLength: atLeast(args, 'sequence-length', 2),
    warmup: atLeast(args, 'warmup', 0),
    iterations: atLeast(args, 'iterations', 1),
    seed: numberFlag(args, 'seed') ?? 0,
    mixedServing: servingTasks === 0 ? null : { tasks: servingTasks, promptLength: 20 },
    reference: booleanFlag(args, 'skip-reference') ? null : { ...REFERENCE_STEP, method: baselineMethod().name, warmup: 5, steps: 20 },
  };
  const backend = await initBackend(stringFlag(args, 'backend'));
  process.stderr.write(`${describeBackend(backend)}\n`);
  const report = await runBenchmarks(options, backend);
  const file = await writeBenchReport(stringFlag(args, 'out') ?? DEFAULT_BENCH_DIR, report);
  if (json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else console.log(formatBenchReport(report));
  process.stderr.write(`wrote ${file}\n`);
}

/** An integer flag's value (or its default in BENCH_FLAGS), refused below `least` with the flag, the value and the bound. */
function atLeast(args: ParsedArgs, name: string, least: number): number {
  const value = numberFlag(args, name) ?? (BENCH_FLAGS.find((flag) => flag.name === name)?.default as number);
  if (value < least) throw new Error(`peftscale bench: --${name} = ${value}: allowed: an integer ≥ ${least}`);
  return value;
}

/** Runs a lookup whose error names the value and what is allowed, prefixing the flag it came from. */
function withFlag<T>(flag: string, lookup: () => T): T {
  try {
    return lookup();
  } catch (error) {
    throw new Error(`peftscale bench: --${flag}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function referenceMethod(name: string): string {
  if (referenceMethods().includes(name)) return name;
  throw new Error(`peftscale bench reference: --method: ${unknownNameMessage('value', name, referenceMethods())}`);
}
