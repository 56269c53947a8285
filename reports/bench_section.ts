/**
 * The report's benchmark section, from bench.json (src/results/bench.ts BenchReport, written by `peftscale bench`,
 * usually in another run than the experiment's): where and how it was measured and how that run relates
 * to the experiment, a cost table per frozen model with units in the headers, the inference-overhead
 * figure (figures/overhead.ts), mixed-task serving and the reference training step. Every number comes
 * from bench.json.
 */
import { BARE_ROW, BENCH_COLUMNS, type BenchReport, type BenchRow } from '../src/results/bench.js';
import type { RunManifest } from '../src/results/results.js';
import { escapeHtml, formatBytes, formatCount, formatDate, formatKiB, formatMeasure, formatMiB, formatMs, formatSigned, listText } from './format.js';
import { figureHtml, htmlTable, keyValueTable, type FigureSection } from './html.js';
import { DEFAULT_BENCH_FILE, type LoadedBench } from './load.js';
import type { MethodCards } from './method_cards.js';
import { benchSeries, compareBenchRows } from './series.js';
import { shortHash } from './tables.js';


/** Shown where a value does not apply (the bare model trains nothing; merged LoRA is timed for inference only). */
const NOT_APPLICABLE = '—';

function gitText(hash: string, dirty: boolean): string {
  return `${shortHash(hash)}${dirty ? ' (with uncommitted changes)' : ''}`;
}

/** One line naming the benchmark run, for captions: when, backend, git, machine, batch and iterations. */
export function benchLine(bench: BenchReport): string {
  const env = bench.environment;
  const s = bench.settings;
  return (
    `Benchmark: peftscale bench, ${formatDate(bench.createdAt)}, backend ${env.backend}, git ${gitText(env.gitHash, env.gitDirty)}, ` +
    `${env.machine.cpu} (${env.machine.cores} cores), batch ${s.batchSize} × ${s.sequenceLength} tokens, ${s.warmup} warm-up and ${s.iterations} measured calls per timing.`
  );
}

/** The chart subtitle of a bench.json figure. */
export function benchSubtitle(bench: BenchReport): string {
  const env = bench.environment;
  return `peftscale bench · backend ${env.backend} · git ${shortHash(env.gitHash)}${env.gitDirty ? ' (uncommitted changes)' : ''} · ${bench.createdAt.slice(0, 10)} · batch ${bench.settings.batchSize} × ${bench.settings.sequenceLength}`;
}

/**
 * How the benchmark relates to the experiment: always a separate run (`peftscale bench` is its own
 * command), and whether the code, backend or machine differ, so that nobody reads its costs as the trials'.
 */
export function benchRelation(manifest: RunManifest, bench: BenchReport, computeFigure: number): { differs: boolean; text: string } {
  const b = bench.environment;
  const m = manifest.environment;
  const differences: string[] = [];
  if (b.gitHash !== m.gitHash) differences.push(`git commit (benchmark ${shortHash(b.gitHash)}, experiment ${shortHash(m.gitHash)})`);
  if (b.backend !== m.backend) differences.push(`backend (benchmark ${b.backend}, experiment ${m.backend})`);
  if (b.machine.cpu !== m.machine.cpu || b.machine.cores !== m.machine.cores) {
    differences.push(`machine (benchmark: ${b.machine.cpu}, ${b.machine.cores} cores; experiment: ${m.machine.cpu}, ${m.machine.cores} cores)`);
  }
  const when = `The benchmark ran separately from the experiment (peftscale bench, ${formatDate(bench.createdAt)}; the experiment finished ${formatDate(manifest.finishedAt)})`;
  const dirty = b.gitDirty || m.gitDirty ? ' One of the two ran with uncommitted changes, so a matching commit need not mean matching code.' : '';
  if (differences.length === 0) return { differs: false, text: `${when}, on the same git commit, backend and machine.${dirty}` };
  return {
    differs: true,
    text: `${when}, with a different ${listText(differences)}. Its costs describe that run, not this experiment's trials (Figure ${computeFigure} has those).${dirty}`,
  };
}

