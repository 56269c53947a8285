/**
 * (IA)³, "Infused Adapter by Inhibiting and Amplifying Inner Activations": learned vectors that rescale
 * the attention keys and values and the feed-forward activation, element by element.
 *
 * Liu, Tam, Muqeeth, Mohta, Huang, Bansal and Raffel, "Few-Shot Parameter-Efficient Fine-Tuning is Better
 * and Cheaper than In-Context Learning", NeurIPS 2022 (arXiv:2205.05638). Hugging Face PEFT: IA3Config.
 *
 * Config (PEFT names in brackets): `targets` [target_modules, default c_attn and mlp.c_proj, PEFT's GPT-2
 * default] and `feedforward` [feedforward_modules, default mlp.c_proj]. A target that is not feed-forward
 * has its OUTPUT rescaled, l ⊙ (x W + b), by a vector of its output width; a feed-forward target has its
 * INPUT rescaled, (l ⊙ x) W + b, by a vector of its input width. Names match as LoRA's do (PEFT's suffix
 * match: c_proj names both projections). GPT-2 fuses queries, keys and values in attn.c_attn, so, as in
 * PEFT, its vector [3D] rescales the queries too; the input of mlp.c_proj is the GELU activation [d_ff].
 *
 * PEFT format: peft_type "IA3", target_modules, feedforward_modules; PEFT stores a vector [out, 1] (or
 * [1, in] for a feed-forward target) as base_model.model.transformer.h.{l}.{site}.ia3_l.
 *
 * Model, per layer and target: `h.{l}.{site}.ia3_l` [out] or [in], initialised to ones, so at
 * initialisation the model is the base model exactly. Closed form: L · Σ over targets (out, or in for
 * feed-forward ones); gpt2 with the defaults: 12 × (2,304 + 3,072) = 64,512, PEFT's count.
 *
 * The rescaling is folded into the weights it multiplies, l ⊙ (x W + b) = x (W diag l) + l ⊙ b and
 * (l ⊙ x) W = x (diag l W): the hooks override those weights for each forward pass (an element-wise
 * product per weight, no extra matmul), and merging is the same product computed once.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../src/model/config.js';
import { LINEAR_SITES, linearShape, type LinearSite, type ParamSpec } from '../src/model/params.js';
import type { BaseReader, MethodOptions, PeftMethod, TensorMap } from '../src/adapt/peft.js';
import type { MethodCard } from '../src/adapt/method_card.js';
import { listOption, tensorOf } from './common.js';
import { peftTargetSites, targetsOption } from './peft_targets.js';

const METHOD = 'ia3';
/** What `targets` and `feedforward` accept: full site names and PEFT's suffix forms. */
export const IA3_TARGET_NAMES = [...LINEAR_SITES, 'c_attn', 'c_proj', 'c_fc'] as const;

/** The sites a list of target names selects (PEFT matches the end of the module name), in LINEAR_SITES order. */
function sitesOf(targets: readonly string[]): LinearSite[] {
  return LINEAR_SITES.filter((site) => targets.some((target) => site === target || site.endsWith(`.${target}`)));
}

/** Each adapted site and whether its input (feed-forward) or its output is rescaled. */
function adaptedSites(options: MethodOptions): { site: LinearSite; input: boolean }[] {
  const feedforward = new Set(sitesOf(listOption(options, 'feedforward')));
  return sitesOf(listOption(options, 'targets')).map((site) => ({ site, input: feedforward.has(site) }));
}

export const ia3VectorName = (layer: number, site: LinearSite): string => `h.${layer}.${site}.ia3_l`;

/**
 * The weight and bias of one site with its vector folded in: output scaling multiplies W's columns and b;
 * input scaling multiplies W's rows and leaves b. Values computed by `compute` when asked for.
 */
function foldedWeights(tensors: TensorMap, config: ModelConfig, options: MethodOptions, base: BaseReader): Map<string, () => tf.Tensor> {
  const compute = new Map<string, () => tf.Tensor>();
  for (let layer = 0; layer < config.nLayers; layer++) {
    for (const { site, input } of adaptedSites(options)) {
      const vector = (): tf.Tensor => tensorOf(tensors, ia3VectorName(layer, site), METHOD);
      const weight = `h.${layer}.${site}.weight`;
      const bias = `h.${layer}.${site}.bias`;
      if (input) {
        compute.set(weight, () => tf.mul(base(weight), tf.expandDims(vector(), 1))); // [in, out] · [in, 1]
      } else {
        compute.set(weight, () => tf.mul(base(weight), vector())); // [in, out] · [out]
        compute.set(bias, () => tf.mul(base(bias), vector())); // [out]
      }
    }
  }
  return compute;
}

