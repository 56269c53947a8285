import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatasetLoadError, loadTask, parseCsv, validateLoaderConfig, type LoaderConfig } from './loaders.js';

const dir = mkdtempSync(join(tmpdir(), 'peftscale-loaders-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const boolq = (train: string, dev?: string): LoaderConfig => ({
  name: 'boolq',
  format: 'jsonl',
  files: dev === undefined ? { train } : { train, dev },
  textFields: ['passage', 'question'],
  labelField: 'label',
  idField: 'idx',
  labelWords: { true: ' yes', false: ' no' },
  template: '{passage}\nQuestion: {question}?\nAnswer:',
});

test('loaders: BoolQ-like JSONL', () => {
  const train = file('boolq-train.jsonl', [
    '{"question": "is the sky blue", "passage": "The sky is blue.", "idx": 0, "label": true}',
    '',
    '{"question": "is grass red", "passage": "Grass is green.", "idx": 1, "label": false}',
  ].join('\n'));
  const dev = file('boolq-val.jsonl', '{"question": "is snow white", "passage": "Snow is white.", "idx": 0, "label": true}\n');
  const task = loadTask(boolq(train, dev));
  assert.deepEqual(task.labels, [' yes', ' no']);
  assert.equal(task.splits.train.length, 2);
  assert.equal(task.splits.dev.length, 1);
  assert.equal(task.splits.test.length, 0);
  const first = task.splits.train[0];
  assert.equal(task.format(first) + first.label, 'The sky is blue.\nQuestion: is the sky blue?\nAnswer: yes');
  assert.equal(first.id, 'boolq:train:0');
  assert.deepEqual(task.majorityBaseline('train'), { label: ' yes', accuracy: 0.5 });
});

test('loaders: SST-2-like TSV (GLUE: no quoting, quotes are text)', () => {
  const train = file('sst2-train.tsv', 'sentence\tlabel\r\nhide new secretions \t0\r\n"a gorgeous" film\t1\r\nit\'s fine\t1\r\n');
  const task = loadTask({
    name: 'sst2', format: 'tsv', files: { train }, textFields: ['sentence'], labelField: 'label',
    labelWords: { 0: ' negative', 1: ' positive' },
  });
  assert.equal(task.splits.train.length, 3);
  assert.equal(task.format(task.splits.train[1]), '"a gorgeous" film\nAnswer:');
  assert.equal(task.splits.train[1].label, ' positive');
  assert.deepEqual(task.majorityBaseline('train'), { label: ' positive', accuracy: 2 / 3 });
});

test('loaders: RFC 4180 CSV with quoted fields, escaped quotes, embedded commas and newlines', () => {
  const records = parseCsv('text,label\r\n"a, b",1\n"say ""hi""\nnext line",0\nplain,1\n\n');
  assert.deepEqual(records.map((r) => [r.line, r.fields]), [
    [1, ['text', 'label']], [2, ['a, b', '1']], [3, ['say "hi"\nnext line', '0']], [5, ['plain', '1']],
  ]);
  const train = file('good.csv', 'text,label\n"a, b",1\n"multi\nline",0\nplain,1\n');
  const task = loadTask({ name: 'csv', format: 'csv', files: { train }, textFields: ['text'], labelField: 'label', labelWords: { 0: ' no', 1: ' yes' } });
  assert.deepEqual(task.splits.train.map((e) => [e.input, e.label, e.id]), [
    ['a, b\nAnswer:', ' yes', 'csv:train:line2'], ['multi\nline\nAnswer:', ' no', 'csv:train:line3'], ['plain\nAnswer:', ' yes', 'csv:train:line5'],
  ]);
});

test('loaders: every bad row is reported with file:line in one error', () => {
  const train = file('bad.jsonl', [
    '{"question": "ok", "passage": "p", "idx": 0, "label": true}',
    '{"question": "broken", ',
    '{"question": "no passage", "idx": 2, "label": false}',
    '{"question": "q", "passage": "p", "idx": 3, "label": "maybe"}',
    '[1, 2]',
  ].join('\n'));
  const csv = file('bad.csv', 'text,label\nfine,1\ntoo,many,cols\n"unterminated,0\n');
  const tsv = file('bad.tsv', 'sentence\tlabel\nfine\t1\nno label column\n');
  const error = catchLoad(boolq(train));
  assert.deepEqual(error.problems.map((p) => p.line), [2, 3, 4, 5]);
  assert.match(error.message, /4 malformed rows/);
  assert.match(error.message, new RegExp(`${escape(train)}:2: bad JSON`));
  assert.match(error.message, /:3: missing or non-scalar field "passage"/);
  assert.match(error.message, /:4: label "maybe" is not in labelWords \(allowed: true, false\)/);
  assert.match(error.message, /:5: expected a JSON object/);
  const csvError = catchLoad({ name: 'c', format: 'csv', files: { train: csv }, textFields: ['text'], labelField: 'label', labelWords: { 0: ' no', 1: ' yes' } });
  assert.match(csvError.message, new RegExp(`${escape(csv)}:3: expected 2 columns`));
  assert.match(csvError.message, /:4: unterminated quoted field/);
  const tsvError = catchLoad({ name: 't', format: 'tsv', files: { train: tsv }, textFields: ['sentence'], labelField: 'label', labelWords: { 0: ' no', 1: ' yes' } });
  assert.match(tsvError.message, new RegExp(`${escape(tsv)}:3: expected 2 columns`));
});

test('loaders: more than 20 bad rows lists 20 and counts the rest', () => {
  const rows = ['text\tlabel', ...Array.from({ length: 25 }, (_, i) => `row ${i}\tX`)];
  const train = file('many.tsv', rows.join('\n'));
  const error = catchLoad({ name: 'many', format: 'tsv', files: { train }, textFields: ['text'], labelField: 'label', labelWords: { 0: ' no', 1: ' yes' } });
  assert.equal(error.problems.length, 25);
  assert.match(error.message, /25 malformed rows[\s\S]*\.\.\. and 5 more/);
});

test('loaders: bad config values name the field, the value and what is allowed', () => {
  const config = { name: 'x', format: 'xml', files: { train: 'a', valid: 'b' }, textFields: [], labelField: 'label', labelWords: { a: 'yes', b: ' no' }, template: '{text} {label}' };
  assert.throws(() => validateLoaderConfig(config), (error: Error) => {
    assert.match(error.message, /format = "xml": allowed: jsonl, csv, tsv/);
    assert.match(error.message, /files\.valid = "b": unknown split; allowed: train, dev, test/);
    assert.match(error.message, /textFields = \[\]: must be a non-empty array/);
    assert.match(error.message, /labelWords\["a"\] = "yes": must be a label word with one leading space/);
    assert.match(error.message, /template = .*must not contain the label field \{label\}/);
    assert.match(error.message, /placeholder \{text\} is not a text field/);
    return true;
  });
  assert.throws(() => loadTask(boolq(join(dir, 'missing.jsonl'))), /files\.train = ".*missing\.jsonl" cannot be read/);
});

function catchLoad(config: LoaderConfig): DatasetLoadError {
  try {
    loadTask(config);
  } catch (error) {
    if (error instanceof DatasetLoadError) return error;
    throw error;
  }
  throw new Error('expected a DatasetLoadError');
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
