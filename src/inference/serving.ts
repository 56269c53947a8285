/**
 * Mixed-task serving: one frozen model serves a batch whose rows belong to different tasks, each row
 * with its own soft prompt, in one forward pass (the deployment Lester et al. 2021 §1 describe; Hugging
 * Face PEFT batches adapters per row for LoRA but not for prompt methods). It works because the prompt
 * is input, not weights: the per-row prefix [B, k, D] goes through the inputPrefix hook and every other
 * operation treats rows independently.
 *
 * Which adapters can be mixed: those whose hooks only prepend input embeddings (prompt tuning, P-tuning's
 * saved prompts, prompt design's token embeddings, and a length-0 prompt, i.e. the bare model).
 *
 * Prompts of different lengths: rows are grouped by prompt length and each group is one forward pass.
 * Left-padding a shorter prompt is NOT equivalent: the pad positions would be attended to and would
 * shift the real tokens' position embeddings; the model has no per-row attention mask, so rows whose
 * prompts differ in length never share a pass. With equal lengths (the usual case) a batch is one pass.
 *
 * @example
 * import '../../methods/index.js'; // adapters are loaded through the method registry
 * const server = await MixedTaskServer.fromAdapters(base, new Map([['verify', 'adapters/verify'], ['colour', 'adapters/colour']]));
 * const logits = server.forward(tokens, ['verify', 'colour', 'verify']); // [3, T, V], one pass
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LoadedAdapter } from '../io/adapter_io.js';
import { loadAdapter } from '../io/adapter_load.js';
import { unknownNameMessage } from '../model/config.js';
import { HOOK_SHARES_BATCH, type ModelHooks } from '../adapt/hooks.js';
import type { ForwardOptions, GPT2 } from '../model/model.js';

/** The hooks an adapter uses that cannot share a pass with other tasks: any not declared shareable in HOOK_SHARES_BATCH (unknown ones included). */
function unshareableHooks(hooks: ModelHooks): string[] {
  const declared: Readonly<Record<string, boolean>> = HOOK_SHARES_BATCH;
  return Object.entries(hooks)
    .filter(([name, value]) => value !== undefined && declared[name] !== true)
    .map(([name]) => name);
}

/**
 * The prompt [k, D] of a loaded adapter that only prepends input embeddings (a copy the caller owns;
 * [0, D] for an adapter that adds nothing). Throws, naming the method and its hooks, for any other adapter.
 */
export function adapterPrompt(adapter: LoadedAdapter, source = 'adapter'): tf.Tensor2D {
  const { hooks, config } = adapter;
  const others = unshareableHooks(hooks);
  if (others.length > 0) {
    const allowed = Object.entries(HOOK_SHARES_BATCH).filter(([, shares]) => shares).map(([name]) => name);
    throw new Error(
      `${source}: method "${adapter.method.name}" acts through ${others.join(', ')}; mixed-task serving batches only adapters that prepend input embeddings (allowed: methods acting through ${allowed.join(', ')} only)`,
    );
  }
  const context = { config, batchSize: 1, sequenceLength: 1, training: false };
  return tf.tidy(() => {
    const prompt = hooks.inputPrefix?.(context) ?? tf.zeros([0, config.dModel]); // [k, D]
    if (prompt.rank !== 2 || prompt.shape[1] !== config.dModel) throw new Error(`${source}: the prompt is [${prompt.shape}], expected [k, ${config.dModel}]`);
    return tf.clone(prompt) as tf.Tensor2D;
  });
}

/**
 * Logits of rows that each have their own prompt, in one forward pass: tokens [B, T], prompts
 * [P, k, D] and rowPrompt[b] ∈ [0, P) choosing row b's prompt → [B, T, V].
 */
export function forwardWithRowPrompts(base: GPT2, tokens: tf.Tensor2D, prompts: tf.Tensor3D, rowPrompt: readonly number[]): tf.Tensor3D {
  return tf.tidy(() => base.forward(tokens, rowPromptOptions(base, tokens, prompts, rowPrompt))); // [B, T, V]
}

/** forwardWithRowPrompts at flat positions b·T + t only: [P, V] (GPT2.logitsAt). */
export function logitsAtWithRowPrompts(base: GPT2, tokens: tf.Tensor2D, prompts: tf.Tensor3D, rowPrompt: readonly number[], positions: ArrayLike<number>): tf.Tensor2D {
  return tf.tidy(() => base.logitsAt(tokens, positions, rowPromptOptions(base, tokens, prompts, rowPrompt))); // [P, V]
}

