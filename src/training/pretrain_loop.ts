/**
 * Causal-LM pretraining of one GPT2 config on tokenized documents: the training loop. Generic: it knows
 * nothing of the datasets; callers hand it token arrays (batches: pretrain_data.ts).
 *
 * Determinism: the initial weights come from `seed` (JS-side, backend independent) and the rows of step
 * `s` are a pure function of (seed, step), so the "RNG position" to checkpoint is the step number itself.
 * The optimiser is AdamW (adamw.ts) with bias corrections from the step number, and its moments are plain
 * tensors we save and restore exactly (pretrain_checkpoint.ts). On one backend, a resumed run therefore
 * repeats the uninterrupted run bit for bit (tested).
 *
 * Optimiser: AdamW (β1 0.9, β2 0.95), linear warmup then cosine decay to `finalLearningRateFraction` of
 * the peak (pretrain_schedule.ts), gradients clipped to a global norm, optional decoupled weight decay on
 * matrices.
 */
import * as tf from '@tensorflow/tfjs-core';
import { AdamW, clipByGlobalNorm } from './adamw.js';
import { validateModelConfig, type ModelConfig } from '../model/config.js';
import { GPT2 } from '../model/model.js';
import { countParameters, modelParameterSpecs } from '../model/params.js';
import { PRETRAIN_STATE_FORMAT, PRETRAIN_STATE_VERSION, readLatestCheckpoint, writeTrainingCheckpoint, type TrainingState } from './pretrain_checkpoint.js';
import { batchRows, buildTokenStream, heldOutLoss, type HeldOutLoss } from './pretrain_data.js';
import { learningRateAt, resolveSchedule, type PretrainSchedule, type PretrainScheduleInput } from './pretrain_schedule.js';

/** What the progress callback receives after every step. */
export interface PretrainProgress {
  /** Steps completed. */
  step: number;
  totalSteps: number;
  /** Loss of the step just taken (before its update). */
  loss: number;
  /** Exponential moving average of the loss (smooths batch noise for display). */
  smoothedLoss: number;
  learningRate: number;
  /** Training tokens per second in this process (excludes checkpoint saves and evaluation). */
  tokensPerSecond: number;
  /** Seconds since this process started (or resumed) training. */
  elapsedSeconds: number;
  /** Estimated seconds left, from this process's step rate. */
  etaSeconds: number;
  /** Set on steps where held-out loss was evaluated (evalEvery). */
  heldOutLoss?: number;
}

export interface PretrainOptions {
  config: ModelConfig;
  /** Seeds the initial weights and the batch order. */
  seed: number;
  schedule: PretrainScheduleInput;
  /** Training documents as token ids, without <|endoftext|> (appended here). */
  train: readonly (readonly number[])[];
  /** Held-out documents for {@link heldOutLoss} at the end (and every `evalEvery` steps). */
  heldout?: readonly (readonly number[])[];
  /** Documents per held-out batch (default 16). */
  evalBatchSize?: number;
  /** Evaluate held-out loss every this many steps (default 0: only at the end). */
  evalEvery?: number;
  /** Folder for resumable checkpoints; without it nothing is written. */
  checkpointDir?: string;
  /** Checkpoint every this many steps (default: a tenth of the steps); the last step is always saved. */
  checkpointEvery?: number;
  /** Stop after this many steps in all, as if killed (no extra checkpoint): for tests and time slicing. */
  stopAfterStep?: number;
  onProgress?: (progress: PretrainProgress) => void;
  /** Messages worth keeping (resumed from, checkpoint damaged, ...). */
  onLog?: (message: string) => void;
}

export interface PretrainResult {
  /** The trained model; the caller owns it (its weights are the trained tf.Variables). */
  model: GPT2;
  /** Steps completed. */
  step: number;
  /** Whether all `schedule.steps` are done (false when stopped by stopAfterStep). */
  completed: boolean;
  /** The checkpoint step this run resumed from, or null for a fresh start. */
  resumedFrom: number | null;
  schedule: PretrainSchedule;
  parameters: number;
  /** Loss of the last step taken (NaN when no step was taken in this process and none was saved). */
  lastLoss: number;
  /** Held-out loss at the end (null without held-out documents, or when not completed). */
  heldOut: HeldOutLoss | null;
  /** Training seconds over all sessions (resumed runs add up). */
  trainingSeconds: number;
  /** Training tokens seen over all sessions. */
  trainTokens: number;
  /** Sampled (step, loss) points over all sessions, for plots. */
  lossCurve: [number, number][];
}

