/**
 * AdamW: Adam (Kingma & Ba 2015) with decoupled weight decay (Loshchilov & Hutter 2019), the one Adam of
 * the project: pretraining (src/training/pretrain_loop.ts) and fine-tuning's 'adam' (src/training/train.ts) both use it.
 *
 * Per variable p with gradient g, at step t (counted from 1 over the optimiser's life):
 *
 *     m ← β1·m + (1-β1)·g            v ← β2·v + (1-β2)·g²
 *     u ← (m / c1) / (√(v / c2) + ε)  [+ λ·p when λ > 0 and p has rank ≥ 2]
 *     p ← p - lr·u
 *
 * with c_i = 1 - β_i^t, the bias corrections. Two ways of computing them keep the numbers of the runs
 * already made, bit for bit:
 * - 'float64' (pretraining): from the step number in double precision, so a resumed run repeats the
 *   uninterrupted one exactly with no state beyond the step;
 * - 'float32' (fine-tuning): as tf.train.adam does, a float32 running product of β (each product and
 *   1 - β^t rounded to float32), so fine-tuning gives tf.train.adam's weights (tested on every backend).
 *
 * The moments are keyed by the variable's (TensorFlow.js) name; {@link AdamW.moments} and
 * {@link AdamW.restoreMoments} move them to and from a checkpoint.
 */
import * as tf from '@tensorflow/tfjs-core';

export type BiasCorrection = 'float64' | 'float32';

export interface AdamWConfig {
  learningRate: number;
  /** Default 0.9. */
  beta1?: number;
  /** Default 0.999 (tf.train.adam's; pretraining uses 0.95). */
  beta2?: number;
  /** Default 1e-7, tf.train.adam's on float32 backends (pretraining uses 1e-8). */
  epsilon?: number;
  /** Decoupled weight decay λ on tensors of rank ≥ 2 (matrices); default 0 (off). */
  weightDecay?: number;
  /** How the bias corrections are computed (see the module comment); default 'float32'. */
  biasCorrection?: BiasCorrection;
  /** Steps already taken (a resumed run); default 0. */
  step?: number;
}

export type ResolvedAdamWConfig = Required<AdamWConfig>;

/** The first and second moments of one variable. */
export interface AdamMoments {
  m: tf.Variable;
  v: tf.Variable;
}

/** As TensorFlow.js's own NamedTensor (not exported from the package root). */
type NamedTensor = { name: string; tensor: tf.Tensor };

/** Fills defaults and checks every field; one error lists every problem (field, value, what is allowed). */
export function resolveAdamWConfig(config: AdamWConfig): ResolvedAdamWConfig {
  const resolved: ResolvedAdamWConfig = {
    learningRate: config.learningRate,
    beta1: config.beta1 ?? 0.9,
    beta2: config.beta2 ?? 0.999,
    epsilon: config.epsilon ?? 1e-7,
    weightDecay: config.weightDecay ?? 0,
    biasCorrection: config.biasCorrection ?? 'float32',
    step: config.step ?? 0,
  };
  const problems: string[] = [];
  const check = (field: Exclude<keyof ResolvedAdamWConfig, 'biasCorrection'>, ok: (v: number) => boolean, allowed: string): void => {
    const value = resolved[field];
    if (typeof value !== 'number' || !Number.isFinite(value) || !ok(value)) problems.push(`${field} = ${JSON.stringify(value)}: allowed: ${allowed}`);
  };
  check('learningRate', (v) => v > 0, 'a finite number > 0');
  check('beta1', (v) => v >= 0 && v < 1, 'in [0, 1)');
  check('beta2', (v) => v >= 0 && v < 1, 'in [0, 1)');
  check('epsilon', (v) => v > 0, 'a number > 0');
  check('weightDecay', (v) => v >= 0, 'a number ≥ 0');
  check('step', (v) => Number.isInteger(v) && v >= 0, 'an integer ≥ 0');
  if (resolved.biasCorrection !== 'float64' && resolved.biasCorrection !== 'float32') problems.push(`biasCorrection = ${JSON.stringify(resolved.biasCorrection)}: allowed: "float64" or "float32"`);
  if (problems.length > 0) throw new Error(`invalid AdamW config:\n  ${problems.join('\n  ')}`);
  return resolved;
}

/** β^t as tf.train.adam holds it: a float32 running product, each step rounded to float32. */
function float32Power(beta: number, step: number): number {
  const factor = Math.fround(beta);
  let power = factor;
  // Math.fround of a product of two float32 values is the float32 product (double rounding is innocuous here).
  for (let t = 1; t < step; t++) power = Math.fround(power * factor);
  return power;
}

/** The bias correction 1 - β^t of step t (from 1). */
export function biasCorrection(beta: number, step: number, mode: BiasCorrection): number {
  return mode === 'float64' ? 1 - beta ** step : Math.fround(1 - float32Power(beta, step));
}

/**
 * Scales gradients so that their global L2 norm is at most `maxNorm` (factor min(1, maxNorm / (norm +
 * 1e-6))); the norm sums the squares in the order given. Returns new tensors (call inside tf.tidy).
 */
