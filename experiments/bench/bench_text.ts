/**
 * The text tables of a bench report (what `peftscale bench` prints without --json), and the number
 * formats its progress lines share.
 */
import { BARE_ROW, type BenchReport } from '../../src/results/bench.js';

export function fixed(value: number, digits = 1): string {
  return value.toFixed(digits);
}

/** A fraction as a signed percentage: 0.123 → "+12.3%". */
export function percent(fraction: number): string {
  return `${fraction >= 0 ? '+' : ''}${fixed(100 * fraction)}%`;
}

function megabytes(bytes: number | null): string {
  return bytes === null ? '-' : (bytes / 2 ** 20).toFixed(1);
}

/** Aligns cells into columns: text left, numbers right. */
function formatTable(header: string[], body: string[][], rightAligned: readonly boolean[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells: string[]): string => cells.map((cell, i) => (rightAligned[i] ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** The report as text tables: per-method costs, mixed-task serving, the reference step. */
export function formatBenchReport(report: BenchReport): string {
  const { environment: env, settings } = report;
  const weights = report.models.map((m) => `${m.preset} ${m.weights}`).join(', ');
  const lines = [
    `peftscale bench: backend ${env.backend}, ${env.machine.cores} × ${env.machine.cpu}, node ${env.machine.node}, tfjs ${env.versions['@tensorflow/tfjs-core'] ?? '?'}, git ${env.gitHash.slice(0, 10)}${env.gitDirty ? ' (dirty)' : ''}`,
    `batch ${settings.batchSize} × ${settings.sequenceLength} tokens; ${settings.warmup} warm-up + ${settings.iterations} measured calls each (tinybench); weights: ${weights}`,
    '',
  ];
  const na = (value: number | null, digits = 1): string => (value === null ? '-' : fixed(value, digits));
  lines.push(
    formatTable(
      ['preset', 'method', 'variant', 'trainable', 'k', 'train ms', 'p99', 'train tok/s', 'train MB', 'fwd ms', 'p99', 'overhead', 'rows/s', 'adapter B', 'RSS MB'],
      report.rows.map((r) => [
        r.preset,
        r.method,
        r.variant,
        r.trainable.toLocaleString('en-US'),
        String(r.virtualTokens),
        na(r.trainMedianMs),
        na(r.trainP99Ms),
        na(r.trainTokensPerSecond, 0),
        megabytes(r.trainPeakTensorBytes),
        fixed(r.inferMedianMs),
        fixed(r.inferP99Ms),
        r.method === BARE_ROW ? '-' : percent(r.inferOverhead),
        fixed(r.inferRowsPerSecond, 0),
        r.adapterBytes === null ? '-' : r.adapterBytes.toLocaleString('en-US'),
        megabytes(r.peakRssBytes),
      ]),
      [false, false, false, true, true, true, true, true, true, true, true, true, true, true, true],
    ),
    '',
    'k: virtual tokens. train/fwd ms: median step/forward pass of the batch (p99 beside it); train MB: peak tfjs tensor memory of a step.',
    'overhead: each forward pass over the bare passes just before and after it (median over rounds): it follows the cost, where the',
    'medians of separately timed calls can differ by 20% on a machine whose speed changes. adapter B: saved folder (storage per task).',
  );
  if (report.mixedServing.length > 0) {
    lines.push('', 'mixed-task serving: one batch, one prompt per row, against one batch per task (speedup: per-task time over the mixed calls beside it)');
    lines.push(
      formatTable(
        ['preset', 'tasks', 'k', 'mixed ms', 'passes', 'per-task ms', 'passes', 'mixed rows/s', 'per-task rows/s', 'speedup', 'max |Δ| vs alone'],
        report.mixedServing.map((m) => [
          m.preset,
          String(m.tasks),
          String(m.promptLength),
          fixed(m.mixedMedianMs),
          String(m.mixedPasses),
          fixed(m.separateMedianMs),
          String(m.separatePasses),
          fixed(m.mixedRowsPerSecond, 0),
          fixed(m.separateRowsPerSecond, 0),
          `${m.speedup.toFixed(2)}x`,
          m.maxAbsDifference.toExponential(1),
        ]),
        [false, true, true, true, true, true, true, true, true, true, true],
      ),
    );
  }
  const packing = report.packing ?? [];
  if (packing.length > 0) {
    const [first] = packing;
    lines.push('', `trial packing: ${first.method}, ${first.sweep} (${first.trials} trials, batch ${first.batchSize}, ${first.sequenceLength} tokens, ${first.steps} steps each), one trial at a time against packed (≤ ${first.maxRows} rows per step)`);
    lines.push(
      formatTable(
        ['preset', 'packs', 'alone trials/h', 'packed trials/h', 'speedup', 'alone tok/s', 'packed tok/s'],
        packing.map((p) => [p.preset, String(p.packs), fixed(p.aloneTrialsPerHour, 1), fixed(p.packedTrialsPerHour, 1), `${p.speedup.toFixed(2)}x`, fixed(p.aloneTokensPerSecond, 0), fixed(p.packedTokensPerSecond, 0)]),
        [false, true, true, true, true, true, true],
      ),
      'trials/h: training steps only (median step × steps); evaluation, which packing leaves as it is, is not counted.',
    );
  }
  const ref = report.reference;
  if (ref !== null) {
    lines.push(
      '',
      `reference step (d ${ref.dModel}, ${ref.nLayers} layers, batch ${ref.batchSize} × ${ref.sequenceLength}, ${ref.method}): median ${fixed(ref.medianMs)} ms, p99 ${fixed(ref.p99Ms)} ms, ` +
        `${Math.round(ref.tokensPerSecond).toLocaleString('en-US')} tokens/s (${ref.steps} steps after ${ref.warmup} warm-up)`,
    );
  }
  lines.push('', `${report.wallSeconds.toFixed(0)} s in all`);
  return lines.join('\n');
}
