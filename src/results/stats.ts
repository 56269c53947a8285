/**
 * Statistics over seeds: mean and sample standard deviation (mathjs) and a Student-t confidence
 * interval. mathjs has no Student-t quantile, so it is computed here: the t distribution function from
 * the regularised incomplete beta function (continued fraction), inverted by bisection.
 *
 * @example
 * confidenceInterval([0.71, 0.74, 0.69]) // { mean: 0.7133, std: 0.0252, n: 3, low: 0.6508, high: 0.7759 }
 * studentTQuantile(0.975, 4)             // 2.7764
 */
import { mean as mathMean, std as mathStd } from 'mathjs';
import { Random } from '../util/random.js';

/** ln Γ(x) for x > 0 (Lanczos approximation, g = 7, 9 terms; about 15 significant digits). */
export function logGamma(x: number): number {
  if (!(x > 0)) throw new Error(`logGamma: x = ${x}: allowed: x > 0`);
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x); // reflection
  const coefficients = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
    -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  const z = x - 1;
  let sum = coefficients[0];
  for (let i = 1; i < coefficients.length; i++) sum += coefficients[i] / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** The continued fraction of the incomplete beta function (modified Lentz), valid for x < (a+1)/(a+b+2). */
function betaContinuedFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let result = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    // Even step.
    let numerator = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + numerator * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + numerator / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    result *= d * c;
    // Odd step.
    numerator = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + numerator * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + numerator / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    result *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return result;
}

/** The regularised incomplete beta function I_x(a, b), for 0 ≤ x ≤ 1 and a, b > 0. */
export function regularizedBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  // The fraction converges fast on one side of the mean; use the symmetry I_x(a,b) = 1 - I_{1-x}(b,a) on the other.
  return x < (a + 1) / (a + b + 2) ? (front * betaContinuedFraction(x, a, b)) / a : 1 - (front * betaContinuedFraction(1 - x, b, a)) / b;
}

/** P(T ≤ t) for Student's t with `df` degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  if (!(df > 0)) throw new Error(`studentTCdf: df = ${df}: allowed: df > 0`);
  const tail = 0.5 * regularizedBeta(df / (df + t * t), df / 2, 0.5); // P(T > |t|)
  return t >= 0 ? 1 - tail : tail;
}

/** The p-quantile of Student's t with `df` degrees of freedom (0 < p < 1), to about 1e-10. */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new Error(`studentTQuantile: p = ${p}: allowed: 0 < p < 1`);
  if (!(df > 0)) throw new Error(`studentTQuantile: df = ${df}: allowed: df > 0`);
  if (p === 0.5) return 0;
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  let low = 0;
  let high = 1;
  while (studentTCdf(high, df) < p) high *= 2; // the quantile lies in [low, high]
  for (let i = 0; i < 200 && high - low > 1e-12 * Math.max(1, high); i++) {
    const middle = (low + high) / 2;
    if (studentTCdf(middle, df) < p) low = middle;
    else high = middle;
  }
  return (low + high) / 2;
}

export interface Interval {
  n: number;
  mean: number;
  /** Sample standard deviation (n - 1 in the denominator); NaN for n < 2. */
  std: number;
  /** mean ∓ t(1 - α/2, n - 1) · std / √n; NaN for n < 2 (one seed says nothing about spread: no zero-width interval). */
  low: number;
  high: number;
}

/** Mean, sample standard deviation and the two-sided Student-t confidence interval (default 95%). */
export function confidenceInterval(values: readonly number[], level = 0.95): Interval {
  if (!(level > 0 && level < 1)) throw new Error(`confidenceInterval: level = ${level}: allowed: 0 < level < 1`);
  const n = values.length;
  if (n === 0) return { n, mean: NaN, std: NaN, low: NaN, high: NaN };
  const mean = Number(mathMean([...values]));
  if (n === 1) return { n, mean, std: NaN, low: NaN, high: NaN };
  const std = Number(mathStd([...values], 'unbiased'));
  const half = (studentTQuantile(1 - (1 - level) / 2, n - 1) * std) / Math.sqrt(n);
  return { n, mean, std, low: mean - half, high: mean + half };
}

/**
 * A percentile bootstrap 95% interval: `resamples` draws of n indices with replacement (seeded by
 * `stream`, so the interval is the same on every run), the statistic of each, and its 2.5th and 97.5th
 * percentiles. Resamples whose statistic is not finite (a rank correlation of constant values) are left
 * out; [NaN, NaN] when fewer than half remain.
 */
export function bootstrapInterval(n: number, statistic: (indices: number[]) => number, resamples: number, stream: string, level = 0.95): [number, number] {
  const rng = new Random(0, `bootstrap:${stream}`);
  const values: number[] = [];
  for (let r = 0; r < resamples; r++) {
    const pick = Array.from({ length: n }, () => rng.int(n));
    const value = statistic(pick);
    if (Number.isFinite(value)) values.push(value);
  }
  if (values.length < resamples / 2) return [NaN, NaN];
  values.sort((a, b) => a - b);
  const at = (q: number): number => {
    const position = q * (values.length - 1);
    const below = Math.floor(position);
    const above = Math.min(values.length - 1, below + 1);
    return values[below] + (position - below) * (values[above] - values[below]);
  };
  return [at((1 - level) / 2), at(1 - (1 - level) / 2)];
}

/** Ranks from 1, ties sharing their average rank. */
export function averageRanks(values: readonly number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const ranks = new Array<number>(values.length);
  for (let start = 0; start < order.length; ) {
    let end = start;
    while (end + 1 < order.length && order[end + 1][0] === order[start][0]) end++;
    for (let k = start; k <= end; k++) ranks[order[k][1]] = (start + end) / 2 + 1;
    start = end + 1;
  }
  return ranks;
}

/** Spearman's rank correlation (Pearson's on average ranks); NaN when either side is constant or n < 2. */
export function spearman(x: readonly number[], y: readonly number[]): number {
  if (x.length !== y.length) throw new Error(`spearman: ${x.length} x values against ${y.length} y values: allowed: the same number`);
  if (x.length < 2) return NaN;
  const rx = averageRanks(x);
  const ry = averageRanks(y);
  const mean = (xs: number[]): number => xs.reduce((s, v) => s + v, 0) / xs.length;
  const mx = mean(rx);
  const my = mean(ry);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < rx.length; i++) {
    sxy += (rx[i] - mx) * (ry[i] - my);
    sxx += (rx[i] - mx) ** 2;
    syy += (ry[i] - my) ** 2;
  }
  return sxx === 0 || syy === 0 ? NaN : sxy / Math.sqrt(sxx * syy);
}
