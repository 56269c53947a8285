/**
 * The report's tables, as HTML: the run, the claims, the summary of every group, diverged trials,
 * pretrained models and the published reference counts (bench.json's are in bench_section.ts, the
 * ensembles' in ensemble_section.ts). Every number comes from the results files, except in the
 * references table, which says where each published number is from.
 */
import type { RunManifest, SummaryRow, TrialRecord } from '../src/results/results.js';
import { optionsLabel } from '../src/results/results.js';
import { escapeHtml, formatBytes, formatCount, formatDate, formatPercent, formatPoints } from './format.js';
import { htmlTable, keyValueTable } from './html.js';
import { GPT2_PARAMETERS, HF_PEFT, LESTER_2021, LESTER_PROMPT_LENGTH, LESTER_T5_SIZES } from './references.js';
import type { MethodCards } from './method_cards.js';
import { comparePanels, panelOf } from './series.js';

/** A git commit hash shortened to 10 characters (the run table shows it in full). */
export function shortHash(hash: string): string {
  return /^[0-9a-f]{40}$/i.test(hash) ? hash.slice(0, 10) : hash;
}

/** One line naming the run, for every caption: experiment, profile, backend, git hash, date. */
export function runLine(manifest: RunManifest): string {
  const env = manifest.environment;
  const git = `git ${shortHash(env.gitHash)}${env.gitDirty ? ' (with uncommitted changes)' : ''}`;
  return `Run: experiment “${manifest.experiment}”, profile ${manifest.profile}, backend ${env.backend}, ${git}, finished ${formatDate(manifest.finishedAt)}.`;
}

/**
 * The backends the records ran on, when any differs from the run's: trial keys do not include the
 * backend, so a cache filled on one backend is reused on another, and scores are reproducible per backend
 * only. Null when every record ran on the run's backend.
 */
export function mixedBackends(manifest: RunManifest, records: readonly TrialRecord[]): string | null {
  const counts = new Map<string, number>();
  for (const r of records) counts.set(r.environment.backend, (counts.get(r.environment.backend) ?? 0) + 1);
  if ([...counts.keys()].every((b) => b === manifest.environment.backend)) return null;
  const list = [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([b, n]) => `${b} ${formatCount(n)}`);
  return `records ran on more than one backend (${list.join(', ')}): cached trials from another backend were reused; scores are reproducible per backend`;
}

export function runTable(manifest: RunManifest, records: readonly TrialRecord[] = []): string {
  const env = manifest.environment;
  const mixed = mixedBackends(manifest, records);
  const t = manifest.trials;
  const rows: [string, string][] = [
    ['experiment', manifest.experiment],
    ['description', manifest.description],
    ['profile', manifest.profile],
    ['sweeps', manifest.sweeps.map((s) => `${s.name} (${s.figure === null ? 'tables only' : `figure: ${s.figure}`})`).join('; ')],
    ['backend', mixed === null ? env.backend : `${env.backend} (this run); ${mixed}`],
    ['git', `${env.gitHash}${env.gitDirty ? ' (uncommitted changes)' : ''}`],
    ['started', formatDate(manifest.startedAt)],
    ['finished', formatDate(manifest.finishedAt)],
    ['wall time', Number.isFinite(manifest.wallSeconds) ? `${(manifest.wallSeconds / 60).toFixed(1)} min` : 'n/a'],
    ['trials', `${formatCount(t.total)} in all: ${formatCount(t.ran)} ran, ${formatCount(t.cached)} from the cache, ${formatCount(t.diverged)} diverged, ${formatCount(t.failed)} failed`],
    ['machine', `${env.machine.cpu}, ${env.machine.cores} cores, ${formatBytes(env.machine.memoryBytes)} memory, ${env.machine.platform}, Node ${env.machine.node}`],
    ['versions', Object.entries(env.versions).map(([k, v]) => `${k} ${v}`).join(', ')],
  ];
  return keyValueTable(rows.map(([k, v]) => [k, escapeHtml(v)]));
}

