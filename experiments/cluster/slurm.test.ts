/**
 * `peftscale slurm`: the script it writes, its flag checks, and a real run on a one-node Slurm cluster
 * started here (test/slurm_cluster.ts). Where Slurm cannot start (not installed, not root) the cluster
 * test skips and says why; with PEFTSCALE_REQUIRE_SLURM=1 (set by .ci/run) it fails instead.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseArgs } from '../../src/util/cli_args.js';
import { RESULT_FILES, type TrialRecord } from '../../src/results/results.js';
import { slurmUnavailable, startSlurmCluster } from '../../test/slurm_cluster.js';
import { testBackends } from '../../test/helpers.js';
import { runExperiment } from '../commands/experiment.js';
import { partitionTrials } from './shard.js';
import { parseSubmitted, parseTaskList, planSlurm, slurmScript } from './slurm.js';
import { SLURM_FLAGS } from '../commands/slurm.js';
import { experimentPath, resolveExperiment } from '../plan/spec.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'peftscale-slurm-test-'));
after(() => rmSync(root, { recursive: true, force: true }));
const cli = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'cli.js');
const plan = (argv: string[]) => planSlurm(parseArgs(argv, SLURM_FLAGS, 'slurm'), root);

describe('peftscale slurm: the script', () => {
  it('chains pretraining, the shard array (afterok) and collect (afterany), with absolute paths, and is valid bash', () => {
    const p = plan(['smoke', '--array-size', '3', '--partition', 'gpu', '--gpus', '1', '--time', '2:00:00', '--max-parallel', '2', '--mem', '8G', '--setup', 'module load nodejs/20']);
    const script = slurmScript(p, 'peftscale slurm smoke');
    assert.equal(p.trials, 8);
    assert.match(script, /^pretrain=\$\(jobid <<'PEFTSCALE_JOB'$/m);
    assert.match(script, /^trials=\$\(jobid --array="\$TASKS%2" --dependency="afterok:\$pretrain" <<'PEFTSCALE_JOB'$/m);
    assert.match(script, /^collect=\$\(jobid --dependency="afterany:\$trials" <<'PEFTSCALE_JOB'$/m);
    assert.match(script, /^TASKS="\$\{PEFTSCALE_TASKS:-1-3\}"$/m);
    assert.match(script, / experiment \S+smoke\.json --profile quick .* --pretrain-only --workers 2$/m);
    assert.match(script, / experiment \S+smoke\.json .* --shard "\$SLURM_ARRAY_TASK_ID\/3" --workers 2$/m);
    assert.match(script, / collect \S+smoke\.json .* --shards 3 --results \/\S+\/results$/m);
    assert.equal((script.match(/^#SBATCH --gres=gpu:1$/gm) ?? []).length, 2, 'pretraining and trials get the GPU, collect does not');
    assert.equal((script.match(/^#SBATCH --partition=gpu$/gm) ?? []).length, 3);
    assert.equal((script.match(/^module load nodejs\/20$/gm) ?? []).length, 3);
    assert.equal((script.match(new RegExp(`^#SBATCH --chdir=${root}$`, 'gm')) ?? []).length, 3);
    const check = spawnSync('bash', ['-n'], { input: script, encoding: 'utf8' });
    assert.equal(check.status, 0, check.stderr);
  });

  it('--tasks resubmits part of the array; the ids are read back from the script output', () => {
    assert.equal(parseTaskList('2, 5-6', 8), '2,5-6');
    assert.match(slurmScript(plan(['smoke', '--array-size', '3', '--tasks', '2']), ''), /^TASKS="\$\{PEFTSCALE_TASKS:-2\}"$/m);
    assert.deepEqual(parseSubmitted('pretrain job: 11\ntrial array: 12 (tasks 1-3 of 1-3)\ncollect job: 13\n'), { pretrain: '11', trials: '12', collect: '13' });
    assert.throws(() => parseSubmitted('sbatch: error: Batch job submission failed'), /printed no "pretrain job: ID" line/);
  });

  it('reports every bad flag at once, naming the flag, the value and what is allowed', () => {
    assert.throws(
      () => plan(['smoke', '--array-size', '9', '--time', '2h', '--partition', 'a b', '--gpus', '-1', '--mem', 'lots', '--tasks', '12']),
      (error: Error) => {
        const lines = error.message.split('\n');
        assert.equal(lines[0], 'slurm: 6 problem(s):');
        for (const expected of [
          '--array-size = 9: allowed: an integer from 1 to 8',
          '--gpus = -1: allowed: an integer from 0 up',
          '--partition = "a b": allowed: letters, digits and _ . + -',
          '--mem = "lots": allowed: an integer with an optional unit K, M, G or T (e.g. 8G)',
          '--time = "2h": allowed: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS',
          '--tasks = "12": allowed: comma-separated task numbers or ranges within 1-8 (e.g. 2,5 or 3-4)',
        ]) {
          assert.ok(lines.includes(`  ${expected}`), `${expected}\nin:\n${error.message}`);
        }
        return true;
      },
    );
    assert.throws(() => plan([]), /slurm: expected one experiment file, got none/);
    // The backend is checked with the other shared flags, when the command line is parsed.
    assert.throws(() => plan(['smoke', '--backend', 'gpu']), /slurm: --backend: unknown backend "gpu"; did you mean "cpu"\? Allowed: tensorflow, wasm, cpu, auto/);
  });
});

const unavailable = slurmUnavailable();
const required = process.env.PEFTSCALE_REQUIRE_SLURM === '1';
// The jobs run on wasm (compared with a local wasm run): a pass on other backends (CI's tensorflow pass) skips it.
const skip = !testBackends().includes('wasm')
  ? `the cluster test runs its jobs on wasm, and PEFTSCALE_TEST_BACKENDS (${testBackends().join(',')}) leaves wasm out`
  : unavailable !== null && !required
    ? `${unavailable}: Slurm test skipped; set PEFTSCALE_REQUIRE_SLURM=1 to make this a failure`
    : false;

describe('peftscale slurm on a real one-node Slurm cluster', () => {
  it('submits smoke as a 3-task array; the collected results equal a local run’s; a resubmitted task recomputes only its missing trial; a checkpoint-folder experiment (tiny-files) runs as a 2-task array', { skip, timeout: 600_000 }, async (t) => {
    assert.equal(unavailable, null, `PEFTSCALE_REQUIRE_SLURM=1 but ${unavailable}`);
    let phase = Date.now();
    const lap = (what: string): void => {
      t.diagnostic(`${what}: ${((Date.now() - phase) / 1000).toFixed(1)} s`);
      phase = Date.now();
    };
    const cluster = await startSlurmCluster();
    lap('cluster started');
    try {
      const caches = ['--cache', path.join(root, 'models'), '--trial-cache', path.join(root, 'slurm-trials'), '--results', path.join(root, 'slurm-results')];
      const submit = (extra: string[], experimentName = 'smoke', arraySize = 3, logDir = path.join(root, 'logs')): { pretrain: string; trials: string; collect: string; logDir: string } => {
        // Run from the test folder: the jobs start there and write the report under it.
        const run = spawnSync(process.execPath, [cli, 'slurm', experimentName, '--array-size', String(arraySize), '--cpus-per-task', '1', '--backend', 'wasm', ...caches, '--log-dir', logDir, '--submit', '--json', ...extra], { cwd: root, env: cluster.env, encoding: 'utf8' });
        assert.equal(run.status, 0, run.stderr);
        return JSON.parse(run.stdout) as { pretrain: string; trials: string; collect: string; logDir: string };
      };
      const waitAll = async (ids: { pretrain: string; trials: string; collect: string }, what: string, logDir = path.join(root, 'logs')): Promise<void> => {
        const all = [ids.pretrain, ids.trials, ids.collect];
        const finished = await cluster.waitForJobs(all, 300);
        const states = cluster.jobStates(all);
        const logs = readdirSync(logDir).filter((n) => n.endsWith('.out')).map((n) => `--- ${n}\n${readFileSync(path.join(logDir, n), 'utf8').slice(-1500)}`).join('\n');
        assert.ok(finished, `${what}: the jobs did not finish within 300 s: ${JSON.stringify(states)}\n${cluster.logs()}`);
        for (const job of states) assert.deepEqual([job.state, job.exitCode], ['COMPLETED', '0:0'], `${what}: job ${job.id} (${job.name})\n${logs}`);
      };

      const ids = submit([]);
      await waitAll(ids, 'first submission');
      lap('pretrain job, 3-task array and collect');
      assert.equal(cluster.jobStates([ids.trials]).length, 3, 'an array of 3 tasks');
      const experiment = resolveExperiment(experimentPath('smoke'), 'quick');
      const assignment = partitionTrials(experiment.trials, 3);
      // Every trial ran in exactly one task: the one its shard names.
      for (let task = 1; task <= 3; task++) {
        const log = readFileSync(path.join(root, 'logs', `trials-${ids.trials}_${task}.out`), 'utf8');
        const ran = (log.match(/^✓ /gm) ?? []).length;
        assert.equal(ran, experiment.trials.filter((t) => assignment.get(t.key) === task).length, `task ${task} ran its share:\n${log}`);
      }
      const readRecords = (dir: string): TrialRecord[] => readFileSync(path.join(dir, 'smoke', RESULT_FILES.records), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TrialRecord);
      const collected = readRecords(path.join(root, 'slurm-results'));
      assert.ok(statSync(path.join(root, 'reports', 'out', 'smoke', 'index.html')).size > 0, 'collect wrote the report');

      // The same experiment locally, on the same backend and frozen model, with its own trial cache.
      const local = await runExperiment(['smoke', '--backend', 'wasm', '--workers', '2', '--no-report', '--cache', path.join(root, 'models'), '--trial-cache', path.join(root, 'local-trials'), '--results', path.join(root, 'local-results')]);
      assert.deepEqual([local?.ran, local?.failed], [8, 0]);
      lap('the local run');
      const scores = (records: TrialRecord[]) => records.map((r) => ({ key: r.key, status: r.status, test: r.test, dev: r.dev, lossCurve: r.lossCurve, backend: r.environment.backend })).sort((a, b) => (a.key < b.key ? -1 : 1));
      assert.deepEqual(scores(collected), scores(readRecords(path.join(root, 'local-results'))), 'the same trial keys, scores and loss curves');

      // A task that lost a trial (as if killed before finishing it), resubmitted alone: it runs that trial only.
      const lost = experiment.trials.find((t) => assignment.get(t.key) === 2)?.key as string;
      const trialDir = path.join(root, 'slurm-trials');
      const kept = new Map(readdirSync(trialDir).filter((n) => n.endsWith('.json') && !n.startsWith(lost)).map((n) => [n, readFileSync(path.join(trialDir, n), 'utf8')]));
      unlinkSync(path.join(trialDir, `${lost}.json`));
      const again = submit(['--tasks', '2']);
      await waitAll(again, 'resubmission of task 2');
      lap('resubmitted task 2 with its pretrain and collect jobs');
      assert.equal(cluster.jobStates([again.trials]).length, 1, 'only task 2 was submitted');
      const log = readFileSync(path.join(root, 'logs', `trials-${again.trials}_2.out`), 'utf8');
      assert.match(log, /shard 2\/3: \d+ trials; \d+ cached, 1 to run/);
      assert.equal((log.match(/^✓ /gm) ?? []).length, 1, log);
      for (const [name, text] of kept) assert.equal(readFileSync(path.join(trialDir, name), 'utf8'), text, `${name} was not recomputed`);
      assert.deepEqual(scores(readRecords(path.join(root, 'slurm-results'))), scores(collected), 'the recomputed trial scores the same');

      // An experiment with its own checkpoint folder and file datasets (tiny-files): the pretraining job has
      // nothing to pretrain, the 2 shards are costed from the folder's config.json, collect writes every trial.
      const filesLogs = path.join(root, 'logs-files');
      const files = submit([], 'tiny-files', 2, filesLogs);
      await waitAll(files, 'tiny-files (a checkpoint folder)', filesLogs);
      lap('tiny-files: pretrain (nothing), 2-task array and collect');
      assert.match(readFileSync(path.join(filesLogs, `pretrain-${files.pretrain}.out`), 'utf8'), /nothing to pretrain \(every model is a checkpoint folder\)/);
      const tiny = resolveExperiment(experimentPath('tiny-files'), 'quick');
      const tinyShards = partitionTrials(tiny.trials, 2);
      for (let task = 1; task <= 2; task++) {
        const taskLog = readFileSync(path.join(filesLogs, `trials-${files.trials}_${task}.out`), 'utf8');
        assert.equal((taskLog.match(/^✓ /gm) ?? []).length, tiny.trials.filter((t) => tinyShards.get(t.key) === task).length, `tiny-files task ${task} ran its share:\n${taskLog}`);
      }
      const tinyRecords = readFileSync(path.join(root, 'slurm-results', 'tiny-files', RESULT_FILES.records), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TrialRecord);
      assert.deepEqual(tinyRecords.map((r) => r.key).sort(), tiny.trials.map((t) => t.key).sort(), 'collect wrote every tiny-files trial');
    } finally {
      await cluster.stop();
    }
  });
});