/** Provenance of bench.json: the file, when, backend, code, machine, weights, batch and timing settings. */
export function benchProvenanceHtml(cards: MethodCards, loaded: LoadedBench): string {
  const bench = loaded.report;
  const env = bench.environment;
  const s = bench.settings;
  const models = bench.models.map((m) => `${m.preset} ${m.weights}${m.source === null ? '' : ` (${m.source})`}`);
  const options = Object.entries(s.methodOptions).map(([method, label]) => `${cards.name(method)}: ${label === '' ? 'defaults' : label}`);
  const rows: [string, string][] = [
    ['file', `${loaded.file} (${loaded.origin === 'flag' ? 'given with --bench' : 'found in the results folder'})`],
    ['measured', `${formatDate(bench.createdAt)}, ${(bench.wallSeconds / 60).toFixed(1)} min in all`],
    ['backend', `${env.backend}; ${Object.entries(env.versions).map(([k, v]) => `${k} ${v}`).join(', ')}`],
    ['git', `${env.gitHash}${env.gitDirty ? ' (uncommitted changes)' : ''}`],
    ['machine', `${env.machine.cpu}, ${env.machine.cores} cores, ${formatBytes(env.machine.memoryBytes)} memory, ${env.machine.platform}, Node ${env.machine.node}`],
    ['weights', `--weights ${s.weights}: ${models.join(', ')} (timing does not depend on weight values)`],
    // batchText usually states the shape itself; it is added only when it does not.
    ['batch', s.batchText.startsWith(`${s.batchSize} rows × ${s.sequenceLength} tokens`) ? s.batchText : `${s.batchSize} rows × ${s.sequenceLength} tokens: ${s.batchText}`],
    ['timing', `${s.warmup} warm-up and ${s.iterations} measured calls per timing; a preset's forward passes are timed in interleaved rounds; medians and type-7 99th percentiles`],
    ['training', `${s.optimizer}, seed ${s.seed}`],
    ['method options', options.join('; ')],
  ];
  return keyValueTable(rows.map(([k, v]) => [k, escapeHtml(v)]));
}

/** The numeric row fields the cost table shows. */
type NumericKey = { [K in keyof BenchRow]: BenchRow[K] extends number | null ? K : never }[keyof BenchRow];

interface CostColumn {
  key: NumericKey;
  label: string;
  /** How a column declared in bytes is shown. */
  bytesAs?: 'MiB' | 'KiB';
}

/** The cost table's columns, in order; units come from BENCH_COLUMNS, the format's declaration. */
export const COST_COLUMNS: readonly CostColumn[] = [
  { key: 'trainable', label: 'trainable' },
  { key: 'virtualTokens', label: 'virtual tokens' },
  { key: 'trainMedianMs', label: 'train median' },
  { key: 'trainP99Ms', label: 'train p99' },
  { key: 'trainTokensPerSecond', label: 'train throughput' },
  { key: 'trainPeakTensorBytes', label: 'train peak tensors', bytesAs: 'MiB' },
  { key: 'inferMedianMs', label: 'inference median' },
  { key: 'inferP99Ms', label: 'inference p99' },
  { key: 'inferOverhead', label: 'overhead vs bare' },
  { key: 'inferRowsPerSecond', label: 'inference throughput' },
  { key: 'adapterBytes', label: 'adapter on disk', bytesAs: 'KiB' },
  { key: 'peakRssBytes', label: 'peak RSS', bytesAs: 'MiB' },
];

/** A column's header with its display unit, and how a value is shown, from the unit bench.json declares. */
export function costColumnDisplay(column: CostColumn): { header: string; cell: (value: number) => string } {
  const unit = BENCH_COLUMNS.find((c) => c.key === column.key)?.unit ?? '';
  switch (unit) {
    case 'ms':
      return { header: `${column.label} (ms)`, cell: formatMs };
    case 'bytes':
      return column.bytesAs === 'KiB' ? { header: `${column.label} (KiB)`, cell: formatKiB } : { header: `${column.label} (MiB)`, cell: formatMiB };
    case 'fraction':
      return { header: `${column.label} (%)`, cell: (value) => formatSigned(value * 100) };
    case 'tokens/s':
    case 'rows/s':
      return { header: `${column.label} (${unit})`, cell: formatMeasure };
    case 'count':
      return { header: column.label, cell: formatCount };
    default:
      // A unit this report does not convert: shown as recorded, the unit named.
      return { header: unit === '' ? column.label : `${column.label} (${unit})`, cell: (value) => String(value) };
  }
}

