/**
 * A one-node Slurm cluster on this machine, for tests: Debian's slurm-wlm (slurmctld, slurmd, the
 * client) and munge, started without systemd or cgroups, with a minimal config in a folder the test
 * owns. `SLURM_CONF` in `env` points every client (sbatch, squeue, scontrol) and the jobs at it.
 *
 * What it takes (measured on Debian 12, Slurm 22.05): munged running as the munge user with /run/munge;
 * slurm.conf with this node's line from `slurmd -C`, proctrack/linuxproc, task/none, state and spool
 * folders here, kill_invalid_depend (a job whose dependency failed is cancelled, not left pending);
 * sacct needs slurmdbd, so outcomes come from `scontrol show job` (kept for MinJobAge). The daemons run in
 * the foreground as children of this process, so `stop` ends exactly them.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';

export interface SlurmCluster {
  dir: string;
  /** The environment for clients and for commands that submit (SLURM_CONF set). */
  env: NodeJS.ProcessEnv;
  /** Waits until none of these jobs is pending or running, at most `seconds`; false on timeout. */
  waitForJobs(ids: readonly string[], seconds: number): Promise<boolean>;
  /** Every job (array tasks one by one) of these ids: state and exit code, from `scontrol show job`. */
  jobStates(ids: readonly string[]): { id: string; name: string; state: string; exitCode: string }[];
  /** The daemons' logs, for failure messages. */
  logs(): string;
  stop(): Promise<void>;
}

const SBIN = ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/sbin', '/usr/local/bin'];

