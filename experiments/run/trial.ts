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
import { argmax, labelRows, NonFiniteScoresError, sequenceScores, sharedContextScores } from '../../src/inference/scoring.js';
import type { Tokenizer } from '../../src/io/tokenizer.js';
import { forwardBytesPerRow } from '../../src/model/memory.js';
import { createOptimizer, trainStep } from '../../src/training/train.js';
import { median } from '../../src/util/bench_timing.js';
import type { Task, TaskExample } from '../../datasets/tasks.js';
import { fitInput } from '../../datasets/truncate.js';

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

/** An example as token ids. */
export interface EncodedExample {
  context: number[];
  label: number[];
  /** Index of the right label in task.labels. */
  answer: number;
  /** Whether the input was shortened to fit the context. */
  truncated: boolean;
}

/**
 * Input token ids that fit after `virtual` positions with room for <|endoftext|> and the longest label
 * word (each label is scored): the text is shortened when needed, never the label.
 */
export function inputBudget(task: Task, tokenizer: Tokenizer, contextLength: number, virtual: number): number {
  const longestLabel = Math.max(...task.labels.map((label) => tokenizer.encode(label).length));
  return contextLength - virtual - 1 - longestLabel;
}

function encodeExamples(task: Task, examples: readonly TaskExample[], tokenizer: Tokenizer, budget: number): EncodedExample[] {
  return examples.map((example) => {
    const answer = task.labels.indexOf(example.label);
    if (answer < 0) throw new Error(`task "${task.name}": example ${example.id} has label ${JSON.stringify(example.label)}, not one of ${JSON.stringify(task.labels)}`);
    const fitted = fitInput(task, example, budget, tokenizer, task.truncateField);
    return { context: fitted.ids, label: tokenizer.encode(example.label), answer, truncated: fitted.truncated };
  });
}

/** A split's examples as token ids (context fitted to `budget` tokens, label, index of the right label). */
export function encodedSplit(task: Task, split: 'train' | 'dev' | 'test', tokenizer: Tokenizer, budget: number): EncodedExample[] {
  return encodeExamples(task, task.splits[split], tokenizer, budget);
}

/**
 * Accuracy of label-word scoring over encoded examples, with the current hooks of `model`. Batches hold
 * at most `batchSize` rows and what fits scoringMemoryBytes() (rows of `virtual` extra positions each).
 */
export function evaluateAccuracy(model: AdaptedModel, task: Task, examples: readonly EncodedExample[], batchSize: number, tokenizer: Tokenizer, virtual = 0): number {
  if (examples.length === 0) return NaN;
  const labels = task.labels.map((label) => tokenizer.encode(label));
  const longestLabel = Math.max(...labels.map((label) => label.length));
  const rowBytes = (length: number): number => forwardBytesPerRow(model.base.config, length, virtual, longestLabel);
  const logitsAt = (tokens: tf.Tensor2D, positions: Int32Array): tf.Tensor2D => model.logitsAt(tokens, positions, false);
  const options = { batchSize, padId: tokenizer.padId, rowBytes, startId: tokenizer.endOfTextId };
  // Single-token labels (RTE's " yes"/" no", the generated tasks' words) share one row per example.
  const perExample =
    longestLabel === 1
      ? sharedContextScores(logitsAt, examples.map((e) => e.context), labels.map((label) => label[0]), options)
      : chunked(sequenceScores(logitsAt, examples.flatMap((example) => labelRows(example.context, labels, tokenizer.endOfTextId)), options), labels.length);
  let correct = 0;
  examples.forEach((example, i) => {
    if (argmax(perExample[i]) === example.answer) correct += 1;
  });
  return correct / examples.length;
}

