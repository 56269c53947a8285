/**
 * What a `peftscale` command is: its name, one-line summary, usage text and flags, and what it does with
 * the parsed flags. runCommand parses and checks every flag (unknown names, types, choices such as the
 * backend, and the environment variables that stand for flags) before the command does any work.
 *
 * Adding a command: one file here exporting `command`, and one line in index.ts's list.
 */
import { formatFlags, parseArgs, type FlagSpec, type ParsedArgs } from '../../src/util/cli_args.js';

export interface Command<R = unknown> {
  name: string;
  /** One line for `peftscale --help`. */
  summary: string;
  /** The usage line(s) and what the command does, shown above the flags by `--help`. */
  synopsis: string;
  flags: readonly FlagSpec[];
  /** What flags outside `flags` are (e.g. a method's options); unset: they are refused. */
  extraFlags?: string;
  run(args: ParsedArgs): Promise<R>;
}

/** A command's help: its synopsis, then every flag with its description and default. */
export function commandUsage(command: Command): string {
  const extra = command.extraFlags === undefined ? '' : `\n  other flags: ${command.extraFlags}`;
  return `${command.synopsis}\n\n${formatFlags([...command.flags, HELP_FLAG])}${extra}`;
}

/** --json, shared by most commands: what it prints differs by command, so each command says it. */
export function jsonFlag(prints: string): FlagSpec {
  return { name: 'json', type: 'boolean', description: prints };
}

const HELP_FLAG: FlagSpec = { name: 'help', type: 'boolean', description: 'show this help' };

/** Parses argv against the command's flags (refusing bad ones before any work), then runs it; `--help` prints the usage instead (null). */
export async function runCommand<R>(command: Command<R>, argv: readonly string[]): Promise<R | null> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${commandUsage(command)}\n`);
    return null;
  }
  const args = parseArgs(argv, command.flags, `peftscale ${command.name}`, { collectUnknown: command.extraFlags !== undefined });
  return await command.run(args);
}
