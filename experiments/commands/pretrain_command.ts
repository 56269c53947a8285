/**
 * `peftscale pretrain`: pretrains (or reuses) each preset of a profile and its never-trained control, with
 * their capability gates, and prints the held-out loss table with warnings when loss does not fall with size.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describeBackend, initBackend } from '../../src/model/backend.js';
import { booleanFlag, numberFlag, stringFlag, type FlagSpec, type ParsedArgs } from '../../src/util/cli_args.js';
import { formatDuration } from '../../src/util/progress.js';
import type { CapabilityGates } from '../../src/results/results.js';
import { corpusFingerprint } from '../../datasets/corpus.js';
import { formatGates } from '../pretrain/gates.js';
import { DEFAULT_CACHE_DIR, ensurePretrained, gatesOf, PRETRAIN_CODE_VERSION, pretrainedModelDir, type EnsuredModel } from '../pretrain/pretrain_family.js';
import { DEFAULT_SHIPPED_DIR, SHIPPED_ENV, shippedDir } from '../pretrain/shipped_family.js';
import { exportFamily, verifyFamily } from './pretrain_shipped.js';
import { profileCorpusConfig, resolveProfile } from '../pretrain/pretrain_profiles.js';
import { jsonFlag, runCommand, type Command } from './command.js';
import { BACKEND_FLAG, CACHE_FLAG, PROFILE_FLAG } from './flags.js';

export const PRETRAIN_FLAGS: readonly FlagSpec[] = [
  PROFILE_FLAG,
  { name: 'model', type: 'string', description: 'only these presets, comma-separated (any ps-* preset, even outside the profile)' },
  { name: 'seed', type: 'integer', description: 'seed of the world, corpus, initial weights and batch order', default: 0 },
  { name: 'steps', type: 'integer', description: "override the profile's steps per preset" },
  BACKEND_FLAG,
  CACHE_FLAG,
  jsonFlag('print the result table as JSON on stdout'),
  { name: 'export', type: 'string', description: 'write the finished models and controls of the profile from the cache into this folder, with a manifest (sha256 of every file)' },
  { name: 'verify', type: 'boolean', description: 'pretrain every shipped model again and compare its weights (bit for bit, or within --tolerance)' },
  { name: 'shipped', type: 'string', description: `--verify: the shipped folder (default $${SHIPPED_ENV}, else ${DEFAULT_SHIPPED_DIR})` },
  { name: 'tolerance', type: 'number', description: '--verify: the largest weight difference accepted (another backend needs one)', default: 0 },
];

export const command: Command<void> = {
  name: 'pretrain',
  summary: 'pretrain the frozen model family on the generated corpus (cached, resumable)',
  synopsis: 'usage: peftscale pretrain [flags]\n\nPretrains the small presets on the generated world corpus and caches them.',
  flags: PRETRAIN_FLAGS,
  run: pretrainCommand,
};

/** `peftscale pretrain ARGV` (tests call it directly). */
export async function runPretrain(argv: string[]): Promise<void> {
  await runCommand(command, argv);
}

/** One row of the result table. */
export interface PretrainTableRow {
  preset: string;
  parameters: number;
  steps: number;
  heldOutLoss: number;
  controlHeldOutLoss: number;
  status: EnsuredModel['status'];
  trainingSeconds: number;
  dir: string;
  /** Absent when pretraining stopped before the end. */
  gates?: CapabilityGates;
}

/** Warnings when held-out loss does not fall as presets grow, or pretraining does not beat the control. */
export function scalingWarnings(rows: readonly PretrainTableRow[]): string[] {
  const warnings: string[] = [];
  const sorted = [...rows].sort((a, b) => a.parameters - b.parameters);
  for (let i = 1; i < sorted.length; i++) {
    const [smaller, larger] = [sorted[i - 1], sorted[i]];
    if (!(larger.heldOutLoss < smaller.heldOutLoss)) {
      warnings.push(
        `held-out loss does not fall with size: ${larger.preset} (${larger.parameters} params) ${larger.heldOutLoss.toFixed(4)} ≥ ` +
          `${smaller.preset} (${smaller.parameters} params) ${smaller.heldOutLoss.toFixed(4)}; the training budget or the world is wrong for a scaling study`,
      );
    }
  }
  for (const row of rows) {
    if (!(row.heldOutLoss < row.controlHeldOutLoss)) {
      warnings.push(`${row.preset}: pretrained held-out loss ${row.heldOutLoss.toFixed(4)} is not below the never-trained control's ${row.controlHeldOutLoss.toFixed(4)}`);
    }
  }
  return warnings;
}

