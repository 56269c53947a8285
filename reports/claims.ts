/**
 * The claims table: what is commonly claimed for prompt tuning, each beside what this run measured and
 * a verdict. Every measured number comes from the results files; a claim the files cannot speak to says
 * "not measured" and how to measure it.
 */
import type { TrialRecord } from '../src/results.js';
import { formatBytes, formatCount, formatPercent, formatPoints, listText } from './format.js';
import { gapPoints, recordsFor, type GapPoint } from './figure_data.js';
import { isPlainObject } from './check.js';
import type { BenchFile, LoadedResults } from './load.js';
import { CLAIM_SOURCES } from './references.js';
import { AVERAGE_PANEL } from './series.js';

export type Verdict = 'holds' | 'partly holds' | 'does not hold' | 'inconclusive' | 'not measured';

export interface Claim {
  claim: string;
  published: string;
  measured: string;
  verdict: Verdict;
}

const METHOD = 'prompt-tuning';

function verdictOf(passed: number, total: number): Verdict {
  if (total === 0) return 'not measured';
  if (passed === total) return 'holds';
  return passed === 0 ? 'does not hold' : 'partly holds';
}

/** One prompt-tuning record per preset (and options variant) of the scaling sweep, else of the whole run. */
function promptTuningBySize(results: LoadedResults): TrialRecord[] {
  const scaling = recordsFor(results, 'scaling').records.filter((r) => r.config.method === METHOD);
  const pool = scaling.length > 0 ? scaling : results.records.filter((r) => r.config.method === METHOD);
  const seen = new Map<string, TrialRecord>();
  for (const r of pool) if (!seen.has(r.config.preset)) seen.set(r.config.preset, r);
  return [...seen.values()].sort((a, b) => a.parameters.base - b.parameters.base);
}

function describeSetting(r: TrialRecord): string {
  const length = r.config.options.length;
  return typeof length === 'number' ? `${length} tokens` : 'prompt tuning';
}

export function parametersClaim(results: LoadedResults): Claim {
  const records = promptTuningBySize(results);
  const measured = records.map((r) => `${r.config.preset} (${formatCount(r.parameters.base)} parameters, ${describeSetting(r)}): ${formatCount(r.parameters.trainable)} trained = ${formatPercent(r.parameters.percent)}`);
  const passed = records.filter((r) => r.parameters.percent < 0.1).length;
  return {
    claim: 'Prompt tuning trains under 0.1% of the model’s parameters',
    published: CLAIM_SOURCES.parameters,
    measured: records.length === 0 ? 'not measured in this run: no prompt-tuning trials' : `${measured.join('; ')}. Under 0.1% at ${passed} of ${records.length} sizes.`,
    verdict: verdictOf(passed, records.length),
  };
}

export function storageClaim(results: LoadedResults): Claim {
  const records = promptTuningBySize(results);
  const fullBytes = new Map(results.records.filter((r) => r.config.method === 'full').map((r) => [r.config.preset, r.parameters.adapterBytes]));
  const measured = records.map((r) => {
    const full = fullBytes.get(r.config.preset);
    const compare = full === undefined ? '' : ` (full model tuning: ${formatBytes(full)} per task, ${formatCount(full / r.parameters.adapterBytes)}× more)`;
    return `${r.config.preset}: ${formatBytes(r.parameters.adapterBytes)}${compare}`;
  });
  const passed = records.filter((r) => r.parameters.adapterBytes > 0 && r.parameters.adapterBytes < 1e9).length;
  const small = records.filter((r) => r.parameters.adapterBytes < 1e3).length;
  return {
    claim: 'Per-task storage is kilobytes to megabytes (a prompt, not a copy of the model)',
    published: CLAIM_SOURCES.storage,
    measured:
      records.length === 0
        ? 'not measured in this run: no prompt-tuning trials'
        : `Saved prompt per task (float32): ${measured.join('; ')}.${small > 0 ? ` ${small} of ${records.length} are under a kilobyte: the models here are small.` : ''}`,
    verdict: verdictOf(passed, records.length),
  };
}

/** A numeric field of bench.json whose name mentions overhead, with the row's identifying text fields. */
export interface OverheadField {
  path: string;
  key: string;
  value: number;
  /** The row's text fields ("preset=ps-nano, method=prompt-tuning"). */
  context: string;
  /** The row's `method` field, when it has one. */
  method: string | null;
  /** The value as a percentage when its unit is known (bench.json's `columns[].unit`, else the field name), else null. */
  percent: number | null;
}

/** Units bench.json declares for its columns (`columns: [{key, unit}]`), when it does. */
function declaredUnits(raw: Record<string, unknown>): Map<string, string> {
  const units = new Map<string, string>();
  if (Array.isArray(raw.columns)) {
    for (const column of raw.columns) if (isPlainObject(column) && typeof column.key === 'string' && typeof column.unit === 'string') units.set(column.key, column.unit);
  }
  return units;
}

/** A value as a percentage from its unit ("fraction", "ratio", "%", "percent") or, failing that, its field name. */
function asPercent(key: string, unit: string | undefined, value: number): number | null {
  const text = unit ?? key;
  if (/^(%|percent|pct)$/i.test(text) || (unit === undefined && /percent|pct/i.test(key))) return value;
  if (/^(fraction|ratio)$/i.test(text) || (unit === undefined && /ratio|fraction/i.test(key))) return value * 100;
  return null;
}

