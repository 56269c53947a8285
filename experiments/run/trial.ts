/**
 * One trial: a method applied to a frozen pretrained model, trained on one task's train split, the best
 * checkpoint chosen on dev, scored on test by label-word scoring. Pure in its inputs (the config, the
 * frozen model, the task): the runner decides where it runs (a worker thread) and caches the record.
 *
 * Rows are `<|endoftext|> format(example) label`, padded to the task's longest row so every step has
 * the same shapes; the loss covers the label tokens only (the model learns to answer, not to copy the
 * question), the same tokens evaluation scores. Every text goes through the frozen model's own tokenizer;
 * an input longer than the context leaves is shortened in its text fields (datasets/truncate.ts), never in
 * its label, and the record counts the shortened inputs per split (`inputs.truncated`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { AdaptedModel } from '../../src/adapt/adapted.js';
import { adapterTensors } from '../../src/io/adapter_io.js';
import type { GPT2 } from '../../src/model/model.js';
import { getMethod, type MethodContext, type MethodOptions } from '../../src/adapt/peft.js';
import { countParameters, modelParameterSpecs, numel } from '../../src/model/params.js';
import { Random } from '../../src/util/random.js';
import type { Evaluation, TrialConfig, TrialEnvironment, TrialRecord, TrialStatus } from '../../src/results/results.js';
import { RESULTS_FORMAT_VERSION, sealRecord } from '../../src/results/results.js';
import { NonFiniteScoresError } from '../../src/inference/scoring.js';
import type { Tokenizer } from '../../src/io/tokenizer.js';
import { createOptimizer, trainStep } from '../../src/training/train.js';
import { median } from '../../src/util/bench_timing.js';
import type { Task } from '../../datasets/tasks.js';
import { encodedSplit, evaluateAccuracy, inputBudget, virtualPositions, type EncodedExample } from './trial_scoring.js';

/** What a trial needs besides its config. */
export interface TrialResources {
  base: GPT2;
  task: Task;
  /** The frozen model's tokenizer (the byte tokenizer for ps-*, a checkpoint's own BPE): every text goes through it. */
  tokenizer: Tokenizer;
  /** Token ids from most to least frequent in the pretraining corpus (sampled-vocab initialisation). */
  frequentTokens: readonly number[];
  environment: TrialEnvironment;
}

export interface TrialProgress {
  step: number;
  steps: number;
  loss: number;
}

export interface TrialOptions {
  /** Called after every training step. */
  onStep?: (progress: TrialProgress) => void;
  /** At most this many rows per evaluation batch (default 64); fewer when they would not fit scoringMemoryBytes(). */
  evalBatchSize?: number;
  /** Receives the adapter tensors of the chosen checkpoint (disposed after the call returns) and the resolved options. */
  onAdapter?: (tensors: ReadonlyMap<string, tf.Tensor>, options: MethodOptions) => void;
}

/** The method context of a task: label words, demonstrations (prompt design's shots), corpus frequencies. */
export function methodContext(base: GPT2, task: Task, seed: number, frequentTokens: readonly number[], tokenizer: Tokenizer): MethodContext {
  return {
    config: base.config,
    seed,
    baseParameter: (name) => base.parameter(name),
    encode: (text) => tokenizer.encode(text),
    frequentTokens,
    labelWords: task.labels,
    // Shots are drawn per seed (as in GPT-3's evaluation), so prompt design's seeds differ like the others'.
    demonstrations: new Random(seed, `trial:demonstrations:${task.name}`).shuffle(task.splits.train.map((example) => ({ input: task.format(example), label: example.label }))),
  };
}

/** How a trial was packed with others (the record's `packing`; absent when it trained alone). */
export type PackingInfo = NonNullable<TrialRecord['packing']>;

/**
 * One trial as a sequence of steps, so that trials can share each step (packed_trials.ts): {@link runTrial}
 * runs one alone. Everything but the step itself is the trial's own: its method's tensors and their init,
 * its batch order, optimiser, evaluations and checkpoint choice, so a trial's record does not depend on
 * what it was packed with.
 */
