/**
 * Parameters declared as data: name, shape and initialiser. Counting uses the declared shapes and
 * allocates nothing, so counting gpt2-xl is instant. Names and shapes follow Hugging Face GPT-2
 * (Conv1D weights are stored [in, out]).
 */
import type { ModelConfig } from './config.js';
import { Random } from '../util/random.js';

export type Initializer =
  | { kind: 'normal'; std: number }
  | { kind: 'uniform'; low: number; high: number }
  | { kind: 'zeros' }
  | { kind: 'ones' };

export interface ParamSpec {
  /** Hugging Face style name, e.g. "h.0.attn.c_attn.weight". */
  name: string;
  shape: number[];
  init: Initializer;
}

/** The linear layers of a block where a method may add a delta to the output, with their shapes. */
export const LINEAR_SITES = ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'] as const;
export type LinearSite = (typeof LINEAR_SITES)[number];

/** [in, out] of a linear site. */
export function linearShape(config: ModelConfig, site: LinearSite): [number, number] {
  const d = config.dModel;
  switch (site) {
    case 'attn.c_attn':
      return [d, 3 * d];
    case 'attn.c_proj':
      return [d, d];
    case 'mlp.c_fc':
      return [d, config.dFF];
    case 'mlp.c_proj':
      return [config.dFF, d];
  }
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((product, size) => product * size, 1);
}

/** Every parameter of the base model, in a fixed order. The LM head is tied to wte and has no entry. */
export function modelParameterSpecs(config: ModelConfig): ParamSpec[] {
  const d = config.dModel;
  const std = 0.02;
  // GPT-2 scales the residual projections by 1/sqrt(2 * layers) so the residual stream's variance stays put.
  const residualStd = 0.02 / Math.sqrt(2 * config.nLayers);
  const specs: ParamSpec[] = [
    { name: 'wte.weight', shape: [config.vocabSize, d], init: { kind: 'normal', std } },
    { name: 'wpe.weight', shape: [config.contextLength, d], init: { kind: 'normal', std: 0.01 } },
  ];
  for (let layer = 0; layer < config.nLayers; layer++) {
    const p = `h.${layer}`;
    specs.push(
      { name: `${p}.ln_1.weight`, shape: [d], init: { kind: 'ones' } },
      { name: `${p}.ln_1.bias`, shape: [d], init: { kind: 'zeros' } },
    );
    for (const site of LINEAR_SITES) {
      if (site === 'mlp.c_fc') {
        specs.push(
          { name: `${p}.ln_2.weight`, shape: [d], init: { kind: 'ones' } },
          { name: `${p}.ln_2.bias`, shape: [d], init: { kind: 'zeros' } },
        );
      }
      const [input, output] = linearShape(config, site);
      const isResidual = site === 'attn.c_proj' || site === 'mlp.c_proj';
      specs.push(
        { name: `${p}.${site}.weight`, shape: [input, output], init: { kind: 'normal', std: isResidual ? residualStd : std } },
        { name: `${p}.${site}.bias`, shape: [output], init: { kind: 'zeros' } },
      );
    }
  }
  specs.push({ name: 'ln_f.weight', shape: [d], init: { kind: 'ones' } }, { name: 'ln_f.bias', shape: [d], init: { kind: 'zeros' } });
  return specs;
}

/** Parameter count from declared shapes; allocates nothing. */
export function countParameters(specs: readonly ParamSpec[]): number {
  return specs.reduce((total, spec) => total + numel(spec.shape), 0);
}

/** Closed form of the GPT-2 parameter count, used to cross-check the declared shapes. */
export function closedFormParameterCount(config: ModelConfig): number {
  const d = config.dModel;
  const perLayer = 4 * d /* two LayerNorms */ + (d * 3 * d + 3 * d) + (d * d + d) + (d * config.dFF + config.dFF) + (config.dFF * d + d);
  return config.vocabSize * d + config.contextLength * d + config.nLayers * perLayer + 2 * d;
}

/** The initial values of one parameter, from the run seed and the parameter's name. */
export function initialValues(spec: ParamSpec, seed: number): Float32Array {
  const values = new Float32Array(numel(spec.shape));
  const init = spec.init;
  switch (init.kind) {
    case 'zeros':
      return values;
    case 'ones':
      return values.fill(1);
    case 'normal': {
      const random = new Random(seed, spec.name);
      for (let i = 0; i < values.length; i++) values[i] = init.std * random.normal();
      return values;
    }
    case 'uniform': {
      const random = new Random(seed, spec.name);
      for (let i = 0; i < values.length; i++) values[i] = random.uniform(init.low, init.high);
      return values;
    }
  }
}

/** Whether a parameter is a bias term in the Hugging Face BitFit sense (linear and LayerNorm biases). */
export function isBiasParameter(name: string): boolean {
  return name.endsWith('.bias');
}
