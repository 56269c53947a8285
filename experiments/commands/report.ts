/**
 * `peftscale report RESULTS [--out DIR] [--bench FILE] [--json]`: the HTML report of a results folder
 * (reports/report.ts writes it). The report draws methods with the cards run.json records; for a folder
 * written before run.json recorded them (such as docs/results/*), and only then, this command loads
 * today's method registry and supplies its cards. Nothing else here loads a method.
 */
import type { MethodCardRecord } from '../../src/results/results.js';
import { booleanFlag, stringFlag, type ParsedArgs } from '../../src/util/cli_args.js';
import { writeReport } from '../../reports/report.js';
import { commandUsage, jsonFlag, runCommand, type Command } from './command.js';
import { currentHypotheses, hypothesesOfFile } from '../plan/hypotheses_file.js';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

/** run.json's experiment, file, profile and hypotheses, or null when it cannot be read (writeReport then says why). */
async function readManifest(dir: string): Promise<{ experiment: string; file: string; profile: string; hypotheses?: unknown } | null> {
  try {
    return JSON.parse(await readFile(path.join(dir, 'run.json'), 'utf8')) as { experiment: string; file: string; profile: string; hypotheses?: unknown };
  } catch {
    return null;
  }
}

export const command: Command<void> = {
  name: 'report',
  summary: 'write the HTML report (Vega-Lite figures, SVGs, CSVs) of a results folder',
  synopsis: `usage: peftscale report RESULTS [--out DIR] [--hypotheses FILE] [--bench FILE] [--json]

Writes an HTML report of a results folder (results/<experiment>/ with results.jsonl, summary.json,
run.json and optionally ensembles.json and bench.json): index.html, self-contained and readable
offline, with each figure's Vega-Lite spec (.vl.json), static SVG and data (.csv) beside it.
\`peftscale bench\` writes its bench.json to results/bench/ by default: show it with --bench.`,
  flags: [
    { name: 'out', type: 'string', description: 'folder to write the report into', default: 'reports/out/<experiment>' },
    { name: 'hypotheses', type: 'string', description: "an experiment file whose hypotheses are evaluated on this run as stated after it (e.g. the replication's, on an older run)" },
    { name: 'bench', type: 'string', description: 'bench.json to show (peftscale bench writes results/bench/bench.json)', default: 'RESULTS/bench.json when present' },
    jsonFlag('print what was written as one JSON object'),
  ],
  run: report,
};

/** `peftscale report ARGV` (tests call it directly). */
export async function runReport(argv: string[]): Promise<void> {
  await runCommand(command, argv);
}

async function report(args: ParsedArgs): Promise<void> {
  if (args.positionals.length !== 1) {
    throw new Error(`peftscale report: expected one results folder, got ${args.positionals.length === 0 ? 'none' : args.positionals.map((a) => JSON.stringify(a)).join(', ')}\n${commandUsage(command)}`);
  }
  const outDir = stringFlag(args, 'out');
  const benchFile = stringFlag(args, 'bench');
  // The Findings section compares the run's recorded hypotheses with its experiment file's now (read as a
  // document: no method loads) and evaluates those of --hypotheses FILE as stated after the run.
  const manifest = await readManifest(args.positionals[0]);
  const given = stringFlag(args, 'hypotheses');
  const hypotheses = {
    current: manifest === null || manifest.hypotheses === undefined ? null : currentHypotheses(manifest.file, manifest.experiment, manifest.profile),
    posthoc: given === undefined || manifest === null ? null : await hypothesesOfFile(given, manifest.profile),
  };
  const result = await writeReport(args.positionals[0], { ...(outDir === undefined ? {} : { outDir }), ...(benchFile === undefined ? {} : { benchFile }), cardsIfMissing: todaysCards, hypotheses });
  if (booleanFlag(args, 'json')) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  const drawn = result.figures.filter((f) => f.drawn).length;
  console.log(`report: ${result.htmlPath} (${drawn} of ${result.figures.length} figures drawn; specs, SVGs and CSVs beside it)`);
  for (const figure of result.figures.filter((f) => !f.drawn)) console.log(`  figure ${figure.number} (${figure.id}): nothing to draw from this run`);
  console.log(`  benchmarks: ${result.benchFile ?? 'none (no bench.json in the results folder; --bench FILE shows one)'}`);
  console.log(`  prompt ensembles: ${result.ensembles === null ? 'none (the experiment ran without "ensemble": true)' : result.ensembles}`);
  if (result.warnings.length > 0) console.log(`  ${result.warnings.length} note${result.warnings.length === 1 ? '' : 's'}: see the end of the report`);
}

/** The cards of today's method registry, for results folders whose run.json has none (loaded only then). */
async function todaysCards(): Promise<{ cards: MethodCardRecord[]; source: string }> {
  await import('../../methods/index.js');
  const { cardRecords } = await import('../../src/adapt/method_card.js');
  return { cards: cardRecords(), source: 'the method registry (run.json predates its "methods")' };
}
