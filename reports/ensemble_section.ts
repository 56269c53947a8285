/**
 * The report's prompt-ensemble section (Lester et al. 2021 Table 3), from ensembles.json: per prompt-tuning
 * configuration, the prompts trained with different seeds, each alone, their average, the best one and
 * their majority vote on the test set. Without ensembles.json it says how to turn ensembling on.
 */
import type { EnsembleRecord, RunManifest } from '../src/results/results.js';
import { escapeHtml, formatCount, formatPercent, formatPoints, formatSigned } from './format.js';
import { htmlTable } from './html.js';
import { LESTER_FINDINGS, LESTER_T5_SIZES, LESTER_TABLE3 } from './references.js';
import { runLine } from './tables.js';

const pct = (fraction: number): string => (fraction * 100).toFixed(1);

/** Ensembles in the order of the report's tables: by model size, then options, then task. */
export function sortEnsembles(ensembles: readonly EnsembleRecord[]): EnsembleRecord[] {
  return [...ensembles].sort((a, b) => a.baseParameters - b.baseParameters || a.preset.localeCompare(b.preset) || a.optionsLabel.localeCompare(b.optionsLabel) || a.task.localeCompare(b.task));
}

/** How often the vote beat the best and the average prompt, and the mean differences (percentage points). */
export function ensembleSummary(ensembles: readonly EnsembleRecord[]): { n: number; beatBest: number; beatAverage: number; meanOverBest: number; meanOverAverage: number } {
  const n = ensembles.length;
  const mean = (values: number[]): number => (values.length === 0 ? NaN : values.reduce((a, b) => a + b, 0) / values.length);
  return {
    n,
    beatBest: ensembles.filter((e) => e.ensemble > e.best).length,
    beatAverage: ensembles.filter((e) => e.ensemble > e.average).length,
    meanOverBest: mean(ensembles.map((e) => (e.ensemble - e.best) * 100)),
    meanOverAverage: mean(ensembles.map((e) => (e.ensemble - e.average) * 100)),
  };
}

/** The table: a row per (frozen model, options, task), then Lester et al.'s published row, marked as such. */
export function ensemblesHtml(ensembles: readonly EnsembleRecord[]): string {
  const rows = sortEnsembles(ensembles).map((e) => [
    escapeHtml(e.preset),
    `<code>${escapeHtml(e.optionsLabel)}</code>`,
    escapeHtml(e.task),
    String(e.perPrompt.length),
    escapeHtml(e.seeds.join(', ')),
    e.perPrompt.map(pct).join(', '),
    pct(e.average),
    pct(e.best),
    pct(e.ensemble),
    formatSigned((e.ensemble - e.best) * 100, 1),
    formatSigned((e.ensemble - e.average) * 100, 1),
    `${formatCount(e.tiedVotes)} (${formatPercent((e.tiedVotes / e.examples) * 100)})`,
    formatCount(e.examples),
  ]);
  const t = LESTER_TABLE3;
  const xxl = LESTER_T5_SIZES.find((s) => s.name === 'T5 XXL');
  const published = [
    `${t.model}${xxl === undefined ? '' : ` (about ${formatCount(xxl.parameters / 1e9)}B)`}`,
    'prompt tuning, published',
    'SuperGLUE (dev)',
    String(t.prompts),
    '',
    '',
    t.average.toFixed(1),
    t.best.toFixed(1),
    t.ensemble.toFixed(1),
    formatSigned(t.ensemble - t.best, 1),
    formatSigned(t.ensemble - t.average, 1),
    '',
    '',
  ].map((cell) => `<span class="source">${escapeHtml(cell)}</span>`);
  return htmlTable(
    ['frozen model', 'options', 'task', 'prompts', 'seeds', 'each prompt alone (%)', 'average (%)', 'best prompt (%)', 'majority vote (%)', 'vote − best (pp)', 'vote − average (pp)', 'tied votes', 'test examples'],
    [...rows, published],
    [3, 6, 7, 8, 9, 10, 11, 12],
    'ensembles',
  );
}

/** The whole section: the table with its caption, or how to run ensembles when the run has none. */
export function ensembleSectionHtml(manifest: RunManifest, ensembles: readonly EnsembleRecord[] | null): string {
  const heading = '<h2 id="ensembles">Prompt ensembles (Lester et al. Table 3)</h2>';
  const source = `<p class="source">Published, for comparison: ${escapeHtml(LESTER_FINDINGS.table3)}</p>`;
  if (ensembles === null) {
    return (
      `<section>${heading}<p class="notice">${escapeHtml(
        'This run did not ensemble prompts (the results folder has no ensembles.json). To compare a majority vote of prompts with each prompt alone, as Lester et al. do in Table 3, ' +
          'add "ensemble": true to the experiment file (experiments/configs/<name>.json) and run it again: after the sweep, the prompt-tuning prompts of each configuration with two or more finished seeds vote on the test set ' +
          '(finished trials come from the trial cache, so only the ensembles run).',
      )}</p>${source}</section>`
    );
  }
  if (ensembles.length === 0) {
    return `<section>${heading}<p class="notice">${escapeHtml('ensembles.json lists no ensembles: no prompt-tuning configuration of this run had two or more finished seeds.')}</p>${source}</section>`;
  }
  const s = ensembleSummary(ensembles);
  const twoPrompts = ensembles.some((e) => e.perPrompt.length === 2);
  const caption =
    'Per prompt-tuning configuration (frozen model, options and task): the prompts trained with different seeds, evaluated together on the test set in shared batches (each row carrying its own prompt), ' +
    'each alone, their average, the best of them and their majority vote. Accuracies in %; differences in percentage points. ' +
    'A tied vote goes to the label with the highest score summed over the prompts, then the first label' +
    `${twoPrompts ? '; with two prompts every disagreement is a tie, so the vote then follows the more confident prompt' : ''}. ` +
    `Here the vote beats the best single prompt in ${s.beatBest} of ${s.n} configuration${s.n === 1 ? '' : 's'} and their average in ${s.beatAverage} of ${s.n}; ` +
    `on average the vote is ${formatPoints(s.meanOverBest)} over the best and ${formatPoints(s.meanOverAverage)} over the average ` +
    `(Lester et al.: ${formatPoints(LESTER_TABLE3.ensemble - LESTER_TABLE3.best)} and ${formatPoints(LESTER_TABLE3.ensemble - LESTER_TABLE3.average)} with ${LESTER_TABLE3.prompts} prompts on ${LESTER_TABLE3.model}; their scores are SuperGLUE, not comparable in value with these tasks). ` +
    runLine(manifest);
  return `<section>${heading}<p class="caption">${escapeHtml(caption)}</p>${ensemblesHtml(ensembles)}${source}<p class="files">In the results folder: ensembles.json, ensembles.csv</p></section>`;
}