/**
 * Parameter overrides computed on each `get`: the model reads every weight once per forward pass inside
 * that pass's tidy scope, so the folded weights are recomputed from the current vectors (and gradients
 * reach them) and released with the pass. Iterating computes every entry: the caller owns those tensors.
 */
class FoldedWeights implements ReadonlyMap<string, tf.Tensor> {
  constructor(private readonly compute: ReadonlyMap<string, () => tf.Tensor>) {}

  get size(): number {
    return this.compute.size;
  }

  get(name: string): tf.Tensor | undefined {
    return this.compute.get(name)?.();
  }

  has(name: string): boolean {
    return this.compute.has(name);
  }

  keys(): MapIterator<string> {
    return this.compute.keys();
  }

  entries(): MapIterator<[string, tf.Tensor]> {
    return new Map([...this.compute].map(([name, value]) => [name, value()])).entries();
  }

  values(): MapIterator<tf.Tensor> {
    return new Map(this.entries()).values();
  }

  forEach(callback: (value: tf.Tensor, key: string, map: ReadonlyMap<string, tf.Tensor>) => void): void {
    for (const [name, value] of this.entries()) callback(value, name, this);
  }

  [Symbol.iterator](): MapIterator<[string, tf.Tensor]> {
    return this.entries();
  }
}

/** The card: how the suite runs and shows the method (src/adapt/method_card.ts); its maths and adapter format follow. */
export const ia3Card: MethodCard = {
  name: METHOD,
  summary: 'learned vectors rescaling keys, values and the feed-forward activation',
  reference: 'Liu et al. 2022, Few-Shot Parameter-Efficient Fine-Tuning is Better and Cheaper than In-Context Learning (arXiv:2205.05638)',
  role: 'reparameterisation',
  display: { name: '(IA)³', colour: '#e377c2' },
  training: {
    optimizer: 'adam',
    learningRate: 3e-3,
    weightDecay: 0,
    source: 'Liu et al. 2022 train (IA)³ with Adafactor at 3e-3; Adam at the same rate here, not tuned on this suite',
  },
  benchmark: { options: {}, referenceStep: false },
  publishedGpt2: { setting: '(IA)³ on c_attn and mlp.c_proj (PEFT defaults)', trainable: 64_512 },
};

