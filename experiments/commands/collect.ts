/**
 * `peftscale collect FILE`: builds the results folder and the report of an experiment from whatever its
 * trial cache holds, at any time (while a Slurm array still runs, after it, after a failure), and lists
 * the trials still missing. It trains nothing: the frozen models are only reused (for run.json's table
 * and the ensembles), and a preset whose model is not pretrained yet is left out of that table.
 *
 * With `--adapters`, each cached trial's kept adapter is copied into the results folder as
 * `adapters/<key>/`, the layout `experiment --import-trials DIR --verify` re-scores records from.
 *
 * Exit status: 0 when every trial is cached, 2 when some are missing (what is cached is written all the
 * same), 1 on an error.
 */
import { existsSync, statSync } from 'node:fs';
import { cp, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { writeFolderAtomic } from '../../src/io/atomic_file.js';
import '../../methods/index.js';
import { booleanFlag, numberFlag, stringFlag, type FlagSpec, type ParsedArgs } from '../../src/util/cli_args.js';
import { summarize } from '../../src/results/results.js';
import { readPretrainedSummary } from '../../src/training/pretrain_checkpoint.js';
import { formatSummaryTable, writeExperimentReport } from './experiment.js';
import { DEFAULT_CACHE_DIR, pretrainedModelDir } from '../pretrain/pretrain_family.js';
import { DEFAULT_RESULTS_DIR, ownershipProblem } from '../run/results_files.js';
import { describeTrial, planRun, resultsDirFor, runPlannedExperiment } from '../run/runner.js';
import { checkShardCount, partitionTrials } from '../cluster/shard.js';
import { defaultProfile, experimentPath, resolveExperiment, shippedExperiments } from '../plan/spec.js';
import { DEFAULT_TRIAL_CACHE_DIR, trialAdapterPath } from '../run/trial_cache.js';
import { recordHypotheses } from '../run/hypotheses_record.js';
import { IMPORT_ADAPTERS_SUBDIR } from '../run/trial_verify.js';
import { baselineMethod } from '../../src/adapt/method_card.js';
import { jsonFlag, runCommand, type Command } from './command.js';
import { EXPERIMENT_PROFILE_FLAG, RUN_FLAGS } from './flags.js';

export const COLLECT_FLAGS: readonly FlagSpec[] = [
  EXPERIMENT_PROFILE_FLAG,
  { name: 'adapters', type: 'boolean', description: `also copy each cached trial's kept adapter into the results folder as ${IMPORT_ADAPTERS_SUBDIR}/<key>/ (what --import-trials DIR --verify re-scores from)` },
  { name: 'shards', type: 'integer', description: 'the N of the --shard I/N runs: missing trials are listed with their shard, and the shards to resubmit' },
  ...RUN_FLAGS,
  jsonFlag('one JSON object on stdout: counts, the results folder and the missing trials'),
];

export const command: Command<CollectResult> = {
  name: 'collect',
  summary: 'results and report from whatever the trial cache holds; lists the missing trials',
  get synopsis() {
    return [
      'usage: peftscale collect FILE [flags]',
      '',
      'Builds results/<experiment>/ and the report from the cached trials, and lists the missing ones.',
      'Exit status 0: complete; 2: some trials missing (the cached ones are written); 1: an error.',
      '',
      `FILE: a shipped experiment (${shippedExperiments().join(', ')}) or a path to an experiment file`,
    ].join('\n');
  },
  flags: COLLECT_FLAGS,
  run: collect,
};

/** `peftscale collect ARGV` (tests call it directly). */
export async function runCollect(argv: string[]): Promise<CollectResult | null> {
  return await runCommand(command, argv);
}

/** A trial not in the cache, with its shard when the shard count is known. */
export interface MissingTrial {
  key: string;
  description: string;
  shard: number | null;
}

export interface CollectResult {
  experiment: string;
  trials: number;
  cached: number;
  missing: MissingTrial[];
  /** Shards with missing trials (with --shards): what to resubmit. */
  shardsToRerun: number[];
  /** null when nothing is cached yet (no results folder is written then). */
  resultsDir: string | null;
  /** With --adapters and something cached: the adapters copied into the results folder, and the cached trials that kept none. */
  adapters?: { copied: number; withoutAdapter: number };
}

async function collect(args: ParsedArgs): Promise<CollectResult> {
  if (args.positionals.length !== 1) throw new Error(`collect: expected one experiment file, got ${args.positionals.length === 0 ? 'none' : args.positionals.join(' ')}; see --help`);
  const shards = numberFlag(args, 'shards');
  if (shards !== undefined && shards < 1) throw new Error(`collect: --shards = ${shards}: allowed: an integer ≥ 1`);
  const experiment = resolveExperiment(experimentPath(args.positionals[0]), stringFlag(args, 'profile') ?? defaultProfile(experimentPath(args.positionals[0])));
  if (shards !== undefined) checkShardCount(shards, experiment.trials.length, `collect: --shards = ${shards}`);
  const modelCacheDir = stringFlag(args, 'cache') ?? DEFAULT_CACHE_DIR;
  const trialCacheDir = stringFlag(args, 'trial-cache') ?? DEFAULT_TRIAL_CACHE_DIR;
  // A mistyped cache path is not "nothing cached yet": every shard and the pretraining job create it.
  if (!existsSync(trialCacheDir) || !statSync(trialCacheDir).isDirectory()) {
    throw new Error(`collect: --trial-cache = ${JSON.stringify(trialCacheDir)}: ${existsSync(trialCacheDir) ? 'not a folder' : 'no such folder'}: allowed: the trial cache the runs or shards wrote (peftscale experiment --trial-cache)`);
  }
  const resultsRoot = stringFlag(args, 'results') ?? DEFAULT_RESULTS_DIR;
  const replaceResults = booleanFlag(args, 'replace');
  const notOurs = replaceResults ? null : await ownershipProblem(resultsDirFor(resultsRoot, experiment.name), experiment.file);
  if (notOurs !== null) throw new Error(`collect: ${notOurs}`);
  const plan = await planRun(experiment, trialCacheDir, (message) => void process.stderr.write(`warning: ${message}\n`));

  const assignment = shards === undefined ? null : partitionTrials(plan.trials, shards);
  const missing = plan.toRun.map((trial) => ({ key: trial.key, description: describeTrial(trial), shard: assignment?.get(trial.key) ?? null }));
  const shardsToRerun = [...new Set(missing.flatMap((m) => (m.shard === null ? [] : [m.shard])))].sort((a, b) => a - b);
  // Only finished models are used; a missing one would be pretrained, which collecting never does.
  const ready: string[] = [];
  const fromFolders = new Set(experiment.checkpoints.map((checkpoint) => checkpoint.name));
  for (const preset of experiment.presets) {
    // A checkpoint folder is ready by definition (it was checked when the experiment was planned).
    if (fromFolders.has(preset)) {
      ready.push(preset);
      continue;
    }
    const dir = pretrainedModelDir({ preset, profile: experiment.pretrainProfile, seed: experiment.pretrainSeed, steps: experiment.pretrainSteps, cacheDir: modelCacheDir });
    if ((await readPretrainedSummary(dir)) !== null) ready.push(preset);
  }

  let resultsDir: string | null = null;
  let adapters: CollectResult['adapters'];
  if (plan.cached.size > 0) {
    resultsDir = resultsDirFor(resultsRoot, experiment.name);
    await mkdir(resultsDir, { recursive: true });
    // The folder's record of the hypotheses is kept; one made now is dated now, and the report says it came after the trials.
    const hypotheses = await recordHypotheses(resultsDir, experiment.file, experiment.hypotheses, null, (message) => void process.stderr.write(`warning: ${message}\n`));
    const outcome = await runPlannedExperiment({ ...experiment, presets: ready }, { ...plan, toRun: [] }, { backend: stringFlag(args, 'backend'), modelCacheDir, trialCacheDir, resultsDir, replaceResults, jobs: 1, hypotheses });
    if (!booleanFlag(args, 'json')) process.stdout.write(`\n${formatSummaryTable(summarize(outcome.records, baselineMethod().name))}\n`);
    process.stderr.write(`results: ${resultsDir}/ (${plan.cached.size} of ${plan.trials.length} trials)\n`);
    if (!booleanFlag(args, 'no-report')) await writeExperimentReport(resultsRoot, resultsDir, experiment);
    if (booleanFlag(args, 'adapters')) {
      adapters = await copyAdapters(trialCacheDir, resultsDir, [...plan.cached.keys()]);
      process.stderr.write(`adapters: ${adapters.copied} copied into ${path.join(resultsDir, IMPORT_ADAPTERS_SUBDIR)}/, ${adapters.withoutAdapter} cached trial(s) kept none (a method that trains nothing, or over PEFTSCALE_ADAPTER_CACHE_MAX_MB)\n`);
    }
  }
  const unready = experiment.presets.filter((preset) => !ready.includes(preset));
  if (unready.length > 0) process.stderr.write(`not pretrained yet (left out of run.json): ${unready.join(', ')}\n`);

  const result: CollectResult = { experiment: experiment.name, trials: plan.trials.length, cached: plan.cached.size, missing, shardsToRerun, resultsDir, ...(adapters === undefined ? {} : { adapters }) };
  if (booleanFlag(args, 'json')) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  if (missing.length === 0) {
    process.stderr.write(`${experiment.name}: complete, all ${plan.trials.length} trials cached\n`);
  } else {
    process.stderr.write(`${experiment.name}: ${missing.length} of ${plan.trials.length} trials missing${resultsDir === null ? ' (nothing cached yet: no results written)' : ''}:\n`);
    for (const m of missing) process.stderr.write(`  ${m.key}  ${m.description}${m.shard === null ? '' : `  (shard ${m.shard}/${shards})`}\n`);
    if (shardsToRerun.length > 0) process.stderr.write(`shards to run again: ${shardsToRerun.join(',')} (peftscale slurm ... --tasks ${shardsToRerun.join(',')} --submit)\n`);
    if (process.exitCode === undefined || process.exitCode === 0) process.exitCode = 2;
  }
  return result;
}

/**
 * Copies each key's kept adapter folder to RESULTS/adapters/<key>/, replacing one there (writeFolderAtomic);
 * a key whose trial kept none loses any copy an earlier collect left, so --verify
 * never re-scores from a stale adapter.
 */
async function copyAdapters(trialCacheDir: string, resultsDir: string, keys: readonly string[]): Promise<{ copied: number; withoutAdapter: number }> {
  let copied = 0;
  for (const key of keys) {
    const source = trialAdapterPath(trialCacheDir, key);
    const target = path.join(resultsDir, IMPORT_ADAPTERS_SUBDIR, key);
    if (!existsSync(source)) {
      await rm(target, { recursive: true, force: true });
      continue;
    }
    await writeFolderAtomic(target, (temporary) => cp(source, temporary, { recursive: true }));
    copied += 1;
  }
  return { copied, withoutAdapter: keys.length - copied };
}
