/**
 * A small command-line parser: `--name value`, `--name=value`, boolean `--flag`, and positionals.
 * Each command declares its flags; an unknown flag is an error with a "did you mean" and the list of
 * allowed flags, a flag missing its value says so, and a flag with `choices` (and the environment
 * variable that stands for it) is checked here, before the command does any work.
 */
import { unknownNameMessage } from '../model/config.js';

export interface FlagSpec {
  name: string;
  /** 'boolean' flags take no value. */
  type: 'string' | 'number' | 'integer' | 'boolean';
  description: string;
  default?: string | number | boolean;
  /** String flags: the allowed values; anything else is refused when the command line is parsed. */
  choices?: readonly string[];
  /** What a value of `choices` is called in errors ("backend" gives: unknown backend "x"). */
  noun?: string;
  /** An environment variable that stands for the flag when it is absent; checked against `choices` too. */
  env?: string;
}

export interface ParsedArgs {
  /** The command line as given (after the command's name). */
  argv: readonly string[];
  positionals: string[];
  flags: Map<string, string | boolean>;
  /** With `collectUnknown`: flags the command does not declare (e.g. a method's options), each with its value. */
  extra: Record<string, string>;
}

export interface ParseOptions {
  /** Keep undeclared `--name value` flags in `extra` instead of refusing them. */
  collectUnknown?: boolean;
  /** The environment variables (default: process.env) that `env` flags read. */
  env?: Readonly<Record<string, string | undefined>>;
}

export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[], command: string, options: ParseOptions = {}): ParsedArgs {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const positionals: string[] = [];
  const flags = new Map<string, string | boolean>();
  const extra: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    if (!token.startsWith('--') || token === '--') {
      positionals.push(token);
      continue;
    }
    const eq = token.indexOf('=');
    const name = token.slice(2, eq === -1 ? undefined : eq);
    const spec = byName.get(name);
    if (spec === undefined && options.collectUnknown === true) {
      const value = eq !== -1 ? token.slice(eq + 1) : argv[i + 1];
      if (value === undefined || (eq === -1 && value.startsWith('--'))) throw new Error(`${command}: --${name} needs a value`);
      if (eq === -1) i++;
      extra[name] = value;
      continue;
    }
    if (spec === undefined) {
      throw new Error(`${command}: ${unknownNameMessage('flag', `--${name}`, specs.map((s) => `--${s.name}`))}`);
    }
    if (spec.type === 'boolean') {
      if (eq !== -1) {
        const text = token.slice(eq + 1);
        if (text !== 'true' && text !== 'false') throw new Error(`${command}: --${name}=${text}: allowed: true or false`);
        flags.set(name, text === 'true');
      } else {
        flags.set(name, true);
      }
      continue;
    }
    const value = eq !== -1 ? token.slice(eq + 1) : argv[++i];
    if (value === undefined || (eq === -1 && value.startsWith('--'))) throw new Error(`${command}: --${name} needs a value (${spec.description})`);
    if (spec.type === 'number' || spec.type === 'integer') {
      const number = Number(value);
      if (value.trim() === '' || !Number.isFinite(number) || (spec.type === 'integer' && !Number.isInteger(number))) {
        throw new Error(`${command}: --${name} = ${JSON.stringify(value)}: allowed: ${spec.type === 'integer' ? 'an integer' : 'a number'}`);
      }
    }
    checkChoice(spec, value, `${command}: --${name}`);
    flags.set(name, value);
  }
  const env = options.env ?? process.env;
  for (const spec of specs) {
    const value = spec.env === undefined || flags.has(spec.name) ? undefined : env[spec.env];
    if (value !== undefined && value !== '') checkChoice(spec, value, `${command}: ${spec.env} (stands for --${spec.name})`);
  }
  return { argv: [...argv], positionals, flags, extra };
}

function checkChoice(spec: FlagSpec, value: string, where: string): void {
  if (spec.choices !== undefined && !spec.choices.includes(value)) throw new Error(`${where}: ${unknownNameMessage(spec.noun ?? 'value', value, spec.choices)}`);
}

export function stringFlag(args: ParsedArgs, name: string): string | undefined {
  const value = args.flags.get(name);
  return typeof value === 'string' ? value : undefined;
}

export function numberFlag(args: ParsedArgs, name: string): number | undefined {
  const value = stringFlag(args, name);
  return value === undefined ? undefined : Number(value);
}

export function booleanFlag(args: ParsedArgs, name: string): boolean {
  return args.flags.get(name) === true;
}

/** Help text for a command's flags. */
export function formatFlags(specs: readonly FlagSpec[]): string {
  const width = Math.max(...specs.map((s) => s.name.length + (s.type === 'boolean' ? 0 : 6)));
  return specs
    .map((s) => {
      const left = `--${s.name}${s.type === 'boolean' ? '' : ' VALUE'}`.padEnd(width + 4);
      const fallback = s.default === undefined ? '' : ` (default ${String(s.default)})`;
      return `  ${left}${s.description}${fallback}`;
    })
    .join('\n');
}
