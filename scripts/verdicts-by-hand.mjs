#!/usr/bin/env node
/**
 * The verdicts of a results folder's hypotheses, computed again from its records alone, without the
 * suite's code (no import from src/ or dist/): an independent check of the report's Findings section.
 *
 *   node scripts/verdicts-by-hand.mjs RESULTS_FOLDER [MORE_FOLDERS...]
 *
 * Reads results.jsonl, hypotheses.json (the recorded statement) and run.json (the gates, for
 * rank-correlation). Student-t intervals use a table of t(0.975, df); a rank correlation prints
 * Spearman's rho, its groups and a percentile bootstrap over groups drawn with this script's own
 * generator (10,000 resamples): it agrees with the report's interval up to resampling noise (about ±0.02),
 * and the verdict is printed with it. A per-seed "bootstrap" statistic is checked with the t interval
 * here (the report's seeded resamples are its own). With several folders it also
 * says, per id, whether the hypothesis holds in every folder (a finding replicates when it holds in both
 * families).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

// t(0.975, df) for df = 1..30 (standard tables).
const T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

function tInterval(xs) {
  const n = xs.length;
  if (n < 2) return { mean: n === 1 ? xs[0] : NaN, low: NaN, high: NaN, n };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
  const half = (T975[n - 2] ?? 1.96) * (sd / Math.sqrt(n));
  return { mean, low: mean - half, high: mean + half, n };
}

const verdict = (i) => (!Number.isFinite(i.low) ? 'inconclusive' : i.low > 0 ? 'holds' : i.high <= 0 ? 'does not hold' : 'inconclusive');
const pts = (x) => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}` : '--');
const show = (i) => `${pts(i.mean)} (${pts(i.low)} to ${pts(i.high)}, n = ${i.n})`;

function matches(r, ref, extra = {}) {
  if (r.config.method !== ref.method) return false;
  return Object.entries({ ...(ref.options ?? {}), ...extra }).every(([k, v]) => r.config.options[k] === v);
}

/** level -> seed -> {acc, chance}: levels are presets, or training-set sizes on `at` (axis train). */
function scores(records, h, ref, task, extra = {}, control = false) {
  const out = new Map();
  for (const r of records) {
    if (r.status !== 'finished' || (r.config.control === true) !== control || r.config.task !== task || !matches(r, ref, extra)) continue;
    if (h.train !== undefined && r.config.data.train !== h.train) continue;
    const level = h.axis === 'train' ? String(r.config.data.train) : r.config.preset;
    if (!out.has(level)) out.set(level, new Map());
    out.get(level).set(r.config.seed, { acc: r.test.accuracy, chance: r.test.majority });
  }
  return out;
}

function order(records, h, levels) {
  const size = new Map(records.map((r) => [r.config.preset, r.parameters.base]));
  const key = (l) => (h.axis === 'train' ? Number(l) : size.get(l) ?? 0);
  return [...levels].sort((a, b) => key(a) - key(b) || String(a).localeCompare(String(b)));
}

function pick(selector, ordered, clears) {
  if (selector === 'smallest') return ordered[0];
  if (selector === 'largest') return ordered[ordered.length - 1];
  if (selector === 'smallest-where-baseline-clears-chance') return ordered.find(clears);
  return ordered.includes(selector) ? selector : undefined;
}

const paired = (a, b) => [...a.keys()].filter((s) => b.has(s)).sort((x, y) => x - y).map((s) => a.get(s) - b.get(s));
const clearsChance = (bySeed) => bySeed !== undefined && bySeed.size >= 2 && tInterval([...bySeed.values()].map((v) => v.acc - v.chance)).low > 0;

