/**
 * An experiment as Slurm jobs over a shared trial cache (`peftscale slurm FILE [flags]`, whose flags are
 * in experiments/commands/slurm.ts). It writes a bash script that submits three jobs with sbatch:
 *
 *   1. pretrain: `peftscale experiment FILE --pretrain-only` (the frozen models, once, before any trial);
 *   2. trials: a job array of N tasks, after 1 succeeded (`--dependency=afterok`); task I runs
 *      `peftscale experiment FILE --shard I/N`, skipping trials already cached;
 *   3. collect: after the array ended however it ended (`afterany`), `peftscale collect FILE`: results,
 *      report and the list of missing trials (exit 2 when some are missing).
 *
 * Without --submit the script is printed (save it, read it, run it with bash); with --submit it is saved
 * in the log folder and run, and the job ids are printed. Every path in it is absolute: jobs start in
 * this directory (`--chdir`), which must be on a file system the compute nodes share.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { numberFlag, stringFlag, type ParsedArgs } from '../../src/util/cli_args.js';
import { DEFAULT_CACHE_DIR } from '../pretrain/pretrain_family.js';
import { DEFAULT_RESULTS_DIR } from '../run/results_files.js';
import { defaultProfile, experimentPath, resolveExperiment } from '../plan/spec.js';
import { DEFAULT_TRIAL_CACHE_DIR } from '../run/trial_cache.js';

/** Everything the script is made from, validated. */
export interface SlurmPlan {
  experiment: string;
  file: string;
  profile: string;
  trials: number;
  arraySize: number;
  tasks: string;
  maxParallel: number | null;
  directives: string[];
  pretrainTime: string | null;
  time: string | null;
  workers: number;
  backend: string | null;
  paths: { workdir: string; results: string; cache: string; trialCache: string; logDir: string; node: string; cli: string };
  jobName: string;
  setup: string | null;
}

const TIME = /^(\d+|\d+:\d{1,2}|\d+:\d{1,2}:\d{1,2}|\d+-\d+|\d+-\d+:\d{1,2}|\d+-\d+:\d{1,2}:\d{1,2})$/;
const NAME = /^[A-Za-z0-9_.+-]+$/;

/** "1-3,5" within 1..n, normalised; an error names the flag, the value and what is allowed. */
export function parseTaskList(text: string, n: number): string {
  const allowed = `comma-separated task numbers or ranges within 1-${n} (e.g. 2,5 or 3-4)`;
  const parts = text.split(',').map((part) => part.trim());
  for (const part of parts) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part);
    const low = Number(match?.[1]);
    const high = match?.[2] === undefined ? low : Number(match[2]);
    if (match === null || low < 1 || high > n || high < low) throw new Error(`slurm: --tasks = ${JSON.stringify(text)}: allowed: ${allowed}`);
  }
  return parts.join(',');
}

