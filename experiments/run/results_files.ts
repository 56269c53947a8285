/**
 * Writes a results folder: results.jsonl (one TrialRecord per line), results.csv (one flat row per
 * trial), summary.json and summary.csv (per preset, method, options and task: mean, sample standard
 * deviation, n, 95% confidence interval, gap to full model tuning) and run.json (the manifest). Each
 * file is written atomically.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { optionsLabel, RESULT_FILES, summarize, type EnsembleRecord, type RunManifest, type SummaryRow, type TrialRecord } from '../../src/results/results.js';
import { baselineMethod } from '../../src/adapt/method_card.js';
import { processAlive, removeStaleTemporaries, writeFileAtomic } from '../../src/io/atomic_file.js';

/** Where results folders go by default: results/<experiment>/. */
export const DEFAULT_RESULTS_DIR = 'results';
/** The folder under a results root that `peftscale bench` writes bench.json into. */
export const BENCH_SUBDIR = 'bench';


/** One flat CSV row per trial. */
export function recordRow(record: TrialRecord): Record<string, string | number> {
  const { config } = record;
  return {
    key: record.key,
    status: record.status,
    sweeps: record.sweeps.join(';'),
    preset: config.preset,
    base_parameters: record.parameters.base,
    method: config.method,
    options: optionsLabel(config.options),
    task: config.task,
    train_examples: config.data.train,
    seed: config.seed,
    optimizer: config.training.optimizer,
    learning_rate: config.training.learningRate,
    steps: config.training.steps,
    batch_size: config.training.batchSize,
    trainable: record.parameters.trainable,
    total: record.parameters.total,
    percent: record.parameters.percent,
    adapter_bytes: record.parameters.adapterBytes,
    dev_accuracy: record.dev.accuracy,
    dev_best_step: record.dev.bestStep,
    test_accuracy: record.test.accuracy,
    test_majority: record.test.majority,
    test_examples: record.test.examples,
    diverged_step: record.divergedAt?.step ?? '',
    train_seconds: record.timing.trainSeconds,
    eval_seconds: record.timing.evalSeconds,
    step_seconds_median: record.timing.stepSecondsMedian,
    tokens_per_second: record.timing.tokensPerSecond,
    peak_tensor_bytes: record.memory.peakTensorBytes,
    peak_rss_bytes: record.memory.peakRssBytes,
    backend: record.environment.backend,
    git_hash: record.environment.gitHash,
    finished_at: record.finishedAt,
  };
}

/** One flat CSV row per summary group. */
export function summaryRow(row: SummaryRow): Record<string, string | number> {
  return {
    preset: row.preset,
    base_parameters: row.baseParameters,
    method: row.method,
    options: row.optionsLabel,
    task: row.task,
    train_examples: row.train,
    trainable: row.trainable,
    percent: row.percent,
    n: row.n,
    diverged: row.diverged,
    mean: row.mean,
    std: Number.isNaN(row.std) ? '' : row.std,
    ci95_low: Number.isNaN(row.ci95[0]) ? '' : row.ci95[0],
    ci95_high: Number.isNaN(row.ci95[1]) ? '' : row.ci95[1],
    gap_to_full: row.gapToFull ?? '',
    step_seconds: row.stepSeconds,
    tokens_per_second: row.tokensPerSecond,
    peak_tensor_bytes: row.peakTensorBytes,
  };
}

function csv(rows: Record<string, string | number>[]): string {
  return rows.length === 0 ? '' : stringify(rows, { header: true, columns: Object.keys(rows[0]) });
}

/** What an existing results folder holds: which experiment file made it and how many trials finished. */
export interface ExistingResults {
  experiment: string;
  file: string;
  finished: number;
}

/** The run.json and results.jsonl of a folder, or null when there is no results folder there. */
export async function readExistingResults(dir: string): Promise<ExistingResults | null> {
  let manifest: unknown;
  try {
    manifest = JSON.parse(await readFile(path.join(dir, RESULT_FILES.manifest), 'utf8')) as unknown;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`${path.join(dir, RESULT_FILES.manifest)}: unreadable (${(error as Error).message}): move the folder away or choose another --results root`);
  }
  const m = manifest as { experiment?: unknown; file?: unknown };
  let lines: string[] = [];
  try {
    lines = (await readFile(path.join(dir, RESULT_FILES.records), 'utf8')).split('\n').filter((l) => l.trim() !== '');
  } catch {
    lines = [];
  }
  const finished = lines.filter((line) => {
    try {
      return (JSON.parse(line) as { status?: unknown }).status === 'finished';
    } catch {
      return false;
    }
  }).length;
  return { experiment: typeof m.experiment === 'string' ? m.experiment : '', file: typeof m.file === 'string' ? m.file : '', finished };
}

/**
 * Whether a folder made from `existing.file` may take results of `file`: the same file, or the same
 * file name after the checkout moved (the old path is gone). Two experiment files with one `name`
 * would otherwise overwrite each other's results without a word.
 */
export function sameExperimentFile(existing: ExistingResults, file: string): boolean {
  if (existing.file === '' || path.resolve(existing.file) === path.resolve(file)) return true;
  return path.basename(existing.file) === path.basename(file) && !existsSync(existing.file);
}

/** The refusal to write `file`'s results over a folder another experiment file made (null: allowed). */
export async function ownershipProblem(dir: string, file: string): Promise<string | null> {
  const existing = await readExistingResults(dir);
  if (existing === null || sameExperimentFile(existing, file)) return null;
  return `${dir}/ holds the results of another experiment file (${existing.file}, experiment "${existing.experiment}"), not of ${file}: give this experiment another name or another --results root, or pass --replace`;
}

