/**
 * The `peftscale bench [reference|head]` command: its flags, checked before any backend starts (each error
 * names the flag, the value and what is allowed), then bench_run.ts (every benchmark, bench.json) or
 * bench_reference.ts alone (with --compare-pytorch, beside bench_pytorch.ts), or bench_head.ts alone.
 */
import { describeBackend, initBackend } from '../../src/model/backend.js';
import '../../methods/index.js';
import { booleanFlag, numberFlag, stringFlag, type FlagSpec, type ParsedArgs } from '../../src/util/cli_args.js';
import { findPreset, PRESETS, REFERENCE_STEP, unknownNameMessage } from '../../src/model/config.js';
import { baselineMethod } from '../../src/adapt/method_card.js';
import { allMethods, benchOptionsOf } from '../bench/bench_methods.js';
import { checkPytorch, PYTHON_ENV_VAR, runPytorchReference, type PytorchReference } from '../bench/bench_pytorch.js';
import { formatHeadBench, runHeadBench } from '../bench/bench_head.js';
import { describeReference, referenceMethods, runReferenceStep, type ReferenceOptions } from '../bench/bench_reference.js';
import { benchEnvironment, DEFAULT_BENCH_DIR, DEFAULT_BENCH_PRESETS, runBenchmarks, WEIGHT_CHOICES, writeBenchReport, type BenchOptions, type WeightChoice } from '../bench/bench_run.js';
import { fixed, formatBenchReport } from '../bench/bench_text.js';
import { DEFAULT_PACKING_BENCH, type PackingBenchSettings } from '../bench/bench_packing.js';
import { DEFAULT_CACHE_DIR } from '../pretrain/pretrain_family.js';
import { resolveProfile } from '../pretrain/pretrain_profiles.js';
import { jsonFlag, runCommand, type Command } from './command.js';
import { BACKEND_FLAG, CACHE_FLAG, PROFILE_FLAG } from './flags.js';

export const BENCH_FLAGS: readonly FlagSpec[] = [
  { name: 'presets', type: 'string', description: 'comma-separated presets', default: DEFAULT_BENCH_PRESETS.join(',') },
  { name: 'methods', type: 'string', description: 'comma-separated methods', default: allMethods().join(',') },
  { name: 'weights', type: 'string', description: 'auto (pretrained when cached, else initialised), init, or pretrained (pretrains missing ones)', default: 'auto' },
  PROFILE_FLAG,
  CACHE_FLAG,
  { name: 'batch-size', type: 'integer', description: 'rows per batch', default: 16 },
  { name: 'sequence-length', type: 'integer', description: 'tokens per row', default: 64 },
  { name: 'iterations', type: 'integer', description: 'measured calls per timing', default: 20 },
  { name: 'warmup', type: 'integer', description: 'unmeasured calls first', default: 5 },
  { name: 'serving-tasks', type: 'integer', description: 'tasks in the mixed-serving batch (0 skips it)', default: 4 },
  { name: 'skip-reference', type: 'boolean', description: 'leave out the reference step' },
  { name: 'pack-rows', type: 'integer', description: 'trial packing: most rows per packed step (0 skips the packing benchmark)', default: DEFAULT_PACKING_BENCH.maxRows },
  { name: 'pack-batch', type: 'integer', description: 'trial packing: rows per step of one trial', default: DEFAULT_PACKING_BENCH.batchSize },
  { name: 'pack-seeds', type: 'integer', description: 'trial packing: seeds in the sweep', default: DEFAULT_PACKING_BENCH.seeds },
  { name: 'pack-lengths', type: 'string', description: 'trial packing: prompt lengths in the sweep', default: DEFAULT_PACKING_BENCH.lengths.join(',') },
  { name: 'pack-inits', type: 'string', description: 'trial packing: prompt inits in the sweep', default: DEFAULT_PACKING_BENCH.inits.join(',') },
  { name: 'pack-steps', type: 'integer', description: 'trial packing: steps per trial behind trials per hour', default: DEFAULT_PACKING_BENCH.steps },
  { name: 'seed', type: 'integer', description: 'seed of weights, prompts and text', default: 0 },
  { name: 'out', type: 'string', description: 'folder for bench.json', default: DEFAULT_BENCH_DIR },
  BACKEND_FLAG,
  jsonFlag('print the report as JSON instead of tables'),
  { name: 'method', type: 'string', description: `bench reference only: ${referenceMethods().join(', ')}`, default: baselineMethod().name },
  { name: 'steps', type: 'integer', description: 'bench reference only: measured steps', default: 20 },
  { name: 'compare-pytorch', type: 'boolean', description: 'bench reference only: also run the step in PyTorch (one thread) and print the ratio' },
  { name: 'python', type: 'string', description: `bench reference only: the Python with torch for --compare-pytorch (also ${PYTHON_ENV_VAR}; default python3)` },
  { name: 'preset', type: 'string', description: 'bench head only: the model shape (any preset; seeded initial weights)', default: 'gpt2' },
  { name: 'layers', type: 'integer', description: "bench head only: blocks (default the preset's)" },
  { name: 'scored', type: 'integer', description: 'bench head only: answer tokens per row', default: 2 },
];

