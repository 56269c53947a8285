/**
 * An experiment file on the tiny GPT-2 from transformers and a few RTE rows (test/fixtures), for the
 * end-to-end tests that need a real checkpoint folder and a file dataset (export, --import-trials --verify).
 */
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

/** Copies the fixtures under `root` (data/, models/tiny-gpt2/) and writes `file` there: 2 steps, one seed, the methods given. */
export function writeTinyRteExperiment(root: string, file: string, name: string, methods: readonly Record<string, unknown>[]): void {
  cpSync(path.join(REPO, 'test', 'fixtures', 'data'), path.join(root, 'data'), { recursive: true });
  cpSync(path.join(REPO, 'test', 'fixtures', 'hf', 'tiny-gpt2'), path.join(root, 'models', 'tiny-gpt2'), { recursive: true });
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(
    file,
    JSON.stringify({
      name,
      checkpoints: { 'tiny-gpt2': { path: '../models/tiny-gpt2' } },
      tasks: ['rte'],
      datasets: { rte: { recipe: 'rte', files: { train: '../data/rte-train.jsonl', dev: '../data/rte-val.jsonl' }, template: '{premise}\n{hypothesis}\nAnswer:' } },
      data: { train: 8, dev: 4, test: 4 },
      seeds: [0],
      training: { steps: 2, batchSize: 2, evalEvery: 1 },
      sweeps: [{ name: 'methods', presets: ['tiny-gpt2'], methods }],
    }),
  );
}
