import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { hypothesesHash, type Hypothesis } from '../src/results/hypotheses.js';
import { fixtureManifest, fixtureRecords } from '../test/report_fixtures.js';
import { FIXTURE_HYPOTHESES } from '../test/report_fixture_hypotheses.js';
import { findings, findingsHtml } from './findings.js';

const records = fixtureRecords();
const manifest = fixtureManifest(records);

describe('Findings: where each hypothesis was stated', () => {
  it('recorded before the run and unchanged in the file: stated before the run', () => {
    const rows = findings(records, manifest, { current: { file: 'x.json', list: FIXTURE_HYPOTHESES }, posthoc: null });
    assert.deepEqual(rows.map((r) => [r.result.id, r.provenance]), FIXTURE_HYPOTHESES.map((h) => [h.id, 'stated before the run']));
  });

  it('edited in the file after the run: the recorded version stays, the edit is flagged beside it', () => {
    const edited: Hypothesis[] = FIXTURE_HYPOTHESES.map((h) => (h.id === 'H2' ? { ...h, at: 'ps-nano' } : h));
    const rows = findings(records, manifest, { current: { file: 'x.json', list: edited }, posthoc: null });
    const h2 = rows.filter((r) => r.result.id === 'H2');
    assert.deepEqual(h2.map((r) => r.provenance), ['stated before the run', 'edited after the run']);
    assert.match(h2[0].result.detail, /on ps-mini/);
    assert.match(h2[1].result.detail, /on ps-nano/);
  });

  it('added to the file after the run, or given at report time: never labelled as stated before', () => {
    const extra: Hypothesis = { ...FIXTURE_HYPOTHESES[1], id: 'H9' };
    const rows = findings(records, manifest, { current: { file: 'x.json', list: [...FIXTURE_HYPOTHESES, extra] }, posthoc: { file: 'y.json', list: [{ ...extra, id: 'P1' }] } });
    assert.equal(rows.find((r) => r.result.id === 'H9')?.provenance, 'added after the run');
    assert.equal(rows.find((r) => r.result.id === 'P1')?.provenance, 'stated after the run');
  });

  it('recorded after some of the run\'s trials had finished: not stated before the run', () => {
    const late = { ...manifest, hypotheses: { ...(manifest.hypotheses as NonNullable<typeof manifest.hypotheses>), statedAt: '2999-01-01T00:00:00.000Z' } };
    const rows = findings(records, late, { current: { file: 'x.json', list: FIXTURE_HYPOTHESES }, posthoc: null });
    assert.ok(rows.every((r) => r.provenance === 'recorded after trials had finished'));
    assert.match(rows[0].note, new RegExp(`after ${records.length} of the run's trials had finished`));
  });

  it('the section leads with the verdict counts of the pre-stated ones and links each figure', () => {
    const rows = findings(records, manifest, { current: null, posthoc: null });
    assert.ok(rows.every((r) => r.provenance === 'recorded before the run (file not checked)'));
    const ok = findings(records, manifest, { current: { file: 'x.json', list: FIXTURE_HYPOTHESES }, posthoc: null });
    const html = findingsHtml(ok, new Map([['scaling', 1], ['gap', 2]]));
    const holds = ok.filter((r) => r.result.verdict === 'holds').length;
    assert.match(html, new RegExp(`Of ${ok.length} hypotheses stated before the run, ${holds} hold`));
    assert.match(html, /<a href="#fig-scaling">Figure 1<\/a>/);
    assert.match(html, /margin \(not drawn\)/);
    assert.match(findingsHtml([], new Map()), /states no hypotheses/);
  });

  it('run.json\'s record is its own hash: the fixture\'s record checks', () => {
    assert.equal(manifest.hypotheses?.hash, hypothesesHash(FIXTURE_HYPOTHESES));
  });
});
