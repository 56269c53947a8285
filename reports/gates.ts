/**
 * Capability gates in the report (run.json's pretrained[].gates, measured when each frozen model was
 * pretrained): the verdict that decides whether a scaling claim may be stated, a table per frozen model
 * (zero-shot per task, label-word loss split into deciding token and spelling, skill probes, each beside
 * the never-trained control); the gates figure is figures/gates.ts.
 * A scaling claim is stated only when the largest model's gates pass; otherwise the report says in plain
 * words that the frozen models had nothing to unlock. Runs made before gates existed say "not measured".
 */
import type { GateScore, PretrainedInfo, RunManifest, TrialRecord } from '../src/results/results.js';
import { judge } from '../src/results/gate_rule.js';
import { escapeHtml, formatCount, listText } from './format.js';
import { htmlTable } from './html.js';
import { runLine } from './tables.js';

/** Whether the run may state a scaling claim, and the plain words that say why. */
export interface GateVerdict {
  state: 'pass' | 'fail' | 'not measured';
  /** The largest frozen model of the run (null when run.json lists none). */
  largest: PretrainedInfo | null;
  text: string;
}

/**
 * The verdict from the largest frozen model's gates, for the tasks the run measured. A claim about a task
 * needs the skill that task asks for, so when run.json has a per-task gate for every one of `tasks` those
 * decide (a lookup task is gated by the lookup probe, whatever the recall probe says); without per-task
 * gates (older runs) or without tasks, every gate must pass. Rule fixed on 2 December 2026, before the run
 * it first applied to (docs/results/scaling/README.md).
 */
export function gateVerdict(manifest: RunManifest, tasks: readonly string[] = []): GateVerdict {
  const largest = [...manifest.pretrained].sort((a, b) => b.parameters - a.parameters)[0] ?? null;
  if (largest === null) return { state: 'not measured', largest, text: 'run.json lists no frozen models, so their capability gates were not measured; no scaling claim is stated.' };
  const gates = largest.gates;
  if (gates === undefined) {
    return {
      state: 'not measured',
      largest,
      text: `Capability gates: not measured (run.json has none for ${largest.preset}; the run predates them). Without them this report cannot tell whether the frozen models had a skill for the methods to unlock, so it states no scaling claim.`,
    };
  }
  const model = `${largest.preset} (${formatCount(largest.parameters)} parameters)`;
  const perTask = tasks.length > 0 && tasks.every((t) => gates.tasks?.[t] !== undefined);
  const taskGates = perTask ? tasks.map((t) => ({ task: t, gate: gates.tasks?.[t] ?? { pass: false, gate: 'none', reasons: [] } })) : [];
  const pass = perTask ? taskGates.every((t) => t.gate.pass) : gates.pass;
  const reasons = perTask ? taskGates.filter((t) => !t.gate.pass).flatMap((t) => t.gate.reasons.map((r) => `${t.task}: ${r}`)) : gates.reasons;
  const scope = perTask ? `for the tasks this run measured (${taskGates.map((t) => `${t.task}, decided by ${t.gate.gate}`).join('; ')})` : '';
  if (!pass) {
    return {
      state: 'fail',
      largest,
      text:
        `The capability gates of the largest frozen model, ${model}, fail${scope === '' ? '' : ` ${scope}`}: ${reasons.length === 0 ? 'no reason recorded' : reasons.join('; ')}. ` +
        'In plain words: the frozen models had nothing to unlock. Pretraining did not give them the skills the tasks need, so a method that trains few parameters has nothing to draw on, and this run cannot show whether prompt tuning gets better with scale. ' +
        'The scores below show what tuning did to models without the skill; no scaling claim is stated.',
    };
  }
  const others = perTask && !gates.pass ? ` Gates of skills no task of this run asks for fail (${gates.reasons.join('; ')}); they do not bear on these claims.` : '';
  return { state: 'pass', largest, text: `The capability gates of the largest frozen model, ${model}, pass${scope === '' ? ` (${gates.rule})` : ` ${scope}`}: the scaling claims below may be read as such.${others}` };
}

/** The tasks a run's records measured, for {@link gateVerdict}. */
export function measuredTasks(records: readonly TrialRecord[]): string[] {
  return [...new Set(records.map((r) => r.config.task))].sort();
}

const pct = (value: number): string => (Number.isFinite(value) ? (100 * value).toFixed(1) : 'n/a');
const nats = (value: number): string => (Number.isFinite(value) ? value.toFixed(2) : 'n/a');