function findBinary(name: string): string | null {
  for (const dir of [...(process.env.PATH ?? '').split(':'), ...SBIN]) if (dir !== '' && existsSync(path.join(dir, name))) return path.join(dir, name);
  return null;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Why a cluster cannot start here, or null when it can be tried. */
export function slurmUnavailable(): string | null {
  const missing = ['slurmctld', 'slurmd', 'sbatch', 'squeue', 'scontrol', 'munged', 'munge'].filter((name) => findBinary(name) === null);
  if (missing.length > 0) return `Slurm is not installed (missing ${missing.join(', ')}; Debian: apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge)`;
  if (process.getuid?.() !== 0) return 'a one-node Slurm cluster needs root here (slurmd starts jobs as their users)';
  return null;
}

function mungeWorks(): boolean {
  const munge = findBinary('munge');
  const unmunge = findBinary('unmunge');
  if (munge === null || unmunge === null) return false;
  const credential = spawnSync(munge, ['-n'], { encoding: 'utf8' });
  return credential.status === 0 && spawnSync(unmunge, [], { input: credential.stdout }).status === 0;
}

/**
 * Starts munged as the munge user, in the foreground as a child of this process (stopped with the
 * cluster), when no munge daemon answers; creates the key when the package left none.
 */
async function ensureMunge(): Promise<ChildProcess | null> {
  if (mungeWorks()) return null;
  const id = (flag: string): number => Number(spawnSync('id', [flag, 'munge'], { encoding: 'utf8' }).stdout.trim());
  const [uid, gid] = [id('-u'), id('-g')];
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error('munge is installed but there is no munge user');
  for (const dir of ['/run/munge', '/var/lib/munge', '/var/log/munge', '/etc/munge']) {
    mkdirSync(dir, { recursive: true });
    spawnSync('chown', ['munge:munge', dir]);
  }
  if (!existsSync('/etc/munge/munge.key')) {
    const key = spawnSync(findBinary('mungekey') ?? 'mungekey', ['--create'], { uid, gid, encoding: 'utf8' });
    if (key.status !== 0) throw new Error(`mungekey --create failed: ${key.stderr.trim()}`);
  }
  let stderr = '';
  const daemon = spawn(findBinary('munged') as string, ['-F'], { uid, gid, stdio: ['ignore', 'ignore', 'pipe'] });
  daemon.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  for (let i = 0; i < 50 && !mungeWorks() && daemon.exitCode === null; i++) await sleep(100);
  if (!mungeWorks()) {
    daemon.kill('SIGKILL');
    throw new Error(`munged did not start: ${stderr.trim() || 'munge -n | unmunge still fails'}`);
  }
  return daemon;
}

/** The node line of `slurmd -C`, without its UpTime. */
function nodeLine(): string {
  const probe = spawnSync(findBinary('slurmd') as string, ['-C'], { encoding: 'utf8' });
  const line = probe.stdout.split('\n').find((l) => l.startsWith('NodeName='));
  if (probe.status !== 0 || line === undefined) throw new Error(`slurmd -C failed: ${probe.stderr.trim()}`);
  return line.replace(/^NodeName=\S+/, `NodeName=${hostname().split('.')[0]} NodeAddr=127.0.0.1`);
}

/** Starts a cluster; throws (with the daemons' logs) when it does not come up within 30 s. */
export async function startSlurmCluster(): Promise<SlurmCluster> {
  const munged = await ensureMunge();
  const dir = mkdtempSync(path.join(tmpdir(), 'peftscale-slurm-'));
  for (const sub of ['state', 'spool']) mkdirSync(path.join(dir, sub));
  const conf = path.join(dir, 'slurm.conf');
  // Ports away from a system Slurm's 6817/6818, different per run in case an old cluster lingers.
  const port = 17000 + 2 * (process.pid % 1000);
  writeFileSync(
    conf,
    [
      'ClusterName=peftscale-test',
      `SlurmctldHost=${hostname().split('.')[0]}(127.0.0.1)`,
      'SlurmUser=root',
      'AuthType=auth/munge',
      `SlurmctldPort=${port}`,
      `SlurmdPort=${port + 1}`,
      `StateSaveLocation=${dir}/state`,
      `SlurmdSpoolDir=${dir}/spool`,
      `SlurmctldPidFile=${dir}/slurmctld.pid`,
      `SlurmdPidFile=${dir}/slurmd.pid`,
      `SlurmctldLogFile=${dir}/slurmctld.log`,
      `SlurmdLogFile=${dir}/slurmd.log`,
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'MpiDefault=none',
      'SchedulerType=sched/backfill',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_Core',
      'ReturnToService=2',
      'DependencyParameters=kill_invalid_depend',
      'MinJobAge=3600',
      `JobCompType=jobcomp/filetxt`,
      `JobCompLoc=${dir}/jobcomp.txt`,
      `${nodeLine()} State=UNKNOWN`,
      'PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP',
      '',
    ].join('\n'),
  );
  const env = { ...process.env, SLURM_CONF: conf };
  const daemons: ChildProcess[] = munged === null ? [] : [munged];
  const logs = (): string =>
    ['slurmctld.log', 'slurmd.log']
      .map((name) => {
        const file = path.join(dir, name);
        return `--- ${name}\n${existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-30).join('\n') : '(none)'}`;
      })
      .join('\n');
  const scontrol = findBinary('scontrol') as string;
  const squeue = findBinary('squeue') as string;
  const stop = async (): Promise<void> => {
    spawnSync(scontrol, ['shutdown'], { env, timeout: 10_000 });
    const slurmDaemons = daemons.filter((d) => d !== munged);
    for (let i = 0; i < 100 && slurmDaemons.some((d) => d.exitCode === null && d.signalCode === null); i++) await sleep(100);
    for (const daemon of slurmDaemons) if (daemon.exitCode === null && daemon.signalCode === null) daemon.kill('SIGKILL');
    munged?.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  // -D: in the foreground, children of this process; -c -i: a clean state, ignoring old ones.
  daemons.push(spawn(findBinary('slurmctld') as string, ['-D', '-c', '-i', '-f', conf], { env, stdio: 'ignore' }));
  await sleep(500);
  daemons.push(spawn(findBinary('slurmd') as string, ['-D', '-f', conf], { env, stdio: 'ignore' }));
  for (let i = 0; i < 60; i++) {
    const state = spawnSync(findBinary('sinfo') ?? 'sinfo', ['-h', '-o', '%t'], { env, encoding: 'utf8' }).stdout.trim();
    if (state === 'idle') {
      return {
        dir,
        env,
        logs,
        stop,
        async waitForJobs(ids, seconds) {
          const deadline = Date.now() + seconds * 1000;
          while (Date.now() < deadline) {
            const listed = spawnSync(squeue, ['-h', '-o', '%i %T', '-j', ids.join(',')], { env, encoding: 'utf8' });
            if (listed.status === 0 && listed.stdout.trim() === '') return true;
            await sleep(1000);
          }
          return false;
        },
        jobStates(ids) {
          const shown = ids.map((id) => spawnSync(scontrol, ['-o', 'show', 'job', id], { env, encoding: 'utf8' }).stdout).join('\n');
          return shown
            .split('\n')
            .filter((line) => line.startsWith('JobId='))
            .map((line) => {
              const field = (name: string): string => new RegExp(`(?:^| )${name}=(\\S*)`).exec(line)?.[1] ?? '';
              const task = field('ArrayTaskId');
              return { id: task === '' ? field('JobId') : `${field('ArrayJobId')}_${task}`, name: field('JobName'), state: field('JobState'), exitCode: field('ExitCode') };
            });
        },
      };
    }
    await sleep(500);
  }
  const text = logs();
  await stop();
  throw new Error(`the one-node Slurm cluster did not become idle within 30 s:\n${text}`);
}
