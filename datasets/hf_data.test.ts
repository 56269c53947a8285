import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { datasetFingerprint, loadFileTask, type ResolvedDataset } from './file_tasks.js';
import type { Task } from './types.js';
import { examplesBySplit, HF_DATA, loadError, ORIGINAL_DATA, resolvedDataset } from '../test/file_task_fixtures.js';

const ALL = { train: 'all', dev: 'all', test: 'all' } as const;
const dir = mkdtempSync(path.join(tmpdir(), 'peftscale-hf-data-'));
const file = (name: string, text: string): string => {
  writeFileSync(path.join(dir, name), text);
  return path.join(dir, name);
};

test('hf data: RTE as datasets writes it (integer ClassLabel labels) gives the original files\' examples and splits', () => {
  const original = loadFileTask(resolvedDataset('rte', { recipe: 'rte', files: { train: path.join(ORIGINAL_DATA, 'rte-train.jsonl'), dev: path.join(ORIGINAL_DATA, 'rte-val.jsonl') } }));
  const converted = loadFileTask(resolvedDataset('rte', { recipe: 'rte', files: { train: path.join(HF_DATA, 'rte-train.datasets.jsonl'), dev: path.join(HF_DATA, 'rte-val.datasets.jsonl') } }));
  assert.equal(original.splits.train.length + original.splits.dev.length + original.splits.test.length, 56);
  assert.deepEqual(examplesBySplit(converted), examplesBySplit(original));
  // Both classes occur, so the mapping was exercised both ways.
  assert.deepEqual(new Set(converted.splits.test.map((e) => e.label)), new Set([' yes', ' no']));
});

test('hf data: SST-2 as JSONL under the sst2 recipe (TSV by default) is read by content; idx keeps the TSV\'s split', () => {
  const original = loadFileTask(resolvedDataset('sst2', { recipe: 'sst2', files: { dev: path.join(ORIGINAL_DATA, 'sst2-dev.tsv') } }));
  const converted = loadFileTask(resolvedDataset('sst2', { recipe: 'sst2', files: { dev: path.join(HF_DATA, 'sst2-dev.datasets.jsonl') } }));
  assert.deepEqual([converted.splits.train.length, converted.splits.dev.length, converted.splits.test.length], [28, 4, 8]);
  assert.deepEqual(examplesBySplit(converted), examplesBySplit(original));
  // Class names as labels (some conversions write them) map to the recipe's keys 0/1.
  const named = file('sst2-named.jsonl', '{"sentence":"good","label":"positive"}\n{"sentence":"bad","label":"negative"}\n{"sentence":"fine","label":1}\n');
  const task = loadFileTask(resolvedDataset('sst2', { recipe: 'sst2', files: { dev: named }, sizes: ALL, heldOut: { dev: 0.3, test: 0.3 } }));
  const labels = Object.fromEntries([...task.splits.train, ...task.splits.dev, ...task.splits.test].map((e) => [e.fields?.sentence, e.label]));
  assert.deepEqual(labels, { good: ' positive', bad: ' negative', fine: ' positive' });
});

test('hf data: an integer label out of range is refused naming the file, line, field, value and the allowed range', () => {
  const rte = file('rte-bad.jsonl', '{"premise":"a","hypothesis":"b","idx":0,"label":1}\n{"premise":"c","hypothesis":"d","idx":1,"label":2}\n');
  const message = loadError(resolvedDataset('rte', { recipe: 'rte', files: { train: rte } }));
  assert.match(message, /rte-bad\.jsonl:2: field "label" = 2: an integer label is a class index .*allowed: 0 to 1 \(0 entailment, 1 not_entailment\)/);
  assert.doesNotMatch(message, /:1:/, 'the valid row is not reported');
  const cb = file('cb-bad.jsonl', '{"premise":"a","hypothesis":"b","idx":0,"label":-1}\n{"premise":"a","hypothesis":"c","idx":1,"label":2}\n');
  assert.match(loadError(resolvedDataset('cb', { recipe: 'cb', files: { train: cb } })), /cb-bad\.jsonl:1: field "label" = -1: .*allowed: 0 to 2 \(0 entailment, 1 contradiction, 2 neutral\)/);
  const sst2 = file('sst2-bad.tsv', 'sentence\tlabel\ngood\t1\nodd\t3\n');
  assert.match(loadError(resolvedDataset('sst2', { recipe: 'sst2', files: { dev: sst2 } })), /sst2-bad\.tsv:3: field "label" = 3: .*allowed: 0 to 1 \(0 negative, 1 positive\)/);
});

