/**
 * `peftscale experiment`: what `npm run experiment` runs. For now it does what the suite can do end to
 * end: pretrain the profile's frozen model family (cached; a rerun reuses it), print held-out loss by
 * size, and print the task-specific parameters of every method on every size (Lester et al. Fig. 4's
 * axis). The tuning sweep, its cache and the HTML report belong to the experiment runner (not built yet).
 */
import { planParameters } from '../src/adapted.js';
import { formatFlags, parseArgs, stringFlag, booleanFlag, type FlagSpec } from '../src/cli_args.js';
import { findPreset } from '../src/config.js';
import { getMethod, resolveOptions } from '../src/peft.js';
import { METHOD_NAMES } from '../methods/index.js';
import { PRETRAIN_FLAGS, resolveProfile, runPretrain } from './pretrain.js';

/** Method options the parameter table uses: the defaults of the scaling experiment (prompt length 20, LoRA rank 8). */
const TABLE_OPTIONS: Record<string, Record<string, string>> = {
  'prompt-tuning': { length: '20' },
  'prefix-tuning': { length: '20' },
  'p-tuning': { length: '20' },
  lora: { rank: '8' },
};

const EXPERIMENT_FLAGS: readonly FlagSpec[] = PRETRAIN_FLAGS.filter((flag) => flag.name !== 'json' && flag.name !== 'model' && flag.name !== 'steps');

export async function runExperiment(argv: string[]): Promise<void> {
  const args = parseArgs(argv, EXPERIMENT_FLAGS, 'experiment');
  if (booleanFlag(args, 'help')) {
    process.stdout.write(`usage: peftscale experiment [flags]\n\n${formatFlags(EXPERIMENT_FLAGS)}\n`);
    return;
  }
  const profile = resolveProfile(stringFlag(args, 'profile') ?? 'quick');
  await runPretrain(argv);

  console.log(`\ntask-specific trainable parameters, % of the frozen model (prompt/prefix length 20, LoRA r 8 on c_attn):`);
  const presets = profile.presets;
  const header = ['method', ...presets];
  const rows = METHOD_NAMES.map((name) => {
    const method = getMethod(name);
    return [
      name,
      ...presets.map((preset) => {
        const config = findPreset(preset).config;
        const plan = planParameters(config, method, resolveOptions(method, TABLE_OPTIONS[name] ?? {}, config));
        return `${plan.trainable.toLocaleString('en-US')} (${plan.percent.toPrecision(3)}%)`;
      }),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  for (const row of [header, widths.map((w) => '-'.repeat(w)), ...rows]) console.log(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '));
  console.log('\nNext: the tuning sweep over methods, prompt lengths and initialisations, with results and an HTML report, comes with the experiment runner.');
}
