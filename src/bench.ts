/**
 * Timing and memory measurement for the cost benchmarks. Timing loops run on tinybench, synchronously:
 * every measured function here reads its result back, so the time includes the whole computation, not
 * just its dispatch. Warm-up calls come first (kernel setup, XNNPACK weight packing, JIT) and are not
 * measured. {@link timeSync} times one function; {@link timeInterleaved} times several in turn, round by
 * round, so that background load and slow drift fall on all of them alike; {@link timeAgainstBaseline}
 * brackets each call of a candidate by calls of a baseline and compares it with those (what "overhead
 * against the bare model" needs on a shared machine). Statistics use tinybench's definitions
 * (type-7 interpolated quantiles) on the recorded samples.
 *
 * Memory: the peak bytes held by tfjs tensors inside one call come from tf.profile (a snapshot after
 * every kernel); process RSS is sampled after every measured call.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Bench, type FnReturnedObject } from 'tinybench';
import type { AdaptedModel } from './adapted.js';
import { confidenceInterval } from './stats.js';
import { trainStep } from './train.js';

/** Statistics of one timed function, in milliseconds. */
export interface TimingSummary {
  warmup: number;
  iterations: number;
  /** Every measured call, in the order measured. */
  samplesMs: number[];
  medianMs: number;
  /** Interpolated 99th percentile (with few samples, close to the maximum). */
  p99Ms: number;
  meanMs: number;
  minMs: number;
  maxMs: number;
  /** Sample standard deviation. */
  sdMs: number;
  /** Relative margin of error of the mean at 95%, in percent. */
  rmePercent: number;
}

export interface TimeOptions {
  /** Unmeasured calls before measuring. */
  warmup: number;
  /** Measured calls (exactly this many: no time budget). */
  iterations: number;
  /** Called after every call, warm-up included, outside the measured time (memory sampling). */
  afterEach?: () => void;
  /** Called with each measured call's time as soon as it is measured (progress display). */
  /** Called after each measured call with its wall time and the process CPU time it used (all threads). */
  onSample?: (index: number, ms: number, cpuMs: number) => void;
}

/** Times a synchronous function with tinybench: `warmup` unmeasured calls, then exactly `iterations` measured ones. */
export function timeSync(name: string, fn: () => void, options: TimeOptions): TimingSummary {
  checkSchedule(name, options);
  const bench = new Bench({
    name,
    iterations: options.iterations,
    time: 0, // no time budget: exactly `iterations` calls
    warmup: options.warmup > 0,
    warmupIterations: options.warmup,
    warmupTime: 0,
    throws: true,
    retainSamples: true,
  });
  const samplesMs: number[] = [];
  let measuring = false;
  bench.add(
    name,
    (): FnReturnedObject => {
      // Timed here so the samples keep their order; tinybench records the same values.
      const start = bench.now();
      const cpuStart = process.cpuUsage();
      fn();
      const elapsed = bench.now() - start;
      if (measuring) {
        samplesMs.push(elapsed);
        const cpu = process.cpuUsage(cpuStart); // microseconds since cpuStart
        options.onSample?.(samplesMs.length - 1, elapsed, (cpu.user + cpu.system) / 1000);
      }
      return { overriddenDuration: elapsed };
    },
    {
      async: false, // without it tinybench calls fn once more to find out
      beforeAll: (mode) => void (measuring = mode === 'run'),
      ...(options.afterEach === undefined ? {} : { afterEach: options.afterEach }),
    },
  );
  const [task] = bench.runSync();
  const result = task.result;
  if (result.state === 'errored') throw result.error;
  if (result.state !== 'completed') throw new Error(`${name}: tinybench finished in state "${result.state}"`);
  if (result.latency.samplesCount !== options.iterations || samplesMs.length !== options.iterations) {
    throw new Error(`${name}: measured ${samplesMs.length} calls (tinybench counted ${result.latency.samplesCount}), expected ${options.iterations}`);
  }
  return summarizeSamples(samplesMs, options.warmup);
}

