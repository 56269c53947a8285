/**
 * The claims table: numbers come from the results (parameter shares, adapter bytes, paired gaps,
 * bench.json's prompt-tuning rows against the bare model's), verdicts follow them, and what a run did not
 * measure says "not measured" with how to measure it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BenchReport, BenchRow } from '../src/results/bench.js';
import { summarize } from '../src/results/results.js';
import { claimsTable, dataClaim, overheadClaim, parametersClaim, promptTuningOverheads, scaleClaim, storageClaim } from './claims.js';
import { dataSizeFigure } from './figures/data_size.js';
import { fixtureWithDataSize, promptTuningLagsWithFewExamples } from '../test/report_fixture_data_size.js';
import { fixtureBench, fixtureLoaded, fixtureRecords } from '../test/report_fixtures.js';
import type { LoadedResults } from './load.js';

/** The fixture with a bench.json whose rows are the fixture's, edited by `edit`. */
function withBench(edit: (rows: BenchRow[]) => BenchRow[] = (rows) => rows): LoadedResults {
  const report: BenchReport = { ...fixtureBench(), rows: edit(fixtureBench().rows) };
  return { ...fixtureLoaded(), bench: { file: '(test)/bench.json', origin: 'flag', report } };
}

describe('claims table', () => {
  it('lists the five claims in the issues’ order', () => {
    assert.deepEqual(
      claimsTable(fixtureLoaded()).map((c) => c.claim),
      [
        'Prompt tuning trains under 0.1% of the model’s parameters',
        'Per-task storage is kilobytes to megabytes (a prompt, not a copy of the model)',
        'Under 1% inference overhead',
        'Prompt tuning gets better with scale: the gap to full model tuning closes as the model grows',
        'Prompt tuning needs more training data than full model tuning: it lags most with few examples',
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
    assert.match(claim.measured, /not measured in this run: no bench\.json\. Run npm run bench .*peftscale report RESULTS --bench results\/bench\/bench\.json/);
  });

  it('overhead: each preset’s prompt-tuning row against its bare row, inferOverhead as a percentage', () => {
    const rows = promptTuningOverheads(fixtureLoaded(), fixtureBench());
    const bench = fixtureBench().rows;
    assert.deepEqual(
      rows.map((r) => [r.preset, r.percent]),
      bench.filter((r) => r.method === 'prompt-tuning').map((r) => [r.preset, r.inferOverhead * 100]),
    );
    for (const r of rows) assert.equal(r.bareMedianMs, bench.find((b) => b.method === 'bare' && b.preset === r.preset)!.inferMedianMs);
    const claim = overheadClaim(withBench());
    assert.match(claim.measured, /^From bench\.json \(median forward pass of 16 rows × 64 tokens, backend wasm, 20 measured calls\): /);
    assert.match(claim.measured, /ps-nano \(20 virtual tokens\): 5\.24 ms against 4\.00 ms for the frozen model alone, \+31\.0%/);
    assert.match(claim.measured, /ps-mini \(20 virtual tokens\): 11\.3 ms against 10\.0 ms for the frozen model alone, \+13\.0%/);
    assert.match(claim.measured, /Under 1% at 0 of 3 sizes\.$/);
    assert.doesNotMatch(claim.measured, /LoRA|lora|prefix/, 'only prompt tuning');
    assert.equal(claim.verdict, 'does not hold');
  });

  it('overhead: under 1% on every size holds; on some, partly holds', () => {
    const small = (limit: number) => (rows: BenchRow[]) => rows.map((r, i) => (r.method === 'prompt-tuning' && i < limit ? { ...r, inferOverhead: 0.004 } : r));
    assert.equal(overheadClaim(withBench(small(Infinity))).verdict, 'holds');
    assert.match(overheadClaim(withBench(small(Infinity))).measured, /\+0\.40%.*Under 1% at 3 of 3 sizes/);
    assert.equal(overheadClaim(withBench(small(10))).verdict, 'partly holds', 'only ps-nano’s row (among the first 10) is small');
  });

  it('overhead: a preset without a bare row is named and not compared; no prompt-tuning rows is not measured', () => {
    const noNanoBare = overheadClaim(withBench((rows) => rows.filter((r) => !(r.method === 'bare' && r.preset === 'ps-nano'))));
    assert.match(noNanoBare.measured, /Under 1% at 0 of 2 sizes\. No bare-model row for ps-nano: not compared\.$/);
    assert.doesNotMatch(noNanoBare.measured, /ps-nano \(20 virtual tokens\)/);
    const none = overheadClaim(withBench((rows) => rows.filter((r) => r.method !== 'prompt-tuning')));
    assert.equal(none.verdict, 'not measured');
    assert.match(none.measured, /bench\.json has no prompt-tuning rows \(its methods: full, prompt-tuning/);
    const noBare = overheadClaim(withBench((rows) => rows.filter((r) => r.method !== 'bare')));
    assert.equal(noBare.verdict, 'not measured', 'nothing to compare with');
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
    const claim = scaleClaim({ ...results, records: tight, summary: summarize(tight, 'full') });
    assert.equal(claim.verdict, 'holds', claim.measured);
  });

  it('scale says where the baseline itself stayed at chance (the gap there is bounded by it)', () => {
    // One task, three seeds: full tuning at chance on ps-nano (majority 0.5), well above it on ps-mini.
    const results = fixtureLoaded();
    const task = results.records[0].config.task;
    const records = results.records
      .filter((r) => r.config.task === task && (r.config.method === 'prompt-tuning' || r.config.method === 'full') && r.sweeps.includes('scaling'))
      .flatMap((r) => [0, 1, 2].map((seed) => ({ ...r, key: `${r.key}-${seed}`, config: { ...r.config, seed } })))
      .map((r) => {
        const nano = r.config.preset === 'ps-nano';
        const accuracy = (r.config.method === 'full' ? (nano ? 0.5 : 0.9) : nano ? 0.49 : 0.85) + r.config.seed * 0.01;
        return { ...r, test: { ...r.test, accuracy, majority: 0.5 } };
      });
    const claim = scaleClaim({ ...results, records, summary: summarize(records, 'full') });
    assert.match(claim.measured, /On ps-nano .* itself is not clear of chance \(51\.0%, 95% interval from [\d.]+%; chance 50\.0%\)/, claim.measured);
    assert.doesNotMatch(claim.measured, /On ps-mini .* not clear of chance/);
  });

  it('scale is not measured without two sizes', () => {
    const results = fixtureLoaded();
    const records = results.records.filter((r) => r.config.preset === 'ps-nano');
    const claim = scaleClaim({ ...results, records, summary: summarize(records, 'full') });
    assert.equal(claim.verdict, 'not measured');
  });

  it('data: the paired gap per size on the largest model, and the change from the fewest to the most examples paired by seed (D1\'s statistic)', () => {
    // Gaps per seed at 32: −30, −31, −32 pp; at 512: −2, −3.2, −4.4 pp; change per seed +28, +27.8, +27.6:
    // mean +27.8, s 0.2, t(0.975, 2) = 4.3027 → half-width 0.50 → [+27.3, +28.3].
    const claim = dataClaim(fixtureWithDataSize(promptTuningLagsWithFewExamples));
    assert.equal(claim.verdict, 'holds', claim.measured);
    assert.match(claim.measured, /minus full model tuning on ps-mini, .*: 32 examples −31\.0 pp \[−33\.5 pp, −28\.5 pp\] \(n = 3\) and 512 examples −3\.2 pp \[.*\] \(n = 3\)\. Change from 32 to 512 examples, per seed: \+27\.8 pp \[\+27\.3 pp, \+28\.3 pp\] \(n = 3\)\./);
    // Reversed (prompt tuning closer with few examples): does not hold; no data sweep: not measured.
    const reversed = (method: string, train: number, seed: number): number => promptTuningLagsWithFewExamples(method, train === 32 ? 512 : 32, seed);
    assert.equal(dataClaim(fixtureWithDataSize(reversed)).verdict, 'does not hold');
    assert.equal(dataClaim(fixtureLoaded()).verdict, 'not measured');
  });

  it('the data-size figure: a point per method and size on the largest model, with the run’s summary rows per size', () => {
    const results = fixtureWithDataSize(promptTuningLagsWithFewExamples);
    const plan = dataSizeFigure.plan(results, { number: 13, subtitle: 's' });
    assert.notEqual(plan.spec, null);
    const rows = plan.rows as { method: string; trainExamples: number; accuracy: number; n: number; preset: string }[];
    assert.deepEqual(rows.map((r) => `${r.method}@${r.trainExamples}`).sort(), ['full@32', 'full@512', 'prompt-tuning@32', 'prompt-tuning@512']);
    assert.ok(rows.every((r) => r.preset === 'ps-mini' && r.n === 3));
    assert.ok(Math.abs(rows.find((r) => r.method === 'prompt-tuning' && r.trainExamples === 32)!.accuracy - 59) < 1e-9);
    assert.equal(dataSizeFigure.plan(fixtureLoaded(), { number: 13, subtitle: 's' }).spec, null);
  });
});
