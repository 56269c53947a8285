/**
 * Capability gates: what a frozen model can do before any method touches it, beside its never-trained
 * control of the same shape. Computed once when a model is pretrained, stored in its cache folder
 * (gates.json) and carried into run.json (`PretrainedInfo.gates`); old cached models get them on first use.
 *
 * - zero-shot label-word accuracy on every task of the suite (rank classification on test examples);
 * - the correct label's loss split into the deciding token (the first token that tells it apart from the
 *   other labels; with byte tokens and a leading space, the first letter) and the spelling (the tokens
 *   after it, mean per token), so "cannot decide" and "cannot spell" are told apart;
 * - a cloze probe per skill in the pretraining wording (the most frequent trigger, fresh episodes or every
 *   character), plus `facts`: the home town of a character as the corpus states it ("NAME lives in");
 * - a pass rule: a score passes when its 95% Wilson interval is above chance and above the control's
 *   interval; the gates pass when every skill probe passes; each task passes when the probe of its skill
 *   (skill tasks) or its own zero-shot score in the demonstrated wording (world-fact tasks) passes.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadCheckpoint } from '../../src/io/checkpoint.js';
import { GPT2 } from '../../src/model/model.js';
import { Random } from '../../src/util/random.js';
import type { CapabilityGates, GateScore, LabelLossSplit } from '../../src/results/results.js';
import { writeFileAtomic } from '../../src/io/atomic_file.js';
import { judge } from '../../src/results/gate_rule.js';
import { argmax, padRows } from '../../src/inference/scoring.js';
import { ByteTokenizer, SPECIAL_TOKENS } from '../../src/io/tokenizer.js';
import type { CorpusConfig } from '../../datasets/corpus.js';
import { lookupItem, recallItem, SKILL_NAMES, SKILLS, skillPrompt, versusItem, type SkillItem, type SkillName } from '../../datasets/skills.js';
import { buildTaskSuite, TASK_NAMES } from '../../datasets/tasks.js';
import { generateWorld, townName, type World } from '../../datasets/world.js';

export const GATES_FILE = 'gates.json';
/** Bump when what the gates measure changes: cached gates of another version are recomputed. */
export const GATES_VERSION = 1;
export const GATE_PROBES = [...SKILL_NAMES, 'facts'] as const;
/** The skill probes that must pass for the gates to pass (`facts` is reported, not required). */
const REQUIRED_PROBES: readonly string[] = SKILL_NAMES;

export const GATE_RULE =
  'a score passes when its 95% Wilson interval lies above chance and above the never-trained control\'s interval; ' +
  'the gates pass when every skill probe (lookup, versus, recall) passes; a skill task passes when its skill\'s probe does, a world-fact task when its own zero-shot score does';

/** Options of computeGates. */
export interface GateOptions {
  /** Test examples per task and probe (at most; fewer when a split has fewer). */
  examples: number;
  /** Rows per forward pass; default 64. */
  batchSize?: number;
  /** Called after each task or probe with how many of the total are done. */
  onProgress?: (done: number, total: number, what: string) => void;
}

/** A gate question: the text before the label, the label words, the index of the right one. */
interface Question {
  context: string;
  labels: readonly string[];
  answer: number;
}

const tokenizer = new ByteTokenizer();

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

/** A token row and the (position, token) log-probabilities wanted from it: position t predicts token t + 1. */
interface Pick {
  tokens: readonly number[];
  picks: readonly (readonly [number, number])[];
}