/** A function to time in rounds; `afterEach` runs after each of its calls, outside its measured time (memory sampling). */
export interface TimedFunction {
  name: string;
  fn: () => void;
  afterEach?: () => void;
}

function checkSchedule(what: string, options: Pick<TimeOptions, 'warmup' | 'iterations'>): void {
  if (!(Number.isInteger(options.iterations) && options.iterations >= 1)) throw new Error(`${what}: iterations = ${options.iterations}: allowed: an integer ≥ 1`);
  if (!(Number.isInteger(options.warmup) && options.warmup >= 0)) throw new Error(`${what}: warmup = ${options.warmup}: allowed: an integer ≥ 0`);
}

function checkRounds(what: string, names: readonly string[], options: Pick<TimeOptions, 'warmup' | 'iterations'>): void {
  checkSchedule(what, options);
  const repeated = names.find((name, i) => names.indexOf(name) !== i);
  if (repeated !== undefined) throw new Error(`${what}: two functions are named "${repeated}"; names must be unique`);
}

/** One round: each call in the order given, as one tinybench run; returns each call's time in ms. */
function runRound(round: number, calls: readonly TimedFunction[]): number[] {
  const bench = new Bench({ name: `round ${round}`, iterations: 1, time: 0, warmup: false, throws: true });
  const times: number[] = [];
  calls.forEach(({ fn, afterEach }, k) => {
    const task = (): FnReturnedObject => {
      const start = bench.now();
      fn();
      const elapsed = bench.now() - start;
      times[k] = elapsed;
      afterEach?.();
      return { overriddenDuration: elapsed };
    };
    bench.add(`${k}`, task, { async: false }); // a baseline runs several times a round: tinybench needs distinct names
  });
  for (const task of bench.runSync()) if (task.result.state === 'errored') throw task.result.error;
  return times;
}

/**
 * Times several functions in interleaved rounds: `warmup` unmeasured rounds, then `iterations` measured
 * ones, each round calling every function once, round r starting with function r (mod n) and going on in
 * the order given (so that none always runs first). Returns one summary per function, in the order given.
 */
export function timeInterleaved(functions: readonly TimedFunction[], options: Pick<TimeOptions, 'warmup' | 'iterations'>): TimingSummary[] {
  checkRounds('timeInterleaved', functions.map((f) => f.name), options);
  const samples = functions.map(() => [] as number[]);
  for (let round = 0; round < options.warmup + options.iterations; round++) {
    const order = functions.map((_, j) => (round + j) % functions.length);
    const times = runRound(round, order.map((i) => functions[i]));
    if (round >= options.warmup) order.forEach((i, k) => samples[i].push(times[k]));
  }
  return samples.map((measured) => summarizeSamples(measured, options.warmup));
}

/** Candidates timed against a baseline by {@link timeAgainstBaseline}. */
export interface BaselineComparison {
  /** Every measured baseline call (n + 1 a round). */
  baseline: TimingSummary;
  candidates: TimingSummary[];
  /**
   * Per candidate, the median over measured rounds of its time over the mean of the two baseline calls
   * just before and after it: 1 when it costs what the baseline costs.
   */
  ratios: number[];
}

/**
 * Times candidates against a baseline, each candidate call bracketed by baseline calls: a round runs
 * baseline, c, baseline, c', …, baseline, starting with candidate r (mod n) in round r. On a shared
 * machine speed changes within a second or so, which moves separately measured medians by ±20% where the
 * functions are the same; a ratio to the calls right beside it moves by a few percent.
 */
