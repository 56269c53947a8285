/**
 * The pretraining-dependence control in the report: every method of the control sweeps (run.json
 * sweeps whose figure is "control") on the never-trained model of each preset, beside the same method,
 * options and task on the pretrained model, so the reader sees how much of each score pretraining made.
 * Rows come from summary.json (control rows are named "<preset> (never trained)").
 */
import { CONTROL_SUFFIX, type SummaryRow } from '../src/results/results.js';
import { escapeHtml, formatPoints } from './format.js';
import { htmlTable } from './html.js';
import type { LoadedResults } from './load.js';
import type { MethodCards } from './method_cards.js';
import { comparePanels, panelOf } from './series.js';
import { runLine } from './tables.js';

/** A method on one preset and task: its score on the pretrained model and on the never-trained control. */
export interface ControlPair {
  preset: string;
  parameters: number;
  method: string;
  options: string;
  task: string;
  pretrained: SummaryRow | null;
  control: SummaryRow;
}

/** Every control row with its pretrained counterpart (null when the run did not tune that on the pretrained model). */
export function controlPairs(cards: MethodCards, summary: readonly SummaryRow[]): ControlPair[] {
  const key = (preset: string, r: SummaryRow): string => JSON.stringify([preset, r.method, r.optionsLabel, r.task]);
  const pretrained = new Map(summary.filter((r) => !r.preset.endsWith(CONTROL_SUFFIX)).map((r) => [key(r.preset, r), r]));
  return summary
    .filter((r) => r.preset.endsWith(CONTROL_SUFFIX))
    .map((control) => {
      const preset = control.preset.slice(0, -CONTROL_SUFFIX.length);
      return { preset, parameters: control.baseParameters, method: control.method, options: control.optionsLabel, task: control.task, pretrained: pretrained.get(key(preset, control)) ?? null, control };
    })
    .sort((a, b) => a.parameters - b.parameters || cards.compare(a.method, b.method) || a.options.localeCompare(b.options) || comparePanels(panelOf(a.task), panelOf(b.task)));
}

function score(row: SummaryRow | null): string {
  if (row === null) return 'not run';
  if (!Number.isFinite(row.mean)) return 'n/a (no finished trial)';
  const interval = row.n >= 2 && Number.isFinite(row.ci95[0]) ? ` [${(100 * row.ci95[0]).toFixed(1)}, ${(100 * row.ci95[1]).toFixed(1)}]` : ' (one seed)';
  const kept = row.noGain !== null && row.n > 0 && row.noGain === row.n ? ' <em>init kept</em>' : '';
  return `${(100 * row.mean).toFixed(1)}${interval}${kept}`;
}

/** The section: a table of pairs, or why there is none. */
export function controlSectionHtml(results: LoadedResults): string {
  const pairs = controlPairs(results.methods, results.summary);
  const head = '<section><h2 id="control">Pretraining dependence: every method on the never-trained control</h2>';
  if (pairs.length === 0) {
    return `${head}<p>This run has no control sweep (a sweep with <code>"control": true</code>, figure "control"), so it does not show how much of each score pretraining made.</p></section>`;
  }
  const rows = pairs.map((p) => [
    escapeHtml(p.preset),
    escapeHtml(results.methods.name(p.method)),
    `<code>${escapeHtml(p.options)}</code>`,
    escapeHtml(panelOf(p.task)),
    score(p.pretrained),
    score(p.control),
    p.pretrained === null || !Number.isFinite(p.pretrained.mean) || !Number.isFinite(p.control.mean) ? '' : formatPoints(100 * (p.pretrained.mean - p.control.mean)),
    Number.isFinite(p.control.chance) ? (100 * p.control.chance).toFixed(1) : '',
  ]);
  return `${head}${htmlTable(['frozen model', 'method', 'options', 'task', 'pretrained: test accuracy (%), 95% CI', 'never trained: test accuracy (%), 95% CI', 'pretrained − never trained (points)', 'chance (%)'], rows, [4, 5, 6, 7])}<p class="caption">${escapeHtml(
    `Each method tuned on the pretrained model and on the same architecture with its initial weights and no pretraining (same seeds, data and budget). The difference is what pretraining contributed to the method's score; a method that scores as well on the never-trained model draws on surface cues of the task, not on anything pretraining taught. ${runLine(results.manifest)}`,
  )}</p></section>`;
}