export interface WriteResultsOptions {
  /** Replace a folder of another experiment file, or one with more finished trials. */
  replace?: boolean;
}

/**
 * Writes every file of a results folder; returns the summary. The files go to a new folder beside it,
 * which then takes the old one's place (a reader never sees half of one run and half of another). An
 * existing folder with more finished trials, or made by another experiment file, is kept unless
 * `replace`: the new results then go to `<dir>.new-<time>/` and the error says so.
 */
export async function writeResults(
  dir: string,
  records: readonly TrialRecord[],
  manifest: RunManifest,
  resolvedDocument: string,
  ensembles: readonly EnsembleRecord[] = [],
  options: WriteResultsOptions = {},
): Promise<SummaryRow[]> {
  await recoverInterruptedWrite(dir);
  await removeStaleTemporaries(dir); // left by a run of this host killed mid-write
  const existing = await readExistingResults(dir);
  const finished = records.filter((r) => r.status === 'finished').length;
  let refusal: string | null = null;
  if (existing !== null && options.replace !== true) {
    if (!sameExperimentFile(existing, manifest.file)) refusal = (await ownershipProblem(dir, manifest.file)) ?? '';
    else if (finished < existing.finished) {
      refusal = `${dir}/ holds ${existing.finished} finished trial(s); this run finished ${finished}: kept the old results (pass --replace to replace them)`;
    }
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const target = refusal === null ? dir : `${dir}.new-${stamp}`;
  const staging = `${dir}.writing-${process.pid}-${stamp}`;
  const summary = await writeResultsFolder(staging, records, manifest, resolvedDocument, ensembles).catch(async (error: unknown) => {
    await rm(staging, { recursive: true, force: true });
    throw error;
  });
  const previous = `${dir}.old-${process.pid}-${stamp}`;
  if (target === dir && existsSync(dir)) {
    // Files a user put beside the results (a bench.json for the report, notes) move to the new folder.
    const ours = new Set<string>(Object.values(RESULT_FILES).filter((file) => file !== RESULT_FILES.bench));
    const staged = new Set(await readdir(staging));
    for (const entry of await readdir(dir)) if (!ours.has(entry) && !staged.has(entry)) await rename(path.join(dir, entry), path.join(staging, entry));
    await rename(dir, previous);
  }
  await rename(staging, target);
  await rm(previous, { recursive: true, force: true });
  if (refusal !== null) throw new Error(`${refusal}; this run's results are in ${target}/`);
  return summary;
}


/**
 * Undoes what a writer killed mid-swap left beside `dir`: the previous folder moved aside but not yet
 * replaced is put back, and half-written staging folders are removed. Folders of a writer still
 * running are left alone.
 */
export async function recoverInterruptedWrite(dir: string): Promise<void> {
  const parent = path.dirname(dir);
  const base = path.basename(dir);
  let entries: string[];
  try {
    entries = await readdir(parent);
  } catch {
    return;
  }
  const leftovers = entries
    .map((entry) => ({ entry, match: new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(writing|old)-(\\d+)-`).exec(entry) }))
    .filter((e) => e.match !== null && !processAlive(Number(e.match[2])))
    .sort((a, b) => (a.match?.[1] === 'old' ? -1 : 0) - (b.match?.[1] === 'old' ? -1 : 0));
  for (const { entry, match } of leftovers) {
    const full = path.join(parent, entry);
    if (match?.[1] === 'old' && !existsSync(dir)) await rename(full, dir);
    else await rm(full, { recursive: true, force: true });
  }
}

async function writeResultsFolder(
  dir: string,
  records: readonly TrialRecord[],
  manifest: RunManifest,
  resolvedDocument: string,
  ensembles: readonly EnsembleRecord[],
): Promise<SummaryRow[]> {
  await mkdir(dir, { recursive: true });
  const summary = summarize(records, baselineMethod().name);
  await writeFileAtomic(path.join(dir, RESULT_FILES.records), records.map((r) => JSON.stringify(r)).join('\n') + (records.length > 0 ? '\n' : ''));
  await writeFileAtomic(path.join(dir, RESULT_FILES.recordsCsv), csv(records.map(recordRow)));
  // NaN is not JSON: a group with n < 2 has no standard deviation (null in summary.json).
  await writeFileAtomic(path.join(dir, RESULT_FILES.summary), `${JSON.stringify(summary, (_, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
  await writeFileAtomic(path.join(dir, RESULT_FILES.summaryCsv), csv(summary.map(summaryRow)));
  if (ensembles.length > 0) {
    await writeFileAtomic(path.join(dir, RESULT_FILES.ensembles), `${JSON.stringify(ensembles, null, 2)}\n`);
    await writeFileAtomic(
      path.join(dir, RESULT_FILES.ensemblesCsv),
      csv(ensembles.map((e) => ({ preset: e.preset, base_parameters: e.baseParameters, method: e.method, options: e.optionsLabel, task: e.task, prompts: e.perPrompt.length, seeds: e.seeds.join(';'), average: e.average, best: e.best, ensemble: e.ensemble, examples: e.examples, tied_votes: e.tiedVotes }))),
    );
  }
  if (manifest.hypotheses !== undefined) await writeFileAtomic(path.join(dir, RESULT_FILES.hypotheses), `${JSON.stringify(manifest.hypotheses, null, 2)}\n`);
  await writeFileAtomic(path.join(dir, RESULT_FILES.manifest), `${JSON.stringify({ ...manifest, document: JSON.parse(resolvedDocument) as unknown }, null, 2)}\n`);
  return summary;
}