/** Validates the flags against the experiment; every problem is reported at once. */
export function planSlurm(args: ParsedArgs, cwd = process.cwd()): SlurmPlan {
  if (args.positionals.length !== 1) throw new Error(`slurm: expected one experiment file, got ${args.positionals.length === 0 ? 'none' : args.positionals.join(' ')}; see --help`);
  const profile = stringFlag(args, 'profile') ?? defaultProfile(experimentPath(args.positionals[0]));
  const experiment = resolveExperiment(experimentPath(args.positionals[0]), profile);
  const trials = experiment.trials.length;
  const problems: string[] = [];
  const integer = (name: string, min: number, max = Infinity): number | undefined => {
    const value = numberFlag(args, name);
    if (value === undefined || (value >= min && value <= max)) return value;
    problems.push(`--${name} = ${value}: allowed: an integer from ${min}${Number.isFinite(max) ? ` to ${max}` : ' up'}`);
    return undefined;
  };
  const arraySize = integer('array-size', 1, trials) ?? Math.min(trials, 16);
  const maxParallel = integer('max-parallel', 1) ?? null;
  const gpus = integer('gpus', 0) ?? 0;
  const cpus = integer('cpus-per-task', 1) ?? 2;
  const workers = integer('workers', 1) ?? cpus;
  const named = (name: string): string | undefined => {
    const value = stringFlag(args, name);
    if (value !== undefined && !NAME.test(value)) problems.push(`--${name} = ${JSON.stringify(value)}: allowed: letters, digits and _ . + -`);
    return value;
  };
  const partition = named('partition');
  const account = named('account');
  const jobName = named('job-name') ?? `peftscale-${experiment.name}`;
  const mem = stringFlag(args, 'mem');
  if (mem !== undefined && !/^\d+[KMGT]?$/.test(mem)) problems.push(`--mem = ${JSON.stringify(mem)}: allowed: an integer with an optional unit K, M, G or T (e.g. 8G)`);
  const timeFlag = (name: string): string | null => {
    const value = stringFlag(args, name);
    if (value !== undefined && !TIME.test(value)) problems.push(`--${name} = ${JSON.stringify(value)}: allowed: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS`);
    return value ?? null;
  };
  const time = timeFlag('time');
  const pretrainTime = timeFlag('pretrain-time') ?? time;
  const backend = stringFlag(args, 'backend') ?? null; // one of the backend names: checked when the flags were parsed
  let tasks = `1-${arraySize}`;
  const taskText = stringFlag(args, 'tasks');
  if (taskText !== undefined) {
    try {
      tasks = parseTaskList(taskText, arraySize);
    } catch (error) {
      problems.push((error as Error).message.replace(/^slurm: /, ''));
    }
  }
  if (problems.length > 0) throw new Error(`slurm: ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);

  const directives = [
    ...(partition === undefined ? [] : [`--partition=${partition}`]),
    ...(account === undefined ? [] : [`--account=${account}`]),
    `--cpus-per-task=${cpus}`,
    ...(mem === undefined ? [] : [`--mem=${mem}`]),
    ...(gpus > 0 ? [`--gres=gpu:${gpus}`] : []),
  ];
  const absolute = (p: string): string => path.resolve(cwd, p);
  return {
    experiment: experiment.name,
    file: experiment.file,
    profile,
    trials,
    arraySize,
    tasks,
    maxParallel,
    directives,
    pretrainTime,
    time,
    workers,
    backend,
    paths: {
      workdir: cwd,
      results: absolute(stringFlag(args, 'results') ?? DEFAULT_RESULTS_DIR),
      cache: absolute(stringFlag(args, 'cache') ?? DEFAULT_CACHE_DIR),
      trialCache: absolute(stringFlag(args, 'trial-cache') ?? DEFAULT_TRIAL_CACHE_DIR),
      logDir: absolute(stringFlag(args, 'log-dir') ?? path.join('.cache', 'peftscale', 'slurm', experiment.name)),
      node: stringFlag(args, 'node') ?? process.execPath,
      cli: fileURLToPath(new URL('../cli.js', import.meta.url)),
    },
    jobName,
    setup: stringFlag(args, 'setup') ?? null,
  };
}

/** Single-quoted for bash. */
export function shellQuote(text: string): string {
  return /^[A-Za-z0-9_/.,:=@%+-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** The submit script: three sbatch calls whose job scripts are here-documents. */
export function slurmScript(plan: SlurmPlan, commandLine: string): string {
  const p = plan.paths;
  const q = shellQuote;
  const common = [q(plan.file), '--profile', plan.profile, '--cache', q(p.cache), '--trial-cache', q(p.trialCache), ...(plan.backend === null ? [] : ['--backend', plan.backend])];
  const peftscale = `${q(p.node)} ${q(p.cli)}`;
  // Collecting trains nothing: it asks for no GPU.
  const job = (name: string, output: string, time: string | null, command: string): string =>
    [
      '#!/bin/bash',
      `#SBATCH --job-name=${plan.jobName}-${name}`,
      `#SBATCH --chdir=${q(p.workdir)}`,
      `#SBATCH --output=${q(path.join(p.logDir, output))}`,
      ...plan.directives.filter((d) => name !== 'collect' || !d.startsWith('--gres=')).map((d) => `#SBATCH ${d}`),
      ...(time === null ? [] : [`#SBATCH --time=${time}`]),
      'set -euo pipefail',
      ...(plan.setup === null ? [] : [plan.setup]),
      `exec ${command}`,
      'PEFTSCALE_JOB',
    ].join('\n');
  return [
    '#!/usr/bin/env bash',
    `# ${plan.experiment} (profile ${plan.profile}) on Slurm: ${plan.trials} trials in ${plan.arraySize} shards over the shared trial cache`,
    `# ${p.trialCache}. Written by: ${commandLine}`,
    '# Submits: the pretraining job; the trial array after it (afterok); collect after the array (afterany).',
    '# Run it with bash; a task of the array that was killed can be run again alone (PEFTSCALE_TASKS=2 bash THIS):',
    '# it skips the trials its shard already finished.',
    'set -euo pipefail',
    `TASKS="\${PEFTSCALE_TASKS:-${plan.tasks}}"`,
    `mkdir -p ${q(p.logDir)}`,
    'jobid() { local out; out=$(sbatch --parsable "$@") || return 1; echo "${out%%;*}"; }',
    '',
    "pretrain=$(jobid <<'PEFTSCALE_JOB'",
    job('pretrain', 'pretrain-%j.out', plan.pretrainTime, `${peftscale} experiment ${common.join(' ')} --pretrain-only --workers ${plan.workers}`),
    ')',
    'echo "pretrain job: $pretrain"',
    '',
    `trials=$(jobid --array="$TASKS${plan.maxParallel === null ? '' : `%${plan.maxParallel}`}" --dependency="afterok:$pretrain" <<'PEFTSCALE_JOB'`,
    job('trials', 'trials-%A_%a.out', plan.time, `${peftscale} experiment ${common.join(' ')} --shard "$SLURM_ARRAY_TASK_ID/${plan.arraySize}" --workers ${plan.workers}`),
    ')',
    'echo "trial array: $trials (tasks $TASKS of 1-' + String(plan.arraySize) + ')"',
    '',
    `collect=$(jobid --dependency="afterany:$trials" <<'PEFTSCALE_JOB'`,
    job('collect', 'collect-%j.out', plan.time, `${peftscale} collect ${common.join(' ')} --shards ${plan.arraySize} --results ${q(p.results)}`),
    ')',
    'echo "collect job: $collect"',
    '',
  ].join('\n');
}

