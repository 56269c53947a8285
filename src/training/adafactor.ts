/**
 * Adafactor (Shazeer & Stern 2018, "Adafactor: Adaptive Learning Rates with Sublinear Memory Cost") in
 * the configuration Lester et al. 2021 used for prompt tuning, with the semantics of Hugging Face
 * transformers' `Adafactor(scale_parameter=False, relative_step=False, warmup_init=False, beta1=None)`:
 *
 * - a constant learning rate (no relative step, no warm-up); by default no scaling by the parameter's RMS;
 *   with `scaleParameter` (HF's `scale_parameter=True`) the step is lr · max(eps2, RMS(p)), relative to the
 *   parameter's own scale, which the weight decay then uses too (as HF does);
 * - no momentum (beta1 = 0), so the only state is the second-moment estimate;
 * - second-moment decay beta2_t = 1 - t^(-decayRate), t counted per variable from 1 (so step 1 keeps
 *   nothing of the zero initial state);
 * - eps1 added to grad² before averaging;
 * - for a variable of rank ≥ 2 the second moment is factored over the last two dimensions: running
 *   means of grad² over the last dimension ("row", shape[:-1]) and over the second-to-last ("col",
 *   shape[:-2] + shape[-1:]), and the estimate is row ⊗ col / mean(row); rank 0 and 1 keep the full
 *   running mean;
 * - the update g / sqrt(v̂) is divided by max(1, RMS(update) / clipThreshold), then scaled by the
 *   learning rate;
 * - decoupled weight decay p ← p - lr·weightDecay·p, applied before the update (as HF does).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { Adafactor } from './adafactor.js';
 *
 * const w = tf.variable(tf.randomNormal([8, 16]));
 * const optimizer = new Adafactor({ learningRate: 0.3, weightDecay: 1e-5 });
 * for (let step = 0; step < 100; step++) {
 *   const loss = optimizer.minimize(() => tf.sum(tf.square(w)), true, [w]);
 *   loss?.dispose();
 * }
 * optimizer.dispose();
 * ```
 */
import * as tf from '@tensorflow/tfjs-core';

export interface AdafactorConfig {
  /** Constant step size; Lester et al. use 0.3. */
  learningRate: number;
  /** Decoupled weight decay: p ← p - learningRate·weightDecay·p each step. Default 0. */
  weightDecay?: number;
  /** c in beta2_t = 1 - t^(-c). Default 0.8 (the paper's and HF's value, passed to HF as -0.8). */
  decayRate?: number;
  /** Largest allowed RMS of an update before the learning rate; Infinity turns clipping off. Default 1. */
  clipThreshold?: number;
  /** Added to grad² so that zero gradients do not divide by zero. Default 1e-30. */
  eps1?: number;
  /** Multiply the step by max(eps2, RMS(parameter)) (HF scale_parameter). Default false. */
  scaleParameter?: boolean;
  /** Floor of the parameter RMS under scaleParameter. Default 1e-3 (HF's eps[1]). */
  eps2?: number;
}

/** The config with every default filled in. */
export type ResolvedAdafactorConfig = Required<AdafactorConfig>;

export const ADAFACTOR_DEFAULTS: Readonly<Omit<ResolvedAdafactorConfig, 'learningRate'>> = {
  weightDecay: 0,
  decayRate: 0.8,
  clipThreshold: 1,
  eps1: 1e-30,
  scaleParameter: false,
  eps2: 1e-3,
};

const CONFIG_FIELDS = ['learningRate', 'weightDecay', 'decayRate', 'clipThreshold', 'eps1', 'scaleParameter', 'eps2'] as const;