export class TrialRun {
  readonly model: AdaptedModel;
  /** Input positions the method puts before the real tokens. */
  readonly virtual: number;
  /** Key/value prefix positions per layer (prefix tuning's k): context the inputs leave room for, not rows. */
  readonly prefixPositions: number;
  /** Tokens per training row (real positions). */
  readonly rowLength: number;
  readonly optimizer: tf.Optimizer | null;
  private readonly snapshots: tf.Tensor[] = [];
  private readonly train: EncodedExample[];
  private readonly test: EncodedExample[];
  private readonly dev: EncodedExample[];
  private readonly budget: number;
  private readonly truncated: { train: number; dev: number; test: number };
  private readonly order: Random;
  private pool: EncodedExample[] = [];
  private step = 0;
  private status: TrialStatus = 'finished';
  private divergedAt: TrialRecord['divergedAt'] = null;
  private best: { step: number; accuracy: number };
  private readonly devCurve: [number, number][] = [];
  private readonly lossCurve: [number, number][] = [];
  private intervalLoss = 0;
  private intervalSteps = 0;
  private readonly stepSeconds: number[] = [];
  private evalSeconds = 0;
  private peakTensorBytes = tf.memory().numBytes;
  private peakRssBytes = process.memoryUsage().rss;

  private constructor(
    readonly config: TrialConfig,
    readonly key: string,
    private readonly sweeps: string[],
    private readonly resources: TrialResources,
    private readonly options: TrialOptions,
    model: AdaptedModel,
  ) {
    const { base, task, tokenizer } = resources;
    this.model = model;
    // Inputs are fitted to what the context leaves after the method's virtual positions, <|endoftext|> and
    // the longest label word (each is scored), so no row fails mid-training or at evaluation.
    const positions = virtualPositions(() => model.hooks(), base.config);
    this.virtual = positions.input;
    this.prefixPositions = positions.attention;
    const taken = positions.input + positions.attention;
    this.budget = inputBudget(task, tokenizer, base.config.contextLength, taken);
    if (this.budget < 1) throw new Error(`trial ${key}: ${taken} virtual positions and the label words leave no room for input in the context of ${base.config.contextLength} of ${config.preset}`);
    this.train = encodedSplit(task, 'train', tokenizer, this.budget);
    this.dev = encodedSplit(task, 'dev', tokenizer, this.budget);
    this.test = encodedSplit(task, 'test', tokenizer, this.budget);
    const longestLabel = Math.max(...task.labels.map((label) => tokenizer.encode(label).length));
    this.rowLength = 1 + Math.max(...[...this.train, ...this.dev, ...this.test].map((e) => e.context.length)) + longestLabel;
    const truncatedCount = (examples: readonly EncodedExample[]): number => examples.filter((e) => e.truncated).length;
    this.truncated = { train: truncatedCount(this.train), dev: truncatedCount(this.dev), test: truncatedCount(this.test) };
    this.order = new Random(config.seed, `trial:batches:${task.name}`);
    this.best = { step: 0, accuracy: this.evaluate(this.dev) };
    this.devCurve.push([0, this.best.accuracy]);
    this.optimizer = this.trains ? createOptimizer(config.training.optimizer, config.training.learningRate, { weightDecay: config.training.weightDecay }) : null;
    if (this.trains) this.keepBest();
  }

  /** Applies the method to the frozen model, scores dev at step 0 and is ready for its first step. */
  static start(config: TrialConfig, key: string, sweeps: string[], resources: TrialResources, options: TrialOptions = {}): TrialRun {
    const { base, task, tokenizer } = resources;
    if (tokenizer.vocabSize > base.config.vocabSize) {
      throw new Error(`trial ${key}: tokenizer "${tokenizer.name}" has ${tokenizer.vocabSize} ids, the model ${config.preset} only ${base.config.vocabSize} embeddings`);
    }
    const model = AdaptedModel.create(base, getMethod(config.method), config.options, methodContext(base, task, config.seed, resources.frequentTokens, tokenizer));
    try {
      return new TrialRun(config, key, sweeps, resources, options, model);
    } catch (error) {
      model.dispose();
      throw error;
    }
  }

