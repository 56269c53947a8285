/**
 * The claims table: numbers come from the results (parameter shares, adapter bytes, paired gaps,
 * bench.json's overhead with its declared unit), verdicts follow them, and what a run did not measure
 * says "not measured" with how to measure it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { summarize } from '../src/results.js';
import { claimsTable, findOverheadFields, overheadClaim, parametersClaim, scaleClaim, storageClaim } from './claims.js';
import { fixtureBench, fixtureLoaded, fixtureRecords } from './fixtures.js';
import type { LoadedResults } from './load.js';

function withBench(raw: Record<string, unknown>): LoadedResults {
  return { ...fixtureLoaded(), bench: { rows: Array.isArray(raw.rows) ? (raw.rows as Record<string, unknown>[]) : [], raw } };
}

describe('claims table', () => {
  it('lists the four claims in the issue’s order', () => {
    assert.deepEqual(
      claimsTable(fixtureLoaded()).map((c) => c.claim),
      [
        'Prompt tuning trains under 0.1% of the model’s parameters',
        'Per-task storage is kilobytes to megabytes (a prompt, not a copy of the model)',
        'Under 1% inference overhead',
        'Prompt tuning gets better with scale: the gap to full model tuning closes as the model grows',
      ],
    );
  });

  it('parameter share: the recorded percentages per size; tiny models train more than 0.1%', () => {
    const claim = parametersClaim(fixtureLoaded());
    const nano = fixtureRecords().find((r) => r.config.method === 'prompt-tuning' && r.config.preset === 'ps-nano' && r.sweeps.includes('scaling'))!;
    assert.match(claim.measured, new RegExp(`ps-nano \\(41,984 parameters, 20 tokens\\): 640 trained = ${Number(nano.parameters.percent.toPrecision(3))}%`));
    assert.match(claim.measured, /Under 0\.1% at 0 of 3 sizes/);
    assert.equal(claim.verdict, 'does not hold');
  });

  it('parameter share holds where the records say under 0.1%', () => {
    const results = fixtureLoaded();
    const records = results.records.map((r) => (r.config.method === 'prompt-tuning' ? { ...r, parameters: { ...r.parameters, percent: 0.0123 } } : r));
    assert.equal(parametersClaim({ ...results, records }).verdict, 'holds');
  });

  it('storage: the saved prompt’s bytes beside full model tuning’s', () => {
    const claim = storageClaim(fixtureLoaded());
    assert.match(claim.measured, /ps-nano: 2\.56 kB \(full model tuning: 168 kB per task, 66× more\)/);
    assert.equal(claim.verdict, 'holds');
  });

  it('overhead: not measured without bench.json, and says how to measure it', () => {
    const claim = overheadClaim(fixtureLoaded());
    assert.equal(claim.verdict, 'not measured');
    assert.match(claim.measured, /not measured in this run: run npm run bench/);
  });

  it('overhead: read from bench.json’s prompt-tuning rows, as a percentage via the declared unit (fraction)', () => {
    const fields = findOverheadFields({ rows: [], raw: fixtureBench() });
    assert.equal(fields.length, 9, 'bare, prompt tuning and LoRA rows on three presets');
    const claim = overheadClaim(withBench(fixtureBench()));
    assert.match(claim.measured, /preset=ps-nano, method=prompt-tuning: inferOverhead = 0\.31 \(31%\)/);
    assert.doesNotMatch(claim.measured, /method=bare|method=lora/);
    assert.equal(claim.verdict, 'does not hold');
  });

  it('overhead: under 1% holds; a value without a unit is inconclusive; no overhead field is not measured', () => {
    assert.equal(overheadClaim(withBench({ rows: [{ method: 'prompt-tuning', overheadPercent: 0.4 }] })).verdict, 'holds');
    const unitless = overheadClaim(withBench({ rows: [{ method: 'prompt-tuning', overhead: 0.004 }] }));
    assert.equal(unitless.verdict, 'inconclusive');
    assert.match(unitless.measured, /overhead = 0\.004 \(unit not stated\)/);
    const none = overheadClaim(withBench({ rows: [{ method: 'prompt-tuning', latencyMs: 3 }] }));
    assert.equal(none.verdict, 'not measured');
    assert.match(none.measured, /bench\.json has no inference-overhead field/);
  });

  it('scale: paired gaps at each size on the task average, the trend, and a verdict from the intervals', () => {
    const claim = scaleClaim(fixtureLoaded());
    assert.match(claim.measured, /average over tasks/);
    assert.match(claim.measured, /ps-nano −\d+\.\d pp \[.*\] \(n = 2\)/);
    assert.match(claim.measured, /The mean gap narrows from −\d+\.\d pp on ps-nano to −\d+\.\d pp on ps-mini/);
    assert.equal(claim.verdict, 'inconclusive', 'two seeds give intervals too wide to separate');
  });

  it('scale holds when the intervals at the two ends separate', () => {
    // Four seeds with tight noise: copy each trial to seeds 2 and 3, nudging scores by ±0.5 points.
    const results = fixtureLoaded();
    const records = results.records.flatMap((r) =>
      [0, 1].map((copy) => ({ ...r, key: `${r.key}-${copy}`, config: { ...r.config, seed: r.config.seed * 2 + copy }, test: { ...r.test, accuracy: r.test.accuracy + (copy === 0 ? 0.005 : -0.005) } })),
    );
    const tight = records.map((r) => {
      if (r.config.method !== 'prompt-tuning' && r.config.method !== 'full') return r;
      const base = r.config.method === 'full' ? 0.7 : r.config.preset === 'ps-nano' ? 0.5 : r.config.preset === 'ps-micro' ? 0.6 : 0.68;
      return { ...r, test: { ...r.test, accuracy: base + (r.config.seed % 2 === 0 ? 0.002 : -0.002) + r.config.seed * 0.0005 } };
    });
    const claim = scaleClaim({ ...results, records: tight, summary: summarize(tight) });
    assert.equal(claim.verdict, 'holds', claim.measured);
  });

  it('scale is not measured without two sizes', () => {
    const results = fixtureLoaded();
    const records = results.records.filter((r) => r.config.preset === 'ps-nano');
    const claim = scaleClaim({ ...results, records, summary: summarize(records) });
    assert.equal(claim.verdict, 'not measured');
  });
});
