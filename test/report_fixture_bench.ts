/**
 * A synthetic bench.json for tests and previews of the report (see report_fixtures.ts). Nothing here is
 * measured.
 */
import { BENCH_COLUMNS, BENCH_FORMAT, BENCH_FORMAT_VERSION, type BenchReport, type BenchRow, type MixedServingRow } from '../src/results/bench.js';
import { findPreset, REFERENCE_STEP } from '../src/model/config.js';
import { countParameters, modelParameterSpecs } from '../src/model/params.js';
import { ENVIRONMENT, FIXTURE_PRESETS, methodOptions, parameterCounts } from './report_fixture_shapes.js';

/** The fixture benchmark's git commit: not the experiment's, so the report must say the two are separate runs. */
export const FIXTURE_BENCH_GIT = 'b3nchf1x7ure';

/** Per method (and LoRA variant): inference overhead against the bare model on presets 0, 1, 2 (a fraction). */
const BENCH_OVERHEADS: readonly { method: string; variant: string; overhead: [number, number, number]; virtualTokens: number; trainFactor: number | null }[] = [
  { method: 'bare', variant: '', overhead: [0, 0, 0], virtualTokens: 0, trainFactor: null },
  { method: 'full', variant: '', overhead: [0.004, -0.003, 0.002], virtualTokens: 0, trainFactor: 1 },
  { method: 'prompt-tuning', variant: '', overhead: [0.31, 0.22, 0.13], virtualTokens: 20, trainFactor: 0.8 },
  { method: 'prefix-tuning', variant: '', overhead: [0.12, 0.09, 0.07], virtualTokens: 20, trainFactor: 0.75 },
  { method: 'p-tuning', variant: '', overhead: [0.33, 0.23, 0.14], virtualTokens: 20, trainFactor: 0.85 },
  { method: 'lora', variant: 'unmerged', overhead: [0.08, 0.06, 0.05], virtualTokens: 0, trainFactor: 0.7 },
  { method: 'lora', variant: 'merged', overhead: [0.003, -0.002, 0.001], virtualTokens: 0, trainFactor: null },
  { method: 'bitfit', variant: '', overhead: [0.002, 0.001, -0.001], virtualTokens: 0, trainFactor: 0.65 },
  { method: 'prompt-design', variant: '', overhead: [0.2, 0.14, 0.09], virtualTokens: 12, trainFactor: null },
];
const BENCH_OPTIONS: Record<string, string> = {
  full: '',
  'prompt-tuning': 'init=random-uniform init-range=0.5 length=20',
  'prefix-tuning': 'length=20 projection=0',
  'p-tuning': 'encoder=mlp hidden=0 length=20',
  lora: 'alpha=8 dropout=0 rank=8 targets=c_attn',
  bitfit: 'biases=all',
  'prompt-design': 'shots=0 template=Answer the question.',
};
const BENCH_BATCH = 16;
const BENCH_SEQUENCE = 64;
const BENCH_JSON_BYTES = 310; // adapter.json beside the tensors

/**
 * A bench.json in the declared format (src/results/bench.ts BenchReport): every method and LoRA variant on the
 * three fixture presets, mixed serving and the reference step. Values are synthetic, shaped like a
 * wasm run (prompt tuning's overhead shrinks as the model grows, merged LoRA costs nothing); trainable
 * and adapter sizes follow the real formulas. The machine is named a fixture, and the git commit
 * differs from the experiment fixture's.
 */
