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
import type { AdaptedModel } from '../adapt/adapted.js';
import { confidenceInterval } from '../results/stats.js';
import { trainStep } from '../training/train.js';

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