/** The job ids the script printed. */
export interface SubmittedJobs {
  pretrain: string;
  trials: string;
  collect: string;
  tasks: string;
  script: string;
  logDir: string;
}

/** Parses the script's three "... job: ID" lines. */
export function parseSubmitted(stdout: string): { pretrain: string; trials: string; collect: string } {
  const id = (label: string): string => {
    const match = new RegExp(`^${label}: (\\d+)`, 'm').exec(stdout);
    if (match === null) throw new Error(`slurm: the submit script printed no "${label}: ID" line; its output was:\n${stdout}`);
    return match[1];
  };
  return { pretrain: id('pretrain job'), trials: id('trial array'), collect: id('collect job') };
}

/** Runs the submit script (saved in the log folder) and returns the job ids it printed; sbatch must work here. */
export function submitSlurm(plan: SlurmPlan, script: string): SubmittedJobs {
  const probe = spawnSync('sbatch', ['--version'], { encoding: 'utf8', timeout: 30_000 });
  if (probe.error !== undefined || probe.status !== 0) throw new Error(`slurm --submit: sbatch not found or not working (${probe.error?.message ?? probe.stderr.trim()}): install the Slurm client (Debian: slurm-client) or run without --submit and submit the script where sbatch is`);
  mkdirSync(plan.paths.logDir, { recursive: true });
  const file = path.join(plan.paths.logDir, `submit-${new Date().toISOString().replace(/[:.]/g, '-')}.sh`);
  writeFileSync(file, script, { mode: 0o755 });
  const run = spawnSync('bash', [file], { encoding: 'utf8', env: { ...process.env, PEFTSCALE_TASKS: plan.tasks }, timeout: 300_000 });
  if (run.status !== 0) throw new Error(`slurm --submit: ${file} failed (exit ${run.status ?? run.signal}): ${run.stderr.trim()}${run.stdout.trim() === '' ? '' : `\nit had printed:\n${run.stdout.trim()}`}`);
  return { ...parseSubmitted(run.stdout), tasks: plan.tasks, script: file, logDir: plan.paths.logDir };
}
