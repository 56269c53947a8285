/**
 * Mixed-task serving in `peftscale bench`: one batch whose rows carry different tasks' learned prompts,
 * timed against one batch per task, and checked to give each row the logits it gets alone.
 */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { AdaptedModel } from '../../src/adapt/adapted.js';
import { saveAdapter } from '../../src/io/adapter_io.js';
import type { MixedServingRow } from '../../src/results/bench.js';
import { timeAgainstBaseline } from '../../src/util/bench_timing.js';
import type { GPT2 } from '../../src/model/model.js';
import { learnedPromptMethod, resolveOptions } from '../../src/adapt/peft.js';
import { MixedTaskServer } from '../../src/inference/serving.js';
import { benchContext, readBack, type MethodBenchSettings } from './bench_methods.js';

/** Mixed-task serving on one preset: saved prompt-tuning adapters of `tasks` tasks, rows assigned round-robin. */
export async function benchMixedServing(
  base: GPT2,
  preset: string,
  tokens: tf.Tensor2D,
  dir: string,
  serving: { tasks: number; promptLength: number },
  options: Pick<MethodBenchSettings, 'seed' | 'warmup' | 'iterations'>,
): Promise<MixedServingRow> {
  const method = learnedPromptMethod();
  if (method === null) throw new Error('bench mixed serving: no registered method declares a learnedPrompt (set --serving-tasks 0 to skip it)');
  const resolved = resolveOptions(method, { length: String(serving.promptLength) }, base.config);
  const dirs = new Map<string, string>();
  for (let t = 0; t < serving.tasks; t++) {
    const adapted = AdaptedModel.create(base, method, resolved, benchContext(base, options.seed + 1 + t));
    try {
      await saveAdapter(path.join(dir, `task${t}`), adapted, { task: `task${t}` });
    } finally {
      adapted.dispose();
    }
    dirs.set(`task${t}`, path.join(dir, `task${t}`));
  }
  const server = await MixedTaskServer.fromAdapters(base, dirs);
  try {
    const [batchSize, sequenceLength] = tokens.shape;
    const rowTasks = Array.from({ length: batchSize }, (_, row) => `task${row % serving.tasks}`);
    const maxAbsDifference = tf.tidy(() => {
      const mixed = server.forward(tokens, rowTasks); // [B, T, V]
      let largest = 0;
      rowTasks.forEach((task, row) => {
        const alone = server.forwardTask(tf.slice(tokens, [row, 0], [1, sequenceLength]) as tf.Tensor2D, task); // [1, T, V]
        largest = Math.max(largest, tf.max(tf.abs(tf.sub(tf.slice(mixed, [row, 0, 0], [1, sequenceLength, mixed.shape[2]]), alone))).dataSync()[0]);
      });
      return largest;
    });
    const comparison = timeAgainstBaseline(
      { name: 'mixed', fn: readBack(() => server.forward(tokens, rowTasks)) },
      [{ name: 'separate', fn: readBack(() => server.forwardSeparately(tokens, rowTasks)) }],
      options,
    );
    const [mixed, separate] = [comparison.baseline, comparison.candidates[0]];
    return {
      preset,
      tasks: serving.tasks,
      promptLength: serving.promptLength,
      batchSize,
      sequenceLength,
      mixedPasses: server.plan(rowTasks).passes.length,
      separatePasses: new Set(rowTasks).size,
      mixedMedianMs: mixed.medianMs,
      separateMedianMs: separate.medianMs,
      mixedRowsPerSecond: (batchSize / mixed.medianMs) * 1000,
      separateRowsPerSecond: (batchSize / separate.medianMs) * 1000,
      speedup: comparison.ratios[0],
      maxAbsDifference,
    };
  } finally {
    server.dispose();
  }
}
