/**
 * Writes a results folder: results.jsonl (one TrialRecord per line), results.csv (one flat row per
 * trial), summary.json and summary.csv (per preset, method, options and task: mean, sample standard
 * deviation, n, 95% confidence interval, gap to full model tuning) and run.json (the manifest). Each
 * file is written atomically.
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { optionsLabel, RESULT_FILES, summarize, type EnsembleRecord, type RunManifest, type SummaryRow, type TrialRecord } from '../src/results.js';

/** Where results folders go by default: results/<experiment>/. */
export const DEFAULT_RESULTS_DIR = 'results';
/** The folder under a results root that `peftscale bench` writes bench.json into. */
export const BENCH_SUBDIR = 'bench';

async function writeAtomically(file: string, text: string): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, text);
  await rename(temporary, file);
}

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

/** Writes every file of a results folder; returns the summary. */
export async function writeResults(
  dir: string,
  records: readonly TrialRecord[],
  manifest: RunManifest,
  resolvedDocument: string,
  ensembles: readonly EnsembleRecord[] = [],
): Promise<SummaryRow[]> {
  await mkdir(dir, { recursive: true });
  const summary = summarize(records);
  await writeAtomically(path.join(dir, RESULT_FILES.records), records.map((r) => JSON.stringify(r)).join('\n') + (records.length > 0 ? '\n' : ''));
  await writeAtomically(path.join(dir, RESULT_FILES.recordsCsv), csv(records.map(recordRow)));
  // NaN is not JSON: a group with n < 2 has no standard deviation (null in summary.json).
  await writeAtomically(path.join(dir, RESULT_FILES.summary), `${JSON.stringify(summary, (_, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
  await writeAtomically(path.join(dir, RESULT_FILES.summaryCsv), csv(summary.map(summaryRow)));
  if (ensembles.length > 0) {
    await writeAtomically(path.join(dir, RESULT_FILES.ensembles), `${JSON.stringify(ensembles, null, 2)}\n`);
    await writeAtomically(
      path.join(dir, RESULT_FILES.ensemblesCsv),
      csv(ensembles.map((e) => ({ preset: e.preset, base_parameters: e.baseParameters, method: e.method, options: e.optionsLabel, task: e.task, prompts: e.perPrompt.length, seeds: e.seeds.join(';'), average: e.average, best: e.best, ensemble: e.ensemble, examples: e.examples, tied_votes: e.tiedVotes }))),
    );
  } else {
    await rm(path.join(dir, RESULT_FILES.ensembles), { force: true });
    await rm(path.join(dir, RESULT_FILES.ensemblesCsv), { force: true });
  }
  await writeAtomically(path.join(dir, RESULT_FILES.manifest), `${JSON.stringify({ ...manifest, document: JSON.parse(resolvedDocument) as unknown }, null, 2)}\n`);
  return summary;
}
