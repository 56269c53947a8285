import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ByteTokenizer } from '../src/io/tokenizer.js';
import { datasetFingerprint, loadFileTask, resolveDataset, type DatasetEntry, type ResolvedDataset } from './file_tasks.js';
import { DatasetLoadError } from './loaders.js';
import { fitInput } from './truncate.js';
import type { TaskExample } from './types.js';

const FIXTURES = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'test', 'fixtures', 'data');
const RTE_TRAIN = path.join(FIXTURES, 'rte-train.jsonl');
const RTE_VAL = path.join(FIXTURES, 'rte-val.jsonl');
const SST2_DEV = path.join(FIXTURES, 'sst2-dev.tsv');
const ALL = { train: 'all', dev: 'all', test: 'all' } as const;
const dir = mkdtempSync(path.join(tmpdir(), 'peftscale-file-tasks-'));
const file = (name: string, text: string): string => {
  writeFileSync(path.join(dir, name), text);
  return path.join(dir, name);
};

function resolved(name: string, entry: DatasetEntry, sizes: Record<'train' | 'dev' | 'test', number | 'all'> = ALL): ResolvedDataset {
  const { dataset, problems } = resolveDataset(name, entry, sizes, `datasets.${name}`);
  assert.deepEqual(problems, []);
  return dataset as ResolvedDataset;
}

const ids = (examples: readonly TaskExample[]): string[] => examples.map((e) => e.id);