/**
 * Pretrains a GPT2 of `config` from seeded initial weights, resuming from `checkpointDir` when it holds
 * a checkpoint of the same run (same config, seed, schedule and data; anything else is an error).
 */
export async function pretrain(options: PretrainOptions): Promise<PretrainResult> {
  const config = validateModelConfig(options.config);
  const schedule = resolveSchedule(options.schedule, config);
  const stream = buildTokenStream(options.train, config.vocabSize);
  const specs = modelParameterSpecs(config);
  const checkpointEvery = options.checkpointEvery ?? Math.max(1, Math.round(schedule.steps / 10));
  if (!Number.isInteger(checkpointEvery) || checkpointEvery < 1) throw new Error(`checkpointEvery = ${checkpointEvery}: must be an integer ≥ 1`);
  const log = options.onLog ?? ((): void => undefined);

  // Start: seeded init, or the latest checkpoint of this very run.
  let step = 0;
  let resumedFrom: number | null = null;
  let weights: Map<string, tf.Tensor>;
  let moments: Map<string, tf.Tensor> | null = null;
  let lastLoss = NaN;
  let smoothedLoss = NaN;
  let trainingSeconds = 0;
  let lossCurve: [number, number][] = [];
  const saved = options.checkpointDir === undefined ? null : await readLatestCheckpoint(options.checkpointDir);
  if (saved !== null) {
    const expected = { seed: options.seed, config, schedule, dataHash: stream.hash };
    const differs = (Object.keys(expected) as (keyof typeof expected)[]).filter((key) => JSON.stringify(saved.state[key]) !== JSON.stringify(expected[key]));
    if (differs.length > 0) {
      saved.dispose();
      throw new Error(
        `the checkpoint in ${options.checkpointDir} belongs to a different pretraining run (differs in: ${differs.join(', ')}); ` +
          `use another checkpoint folder or delete this one to start over`,
      );
    }
    step = saved.state.step;
    resumedFrom = step;
    weights = saved.weights;
    moments = saved.moments;
    lastLoss = saved.state.lastLoss;
    smoothedLoss = saved.state.smoothedLoss;
    trainingSeconds = saved.state.trainingSeconds;
    lossCurve = saved.state.lossCurve;
    log(`resuming from the checkpoint at step ${step}/${schedule.steps} in ${options.checkpointDir}`);
  } else {
    weights = new Map(GPT2.initialize(config, options.seed).parameters());
  }

  // Trainable variables hold the weights; the GPT2 reads them directly, so gradients reach them.
  const variables = new Map<string, tf.Variable>();
  const optimizer = createPretrainOptimizer(schedule, step);
  for (const spec of specs) {
    const variable = tf.variable(weights.get(spec.name) as tf.Tensor, true);
    variables.set(spec.name, variable);
    const m = moments?.get(`m.${spec.name}`);
    const v = moments?.get(`v.${spec.name}`);
    if (m !== undefined && v !== undefined) optimizer.restoreMoments(variable, m, v);
  }
  for (const tensor of weights.values()) tensor.dispose();
  if (moments !== null) for (const tensor of moments.values()) tensor.dispose();
  const model = GPT2.fromWeights(config, variables, 'pretraining variables');
  const variableList = [...variables.values()];

  const stopAt = Math.min(schedule.steps, options.stopAfterStep ?? schedule.steps);
  const tokensPerStep = schedule.batchSize * schedule.sequenceLength;
  const curveEvery = Math.max(1, Math.floor(schedule.steps / 200));
  const startStep = step;
  let computeSeconds = 0;
  const sessionStart = performance.now();
  try {
    while (step < stopAt) {
      const t0 = performance.now();
      const learningRate = learningRateAt(step, schedule);
      const rows = batchRows(stream, options.seed, step, schedule.batchSize, schedule.sequenceLength);
      optimizer.learningRate = learningRate;
      lastLoss = trainStepAdamW(model, variableList, optimizer, rows, schedule);
      if (!Number.isFinite(lastLoss)) {
        throw new Error(`pretraining diverged: loss ${lastLoss} at step ${step + 1} (learning rate ${learningRate.toExponential(2)}); lower the learning rate`);
      }
      step++;
      computeSeconds += (performance.now() - t0) / 1000;
      smoothedLoss = Number.isNaN(smoothedLoss) ? lastLoss : 0.95 * smoothedLoss + 0.05 * lastLoss;
      if (step % curveEvery === 0 || step === schedule.steps) lossCurve.push([step, lastLoss]);

      let evaluated: number | undefined;
      const evalEvery = options.evalEvery ?? 0;
      if (evalEvery > 0 && options.heldout !== undefined && step % evalEvery === 0 && step < schedule.steps) {
        evaluated = heldOutLoss(model, options.heldout, { batchSize: options.evalBatchSize }).loss;
      }
      const elapsedSeconds = (performance.now() - sessionStart) / 1000;
      const stepsDone = step - startStep;
      options.onProgress?.({
        step,
        totalSteps: schedule.steps,
        loss: lastLoss,
        smoothedLoss,
        learningRate,
        tokensPerSecond: (stepsDone * tokensPerStep) / Math.max(computeSeconds, 1e-9),
        elapsedSeconds,
        etaSeconds: ((schedule.steps - step) * elapsedSeconds) / stepsDone,
        ...(evaluated === undefined ? {} : { heldOutLoss: evaluated }),
      });

      if (options.checkpointDir !== undefined && (step % checkpointEvery === 0 || step === schedule.steps)) {
        const state: TrainingState = {
          format: PRETRAIN_STATE_FORMAT,
          formatVersion: PRETRAIN_STATE_VERSION,
          step,
          seed: options.seed,
          config,
          schedule,
          dataHash: stream.hash,
          lastLoss,
          smoothedLoss,
          trainingSeconds: trainingSeconds + computeSeconds,
          lossCurve,
        };
        await writeTrainingCheckpoint(options.checkpointDir, model, momentsOf(variables, optimizer), state);
      }
    }
  } catch (error) {
    model.dispose();
    optimizer.dispose();
    throw error;
  }
  optimizer.dispose();
  trainingSeconds += computeSeconds;
  const completed = step >= schedule.steps;
  const heldOut = completed && options.heldout !== undefined ? heldOutLoss(model, options.heldout, { batchSize: options.evalBatchSize }) : null;
  return {
    model,
    step,
    completed,
    resumedFrom,
    schedule,
    parameters: countParameters(specs),
    lastLoss,
    heldOut,
    trainingSeconds,
    trainTokens: step * tokensPerStep,
    lossCurve,
  };
}

