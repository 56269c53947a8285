/**
 * The command-line layer: every command in index.ts's list loads under its own name, the shared flags
 * are the one definition in flags.ts wherever a command takes them, and a bad backend (flag or
 * environment variable) is refused by every command that takes --backend before it plans or loads
 * anything: one error line naming the choices, nothing on stdout.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { COMMANDS, loadCommand } from './index.js';
import { runCommand, type Command } from './command.js';
import { BACKEND_FLAG, CACHE_FLAG, EXPERIMENT_PROFILE_FLAG, NO_REPORT_FLAG, PROFILE_FLAG, REPLACE_FLAG, RESULTS_FLAG, TRIAL_CACHE_FLAG } from './flags.js';

const cli = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'cli.js');
const SHARED = [BACKEND_FLAG, CACHE_FLAG, NO_REPORT_FLAG, PROFILE_FLAG, REPLACE_FLAG, RESULTS_FLAG, TRIAL_CACHE_FLAG];
/** The positionals a command needs to get as far as its work (the flags are refused before that). */
const POSITIONALS: Readonly<Record<string, readonly string[]>> = { experiment: ['smoke'], slurm: ['smoke'], collect: ['smoke'], data: ['tasks'], report: ['results/none'] };
const BAD_BACKEND = /--backend: unknown backend "nope"\. Allowed: tensorflow, wasm, cpu, auto/;

async function allCommands(): Promise<Command[]> {
  return await Promise.all(Object.keys(COMMANDS).map(loadCommand));
}

describe('peftscale commands', () => {
  it('each listed command loads under its own name, with flags named once', async () => {
    const commands = await allCommands();
    assert.deepEqual(commands.map((c) => c.name), ['info', 'params', 'bench', 'data', 'pretrain', 'experiment', 'slurm', 'collect', 'export', 'report']);
    for (const command of commands) {
      const names = command.flags.map((f) => f.name);
      assert.equal(new Set(names).size, names.length, `${command.name}: a flag is declared twice`);
      assert.ok(!names.includes('help'), `${command.name}: --help is every command's, added by runCommand`);
    }
    await assert.rejects(loadCommand('experimnet'), /unknown command "experimnet"; did you mean "experiment"\?/);
  });

  it('a shared flag is the one definition in flags.ts wherever a command takes it', async () => {
    for (const command of await allCommands()) {
      for (const shared of SHARED) {
        const own = command.flags.find((f) => f.name === shared.name);
        // Commands that read an experiment file take --profile as EXPERIMENT_PROFILE_FLAG (the file may name its own).
        const allowed = shared === PROFILE_FLAG ? [PROFILE_FLAG, EXPERIMENT_PROFILE_FLAG] : [shared];
        if (own !== undefined) assert.ok(allowed.includes(own), `${command.name} --${shared.name} is its own copy, not flags.ts's`);
      }
    }
  });

  it('every command that takes --backend refuses an unknown one before any work (in process)', async () => {
    const takers = (await allCommands()).filter((c) => c.flags.includes(BACKEND_FLAG));
    // At least these; a new command with --backend is checked here too.
    for (const name of ['info', 'bench', 'pretrain', 'experiment', 'slurm', 'collect']) assert.ok(takers.some((c) => c.name === name), `${name} takes --backend`);
    for (const command of takers) {
      await assert.rejects(runCommand(command, [...(POSITIONALS[command.name] ?? []), '--backend', 'nope']), BAD_BACKEND, command.name);
    }
  });

  it('peftscale <command> --backend nope: exit 1, one error line naming the choices, nothing planned or printed', () => {
    const runs: [string, string[], Record<string, string>][] = [
      ...['info', 'bench', 'pretrain'].map((name): [string, string[], Record<string, string>] => [name, [name, '--backend', 'nope'], {}]),
      ['bench reference', ['bench', 'reference', '--backend', 'nope'], {}],
      ...['experiment', 'slurm', 'collect'].map((name): [string, string[], Record<string, string>] => [name, [name, 'smoke', '--backend', 'nope'], {}]),
      // The environment variable that stands for --backend is checked as early.
      ['experiment (PEFTSCALE_BACKEND)', ['experiment', 'smoke'], { PEFTSCALE_BACKEND: 'wsam' }],
    ];
    for (const [what, argv, env] of runs) {
      const run = spawnSync(process.execPath, [cli, ...argv], { encoding: 'utf8', env: { ...process.env, PEFTSCALE_BACKEND: '', ...env }, timeout: 60_000 });
      assert.equal(run.status, 1, `${what}: exit status`);
      assert.equal(run.stdout, '', `${what}: nothing on stdout`);
      const lines = run.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `${what}: one line on stderr, got:\n${run.stderr}`);
      if (env.PEFTSCALE_BACKEND === undefined) assert.match(lines[0], BAD_BACKEND, what);
      else assert.match(lines[0], /^peftscale: experiment: PEFTSCALE_BACKEND \(stands for --backend\): unknown backend "wsam"; did you mean "wasm"\?/);
    }
  });

  it('params: flags it does not declare are the method options', () => {
    const run = spawnSync(process.execPath, [cli, 'params', '--model', 'ps-nano', '--method', 'lora', '--rank', '4', '--json'], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const plan = JSON.parse(run.stdout) as { method: string; options: Record<string, unknown>; trainable: number; closedForm: number };
    assert.equal(plan.method, 'lora');
    assert.equal(plan.options.rank, 4);
    assert.equal(plan.trainable, plan.closedForm);
    const missing = spawnSync(process.execPath, [cli, 'params', '--model', 'ps-nano', '--method', 'lora', '--rank'], { encoding: 'utf8' });
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /params: --rank needs a value/);
    const unknown = spawnSync(process.execPath, [cli, 'params', '--model', 'ps-nano', '--method', 'lora', '--rnak', '4'], { encoding: 'utf8' });
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /unknown option for method "lora" "rnak"; did you mean "rank"\?/);
  });
});