  private get trains(): boolean {
    return this.model.variables().length > 0 && this.config.training.steps > 0;
  }

  /** Whether the trial takes another training step (not when it trains nothing, has diverged or is done). */
  get wantsStep(): boolean {
    return this.trains && this.status === 'finished' && this.step < this.config.training.steps;
  }

  /** The next step's training examples, from the trial's own order (epochs: every example once before any repeats). */
  nextBatch(): EncodedExample[] {
    const batch: EncodedExample[] = [];
    while (batch.length < this.config.training.batchSize) {
      if (this.pool.length === 0) this.pool = this.order.shuffle([...this.train]);
      batch.push(this.pool.pop() as EncodedExample);
    }
    return batch;
  }

  /** After a step: its loss before the update and this trial's seconds of it; evaluates on dev when due. */
  completeStep(loss: number, seconds: number): void {
    const { steps, evalEvery } = this.config.training;
    this.step += 1;
    const step = this.step;
    this.stepSeconds.push(seconds);
    this.sampleMemory();
    this.options.onStep?.({ step, steps, loss });
    if (!Number.isFinite(loss)) {
      this.status = 'diverged';
      this.divergedAt = { step, loss };
      return;
    }
    this.intervalLoss += loss;
    this.intervalSteps += 1;
    if (step % evalEvery !== 0 && step !== steps) return;
    this.lossCurve.push([step, this.intervalLoss / this.intervalSteps]);
    this.intervalLoss = 0;
    this.intervalSteps = 0;
    let accuracy: number;
    try {
      accuracy = this.evaluate(this.dev);
    } catch (error) {
      // A finite loss, then an update that left non-finite weights: the trial diverged here.
      if (!(error instanceof NonFiniteScoresError)) throw error;
      this.status = 'diverged';
      this.divergedAt = { step, loss: Number.NaN };
      return;
    }
    this.devCurve.push([step, accuracy]);
    if (accuracy > this.best.accuracy) {
      this.best = { step, accuracy };
      this.keepBest();
    }
  }

  /** The record: the last step's scores, then test with the best checkpoint on dev. Call once, after the last step. */
  finish(packing?: PackingInfo): TrialRecord {
    const { config, model, resources } = this;
    const { base, task, tokenizer } = resources;
    let final: TrialRecord['final'] = null;
    if (this.trains) {
      // The last step's test score, beside the chosen one (skipped when the last step is the chosen one;
      // a diverged model's weights are not finite, so its last test score is NaN).
      const last = this.devCurve[this.devCurve.length - 1];
      if (this.status === 'diverged') final = { step: this.divergedAt?.step ?? last[0], dev: last[1], test: NaN };
      else if (this.best.step !== last[0]) final = { step: last[0], dev: last[1], test: this.evaluate(this.test) };
      // Test with the best checkpoint on dev (step 0: the initial values).
      model.variables().forEach((variable, i) => variable.assign(this.snapshots[i]));
    }
    const testAccuracy = this.evaluate(this.test);
    final ??= { step: this.best.step, dev: this.best.accuracy, test: testAccuracy };
    const adapter = adapterTensors(model);
    const adapterValues = [...adapter.values()].reduce((sum, t) => sum + numel(t.shape), 0);
    try {
      this.options.onAdapter?.(adapter, this.model.options);
    } finally {
      for (const t of adapter.values()) t.dispose();
    }
    const { stepSeconds } = this;
    const trainSeconds = stepSeconds.reduce((a, b) => a + b, 0);
    const tokensPerRow = this.rowLength + this.virtual;
    const baseCount = countParameters(modelParameterSpecs(base.config));
    const evaluation = (split: 'dev' | 'test', accuracy: number): Evaluation => ({
      accuracy,
      examples: task.splits[split].length,
      majority: task.majorityBaseline(split).accuracy,
    });
    // Sealed here, where the trial is produced: a later edit of the record no longer matches its checksum.
    return sealRecord({
      format: RESULTS_FORMAT_VERSION,
      key: this.key,
      sweeps: this.sweeps,
      config,
      status: this.status,
      divergedAt: this.divergedAt,
      parameters: { trainable: model.plan.trainable, base: baseCount, total: model.plan.total, percent: model.plan.percent, adapterBytes: 4 * adapterValues },
      dev: { ...evaluation('dev', this.best.accuracy), bestStep: this.best.step },
      test: evaluation('test', testAccuracy),
      final,
      // Best-dev selection keeps step 0 on ties: then the record is the untrained init, and says so.
      gainOverInit: this.trains ? this.best.step > 0 : null,
      lossCurve: this.lossCurve,
      devCurve: this.devCurve,
      timing: {
        trainSeconds,
        evalSeconds: this.evalSeconds,
        stepSecondsMedian: stepSeconds.length === 0 ? 0 : median(stepSeconds),
        tokensPerSecond: trainSeconds === 0 ? 0 : (stepSeconds.length * config.training.batchSize * tokensPerRow) / trainSeconds,
        tokensPerRow,
      },
      memory: { peakTensorBytes: this.peakTensorBytes, peakRssBytes: this.peakRssBytes },
      inputs: { tokenizer: tokenizer.name, maxInputTokens: this.budget, truncated: this.truncated },
      ...(task.source === undefined ? {} : { dataset: task.source }),
      ...(packing === undefined ? {} : { packing }),
      environment: resources.environment,
      finishedAt: new Date().toISOString(),
    });
  }

