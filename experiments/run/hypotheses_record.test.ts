import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { Hypothesis } from '../../src/results/hypotheses.js';
import { readHypothesesRecord, recordHypotheses } from './hypotheses_record.js';

const H: Hypothesis = { id: 'H1', statement: 's', kind: 'above-chance', statistic: 't', method: { method: 'prompt-tuning' }, task: 't', at: 'largest' };

describe('hypotheses.json', () => {
  it('records once, keeps the first record when the file changes later, and warns', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hyp-'));
    const warnings: string[] = [];
    const first = await recordHypotheses(dir, '/nowhere/x.json', [H], null, (m) => warnings.push(m));
    assert.ok(first !== null && first.git.commit === null);
    const again = await recordHypotheses(dir, '/nowhere/x.json', [{ ...H, at: 'smallest' }], null, (m) => warnings.push(m));
    assert.deepEqual(again, first);
    assert.match(warnings[0], /differ from those recorded at .*the report flags the edited ones/);
    assert.deepEqual(readHypothesesRecord(dir), first);
  });

  it('a resumed run takes the record of the folder it imports from; no hypotheses, no file', async () => {
    const from = mkdtempSync(path.join(tmpdir(), 'hyp-from-'));
    const stated = await recordHypotheses(from, '/nowhere/x.json', [H], null, () => {});
    const to = mkdtempSync(path.join(tmpdir(), 'hyp-to-'));
    assert.deepEqual(await recordHypotheses(to, '/nowhere/x.json', [H], from, () => {}), stated);
    const none = mkdtempSync(path.join(tmpdir(), 'hyp-none-'));
    assert.equal(await recordHypotheses(none, '/nowhere/x.json', [], null, () => {}), null);
    assert.equal(readHypothesesRecord(none), null);
  });

  it('a record whose list was edited is refused: it no longer matches its hash', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'hyp-edit-'));
    await recordHypotheses(dir, '/nowhere/x.json', [H], null, () => {});
    const file = path.join(dir, 'hypotheses.json');
    writeFileSync(file, readFileSync(file, 'utf8').replace('"largest"', '"smallest"'));
    assert.throws(() => readHypothesesRecord(dir), /does not match its hash .*restore it from version control/);
  });
});