/** The gates table: a row per frozen model and gate, pretrained beside control and chance. */
export function gatesHtml(manifest: RunManifest, tasks: readonly string[] = []): string {
  const verdict = gateVerdict(manifest, tasks);
  const paragraph = `<p class="gate-verdict gate-${verdict.state.replaceAll(' ', '-')}">${escapeHtml(verdict.text)}</p>`;
  const measured = manifest.pretrained.filter((p) => p.gates !== undefined).sort((a, b) => a.parameters - b.parameters);
  const missing = manifest.pretrained.filter((p) => p.gates === undefined).map((p) => p.preset);
  if (measured.length === 0) return paragraph;
  const rule = [...new Set(measured.map((p) => p.gates?.rule ?? ''))].filter((r) => r !== '');
  const note = missing.length === 0 ? '' : `<p>Not measured for ${escapeHtml(listText(missing))}.</p>`;
  const detail = gateDetailRows(measured);
  return `${paragraph}${gateMatrix(measured, tasks)}${note}<p class="caption">${escapeHtml(
    `From run.json (measured when each model was pretrained). One column per frozen model, smallest first; each cell: pass or fail by the rule, the pretrained model's score and, in brackets, its margin in points over the higher of chance and the never-trained control. Probes: the skill each task needs, in the pretraining wording; a task's gate is the probe of its skill (or its own zero-shot score for world-fact tasks). Rule: ${rule.join('; ') || 'none recorded'}. ${runLine(manifest)}`,
  )}</p><details><summary>Every gate measurement (${detail.length} rows: zero-shot accuracy per task, label-word loss, probes, per-task reasons)</summary>${htmlTable(['frozen model', 'gate', 'pretrained', 'never-trained control', 'chance', 'examples / why'], detail, [2, 3, 4])}</details>`;
}

/** The compact matrix: a row per gate (each probe, each measured task, all gates), a column per frozen model. */
function gateMatrix(measured: readonly PretrainedInfo[], tasks: readonly string[]): string {
  const probes = [...new Set(measured.flatMap((p) => Object.keys(p.gates?.probes ?? {})))];
  const cell = (pass: boolean, text: string): string => `<span class="${pass ? 'verdict-holds' : 'verdict-does-not-hold'}">${pass ? 'pass' : 'fail'}</span>${text === '' ? '' : ` ${text}`}`;
  const scoreText = (s: GateScore): string => `${pct(s.model)}% (${signed(s.model - Math.max(s.chance, s.control))})`;
  const rows: string[][] = probes.map((probe) => [
    escapeHtml(`probe: ${probe}`),
    ...measured.map((p) => {
      const s = p.gates?.probes[probe];
      return s === undefined ? '--' : cell(judge(probe, s).pass, scoreText(s));
    }),
  ]);
  for (const task of tasks) {
    rows.push([
      escapeHtml(`task ${task}`),
      ...measured.map((p) => {
        const t = p.gates?.tasks?.[task];
        const s = p.gates?.zeroShot[task];
        return t === undefined ? '--' : cell(t.pass, escapeHtml(`by ${t.gate}${s === undefined ? '' : `; zero-shot ${pct(s.model)}% (${signed(s.model - Math.max(s.chance, s.control))})`}`));
      }),
    ]);
  }
  rows.push(['<strong>all gates</strong>', ...measured.map((p) => cell(p.gates?.pass === true, ''))]);
  return htmlTable(['gate', ...measured.map((p) => `${escapeHtml(p.preset)} (${formatCount(p.parameters)})`)], rows, []);
}

/** Every measurement, a row each (folded away under the matrix). */
function gateDetailRows(measured: readonly PretrainedInfo[]): string[][] {
  const rows: string[][] = [];
  for (const p of measured) {
    const g = p.gates;
    if (g === undefined) continue;
    const model = `${escapeHtml(p.preset)} (${formatCount(p.parameters)})`;
    for (const [task, s] of Object.entries(g.zeroShot)) rows.push([model, escapeHtml(`zero-shot accuracy, ${task} (%)`), pct(s.model), pct(s.control), pct(s.chance), formatCount(s.n)]);
    for (const [task, l] of Object.entries(g.labelLoss)) {
      rows.push([model, escapeHtml(`label-word loss, ${task}: deciding token (nats)`), nats(l.model.deciding), nats(l.control.deciding), '', '']);
      rows.push([model, escapeHtml(`label-word loss, ${task}: spelling (nats)`), nats(l.model.spelling), nats(l.control.spelling), '', '']);
    }
    for (const [skill, s] of Object.entries(g.probes)) rows.push([model, escapeHtml(`probe: ${skill} (%)`), pct(s.model), pct(s.control), pct(s.chance), formatCount(s.n)]);
    for (const [task, t] of Object.entries(g.tasks ?? {})) rows.push([model, escapeHtml(`task ${task} (decided by ${t.gate})`), t.pass ? 'pass' : 'fail', '', '', escapeHtml(t.reasons.join('; '))]);
    rows.push([model, '<strong>gates</strong>', g.pass ? '<span class="verdict-holds">pass</span>' : '<span class="verdict-does-not-hold">fail</span>', '', '', escapeHtml(g.reasons.join('; '))]);
  }
  return rows;
}

function signed(x: number): string {
  return `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}`;
}
