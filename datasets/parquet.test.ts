import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadFileTask } from './file_tasks.js';
import { examplesBySplit, HF_DATA, loadError, ORIGINAL_DATA, resolvedDataset } from '../test/file_task_fixtures.js';

const dir = mkdtempSync(path.join(tmpdir(), 'peftscale-parquet-'));

test('parquet: RTE from the Parquet files datasets writes gives the original JSONL files\' examples, ids and splits', () => {
  const original = loadFileTask(resolvedDataset('rte', { recipe: 'rte', files: { train: path.join(ORIGINAL_DATA, 'rte-train.jsonl'), dev: path.join(ORIGINAL_DATA, 'rte-val.jsonl') } }));
  const parquet = loadFileTask(resolvedDataset('rte', { recipe: 'rte', files: { train: path.join(HF_DATA, 'rte-train.parquet'), dev: path.join(HF_DATA, 'rte-val.parquet') } }));
  assert.equal(parquet.splits.train.length + parquet.splits.dev.length + parquet.splits.test.length, 56);
  assert.deepEqual(examplesBySplit(parquet), examplesBySplit(original));
  assert.deepEqual(new Set(parquet.splits.test.map((e) => e.label)), new Set([' yes', ' no']));
  // The same bytes as a file of any name: detection is by content, the stated format "parquet" agrees.
  const stated = loadFileTask(resolvedDataset('rte', { recipe: 'rte', format: 'parquet', files: { train: path.join(HF_DATA, 'rte-train.parquet'), dev: path.join(HF_DATA, 'rte-val.parquet') } }));
  assert.deepEqual(examplesBySplit(stated), examplesBySplit(original));
});

test('parquet: SST-2 from Parquet (INT64 labels, idx) splits as GLUE\'s dev.tsv does', () => {
  const original = loadFileTask(resolvedDataset('sst2', { recipe: 'sst2', files: { dev: path.join(ORIGINAL_DATA, 'sst2-dev.tsv') } }));
  const hubName = path.join(dir, 'validation-00000-of-00001.parquet');
  copyFileSync(path.join(HF_DATA, 'sst2-dev.parquet'), hubName);
  const parquet = loadFileTask(resolvedDataset('sst2', { recipe: 'sst2', files: { dev: hubName } }));
  assert.deepEqual([parquet.splits.train.length, parquet.splits.dev.length, parquet.splits.test.length], [28, 4, 8]);
  assert.deepEqual(examplesBySplit(parquet), examplesBySplit(original));
});

test('parquet: a truncated file and a corrupt page are refused naming the file and what is wrong', () => {
  const bytes = readFileSync(path.join(HF_DATA, 'rte-train.parquet'));
  const cut = path.join(dir, 'rte-cut.parquet');
  writeFileSync(cut, bytes.subarray(0, bytes.length - 40));
  assert.match(loadError(resolvedDataset('rte', { recipe: 'rte', files: { train: cut } })), /files\.train = ".*rte-cut\.parquet": not a readable Parquet file \(12,677 bytes; parquet file invalid \(footer != PAR1\)\); allowed: a whole Parquet file/);
  // Bytes scrambled inside the first column's pages (the footer intact): the decoder's failure is named.
  const scrambled = Buffer.from(bytes);
  for (let i = 1000; i < 1064; i++) scrambled[i] ^= 0x5a;
  const corrupt = path.join(dir, 'rte-corrupt.parquet');
  writeFileSync(corrupt, scrambled);
  assert.match(loadError(resolvedDataset('rte', { recipe: 'rte', files: { train: corrupt } })), /rte-corrupt\.parquet": the Parquet file cannot be decoded \(hyparquet: .+\); allowed: an intact Parquet file/);
});

test('parquet: a missing column is named with the columns present, before any row is read', () => {
  // RTE's file under the BoolQ recipe: neither text column is there, nor label's alias.
  const message = loadError(resolvedDataset('boolq', { recipe: 'boolq', files: { train: path.join(HF_DATA, 'rte-train.parquet') } }));
  assert.match(message, /files\.train = ".*rte-train\.parquet": Parquet columns "passage", "question" are missing \(the label may also be "answer"\); the file has columns "premise", "hypothesis", "idx", "label"; allowed:/);
  // RTE's id column: needed because the label column is there.
  const noId = loadError(resolvedDataset('rte', { recipe: 'rte', idField: 'id', files: { train: path.join(HF_DATA, 'rte-train.parquet') } }));
  assert.match(noId, /Parquet column "id" is missing; the file has columns "premise", "hypothesis", "idx", "label"/);
});

test('parquet: rows go through the JSON lines row path: a bad label is named by file, row, field and value', () => {
  // idx read as RTE's label: 0 and 1 are class indices, 2 to 39 are out of range (row 3 holds idx 2).
  const message = loadError(resolvedDataset('rte', { recipe: 'rte', labelField: 'idx', files: { train: path.join(HF_DATA, 'rte-train.parquet') } }));
  assert.match(message, /dataset "rte": 38 malformed rows:\n {2}.*rte-train\.parquet row 3: field "idx" = 2: an integer label is a class index .*allowed: 0 to 1 \(0 entailment, 1 not_entailment\)/);
  assert.doesNotMatch(message, /row [12]:/, 'rows with idx 0 and 1 are valid');
});

test('parquet: a stated format the content contradicts is refused either way', () => {
  const jsonl = path.join(HF_DATA, 'rte-train.datasets.jsonl');
  assert.match(loadError(resolvedDataset('rte', { recipe: 'rte', format: 'parquet', files: { train: jsonl } })), /format "parquet" was stated but the file is JSON lines \(its first line starts with "\{"\); allowed: state format "jsonl"/);
  const parquet = path.join(HF_DATA, 'rte-train.parquet');
  assert.match(loadError(resolvedDataset('rte', { recipe: 'rte', format: 'jsonl', files: { train: parquet } })), /format "jsonl" was stated but the file is Parquet \(it starts with Parquet's magic bytes "PAR1"\); allowed: state format "parquet", or leave format out/);
  const oneColumn = path.join(dir, 'words.txt');
  writeFileSync(oneColumn, 'sentence\ngood\n');
  assert.match(loadError(resolvedDataset('sst2', { recipe: 'sst2', format: 'parquet', files: { dev: oneColumn } })), /format "parquet" was stated but the file does not start with Parquet's magic bytes "PAR1"/);
});
