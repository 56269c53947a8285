/**
 * `peftscale experiment [FILE] [--profile quick|full] [--workers N] [--dry-run] [--json]`: what
 * `npm run experiment` runs (FILE defaults to `default`, which covers the scaling, prompt-length and
 * initialisation sweeps). Plans the trials, reuses cached ones, pretrains the frozen models it needs,
 * runs the rest on worker threads and writes results/<experiment>/ (results.jsonl, results.csv,
 * summary.json, summary.csv, run.json), then prints the summary table. With `--shard I/N` it runs one
 * share of the trials and `--pretrain-only` only the pretraining (the pieces of `peftscale slurm`).
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import '../../methods/index.js';
import { booleanFlag, numberFlag, stringFlag, type FlagSpec, type ParsedArgs } from '../../src/util/cli_args.js';
import { probeOutputFolder } from '../../src/io/input_files.js';
import { formatDuration } from '../../src/util/progress.js';
import { accuracyInterval, AVERAGE_TASK, RESULT_FILES, summarize, summaryCounts, type SummaryRow } from '../../src/results/results.js';
import { gateVerdict, measuredTasks } from '../../reports/gates.js';
import { formatGates } from '../pretrain/gates.js';
import { writeReport } from '../../reports/report.js';
import { DEFAULT_CACHE_DIR } from '../pretrain/pretrain_family.js';
import { BENCH_SUBDIR, DEFAULT_RESULTS_DIR, ownershipProblem } from '../run/results_files.js';
import { describeTrial, planRun, resultsDirFor, runPlannedExperiment, type RunOptions, type RunPlan } from '../run/runner.js';
import { EXPERIMENT_SCHEMA } from '../plan/schema.js';
import { defaultProfile, experimentPath, experimentRequires, resolveExperiment, shippedExperiments, type PlannedTrial, type ResolvedExperiment } from '../plan/spec.js';
import { DEFAULT_TRIAL_CACHE_DIR } from '../run/trial_cache.js';
import { DEFAULT_PACK_ROWS, packTrials } from '../run/trial_packs.js';
import { availableParallelism } from 'node:os';
import { findPreset } from '../../src/model/config.js';
import { readTrialImport, writeTrialImport } from '../run/trial_import.js';
import { describeVerification, IMPORT_ADAPTERS_SUBDIR, verifyImport } from '../run/trial_verify.js';
import { recordHypotheses } from '../run/hypotheses_record.js';
import { checkRequirement, probeGpu } from '../run/requirements.js';
import { DEFAULT_ASSUMED_TFLOPS, estimatePlan, formatEstimate, formatSeconds } from '../plan/estimate.js';
import { checkShardCount, parseShard, shardPlan, type Shard } from '../cluster/shard.js';
import { baselineMethod } from '../../src/adapt/method_card.js';
import { jsonFlag, runCommand, type Command } from './command.js';
import { EXPERIMENT_PROFILE_FLAG, RUN_FLAGS } from './flags.js';

/** What `peftscale experiment` (and `npm run experiment`) runs without a FILE: the experiment that shows a finding. */
export const DEFAULT_EXPERIMENT = 'finding';