export function timeAgainstBaseline(baseline: TimedFunction, candidates: readonly TimedFunction[], options: Pick<TimeOptions, 'warmup' | 'iterations'>): BaselineComparison {
  checkRounds('timeAgainstBaseline', [baseline.name, ...candidates.map((c) => c.name)], options);
  const baselineSamples: number[] = [];
  const samples = candidates.map(() => [] as number[]);
  const ratios = candidates.map(() => [] as number[]);
  for (let round = 0; round < options.warmup + options.iterations; round++) {
    const order = candidates.map((_, j) => (round + j) % candidates.length);
    const times = runRound(round, [baseline, ...order.flatMap((i) => [candidates[i], baseline])]); // b, c, b, c', …, b
    if (round < options.warmup) continue;
    baselineSamples.push(...times.filter((_, k) => k % 2 === 0));
    order.forEach((i, j) => {
      const [before, own, after] = times.slice(2 * j, 2 * j + 3);
      samples[i].push(own);
      ratios[i].push(own / ((before + after) / 2));
    });
  }
  return {
    baseline: summarizeSamples(baselineSamples, options.warmup),
    candidates: samples.map((measured) => summarizeSamples(measured, options.warmup)),
    ratios: ratios.map((perRound) => median(perRound)),
  };
}

/** Type-7 interpolated quantile of ascending values (tinybench's and R's default), q in [0, 1]. */
export function interpolatedQuantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new Error('interpolatedQuantile of an empty list');
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.min(sorted.length - 1, low + 1);
  return sorted[low] + (position - low) * (sorted[high] - sorted[low]);
}

/** Statistics of measured samples (in the order measured). */
export function summarizeSamples(samplesMs: readonly number[], warmup: number): TimingSummary {
  if (samplesMs.length === 0) throw new Error('summarizeSamples: no samples');
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const interval = confidenceInterval(samplesMs);
  const many = samplesMs.length > 1;
  return {
    warmup,
    iterations: samplesMs.length,
    samplesMs: [...samplesMs],
    medianMs: interpolatedQuantile(sorted, 0.5),
    p99Ms: interpolatedQuantile(sorted, 0.99),
    meanMs: interval.mean,
    minMs: sorted[0],
    maxMs: sorted[sorted.length - 1],
    sdMs: many ? interval.std : 0,
    rmePercent: many && interval.mean !== 0 ? (100 * (interval.high - interval.mean)) / Math.abs(interval.mean) : 0,
  };
}

/** Running maxima of tfjs tensor bytes and process RSS, sampled by calling {@link MemoryPeak.sample}. */
export class MemoryPeak {
  tensorBytes = tf.memory().numBytes;
  rssBytes = process.memoryUsage().rss;

  sample(): void {
    this.tensorBytes = Math.max(this.tensorBytes, tf.memory().numBytes);
    this.rssBytes = Math.max(this.rssBytes, process.memoryUsage().rss);
  }

  /** Also counts a peak observed elsewhere (tf.profile's peakBytes). */
  includeTensorBytes(bytes: number): void {
    this.tensorBytes = Math.max(this.tensorBytes, bytes);
  }
}

/** The most bytes tfjs tensors held at any kernel boundary while `fn` ran (tf.profile's peakBytes). */
export async function peakTensorBytes(fn: () => void): Promise<number> {
  const before = tf.memory().numBytes;
  const profile = await tf.profile(() => {
    fn();
  });
  // peakBytes is -Infinity when fn ran no kernel.
  return Number.isFinite(profile.peakBytes) ? Math.max(before, profile.peakBytes) : before;
}

export interface StepTiming extends TimingSummary {
  /** Real tokens per second at the median step time. */
  tokensPerSecond: number;
  /** Loss of the last step (a sanity check that the step computed something finite). */
  lastLoss: number;
  /** Tensors alive after the measured steps minus before: anything non-zero is a leak. */
  leakedTensors: number;
  /** Largest tfjs tensor bytes seen after any step. */
  peakTensorBytes: number;
  /** Peak process resident set size seen during the measured steps, in bytes. */
  peakRssBytes: number;
}