function ranks(xs) {
  const sorted = xs.map((x, i) => [x, i]).sort((a, b) => a[0] - b[0]);
  const out = new Array(xs.length);
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1][0] === sorted[i][0]) j++;
    for (let k = i; k <= j; k++) out[sorted[k][1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return out;
}
function pearson(a, b) {
  const ma = a.reduce((s, x) => s + x, 0) / a.length;
  const mb = b.reduce((s, x) => s + x, 0) / b.length;
  let num = 0, da = 0, db = 0;
  for (let i = 0; i < a.length; i++) { num += (a[i] - ma) * (b[i] - mb); da += (a[i] - ma) ** 2; db += (b[i] - mb) ** 2; }
  return num / Math.sqrt(da * db);
}

// A small seeded generator (mulberry32), independent of the suite's: the interval is recomputed, not copied.
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const spearman = (points) => pearson(ranks(points.map((p) => p.margin)), ranks(points.map((p) => p.recovered)));
/** 2.5th and 97.5th percentiles of rho over resampled groups; resamples with constant ranks (rho undefined) are dropped. */
function bootstrapRho(points, resamples = 10000) {
  const random = mulberry32(20261206);
  const rhos = [];
  for (let r = 0; r < resamples; r++) {
    const rho = spearman(points.map(() => points[Math.floor(random() * points.length)]));
    if (Number.isFinite(rho)) rhos.push(rho);
  }
  // As the stated statistic says: no interval when fewer than half the resamples give a rho.
  if (rhos.length < resamples / 2) return { mean: spearman(points), low: NaN, high: NaN, n: points.length };
  rhos.sort((a, b) => a - b);
  const at = (q) => {
    const position = q * (rhos.length - 1); // linear interpolation between order statistics
    const below = Math.floor(position);
    return rhos[below] + (position - below) * (rhos[Math.min(rhos.length - 1, below + 1)] - rhos[below]);
  };
  return { mean: spearman(points), low: at(0.025), high: at(0.975), n: points.length };
}

function evaluate(h, records, pretrained) {
  const methods = [h.method.method, ...(h.baseline === undefined ? [] : [h.baseline.method])];
  const tasks = [...(h.task === undefined ? [] : [h.task]), ...(h.tasks ?? [])];
  const compared = (r) => methods.includes(r.config.method) && tasks.includes(r.config.task);
  if (h.train !== undefined) records = records.filter((r) => r.config.data.train === h.train);
  if (h.axis === 'train') {
    // Only the preset `at` (a name, or a selector over the presets with the compared trials).
    const presets = order(records, {}, new Set(records.filter((r) => compared(r) && r.config.control !== true).map((r) => r.config.preset)));
    const at = pick(h.at, presets, () => false);
    records = records.filter((r) => r.config.preset === at);
  } else {
    const sizes = new Set(records.filter(compared).map((r) => r.config.data.train));
    if (sizes.size > 1) return { i: tInterval([]), text: `trials on ${[...sizes].join(', ')} training examples and no "train": nothing to compare` };
  }
  const levelsOf = (m) => order(records, h, m.keys());
  switch (h.kind) {
    case 'above-chance': {
      const s = scores(records, h, h.method, h.task);
      const at = pick(h.at, levelsOf(s), () => false);
      const i = tInterval([...(s.get(at) ?? new Map()).entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v.acc - v.chance));
      return { i, text: `${at}: accuracy − chance ${show(i)}` };
    }
    case 'above-control': {
      const a = scores(records, h, h.method, h.task);
      const b = scores(records, h, h.method, h.task, {}, true);
      const at = pick(h.at, levelsOf(a).filter((l) => b.has(l)), () => false);
      const acc = (m) => new Map([...(m ?? new Map())].map(([s, v]) => [s, v.acc]));
      const i = tInterval(paired(acc(a.get(at)), acc(b.get(at))));
      return { i, text: `${at}: pretrained − control ${show(i)}` };
    }
    case 'gap-shrinks':
    case 'effect-shrinks': {
      let bySeed;
      let baseline = null;
      if (h.kind === 'gap-shrinks') {
        const m = scores(records, h, h.method, h.task);
        baseline = scores(records, h, h.baseline, h.task);
        bySeed = new Map(
          [...m]
            .filter(([l]) => baseline.has(l))
            .map(([l, seeds]) => [l, new Map([...seeds].filter(([s]) => baseline.get(l).has(s)).map(([s, v]) => [s, baseline.get(l).get(s).acc - v.acc]))])
            .filter(([, gaps]) => gaps.size > 0),
        );
      } else {
        const per = h.values.map((v) => scores(records, h, h.method, h.task, { [h.option]: v }));
        if (h.baseline !== undefined) baseline = scores(records, h, h.baseline, h.task);
        bySeed = new Map();
        for (const [l, seeds] of per[0]) {
          const m = new Map();
          for (const s of seeds.keys()) {
            const xs = per.map((p) => p.get(l)?.get(s)?.acc);
            if (xs.some((x) => x === undefined)) continue;
            m.set(s, h.effect === 'difference' ? xs[0] - xs[1] : Math.max(...xs) - Math.min(...xs));
          }
          if (m.size > 0) bySeed.set(l, m);
        }
      }
      const levels = levelsOf(bySeed);
      const clears = (l) => baseline !== null && clearsChance(baseline.get(l));
      const from = pick(h.from, levels, clears);
      const to = pick(h.to, levels, clears);
      if (from === undefined || to === undefined || from === to) return { i: tInterval([]), text: `from ${from}, to ${to}: nothing to compare` };
      const i = tInterval(paired(bySeed.get(from), bySeed.get(to)));
      const side = (l) => show(tInterval([...bySeed.get(l).values()]));
      return { i, text: `${from} ${side(from)}; ${to} ${side(to)}; difference ${show(i)}` };
    }
    case 'rank-correlation': {
      const points = [];
      for (const task of h.tasks) {
        const m = scores(records, h, h.method, task);
        const b = scores(records, h, h.baseline, task);
        for (const preset of levelsOf(m)) {
          if (!clearsChance(b.get(preset))) continue;
          const gate = pretrained.find((p) => p.preset === preset)?.gates?.zeroShot?.[task];
          if (gate === undefined) continue;
          const mean = (bySeed, f) => [...bySeed.values()].reduce((s, v) => s + f(v), 0) / bySeed.size;
          const chance = mean(b.get(preset), (v) => v.chance);
          points.push({ preset, task, margin: gate.model - gate.chance, recovered: (mean(m.get(preset), (v) => v.acc) - chance) / (mean(b.get(preset), (v) => v.acc) - chance) });
        }
      }
      const i = points.length >= 3 ? bootstrapRho(points) : tInterval([]);
      // Two draws of 10,000 resamples differ by about 0.02 at the ends: a verdict that close to 0 may differ from the report's.
      const near = [i.low, i.high].some((end) => Number.isFinite(end) && Math.abs(end) < 0.03) ? '; an end within resampling noise of 0: the report may differ' : '';
      return { i, text: `Spearman rho ${Number.isFinite(i.mean) ? i.mean.toFixed(2) : '--'} (${Number.isFinite(i.low) ? `${i.low.toFixed(2)} to ${i.high.toFixed(2)}, this script's bootstrap${near}` : 'no interval'}) over ${points.length} groups: ${points.map((p) => `${p.preset} ${p.task} margin ${pts(p.margin)} recovered ${(100 * p.recovered).toFixed(1)}%`).join('; ')}` };
    }
    default:
      return { i: tInterval([]), text: `kind ${h.kind}: not computed here` };
  }
}

const folders = process.argv.slice(2);
if (folders.length === 0) {
  process.stderr.write('usage: node scripts/verdicts-by-hand.mjs RESULTS_FOLDER [MORE_FOLDERS...]\n');
  process.exit(2);
}
const byId = new Map();
for (const folder of folders) {
  const records = readFileSync(path.join(folder, 'results.jsonl'), 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l));
  const statedFile = path.join(folder, 'hypotheses.json');
  if (!existsSync(statedFile)) {
    process.stderr.write(`${folder}: no hypotheses.json (the run recorded no hypotheses before it ran; a report's --hypotheses evaluates them after it)\n`);
    process.exit(2);
  }
  const stated = JSON.parse(readFileSync(statedFile, 'utf8'));
  const pretrained = JSON.parse(readFileSync(path.join(folder, 'run.json'), 'utf8')).pretrained ?? [];
  console.log(`${folder}: ${records.length} records; hypotheses stated ${stated.statedAt} (hash ${stated.hash.slice(0, 12)}…)`);
  for (const h of stated.list) {
    const { i, text } = evaluate(h, records, pretrained);
    console.log(`  ${h.id} [${h.kind}]: ${verdict(i)}: ${text}`);
    if (!byId.has(h.id)) byId.set(h.id, []);
    byId.get(h.id).push(verdict(i));
  }
}
if (folders.length > 1) {
  console.log('across folders (replicates: holds in every folder that states it):');
  for (const [id, list] of byId) console.log(`  ${id}: ${list.join(' / ')}${list.length === folders.length && list.every((v) => v === 'holds') ? ' -> replicates' : ''}`);
}