/** Every summary row: mean test accuracy with its 95% interval over seeds, gap to full, trials and divergences. */
export function summaryHtml(cards: MethodCards, rows: readonly SummaryRow[]): string {
  const sorted = [...rows].sort(
    (a, b) => a.baseParameters - b.baseParameters || cards.compare(a.method, b.method) || a.optionsLabel.localeCompare(b.optionsLabel) || a.train - b.train || comparePanels(panelOf(a.task), panelOf(b.task)),
  );
  // A column for the training-set size only where it varies (a sweep with trainExamples).
  const bySize = new Set(rows.map((r) => r.train)).size > 1;
  const numeric = [4, 5, 6, 7, 8, 9, 10, 11, 12, 13].map((i) => (bySize ? i + 1 : i));
  return htmlTable(
    ['frozen model', 'method', 'options', 'task', ...(bySize ? ['training examples'] : []), 'trainable', '% of model', 'seeds', 'diverged', 'test accuracy (%), 95% CI', 'gap to full', 'no gain over init', 'left chance', 'recovered share', 'last-step test (%)'],
    sorted.map((r) => [
      escapeHtml(r.preset),
      escapeHtml(cards.name(r.method)),
      `<code>${escapeHtml(r.optionsLabel)}</code>`,
      escapeHtml(panelOf(r.task)),
      ...(bySize ? [formatCount(r.train)] : []),
      formatCount(r.trainable),
      formatPercent(r.percent),
      String(r.n),
      String(r.diverged),
      accuracyCell(r),
      r.gapToFull === null ? '' : formatPoints(r.gapToFull * 100),
      r.noGain === null ? '' : `${r.noGain} of ${r.n}`,
      Number.isFinite(r.breakouts) ? `${r.breakouts} of ${r.n}` : 'n/a',
      r.recovered === null ? '' : `${(100 * r.recovered).toFixed(0)}%`,
      Number.isFinite(r.finalMean) ? (100 * r.finalMean).toFixed(1) : '',
    ]),
    numeric,
  );
}

/** Mean with its interval; a group whose every trial kept its init says so instead of passing for tuned. */
function accuracyCell(r: SummaryRow): string {
  if (!Number.isFinite(r.mean)) return 'n/a (no finished trial)';
  const score = r.n >= 2 && Number.isFinite(r.ci95[0]) ? `${(r.mean * 100).toFixed(1)} [${(r.ci95[0] * 100).toFixed(1)}, ${(r.ci95[1] * 100).toFixed(1)}]` : `${(r.mean * 100).toFixed(1)} (one seed)`;
  return r.noGain !== null && r.n > 0 && r.noGain === r.n ? `${score} <em>untrained: every seed kept its init</em>` : score;
}

export function divergedHtml(cards: MethodCards, records: readonly TrialRecord[]): string {
  const diverged = records.filter((r) => r.status === 'diverged');
  if (diverged.length === 0) return '<p>No trial diverged.</p>';
  return htmlTable(
    ['frozen model', 'method', 'options', 'task', 'seed', 'at step', 'loss there', 'sweeps', 'trial key'],
    diverged.map((r) => [
      escapeHtml(r.config.preset),
      escapeHtml(cards.name(r.config.method)),
      `<code>${escapeHtml(optionsLabel(r.config.options))}</code>`,
      escapeHtml(r.config.task),
      String(r.config.seed),
      r.divergedAt === null ? '' : String(r.divergedAt.step),
      r.divergedAt === null ? '' : Number.isFinite(r.divergedAt.loss) ? String(r.divergedAt.loss) : 'NaN or infinite',
      escapeHtml(r.sweeps.join(', ')),
      `<code>${escapeHtml(r.key)}</code>`,
    ]),
    [4, 5],
  );
}

export function pretrainedHtml(manifest: RunManifest): string {
  if (manifest.pretrained.length === 0) return '<p>run.json lists no pretrained models.</p>';
  const loss = (value: number): string => (Number.isFinite(value) ? value.toFixed(3) : 'n/a');
  return htmlTable(
    ['frozen model', 'parameters', 'pretraining steps', 'held-out loss (nats)', 'untrained control (nats)', 'pretraining time'],
    manifest.pretrained.map((p) => [escapeHtml(p.preset), formatCount(p.parameters), formatCount(p.steps), loss(p.heldOutLoss), loss(p.controlHeldOutLoss), Number.isFinite(p.trainingSeconds) ? `${(p.trainingSeconds / 60).toFixed(1)} min` : 'n/a']),
    [1, 2, 3, 4, 5],
  );
}

/** Published trainable counts (PEFT for gpt2, Lester et al. for T5 at 100 tokens), labelled as such. */
export function referenceCountsHtml(cards: MethodCards): string {
  const gpt2 = cards.publishedGpt2().map((c) => [escapeHtml(`gpt2 (${formatCount(GPT2_PARAMETERS)})`), escapeHtml(c.setting), formatCount(c.trainable), formatPercent((c.trainable / GPT2_PARAMETERS) * 100), escapeHtml(HF_PEFT.short)]);
  const t5 = LESTER_T5_SIZES.map((s) => [
    escapeHtml(`${s.name} (about ${formatCount(s.parameters)})`),
    escapeHtml(`prompt tuning, ${LESTER_PROMPT_LENGTH} tokens (E = ${s.width})`),
    formatCount(s.width * LESTER_PROMPT_LENGTH),
    formatPercent(((s.width * LESTER_PROMPT_LENGTH) / s.parameters) * 100),
    escapeHtml(`${LESTER_2021.short} (E × P; % computed from the approximate size)`),
  ]);
  return htmlTable(['model', 'setting', 'trainable', '% of model', 'source'], [...gpt2, ...t5], [2, 3]);
}