  dispose(): void {
    this.optimizer?.dispose();
    for (const t of this.snapshots.splice(0)) t.dispose();
    this.model.dispose();
  }

  /** Measured points of a trial: tensor bytes and the process's resident set. */
  sampleMemory(): void {
    this.peakTensorBytes = Math.max(this.peakTensorBytes, tf.memory().numBytes);
    this.peakRssBytes = Math.max(this.peakRssBytes, process.memoryUsage().rss);
  }

  private evaluate(examples: readonly EncodedExample[]): number {
    const started = performance.now();
    const accuracy = evaluateAccuracy(this.model, this.resources.task, examples, this.options.evalBatchSize ?? 64, this.resources.tokenizer, this.virtual);
    this.evalSeconds += (performance.now() - started) / 1000;
    this.sampleMemory();
    return accuracy;
  }

  private keepBest(): void {
    for (const t of this.snapshots.splice(0)) t.dispose();
    for (const variable of this.model.variables()) this.snapshots.push(tf.clone(variable));
  }
}

/** Runs one trial alone to its record. Tensors it creates are disposed; the base model is not touched. */
export function runTrial(config: TrialConfig, key: string, sweeps: string[], resources: TrialResources, options: TrialOptions = {}): TrialRecord {
  const run = TrialRun.start(config, key, sweeps, resources, options);
  try {
    while (run.wantsStep) {
      const [tokens, mask] = trainingBatch(run.nextBatch(), run.rowLength, resources.tokenizer);
      const started = performance.now();
      let loss: number;
      try {
        loss = trainStep(run.model, run.optimizer as tf.Optimizer, tokens, mask);
      } finally {
        tokens.dispose();
        mask.dispose();
      }
      run.completeStep(loss, (performance.now() - started) / 1000);
    }
    return run.finish();
  } finally {
    run.dispose();
  }
}

/** Token rows [B, T] right-padded with the tokenizer's pad id, and the loss mask [B, T] that is 1 on label tokens. */
export function trainingBatch(batch: readonly EncodedExample[], length: number, tokenizer: Tokenizer): [tf.Tensor2D, tf.Tensor2D] {
  const tokens = new Int32Array(batch.length * length).fill(tokenizer.padId);
  const mask = new Float32Array(batch.length * length);
  batch.forEach((example, b) => {
    const row = [tokenizer.endOfTextId, ...example.context, ...example.label];
    tokens.set(row, b * length);
    mask.fill(1, b * length + 1 + example.context.length, b * length + row.length);
  });
  return [tf.tensor2d(tokens, [batch.length, length], 'int32'), tf.tensor2d(mask, [batch.length, length])];
}