/** log p(token | tokens up to position) for every pick of every row; rows sorted by length to save padding. */
function pickLogProbs(model: GPT2, rows: readonly Pick[], batchSize: number): number[][] {
  const order = rows.map((_, i) => i).sort((a, b) => rows[a].tokens.length - rows[b].tokens.length);
  const out: number[][] = new Array<number[]>(rows.length);
  for (let start = 0; start < order.length; start += batchSize) {
    const chunk = order.slice(start, start + batchSize).map((i) => rows[i]);
    const tokens = padRows(chunk.map((row) => ({ tokens: row.tokens, targetStart: 1 }))); // [B, T]
    const length = tokens.shape[1];
    const indices = chunk.flatMap((row, b) => row.picks.map(([t, token]) => (b * length + t) * model.config.vocabSize + token));
    const picked = tf.tidy(() => {
      const logits = model.forward(tokens); // [B, T, V]
      return tf.gather(tf.reshape(tf.logSoftmax(logits), [-1]), tf.tensor1d(indices, 'int32')); // [picks]
    });
    const values = picked.dataSync();
    tokens.dispose();
    picked.dispose();
    let k = 0;
    chunk.forEach((row, b) => {
      out[order[start + b]] = Array.from(values.subarray(k, k + row.picks.length));
      k += row.picks.length;
    });
  }
  return out;
}

/**
 * Accuracy and label-loss split of a model on questions. When the labels share a prefix (the leading space)
 * and then differ in their next token, one row per question (context + the right label) gives both: the
 * decision is the label whose deciding token is most likely there (what the label sums differ by, up to
 * their spelling, which is reported apart), and the right label's own tokens give its loss. Otherwise every
 * label gets its own row and the decision is the largest summed label log-probability (rank classification).
 */
function measure(model: GPT2, questions: readonly Question[], batchSize: number): { accuracy: number; loss: LabelLossSplit } {
  const rows: Pick[] = [];
  const plans = questions.map((q) => {
    const context = tokenizer.encode(q.context);
    const labels = q.labels.map((l) => tokenizer.encode(l));
    const shared = sharedPrefix(labels);
    const byDecidingToken = labels.every((l) => l.length > shared) && new Set(labels.map((l) => l[shared])).size === labels.length;
    const base = [SPECIAL_TOKENS.endOfText, ...context];
    const ownPicks = (label: readonly number[]): [number, number][] => label.map((token, i) => [base.length - 1 + i, token]);
    const first = rows.length;
    if (byDecidingToken) {
      const at = base.length - 1 + shared; // the position that predicts the deciding token
      rows.push({ tokens: [...base, ...labels[q.answer]], picks: [...ownPicks(labels[q.answer]), ...labels.map((l): [number, number] => [at, l[shared]])] });
    } else {
      for (const label of labels) rows.push({ tokens: [...base, ...label], picks: ownPicks(label) });
    }
    return { q, labels, first, byDecidingToken, shared };
  });
  const logProbs = pickLogProbs(model, rows, batchSize);
  let correct = 0;
  let deciding = 0;
  let spelling = 0;
  let spelled = 0;
  for (const { q, labels, first, byDecidingToken, shared } of plans) {
    const ownLength = labels[q.answer].length;
    const own = byDecidingToken ? logProbs[first].slice(0, ownLength) : logProbs[first + q.answer];
    const scores = byDecidingToken ? logProbs[first].slice(ownLength) : labels.map((_, i) => logProbs[first + i].reduce((a, b) => a + b, 0));
    if (argmax(scores) === q.answer) correct += 1;
    const at = byDecidingToken ? shared : decidingIndex(labels, q.answer);
    deciding -= own[at];
    if (own.length > at + 1) {
      spelling -= own.slice(at + 1).reduce((a, b) => a + b, 0) / (own.length - at - 1);
      spelled += 1;
    }
  }
  const n = Math.max(1, questions.length);
  return { accuracy: correct / n, loss: { deciding: deciding / n, spelling: spelled === 0 ? 0 : spelling / spelled } };
}

/** Length of the token prefix all labels share. */
function sharedPrefix(labels: readonly (readonly number[])[]): number {
  let k = 0;
  while (labels.every((l) => k < l.length && l[k] === labels[0][k])) k += 1;
  return k;
}

/** The deciding token of a label: the first one that tells it apart from the label closest to it (after a shared prefix such as the leading space). */
export function decidingIndex(labels: readonly (readonly number[])[], which: number): number {
  const own = labels[which];
  let shared = 0;
  for (let j = 0; j < labels.length; j++) {
    if (j === which) continue;
    let k = 0;
    while (k < own.length && k < labels[j].length && own[k] === labels[j][k]) k += 1;
    shared = Math.max(shared, k);
  }
  return Math.min(shared, own.length - 1);
}