/** `bench head`'s own defaults where the shared flags' suit the full benchmark (gpt2 steps take seconds here). */
const HEAD_DEFAULTS = { 'batch-size': 4, 'sequence-length': 64, warmup: 1, iterations: 3 } as const;

export const command: Command<void> = {
  name: 'bench',
  summary: 'cost benchmarks: training and inference per method, storage, mixed-task serving, the reference step',
  synopsis: `peftscale bench [flags]            every benchmark; bench.json under --out
peftscale bench head [--preset gpt2] [--layers N] [--batch-size 4] [--sequence-length 64] [--scored 2] [--warmup 1] [--iterations 3] [--json]
peftscale bench reference [--method ${referenceMethods().join('|')}] [--steps N] [--warmup N] [--compare-pytorch [--python PY]] [--json]`,
  flags: BENCH_FLAGS,
  run: bench,
};

function listFlag(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** `peftscale bench [reference] ARGV` (tests call it directly). */
export async function runBenchCommand(argv: string[]): Promise<void> {
  await runCommand(command, argv);
}

async function bench(args: ParsedArgs): Promise<void> {
  const [which, ...extra] = args.positionals;
  if (extra.length > 0 || (which !== undefined && which !== 'reference' && which !== 'head')) {
    throw new Error(`peftscale bench: ${unknownNameMessage('benchmark', args.positionals.join(' '), ['reference', 'head'])} (or none for every benchmark)`);
  }
  const json = booleanFlag(args, 'json');
  if (which === 'head') {
    const allowed = ['preset', 'layers', 'batch-size', 'sequence-length', 'scored', 'warmup', 'iterations', 'backend', 'json'];
    const given = [...args.flags.keys()].filter((name) => !allowed.includes(name));
    if (given.length > 0) throw new Error(`peftscale bench head: --${given[0]} does not apply; allowed: ${allowed.map((a) => `--${a}`).join(', ')}`);
    const preset = stringFlag(args, 'preset') ?? 'gpt2';
    withFlag('preset', () => findPreset(preset));
    const count = (name: keyof typeof HEAD_DEFAULTS, least: number): number => (args.flags.has(name) ? atLeast(args, name, least) : HEAD_DEFAULTS[name]);
    const options = {
      preset,
      layers: args.flags.has('layers') ? atLeast(args, 'layers', 1) : undefined,
      batchSize: count('batch-size', 1),
      sequenceLength: count('sequence-length', 2),
      scored: atLeast(args, 'scored', 1),
      warmup: count('warmup', 0),
      iterations: count('iterations', 1),
    };
    const backend = await initBackend(stringFlag(args, 'backend'));
    if (!json) process.stderr.write(`${describeBackend(backend)}\n`);
    const result = runHeadBench(options);
    if (json) process.stdout.write(`${JSON.stringify({ benchmark: 'lm-head', backend: backend.name, ...result, environment: benchEnvironment(backend) })}\n`);
    else console.log(formatHeadBench(result, backend.name));
    return;
  }
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
    packing: packingSettings(args),
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

/** The packing sweep from the --pack-* flags (checked with the other settings in runBenchmarks); null with --pack-rows 0. */
function packingSettings(args: ParsedArgs): PackingBenchSettings | null {
  const maxRows = numberFlag(args, 'pack-rows') ?? DEFAULT_PACKING_BENCH.maxRows;
  if (maxRows === 0) return null;
  const lengths = listFlag(stringFlag(args, 'pack-lengths') ?? DEFAULT_PACKING_BENCH.lengths.join(',')).map(Number);
  return {
    maxRows,
    lengths,
    inits: listFlag(stringFlag(args, 'pack-inits') ?? DEFAULT_PACKING_BENCH.inits.join(',')),
    seeds: numberFlag(args, 'pack-seeds') ?? DEFAULT_PACKING_BENCH.seeds,
    batchSize: numberFlag(args, 'pack-batch') ?? DEFAULT_PACKING_BENCH.batchSize,
    steps: numberFlag(args, 'pack-steps') ?? DEFAULT_PACKING_BENCH.steps,
  };
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
