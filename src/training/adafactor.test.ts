/**
 * Adafactor against a Float64 reference written here from the paper / Hugging Face formulas (not from
 * the class), the factored state's size, a quadratic that it minimises, config validation and tensor
 * leaks; on every test backend.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { Adafactor, type AdafactorConfig } from './adafactor.js';
import { createOptimizer, OPTIMIZER_NAMES } from './train.js';
import { testBackends, useBackend } from '../../test/helpers.js';

// ---------------------------------------------------------------------------------------------------
// Reference: one Adafactor step in plain double precision
// ---------------------------------------------------------------------------------------------------

interface RefConfig {
  lr: number;
  weightDecay: number;
  decayRate: number;
  clip: number;
  eps1: number;
}

/** Second-moment state; row/col for rank ≥ 2 (over the last two dims), v otherwise. */
interface RefState {
  step: number;
  row?: number[];
  col?: number[];
  v?: number[];
}

const product = (dims: number[]): number => dims.reduce((a, b) => a * b, 1);

/**
 * Updates `p` and `state` in place for gradient `g`, following Shazeer & Stern 2018, Algorithms 4/5
 * (factored / not) with update clipping, HF semantics: beta2_t = 1 - t^-c, v̂ = R ⊗ C / mean(R),
 * U = g / sqrt(v̂), U /= max(1, RMS(U)/d), p -= lr·wd·p, p -= lr·U. Returns RMS(U)/d: clipping acted
 * where it exceeds 1.
 */
function referenceStep(p: number[], shape: number[], g: number[], state: RefState, c: RefConfig): number {
  state.step += 1;
  const beta = 1 - Math.pow(state.step, -c.decayRate);
  const sq = g.map((x) => x * x + c.eps1);
  const u = new Array<number>(g.length);
  if (shape.length >= 2) {
    const R = shape[shape.length - 2];
    const C = shape[shape.length - 1];
    const B = product(shape.slice(0, -2));
    state.row ??= new Array<number>(B * R).fill(0);
    state.col ??= new Array<number>(B * C).fill(0);
    const { row, col } = state;
    for (let b = 0; b < B; b++) {
      for (let r = 0; r < R; r++) {
        let sum = 0;
        for (let k = 0; k < C; k++) sum += sq[(b * R + r) * C + k];
        row[b * R + r] = beta * row[b * R + r] + (1 - beta) * (sum / C);
      }
      for (let k = 0; k < C; k++) {
        let sum = 0;
        for (let r = 0; r < R; r++) sum += sq[(b * R + r) * C + k];
        col[b * C + k] = beta * col[b * C + k] + (1 - beta) * (sum / R);
      }
      let rowMean = 0;
      for (let r = 0; r < R; r++) rowMean += row[b * R + r] / R;
      for (let r = 0; r < R; r++) {
        for (let k = 0; k < C; k++) {
          const vHat = (row[b * R + r] * col[b * C + k]) / rowMean;
          const i = (b * R + r) * C + k;
          u[i] = g[i] / Math.sqrt(vHat);
        }
      }
    }
  } else {
    state.v ??= new Array<number>(g.length).fill(0);
    const { v } = state;
    for (let i = 0; i < g.length; i++) {
      v[i] = beta * v[i] + (1 - beta) * sq[i];
      u[i] = g[i] / Math.sqrt(v[i]);
    }
  }
  const rms = Math.sqrt(u.reduce((s, x) => s + x * x, 0) / u.length);
  const divisor = Math.max(1, rms / c.clip);
  for (let i = 0; i < p.length; i++) {
    const decayed = p[i] - c.lr * c.weightDecay * p[i];
    p[i] = decayed - c.lr * (u[i] / divisor);
  }
  return rms / c.clip;
}

// ---------------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------------