/** The probe questions of a skill in the pretraining wording (trigger 0), from their own random stream. */
export function probeQuestions(probe: (typeof GATE_PROBES)[number], world: World, n: number): Question[] {
  const rng = new Random(world.seed, `gates:probe:${probe}`);
  if (probe === 'facts') {
    const towns = world.towns.map((t) => ` ${t.name}`);
    return rng.shuffle([...world.characters]).slice(0, n).map((c) => ({ context: `${c.name} lives in`, labels: towns, answer: towns.indexOf(` ${townName(world, c)}`) }));
  }
  const skill = SKILLS[probe as SkillName];
  const items: SkillItem[] =
    probe === 'recall' ? rng.shuffle([...world.characters]).slice(0, n).map(recallItem) : Array.from({ length: n }, () => (probe === 'lookup' ? lookupItem(rng) : versusItem(rng)));
  return items.map((item) => ({ context: skillPrompt(skill, item, 0), labels: skill.labels, answer: skill.labels.indexOf(item.label) }));
}

/** The skill whose probe gates a task, or null for a world-fact task (gated by its own zero-shot score). */
export function skillOfTask(task: string): SkillName | null {
  const match = /^([a-z]+)-d\d+$/.exec(task);
  return match !== null && (SKILL_NAMES as readonly string[]).includes(match[1]) ? (match[1] as SkillName) : null;
}

/** Measures the gates of a model and its never-trained control on the world of `corpus`. */
export function computeGates(model: GPT2, control: GPT2, corpus: CorpusConfig, options: GateOptions): CapabilityGates {
  if (!(Number.isInteger(options.examples) && options.examples >= 1)) throw new Error(`gates: examples = ${options.examples}: allowed: an integer ≥ 1`);
  const batchSize = options.batchSize ?? 64;
  const world = generateWorld(corpus);
  const total = TASK_NAMES.length + GATE_PROBES.length;
  let done = 0;
  const score = (name: string, questions: Question[]): { score: GateScore; loss: { model: LabelLossSplit; control: LabelLossSplit } } => {
    const m = measure(model, questions, batchSize);
    const c = measure(control, questions, batchSize);
    options.onProgress?.(++done, total, name);
    const chance = questions.length === 0 ? 0 : questions.reduce((sum, q) => sum + 1 / q.labels.length, 0) / questions.length;
    return { score: { model: m.accuracy, control: c.accuracy, chance, n: questions.length }, loss: { model: m.loss, control: c.loss } };
  };
  const zeroShot: Record<string, GateScore> = {};
  const labelLoss: CapabilityGates['labelLoss'] = {};
  for (const name of TASK_NAMES) {
    const [task] = buildTaskSuite({ seed: corpus.seed, worldSize: corpus.worldSize, townCount: corpus.townCount, world, tasks: [name], sizes: { train: 0, dev: 0, test: options.examples }, capToAvailable: true });
    const questions = task.splits.test.map((e) => ({ context: task.format(e), labels: task.labels, answer: task.labels.indexOf(e.label) }));
    const result = score(name, questions);
    zeroShot[name] = result.score;
    labelLoss[name] = result.loss;
  }
  const probes: Record<string, GateScore> = {};
  for (const probe of GATE_PROBES) probes[probe] = score(`probe ${probe}`, probeQuestions(probe, world, options.examples)).score;
  return decide(zeroShot, labelLoss, probes);
}

