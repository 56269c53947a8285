/**
 * A trial record's integrity: a checksum over its canonical content, written when the trial finishes,
 * and the consistency between its fields that every record the trial code writes has. An import
 * (`--import-trials`) and a cache read check both, so a record edited by hand (a score changed, a status
 * flipped) is refused instead of becoming a published figure. The checksum detects edits, not forgery:
 * whoever edits a record can also recompute it; it is no signature.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../util/canonical_json.js';
import type { TrialRecord } from './results_record.js';

/** Fields outside the checksum: the sweeps a run names (one trial serves several experiments) and the checksum itself. */
const UNSEALED_FIELDS = ['sweeps', 'checksum'];

/** "sha256:<hex>" over the canonical JSON of the record as JSON stores it (NaN as null, no undefined fields). */
export function recordChecksum(record: unknown): string {
  const stored = JSON.parse(JSON.stringify(record)) as Record<string, unknown>;
  for (const field of UNSEALED_FIELDS) delete stored[field];
  return `sha256:${createHash('sha256').update(canonicalJson(stored)).digest('hex')}`;
}

/** The record with its checksum: what a finished trial writes. */
export function sealRecord(record: TrialRecord): TrialRecord {
  return { ...record, checksum: recordChecksum(record) };
}

/** A problem when a record's checksum does not match its content; null when it matches or there is none. */
export function checksumProblem(record: Record<string, unknown>): string | null {
  if (record.checksum === undefined) return null;
  if (typeof record.checksum !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(record.checksum)) return `checksum = ${JSON.stringify(record.checksum)}: allowed: "sha256:" and 64 hex digits`;
  const actual = recordChecksum(record);
  return actual === record.checksum ? null : `checksum ${record.checksum.slice(0, 19)}… does not match the record's content (${actual.slice(0, 19)}…): the record was changed after the trial wrote it`;
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const isPairs = (value: unknown): value is [number, number | null][] =>
  Array.isArray(value) && value.every((p) => Array.isArray(p) && p.length === 2 && typeof p[0] === 'number' && (typeof p[1] === 'number' || p[1] === null));
/** An accuracy over n examples is a count over n: 0.875 of 150 examples (131.25) was not measured. */
const countOver = (accuracy: number, n: number): boolean => Math.abs(accuracy * n - Math.round(accuracy * n)) < 1e-6;

function trainingSteps(record: Json): number | null {
  const training = isObject(record.config) && isObject(record.config.training) ? record.config.training : {};
  return typeof training.steps === 'number' ? training.steps : null;
}

/**
 * The status and `divergedAt` agree: a finished trial has none, a diverged one names the step (a record
 * edited to "diverged" without one would silently leave the means). Checked on every record.
 */
export function statusProblems(record: Json): string[] {
  const steps = trainingSteps(record);
  const divergedAt = record.divergedAt;
  if (record.status === 'finished' && divergedAt !== null) return [`status "finished" with divergedAt = ${JSON.stringify(divergedAt)}: allowed: divergedAt null`];
  if (record.status === 'diverged') {
    const step = isObject(divergedAt) ? divergedAt.step : undefined;
    if (typeof step !== 'number' || !Number.isInteger(step) || step < 1 || (steps !== null && step > steps)) {
      return [`status "diverged" with divergedAt = ${JSON.stringify(divergedAt)}: allowed: {step, loss} with step an integer from 1 to ${steps ?? 'the training steps'}`];
    }
  }
  return [];
}

/**
 * How a record's fields disagree with one another, as the trial code writes them (experiments/run/trial.ts):
 * the status and `divergedAt`, the best-dev step and the dev curve, the last step's scores, the gain over
 * init, accuracies as counts over their examples, the parameter share. Ranges are checked elsewhere
 * (trialRecordProblems); this is what a record without a checksum (written before checksums) is
 * accepted on. A sealed record is checked by its checksum instead: the code that sealed it wrote it.
 */
export function recordConsistencyProblems(record: Json): string[] {
  const problems: string[] = [];
  const steps = trainingSteps(record);
  const status = record.status;
  const divergedAt = record.divergedAt;
  const dev = isObject(record.dev) ? record.dev : {};
  const test = isObject(record.test) ? record.test : {};
  for (const [name, evaluation] of [['dev', dev], ['test', test]] as const) {
    const n = evaluation.examples;
    if (typeof n !== 'number' || n < 1) continue;
    for (const field of ['accuracy', 'majority']) {
      const value = evaluation[field];
      if (typeof value === 'number' && !countOver(value, n)) problems.push(`${name}.${field} = ${value}: not a count over ${name}.examples = ${n} (${(value * n).toFixed(3)} of ${n})`);
    }
  }
  const devCurve = record.devCurve;
  if (!isPairs(devCurve) || devCurve.length === 0) {
    problems.push(`devCurve = ${JSON.stringify(devCurve)?.slice(0, 80)}: allowed: [step, accuracy] pairs from step 0`);
    return problems;
  }
  const curveSteps = devCurve.map((p) => p[0]);
  if (curveSteps[0] !== 0 || curveSteps.some((s, i) => i > 0 && s <= curveSteps[i - 1]) || (steps !== null && curveSteps.some((s) => s > steps))) {
    problems.push(`devCurve steps ${JSON.stringify(curveSteps)}: allowed: increasing from 0 to at most config.training.steps (${steps})`);
  }
  if (typeof dev.examples === 'number') {
    const off = devCurve.find((p) => typeof p[1] === 'number' && !countOver(p[1], dev.examples as number));
    if (off !== undefined) problems.push(`devCurve at step ${off[0]} = ${off[1]}: not a count over dev.examples = ${dev.examples}`);
  }
  // The chosen checkpoint is the first step with the best dev score (ties keep the earlier one).
  const scores = devCurve.map((p) => (typeof p[1] === 'number' ? p[1] : -Infinity));
  const bestIndex = scores.indexOf(Math.max(...scores));
  if (dev.bestStep !== curveSteps[bestIndex] || dev.accuracy !== scores[bestIndex]) {
    problems.push(`dev = {accuracy ${JSON.stringify(dev.accuracy)}, bestStep ${JSON.stringify(dev.bestStep)}}: the dev curve's best is ${scores[bestIndex]} at step ${curveSteps[bestIndex]}`);
  }
  if (record.gainOverInit !== undefined && record.gainOverInit !== null && record.gainOverInit !== (dev.bestStep !== 0)) {
    problems.push(`gainOverInit = ${JSON.stringify(record.gainOverInit)} with dev.bestStep = ${JSON.stringify(dev.bestStep)}: allowed: ${dev.bestStep !== 0}`);
  }
  const final = record.final;
  if (isObject(final)) {
    const last = devCurve[devCurve.length - 1];
    if (status === 'finished') {
      if (final.step !== last[0] || final.dev !== last[1]) problems.push(`final = {step ${JSON.stringify(final.step)}, dev ${JSON.stringify(final.dev)}}: the dev curve ends at step ${last[0]} with ${last[1]}`);
      if (final.step === dev.bestStep && final.test !== test.accuracy) problems.push(`final.test = ${JSON.stringify(final.test)} at the chosen step ${JSON.stringify(dev.bestStep)}: allowed: test.accuracy (${JSON.stringify(test.accuracy)})`);
      if (typeof final.test === 'number' && typeof test.examples === 'number' && !countOver(final.test, test.examples)) problems.push(`final.test = ${final.test}: not a count over test.examples = ${test.examples}`);
    } else if (status === 'diverged' && isObject(divergedAt) && final.step !== divergedAt.step) {
      problems.push(`final.step = ${JSON.stringify(final.step)}: a diverged trial's last step is divergedAt.step (${JSON.stringify(divergedAt.step)})`);
    }
  }
  const parameters = isObject(record.parameters) ? record.parameters : {};
  const { trainable, base, total, percent } = parameters;
  if (typeof trainable === 'number' && typeof base === 'number' && typeof total === 'number' && typeof percent === 'number') {
    if (trainable > total || base > total) problems.push(`parameters: trainable ${trainable} and base ${base}: allowed: each at most total (${total})`);
    else if (total > 0 && Math.abs(percent - (100 * trainable) / total) > 1e-9 * Math.max(1, percent)) problems.push(`parameters.percent = ${percent}: allowed: 100 × trainable / total (${(100 * trainable) / total})`);
  }
  return problems;
}