/** The forward options that give row b the prompt rowPrompt[b] (call inside a tidy). */
function rowPromptOptions(base: GPT2, tokens: tf.Tensor2D, prompts: tf.Tensor3D, rowPrompt: readonly number[]): ForwardOptions {
  const [batchSize] = tokens.shape;
  const [count, length, width] = prompts.shape;
  if (width !== base.config.dModel) throw new Error(`forwardWithRowPrompts: prompts [${prompts.shape}] must be [P, k, ${base.config.dModel}]`);
  if (rowPrompt.length !== batchSize) throw new Error(`forwardWithRowPrompts: ${rowPrompt.length} prompt indices for ${batchSize} rows`);
  const bad = rowPrompt.findIndex((p) => !(Number.isInteger(p) && p >= 0 && p < count));
  if (bad !== -1) throw new Error(`forwardWithRowPrompts: row ${bad} asks for prompt ${rowPrompt[bad]}; allowed: 0..${count - 1}`);
  if (length === 0) return {};
  const prefix = tf.gather(prompts, tf.tensor1d(Int32Array.from(rowPrompt), 'int32')); // [B, k, D]
  return { hooks: { inputPrefix: () => prefix } };
}

/**
 * Runs disjoint groups of rows (together covering every row of tokens [B, T]) as separate passes and
 * puts the outputs back in row order: `run(tokens of the group [b, T], group index)` → [b, T, V].
 */
export function forwardInGroups(tokens: tf.Tensor2D, groups: readonly (readonly number[])[], run: (tokens: tf.Tensor2D, group: number) => tf.Tensor3D): tf.Tensor3D {
  const [batchSize] = tokens.shape;
  const order = groups.flat();
  const seen = new Set(order);
  if (order.length !== batchSize || seen.size !== batchSize || order.some((row) => !(Number.isInteger(row) && row >= 0 && row < batchSize))) {
    throw new Error(`forwardInGroups: the groups must hold each row 0..${batchSize - 1} exactly once, got [${groups.map((g) => `[${g.join(', ')}]`).join(', ')}]`);
  }
  if (groups.length === 1 && order.every((row, i) => row === i)) return tf.tidy(() => run(tokens, 0));
  return tf.tidy(() => {
    const outputs = groups.map((rows, g) => run(tf.gather(tokens, tf.tensor1d(Int32Array.from(rows), 'int32')) as tf.Tensor2D, g)); // each [b, T, V]
    const stacked = tf.concat(outputs, 0); // [B, T, V] in group order
    const inverse = new Int32Array(batchSize);
    order.forEach((row, position) => (inverse[row] = position));
    return tf.gather(stacked, tf.tensor1d(inverse, 'int32')) as tf.Tensor3D; // [B, T, V] in row order
  });
}

/** How a mixed batch runs: one pass per distinct prompt length. */
export interface MixedBatchPlan {
  passes: { promptLength: number; rows: number[]; tasks: string[] }[];
}

/** Serves several tasks' prompts from one frozen model; owns copies of the prompts. */
export class MixedTaskServer {
  readonly base: GPT2;
  private readonly prompts = new Map<string, tf.Tensor2D>();
  /** Prompts of each length stacked [P, k, D], with their tasks in stacking order. */
  private readonly byLength = new Map<number, { tasks: string[]; stacked: tf.Tensor3D }>();

  /** A server for `prompts` (task → [k, D]); the tensors are copied, the caller keeps its own. */
  constructor(base: GPT2, prompts: ReadonlyMap<string, tf.Tensor>) {
    if (prompts.size === 0) throw new Error('MixedTaskServer: no prompts given; allowed: one or more task → [k, D] prompts');
    const width = base.config.dModel;
    for (const [task, prompt] of prompts) {
      if (prompt.rank !== 2 || prompt.shape[1] !== width) throw new Error(`MixedTaskServer: prompt of task "${task}" is [${prompt.shape}], expected [k, ${width}]`);
      if (prompt.shape[0] + 1 > base.config.contextLength) {
        throw new Error(`MixedTaskServer: prompt of task "${task}" has ${prompt.shape[0]} virtual tokens; allowed: at most ${base.config.contextLength - 1} (context ${base.config.contextLength})`);
      }
    }
    this.base = base;
    for (const [task, prompt] of prompts) this.prompts.set(task, tf.keep(tf.clone(prompt) as tf.Tensor2D));
    const lengths = new Map<number, string[]>();
    for (const [task, prompt] of this.prompts) lengths.set(prompt.shape[0], [...(lengths.get(prompt.shape[0]) ?? []), task]);
    for (const [length, tasks] of lengths) {
      this.byLength.set(length, { tasks, stacked: tf.keep(tf.stack(tasks.map((t) => this.prompts.get(t) as tf.Tensor2D))) as tf.Tensor3D }); // [P, k, D]
    }
  }