export function fixtureBench(): BenchReport {
  const rows: BenchRow[] = [];
  const mixedServing: MixedServingRow[] = [];
  FIXTURE_PRESETS.forEach((preset, i) => {
    const bareMs = 4 + 3 * i;
    for (const entry of BENCH_OVERHEADS) {
      const options = entry.method === 'bare' ? {} : methodOptions(entry.method);
      const counts = entry.method === 'bare' ? { trainable: 0, saved: 0, base: parameterCounts('full', preset, {}).base } : parameterCounts(entry.method, preset, options);
      const inferMs = bareMs * (1 + entry.overhead[i]);
      const trainMs = entry.trainFactor === null ? null : bareMs * 3.2 * entry.trainFactor * (1 + entry.virtualTokens / BENCH_SEQUENCE);
      const adapterTensorBytes = entry.method === 'bare' ? null : counts.saved * 4;
      rows.push({
        preset,
        parameters: counts.base,
        method: entry.method,
        variant: entry.variant,
        options: BENCH_OPTIONS[entry.method] ?? '',
        weights: i === 0 ? 'pretrained' : 'initialised',
        trainable: entry.method === 'prompt-design' ? 0 : counts.trainable,
        virtualTokens: entry.virtualTokens,
        trainMedianMs: trainMs,
        trainP99Ms: trainMs === null ? null : trainMs * 1.18,
        trainTokensPerSecond: trainMs === null ? null : ((BENCH_BATCH * BENCH_SEQUENCE) / trainMs) * 1000,
        trainPeakTensorBytes: trainMs === null ? null : Math.round(counts.base * 4 * (entry.method === 'full' ? 4 : 1.3) + BENCH_BATCH * BENCH_SEQUENCE * 2e4 * (i + 1)),
        inferMedianMs: inferMs,
        inferP99Ms: inferMs * 1.12,
        inferRowsPerSecond: (BENCH_BATCH / inferMs) * 1000,
        inferOverhead: entry.overhead[i],
        inferPeakTensorBytes: Math.round(counts.base * 4 + BENCH_BATCH * (BENCH_SEQUENCE + entry.virtualTokens) * 1.1e4 * (i + 1)),
        adapterBytes: adapterTensorBytes === null ? null : adapterTensorBytes + BENCH_JSON_BYTES,
        adapterTensorBytes,
        peakRssBytes: 240e6 + 30e6 * i,
        leakedTensors: trainMs === null ? null : 0,
      });
    }
    const mixedMs = bareMs * 1.31;
    const separateMs = mixedMs * (2.4 + 0.2 * i);
    mixedServing.push({
      preset,
      tasks: 4,
      promptLength: 20,
      batchSize: BENCH_BATCH,
      sequenceLength: BENCH_SEQUENCE,
      mixedPasses: 1,
      separatePasses: 4,
      mixedMedianMs: mixedMs,
      separateMedianMs: separateMs,
      mixedRowsPerSecond: (BENCH_BATCH / mixedMs) * 1000,
      separateRowsPerSecond: (BENCH_BATCH / separateMs) * 1000,
      speedup: separateMs / mixedMs,
      maxAbsDifference: i === 1 ? 2.4e-7 : 0,
    });
  });
  const reference = REFERENCE_STEP;
  const samplesMs = Array.from({ length: 20 }, (_, k) => 470 + ((k * 37) % 61));
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const tokens = reference.batchSize * reference.sequenceLength;
  return {
    format: BENCH_FORMAT,
    formatVersion: BENCH_FORMAT_VERSION,
    createdAt: '2025-01-16T09:00:00.000Z',
    wallSeconds: 742,
    environment: { ...ENVIRONMENT, gitHash: FIXTURE_BENCH_GIT, gitDirty: true, machine: { ...ENVIRONMENT.machine, cpu: 'fixture CPU (synthetic bench)' } },
    settings: {
      presets: [...FIXTURE_PRESETS],
      methods: [...new Set(BENCH_OVERHEADS.filter((e) => e.method !== 'bare').map((e) => e.method))],
      methodOptions: Object.fromEntries(Object.entries(BENCH_OPTIONS)),
      weights: 'auto',
      batchSize: BENCH_BATCH,
      sequenceLength: BENCH_SEQUENCE,
      batchText: `${BENCH_BATCH} rows × ${BENCH_SEQUENCE} tokens (synthetic fixture: nothing was run)`,
      warmup: 5,
      iterations: 20,
      optimizer: 'adam (learning rate 1e-3)',
      seed: 0,
    },
    models: FIXTURE_PRESETS.map((preset, i) => ({
      preset,
      parameters: countParameters(modelParameterSpecs(findPreset(preset).config)),
      weights: i === 0 ? ('pretrained' as const) : ('initialised' as const),
      source: i === 0 ? `.cache/peftscale/${preset}-fixture` : null,
    })),
    columns: [...BENCH_COLUMNS],
    rows,
    mixedServing,
    reference: {
      method: 'full',
      options: '',
      dModel: reference.config.dModel,
      nLayers: reference.config.nLayers,
      nHeads: reference.config.nHeads,
      dFF: reference.config.dFF,
      vocabSize: reference.config.vocabSize,
      batchSize: reference.batchSize,
      sequenceLength: reference.sequenceLength,
      warmup: 5,
      steps: samplesMs.length,
      medianMs: (sorted[9] + sorted[10]) / 2,
      p99Ms: sorted[18] + 0.81 * (sorted[19] - sorted[18]),
      meanMs: samplesMs.reduce((a, b) => a + b, 0) / samplesMs.length,
      tokensPerSecond: (tokens / ((sorted[9] + sorted[10]) / 2)) * 1000,
      lastLoss: 5.48,
      leakedTensors: 0,
      peakTensorBytes: 61_000_000,
      peakRssBytes: 310e6,
      samplesMs,
    },
  };
}