function costCell(row: BenchRow, column: CostColumn, cell: (value: number) => string): string {
  const value = row[column.key];
  if (value === null) return NOT_APPLICABLE;
  if (column.key === 'inferOverhead' && row.method === BARE_ROW) return 'baseline';
  return cell(value);
}

/** A cost table per frozen model: a row per method (and LoRA variant), the bare model first. */
export function benchRowsHtml(cards: MethodCards, bench: BenchReport): string {
  if (bench.rows.length === 0) return '<p>bench.json has no rows.</p>';
  const rows = [...bench.rows].sort((a, b) => compareBenchRows(cards, a, b));
  const presets = [...new Set(rows.map((r) => r.preset))];
  const displays = COST_COLUMNS.map(costColumnDisplay);
  const headers = ['method', ...displays.map((d) => d.header), 'options'];
  const numeric = displays.map((_, i) => i + 1);
  return presets
    .map((preset) => {
      const own = rows.filter((r) => r.preset === preset);
      const weights = [...new Set(own.map((r) => r.weights))].join(' and ');
      const heading = `<h3>${escapeHtml(preset)}: ${formatCount(own[0].parameters)} frozen parameters, ${escapeHtml(weights)} weights</h3>`;
      const body = own.map((r) => [escapeHtml(benchSeries(cards, r)), ...COST_COLUMNS.map((c, i) => costCell(r, c, displays[i].cell)), r.options === '' ? '' : `<code>${escapeHtml(r.options)}</code>`]);
      return `${heading}${htmlTable(headers, body, numeric, 'bench')}`;
    })
    .join('\n');
}

/** Largest |logit| difference: 0 says the mixed batch is bit-identical to rows run alone. */
function formatDifference(value: number): string {
  return value === 0 ? '0 (identical)' : value.toExponential(1);
}

/** Mixed-task serving per preset: one batch with a different prompt per row against a batch per task. */
export function mixedServingHtml(bench: BenchReport): string {
  if (bench.mixedServing.length === 0) return '<p>bench.json has no mixed-serving rows (peftscale bench ran with --serving-tasks 0).</p>';
  return htmlTable(
    ['frozen model', 'tasks', 'prompt length (tokens)', 'batch (rows × tokens)', 'forward passes (mixed / per task)', 'mixed median (ms)', 'per-task median (ms)', 'mixed (rows/s)', 'per-task (rows/s)', 'speedup (×)', 'max |logit difference|'],
    bench.mixedServing.map((m) => [
      escapeHtml(m.preset),
      formatCount(m.tasks),
      formatCount(m.promptLength),
      `${m.batchSize} × ${m.sequenceLength}`,
      `${m.mixedPasses} / ${m.separatePasses}`,
      formatMs(m.mixedMedianMs),
      formatMs(m.separateMedianMs),
      formatMeasure(m.mixedRowsPerSecond),
      formatMeasure(m.separateRowsPerSecond),
      m.speedup.toFixed(2),
      formatDifference(m.maxAbsDifference),
    ]),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  );
}

/** The reference training step (src/model/config.ts REFERENCE_STEP), when bench.json has it. */
export function referenceStepHtml(cards: MethodCards, bench: BenchReport): string {
  const r = bench.reference;
  if (r === null) return '<p>bench.json has no reference step (peftscale bench ran with --skip-reference).</p>';
  const samples = r.samplesMs.length === 0 ? '' : `; fastest ${formatMs(Math.min(...r.samplesMs))} ms, slowest ${formatMs(Math.max(...r.samplesMs))} ms`;
  const rows: [string, string][] = [
    ['model', `d_model ${r.dModel}, ${r.nLayers} layers, ${r.nHeads} heads, d_ff ${r.dFF}, vocab ${r.vocabSize}`],
    ['step', `${cards.name(r.method)}${r.options === '' ? '' : ` (${r.options})`}, batch ${r.batchSize} × ${r.sequenceLength} tokens`],
    ['schedule', `${r.warmup} warm-up and ${r.steps} measured steps`],
    ['median step', `${formatMs(r.medianMs)} ms (p99 ${formatMs(r.p99Ms)} ms, mean ${formatMs(r.meanMs)} ms${samples})`],
    ['throughput', `${formatMeasure(r.tokensPerSecond)} tokens/s`],
    ['memory', `peak tfjs tensors ${formatMiB(r.peakTensorBytes)} MiB, peak RSS ${formatMiB(r.peakRssBytes)} MiB`],
    ['last loss', Number.isFinite(r.lastLoss) ? r.lastLoss.toFixed(3) : 'NaN or infinite'],
    ['leaked tensors', formatCount(r.leakedTensors)],
  ];
  return keyValueTable(rows.map(([k, v]) => [k, escapeHtml(v)]));
}

