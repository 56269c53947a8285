/**
 * The capability gates' pass rule, shared by the gates (experiments/pretrain/gates.ts, which measure) and
 * the report (which draws the gates matrix): a score passes when its 95% Wilson interval lies above
 * chance and above the never-trained control's interval.
 */
import type { GateScore } from './results_run.js';

/** 95% Wilson score interval of k successes in n trials. */
export function wilsonInterval(k: number, n: number, z = 1.959964): [number, number] {
  if (n === 0) return [0, 1];
  const p = k / n;
  const denominator = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / denominator;
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/** Whether a score passes the rule, and why not. */
export function judge(name: string, score: GateScore): { pass: boolean; reason: string | null } {
  const [low] = wilsonInterval(Math.round(score.model * score.n), score.n);
  const [, controlHigh] = wilsonInterval(Math.round(score.control * score.n), score.n);
  if (!(low > score.chance)) return { pass: false, reason: `${name}: ${pct(score.model)} (95% interval from ${pct(low)}) is not clear of chance ${pct(score.chance)} (n = ${score.n})` };
  if (!(low > controlHigh)) return { pass: false, reason: `${name}: ${pct(score.model)} (95% interval from ${pct(low)}) is not clear of the control's ${pct(score.control)} (interval to ${pct(controlHigh)})` };
  return { pass: true, reason: null };
}

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}
