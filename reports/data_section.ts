/**
 * The report's section on real data and checkpoint folders (run.json's `checkpoints` and `datasets`,
 * each record's `inputs`): where each frozen model and task came from, how the splits were made, and how
 * many test inputs were shortened to fit the context, which matters for reading their scores.
 */
import type { RunManifest, TrialRecord } from '../src/results/results.js';
import { escapeHtml, formatCount } from './format.js';
import { htmlTable } from './html.js';

/** The section, or '' when the run used only generated tasks and pretrained presets. */
export function dataSourcesHtml(manifest: RunManifest, records: readonly TrialRecord[]): string {
  const checkpoints = manifest.checkpoints ?? [];
  const datasets = manifest.datasets ?? [];
  if (checkpoints.length === 0 && datasets.length === 0) return '';
  const parts: string[] = [];
  if (checkpoints.length > 0) {
    parts.push(
      '<h3>Checkpoint folders</h3>',
      htmlTable(
        ['model', 'folder', 'parameters', 'tokenizer', 'fingerprint'],
        checkpoints.map((c) => [escapeHtml(c.name), `<code>${escapeHtml(c.dir)}</code>`, formatCount(c.parameters), escapeHtml(c.tokenizer), `<code>${escapeHtml(c.fingerprint)}</code>`]),
        [2],
      ),
    );
  }
  for (const dataset of datasets) {
    const files = dataset.files.map((f) => `${escapeHtml(f.split)}: <code>${escapeHtml(f.path)}</code> (${formatCount(f.rows)} rows, SHA-256 <code>${escapeHtml(f.sha256.slice(0, 12))}</code>)`);
    parts.push(`<h3>Task ${escapeHtml(dataset.name)} (recipe ${escapeHtml(dataset.recipe)})</h3><p>${files.join('<br>')}</p><ul>${[...dataset.splits, ...overlapNotes(dataset.overlap)].map((line) => `<li>${escapeHtml(line)}</li>`).join('')}</ul>`);
  }
  // Per frozen model and task: test inputs shortened (the range over methods, whose virtual positions differ).
  const cells = new Map<string, { preset: string; task: string; truncated: number[]; examples: number; budget: number[] }>();
  for (const r of records) {
    if (r.inputs === undefined) continue;
    const key = JSON.stringify([r.config.preset, r.config.task]);
    const cell = cells.get(key) ?? { preset: r.config.preset, task: r.config.task, truncated: [], examples: r.test.examples, budget: [] };
    cell.truncated.push(r.inputs.truncated.test);
    cell.budget.push(r.inputs.maxInputTokens);
    cells.set(key, cell);
  }
  const range = (values: number[]): string => (Math.min(...values) === Math.max(...values) ? String(values[0]) : `${Math.min(...values)}–${Math.max(...values)}`);
  if (cells.size > 0) {
    parts.push(
      '<h3>Inputs shortened to fit the context</h3>',
      htmlTable(
        ['frozen model', 'task', 'test inputs shortened', 'of', 'input tokens kept at most'],
        [...cells.values()].map((c) => [escapeHtml(c.preset), escapeHtml(c.task), range(c.truncated), String(c.examples), range(c.budget)]),
        [2, 3, 4],
      ),
    );
  }
  return `<section><h2 id="data">Data and checkpoint folders</h2><p class="caption">From run.json and results.jsonl: the checkpoint folders and data files this run read (fingerprints are of their contents), how each split was made, and how many test inputs were cut in their text (never in the label) to fit the model's context, per frozen model and task (a range over methods: their virtual positions take room).</p>${parts.join('')}</section>`;
}

/** The split overlap in words: the shared rows per pair, or that there are none (nothing for older run.json files). */
function overlapNotes(overlap: NonNullable<RunManifest['datasets']>[number]['overlap']): string[] {
  if (overlap === undefined) return [];
  const shared = overlap.pairs.filter((p) => p.shared > 0);
  const allowed = `allowed: ${(100 * overlap.maxShare).toFixed(1)}% of a split`;
  if (shared.length === 0) return [`overlap: no input text of dev or test is also in another split (${allowed})`];
  return shared.map((p) => `overlap: ${p.split}: ${p.shared} of ${p.rows} rows (${(100 * p.share).toFixed(1)}%) also in ${p.with}: its score is partly on rows seen in ${p.with} (${allowed})`);
}
