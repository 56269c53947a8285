#!/usr/bin/env node
/**
 * The `peftscale` command. This file wires the core (src/), the methods (methods/) and the generated
 * datasets (datasets/) together; each subcommand is a small function below.
 */
import { planParameters } from '../src/adapt/adapted.js';
import { describeBackend, initBackend } from '../src/model/backend.js';
import { booleanFlag, formatFlags, numberFlag, parseArgs, stringFlag, type FlagSpec, type ParsedArgs } from '../src/util/cli_args.js';
import { PRESETS, resolveModelConfig, unknownNameMessage, type ModelConfig } from '../src/model/config.js';
import { countParameters, modelParameterSpecs } from '../src/model/params.js';
import { baselineMethod, getMethod, registeredMethods, resolveOptions } from '../src/adapt/peft.js';
import { formatParameterPlan } from '../methods/commands.js';
import '../methods/index.js';
import { describeTasks, formatSamples, formatTaskTable, sampleExamples } from '../datasets/commands.js';
import { buildTaskSuite, findTask } from '../datasets/tasks.js';
import { BENCH_USAGE, runBenchCommand } from './commands/bench_command.js';
import { runExperiment } from './commands/experiment.js';
import { collectUsage, runCollect } from './commands/collect.js';
import { runSlurm, slurmUsage } from './cluster/slurm.js';
import { runPretrain } from './commands/pretrain_command.js';
import { exportUsage, runExport } from './commands/export_command.js';
import { REPORT_USAGE, runReport } from '../reports/report.js';
import { currentHypotheses, hypothesesOfFile } from './plan/hypotheses_file.js';

const BACKEND_FLAG: FlagSpec = { name: 'backend', type: 'string', description: 'tensorflow, wasm, cpu or auto (also PEFTSCALE_BACKEND)' };
const JSON_FLAG: FlagSpec = { name: 'json', type: 'boolean', description: 'print one JSON object instead of tables' };
const SHAPE_FLAGS: FlagSpec[] = [
  { name: 'model', type: 'string', description: `preset: ${PRESETS.map((p) => p.name).join(', ')}` },
  { name: 'd-model', type: 'integer', description: 'custom shape: width' },
  { name: 'layers', type: 'integer', description: 'custom shape: number of blocks' },
  { name: 'heads', type: 'integer', description: 'custom shape: attention heads' },
  { name: 'd-ff', type: 'integer', description: 'custom shape: MLP width (default 4 × d-model)' },
  { name: 'vocab', type: 'integer', description: 'custom shape: vocabulary size (default 260, the byte tokenizer)' },
  { name: 'context', type: 'integer', description: 'custom shape: context length (default 256)' },
];

interface Command {
  name: string;
  summary: string;
  usage: string;
  run(argv: string[]): Promise<void>;
}

function modelConfigFrom(args: ParsedArgs): ModelConfig {
  return resolveModelConfig(stringFlag(args, 'model'), {
    dModel: numberFlag(args, 'd-model'),
    nLayers: numberFlag(args, 'layers'),
    nHeads: numberFlag(args, 'heads'),
    dFF: numberFlag(args, 'd-ff'),
    vocabSize: numberFlag(args, 'vocab'),
    contextLength: numberFlag(args, 'context'),
  });
}

/**
 * Splits argv into the command's own flags and the method's options (`--length 20`, `--targets c_attn`),
 * which the method validates itself (unknown ones get a "did you mean").
 */
function splitMethodOptions(argv: readonly string[], commandFlags: readonly FlagSpec[]): { own: string[]; methodOptions: Record<string, string> } {
  const ownNames = new Set(commandFlags.map((f) => f.name));
  const own: string[] = [];
  const methodOptions: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    const name = token.startsWith('--') ? token.slice(2).split('=')[0] : '';
    if (name === '' || ownNames.has(name)) {
      own.push(token);
      const spec = commandFlags.find((f) => f.name === name);
      if (spec !== undefined && spec.type !== 'boolean' && !token.includes('=') && i + 1 < argv.length) own.push(argv[++i]);
      continue;
    }
    const eq = token.indexOf('=');
    const value = eq !== -1 ? token.slice(eq + 1) : argv[i + 1];
    if (value === undefined || (eq === -1 && value.startsWith('--'))) throw new Error(`method option --${name} needs a value`);
    if (eq === -1) i++;
    methodOptions[name] = value;
  }
  return { own, methodOptions };
}