/** Leaks bench.json recorded (tensors left alive by timed training steps), for the report's notes. */
export function benchWarnings(cards: MethodCards, bench: BenchReport): string[] {
  const warnings = bench.rows.filter((r) => r.leakedTensors !== null && r.leakedTensors > 0).map((r) => `bench.json: ${r.preset} ${benchSeries(cards, r)}: ${r.leakedTensors} tensors left alive by the timed training steps (0 expected)`);
  if (bench.reference !== null && bench.reference.leakedTensors > 0) warnings.push(`bench.json: the reference step left ${bench.reference.leakedTensors} tensors alive (0 expected)`);
  return warnings;
}

/** The whole benchmark section; `figure` is the inference-overhead figure, shown inside it; `computeFigure` the number of the training-cost figure. */
export function benchSectionHtml(cards: MethodCards, manifest: RunManifest, loaded: LoadedBench | null, figure: FigureSection | undefined, computeFigure: number): string {
  const heading = '<h2 id="bench">Benchmarks (bench.json)</h2>';
  if (loaded === null) {
    return (
      `<section>${heading}<p class="notice">${escapeHtml(
        `No bench.json: this report shows no cost benchmarks. \`npm run bench\` (peftscale bench) writes ${DEFAULT_BENCH_FILE}; ` +
          `then \`peftscale report RESULTS --bench ${DEFAULT_BENCH_FILE}\`, or copy it into the results folder as bench.json. ` +
          `Figure ${computeFigure} has the training cost measured during the trials.`,
      )}</p></section>`
    );
  }
  const bench = loaded.report;
  const relation = benchRelation(manifest, bench, computeFigure);
  const figureSection = figure === undefined ? '' : figureHtml(figure);
  return [
    `<section>${heading}`,
    `<p class="caption">${escapeHtml(
      'The cost of each method on each frozen model, measured by `peftscale bench` (bench.json, format declared in src/results/bench.ts): a training step (forward, backward, update), ' +
        'a forward pass of the saved adapter loaded back (logits read back, so the time includes the whole computation) against the frozen model alone, storage per task and memory.',
    )}</p>`,
    benchProvenanceHtml(cards, loaded),
    `<p class="${relation.differs ? 'notice' : 'caption'}">${escapeHtml(relation.text)}</p>`,
    `<h3 id="bench-costs">Cost per method and frozen model</h3>`,
    `<p class="caption">${escapeHtml(
      `${NOT_APPLICABLE}: does not apply (the bare model and prompt design train nothing; merged LoRA is the unmerged adapter folded into the weights, timed for inference only). ` +
        'Overhead: the median, over rounds, of the forward pass divided by the bare model’s passes timed just before and after it on the same preset, minus 1 (so the median ms columns need not agree with it exactly). Memory in MiB (2²⁰ bytes), adapters in KiB (2¹⁰ bytes: the saved folder, tensors and adapter.json). ' +
        'Peak RSS is the whole process’s, so it grows with everything loaded before.',
    )}</p>`,
    benchRowsHtml(cards, bench),
    figureSection,
    `<h3 id="bench-serving">Mixed-task serving</h3>`,
    `<p class="caption">${escapeHtml(
      'One batch whose rows carry different tasks’ prompt-tuning prompts (rows assigned to tasks in turn), against the same rows run as one batch per task, timed in interleaved rounds. ' +
        'Speedup: the per-task median over the mixed one. Max |logit difference|: the largest difference between a row’s logits in the mixed batch and the same row run alone.',
    )}</p>`,
    mixedServingHtml(bench),
    `<h3 id="bench-reference">Reference training step</h3>`,
    `<p class="caption">${escapeHtml('The reference training step (src/model/config.ts REFERENCE_STEP; docs/benchmarks.md has earlier measurements of it), on the backend and machine above.')}</p>`,
    referenceStepHtml(cards, bench),
    '</section>',
  ].join('\n');
}