/** Fills defaults and checks every field; one error lists every problem, each with field, value and what is allowed. */
export function resolveAdafactorConfig(config: AdafactorConfig): ResolvedAdafactorConfig {
  if (typeof config !== 'object' || config === null) throw new Error(`Adafactor config = ${String(config)}: must be an object with a learningRate`);
  const problems: string[] = [];
  for (const key of Object.keys(config)) {
    // Options of other Adafactor variants (relativeStep, beta1, scaleParameter...) are not silently ignored.
    if (!(CONFIG_FIELDS as readonly string[]).includes(key)) problems.push(`unknown field "${key}": allowed fields: ${CONFIG_FIELDS.join(', ')}`);
  }
  const resolved: ResolvedAdafactorConfig = { ...ADAFACTOR_DEFAULTS, ...definedOnly(config) } as ResolvedAdafactorConfig;
  const check = (field: Exclude<keyof ResolvedAdafactorConfig, 'scaleParameter'>, ok: (v: number) => boolean, allowed: string): void => {
    const value: unknown = resolved[field];
    if (typeof value !== 'number' || Number.isNaN(value) || !ok(value)) problems.push(`${field} = ${typeof value === 'number' ? String(value) : (JSON.stringify(value) ?? String(value))}: allowed: ${allowed}`);
  };
  check('learningRate', (v) => Number.isFinite(v) && v > 0, 'a finite number > 0');
  check('weightDecay', (v) => Number.isFinite(v) && v >= 0, 'a finite number ≥ 0');
  // c > 1 makes the weights t^(-c) summable: the estimate would stop following new gradients.
  check('decayRate', (v) => v > 0 && v <= 1, 'a number in (0, 1] (beta2_t = 1 - t^(-decayRate); 0.8 in the paper)');
  check('clipThreshold', (v) => v > 0, 'a number > 0 (Infinity disables update clipping)');
  check('eps1', (v) => Number.isFinite(v) && v > 0, 'a finite number > 0 (e.g. 1e-30)');
  check('eps2', (v) => Number.isFinite(v) && v > 0, 'a finite number > 0 (e.g. 1e-3)');
  if (typeof resolved.scaleParameter !== 'boolean') problems.push(`scaleParameter = ${JSON.stringify(resolved.scaleParameter)}: allowed: true or false`);
  if (problems.length > 0) throw new Error(`Adafactor config: ${problems.join('; ')}`);
  return resolved;
}

function definedOnly(config: AdafactorConfig): Partial<AdafactorConfig> {
  return Object.fromEntries(Object.entries(config).filter(([, value]) => value !== undefined)) as Partial<AdafactorConfig>;
}

/** Second-moment state of one variable: factored (row, col) for rank ≥ 2, full (v) otherwise. */
interface SlotState {
  /** Steps this variable has taken, mirrored in stepVariable so that getWeights/setWeights carry it. */
  step: number;
  stepVariable: tf.Variable;
  row: tf.Variable | null; // shape[:-1]
  col: tf.Variable | null; // shape[:-2] + shape[-1:]
  v: tf.Variable | null; // shape
}

/** As TensorFlow.js's own NamedTensor (not exported from the package root). */
type NamedTensor = { name: string; tensor: tf.Tensor };

/** A non-trainable variable holding init(), with the intermediate tensors freed. */
const stateVariable = (init: () => tf.Tensor): tf.Variable => tf.tidy(() => tf.variable(init(), false));

const SLOT_SUFFIXES = ['step', 'row', 'col', 'v'] as const;
type SlotSuffix = (typeof SLOT_SUFFIXES)[number];

const isFactored = (shape: readonly number[]): boolean => shape.length >= 2;

function rowShape(shape: readonly number[]): number[] {
  return shape.slice(0, -1);
}

function colShape(shape: readonly number[]): number[] {
  return [...shape.slice(0, -2), shape[shape.length - 1]];
}

export class Adafactor extends tf.Optimizer {
  static readonly className = 'Adafactor';
  readonly config: ResolvedAdafactorConfig;
  /** Per variable name, in the order first seen (that order is the order of getWeights). */
  private slots = new Map<string, SlotState>();

  constructor(config: AdafactorConfig) {
    super();
    this.config = resolveAdafactorConfig(config);
  }