/** Times training steps of an adapted model on one batch [B, T]: median, p99, tokens/s, memory. */
export function timeTrainingSteps(
  model: AdaptedModel,
  optimizer: tf.Optimizer,
  tokens: tf.Tensor2D,
  options: { warmupSteps: number; steps: number; onStep?: (index: number, ms: number, cpuMs: number) => void },
): StepTiming {
  if (options.steps < 1) throw new Error(`steps = ${options.steps}: allowed: at least 1`);
  let lastLoss = NaN;
  let tensorsBefore = tf.memory().numTensors;
  let calls = 0;
  const memory = new MemoryPeak();
  const timing = timeSync(`train ${model.method.name}`, () => void (lastLoss = trainStep(model, optimizer, tokens)), {
    warmup: options.warmupSteps,
    iterations: options.steps,
    ...(options.onStep === undefined ? {} : { onSample: options.onStep }),
    afterEach: () => {
      calls += 1;
      if (calls === Math.max(1, options.warmupSteps)) tensorsBefore = tf.memory().numTensors; // the optimiser's state exists after step 1
      memory.sample();
    },
  });
  return {
    ...timing,
    tokensPerSecond: (tokens.size / timing.medianMs) * 1000,
    lastLoss,
    leakedTensors: tf.memory().numTensors - tensorsBefore,
    peakTensorBytes: memory.tensorBytes,
    peakRssBytes: memory.rssBytes,
  };
}

/** The median: the mean of the two middle values for an even count (the type-7 quantile at 0.5). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of an empty list');
  return interpolatedQuantile([...values].sort((a, b) => a - b), 0.5);
}

// ---------------------------------------------------------------------------------------------------
// bench.json: the contract between `peftscale bench` (experiments/bench.ts) and the reports.

/** Identifies a peftscale bench.json. */
export const BENCH_FORMAT = 'peftscale-bench';
/** Bumped when a field is renamed or removed (adding one is compatible). */
export const BENCH_FORMAT_VERSION = 1;
/** The method column of the frozen model's row (no adapter): the baseline of the inference overheads. */
export const BARE_ROW = 'bare';

/** A flat table column: every row holds `key` as a number, a string, or null where it does not apply. */
export interface BenchColumn {
  key: string;
  type: 'string' | 'number';
  /** Whether null is allowed ("does not apply": e.g. training time of the bare model). */
  nullable: boolean;
  /** Unit for display: ms, bytes, tokens/s, rows/s, fraction, count, or '' for none. */
  unit: string;
  description: string;
}

/** One row per (preset, method, variant): cost of training and inference and storage. */
export interface BenchRow {
  preset: string;
  /** Frozen base parameters. */
  parameters: number;
  /** A method name, or {@link BARE_ROW} for the frozen model alone. */
  method: string;
  /** "" or, for a method with merged weights (LoRA), "unmerged" / "merged". */
  variant: string;
  /** The method's resolved options as one string (optionsLabel). */
  options: string;
  /** "pretrained" (a cached pretrained checkpoint) or "initialised" (seeded random weights: same cost). */
  weights: string;
  trainable: number;
  /** Virtual tokens: input positions before the real tokens (prompt methods) or key/value positions per layer (prefix tuning). */
  virtualTokens: number;
  trainMedianMs: number | null;
  trainP99Ms: number | null;
  /** Real tokens per second at the median step. */
  trainTokensPerSecond: number | null;
  /** Most bytes held by tfjs tensors during one training step (tf.profile). */
  trainPeakTensorBytes: number | null;
  inferMedianMs: number;
  inferP99Ms: number;
  inferRowsPerSecond: number;
  /**
   * Forward pass over the bare model's on the same preset, minus 1: the median over rounds of each pass
   * over the bare passes just before and after it (timeAgainstBaseline); 0 for the bare row.
   */
  inferOverhead: number;
  inferPeakTensorBytes: number;
  /** Bytes of the saved adapter folder (adapter.safetensors + adapter.json): storage per task. */
  adapterBytes: number | null;
  /** Bytes of the saved tensors alone (float32). */
  adapterTensorBytes: number | null;
  /** Largest process RSS seen while this row was measured (the whole process). */
  peakRssBytes: number;
  /** Tensors left alive by the measured training steps (non-zero is a leak). */
  leakedTensors: number | null;
}

