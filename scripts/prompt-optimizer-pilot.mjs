// The prompt-tuning optimiser pilot behind METHOD_TRAINING_DEFAULTS['prompt-tuning'] (docs/methods.md):
// prompt tuning (20 tokens, class-label init) on one pretrained quick-profile model, the same seeds and
// batches, with each optimiser setting below; prints the label loss over the last interval, the best and
// last dev accuracy, the last test accuracy and how many seeds kept their init.
//
//   npm run build && nice -n 10 node scripts/prompt-optimizer-pilot.mjs [--preset ps-micro] [--steps 200] [--seeds 0,1]
//
// Each setting is a one-sweep experiment file written to a temporary folder and run with
// `peftscale experiment` (cached like any other trials; results under results/opt-pilot-*).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const preset = flag('preset', 'ps-micro');
const steps = Number(flag('steps', '200'));
const seeds = flag('seeds', '0,1').split(',').map(Number);
const task = flag('task', 'infer');

const SETTINGS = [
  { label: 'adafactor-0.3', optimizer: 'adafactor', learningRate: 0.3, weightDecay: 1e-5, note: 'Lester et al. on T5' },
  { label: 'adafactor-scaled-0.3', optimizer: 'adafactor-scaled', learningRate: 0.3, weightDecay: 1e-5, note: 'HF scale_parameter' },
  { label: 'adam-1e-3', optimizer: 'adam', learningRate: 1e-3, weightDecay: 0, note: '' },
  { label: 'adam-1e-2', optimizer: 'adam', learningRate: 1e-2, weightDecay: 0, note: 'the audit' },
];

const dir = mkdtempSync(path.join(tmpdir(), 'peftscale-opt-pilot-'));
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const rows = [];
for (const setting of SETTINGS) {
  const name = `opt-pilot-${preset}-${setting.label}`;
  const file = path.join(dir, `${name}.json`);
  const { label, note, ...training } = setting;
  writeFileSync(
    file,
    JSON.stringify({
      name,
      description: `prompt-tuning optimiser pilot: ${label}`,
      presets: [preset],
      tasks: [task],
      seeds,
      data: { train: 128, dev: 48, test: 96 },
      training: { steps, batchSize: 8, evalEvery: 50 },
      sweeps: [{ name: 'pilot', methods: [{ method: 'prompt-tuning', options: { length: 20, init: 'class-label' }, training }] }],
    }),
  );
  const started = Date.now();
  const run = spawnSync(process.execPath, ['dist/experiments/cli.js', 'experiment', file, '--profile', 'quick'], { encoding: 'utf8' });
  if (run.status !== 0) {
    console.error(run.stdout.slice(-2000), run.stderr.slice(-2000));
    process.exit(run.status ?? 1);
  }
  const records = readFileSync(path.join('results', name, 'results.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
  rows.push({
    setting: label,
    note,
    lastLoss: mean(records.map((r) => r.lossCurve.at(-1)[1])),
    firstLoss: mean(records.map((r) => r.lossCurve[0][1])),
    bestDev: mean(records.map((r) => r.dev.accuracy)),
    lastDev: mean(records.map((r) => r.final.dev)),
    lastTest: mean(records.map((r) => r.final.test)),
    noGain: `${records.filter((r) => r.gainOverInit === false).length}/${records.length}`,
    seconds: Math.round((Date.now() - started) / 1000),
  });
  console.error(`${label}: done in ${rows.at(-1).seconds} s`);
}
console.log(`prompt tuning (20, class-label) on ${preset}, task ${task}, ${steps} steps of batch 8, seeds ${seeds.join(',')}`);
console.table(rows.map((r) => ({ ...r, firstLoss: r.firstLoss.toFixed(3), lastLoss: r.lastLoss.toFixed(3), bestDev: r.bestDev.toFixed(3), lastDev: r.lastDev.toFixed(3), lastTest: r.lastTest.toFixed(3) })));