/** Deterministic, irregular values (not rank-1 as a matrix, so the factored estimate is only approximate). */
function values(n: number, seed: number, scale = 1): number[] {
  return Array.from({ length: n }, (_, i) => scale * (Math.sin(1.7 * i + seed) + 0.3 * Math.cos(0.37 * i * i + 2 * seed)));
}

/**
 * Gradient at a step: step 2 is larger than step 1, so its update's RMS exceeds 1 and clipping acts;
 * step 3 is much smaller, so its update's RMS falls below 1 and clipping must leave it alone.
 */
const GRADIENT_SCALE = [0, 0.5, 2, 0.1];
const gradientValues = (n: number, seed: number, step: number): number[] => values(n, seed + 11 * step, GRADIENT_SCALE[step]);

/** Close to the reference: relative 1e-5, with a floor of 1e-5 × the largest magnitude for values near 0. */
function assertClose(actual: ArrayLike<number>, expected: number[], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  const floor = 1e-5 * Math.max(...expected.map(Math.abs));
  for (let i = 0; i < expected.length; i++) {
    const tolerance = Math.max(1e-5 * Math.abs(expected[i]), floor);
    assert.ok(Math.abs(actual[i] - expected[i]) <= tolerance, `${what}[${i}]: ${actual[i]} vs reference ${expected[i]} (tolerance ${tolerance})`);
  }
}

let variableCounter = 0;
const uniqueName = (base: string): string => `adafactor-test-${base}-${variableCounter++}`;

interface Case {
  label: string;
  shape: number[];
  seed: number;
  variable: tf.Variable;
  p: number[];
  state: RefState;
}

function makeCase(label: string, shape: number[], seed: number): Case {
  const p = values(product(shape), seed);
  const variable = tf.variable(tf.tensor(p, shape, 'float32'), true, uniqueName(label));
  return { label, shape, seed, variable, p, state: { step: 0 } };
}

/** Runs `steps` steps on the optimiser and the reference, checking values and state after each. */
async function stepAndCompare(optimizer: Adafactor, cases: Case[], ref: RefConfig, steps: number[], form: 'map' | 'array'): Promise<number[]> {
  const clipRatios: number[] = [];
  for (const step of steps) {
    const grads = cases.map((c) => ({ name: c.variable.name, tensor: tf.tensor(gradientValues(c.p.length, c.seed, step), c.shape, 'float32') }));
    optimizer.applyGradients(form === 'array' ? grads : Object.fromEntries(grads.map((g) => [g.name, g.tensor])));
    tf.dispose(grads.map((g) => g.tensor));
    for (const c of cases) {
      clipRatios.push(referenceStep(c.p, c.shape, gradientValues(c.p.length, c.seed, step), c.state, ref));
      assertClose(c.variable.dataSync(), c.p, `${c.label} ${JSON.stringify(c.shape)} after step ${step}`);
    }
    const weights = await optimizer.getWeights();
    const byName = new Map(weights.map((w) => [w.name, w.tensor]));
    for (const c of cases) {
      assert.equal(byName.get(`${c.variable.name}/step`)?.dataSync()[0], c.state.step, `${c.label}: step count`);
      for (const key of ['row', 'col', 'v'] as const) {
        const expected = c.state[key];
        const tensor = byName.get(`${c.variable.name}/${key}`);
        assert.equal(tensor !== undefined, expected !== undefined, `${c.label}: has ${key}`);
        if (expected !== undefined && tensor !== undefined) assertClose(tensor.dataSync(), expected, `${c.label} state ${key} after step ${step}`);
      }
    }
    weights[0].tensor.dispose(); // the iterations scalar is a fresh tensor
  }
  return clipRatios;
}

const LESTER: RefConfig = { lr: 0.3, weightDecay: 1e-5, decayRate: 0.8, clip: 1, eps1: 1e-30 };
// Every knob away from its default, and a weight decay large enough to see at 1e-5 tolerance.
const OTHER: RefConfig = { lr: 0.05, weightDecay: 0.2, decayRate: 0.5, clip: 0.7, eps1: 1e-3 };