const column = (key: keyof BenchRow & string, type: 'string' | 'number', nullable: boolean, unit: string, description: string): BenchColumn => ({ key, type, nullable, unit, description });

/** The columns of {@link BenchRow}, in display order. */
export const BENCH_COLUMNS: readonly BenchColumn[] = [
  column('preset', 'string', false, '', 'frozen model preset'),
  column('parameters', 'number', false, 'count', 'frozen base parameters'),
  column('method', 'string', false, '', 'method ("bare": the frozen model alone)'),
  column('variant', 'string', false, '', 'LoRA: unmerged (extra matmuls) or merged (folded into the weights)'),
  column('options', 'string', false, '', "the method's options"),
  column('weights', 'string', false, '', 'pretrained or initialised weights (timing is the same)'),
  column('trainable', 'number', false, 'count', 'trainable parameters'),
  column('virtualTokens', 'number', false, 'count', 'virtual tokens: input positions (prompt methods) or key/value positions per layer (prefix tuning)'),
  column('trainMedianMs', 'number', true, 'ms', 'median training step (forward, backward, Adam update)'),
  column('trainP99Ms', 'number', true, 'ms', '99th percentile training step'),
  column('trainTokensPerSecond', 'number', true, 'tokens/s', 'real tokens trained per second at the median step'),
  column('trainPeakTensorBytes', 'number', true, 'bytes', 'peak tfjs tensor bytes during a training step'),
  column('inferMedianMs', 'number', false, 'ms', 'median forward pass of the batch, logits read back'),
  column('inferP99Ms', 'number', false, 'ms', '99th percentile forward pass'),
  column('inferRowsPerSecond', 'number', false, 'rows/s', 'rows per second at the median forward pass'),
  column('inferOverhead', 'number', false, 'fraction', "forward pass over the bare model's, minus 1: median over rounds of the ratio to the bare passes just before and after"),
  column('inferPeakTensorBytes', 'number', false, 'bytes', 'peak tfjs tensor bytes during a forward pass'),
  column('adapterBytes', 'number', true, 'bytes', 'saved adapter folder: storage per task'),
  column('adapterTensorBytes', 'number', true, 'bytes', 'saved adapter tensors alone'),
  column('peakRssBytes', 'number', false, 'bytes', 'largest process RSS while measuring this row'),
  column('leakedTensors', 'number', true, 'count', 'tensors left behind by the training steps (0 expected)'),
];

/** Mixed-task serving on one preset: one batch whose rows have different tasks' prompts. */
export interface MixedServingRow {
  preset: string;
  tasks: number;
  promptLength: number;
  batchSize: number;
  sequenceLength: number;
  /** Forward passes for one mixed batch (1 when all prompts have one length) and for per-task batches. */
  mixedPasses: number;
  separatePasses: number;
  mixedMedianMs: number;
  separateMedianMs: number;
  mixedRowsPerSecond: number;
  separateRowsPerSecond: number;
  /** Per-task batches' time over the mixed batch's: the median over rounds of each per-task call over the mixed calls just before and after it. */
  speedup: number;
  /** Largest |logit| difference between a row in the mixed batch and the same row run alone (0: bit-identical). */
  maxAbsDifference: number;
}

/** The reference training step of the core issue (src/config.ts REFERENCE_STEP). */
export interface ReferenceStepResult {
  method: string;
  options: string;
  dModel: number;
  nLayers: number;
  nHeads: number;
  dFF: number;
  vocabSize: number;
  batchSize: number;
  sequenceLength: number;
  warmup: number;
  steps: number;
  medianMs: number;
  p99Ms: number;
  meanMs: number;
  tokensPerSecond: number;
  lastLoss: number;
  leakedTensors: number;
  peakTensorBytes: number;
  peakRssBytes: number;
  samplesMs: number[];
  /**
   * Median process CPU time per step (user + system, all threads). On a shared machine wall time
   * includes waiting for a core; with one compute thread, CPU time is the work itself. Absent in older files.
   */
  cpuMedianMs?: number;
}