/** Applies the pass rule to measured scores (also what tests use to check the rule both ways). */
export function decide(zeroShot: Record<string, GateScore>, labelLoss: CapabilityGates['labelLoss'], probes: Record<string, GateScore>): CapabilityGates {
  const reasons: string[] = [];
  const probeVerdicts = new Map(Object.entries(probes).map(([name, s]) => [name, judge(`probe ${name}`, s)]));
  for (const name of REQUIRED_PROBES) {
    const verdict = probeVerdicts.get(name);
    if (verdict === undefined) reasons.push(`probe ${name}: not measured`);
    else if (verdict.reason !== null) reasons.push(verdict.reason);
  }
  const tasks: NonNullable<CapabilityGates['tasks']> = {};
  for (const [task, s] of Object.entries(zeroShot)) {
    const skill = skillOfTask(task);
    const verdict = skill === null ? judge(`${task} zero-shot`, s) : probeVerdicts.get(skill) ?? { pass: false, reason: `probe ${skill}: not measured` };
    tasks[task] = { pass: verdict.pass, gate: skill === null ? 'zero-shot' : `probe ${skill}`, reasons: verdict.reason === null ? [] : [verdict.reason] };
  }
  return { zeroShot, labelLoss, probes, pass: reasons.length === 0, rule: GATE_RULE, reasons, tasks };
}

/** gates.json in a pretrained model's folder. */
interface GatesFile {
  format: 'peftscale-gates';
  version: number;
  examples: number;
  controlDir: string;
  gates: CapabilityGates;
}

/** Reads a model folder's gates if they were computed by this version with this many examples; else null. */
export async function readGates(dir: string, examples: number): Promise<CapabilityGates | null> {
  let file: GatesFile;
  try {
    file = JSON.parse(await readFile(path.join(dir, GATES_FILE), 'utf8')) as GatesFile;
  } catch {
    return null; // missing or unreadable: recomputed (gates are derived data, never the only copy of anything)
  }
  return file.format === 'peftscale-gates' && file.version === GATES_VERSION && file.examples === examples ? file.gates : null;
}

/** The gates of a pretrained model folder: read from gates.json, or computed (loading both models) and saved. */
export async function ensureGates(options: { dir: string; controlDir: string; corpus: CorpusConfig; examples: number; log?: (message: string) => void }): Promise<CapabilityGates> {
  const cached = await readGates(options.dir, options.examples);
  if (cached !== null) return cached;
  const model = (await loadCheckpoint(options.dir)).model;
  const control = (await loadCheckpoint(options.controlDir)).model;
  const started = performance.now();
  try {
    const gates = computeGates(model, control, options.corpus, {
      examples: options.examples,
      onProgress: (done, total, what) => {
        const elapsed = (performance.now() - started) / 1000;
        const eta = (elapsed / done) * (total - done);
        options.log?.(`gates ${done}/${total} (${what}) ${elapsed.toFixed(0)}s, ETA ${eta.toFixed(0)}s`);
      },
    });
    const file: GatesFile = { format: 'peftscale-gates', version: GATES_VERSION, examples: options.examples, controlDir: options.controlDir, gates };
    await writeFileAtomic(path.join(options.dir, GATES_FILE), `${JSON.stringify(file, null, 2)}\n`);
    return gates;
  } finally {
    model.dispose();
    control.dispose();
  }
}

/** The gates as text: probes, then zero-shot accuracy and label loss per task. */
export function formatGates(preset: string, gates: CapabilityGates): string {
  const lines = [`${preset}: gates ${gates.pass ? 'PASS' : 'FAIL'}`];
  const row = (name: string, s: GateScore): string =>
    `  ${name.padEnd(12)} ${pct(s.model).padStart(6)}  control ${pct(s.control).padStart(6)}  chance ${pct(s.chance).padStart(6)}  n ${String(s.n).padStart(4)}`;
  for (const [name, s] of Object.entries(gates.probes)) lines.push(row(`probe ${name}`.slice(0, 12), s) + `  ${judge(name, s).pass ? 'pass' : 'fail'}`);
  for (const [name, s] of Object.entries(gates.zeroShot)) {
    const loss = gates.labelLoss[name];
    lines.push(`${row(name, s)}  label loss deciding ${loss.model.deciding.toFixed(2)} / spelling ${loss.model.spelling.toFixed(2)} (control ${loss.control.deciding.toFixed(2)} / ${loss.control.spelling.toFixed(2)})`);
  }
  for (const reason of gates.reasons) lines.push(`  why not: ${reason}`);
  return lines.join('\n');
}