/** values cut into consecutive groups of `size`. */
function chunked(values: readonly number[], size: number): number[][] {
  return Array.from({ length: values.length / size }, (_, i) => values.slice(i * size, (i + 1) * size));
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

/** Positions the method puts before the real tokens (prompt tuning's k), from its hooks. */
function virtualPositions(model: AdaptedModel): number {
  const context = { config: model.base.config, batchSize: 1, sequenceLength: 1, training: false };
  return tf.tidy(() => model.hooks().inputPrefix?.(context)?.shape.at(-2) ?? 0);
}

/** Runs one trial to its record. Tensors it creates are disposed; the base model is not touched. */
export function runTrial(config: TrialConfig, key: string, sweeps: string[], resources: TrialResources, options: TrialOptions = {}): TrialRecord {
  const { base, task, tokenizer } = resources;
  if (tokenizer.vocabSize > base.config.vocabSize) {
    throw new Error(`trial ${key}: tokenizer "${tokenizer.name}" has ${tokenizer.vocabSize} ids, the model ${config.preset} only ${base.config.vocabSize} embeddings`);
  }
  const method = getMethod(config.method);
  const evalBatchSize = options.evalBatchSize ?? 64;
  const model = AdaptedModel.create(base, method, config.options, methodContext(base, task, config.seed, resources.frequentTokens, tokenizer));
  const snapshots: tf.Tensor[] = [];
  try {
    // Inputs are fitted to what the context leaves after the method's virtual positions, <|endoftext|> and
    // the longest label word (each is scored), so no row fails mid-training or at evaluation.
    const virtual = virtualPositions(model);
    const budget = inputBudget(task, tokenizer, base.config.contextLength, virtual);
    if (budget < 1) throw new Error(`trial ${key}: ${virtual} virtual positions and the label words leave no room for input in the context of ${base.config.contextLength} of ${config.preset}`);
    const train = encodeExamples(task, task.splits.train, tokenizer, budget);
    const dev = encodeExamples(task, task.splits.dev, tokenizer, budget);
    const test = encodeExamples(task, task.splits.test, tokenizer, budget);
    const longestLabel = Math.max(...task.labels.map((label) => tokenizer.encode(label).length));
    const rowLength = 1 + Math.max(...[...train, ...dev, ...test].map((e) => e.context.length)) + longestLabel;
    const truncatedCount = (examples: readonly EncodedExample[]): number => examples.filter((e) => e.truncated).length;

    let peakTensorBytes = tf.memory().numBytes;
    let peakRssBytes = process.memoryUsage().rss;
    const sampleMemory = (): void => {
      peakTensorBytes = Math.max(peakTensorBytes, tf.memory().numBytes);
      peakRssBytes = Math.max(peakRssBytes, process.memoryUsage().rss);
    };

    let evalSeconds = 0;
    const evaluate = (examples: readonly EncodedExample[]): number => {
      const started = performance.now();
      const accuracy = evaluateAccuracy(model, task, examples, evalBatchSize, tokenizer, virtual);
      evalSeconds += (performance.now() - started) / 1000;
      sampleMemory();
      return accuracy;
    };

    const trains = model.variables().length > 0 && config.training.steps > 0;
    const devCurve: [number, number][] = [];
    const lossCurve: [number, number][] = [];
    let best = { step: 0, accuracy: evaluate(dev) };
    devCurve.push([0, best.accuracy]);
    const keepBest = (): void => {
      for (const t of snapshots.splice(0)) t.dispose();
      for (const variable of model.variables()) snapshots.push(tf.clone(variable));
    };
    if (trains) keepBest();

    let status: TrialStatus = 'finished';
    let divergedAt: TrialRecord['divergedAt'] = null;
    const stepSeconds: number[] = [];
    let final: TrialRecord['final'] = null;
    if (trains) {
      const optimizer = createOptimizer(config.training.optimizer, config.training.learningRate, { weightDecay: config.training.weightDecay });
      const order = new Random(config.seed, `trial:batches:${task.name}`);
      let pool: EncodedExample[] = [];
      let intervalLoss = 0;
      let intervalSteps = 0;
      try {
        for (let step = 1; step <= config.training.steps; step++) {
          const batch: EncodedExample[] = [];
          while (batch.length < config.training.batchSize) {
            if (pool.length === 0) pool = order.shuffle([...train]); // epochs: every example once before any repeats
            batch.push(pool.pop() as EncodedExample);
          }
          const [tokens, mask] = trainingBatch(batch, rowLength, tokenizer);
          const started = performance.now();
          let loss: number;
          try {
            loss = trainStep(model, optimizer, tokens, mask);
          } finally {
            tokens.dispose();
            mask.dispose();
          }
          stepSeconds.push((performance.now() - started) / 1000);
          sampleMemory();
          options.onStep?.({ step, steps: config.training.steps, loss });
          if (!Number.isFinite(loss)) {
            status = 'diverged';
            divergedAt = { step, loss };
            break;
          }
          intervalLoss += loss;
          intervalSteps += 1;
          if (step % config.training.evalEvery === 0 || step === config.training.steps) {
            lossCurve.push([step, intervalLoss / intervalSteps]);
            intervalLoss = 0;
            intervalSteps = 0;
            let accuracy: number;
            try {
              accuracy = evaluate(dev);
            } catch (error) {
              // A finite loss, then an update that left non-finite weights: the trial diverged here.
              if (!(error instanceof NonFiniteScoresError)) throw error;
              status = 'diverged';
              divergedAt = { step, loss: Number.NaN };
              break;
            }
            devCurve.push([step, accuracy]);
            if (accuracy > best.accuracy) {
              best = { step, accuracy };
              keepBest();
            }
          }
        }
      } finally {
        optimizer.dispose();
      }
      // The last step's test score, beside the chosen one (skipped when the last step is the chosen one;
      // a diverged model's weights are not finite, so its last test score is NaN).
      const last = devCurve[devCurve.length - 1];
      if (status === 'diverged') final = { step: divergedAt?.step ?? last[0], dev: last[1], test: NaN };
      else if (best.step !== last[0]) final = { step: last[0], dev: last[1], test: evaluate(test) };
      // Test with the best checkpoint on dev (step 0: the initial values).
      model.variables().forEach((variable, i) => variable.assign(snapshots[i]));
    }

    const testAccuracy = evaluate(test);
    final ??= { step: best.step, dev: best.accuracy, test: testAccuracy };
    const adapter = adapterTensors(model);
    const adapterValues = [...adapter.values()].reduce((sum, t) => sum + numel(t.shape), 0);
    try {
      options.onAdapter?.(adapter, model.options);
    } finally {
      for (const t of adapter.values()) t.dispose();
    }
    const trainSeconds = stepSeconds.reduce((a, b) => a + b, 0);
    const tokensPerRow = rowLength + virtual;
    const baseCount = countParameters(modelParameterSpecs(base.config));
    const evaluation = (split: 'dev' | 'test', accuracy: number): Evaluation => ({
      accuracy,
      examples: task.splits[split].length,
      majority: task.majorityBaseline(split).accuracy,
    });
    // Sealed here, where the trial is produced: a later edit of the record no longer matches its checksum.
    return sealRecord({
      format: RESULTS_FORMAT_VERSION,
      key,
      sweeps,
      config,
      status,
      divergedAt,
      parameters: { trainable: model.plan.trainable, base: baseCount, total: model.plan.total, percent: model.plan.percent, adapterBytes: 4 * adapterValues },
      dev: { ...evaluation('dev', best.accuracy), bestStep: best.step },
      test: evaluation('test', testAccuracy),
      final,
      // Best-dev selection keeps step 0 on ties: then the record is the untrained init, and says so.
      gainOverInit: trains ? best.step > 0 : null,
      lossCurve,
      devCurve,
      timing: {
        trainSeconds,
        evalSeconds,
        stepSecondsMedian: stepSeconds.length === 0 ? 0 : median(stepSeconds),
        tokensPerSecond: trainSeconds === 0 ? 0 : (stepSeconds.length * config.training.batchSize * tokensPerRow) / trainSeconds,
        tokensPerRow,
      },
      memory: { peakTensorBytes, peakRssBytes },
      inputs: { tokenizer: tokenizer.name, maxInputTokens: budget, truncated: { train: truncatedCount(train), dev: truncatedCount(dev), test: truncatedCount(test) } },
      ...(task.source === undefined ? {} : { dataset: task.source }),
      environment: resources.environment,
      finishedAt: new Date().toISOString(),
    });
  } finally {
    for (const t of snapshots) t.dispose();
    model.dispose();
  }
}

/** Token rows [B, T] right-padded with the tokenizer's pad id, and the loss mask [B, T] that is 1 on label tokens. */
function trainingBatch(batch: readonly EncodedExample[], length: number, tokenizer: Tokenizer): [tf.Tensor2D, tf.Tensor2D] {
  const tokens = new Int32Array(batch.length * length).fill(tokenizer.padId);
  const mask = new Float32Array(batch.length * length);
  batch.forEach((example, b) => {
    const row = [tokenizer.endOfTextId, ...example.context, ...example.label];
    tokens.set(row, b * length);
    mask.fill(1, b * length + 1 + example.context.length, b * length + row.length);
  });
  return [tf.tensor2d(tokens, [batch.length, length], 'int32'), tf.tensor2d(mask, [batch.length, length])];
}