/** The table as text. */
export function formatPretrainTable(rows: readonly PretrainTableRow[]): string {
  const header = ['preset', 'params', 'steps', 'held-out loss', 'control loss', 'status', 'train time'];
  const body = rows.map((r) => [r.preset, r.parameters.toLocaleString('en-US'), String(r.steps), r.heldOutLoss.toFixed(4), r.controlHeldOutLoss.toFixed(4), r.status, formatDuration(r.trainingSeconds)]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells: string[]): string => cells.map((cell, i) => (i === 0 || i === 5 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** `peftscale pretrain [--profile quick|full] [--model NAMES] [--seed N] [--steps N] [--backend B] [--cache DIR] [--json] [--export DIR | --verify [--shipped DIR] [--tolerance X]]`. */
async function pretrainCommand(args: ParsedArgs): Promise<void> {
  if (args.positionals.length > 0) throw new Error(`pretrain: unexpected argument(s) ${args.positionals.join(' ')}; see --help`);
  const profile = resolveProfile(stringFlag(args, 'profile') ?? 'quick');
  const seed = numberFlag(args, 'seed') ?? 0;
  const steps = numberFlag(args, 'steps');
  if (steps !== undefined && steps < 1) throw new Error(`pretrain: --steps = ${steps}: allowed: an integer ≥ 1`);
  const cacheDir = stringFlag(args, 'cache') ?? DEFAULT_CACHE_DIR;
  const json = booleanFlag(args, 'json');
  const model = stringFlag(args, 'model');
  // A comma list names several (a shipped family of some of the profile's presets: pretrain --model a,b --export DIR).
  const presets = model === undefined ? [...profile.presets] : model.split(',').map((name) => name.trim());
  for (const preset of presets) pretrainedModelDir({ preset, profile, seed, cacheDir, steps }); // validates names early

  const exportDir = stringFlag(args, 'export');
  const verify = booleanFlag(args, 'verify');
  if (exportDir !== undefined && verify) throw new Error('pretrain: --export and --verify go in separate runs');
  for (const flag of ['shipped', 'tolerance']) if (args.flags.has(flag) && !verify) throw new Error(`pretrain: --${flag} applies with --verify only`);
  const tolerance = numberFlag(args, 'tolerance') ?? 0;
  if (!(tolerance >= 0)) throw new Error(`pretrain: --tolerance = ${tolerance}: allowed: a number ≥ 0`);
  const log = (message: string): void => void process.stderr.write(`${message}\n`);
  if (exportDir !== undefined) {
    if (steps !== undefined) throw new Error('pretrain: --steps does not apply with --export (it exports what the profile pretrains)');
    await exportFamily(exportDir, { profile, seed, cacheDir, presets }, log);
    return;
  }

  const backend = await initBackend(stringFlag(args, 'backend'));
  process.stderr.write(`${describeBackend(backend)}\n`);
  if (verify) {
    const shipped = stringFlag(args, 'shipped') ?? shippedDir() ?? DEFAULT_SHIPPED_DIR;
    const rows = await verifyFamily(shipped, { profile, seed, cacheDir, presets }, tolerance, backend.name, log);
    if (json) process.stdout.write(`${JSON.stringify({ shipped, tolerance, backend: backend.name, rows }, null, 2)}\n`);
    else process.stdout.write(`verified ${rows.length} shipped models in ${shipped}: ${rows.map((r) => `${r.preset} ${r.kind} ${r.outcome}`).join(', ')}\n`);
    return;
  }
  const corpusConfig = profileCorpusConfig(profile, seed);
  const fingerprint = corpusFingerprint(corpusConfig);
  process.stderr.write(`profile ${profile.name}: ${profile.description}; corpus ${fingerprint} (world ${corpusConfig.worldSize}, ${corpusConfig.corpusBytes} bytes), seed ${seed}\n`);

  const started = performance.now();
  const rows: PretrainTableRow[] = [];
  for (const preset of presets) {
    const control = await ensurePretrained({ preset, profile, seed, cacheDir, steps, control: true });
    const trained = await ensurePretrained({ preset, profile, seed, cacheDir, steps });
    const gates = trained.finished ? await gatesOf(trained, control, profile, (message) => process.stderr.write(`${message}\n`)) : undefined;
    rows.push({
      gates,
      preset,
      parameters: trained.parameters,
      steps: trained.steps,
      heldOutLoss: trained.heldOutLoss,
      controlHeldOutLoss: control.heldOutLoss,
      status: trained.status,
      trainingSeconds: trained.trainingSeconds,
      dir: trained.dir,
    });
  }
  const wallSeconds = (performance.now() - started) / 1000;
  rows.sort((a, b) => a.parameters - b.parameters);
  const warnings = scalingWarnings(rows);
  const report = {
    profile: profile.name,
    seed,
    corpusFingerprint: fingerprint,
    corpus: corpusConfig,
    backend: backend.name,
    codeVersion: PRETRAIN_CODE_VERSION,
    wallSeconds,
    rows,
    warnings,
  };
  await mkdir(cacheDir, { recursive: true });
  const reportPath = path.join(cacheDir, `pretrain-${profile.name}-s${seed}-c${fingerprint}${model === undefined ? '' : `-${model}`}.json`);
  await writeFile(reportPath, `${JSON.stringify(report, null, 2)}\n`);
  if (json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    process.stdout.write(`\nheld-out corpus loss (nats/token) by preset, profile ${profile.name}, seed ${seed}:\n${formatPretrainTable(rows)}\n`);
    process.stdout.write(`\ncapability gates (zero-shot on test examples, the model beside its never-trained control):\n`);
    for (const row of rows) if (row.gates !== undefined) process.stdout.write(`${formatGates(row.preset, row.gates)}\n`);
    process.stdout.write(`wall time ${formatDuration(wallSeconds)}; table written to ${reportPath}\n`);
  }
  for (const warning of warnings) process.stderr.write(`WARNING: ${warning}\n`);
}