/** Finds inference-overhead fields in bench.json (any numeric field named *overhead*, up to 4 levels deep). */
export function findOverheadFields(bench: BenchFile): OverheadField[] {
  const units = declaredUnits(bench.raw);
  const found: OverheadField[] = [];
  const walk = (value: unknown, path: string, depth: number): void => {
    if (depth > 4) return;
    if (Array.isArray(value)) {
      value.forEach((item, i) => walk(item, `${path}[${i}]`, depth + 1));
      return;
    }
    if (!isPlainObject(value)) return;
    const context = Object.entries(value)
      .filter(([, v]) => typeof v === 'string' && v !== '')
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(', ');
    for (const [key, item] of Object.entries(value)) {
      const at = path === '' ? key : `${path}.${key}`;
      if (typeof item === 'number' && /overhead/i.test(key)) {
        found.push({ path: at, key, value: item, context, method: typeof value.method === 'string' ? value.method : null, percent: asPercent(key, units.get(key), item) });
      } else if (key !== 'columns') {
        walk(item, at, depth + 1);
      }
    }
  };
  walk(bench.raw, '', 0);
  return found;
}

export function overheadClaim(results: LoadedResults): Claim {
  const base = { claim: 'Under 1% inference overhead', published: CLAIM_SOURCES.overhead };
  if (results.bench === null) return { ...base, measured: 'not measured in this run: run npm run bench (bench.json is absent)', verdict: 'not measured' };
  const all = findOverheadFields(results.bench);
  // The claim is about prompt tuning: its rows when bench.json labels rows by method, else every field found.
  const fields = all.some((f) => f.method === METHOD) ? all.filter((f) => f.method === METHOD) : all.filter((f) => f.method === null);
  if (fields.length === 0) return { ...base, measured: `not measured in this run: bench.json has no inference-overhead field${all.length > 0 ? ' for prompt tuning' : ''}`, verdict: 'not measured' };
  const measured = fields.map((f) => `${f.context === '' ? f.path : f.context}: ${f.key} = ${f.value}${f.percent === null ? ' (unit not stated)' : ` (${formatPercent(f.percent)})`}`);
  const withUnit = fields.filter((f) => f.percent !== null);
  const verdict = withUnit.length < fields.length ? 'inconclusive' : verdictOf(withUnit.filter((f) => f.percent! < 1).length, withUnit.length);
  return { ...base, measured: `From bench.json: ${measured.join('; ')}.`, verdict };
}

/** The prompt-tuning gap points of one panel (the task average when there is one), smallest model first. */
function promptTuningGaps(results: LoadedResults): GapPoint[] {
  const points = gapPoints(results).points.filter((p) => p.method === METHOD);
  const panels = [...new Set(points.map((p) => p.panel))];
  const panel = panels.includes(AVERAGE_PANEL) ? AVERAGE_PANEL : panels.sort()[0];
  const series = [...new Set(points.map((p) => p.series))].sort()[0];
  return points.filter((p) => p.panel === panel && p.series === series).sort((a, b) => a.parameters - b.parameters);
}

export function scaleClaim(results: LoadedResults): Claim {
  const base = { claim: 'Prompt tuning gets better with scale: the gap to full model tuning closes as the model grows', published: CLAIM_SOURCES.scale };
  const gaps = promptTuningGaps(results);
  if (gaps.length < 2) return { ...base, measured: 'not measured in this run: needs prompt tuning and full model tuning on at least two model sizes (a sweep with figure "scaling")', verdict: 'not measured' };
  const text = (g: GapPoint): string => `${g.preset} ${formatPoints(g.gap)}${g.low === null || g.high === null ? ` (n = ${g.n})` : ` [${formatPoints(g.low)}, ${formatPoints(g.high)}] (n = ${g.n})`}`;
  const small = gaps[0];
  const large = gaps[gaps.length - 1];
  let verdict: Verdict;
  if (small.low === null || small.high === null || large.low === null || large.high === null) verdict = 'inconclusive';
  else if (large.low > small.high) verdict = 'holds';
  else if (large.high < small.low) verdict = 'does not hold';
  else verdict = 'inconclusive';
  const why = verdict === 'inconclusive' ? (small.low === null || large.low === null ? ' Inconclusive: fewer than two paired seeds at an end.' : ' Inconclusive: the 95% intervals at the two ends overlap.') : '';
  const trend = large.gap > small.gap ? 'narrows' : large.gap < small.gap ? 'widens' : 'stays the same';
  return {
    ...base,
    measured:
      `Prompt tuning minus full model tuning (${gaps[0].panel}, mean over seeds paired by seed, 95% interval): ${listText(gaps.map(text))}. ` +
      `The mean gap ${trend} from ${formatPoints(small.gap)} on ${small.preset} to ${formatPoints(large.gap)} on ${large.preset}.${why}`,
    verdict,
  };
}

/** The four claims, in the order the issue lists them. */
export function claimsTable(results: LoadedResults): Claim[] {
  return [parametersClaim(results), storageClaim(results), overheadClaim(results), scaleClaim(results)];
}
