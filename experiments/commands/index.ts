/**
 * Every `peftscale` command, in the order `peftscale --help` lists them: one line each, naming the file
 * that exports it as `command` (see command.ts). A command's module is loaded only when it runs, so
 * `peftscale report` loads no method, model or training code.
 */
import { unknownNameMessage } from '../../src/model/config.js';
import type { Command } from './command.js';

export const COMMANDS: Readonly<Record<string, () => Promise<{ command: Command }>>> = {
  info: () => import('./info.js'),
  params: () => import('./params.js'),
  bench: () => import('./bench_command.js'),
  data: () => import('./data.js'),
  pretrain: () => import('./pretrain_command.js'),
  experiment: () => import('./experiment.js'),
  slurm: () => import('./slurm.js'),
  collect: () => import('./collect.js'),
  export: () => import('./export_command.js'),
  report: () => import('./report.js'),
};

/** The command of that name, loaded; an unknown name suggests the nearest. */
export async function loadCommand(name: string): Promise<Command> {
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (load === undefined) throw new Error(unknownNameMessage('command', name, Object.keys(COMMANDS)));
  const { command } = await load();
  if (command.name !== name) throw new Error(`experiments/commands/index.ts lists "${name}" but its module exports the command "${command.name}"`);
  return command;
}
