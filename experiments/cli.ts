#!/usr/bin/env node
/**
 * The `peftscale` command: `peftscale <command> [flags]`. The commands are listed in
 * experiments/commands/index.ts, one file each; runCommand checks a command's flags before it runs.
 */
import { COMMANDS, loadCommand } from './commands/index.js';
import { runCommand } from './commands/command.js';

async function usage(): Promise<string> {
  const commands = await Promise.all(Object.keys(COMMANDS).map(loadCommand));
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'peftscale: parameter-efficient fine-tuning methods on frozen GPT-2-architecture transformers',
    '',
    'usage: peftscale <command> [flags]   (peftscale <command> --help for its flags)',
    '',
    ...commands.map((c) => `  ${c.name.padEnd(width + 2)}${c.summary}`),
  ].join('\n');
}

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(await usage());
    return;
  }
  await runCommand(await loadCommand(name), rest); // --help prints the command's usage
}

// Output piped into `head` and the like closes early: that ends the command quietly, not with a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(0);
});

main(process.argv.slice(2)).catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`peftscale: ${message.replace(/^peftscale /, '')}\n`);
  if (process.env.PEFTSCALE_DEBUG === '1' && error instanceof Error && error.stack !== undefined) process.stderr.write(`${error.stack}\n`);
  process.exitCode = 1;
});