/** A model the benchmark ran on. */
export interface BenchModelInfo {
  preset: string;
  parameters: number;
  weights: 'pretrained' | 'initialised';
  /** The checkpoint folder of pretrained weights; null for initialised ones. */
  source: string | null;
}

/** bench.json. */
export interface BenchReport {
  format: typeof BENCH_FORMAT;
  formatVersion: number;
  createdAt: string;
  wallSeconds: number;
  environment: {
    backend: string;
    versions: Record<string, string>;
    gitHash: string;
    gitDirty: boolean;
    machine: { cpu: string; cores: number; memoryBytes: number; platform: string; node: string };
  };
  settings: {
    presets: string[];
    methods: string[];
    /** The options each method was run with. */
    methodOptions: Record<string, string>;
    /** What --weights asked for: auto (pretrained when cached), init or pretrained. */
    weights: string;
    batchSize: number;
    sequenceLength: number;
    /** What the token rows are. */
    batchText: string;
    warmup: number;
    iterations: number;
    optimizer: string;
    seed: number;
  };
  models: BenchModelInfo[];
  columns: BenchColumn[];
  rows: BenchRow[];
  mixedServing: MixedServingRow[];
  reference: ReferenceStepResult | null;
}

/** Every way `value` differs from a {@link BenchReport} (top-level fields, row columns and types); empty when it conforms. */
export function benchReportProblems(value: unknown): string[] {
  const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isRecord(value)) return ['bench.json must be a JSON object'];
  const problems: string[] = [];
  if (value.format !== BENCH_FORMAT) problems.push(`format is ${JSON.stringify(value.format)}, expected "${BENCH_FORMAT}"`);
  if (value.formatVersion !== BENCH_FORMAT_VERSION) problems.push(`formatVersion is ${JSON.stringify(value.formatVersion)}, expected ${BENCH_FORMAT_VERSION}`);
  for (const key of ['createdAt'] as const) if (typeof value[key] !== 'string') problems.push(`${key} must be a string`);
  if (typeof value.wallSeconds !== 'number') problems.push('wallSeconds must be a number');
  for (const key of ['environment', 'settings'] as const) if (!isRecord(value[key])) problems.push(`${key} must be an object`);
  if (isRecord(value.environment)) {
    for (const key of ['backend', 'gitHash']) if (typeof value.environment[key] !== 'string') problems.push(`environment.${key} must be a string`);
    if (!isRecord(value.environment.machine)) problems.push('environment.machine must be an object');
  }
  for (const key of ['models', 'columns', 'rows', 'mixedServing'] as const) if (!Array.isArray(value[key])) problems.push(`${key} must be an array`);
  if (Array.isArray(value.rows)) {
    const declared = new Set(BENCH_COLUMNS.map((c) => c.key));
    value.rows.forEach((row: unknown, i) => {
      if (!isRecord(row)) return void problems.push(`rows[${i}] must be an object`);
      for (const c of BENCH_COLUMNS) {
        const cell = row[c.key];
        const ok = (cell === null && c.nullable) || (c.type === 'number' ? typeof cell === 'number' && Number.isFinite(cell) : typeof cell === c.type);
        if (!ok) problems.push(`rows[${i}].${c.key} = ${JSON.stringify(cell)}: allowed: ${c.type === 'number' ? 'a finite number' : 'a string'}${c.nullable ? ' or null' : ''}`);
      }
      for (const key of Object.keys(row)) if (!declared.has(key)) problems.push(`rows[${i}].${key}: not a declared column`);
    });
  }
  if (value.reference !== null && !isRecord(value.reference)) problems.push('reference must be an object or null');
  return problems;
}