export function clipByGlobalNorm(gradients: readonly tf.Tensor[], maxNorm: number): tf.Tensor[] {
  const squares = gradients.map((gradient) => tf.sum(tf.square(gradient))); // scalars
  const norm = tf.sqrt(tf.addN(squares)); // []
  const scale = tf.minimum(tf.scalar(1), tf.div(tf.scalar(maxNorm), tf.add(norm, 1e-6))); // []
  return gradients.map((gradient) => tf.mul(gradient, scale)); // each its gradient's shape
}

export class AdamW extends tf.Optimizer {
  static readonly className = 'AdamW';
  readonly config: Omit<ResolvedAdamWConfig, 'learningRate' | 'step'>;
  /** The learning rate of the next step (a schedule sets it before each step). */
  learningRate: number;
  /** Steps taken (the next is step + 1). */
  step: number;
  private slots = new Map<string, AdamMoments>();
  /** tf.train.adam's running products, carried from step to step ('float32' corrections). */
  private powers: { step: number; beta1: number; beta2: number } | null = null;

  constructor(config: AdamWConfig) {
    super();
    const { learningRate, step, ...rest } = resolveAdamWConfig(config);
    this.config = rest;
    this.learningRate = learningRate;
    this.step = step;
  }

  override applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    const entries: [string, tf.Tensor | null | undefined][] = Array.isArray(variableGradients)
      ? variableGradients.map((g) => [g.name, g.tensor])
      : Object.entries(variableGradients);
    const { beta1, beta2, epsilon, weightDecay } = this.config;
    const step = this.step + 1;
    const [correction1, correction2] = this.corrections(step);
    const learningRate = this.learningRate;
    tf.tidy(() => {
      for (const [name, gradient] of entries) {
        const variable = tf.engine().registeredVariables[name];
        if (variable === undefined) throw new Error(`AdamW: no variable named "${name}"`);
        const slot = this.slotOf(name, variable);
        if (gradient === null || gradient === undefined) continue;
        slot.m.assign(tf.add(tf.mul(slot.m, beta1), tf.mul(gradient, 1 - beta1)));
        slot.v.assign(tf.add(tf.mul(slot.v, beta2), tf.mul(tf.square(gradient), 1 - beta2)));
        let update = tf.div(tf.div(slot.m, correction1), tf.add(tf.sqrt(tf.div(slot.v, correction2)), epsilon)); // variable's shape
        if (weightDecay > 0 && variable.rank >= 2) update = tf.add(update, tf.mul(variable, weightDecay));
        variable.assign(tf.sub(variable, tf.mul(update, learningRate)));
      }
    });
    this.step = step;
    this.incrementIterations();
  }

  /** The two bias corrections of `step`; the float32 products are carried on rather than recomputed. */
  private corrections(step: number): [number, number] {
    const { beta1, beta2, biasCorrection: mode } = this.config;
    if (mode === 'float64') return [biasCorrection(beta1, step, mode), biasCorrection(beta2, step, mode)];
    const carried = this.powers;
    const powers =
      carried !== null && carried.step === step - 1
        ? { step, beta1: Math.fround(carried.beta1 * Math.fround(beta1)), beta2: Math.fround(carried.beta2 * Math.fround(beta2)) }
        : { step, beta1: float32Power(beta1, step), beta2: float32Power(beta2, step) };
    this.powers = powers;
    return [Math.fround(1 - powers.beta1), Math.fround(1 - powers.beta2)];
  }

  private slotOf(name: string, variable: tf.Variable): AdamMoments {
    const existing = this.slots.get(name);
    if (existing !== undefined) return existing;
    // tidy frees the zerosLike temporaries (a variable keeps its own reference); it never disposes variables.
    const slot = { m: tf.tidy(() => tf.variable(tf.zerosLike(variable), false)), v: tf.tidy(() => tf.variable(tf.zerosLike(variable), false)) };
    this.slots.set(name, slot);
    return slot;
  }

  /** The moments of a variable (the optimiser's own variables: do not dispose them), or undefined before its first step. */
  moments(variable: tf.Variable): AdamMoments | undefined {
    return this.slots.get(variable.name);
  }

  /** Sets a variable's moments to the values of `m` and `v` (a resumed run; they stay the caller's to dispose); both must have the variable's shape. */
  restoreMoments(variable: tf.Variable, m: tf.Tensor, v: tf.Tensor): void {
    for (const [what, tensor] of [['m', m], ['v', v]] as const) {
      if (tensor.shape.join() !== variable.shape.join()) throw new Error(`AdamW: ${what} of "${variable.name}" is [${tensor.shape}], expected [${variable.shape}]`);
    }
    const old = this.slots.get(variable.name);
    this.slots.set(variable.name, { m: tf.variable(m, false), v: tf.variable(v, false) });
    if (old !== undefined) {
      old.m.dispose();
      old.v.dispose();
    }
  }

  override dispose(): void {
    for (const { m, v } of this.slots.values()) {
      m.dispose();
      v.dispose();
    }
    this.slots.clear();
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...this.config, learningRate: this.learningRate, step: this.step };
  }
}
