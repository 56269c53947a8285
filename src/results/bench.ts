/**
 * bench.json: the contract between `peftscale bench` (experiments/commands/bench_command.ts and the
 * experiments/bench_*.ts it runs) and the reports, which read it (reports/load.ts, bench_section.ts).
 * The timing and memory measurement behind its numbers is src/util/bench_timing.ts.
 */

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
/** Trial packing on one preset: a prompt-tuning sweep trained one trial at a time against packed (experiments/bench/bench_packing.ts). */
export interface PackingBenchRow {
  preset: string;
  method: string;
  /** Trials in the sweep, and the sweep in words (seeds × lengths × inits). */
  trials: number;
  sweep: string;
  /** Rows per step of one trial; most rows per packed step; packs the sweep makes. */
  batchSize: number;
  maxRows: number;
  packs: number;
  /** Real tokens per row. */
  sequenceLength: number;
  /** Steps per trial behind the trials-per-hour figures. */
  steps: number;
  /** Training only (the median step times the steps; evaluation, which packing leaves as it is, not counted). */
  aloneTrialsPerHour: number;
  packedTrialsPerHour: number;
  /** packed / alone trials per hour. */
  speedup: number;
  /** Training tokens (real and virtual positions) per second over the sweep. */
  aloneTokensPerSecond: number;
  packedTokensPerSecond: number;
}

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

/** The reference training step of the core issue (src/model/config.ts REFERENCE_STEP). */
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
  /** Trial packing per preset (absent in bench.json written before it, or with --pack-rows 0: empty). */
  packing?: PackingBenchRow[];
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