const toConfig = (c: RefConfig): AdafactorConfig => ({ learningRate: c.lr, weightDecay: c.weightDecay, decayRate: c.decayRate, clipThreshold: c.clip, eps1: c.eps1 });

// ---------------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------------

for (const backend of testBackends()) {
  describe(`Adafactor on ${backend}`, () => {
    before(async () => {
      await useBackend(backend);
    });

    it('matches the Float64 reference for one and two steps (Lester et al. settings, map gradients)', async () => {
      const cases = [makeCase('matrix', [3, 4], 1), makeCase('vector', [5], 2)];
      const optimizer = new Adafactor(toConfig(LESTER));
      const ratios = await stepAndCompare(optimizer, cases, LESTER, [1, 2], 'map');
      assert.equal(optimizer.iterations, 2);
      // Step 2's larger gradient must have exercised update clipping for both tensors.
      assert.ok(ratios.slice(2).every((r) => r > 1.05), `RMS(update) / clipThreshold at step 2: ${ratios.slice(2)}`);
      optimizer.dispose();
      tf.dispose(cases.map((c) => c.variable));
    });

    it('matches the reference over three steps with every option changed, rank 0 and 3, NamedTensor[] gradients', async () => {
      const cases = [makeCase('matrix', [3, 4], 3), makeCase('batched', [2, 3, 4], 4), makeCase('vector', [5], 5), makeCase('scalar', [], 6)];
      const optimizer = new Adafactor(toConfig(OTHER));
      const ratios = await stepAndCompare(optimizer, cases, OTHER, [1, 2, 3], 'array');
      // Both branches of clipping are exercised: some updates scaled down, some left alone.
      assert.ok(ratios.some((r) => r > 1.05) && ratios.some((r) => r < 0.95), `RMS(update) / clipThreshold: ${ratios}`);
      optimizer.dispose();
      tf.dispose(cases.map((c) => c.variable));
    });

    it('setWeights restores state: a fresh optimiser continues where the first stopped', async () => {
      const cases = [makeCase('matrix', [3, 4], 7), makeCase('vector', [5], 8)];
      const first = new Adafactor(toConfig(LESTER));
      await stepAndCompare(first, cases, LESTER, [1, 2], 'map');
      const second = new Adafactor(toConfig(LESTER));
      const weights = await first.getWeights();
      await second.setWeights(weights);
      weights[0].tensor.dispose();
      first.dispose(); // the copy must not share the first optimiser's variables
      assert.equal(second.iterations, 2);
      await stepAndCompare(second, cases, LESTER, [3], 'map');
      await assert.rejects(second.setWeights([{ name: 'iter', tensor: tf.scalar(0) }, { name: 'x/m', tensor: tf.scalar(0) }]), /x\/m.*allowed/);
      second.dispose();
      tf.dispose(cases.map((c) => c.variable));
    });

    it('keeps factored state (rows + cols) for rank ≥ 2 and full state for rank 1', async () => {
      const matrix = tf.variable(tf.ones([6, 10]), true, uniqueName('W'));
      const batched = tf.variable(tf.ones([2, 6, 10]), true, uniqueName('B'));
      const vector = tf.variable(tf.ones([10]), true, uniqueName('b'));
      const optimizer = new Adafactor({ learningRate: 0.3 });
      optimizer.minimize(() => tf.add(tf.add(tf.sum(tf.square(matrix)), tf.sum(batched)), tf.sum(tf.square(vector))) as tf.Scalar, false, [matrix, batched, vector]);
      const weights = await optimizer.getWeights();
      const summary = weights.slice(1).map((w) => [w.name, w.tensor.shape]);
      assert.deepEqual(summary, [
        [`${matrix.name}/step`, []],
        [`${matrix.name}/row`, [6]],
        [`${matrix.name}/col`, [10]],
        [`${batched.name}/step`, []],
        [`${batched.name}/row`, [2, 6]],
        [`${batched.name}/col`, [2, 10]],
        [`${vector.name}/step`, []],
        [`${vector.name}/v`, [10]],
      ]);
      const moments = weights.slice(1).filter((w) => !w.name.endsWith('/step'));
      assert.equal(moments.reduce((n, w) => n + w.tensor.size, 0), 6 + 10 + (12 + 20) + 10, 'rows + cols, not rows × cols');
      weights[0].tensor.dispose();
      optimizer.dispose();
      tf.dispose([matrix, batched, vector]);
    });

    it('lowers a quadratic loss at lr 0.3 (created through createOptimizer)', () => {
      const target = tf.tensor2d(values(24, 9, 2), [4, 6]);
      const targetBias = tf.tensor1d(values(6, 10, 2));
      const w = tf.variable(tf.zeros([4, 6]), true, uniqueName('qW'));
      const b = tf.variable(tf.zeros([6]), true, uniqueName('qb'));
      const optimizer = createOptimizer('adafactor', 0.3, { weightDecay: 1e-5 });
      assert.ok(optimizer instanceof Adafactor);
      assert.equal(optimizer.config.weightDecay, 1e-5);
      const lossFn = (): tf.Scalar => tf.add(tf.sum(tf.square(tf.sub(w, target))), tf.sum(tf.square(tf.sub(b, targetBias))));
      const losses: number[] = [];
      for (let step = 0; step < 40; step++) {
        const loss = optimizer.minimize(lossFn, true, [w, b]) as tf.Scalar;
        losses.push(loss.dataSync()[0]);
        loss.dispose();
      }
      assert.ok(losses[losses.length - 1] < 0.05 * losses[0], `loss ${losses[0]} → ${losses[losses.length - 1]}`);
      assert.ok(losses[5] < losses[0], 'the loss falls from the first steps');
      optimizer.dispose();
      tf.dispose([target, targetBias, w, b]);
    });

    it('scaleParameter (HF scale_parameter): the step is lr · max(eps2, RMS(p)) of the unscaled one, weight decay included', () => {
      // Two parameters: one with RMS well above eps2, one of zeros (RMS 0: the eps2 floor applies).
      for (const [label, p, floorExpected] of [['big', values(24, 21, 0.2), false], ['zero', new Array<number>(24).fill(0), true]] as const) {
        const plain = tf.variable(tf.tensor2d([...p], [4, 6]), true, uniqueName(`plain-${label}`));
        const scaled = tf.variable(tf.tensor2d([...p], [4, 6]), true, uniqueName(`scaled-${label}`));
        const plainOpt = new Adafactor({ learningRate: 0.3, weightDecay: 1e-2 });
        const scaledOpt = createOptimizer('adafactor-scaled', 0.3, { weightDecay: 1e-2 }) as Adafactor;
        assert.equal(scaledOpt.config.scaleParameter, true);
        const g = gradientValues(24, 21, 1);
        plainOpt.applyGradients({ [plain.name]: tf.tensor2d(g, [4, 6]) });
        scaledOpt.applyGradients({ [scaled.name]: tf.tensor2d(g, [4, 6]) });
        const rms = Math.sqrt(p.reduce((sum, v) => sum + v * v, 0) / p.length);
        const factor = Math.max(1e-3, rms);
        assert.equal(factor === 1e-3, floorExpected, `${label}: RMS ${rms}`);
        const plainDelta = Array.from(plain.dataSync()).map((v, i) => v - p[i]);
        const expected = p.map((v, i) => v + plainDelta[i] * factor);
        assertClose(scaled.dataSync(), expected, `${label}: scaled step`);
        plainOpt.dispose();
        scaledOpt.dispose();
        tf.dispose([plain, scaled]);
      }
      assert.throws(() => new Adafactor({ learningRate: 0.3, scaleParameter: 1 as unknown as boolean }), /scaleParameter = 1: allowed: true or false/);
      assert.throws(() => new Adafactor({ learningRate: 0.3, eps2: 0 }), /eps2 = 0: allowed: a finite number > 0/);
    });

    it('rejects bad config values, naming the field, the value and what is allowed', () => {
      const bad: [Record<string, unknown>, RegExp][] = [
        [{ learningRate: 0 }, /learningRate = 0: allowed: a finite number > 0/],
        [{ learningRate: -0.3 }, /learningRate = -0.3/],
        [{ learningRate: Number.NaN }, /learningRate = NaN/],
        [{ learningRate: Number.POSITIVE_INFINITY }, /learningRate = Infinity/],
        [{}, /learningRate = undefined/],
        [{ learningRate: '0.3' }, /learningRate = "0.3"/],
        [{ learningRate: 0.3, weightDecay: -1e-5 }, /weightDecay = -0.00001: allowed: a finite number ≥ 0/],
        [{ learningRate: 0.3, decayRate: 0 }, /decayRate = 0: allowed: a number in \(0, 1\]/],
        [{ learningRate: 0.3, decayRate: -0.8 }, /decayRate = -0.8/],
        [{ learningRate: 0.3, decayRate: 1.5 }, /decayRate = 1.5/],
        [{ learningRate: 0.3, clipThreshold: 0 }, /clipThreshold = 0: allowed: a number > 0/],
        [{ learningRate: 0.3, eps1: 0 }, /eps1 = 0: allowed: a finite number > 0/],
        [{ learningRate: 0.3, relativeStep: true }, /unknown field "relativeStep": allowed fields: learningRate, weightDecay, decayRate, clipThreshold, eps1, scaleParameter, eps2/],
      ];
      for (const [config, message] of bad) assert.throws(() => new Adafactor(config as unknown as AdafactorConfig), message, JSON.stringify(config));
      // Every problem at once.
      assert.throws(() => new Adafactor({ learningRate: 0, eps1: -1 }), /learningRate = 0.*eps1 = -1/);
      // Clipping off is allowed.
      new Adafactor({ learningRate: 0.3, clipThreshold: Number.POSITIVE_INFINITY }).dispose();
      assert.ok((OPTIMIZER_NAMES as readonly string[]).includes('adafactor'));
      assert.throws(() => createOptimizer('adam', 1e-3, { weightDecay: 0.01 }), /weight decay = 0.01 with optimizer "adam": allowed: 0/);
      assert.throws(() => createOptimizer('adafactor', 0.3, { weightDecay: -1 }), /weight decay = -1/);
      assert.throws(() => createOptimizer('adafctor', 0.3), /did you mean "adafactor"/);
    });

    it('leaks no tensors across steps, and dispose frees its state', () => {
      const w = tf.variable(tf.tensor2d(values(12, 12), [3, 4]), true, uniqueName('leakW'));
      const b = tf.variable(tf.tensor1d(values(5, 13)), true, uniqueName('leakb'));
      const lossFn = (): tf.Scalar => tf.add(tf.sum(tf.square(w)), tf.sum(tf.square(b)));
      const beforeOptimizer = tf.memory().numTensors;
      const optimizer = new Adafactor({ learningRate: 0.3, weightDecay: 1e-5 });
      optimizer.minimize(lossFn, false, [w, b]);
      const afterFirst = tf.memory().numTensors;
      assert.equal(afterFirst - beforeOptimizer, 5, 'state: step + row + col for w, step + v for b');
      for (let step = 2; step <= 5; step++) {
        optimizer.minimize(lossFn, false, [w, b]);
        assert.equal(tf.memory().numTensors, afterFirst, `tensors after step ${step}`);
      }
      optimizer.dispose();
      assert.equal(tf.memory().numTensors, beforeOptimizer, 'dispose frees every state variable');
      tf.dispose([w, b]);
    });
  });
}