test('hf data: CB integer labels follow ClassLabel order; BoolQ takes 0/1, true/false and the original release\'s `answer`', () => {
  const cb = file('cb.jsonl', [0, 1, 2].map((label) => JSON.stringify({ premise: `p${label}`, hypothesis: 'h', idx: label, label })).join('\n'));
  const cbTask = loadFileTask({ ...resolvedDataset('cb', { recipe: 'cb', files: { train: cb } }), heldOut: { dev: 0.34, test: 0.34 } });
  const cbLabels = Object.fromEntries([...cbTask.splits.train, ...cbTask.splits.dev, ...cbTask.splits.test].map((e) => [e.fields?.premise, e.label]));
  assert.deepEqual(cbLabels, { p0: ' yes', p1: ' no', p2: ' maybe' });
  const rows = [
    { question: 'q0', passage: 'p0', idx: 0, label: 0 },
    { question: 'q1', passage: 'p1', idx: 1, label: 1 },
    { question: 'q2', passage: 'p2', idx: 2, label: true },
    { question: 'q3', title: 't', passage: 'p3', answer: false },
    { question: 'q4', title: 't', passage: 'p4', answer: true },
  ];
  const boolq = file('boolq.jsonl', rows.map((r) => JSON.stringify(r)).join('\n'));
  const task = loadFileTask(resolvedDataset('boolq', { recipe: 'boolq', files: { train: boolq } }));
  const all = [...task.splits.train, ...task.splits.dev, ...task.splits.test];
  assert.equal(all.length, 5);
  assert.deepEqual(Object.fromEntries(all.map((e) => [e.fields?.question, e.label])), { q0: ' no', q1: ' yes', q2: ' yes', q3: ' no', q4: ' yes' });
  // The original release has no idx: its rows are named by line.
  assert.deepEqual(all.filter((e) => e.fields?.question === 'q3').map((e) => e.id), ['boolq:train:line4']);
  // A row with neither field names the recipe's label field.
  const neither = file('boolq-neither.jsonl', '{"question":"q","passage":"p","idx":0}\n');
  assert.match(loadError(resolvedDataset('boolq', { recipe: 'boolq', files: { train: neither } })), /boolq-neither\.jsonl:1: missing or non-scalar field "label"/);
});

test('hf data: a stated format that disagrees with the content is refused naming both; an unstated one is read by content', () => {
  const jsonl = path.join(HF_DATA, 'sst2-dev.datasets.jsonl');
  const stated = loadError(resolvedDataset('sst2', { recipe: 'sst2', format: 'tsv', files: { dev: jsonl } }));
  assert.match(stated, /files\.dev = ".*sst2-dev\.datasets\.jsonl": format "tsv" was stated but the file is JSON lines \(its first line starts with "\{"\); allowed: state format "jsonl", or leave format out/);
  assert.doesNotMatch(stated, /missing/);
  const tsv = path.join(ORIGINAL_DATA, 'sst2-dev.tsv');
  assert.match(loadError(resolvedDataset('sst2', { recipe: 'sst2', format: 'jsonl', files: { dev: tsv } })), /format "jsonl" was stated but the file is TSV \(its first line has a tab\)/);
  const csv = file('rte.csv', 'premise,hypothesis,idx,label\na,b,0,1\nc,d,1,0\ne,f,2,0\n');
  assert.match(loadError(resolvedDataset('rte', { recipe: 'rte', format: 'tsv', files: { train: csv } })), /format "tsv" was stated but the file is CSV \(its first line has a comma\)/);
  // Unstated: the recipe's JSONL default gives way to the CSV content, integer labels included.
  const task = loadFileTask({ ...resolvedDataset('rte', { recipe: 'rte', files: { train: csv } }), heldOut: { dev: 0.34, test: 0.34 } });
  assert.deepEqual(new Set([...task.splits.train, ...task.splits.dev, ...task.splits.test].map((e) => `${e.id}=${e.label}`)), new Set(['rte:train:0= no', 'rte:train:1= yes', 'rte:train:2= yes']));
});

test('hf data: detection and class names stay out of the fingerprint: a stated format equal to the recipe\'s keeps it', () => {
  const tsv = path.join(ORIGINAL_DATA, 'sst2-dev.tsv');
  const plain = resolvedDataset('sst2', { recipe: 'sst2', files: { dev: tsv } });
  const stated = resolvedDataset('sst2', { recipe: 'sst2', format: 'tsv', files: { dev: tsv } });
  assert.equal(plain.loader.formatFromContent, true);
  assert.equal(stated.loader.formatFromContent, undefined);
  const source = (d: ResolvedDataset): NonNullable<Task['source']> => loadFileTask(d).source as NonNullable<Task['source']>;
  assert.equal(datasetFingerprint(plain, source(plain)), datasetFingerprint(stated, source(stated)));
  assert.equal(datasetFingerprint({ ...plain, loader: { ...plain.loader, classLabels: undefined, rowIndexField: undefined } }, source(plain)), datasetFingerprint(plain, source(plain)));
});
