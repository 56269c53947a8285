/**
 * The per-method measurement of `peftscale bench` on one preset: every method's training steps timed in
 * interleaved rounds, its adapter saved (storage per task) and loaded back, and each forward pass timed
 * against the bare frozen model's. The methods, their options and which have a merged variant come from
 * their cards (methods/); this file names none.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { AdaptedModel } from '../../src/adapt/adapted.js';
import { saveAdapter } from '../../src/io/adapter_io.js';
import { loadAdapter } from '../../src/io/adapter_load.js';
import { BARE_ROW, type BenchModelInfo, type BenchRow } from '../../src/results/bench.js';
import { MemoryPeak, peakTensorBytes, timeAgainstBaseline, timeInterleaved, type TimedFunction, type TimingSummary } from '../../src/util/bench_timing.js';
import { GPT2 } from '../../src/model/model.js';
import { getMethod, registeredMethods, resolveOptions, type MethodContext } from '../../src/adapt/peft.js';
import { optionsLabel } from '../../src/results/results.js';
import { ByteTokenizer } from '../../src/io/tokenizer.js';
import { createOptimizer, trainStep } from '../../src/training/train.js';
import { methodCard } from '../../src/adapt/method_card.js';
import '../../methods/index.js'; // registers every method: --methods, its defaults and each one's benchmark options
import { fixed, percent } from './bench_text.js';

/** The options a method is benchmarked with: its card's (PEFT's common settings); an unknown method is an error. */
export function benchOptionsOf(name: string): Readonly<Record<string, string>> {
  return methodCard(name).benchmark.options;
}

/** Every method, in the registry's order: what --methods defaults to. */
export const allMethods = (): string[] => registeredMethods().map((m) => m.name);

/** The settings the per-method measurement uses (a part of BenchOptions). */
export interface MethodBenchSettings {
  methods: string[];
  batchSize: number;
  warmup: number;
  iterations: number;
  seed: number;
}

const tokenizer = new ByteTokenizer();

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
export function readBack(forward: () => tf.Tensor): () => void {
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
export async function benchPreset(base: GPT2, info: BenchModelInfo, tokens: tf.Tensor2D, dir: string, options: MethodBenchSettings, log: (message: string) => void): Promise<BenchRow[]> {
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
export function benchContext(base: GPT2, seed: number): MethodContext {
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
export function createMethod(base: GPT2, name: string, seed: number): MethodUnderTest {
  const method = getMethod(name);
  const resolved = resolveOptions(method, benchOptionsOf(name), base.config);
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
async function timeTraining(methods: readonly MethodUnderTest[], tokens: tf.Tensor2D, options: Pick<MethodBenchSettings, 'warmup' | 'iterations'>): Promise<Map<string, TrainMeasure>> {
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
