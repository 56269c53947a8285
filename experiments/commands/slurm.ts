/**
 * `peftscale slurm FILE [flags]`: its flags, then experiments/cluster/slurm.ts plans the jobs and writes
 * the submit script, which is printed or (with --submit) run.
 */
import '../../methods/index.js';
import { booleanFlag, type FlagSpec, type ParsedArgs } from '../../src/util/cli_args.js';
import { planSlurm, shellQuote, slurmScript, submitSlurm, type SubmittedJobs } from '../cluster/slurm.js';
import { shippedExperiments } from '../plan/spec.js';
import { jsonFlag, runCommand, type Command } from './command.js';
import { BACKEND_FLAG, CACHE_FLAG, EXPERIMENT_PROFILE_FLAG, RESULTS_FLAG, TRIAL_CACHE_FLAG } from './flags.js';

export const SLURM_FLAGS: readonly FlagSpec[] = [
  EXPERIMENT_PROFILE_FLAG,
  { name: 'array-size', type: 'integer', description: 'N: array tasks (shards of the trials), 1 to the number of trials (default: the trials, at most 16)' },
  { name: 'tasks', type: 'string', description: 'submit only these array tasks, e.g. 2,5 or 3-4 (to rerun failed shards; the pretrain and collect jobs are submitted too)' },
  { name: 'max-parallel', type: 'integer', description: 'at most this many array tasks at once (sbatch --array=...%M)' },
  { name: 'partition', type: 'string', description: 'sbatch --partition' },
  { name: 'account', type: 'string', description: 'sbatch --account' },
  { name: 'gpus', type: 'integer', description: 'GPUs per job (sbatch --gres=gpu:N); 0: none', default: 0 },
  { name: 'cpus-per-task', type: 'integer', description: 'CPU cores per job (sbatch --cpus-per-task)', default: 2 },
  { name: 'mem', type: 'string', description: 'memory per job, e.g. 8G (sbatch --mem)' },
  { name: 'time', type: 'string', description: 'time limit of each job: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS (sbatch --time)' },
  { name: 'pretrain-time', type: 'string', description: 'time limit of the pretraining job (default: --time)' },
  { name: 'workers', type: 'integer', description: 'worker threads per job (default: --cpus-per-task)' },
  BACKEND_FLAG,
  RESULTS_FLAG,
  CACHE_FLAG,
  TRIAL_CACHE_FLAG,
  { name: 'log-dir', type: 'string', description: 'job output and the submitted script (default .cache/peftscale/slurm/<experiment>)' },
  { name: 'job-name', type: 'string', description: 'job name prefix (default peftscale-<experiment>)' },
  { name: 'setup', type: 'string', description: 'a shell line each job runs first, e.g. "module load nodejs/20"' },
  { name: 'node', type: 'string', description: 'the Node.js binary on the compute nodes (default: this one)' },
  { name: 'submit', type: 'boolean', description: 'submit the jobs with sbatch and print their ids (otherwise: print the script)' },
  jsonFlag('with --submit: the job ids as one JSON object'),
];

export const command: Command<SubmittedJobs | null> = {
  name: 'slurm',
  summary: 'an experiment as Slurm jobs: pretraining, a job array of trial shards, collect; prints or submits them',
  get synopsis() {
    return [
      'usage: peftscale slurm FILE [flags]',
      '',
      'Writes the sbatch jobs of an experiment: pretraining, then a job array over the trials (afterok), then',
      'peftscale collect (afterany). Prints the submit script, or with --submit runs it and prints the job ids.',
      '',
      `FILE: a shipped experiment (${shippedExperiments().join(', ')}) or a path to an experiment file`,
    ].join('\n');
  },
  flags: SLURM_FLAGS,
  run: slurm,
};

/** `peftscale slurm ARGV` (tests call it directly). */
export async function runSlurm(argv: string[]): Promise<SubmittedJobs | null> {
  return await runCommand(command, argv);
}

async function slurm(args: ParsedArgs): Promise<SubmittedJobs | null> {
  const plan = planSlurm(args);
  const script = slurmScript(plan, ['peftscale slurm', ...args.argv.map(shellQuote)].join(' '));
  if (!booleanFlag(args, 'submit')) {
    process.stdout.write(script);
    return null;
  }
  const submitted = submitSlurm(plan, script);
  if (booleanFlag(args, 'json')) process.stdout.write(`${JSON.stringify(submitted, null, 2)}\n`);
  else {
    process.stdout.write(`pretrain job ${submitted.pretrain}\ntrial array ${submitted.trials} (tasks ${plan.tasks} of 1-${plan.arraySize})\ncollect job ${submitted.collect}\n`);
    process.stderr.write(`script: ${submitted.script}\nlogs: ${plan.paths.logDir}/\nwatch: squeue -j ${submitted.pretrain},${submitted.trials},${submitted.collect}\n`);
  }
  return submitted;
}
