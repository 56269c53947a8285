import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { experimentPath, resolveExperiment } from './spec.js';

/** An experiment that includes the shipped replication and adds `hypotheses`; returns the error text or ''. */
function problemsWith(hypotheses: unknown[]): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'hyp-check-'));
  const file = path.join(dir, 'x.json');
  writeFileSync(file, JSON.stringify({ include: [experimentPath('replication')], name: 'x', hypotheses }));
  try {
    resolveExperiment(file, 'scaling');
    return '';
  } catch (error) {
    return (error as Error).message;
  }
}

const PT = { method: 'prompt-tuning', options: { length: 20, init: 'class-label' } };

describe('hypotheses in an experiment file', () => {
  it('the shipped replication states H1-H5; family B inherits H1-H4 only', () => {
    assert.deepEqual(resolveExperiment(experimentPath('replication'), 'scaling').hypotheses.map((h) => h.id), ['H1', 'H2', 'H3', 'H4', 'H5']);
    assert.deepEqual(resolveExperiment(experimentPath('replication-b'), 'scaling').hypotheses.map((h) => h.id), ['H1', 'H2', 'H3', 'H4']);
  });

  it('a malformed hypothesis is refused before any work, field by field', () => {
    assert.match(problemsWith([{ id: 'H9', kind: 'nope' }]), /hypotheses\[0\]\.kind = "nope": allowed: "above-chance", "above-control", "gap-shrinks", "effect-shrinks", "rank-correlation"/);
    const text = problemsWith([{ id: 'H9', statement: 's', kind: 'gap-shrinks', statistic: 'bootstrap', method: PT, task: 'lookup-d2', from: 'ps-nano', to: 'largest' }]);
    assert.match(text, /kind "gap-shrinks" needs the field "baseline"/);
    assert.match(text, /from: unknown size "ps-nano"/);
    assert.match(problemsWith([{ id: 'H9', statement: 's', kind: 'rank-correlation', statistic: 't', method: PT, baseline: { method: 'full' }, tasks: ['lookup-d2'] }]), /statistic = "t": allowed for kind "rank-correlation": bootstrap/);
  });

  it('a hypothesis must pick exactly one planned option set', () => {
    assert.match(problemsWith([{ id: 'H9', statement: 's', kind: 'above-chance', statistic: 't', method: { method: 'prompt-tuning' }, task: 'lookup-d2', at: 'largest' }]), /picks 4 option sets .*name the options that tell them apart/);
    assert.match(problemsWith([{ id: 'H9', statement: 's', kind: 'above-chance', statistic: 't', method: { method: 'lora' }, task: 'lookup-d2', at: 'largest' }]), /lora \{\} on lookup-d2 picks no planned trial/);
    const twice = { id: 'H9', statement: 'twice', kind: 'above-chance', statistic: 't', method: PT, task: 'lookup-d2', at: 'largest' };
    assert.match(problemsWith([twice, { ...twice, at: 'smallest' }]), /hypotheses\[6\] \("H9"\)\.id: "H9" is used twice/);
  });
});