test('file tasks: RTE with train and val files: val is the test split, dev is 10% of train by id hash, disjoint, deterministic', () => {
  const dataset = resolved('rte', { recipe: 'rte', files: { train: RTE_TRAIN, dev: RTE_VAL } });
  const task = loadFileTask(dataset);
  assert.equal(task.splits.test.length, 16);
  assert.deepEqual(ids(task.splits.test), ids(task.splits.test).filter((id) => id.startsWith('rte:dev:')));
  assert.equal(task.splits.dev.length, 4);
  assert.equal(task.splits.train.length, 36);
  const train = new Set(ids(task.splits.train));
  assert.ok(task.splits.dev.every((e) => !train.has(e.id) && e.id.startsWith('rte:train:')));
  assert.deepEqual(task.labels, [' yes', ' no']);
  const first = task.splits.test[0];
  assert.equal(task.format(first) + first.label, `${first.fields?.premise}\nQuestion: Does this mean that "${first.fields?.hypothesis}" is true?\nAnswer:${first.label}`);
  assert.match(task.source?.splits.join('\n') ?? '', /test: rte-val\.jsonl \(16 rows; no labelled test file/);
  assert.deepEqual(ids(loadFileTask(dataset).splits.dev), ids(task.splits.dev), 'the same files give the same splits');
});

test('file tasks: SST-2 with only its dev file: test, dev and train carved from it (20%, 10%, the rest), covering every row once', () => {
  const task = loadFileTask(resolved('sst2', { recipe: 'sst2', files: { dev: SST2_DEV } }));
  assert.deepEqual([task.splits.train.length, task.splits.dev.length, task.splits.test.length], [28, 4, 8]);
  const all = [...ids(task.splits.train), ...ids(task.splits.dev), ...ids(task.splits.test)];
  assert.equal(new Set(all).size, 40);
  assert.deepEqual(task.labels, [' negative', ' positive']);
  assert.equal(task.format(task.splits.train[0]).startsWith('Review: '), true);
  // Caps keep a subset, in file order.
  const capped = loadFileTask(resolved('sst2', { recipe: 'sst2', files: { dev: SST2_DEV } }, { train: 10, dev: 'all', test: 3 }));
  assert.equal(capped.splits.train.length, 10);
  assert.equal(capped.splits.test.length, 3);
  assert.ok(ids(capped.splits.train).every((id) => ids(task.splits.train).includes(id)));
  assert.match(capped.source?.splits.join('\n') ?? '', /train: capped at 10 of 28/);
});

test('file tasks: the fingerprint follows the contents, not the path', () => {
  const dataset = resolved('sst2', { recipe: 'sst2', files: { dev: SST2_DEV } });
  const fingerprint = datasetFingerprint(dataset, loadFileTask(dataset).source as NonNullable<ReturnType<typeof loadFileTask>['source']>);
  const copy = path.join(dir, 'moved.tsv');
  copyFileSync(SST2_DEV, copy);
  const moved = resolved('sst2', { recipe: 'sst2', files: { dev: copy } });
  assert.equal(datasetFingerprint(moved, loadFileTask(moved).source as NonNullable<ReturnType<typeof loadFileTask>['source']>), fingerprint);
  writeFileSync(copy, readFileSync(SST2_DEV, 'utf8').replace('charming', 'charmless'));
  assert.notEqual(datasetFingerprint(moved, loadFileTask(moved).source as NonNullable<ReturnType<typeof loadFileTask>['source']>), fingerprint);
});

test('file tasks: CB, BoolQ and COPA in their official JSONL fields', () => {
  // The same rows as train and test (a format check, not a measurement): a second file with other bytes, overlap allowed.
  const twin = (train: string): string => file(`twin-${path.basename(train)}`, `${readFileSync(train, 'utf8')}\n`);
  const cb = file('cb.jsonl', '{"premise": "It rained.", "hypothesis": "The street is wet.", "label": "entailment", "idx": 0}\n{"premise": "It was dry.", "hypothesis": "It rained.", "label": "contradiction", "idx": 1}\n{"premise": "He left.", "hypothesis": "He was sad.", "label": "neutral", "idx": 2}\n');
  const cbTask = loadFileTask(resolved('cb', { recipe: 'cb', files: { train: cb, test: twin(cb) }, maxOverlap: 1 }));
  assert.deepEqual(cbTask.labels, [' yes', ' no', ' maybe']);
  const boolq = file('boolq.jsonl', '{"question": "is water wet", "passage": "Water is wet.", "idx": 0, "label": true}\n{"question": "is fire cold", "passage": "Fire is hot.", "idx": 1, "label": false}\n');
  const boolqTask = loadFileTask(resolved('boolq', { recipe: 'boolq', files: { train: boolq, test: twin(boolq) }, maxOverlap: 1 }));
  assert.equal(boolqTask.format(boolqTask.splits.test[0]) + boolqTask.splits.test[0].label, 'Water is wet.\nQuestion: is water wet?\nAnswer: yes');
  const copa = file('copa.jsonl', '{"premise": "My body cast a shadow over the grass.", "choice1": "The sun was rising.", "choice2": "The grass was cut.", "question": "cause", "idx": 0, "label": 0}\n{"premise": "The man broke his toe.", "choice1": "He dropped a hammer on his foot.", "choice2": "He got a hole in his sock.", "question": "cause", "idx": 1, "label": 0}\n');
  const copaTask = loadFileTask(resolved('copa', { recipe: 'copa', files: { train: copa, test: twin(copa) }, maxOverlap: 1 }));
  assert.deepEqual(copaTask.labels, [' 1', ' 2']);
  assert.equal(
    copaTask.format(copaTask.splits.test[0]) + copaTask.splits.test[0].label,
    'My body cast a shadow over the grass.\nWhat was the cause?\nOption 1: The sun was rising.\nOption 2: The grass was cut.\nAnswer: Option 1',
  );
});

test('file tasks: a generic CSV with declared fields; bad entries are named errors', () => {
  const csv = file('reviews.csv', 'text,stars\n"Great, really",5\nAwful,1\nFine,5\n');
  const task = loadFileTask(resolved('reviews', { recipe: 'generic', format: 'csv', files: { train: csv }, textFields: ['text'], labelField: 'stars', labelWords: { 1: ' bad', 5: ' good' }, heldOut: { dev: 0.34, test: 0.34 } }));
  assert.equal(task.splits.train.length + task.splits.dev.length + task.splits.test.length, 3);

  const problems = (entry: DatasetEntry): string => resolveDataset('x', entry, ALL, 'datasets.x').problems.join('\n');
  assert.match(problems({ recipe: 'rtee', files: { train: csv } }), /datasets\.x\.recipe: unknown recipe "rtee"; did you mean "rte"\?/);
  assert.match(problems({ recipe: 'generic', files: { train: csv }, format: 'csv', textFields: ['text'], labelField: 'stars' }), /datasets\.x\.labelWords: required by recipe "generic"/);
  assert.match(problems({ recipe: 'sst2', files: { train: csv }, format: 'xml' as 'csv' }), /datasets\.x\.format = "xml": allowed: jsonl, csv, tsv/);
  assert.match(problems({ recipe: 'rte', files: {} }), /datasets\.x\.files = \{\}: must name at least one of train, dev, test/);

  // A label outside the verbaliser: every bad row, with file and line.
  const outside = resolved('rte', { recipe: 'rte', files: { train: RTE_TRAIN }, labelWords: { entailment: ' yes', contradiction: ' no' } });
  assert.throws(() => loadFileTask(outside), (error: unknown) => error instanceof DatasetLoadError && /rte-train\.jsonl:1: label "not_entailment" is not in labelWords \(allowed: entailment, contradiction\)/.test(error.message));
  const empty = file('empty.tsv', 'sentence\tlabel\n');
  assert.throws(() => loadFileTask(resolved('sst2', { recipe: 'sst2', files: { train: SST2_DEV, dev: empty } })), /files\.dev = ".*empty\.tsv": the file holds no rows/);
  assert.throws(() => loadFileTask(resolved('sst2', { recipe: 'sst2', files: { train: path.join(dir, 'nope.tsv') } })), /files\.train = ".*nope\.tsv": cannot be read \(ENOENT\)/);
});

test('file tasks: an input longer than its budget is cut in its text field, never in the template or the label', () => {
  const task = loadFileTask(resolved('rte', { recipe: 'rte', files: { train: RTE_TRAIN, dev: RTE_VAL } }));
  const tokenizer = new ByteTokenizer();
  const long = [...task.splits.train].sort((a, b) => b.input.length - a.input.length)[0];
  const fitted = fitInput(task, long, 120, tokenizer, task.truncateField);
  assert.equal(fitted.truncated, true);
  assert.ok(fitted.ids.length <= 120 && fitted.ids.length >= 110, `${fitted.ids.length} tokens`);
  const text = tokenizer.decode(fitted.ids);
  assert.ok(text.endsWith(`Question: Does this mean that "${long.fields?.hypothesis}" is true?\nAnswer:`), 'the hypothesis and the scaffolding are whole');
  assert.ok(long.fields?.premise.startsWith(text.split('\nQuestion:')[0]), 'the premise keeps its beginning');
  const short = task.splits.test[0];
  assert.deepEqual(fitInput(task, short, 10_000, tokenizer), { ids: tokenizer.encode(task.format(short)), truncated: false });
  assert.throws(() => fitInput(task, long, 20, tokenizer), /takes \d+ tokens with every text field emptied, more than the 20/);
});
