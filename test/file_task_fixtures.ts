/**
 * What the tests of tasks from files share (datasets/hf_data.test.ts, datasets/parquet.test.ts): the
 * fixture folders, a dataset entry resolved without problems, a task's examples per split, and the
 * message of a refused load.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { loadFileTask, resolveDataset, type DatasetEntry, type ResolvedDataset } from '../datasets/file_tasks.js';
import { SPLIT_NAMES, type Task, type TaskExample } from '../datasets/types.js';

const FIXTURES = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'test', 'fixtures');
/** The original files' rows (SST-2 dev TSV, RTE train/val JSONL). */
export const ORIGINAL_DATA = path.join(FIXTURES, 'data');
/** The same rows as Hugging Face `datasets` writes them (JSONL with ClassLabel indices, Parquet). */
export const HF_DATA = path.join(FIXTURES, 'hf', 'data');

/** A dataset entry resolved with every example of every split; its problems must be none. */
export function resolvedDataset(name: string, entry: DatasetEntry): ResolvedDataset {
  const { dataset, problems } = resolveDataset(name, entry, { train: 'all', dev: 'all', test: 'all' }, `datasets.${name}`);
  assert.deepEqual(problems, []);
  return dataset as ResolvedDataset;
}

/** A task's examples per split, as id, input and label (what two forms of one file must agree on). */
export function examplesBySplit(task: Task): Record<string, Array<Pick<TaskExample, 'id' | 'input' | 'label'>>> {
  return Object.fromEntries(SPLIT_NAMES.map((split) => [split, task.splits[split].map(({ id, input, label }) => ({ id, input, label }))]));
}

/** The message of a load that must be refused (DatasetLoadError lists its rows). */
export function loadError(dataset: ResolvedDataset): string {
  try {
    loadFileTask(dataset);
  } catch (error) {
    return (error as Error).message;
  }
  assert.fail('expected the load to be refused');
}
