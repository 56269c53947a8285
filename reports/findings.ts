/**
 * The Findings section, first on the page: each hypothesis with its verdict, the statistic and interval
 * behind it, where it was stated, and a link to its figure.
 *
 * Where a hypothesis was stated decides how it is labelled, never its verdict:
 * - "stated before the run": recorded in the results folder when the plan was made (hypotheses.json,
 *   run.json), before any of the run's trials finished, and the same in the experiment file today;
 * - "recorded before the run (file not checked)": as above, but the experiment file could not be read now;
 * - "edited after the run": the file's version differs from the recorded one (both are shown);
 * - "recorded after trials had finished", "added after the run", "stated after the run" (given with
 *   `peftscale report --hypotheses FILE` for a run that recorded none): evaluated the same way, never
 *   labelled as stated before.
 */
import { canonicalJson } from '../src/util/canonical_json.js';
import { evaluateHypotheses, type HypothesesRecord, type Hypothesis, type HypothesisResult } from '../src/results/hypotheses.js';
import type { TrialRecord, RunManifest } from '../src/results/results.js';
import { escapeHtml } from './format.js';
import { htmlTable } from './html.js';

export type Provenance = 'stated before the run' | 'recorded before the run (file not checked)' | 'edited after the run' | 'recorded after trials had finished' | 'added after the run' | 'stated after the run';

/** One row of the Findings table. */
export interface Finding {
  hypothesis: Hypothesis;
  result: HypothesisResult;
  provenance: Provenance;
  note: string;
}

/** What the report knows of the hypotheses besides the run's own record. */
export interface HypothesisSources {
  /** The experiment file's hypotheses now (null: the file could not be read), and which file. */
  current: { file: string; list: Hypothesis[] } | null;
  /** Hypotheses given at report time for a run (`--hypotheses FILE`): stated after the run. */
  posthoc: { file: string; list: Hypothesis[] } | null;
}

/** Every hypothesis of the run with its provenance, evaluated from the records. */
export function findings(records: readonly TrialRecord[], manifest: RunManifest, sources: HypothesisSources): Finding[] {
  const inputs = { records, pretrained: manifest.pretrained };
  const evaluate = (h: Hypothesis): HypothesisResult => evaluateHypotheses([h], inputs)[0];
  const rows: Finding[] = [];
  const recorded: HypothesesRecord | undefined = manifest.hypotheses;
  const current = sources.current?.list ?? null;
  if (recorded !== undefined) {
    const finishedBefore = records.filter((r) => r.finishedAt < recorded.statedAt).length;
    for (const h of recorded.list) {
      const now = current?.find((c) => c.id === h.id);
      let provenance: Provenance = 'stated before the run';
      let note = `recorded ${recorded.statedAt.slice(0, 16).replace('T', ' ')} UTC${recorded.git.commit === null ? '' : ` at git ${recorded.git.commit.slice(0, 7)}${recorded.git.fileClean === false ? ' (file uncommitted)' : ''}`}`;
      if (finishedBefore > 0) {
        provenance = 'recorded after trials had finished';
        note = `recorded ${recorded.statedAt.slice(0, 16).replace('T', ' ')} UTC, after ${finishedBefore} of the run's trials had finished`;
      } else if (current === null) provenance = 'recorded before the run (file not checked)';
      else if (now === undefined) note += '; since removed from the experiment file';
      rows.push({ hypothesis: h, result: evaluate(h), provenance, note });
      if (now !== undefined && canonicalJson(now) !== canonicalJson(h)) {
        rows.push({ hypothesis: now, result: evaluate(now), provenance: 'edited after the run', note: `the version in ${sources.current?.file ?? 'the experiment file'} differs from the one recorded before the run (above)` });
      }
    }
  }
  const known = new Set(recorded?.list.map((h) => h.id) ?? []);
  for (const h of current ?? []) {
    if (!known.has(h.id)) rows.push({ hypothesis: h, result: evaluate(h), provenance: 'added after the run', note: `in ${sources.current?.file ?? 'the experiment file'}, not recorded when the run was planned` });
  }
  for (const h of sources.posthoc?.list ?? []) {
    rows.push({ hypothesis: h, result: evaluate(h), provenance: 'stated after the run', note: `from ${sources.posthoc?.file ?? 'a file'}, given when this report was made` });
  }
  return rows;
}

const points = (x: number): string => (Number.isFinite(x) ? `${x >= 0 ? '+' : '−'}${Math.abs(100 * x).toFixed(1)}` : '--');

/** The statistic in words: points for accuracies, a bare number for a correlation. */
function statisticText(r: HypothesisResult): string {
  if (!Number.isFinite(r.estimate)) return '--';
  const f = r.kind === 'rank-correlation' ? (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '--') : points;
  const how = r.statistic === 't' ? 'Student-t' : 'bootstrap';
  return `${f(r.estimate)} (${f(r.low)} to ${f(r.high)}; ${how}, n = ${r.n})`;
}

/** The section's HTML; `drawn` is the ids of the figures this report drew (for links). */
export function findingsHtml(rows: readonly Finding[], drawn: ReadonlyMap<string, number>): string {
  if (rows.length === 0) {
    return '<section><h2 id="findings">Findings</h2><p class="notice">This run states no hypotheses: its experiment file has no "hypotheses" field, so nothing below was stated before the results were seen. The figures describe the run; they test nothing.</p></section>';
  }
  const pre = rows.filter((r) => r.provenance === 'stated before the run');
  const count = (v: string): number => pre.filter((r) => r.result.verdict === v).length;
  const lead =
    pre.length === 0
      ? 'None of these hypotheses was stated before the run: each is evaluated the same way, but none is a test.'
      : `Of ${pre.length} hypotheses stated before the run, ${count('holds')} hold, ${count('does not hold')} do not hold and ${count('inconclusive')} are inconclusive.${rows.length > pre.length ? ` ${rows.length - pre.length} more below were not stated before the run (marked).` : ''}`;
  const table = htmlTable(
    ['id', 'hypothesis', 'verdict', 'statistic (95% interval)', 'the numbers behind it', 'stated', 'figure'],
    rows.map(({ result: r, provenance, note }) => [
      escapeHtml(r.id),
      escapeHtml(r.statement),
      `<span class="verdict-${r.verdict.replaceAll(' ', '-')}">${escapeHtml(r.verdict)}</span>`,
      escapeHtml(statisticText(r)),
      escapeHtml(r.reason === null ? r.detail : `${r.reason}${r.detail === '' ? '' : `; ${r.detail}`}`),
      `${provenance === 'stated before the run' ? escapeHtml(provenance) : `<strong>${escapeHtml(provenance)}</strong>`}<br><small>${escapeHtml(note)}</small>`,
      r.figure === null ? '' : drawn.has(r.figure) ? `<a href="#fig-${escapeHtml(r.figure)}">Figure ${drawn.get(r.figure)}</a>` : escapeHtml(`${r.figure} (not drawn)`),
    ]),
    [],
  );
  const rule =
    'Verdict rule, the same for every hypothesis: holds when the 95% interval of its statistic lies above 0; does not hold when the interval’s high end is at or below 0; inconclusive otherwise, or when it cannot be measured (the reason is given). Accuracy differences are in points; paired by seed where two sides are compared.';
  return `<section><h2 id="findings">Findings</h2><p class="lead">${escapeHtml(lead)}</p>${table}<p class="caption">${escapeHtml(rule)}</p></section>`;
}