export const EXPERIMENT_FLAGS: readonly FlagSpec[] = [
  EXPERIMENT_PROFILE_FLAG,
  { name: 'workers', type: 'integer', description: 'worker threads (default: one per core)' },
  { name: 'pack-rows', type: 'integer', description: `most rows per packed training step: trials of one frozen model, task and schedule whose methods allow it train together (default: the file's packRows, else ${DEFAULT_PACK_ROWS}; 0: every trial alone)` },
  { name: 'dry-run', type: 'boolean', description: 'print the trials (and which are cached) and run nothing' },
  { name: 'assume-tflops', type: 'number', description: `with --dry-run: estimate each trial's memory and time at this sustained TFLOP/s (shown without it, at ${DEFAULT_ASSUMED_TFLOPS}, for files that require a GPU)` },
  { name: 'ignore-requires', type: 'boolean', description: "with --dry-run: plan a file whose `requires` (e.g. \"gpu\") this machine does not meet" },
  jsonFlag('with --dry-run: one JSON object with the trials and counts; otherwise the summary as JSON on stdout'),
  ...RUN_FLAGS,
  { name: 'schema', type: 'boolean', description: 'print the experiment file JSON schema and exit' },
  { name: 'shard', type: 'string', description: 'I/N: run only the I-th of N deterministic shares of the trials (balanced by estimated cost) against a trial cache that may be shared; writes no results (peftscale collect does)' },
  { name: 'import-trials', type: 'string', description: 'a results folder (e.g. docs/results/scaling) whose results.jsonl seeds the trial cache first: its records of planned trials count as cached, so a run that spans sessions goes on where it stopped' },
  { name: 'verify', type: 'boolean', description: `with --import-trials: re-score each imported record from its kept adapter (DIR/${IMPORT_ADAPTERS_SUBDIR}/<key>/, or the trial cache's when it holds the same record) on the run's backend, and refuse the import when a dev or test count does not reproduce` },
  { name: 'show-scores', type: 'boolean', description: "print each finished trial's dev and test scores as it finishes, also when the file states hypotheses (whose runs otherwise hide them until the end, so that nothing is judged on part of the run)" },
  { name: 'pretrain-only', type: 'boolean', description: 'pretrain (or reuse) the frozen models the experiment needs, and run no trial (the first job of peftscale slurm)' },
];

export const command: Command<ExperimentCommandResult | null> = {
  name: 'experiment',
  summary: 'run an experiment file (default: finding): pretraining, the sweep on worker threads, results and report',
  get synopsis() {
    return ['usage: peftscale experiment [FILE] [flags]', '', `FILE: a shipped experiment (${shippedExperiments().join(', ')}) or a path to an experiment file (default: ${DEFAULT_EXPERIMENT})`].join('\n');
  },
  flags: EXPERIMENT_FLAGS,
  run: experiment,
};

/** `peftscale experiment ARGV` (tests call it directly): flags checked first, then the run. */
export async function runExperiment(argv: string[]): Promise<ExperimentCommandResult | null> {
  return await runCommand(command, argv);
}

/** What the command returns (tests call it directly). */
export interface ExperimentCommandResult {
  experiment: string;
  trials: number;
  cached: number;
  ran: number;
  failed: number;
  resultsDir: string | null;
  summary: SummaryRow[];
  /** With --verify: imported records re-scored and reproduced (exact: where they were produced), those without a kept adapter, and those whose trial the cache holds another record of (not verified). */
  verified?: { reproduced: number; exact: number; noAdapter: number; keptCache: number };
}

