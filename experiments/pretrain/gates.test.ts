import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend } from '../../src/model/backend.js';
import { saveCheckpoint } from '../../src/io/checkpoint.js';
import { findPreset } from '../../src/model/config.js';
import { GPT2 } from '../../src/model/model.js';
import type { GateScore } from '../../src/results/results.js';
import { ByteTokenizer } from '../../src/io/tokenizer.js';
import { TASK_NAMES } from '../../datasets/tasks.js';
import { computeGates, decide, decidingIndex, ensureGates, GATE_PROBES, GATES_FILE, readGates, skillOfTask } from './gates.js';
import { wilsonInterval } from '../../src/results/gate_rule.js';

const corpus = { seed: 2, worldSize: 40, townCount: 4 };
const tempDirs: string[] = [];
let model: GPT2;
let control: GPT2;

before(async () => {
  await initBackend('wasm');
  const config = findPreset('ps-nano').config;
  model = GPT2.initialize(config, 1);
  control = GPT2.initialize(config, 2);
});
after(() => {
  model.dispose();
  control.dispose();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

test('gates: on a tiny model every task and probe is measured on the model and the control, values in range', () => {
  const gates = computeGates(model, control, corpus, { examples: 6 });
  assert.deepEqual(Object.keys(gates.zeroShot), [...TASK_NAMES]);
  assert.deepEqual(Object.keys(gates.probes), [...GATE_PROBES]);
  for (const [name, s] of [...Object.entries(gates.zeroShot), ...Object.entries(gates.probes)]) {
    assert.ok(s.n >= 1 && s.n <= 6, `${name}: n ${s.n}`);
    for (const v of [s.model, s.control]) assert.ok(v >= 0 && v <= 1 && Number.isInteger(Math.round(v * s.n * 1e6) / 1e6), `${name}: ${v}`);
    assert.ok(s.chance > 0 && s.chance < 1, `${name}: chance ${s.chance}`);
  }
  assert.equal(gates.zeroShot['lookup-d0'].chance, 1 / 6);
  assert.equal(gates.zeroShot['versus-d4'].chance, 1 / 2);
  assert.equal(gates.probes.facts.chance, 1 / 4);
  for (const [name, loss] of Object.entries(gates.labelLoss)) {
    for (const split of [loss.model, loss.control]) assert.ok(Number.isFinite(split.deciding) && split.deciding > 0 && split.spelling > 0, name);
  }
  // Two different untrained models: the control is really measured, not copied.
  assert.notDeepEqual(Object.values(gates.labelLoss).map((l) => l.model.deciding), Object.values(gates.labelLoss).map((l) => l.control.deciding));
  // An untrained model has no skill: the gates fail, each failing probe with its reason.
  assert.equal(gates.pass, false);
  assert.ok(gates.reasons.length >= 3 && gates.reasons.every((r) => /^probe (lookup|versus|recall): /.test(r)), gates.reasons.join('\n'));
  assert.equal(gates.tasks?.['lookup-d3'].gate, 'probe lookup');
  assert.equal(gates.tasks?.verify.gate, 'zero-shot');
});

const score = (model: number, control: number, chance: number, n = 96): GateScore => ({ model, control, chance, n });

test('gates: the pass rule both ways (clear of chance and of the control, by 95% intervals)', () => {
  const strong = { lookup: score(0.8, 0.17, 1 / 6), versus: score(0.75, 0.5, 0.5), recall: score(0.5, 0.15, 1 / 6), facts: score(0.2, 0.13, 1 / 8) };
  const zeroShot = { 'lookup-d4': score(0.18, 0.17, 1 / 6), verify: score(0.55, 0.5, 0.5) };
  const labelLoss = {};
  const passing = decide(zeroShot, labelLoss, strong);
  assert.equal(passing.pass, true, passing.reasons.join('\n'));
  assert.deepEqual(passing.reasons, []);
  // A skill task passes on its skill's probe even when its own zero-shot score is at chance (far template).
  assert.equal(passing.tasks?.['lookup-d4'].pass, true);
  assert.equal(passing.tasks?.verify.pass, false);
  const nearChance = decide(zeroShot, labelLoss, { ...strong, recall: score(0.22, 0.15, 1 / 6) });
  assert.equal(nearChance.pass, false);
  assert.match(nearChance.reasons.join('\n'), /probe recall: 22\.0% .* not clear of chance 16\.7%/);
  const likeControl = decide(zeroShot, labelLoss, { ...strong, versus: score(0.75, 0.7, 0.5) });
  assert.equal(likeControl.pass, false);
  assert.match(likeControl.reasons.join('\n'), /probe versus: .* not clear of the control's 70\.0%/);
  assert.equal(decide(zeroShot, labelLoss, { lookup: strong.lookup }).pass, false, 'a missing probe fails');
});

test('gates: Wilson intervals, deciding tokens and skill names', () => {
  const [low, high] = wilsonInterval(50, 100);
  assert.ok(Math.abs(low - 0.4038) < 1e-3 && Math.abs(high - 0.5962) < 1e-3, `${low} ${high}`);
  assert.deepEqual(wilsonInterval(0, 0), [0, 1]);
  const t = new ByteTokenizer();
  const labels = [' more', ' fewer', ' moral'].map((l) => t.encode(l));
  assert.equal(decidingIndex(labels, 1), 1); // " f" after the shared space
  assert.equal(decidingIndex(labels, 0), 4); // " mor" shared with " moral": "e" decides
  assert.equal(skillOfTask('recall-d2'), 'recall');
  assert.equal(skillOfTask('infer'), null);
});

test('gates: stored beside the model, reused, recomputed when missing', async () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'peftscale-gates-'));
  tempDirs.push(root);
  const dir = path.join(root, 'pretrained');
  const controlDir = path.join(root, 'control');
  await saveCheckpoint(dir, model, {});
  await saveCheckpoint(controlDir, control, {});
  assert.equal(await readGates(dir, 4), null);
  const first = await ensureGates({ dir, controlDir, corpus, examples: 4 });
  const written = statSync(path.join(dir, GATES_FILE)).mtimeMs;
  const again = await ensureGates({ dir, controlDir, corpus, examples: 4 });
  assert.deepEqual(again, first);
  assert.equal(statSync(path.join(dir, GATES_FILE)).mtimeMs, written, 'reused, not rewritten');
  assert.equal(await readGates(dir, 5), null, 'another example count is recomputed');
  rmSync(path.join(dir, GATES_FILE));
  assert.deepEqual(await ensureGates({ dir, controlDir, corpus, examples: 4 }), first, 'recomputed when missing, deterministically');
});