const infoFlags: FlagSpec[] = [BACKEND_FLAG, JSON_FLAG];
async function runInfo(argv: string[]): Promise<void> {
  const args = parseArgs(argv, infoFlags, 'peftscale info');
  const backend = await initBackend(stringFlag(args, 'backend')); // described in the output below, not on stderr
  const presets = PRESETS.map((preset) => ({
    name: preset.name,
    kind: preset.kind,
    params: countParameters(modelParameterSpecs(preset.config)),
    ...preset.config,
  }));
  if (booleanFlag(args, 'json')) {
    process.stdout.write(`${JSON.stringify({ backend: backend.name, backendProvider: backend.provider, backendSkipped: backend.skipped, versions: backend.versions, presets }, null, 2)}\n`);
    return;
  }
  console.log(`peftscale, ${describeBackend(backend)}`);
  console.log(`versions: ${Object.entries(backend.versions).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  console.log(`methods: ${registeredMethods().map((m) => m.name).join(', ')}`);
  console.log('\npresets (parameters counted from declared shapes; the LM head is tied to wte):');
  console.log(`  ${'name'.padEnd(12)}${'kind'.padEnd(10)}${'params'.padStart(15)}  ${'d'.padStart(5)} ${'L'.padStart(3)} ${'H'.padStart(3)} ${'d_ff'.padStart(5)} ${'vocab'.padStart(6)} ${'ctx'.padStart(5)}`);
  for (const p of presets) {
    console.log(
      `  ${p.name.padEnd(12)}${p.kind.padEnd(10)}${p.params.toLocaleString('en-US').padStart(15)}  ${String(p.dModel).padStart(5)} ${String(p.nLayers).padStart(3)} ${String(p.nHeads).padStart(3)} ${String(p.dFF).padStart(5)} ${String(p.vocabSize).padStart(6)} ${String(p.contextLength).padStart(5)}`,
    );
  }
}

const paramsFlags: FlagSpec[] = [...SHAPE_FLAGS, { name: 'method', type: 'string', description: 'method name' }, JSON_FLAG];
async function runParams(argv: string[]): Promise<void> {
  const { own, methodOptions } = splitMethodOptions(argv, paramsFlags);
  const args = parseArgs(own, paramsFlags, 'peftscale params');
  const config = modelConfigFrom(args);
  const method = getMethod(stringFlag(args, 'method') ?? baselineMethod().name);
  const options = resolveOptions(method, methodOptions, config);
  const plan = planParameters(config, method, options); // declared shapes only: nothing is allocated
  if (booleanFlag(args, 'json')) {
    process.stdout.write(`${JSON.stringify({ model: stringFlag(args, 'model') ?? 'custom', config, ...plan }, null, 2)}\n`);
    return;
  }
  console.log(formatParameterPlan(plan));
}

const dataFlags: FlagSpec[] = [
  JSON_FLAG,
  { name: 'task', type: 'string', description: 'task name (data sample)' },
  { name: 'split', type: 'string', description: 'train, dev or test (data sample)', default: 'train' },
  { name: 'n', type: 'integer', description: 'examples to print (data sample)', default: 3 },
  { name: 'seed', type: 'integer', description: 'world seed', default: 0 },
  { name: 'world-size', type: 'integer', description: 'characters in the generated world', default: 2000 },
];
async function runData(argv: string[]): Promise<void> {
  const args = parseArgs(argv, dataFlags, 'peftscale data');
  const [sub] = args.positionals;
  const tasks = buildTaskSuite({ seed: numberFlag(args, 'seed') ?? 0, worldSize: numberFlag(args, 'world-size') ?? 2000 });
  if (sub === 'tasks') {
    if (booleanFlag(args, 'json')) process.stdout.write(`${JSON.stringify({ tasks: describeTasks(tasks) }, null, 2)}\n`);
    else console.log(formatTaskTable(tasks));
    return;
  }
  if (sub === 'sample') {
    const taskName = stringFlag(args, 'task');
    if (taskName === undefined) throw new Error(`peftscale data sample: --task is required; allowed: ${tasks.map((t) => t.name).join(', ')}`);
    const split = stringFlag(args, 'split') ?? 'train';
    if (split !== 'train' && split !== 'dev' && split !== 'test') throw new Error(`peftscale data sample: --split ${unknownNameMessage('split', split, ['train', 'dev', 'test'])}`);
    const task = findTask(tasks, taskName);
    const samples = sampleExamples(task, split, numberFlag(args, 'n') ?? 3, numberFlag(args, 'seed') ?? 0);
    if (booleanFlag(args, 'json')) process.stdout.write(`${JSON.stringify({ task: task.name, split, samples }, null, 2)}\n`);
    else console.log(formatSamples(task, split, samples));
    return;
  }
  throw new Error(`peftscale data: ${unknownNameMessage('subcommand', sub ?? '(none)', ['tasks', 'sample'])}`);
}

const COMMANDS: Command[] = [
  { name: 'info', summary: 'versions, the backend and why, every preset with its parameter count', usage: `peftscale info [--json] [--backend NAME]\n${formatFlags(infoFlags)}`, run: runInfo },
  {
    name: 'params',
    summary: 'trainable, frozen and total parameters of a method on a model (allocates nothing)',
    usage: `peftscale params --model PRESET|custom shape --method NAME [method options] [--json]\n${formatFlags(paramsFlags)}\n  method options: see each method (e.g. --length 20, --rank 8 --targets c_attn)`,
    run: runParams,
  },
  { name: 'bench', summary: 'cost benchmarks: training and inference per method, storage, mixed-task serving, the reference step', usage: BENCH_USAGE, run: runBenchCommand },
  { name: 'data', summary: 'the generated task suite: list tasks, print samples', usage: `peftscale data tasks [--json] | peftscale data sample --task NAME --split train|dev|test --n 3\n${formatFlags(dataFlags)}`, run: runData },
  { name: 'pretrain', summary: 'pretrain the frozen model family on the generated corpus (cached, resumable)', usage: '', run: runPretrain },
  { name: 'experiment', summary: 'run an experiment file (default: finding): pretraining, the sweep on worker threads, results and report', usage: '', run: async (argv) => void (await runExperiment(argv)) },
  { name: 'slurm', summary: 'an experiment as Slurm jobs: pretraining, a job array of trial shards, collect; prints or submits them', usage: slurmUsage(), run: async (argv) => void (await runSlurm(argv)) },
  { name: 'collect', summary: 'results and report from whatever the trial cache holds; lists the missing trials', usage: collectUsage(), run: async (argv) => void (await runCollect(argv)) },
  { name: 'export', summary: "the trained adapters of an experiment's cached trials, each with its record (PEFT folders where PEFT has the method)", usage: exportUsage(), run: async (argv) => void (await runExport(argv)) },
  { name: 'report', summary: 'write the HTML report (Vega-Lite figures, SVGs, CSVs) of a results folder', usage: REPORT_USAGE, run: (argv) => runReport(argv, { current: currentHypotheses, ofFile: hypothesesOfFile }) },
];

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'peftscale: parameter-efficient fine-tuning methods on frozen GPT-2-architecture transformers',
    '',
    'usage: peftscale <command> [flags]   (peftscale <command> --help for its flags)',
    '',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width + 2)}${c.summary}`),
  ].join('\n');
}

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) throw new Error(unknownNameMessage('command', name, COMMANDS.map((c) => c.name)));
  if ((rest.includes('--help') || rest.includes('-h')) && command.usage !== '') {
    console.log(command.usage);
    return;
  }
  await command.run(rest);
}

// Output piped into `head` and the like closes early: that ends the command quietly, not with a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(0);
});

main(process.argv.slice(2)).catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`peftscale: ${message.replace(/^peftscale /, '')}\n`);
  if (process.env.PEFTSCALE_DEBUG === '1' && error instanceof Error && error.stack !== undefined) process.stderr.write(`${error.stack}\n`);
  process.exitCode = 1;
});