async function experiment(args: ParsedArgs): Promise<ExperimentCommandResult | null> {
  if (booleanFlag(args, 'schema')) {
    process.stdout.write(`${JSON.stringify(EXPERIMENT_SCHEMA, null, 2)}\n`);
    return null;
  }
  if (args.positionals.length > 1) throw new Error(`experiment: expected at most one experiment file, got ${args.positionals.join(' ')}`);
  const workers = numberFlag(args, 'workers');
  if (workers !== undefined && workers < 1) throw new Error(`experiment: --workers = ${workers}: allowed: an integer ≥ 1`);
  const packRows = numberFlag(args, 'pack-rows');
  if (packRows !== undefined && packRows < 0) throw new Error(`experiment: --pack-rows = ${packRows}: allowed: an integer ≥ 0 (0: no packing)`);
  const importFrom = stringFlag(args, 'import-trials');
  const verify = booleanFlag(args, 'verify');
  if (verify && importFrom === undefined) throw new Error('experiment: --verify without --import-trials: allowed only with --import-trials DIR (it re-scores the records imported from DIR from their kept adapters)');
  const file = experimentPath(args.positionals[0] ?? DEFAULT_EXPERIMENT);
  const dryRun = booleanFlag(args, 'dry-run');
  // Before any planning: the gpu experiment on a CPU backend would plan days of work on the wrong machine.
  const profileName = stringFlag(args, 'profile') ?? defaultProfile(file);
  const ignoreRequires = booleanFlag(args, 'ignore-requires');
  if (ignoreRequires && !dryRun) throw new Error('experiment: --ignore-requires: allowed only with --dry-run (a real run needs what the file requires)');
  const tflops = numberFlag(args, 'assume-tflops');
  if (tflops !== undefined && !(tflops > 0 && Number.isFinite(tflops))) throw new Error(`experiment: --assume-tflops = ${stringFlag(args, 'assume-tflops')}: allowed: a positive number of TFLOP/s (e.g. 20)`);
  if (tflops !== undefined && !dryRun) throw new Error('experiment: --assume-tflops: allowed only with --dry-run (it sizes the plan, it changes no run)');
  const requires = experimentRequires(file, profileName);
  if (!ignoreRequires) checkRequirement(requires, `experiment ${JSON.stringify(path.basename(file, '.json'))} (${file})`, () => probeGpu({ requested: stringFlag(args, 'backend') }));
  // A dry run plans checkpoints whose folder is missing from their shape, and says what a real run would refuse.
  const experiment = resolveExperiment(file, profileName, { allowMissingCheckpoints: dryRun });
  const shardText = stringFlag(args, 'shard');
  const shard = shardText === undefined ? null : parseShard(shardText);
  if (shard !== null) checkShardCount(shard.count, experiment.trials.length, `experiment: --shard ${shardText}`);
  if (shard !== null && booleanFlag(args, 'pretrain-only')) throw new Error(`experiment: --shard ${shardText} and --pretrain-only: allowed: one of them (pretraining covers every preset)`);
  const trialCacheDir = stringFlag(args, 'trial-cache') ?? DEFAULT_TRIAL_CACHE_DIR;
  const warn = (message: string): void => void process.stderr.write(`warning: ${message}\n`);
  if (importFrom !== undefined && dryRun) throw new Error(`experiment: --import-trials ${importFrom} and --dry-run: allowed: one of them (a dry run writes nothing)`);
  const partial = shard !== null || booleanFlag(args, 'pretrain-only');
  const resultsRoot = stringFlag(args, 'results') ?? DEFAULT_RESULTS_DIR;
  const resultsDir = resultsDirFor(resultsRoot, experiment.name);
  const replaceResults = booleanFlag(args, 'replace');
  const modelCacheDir = stringFlag(args, 'cache') ?? DEFAULT_CACHE_DIR;
  if (!dryRun) {
    // Before any work (an import's --verify may pretrain models): every output folder takes a file and has room, and the results folder is ours.
    if (!partial) probeOutputFolder(resultsRoot, 'results root (--results)');
    probeOutputFolder(trialCacheDir, 'trial cache (--trial-cache)');
    probeOutputFolder(modelCacheDir, 'model cache (--cache)');
    const notOurs = replaceResults || partial ? null : await ownershipProblem(resultsDir, experiment.file);
    if (notOurs !== null) throw new Error(notOurs);
  }
  let verified: ExperimentCommandResult['verified'];
  if (importFrom !== undefined) {
    const read = await readTrialImport(importFrom, experiment.trials);
    let adapters = new Map<string, string>();
    if (verify) {
      const log = (message: string): void => void process.stderr.write(`${message}\n`);
      const verification = await verifyImport(read, experiment, { workers, backend: stringFlag(args, 'backend'), modelCacheDir, trialCacheDir, log });
      process.stderr.write(`--verify: ${describeVerification(verification)}\n`);
      adapters = verification.adapters;
      verified = { reproduced: verification.reproduced, exact: verification.exact, noAdapter: [...verification.noAdapter.values()].reduce((a, b) => a + b, 0), keptCache: verification.keptCache };
    }
    const done = await writeTrialImport(read, trialCacheDir, adapters);
    process.stderr.write(`imported ${done.imported} trial record(s) from ${done.file} (${done.alreadyCached} already cached, ${done.notPlanned} not of this plan)\n`);
    if (done.unsealed > 0) process.stderr.write(`${done.unsealed} of them carry no checksum (written before records were sealed): accepted because their fields agree with one another (status, dev curve, final scores, counts over examples); an edit that keeps them consistent cannot be detected\n`);
  }
  const wholePlan = await planRun(experiment, trialCacheDir, warn);
  const plan = shard === null ? wholePlan : shardPlan(wholePlan, shard);
  const json = booleanFlag(args, 'json');

  if (dryRun) {
    for (const missing of experiment.missingCheckpoints) process.stderr.write(`warning: ${missing}: the real run will refuse to start until it exists\n`);
    // Memory and time from the model shape (experiments/plan/estimate.ts), for GPU files or when asked.
    const estimates = requires === 'gpu' || tflops !== undefined ? estimatePlan(plan.toRun, experiment.datasets, tflops ?? DEFAULT_ASSUMED_TFLOPS) : null;
    const list = plan.trials.map((trial) => ({ key: trial.key, cached: plan.cached.has(trial.key), sweeps: trial.sweeps, ...trial.config, ...(estimates?.trials.has(trial.key) ? { estimate: estimates.trials.get(trial.key) } : {}) }));
    const estimate = estimates === null ? {} : { estimate: { assumedTflops: estimates.assumedTflops, seconds: estimates.seconds, largestMemoryBytes: estimates.largestMemoryBytes } };
    if (json) {
      process.stdout.write(
        `${JSON.stringify({ experiment: experiment.name, profile: experiment.profile, file: experiment.file, shard, presets: experiment.presets, trials: plan.trials.length, cached: plan.cached.size, toRun: plan.toRun.length, missingCheckpoints: experiment.missingCheckpoints, datasets: experiment.datasets, ...estimate, list }, null, 2)}\n`,
      );
    } else {
      process.stdout.write(`${experiment.name} (${experiment.file}, profile ${experiment.profile})${shard === null ? '' : `, shard ${shard.index}/${shard.count}`}: ${plan.trials.length} trials, ${plan.cached.size} cached, ${plan.toRun.length} to run\n`);
      process.stdout.write(`${describePacking(experiment, plan.toRun, packRows ?? experiment.packRows ?? DEFAULT_PACK_ROWS, workers ?? availableParallelism())}\n`);
      for (const trial of plan.trials) {
        const guess = estimates?.trials.get(trial.key);
        process.stdout.write(`  ${plan.cached.has(trial.key) ? 'cached' : 'to run'}  ${trial.key}  ${describeTrial(trial)}  [${trial.sweeps.join(', ')}] ${trial.config.training.steps} steps ${trial.config.training.optimizer} lr ${trial.config.training.learningRate}${guess === undefined ? '' : `  ${formatEstimate(guess)}`}\n`);
      }
      if (estimates !== null) {
        process.stdout.write(`estimate (float32, from the model shapes; time at an assumed ${estimates.assumedTflops} TFLOP/s sustained, not measured: --assume-tflops N): ${plan.toRun.length} trials to run take ${formatSeconds(estimates.seconds)} one after another; the largest needs ≈ ${(estimates.largestMemoryBytes / 2 ** 30).toFixed(2)} GiB\n`);
      }
    }
    return { experiment: experiment.name, trials: plan.trials.length, cached: plan.cached.size, ran: 0, failed: 0, resultsDir: null, summary: [] };
  }

  // A file that states hypotheses is judged on the whole run: no trial's score is shown before it ends.
  const blind = experiment.hypotheses.length > 0 && !booleanFlag(args, 'show-scores');
  if (partial) {
    return { ...(await runPartial(experiment, plan, shard, json, { workers, packRows, backend: stringFlag(args, 'backend'), modelCacheDir, trialCacheDir, resultsDir: '', blind })), ...(verified === undefined ? {} : { verified }) };
  }
  // Stated before any trial runs: hypotheses.json in the results folder (kept from an earlier sitting or an import).
  await mkdir(resultsDir, { recursive: true });
  const hypotheses = await recordHypotheses(resultsDir, experiment.file, experiment.hypotheses, importFrom ?? null, warn);
  if (hypotheses !== null) process.stderr.write(`${hypotheses.list.length} hypotheses recorded at ${hypotheses.statedAt} in ${resultsDir}/hypotheses.json (hash ${hypotheses.hash.slice(0, 12)}…)\n`);
  if (blind) process.stderr.write("each trial's scores stay hidden until the run ends, where the hypotheses are judged (--show-scores prints them as trials finish)\n");
  process.stderr.write(
    `${experiment.name}, profile ${experiment.profile}: ${plan.trials.length} trials on ${experiment.presets.join(', ')}; ${plan.cached.size} cached, ${plan.toRun.length} to run\n`,
  );
  const outcome = await runPlannedExperiment(experiment, plan, {
    workers,
    packRows,
    backend: stringFlag(args, 'backend'),
    modelCacheDir,
    trialCacheDir,
    resultsDir,
    replaceResults,
    hypotheses,
    blind,
  });
  const summary = summarize(outcome.records, baselineMethod().name);
  if (json) process.stdout.write(`${JSON.stringify(summary, (_, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
  else process.stdout.write(`\n${formatSummaryTable(summary)}\n`);
  // What the run can and cannot show: the frozen models' gates and the trials that kept their init.
  for (const p of outcome.manifest.pretrained) if (p.gates !== undefined) process.stderr.write(`${formatGates(p.preset, p.gates)}\n`);
  const counts = summaryCounts(summary);
  process.stderr.write(`\n${gateVerdict(outcome.manifest, measuredTasks(outcome.records)).text}\n${counts.noGain} of ${counts.trained} trained trials kept their untrained init (no gain over init: best dev at step 0).\n`);
  process.stderr.write(
    `\n${outcome.ran} trial(s) run, ${outcome.cached} from the cache, ${outcome.manifest.trials.diverged} diverged, ${outcome.failed.length} failed; ` +
      `${formatDuration(outcome.wallSeconds)}; backend ${outcome.manifest.environment.backend}\nresults: ${resultsDir}/\n`,
  );
  if (!booleanFlag(args, 'no-report')) await writeExperimentReport(stringFlag(args, 'results') ?? DEFAULT_RESULTS_DIR, resultsDir, experiment);
  for (const failure of outcome.failed) process.stderr.write(`FAILED ${failure.description} (${failure.key}): ${failure.message}\n`);
  if (outcome.failed.length > 0) {
    process.stderr.write(`${outcome.failed.length} trial(s) failed and are not cached: fix the cause and run the same command again (finished trials are kept).\n`);
    process.exitCode = 1;
  }
  return { experiment: experiment.name, trials: plan.trials.length, cached: outcome.cached, ran: outcome.ran, failed: outcome.failed.length, resultsDir, summary, ...(verified === undefined ? {} : { verified }) };
}

/**
 * Writes the report of a results folder (with <results root>/bench/bench.json when `npm run bench` wrote
 * one). The results are written by then: a report that fails loses nothing, says how to retry, and sets
 * the exit code.
 */
export async function writeExperimentReport(resultsRoot: string, resultsDir: string, experiment: Pick<ResolvedExperiment, 'file' | 'hypotheses'>): Promise<void> {
  try {
    const benchFile = path.join(resultsRoot, BENCH_SUBDIR, RESULT_FILES.bench);
    const hypotheses = { current: { file: experiment.file, list: experiment.hypotheses }, posthoc: null };
    const report = await writeReport(resultsDir, { ...(existsSync(benchFile) ? { benchFile } : {}), hypotheses });
    const drawn = report.figures.filter((f) => f.drawn).length;
    process.stderr.write(`report: ${report.htmlPath} (${drawn} of ${report.figures.length} figures drawn)\n`);
  } catch (error) {
    process.stderr.write(`report failed: ${(error as Error).message}\nthe results are kept in ${resultsDir}/; retry with: peftscale report ${resultsDir}\n`);
    process.exitCode = 1;
  }
}

/**
 * A shard (its trials, pretraining only the presets they need, no ensembles: those need every shard's
 * prompts) or, with no shard, the pretraining alone. Writes no results folder: shards would overwrite one
 * another's; `peftscale collect` builds it from the shared cache. Exits 1 when a trial or a pretraining failed.
 */
async function runPartial(experiment: ResolvedExperiment, plan: RunPlan, shard: Shard | null, json: boolean, options: RunOptions): Promise<ExperimentCommandResult> {
  const folders = new Set(experiment.checkpoints.map((checkpoint) => checkpoint.name));
  const presets = shard === null ? experiment.presets.filter((preset) => !folders.has(preset)) : experiment.presets.filter((preset) => plan.toRun.some((trial) => trial.config.preset === preset));
  const what = shard === null ? `pretraining only: ${presets.length === 0 ? 'nothing to pretrain (every model is a checkpoint folder)' : presets.join(', ')}` : `shard ${shard.index}/${shard.count}: ${plan.trials.length} trials; ${plan.cached.size} cached, ${plan.toRun.length} to run`;
  process.stderr.write(`${experiment.name}, profile ${experiment.profile}, ${what}\n`);
  if ((shard !== null && plan.toRun.length === 0) || (shard === null && presets.length === 0)) return { experiment: experiment.name, trials: plan.trials.length, cached: plan.cached.size, ran: 0, failed: 0, resultsDir: null, summary: [] };
  const outcome = await runPlannedExperiment(
    { ...experiment, presets, ensemble: false },
    shard === null ? { ...plan, toRun: [] } : plan,
    { ...options, writeResults: false, jobs: shard === null ? presets.length : plan.toRun.length },
  );
  // Checkpoint folders are never pretrained: they are ready when the experiment resolves.
  const ready = new Set([...outcome.manifest.pretrained.map((info) => info.preset), ...experiment.checkpoints.map((checkpoint) => checkpoint.name)]);
  const unready = presets.filter((preset) => !ready.has(preset));
  for (const failure of outcome.failed) process.stderr.write(`FAILED ${failure.description} (${failure.key}): ${failure.message}\n`);
  if (unready.length > 0) process.stderr.write(`FAILED: pretraining ${unready.join(', ')}\n`);
  process.stderr.write(`${outcome.ran} trial(s) run, ${outcome.cached} from the cache, ${outcome.failed.length} failed; ${formatDuration(outcome.wallSeconds)}; backend ${outcome.manifest.environment.backend}\n`);
  if (outcome.failed.length > 0 || unready.length > 0) process.exitCode = 1;
  const result = { experiment: experiment.name, trials: plan.trials.length, cached: outcome.cached, ran: outcome.ran, failed: outcome.failed.length + unready.length, resultsDir: null, summary: [] };
  if (json) process.stdout.write(`${JSON.stringify({ ...result, shard, pretrained: outcome.manifest.pretrained, failures: outcome.failed })}\n`);
  return result;
}

/** How the trials to run would be packed: "packing: 60 of 80 trials in 9 packs (≤ 64 rows per step, 2 workers)". */
function describePacking(experiment: ResolvedExperiment, toRun: readonly PlannedTrial[], maxRows: number, workers: number): string {
  if (maxRows <= 1) return 'packing: off (every trial trains alone)';
  const configs = new Map(experiment.checkpoints.map((c) => [c.name, c.config]));
  const packs = packTrials(toRun, { maxRows, workers, modelConfig: (trial) => configs.get(trial.config.preset) ?? findPreset(trial.config.preset).config }).filter((job) => job.length > 1);
  return `packing: ${packs.reduce((sum, pack) => sum + pack.length, 0)} of ${toRun.length} trials to run in ${packs.length} packs (≤ ${maxRows} rows per step, ${workers} workers; --pack-rows 0: every trial alone)`;
}

/** The summary on the console: per preset and method (and options), the task average when there are several tasks. */
export function formatSummaryTable(rows: readonly SummaryRow[]): string {
  const hasAverage = rows.some((r) => r.task === AVERAGE_TASK);
  const shown = rows.filter((r) => (hasAverage ? r.task === AVERAGE_TASK : true));
  // The training-set size only where it varies (a data-size sweep), after the task.
  const bySize = new Set(rows.map((x) => x.train)).size > 1;
  const task = (r: SummaryRow): string => (bySize ? `${r.task} (${r.train} train)` : r.task);
  const percent = (x: number): string => (Number.isFinite(x) ? (100 * x).toFixed(1) : '--');
  const header = ['preset', 'method', 'options', 'task', 'n', 'test acc %', '95% CI', 'gap to full', 'no gain', 'trainable %'];
  const body = shown.map((r) => [
    r.preset,
    r.method,
    r.optionsLabel,
    task(r),
    `${r.n}${r.diverged > 0 ? ` (+${r.diverged} diverged)` : ''}`,
    percent(r.mean),
    r.n >= 2 ? accuracyInterval(r).map(percent).join('–') : '--',
    r.gapToFull === null ? '--' : `${r.gapToFull >= 0 ? '+' : ''}${percent(r.gapToFull)}`,
    r.noGain === null ? '--' : `${r.noGain}/${r.n}`,
    r.percent.toPrecision(3),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells: string[]): string => cells.map((cell, i) => (i < 4 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  return [`test accuracy by preset and method${hasAverage ? ' (mean over tasks per seed)' : ''}:`, line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}