export const ia3: PeftMethod = {
  name: METHOD,
  options: [
    {
      name: 'targets',
      type: 'list',
      description: 'linear layers to rescale (PEFT target_modules); c_proj means both attn.c_proj and mlp.c_proj',
      default: ['c_attn', 'mlp.c_proj'],
      choices: IA3_TARGET_NAMES,
    },
    {
      name: 'feedforward',
      type: 'list',
      description: 'targets whose input is rescaled instead of their output (PEFT feedforward_modules)',
      default: ['mlp.c_proj'],
      choices: IA3_TARGET_NAMES,
    },
  ],

  validate(options) {
    const problems: string[] = [];
    const targets = sitesOf(listOption(options, 'targets'));
    if (targets.length === 0) problems.push(`--targets is empty; allowed: one or more of ${IA3_TARGET_NAMES.join(', ')}`);
    const outside = sitesOf(listOption(options, 'feedforward')).filter((site) => !targets.includes(site));
    if (outside.length > 0) problems.push(`--feedforward = ${listOption(options, 'feedforward').join(',')}: ${outside.join(', ')} is not a target; allowed: a subset of --targets (${targets.join(', ')})`);
    return problems;
  },

  addedParameters(config: ModelConfig, options: MethodOptions): ParamSpec[] {
    const specs: ParamSpec[] = [];
    for (let layer = 0; layer < config.nLayers; layer++) {
      for (const { site, input } of adaptedSites(options)) {
        const [inWidth, outWidth] = linearShape(config, site);
        specs.push({ name: ia3VectorName(layer, site), shape: [input ? inWidth : outWidth], init: { kind: 'ones' } }); // [in] or [out]: ones, the identity
      }
    }
    return specs;
  },

  trainableBaseParameters: () => [],

  closedFormTrainable(config, options) {
    const perLayer = adaptedSites(options).reduce((sum, { site, input }) => sum + linearShape(config, site)[input ? 0 : 1], 0);
    return config.nLayers * perLayer;
  },

  hooks: (tensors, config, options, base) => ({ parameterOverrides: new FoldedWeights(foldedWeights(tensors, config, options, base)) }),

  mergedParameters(tensors, base, config, options) {
    const merged = new Map<string, tf.Tensor>();
    for (const [name, compute] of foldedWeights(tensors, config, options, base)) merged.set(name, tf.tidy(compute));
    return merged;
  },

  peft: {
    peftType: 'IA3',
    config: (_config, options) => ({
      target_modules: listOption(options, 'targets'),
      feedforward_modules: listOption(options, 'feedforward'),
      // GPT-2's Conv1D stores weights [in, out]: PEFT marks that with fan_in_fan_out.
      fan_in_fan_out: true,
      init_ia3_weights: true,
      modules_to_save: null,
      exclude_modules: null,
    }),
    options(fields, config, problems) {
      const unsupported: [string, (value: unknown) => boolean, string][] = [
        ['modules_to_save', (v) => v === undefined || v === null, 'null'],
        ['exclude_modules', (v) => v === undefined || v === null || (Array.isArray(v) && v.length === 0), 'null (no module excluded)'],
      ];
      for (const [field, ok, allowed] of unsupported) if (!ok(fields[field])) problems.push(`${field} = ${JSON.stringify(fields[field])}: not supported; allowed: ${allowed}`);
      const targetSites = peftTargetSites('target_modules', fields.target_modules, config, problems);
      // PEFT's feedforward_modules may be empty or null (no feed-forward target).
      const empty = fields.feedforward_modules === undefined || fields.feedforward_modules === null || (Array.isArray(fields.feedforward_modules) && fields.feedforward_modules.length === 0);
      const feedforwardSites = empty ? [] : peftTargetSites('feedforward_modules', fields.feedforward_modules, config, problems);
      const outside = (feedforwardSites ?? []).filter((site) => targetSites !== null && !targetSites.includes(site));
      if (outside.length > 0) problems.push(`feedforward_modules = ${JSON.stringify(fields.feedforward_modules)}: ${outside.join(', ')} is not a target; allowed: a subset of target_modules`);
      return {
        targets: targetSites === null ? [] : targetsOption(fields.target_modules, targetSites, IA3_TARGET_NAMES),
        feedforward: empty || feedforwardSites === null ? [] : targetsOption(fields.feedforward_modules, feedforwardSites, IA3_TARGET_NAMES),
      };
    },
    toPeft: (tensors, _config, options) => reshapedVectors(tensors, options, 'toPeft'),
    fromPeft: (tensors, _config, options) => reshapedVectors(tensors, options, 'fromPeft'),
  },
};

/** Where PEFT's IA3 vectors of a GPT2LMHeadModel live: PeftModel → IA3Model → GPT2LMHeadModel → GPT2Model. */
export const PEFT_IA3_PREFIX = 'base_model.model.transformer.';
const IA3_TENSOR = /^h\.(\d+)\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.ia3_l$/;

/**
 * PEFT keeps an output vector as [out, 1] and a feed-forward (input) one as [1, in]; ours are flat.
 * Only a tensor of the orientation its site's role calls for is reshaped: one of the other orientation
 * keeps its rank, so the shape check reports it instead of applying it to the wrong side.
 */
function reshapedVectors(tensors: TensorMap, options: MethodOptions, direction: 'toPeft' | 'fromPeft'): Map<string, tf.Tensor> {
  const inputSites = new Set(adaptedSites(options).filter(({ input }) => input).map(({ site }) => site));
  const out = new Map<string, tf.Tensor>();
  for (const [name, tensor] of tensors) {
    const bare = direction === 'toPeft' ? name : name.startsWith(PEFT_IA3_PREFIX) ? name.slice(PEFT_IA3_PREFIX.length) : null;
    const match = bare === null ? null : IA3_TENSOR.exec(bare);
    if (bare === null || match === null) {
      out.set(name, tensor.clone());
      continue;
    }
    const input = inputSites.has(match[2] as LinearSite);
    if (direction === 'toPeft') {
      out.set(`${PEFT_IA3_PREFIX}${bare}`, tensor.rank === 1 ? tf.reshape(tensor, input ? [1, tensor.size] : [tensor.size, 1]) : tensor.clone());
    } else {
      const fits = tensor.rank === 2 && (input ? tensor.shape[0] === 1 : tensor.shape[1] === 1);
      out.set(bare, fits ? tf.reshape(tensor, [tensor.size]) : tensor.clone());
    }
  }
  return out;
}
