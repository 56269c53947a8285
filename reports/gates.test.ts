/**
 * The report's capability gates: a scaling claim only when the largest frozen model's gates pass; plain
 * words when they fail; "not measured" for a run.json made before gates existed; gates read back from
 * run.json as written, bad ones refused naming the field.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { scaleClaim } from './claims.js';
import { FIXTURE_PRESETS, FIXTURE_TASKS, fixtureLoaded, writeFixtureResults } from '../test/report_fixtures.js';
import { gatesHtml, gateVerdict, measuredTasks } from './gates.js';
import { gatePoints, gatesFigure } from './figures/gates.js';
import { loadResults } from './load.js';
import { writeReport } from './report.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'peftscale-gates-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('capability gates in the report', () => {
  it('gates pass on the largest model: the scaling claim gets a verdict from the gaps', () => {
    const results = fixtureLoaded({ gates: 'pass' });
    assert.equal(gateVerdict(results.manifest).state, 'pass');
    assert.notEqual(scaleClaim(results).verdict, 'not stated');
    // Two probes and two zero-shot tasks per model, each for the pretrained model and its control.
    assert.equal(gatePoints(results.manifest).length, FIXTURE_PRESETS.length * (FIXTURE_TASKS.length + 2) * 2);
    assert.notEqual(gatesFigure.plan(results, { number: 10, subtitle: 'sub' }).spec, null);
  });

  it('gates fail on the largest model: no scaling claim, and the report says the models had nothing to unlock', async () => {
    const results = fixtureLoaded({ gates: 'fail' });
    const verdict = gateVerdict(results.manifest);
    assert.equal(verdict.state, 'fail');
    assert.equal(verdict.largest?.preset, FIXTURE_PRESETS[FIXTURE_PRESETS.length - 1]);
    const claim = scaleClaim(results);
    assert.equal(claim.verdict, 'not stated');
    assert.match(claim.measured, /the frozen models had nothing to unlock/);
    assert.match(claim.measured, /colour: probe lookup not above its control/, 'the recorded reasons of the tasks\' own gates are quoted');
    // Without the run's tasks every gate decides, with the run-wide reasons.
    assert.match(gateVerdict(results.manifest).text, /zero-shot colour .* within noise of chance/);
    assert.match(gatesHtml(results.manifest), /fail/);
    // The same words on the written page, and no scaling verdict in the claims table.
    const folder = await writeFixtureResults(path.join(dir, 'fail'), { gates: 'fail' });
    const report = await writeReport(folder, { outDir: path.join(dir, 'fail-out') });
    const html = await readFile(report.htmlPath, 'utf8');
    assert.match(html, /the frozen models had nothing to unlock/);
    assert.match(html, /verdict-not-stated/);
    const claims = await readFile(report.claimsCsvPath, 'utf8');
    assert.match(claims.split('\n').find((line) => line.startsWith('Prompt tuning gets better with scale')) ?? '', /not stated/);
  });

  it('a failing probe of a skill no task asks for does not block the claim, and the verdict says so', () => {
    const results = fixtureLoaded({ gates: 'other-skill-fails' });
    const largest = results.manifest.pretrained[results.manifest.pretrained.length - 1];
    assert.equal(largest.gates?.pass, false, 'the run-wide rule fails');
    assert.equal(gateVerdict(results.manifest).state, 'fail');
    const verdict = gateVerdict(results.manifest, measuredTasks(results.records));
    assert.equal(verdict.state, 'pass');
    assert.match(verdict.text, /decided by probe: lookup/);
    assert.match(verdict.text, /probe versus 50\.0% is within noise of chance .* do not bear on these claims/);
    assert.notEqual(scaleClaim(results).verdict, 'not stated');
    // A task without a per-task gate falls back to the run-wide rule.
    assert.equal(gateVerdict(results.manifest, ['colour', 'no-such-task']).state, 'fail');
  });

  it('an old run.json without gates reads, and the report says "not measured" and states no scaling claim', async () => {
    const folder = await writeFixtureResults(path.join(dir, 'absent'), { gates: 'absent' });
    const results = await loadResults(folder);
    assert.ok(results.manifest.pretrained.every((p) => p.gates === undefined));
    assert.equal(gateVerdict(results.manifest).state, 'not measured');
    assert.match(gatesHtml(results.manifest), /not measured/);
    assert.equal(gatesFigure.plan(results, { number: 10, subtitle: 'sub' }).spec, null);
    assert.equal(scaleClaim(results).verdict, 'not stated');
    const report = await writeReport(folder, { outDir: path.join(dir, 'absent-out') });
    assert.ok(!report.figures.find((f) => f.id === 'gates')?.drawn);
    assert.match(await readFile(report.htmlPath, 'utf8'), /Capability gates: not measured/);
  });

  it('gates round-trip through run.json; a bad gate field is refused naming it', async () => {
    const folder = await writeFixtureResults(path.join(dir, 'pass'), { gates: 'pass' });
    const loaded = await loadResults(folder);
    assert.deepEqual(loaded.manifest.pretrained.map((p) => p.gates), fixtureLoaded({ gates: 'pass' }).manifest.pretrained.map((p) => p.gates));
    const manifest = JSON.parse(await readFile(path.join(folder, 'run.json'), 'utf8')) as { pretrained: { gates: Record<string, unknown> }[] };
    manifest.pretrained[1].gates.pass = 'yes';
    await writeFile(path.join(folder, 'run.json'), JSON.stringify(manifest));
    await assert.rejects(loadResults(folder), /pretrained\[1\]: gates\.pass = "yes": allowed: true or false/);
  });
});
