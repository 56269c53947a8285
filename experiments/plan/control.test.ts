/**
 * The pretraining-dependence control as a sweep: `"control": true` tunes the never-trained model of each
 * preset; its trials have their own keys and model folder, sit beside the pretrained ones without a
 * collision, and summarise as "<preset> (never trained)", paired with the pretrained rows in the report.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import '../../methods/index.js';
import { CONTROL_SUFFIX, frozenModelName, summarize, type TrialRecord } from '../../src/results/results.js';
import { controlPairs } from '../../reports/control_section.js';
import { fixtureLoaded, fixtureRecords } from '../../test/report_fixtures.js';
import { resolveExperiment } from './spec.js';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('control sweeps', () => {
  it('plan trials on the never-trained model, beside the same methods on the pretrained one', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'peftscale-control-'));
    dirs.push(dir);
    const file = path.join(dir, 'x.json');
    const methods = [{ method: 'prompt-tuning', options: { length: 4 } }, { method: 'full' }];
    writeFileSync(
      file,
      JSON.stringify({ name: 'x', presets: ['ps-nano', 'ps-micro'], tasks: ['infer'], seeds: [0, 1], training: { steps: 4, evalEvery: 2 }, sweeps: [{ name: 'main', figure: 'scaling', methods }, { name: 'ctl', figure: 'control', control: true, methods }] }),
    );
    const experiment = resolveExperiment(file, 'quick');
    assert.equal(experiment.trials.length, 2 * 2 * 2 * 2);
    const control = experiment.trials.filter((t) => t.config.control === true);
    assert.equal(control.length, 8);
    assert.ok(control.every((t) => t.sweeps.join() === 'ctl' && t.config.modelId.startsWith('control-')));
    assert.ok(experiment.trials.filter((t) => t.config.control !== true).every((t) => t.config.modelId.startsWith('pretrained-') && !('control' in t.config)));
    assert.equal(new Set(experiment.trials.map((t) => t.key)).size, experiment.trials.length, 'control trials have their own keys');
  });

  it('summarise as their own frozen model and pair with the pretrained rows', () => {
    const pretrained = fixtureRecords().filter((r) => r.sweeps.includes('scaling') && r.config.preset === 'ps-mini' && r.status === 'finished');
    const control: TrialRecord[] = pretrained.map((r) => ({ ...r, key: `${r.key}-control`, config: { ...r.config, control: true }, test: { ...r.test, accuracy: r.test.majority } }));
    const rows = summarize([...pretrained, ...control], 'full');
    assert.equal(frozenModelName(control[0].config), `ps-mini${CONTROL_SUFFIX}`);
    assert.equal(rows.filter((r) => r.preset === `ps-mini${CONTROL_SUFFIX}`).length, rows.filter((r) => r.preset === 'ps-mini').length);
    const pairs = controlPairs(fixtureLoaded().methods, rows);
    assert.equal(pairs.length, rows.length / 2);
    for (const pair of pairs) {
      assert.equal(pair.preset, 'ps-mini');
      assert.ok(pair.pretrained !== null, `${pair.method} ${pair.task}: pretrained row found`);
      assert.ok(Math.abs(pair.control.mean - pair.control.chance) < 1e-12, 'control rows carry the control scores');
    }
  });
});