/** AdamW as pretraining runs it: bias corrections from the step number, so a resumed run repeats the uninterrupted one. */
function createPretrainOptimizer(schedule: PretrainSchedule, step: number): AdamW {
  const { learningRate, beta1, beta2, epsilon, weightDecay } = schedule;
  return new AdamW({ learningRate, beta1, beta2, epsilon, weightDecay, biasCorrection: 'float64', step });
}

/** The optimiser's moments by parameter name, as the checkpoint stores them: "m.NAME", "v.NAME", in parameter order. */
function momentsOf(variables: ReadonlyMap<string, tf.Variable>, optimizer: AdamW): Map<string, tf.Tensor> {
  const moments = new Map<string, tf.Tensor>();
  for (const [name, variable] of variables) {
    const slot = optimizer.moments(variable);
    if (slot === undefined) throw new Error(`pretraining checkpoint: no optimiser moments for "${name}" yet`);
    moments.set(`m.${name}`, slot.m);
    moments.set(`v.${name}`, slot.v);
  }
  return moments;
}

/** One AdamW step on rows [B, T], gradients clipped to the schedule's global norm; returns the loss before the update. */
function trainStepAdamW(model: GPT2, variableList: tf.Variable[], optimizer: AdamW, rows: Int32Array, schedule: PretrainSchedule): number {
  const tokens = tf.tensor2d(rows, [schedule.batchSize, schedule.sequenceLength], 'int32'); // [B, T]
  const { value, grads } = tf.variableGrads(() => model.languageModelLoss(tokens, { training: true }), variableList);
  tf.tidy(() => {
    const gradients = variableList.map((variable) => grads[variable.name]);
    const clipped = schedule.gradientClip > 0 ? clipByGlobalNorm(gradients, schedule.gradientClip) : gradients;
    optimizer.applyGradients(Object.fromEntries(variableList.map((variable, i) => [variable.name, clipped[i]])));
  });
  const loss = value.dataSync()[0];
  value.dispose();
  tokens.dispose();
  for (const gradient of Object.values(grads)) gradient.dispose();
  return loss;
}