  /** Loads each task's adapter folder (task → dir) and keeps its prompt. Import methods/index.js first. */
  static async fromAdapters(base: GPT2, dirs: ReadonlyMap<string, string>): Promise<MixedTaskServer> {
    const prompts = new Map<string, tf.Tensor2D>();
    try {
      for (const [task, dir] of dirs) {
        const adapter = await loadAdapter(dir, base);
        try {
          prompts.set(task, adapterPrompt(adapter, `task "${task}" (${dir})`));
        } finally {
          adapter.dispose();
        }
      }
      return new MixedTaskServer(base, prompts);
    } finally {
      for (const prompt of prompts.values()) prompt.dispose();
    }
  }

  /** The tasks served, in the order given. */
  get tasks(): string[] {
    return [...this.prompts.keys()];
  }

  /** A task's prompt [k, D] (owned by the server). */
  prompt(task: string): tf.Tensor2D {
    const prompt = this.prompts.get(task);
    if (prompt === undefined) throw new Error(`MixedTaskServer: ${unknownNameMessage('task', task, this.tasks)}`);
    return prompt;
  }

  /** Which rows run together: one pass per distinct prompt length among the rows' tasks. */
  plan(rowTasks: readonly string[]): MixedBatchPlan {
    const passes = new Map<number, { promptLength: number; rows: number[]; tasks: string[] }>();
    rowTasks.forEach((task, row) => {
      let prompt: tf.Tensor2D;
      try {
        prompt = this.prompt(task);
      } catch (error) {
        throw new Error(`row ${row}: ${error instanceof Error ? error.message : String(error)}`);
      }
      const length = prompt.shape[0];
      let pass = passes.get(length);
      if (pass === undefined) passes.set(length, (pass = { promptLength: length, rows: [], tasks: [] }));
      pass.rows.push(row);
      pass.tasks.push(task);
    });
    return { passes: [...passes.values()] };
  }

  /** Logits of a mixed batch: tokens [B, T], rowTasks[b] the task of row b → [B, T, V]; one pass per prompt length. */
  forward(tokens: tf.Tensor2D, rowTasks: readonly string[]): tf.Tensor3D {
    this.checkRows(tokens, rowTasks);
    const { passes } = this.plan(rowTasks);
    return forwardInGroups(
      tokens,
      passes.map((p) => p.rows),
      (groupTokens, g) => {
        const { tasks, stacked } = this.byLength.get(passes[g].promptLength) as { tasks: string[]; stacked: tf.Tensor3D };
        return forwardWithRowPrompts(this.base, groupTokens, stacked, passes[g].tasks.map((task) => tasks.indexOf(task)));
      },
    );
  }

  /** Every row of the batch with one task's prompt [k, D] shared: tokens [B, T] → [B, T, V]. */
  forwardTask(tokens: tf.Tensor2D, task: string): tf.Tensor3D {
    const prompt = this.prompt(task);
    return prompt.shape[0] === 0 ? this.base.forward(tokens) : this.base.forward(tokens, { hooks: { inputPrefix: () => prompt } });
  }

  /** The baseline without mixing: each task's rows as a separate batch (one pass per task) → [B, T, V] in row order. */
  forwardSeparately(tokens: tf.Tensor2D, rowTasks: readonly string[]): tf.Tensor3D {
    this.checkRows(tokens, rowTasks);
    const byTask = new Map<string, number[]>();
    rowTasks.forEach((task, row) => byTask.set(task, [...(byTask.get(task) ?? []), row]));
    const tasks = [...byTask.keys()];
    tasks.forEach((task) => this.prompt(task)); // unknown names fail before any pass runs
    return forwardInGroups(
      tokens,
      tasks.map((task) => byTask.get(task) as number[]),
      (groupTokens, g) => this.forwardTask(groupTokens, tasks[g]),
    );
  }

  dispose(): void {
    for (const prompt of this.prompts.values()) prompt.dispose();
    for (const { stacked } of this.byLength.values()) stacked.dispose();
    this.prompts.clear();
    this.byLength.clear();
  }

  private checkRows(tokens: tf.Tensor2D, rowTasks: readonly string[]): void {
    if (rowTasks.length !== tokens.shape[0]) throw new Error(`MixedTaskServer: ${rowTasks.length} row tasks for tokens [${tokens.shape}]; allowed: one task per row`);
  }
}