  override applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    const entries: [string, tf.Tensor | null | undefined][] = Array.isArray(variableGradients)
      ? variableGradients.map((g) => [g.name, g.tensor])
      : Object.entries(variableGradients);
    const { weightDecay, decayRate, clipThreshold, eps1, scaleParameter, eps2 } = this.config;
    for (const [name, gradient] of entries) {
      // HF skips parameters without a gradient, and their step count does not advance.
      if (gradient === null || gradient === undefined) continue;
      const variable = tf.engine().registeredVariables[name] as tf.Variable | undefined;
      if (variable === undefined) throw new Error(`Adafactor: no variable named "${name}" is registered for the gradient`);
      if (!tf.util.arraysEqual(variable.shape, gradient.shape)) {
        throw new Error(`Adafactor: gradient for "${name}" has shape [${gradient.shape}], the variable [${variable.shape}]`);
      }
      const slot = this.slotFor(name, variable.shape);
      const step = slot.step + 1;
      // 1 - t^(-c) in double precision from the step number: 0 at t = 1, so the zero initial state drops out.
      const beta2t = 1 - Math.pow(step, -decayRate);
      tf.tidy(() => {
        const g = tf.cast(gradient, 'float32');
        const gradSquared = tf.add(tf.square(g), eps1); // shape
        let update: tf.Tensor; // shape
        if (slot.row !== null && slot.col !== null) {
          const row = tf.add(tf.mul(slot.row, beta2t), tf.mul(tf.mean(gradSquared, -1), 1 - beta2t)); // shape[:-1]
          const col = tf.add(tf.mul(slot.col, beta2t), tf.mul(tf.mean(gradSquared, -2), 1 - beta2t)); // shape[:-2] + shape[-1:]
          slot.row.assign(row);
          slot.col.assign(col);
          // v̂ = row ⊗ col / mean(row): the rank-1 approximation of the running mean of grad².
          const rowFactor = tf.expandDims(tf.rsqrt(tf.div(row, tf.mean(row, -1, true))), -1); // [..., R, 1]
          const colFactor = tf.expandDims(tf.rsqrt(col), -2); // [..., 1, C]
          update = tf.mul(tf.mul(rowFactor, colFactor), g);
        } else {
          const v = tf.add(tf.mul(slot.v as tf.Variable, beta2t), tf.mul(gradSquared, 1 - beta2t)); // shape
          (slot.v as tf.Variable).assign(v);
          update = tf.mul(tf.rsqrt(v), g);
        }
        // Update clipping: an update whose RMS exceeds clipThreshold is scaled down to it (no-op otherwise).
        const rms = tf.sqrt(tf.mean(tf.square(update))); // []
        update = tf.div(update, tf.maximum(tf.div(rms, clipThreshold), 1));
        // The step: constant, or relative to the parameter's RMS before this update (HF scale_parameter).
        const learningRate: tf.Tensor | number = scaleParameter ? tf.mul(tf.maximum(tf.sqrt(tf.mean(tf.square(variable))), eps2), this.config.learningRate) : this.config.learningRate; // []
        update = tf.mul(update, learningRate);
        let value: tf.Tensor = variable;
        // Decoupled weight decay on the current value, then the update, in HF's order.
        if (weightDecay !== 0) value = tf.add(value, tf.mul(value, tf.mul(learningRate, -weightDecay)));
        variable.assign(tf.sub(value, update));
        slot.stepVariable.assign(tf.scalar(step, 'int32'));
      });
      slot.step = step;
    }
    this.incrementIterations();
  }

  /** The state of a variable, created as zeros on its first gradient. */
  private slotFor(name: string, shape: number[]): SlotState {
    const existing = this.slots.get(name);
    if (existing !== undefined) {
      const expected = existing.v !== null ? [existing.v.shape] : [existing.row?.shape, existing.col?.shape];
      const now = isFactored(shape) ? [rowShape(shape), colShape(shape)] : [shape];
      if (JSON.stringify(expected) !== JSON.stringify(now)) throw new Error(`Adafactor: state for "${name}" does not fit its shape [${shape}]`);
      return existing;
    }
    const factored = isFactored(shape);
    const slot: SlotState = {
      step: 0,
      stepVariable: stateVariable(() => tf.scalar(0, 'int32')),
      row: factored ? stateVariable(() => tf.zeros(rowShape(shape))) : null,
      col: factored ? stateVariable(() => tf.zeros(colShape(shape))) : null,
      v: factored ? null : stateVariable(() => tf.zeros(shape)),
    };
    this.slots.set(name, slot);
    return slot;
  }

  override dispose(): void {
    for (const slot of this.slots.values()) disposeSlot(slot);
    this.slots.clear();
  }

  /**
   * [iterations, then per variable `${name}/step` and either `${name}/row`, `${name}/col` (rank ≥ 2) or
   * `${name}/v`]. The state entries are the optimiser's own variables: do not dispose them. The first
   * (iterations) is a fresh tensor, as in every TensorFlow.js optimiser.
   */
  override async getWeights(): Promise<NamedTensor[]> {
    const weights: NamedTensor[] = [await this.saveIterations()];
    for (const [name, slot] of this.slots) {
      weights.push({ name: `${name}/step`, tensor: slot.stepVariable });
      if (slot.row !== null && slot.col !== null) {
        weights.push({ name: `${name}/row`, tensor: slot.row }, { name: `${name}/col`, tensor: slot.col });
      } else if (slot.v !== null) {
        weights.push({ name: `${name}/v`, tensor: slot.v });
      }
    }
    return weights;
  }

  /** Replaces all state with what {@link getWeights} returned (copies: the given tensors stay the caller's). */
  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    const rest = await this.extractIterations(weightValues);
    const grouped = new Map<string, Partial<Record<SlotSuffix, tf.Tensor>>>();
    for (const { name, tensor } of rest) {
      const cut = name.lastIndexOf('/');
      const suffix = name.slice(cut + 1) as SlotSuffix;
      if (cut <= 0 || !SLOT_SUFFIXES.includes(suffix)) throw new Error(`Adafactor.setWeights: weight "${name}": allowed: <variable>/${SLOT_SUFFIXES.join('|')}`);
      const group = grouped.get(name.slice(0, cut)) ?? {};
      if (group[suffix] !== undefined) throw new Error(`Adafactor.setWeights: weight "${name}" appears twice`);
      group[suffix] = tensor;
      grouped.set(name.slice(0, cut), group);
    }
    const slots = new Map<string, SlotState>();
    for (const [name, group] of grouped) {
      const factored = group.row !== undefined || group.col !== undefined;
      if (group.step === undefined || group.step.size !== 1 || (factored ? group.row === undefined || group.col === undefined || group.v !== undefined : group.v === undefined)) {
        throw new Error(`Adafactor.setWeights: state of "${name}" has [${Object.keys(group).join(', ')}]: allowed: step (a scalar) with row and col, or step with v`);
      }
      const step = (await group.step.data())[0];
      if (!Number.isInteger(step) || step < 0) throw new Error(`Adafactor.setWeights: ${name}/step = ${step}: allowed: an integer ≥ 0`);
      const { row, col, v } = group;
      slots.set(name, {
        step,
        stepVariable: stateVariable(() => tf.scalar(step, 'int32')),
        row: row === undefined ? null : stateVariable(() => tf.cast(row, 'float32')),
        col: col === undefined ? null : stateVariable(() => tf.cast(col, 'float32')),
        v: v === undefined ? null : stateVariable(() => tf.cast(v, 'float32')),
      });
    }
    this.dispose();
    this.slots = slots;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...this.config };
  }
}

function disposeSlot(slot: SlotState): void {
  slot.stepVariable.dispose();
  slot.row?.dispose();
  slot.col?.dispose();
  slot.v?.dispose();
}
