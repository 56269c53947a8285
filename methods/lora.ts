/**
 * LoRA: a trainable low-rank delta on chosen linear layers, W x + (alpha/r)·B A x.
 *
 * Hu, Shen, Wallis, Allen-Zhu, Li, Wang, Wang and Chen, "LoRA: Low-Rank Adaptation of Large Language
 * Models", ICLR 2022 (arXiv:2106.09685). Hugging Face PEFT: LoraConfig / lora.Linear.
 *
 * Config (PEFT names in brackets): `rank` r [r, default 8], `alpha` [lora_alpha, default 8, PEFT's
 * default], `dropout` [lora_dropout, default 0], `targets` [target_modules, default c_attn, PEFT's GPT-2
 * default]. Targets are the linear sites attn.c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj; as in PEFT,
 * where a name matches every module whose name ends with it, c_attn and c_fc name one site each,
 * c_proj names BOTH attn.c_proj and mlp.c_proj, and all-linear names all four.
 *
 * Model, per layer and target: A `h.{l}.{site}.lora_A.weight` [in, r] with PEFT's
 * kaiming_uniform(a=√5) init U(-1/√in, 1/√in), and B `h.{l}.{site}.lora_B.weight` [r, out] zeros
 * (both stored [in, out], the transpose of PEFT's nn.Linear layout), so at initialisation the model is
 * the base model exactly. delta = dropout(x)·A·B·(alpha/r), dropout in training only.
 * Closed form: L · Σ over targets r·(in + out).
 *
 * Merge: W' = W + (alpha/r)·A·B ({@link PeftMethod.mergedParameters}); the base tensors are never
 * modified, so unmerging is using the base weights again.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../src/model/config.js';
import type { ModelHooks } from '../src/adapt/hooks.js';
import { LINEAR_SITES, linearShape, type LinearSite, type ParamSpec } from '../src/model/params.js';
import type { MethodOptions, PeftMethod, TensorMap } from '../src/adapt/peft.js';
import type { MethodCard } from '../src/adapt/method_card.js';
import { Random } from '../src/util/random.js';
import { integerOption, listOption, numberOption, tensorOf } from './common.js';
import { peftTargetSites, targetsOption } from './peft_targets.js';

const METHOD = 'lora';
/** What `targets` accepts: full site names, PEFT's suffix forms, and all-linear. */
export const LORA_TARGET_NAMES = [...LINEAR_SITES, 'c_attn', 'c_proj', 'c_fc', 'all-linear'] as const;
export const LORA_DEFAULT_ALPHA = 8;

/** The sites a list of target names selects, in LINEAR_SITES order, each once. */
export function loraSites(targets: readonly string[]): LinearSite[] {
  const chosen = new Set<LinearSite>();
  for (const target of targets) {
    for (const site of LINEAR_SITES) {
      // PEFT matches a target against the end of the module name; all-linear takes every linear layer.
      if (target === 'all-linear' || site === target || site.endsWith(`.${target}`)) chosen.add(site);
    }
  }
  return LINEAR_SITES.filter((site) => chosen.has(site));
}

export const loraAName = (layer: number, site: LinearSite): string => `h.${layer}.${site}.lora_A.weight`;
export const loraBName = (layer: number, site: LinearSite): string => `h.${layer}.${site}.lora_B.weight`;

function scaling(options: MethodOptions): number {
  return numberOption(options, 'alpha') / integerOption(options, 'rank'); // alpha / r, PEFT's default (not rsLoRA)
}

/** Each training forward draws a new mask; counting per trainable-tensor map keeps runs reproducible. */
const dropoutCalls = new WeakMap<TensorMap, number>();

/** The card: how the suite runs and shows the method (src/adapt/method_card.ts); its maths and adapter format follow. */
export const loraCard: MethodCard = {
  name: METHOD,
  summary: 'low-rank deltas (alpha/r)·A·B on chosen linear layers',
  reference: 'Hu et al. 2022, LoRA: Low-Rank Adaptation of Large Language Models (arXiv:2106.09685)',
  role: 'reparameterisation',
  display: { name: 'LoRA', colour: '#54a24b' },
  training: {
    optimizer: 'adam',
    learningRate: 1e-3,
    weightDecay: 0,
    source: 'Hu et al. 2021 / PEFT examples: Adam around 1e-3 for the low-rank factors (quick: 3e-3 for 150 steps)',
    profiles: { quick: { learningRate: 3e-3 } },
  },
  benchmark: { options: { rank: '8', targets: 'c_attn' }, referenceStep: true },
  publishedGpt2: { setting: 'LoRA r = 8 on c_attn', trainable: 294_912 },
};

export const lora: PeftMethod = {
  name: METHOD,
  // Unmerged deltas from each row's own activations: each trial of a pack applies its A·B to its own rows.
  packing: { positions: () => ({ input: 0, attention: 0 }) },
  options: [
    { name: 'rank', type: 'integer', description: 'rank r of the update (PEFT r)', default: 8, min: 1 },
    { name: 'alpha', type: 'number', description: 'scale numerator: delta is multiplied by alpha/r (PEFT lora_alpha, default 8)', default: LORA_DEFAULT_ALPHA, min: 0 },
    { name: 'dropout', type: 'number', description: 'dropout on the LoRA input in training (PEFT lora_dropout)', default: 0, min: 0, max: 1 },
    {
      name: 'targets',
      type: 'list',
      description: 'linear layers to adapt (PEFT target_modules); c_proj means both attn.c_proj and mlp.c_proj',
      default: ['c_attn'],
      choices: LORA_TARGET_NAMES,
    },
  ],

  validate(options) {
    const problems: string[] = [];
    if (listOption(options, 'targets').length === 0) problems.push(`--targets is empty; allowed: one or more of ${LORA_TARGET_NAMES.join(', ')}`);
    if (numberOption(options, 'dropout') >= 1) problems.push('--dropout = 1 would drop every input; allowed: a number in [0, 1)');
    return problems;
  },

  addedParameters(config: ModelConfig, options: MethodOptions): ParamSpec[] {
    const r = integerOption(options, 'rank');
    const specs: ParamSpec[] = [];
    for (let layer = 0; layer < config.nLayers; layer++) {
      for (const site of loraSites(listOption(options, 'targets'))) {
        const [input, output] = linearShape(config, site);
        const bound = 1 / Math.sqrt(input); // kaiming_uniform_(a=√5) on a fan-in of `input`
        specs.push(
          { name: loraAName(layer, site), shape: [input, r], init: { kind: 'uniform', low: -bound, high: bound } }, // [in, r]
          { name: loraBName(layer, site), shape: [r, output], init: { kind: 'zeros' } }, // [r, out]: zero, so the delta starts at 0
        );
      }
    }
    return specs;
  },

  trainableBaseParameters: () => [],

  closedFormTrainable(config, options) {
    const r = integerOption(options, 'rank');
    const perLayer = loraSites(listOption(options, 'targets')).reduce((sum, site) => {
      const [input, output] = linearShape(config, site);
      return sum + r * (input + output);
    }, 0);
    return config.nLayers * perLayer;
  },

  hooks(tensors, _config, options, _base, seed = 0): ModelHooks {
    const sites = new Set(loraSites(listOption(options, 'targets')));
    const scale = scaling(options);
    const rate = numberOption(options, 'dropout');
    let call: number | null = null;
    return {
      linearDelta(layer, site, input, context) {
        if (!sites.has(site)) return null;
        let x: tf.Tensor2D = input; // [N, in]
        if (context.training && rate > 0) {
          if (call === null) {
            call = (dropoutCalls.get(tensors) ?? 0) + 1;
            dropoutCalls.set(tensors, call);
          }
          x = tf.mul(x, dropoutMask(x.shape, rate, seed, `lora-dropout:${call}:${layer}:${site}`)) as tf.Tensor2D;
        }
        const low = tf.mul(tf.matMul(x, tensorOf(tensors, loraAName(layer, site), METHOD) as tf.Tensor2D), scale); // [N, r]: scaling here is cheaper than on [N, out]
        return tf.matMul(low, tensorOf(tensors, loraBName(layer, site), METHOD) as tf.Tensor2D) as tf.Tensor2D; // [N, out]
      },
    };
  },

  mergedParameters(tensors, base, config, options) {
    const scale = scaling(options);
    const merged = new Map<string, tf.Tensor>();
    for (let layer = 0; layer < config.nLayers; layer++) {
      for (const site of loraSites(listOption(options, 'targets'))) {
        const name = `h.${layer}.${site}.weight`;
        const update = tf.tidy(() => {
          const product = tf.matMul(tensorOf(tensors, loraAName(layer, site), METHOD) as tf.Tensor2D, tensorOf(tensors, loraBName(layer, site), METHOD) as tf.Tensor2D); // [in, out]
          return tf.add(base(name), tf.mul(product, scale)); // [in, out]
        });
        merged.set(name, update);
      }
    }
    return merged;
  },

  peft: {
    peftType: 'LORA',
    config: (_config, options) => ({
      r: integerOption(options, 'rank'),
      lora_alpha: numberOption(options, 'alpha'),
      lora_dropout: numberOption(options, 'dropout'),
      // PEFT reads "all-linear" as a string only (in a list it is a module name that matches nothing).
      target_modules: listOption(options, 'targets').includes('all-linear') ? 'all-linear' : listOption(options, 'targets'),
      // GPT-2's Conv1D stores weights [in, out]: PEFT marks that with fan_in_fan_out.
      fan_in_fan_out: true,
      bias: 'none',
      use_rslora: false,
      use_dora: false,
      init_lora_weights: true,
      layers_to_transform: null,
      layers_pattern: null,
      rank_pattern: {},
      alpha_pattern: {},
      modules_to_save: null,
    }),
    options(fields, config, problems) {
      const unsupported: [string, (value: unknown) => boolean, string][] = [
        ['use_dora', (v) => v === undefined || v === false, 'false (DoRA is not implemented)'],
        ['use_rslora', (v) => v === undefined || v === false, 'false (rsLoRA scaling is not implemented)'],
        ['bias', (v) => v === undefined || v === 'none', '"none" (LoRA bias training is not implemented)'],
        ['layers_to_transform', (v) => v === undefined || v === null, 'null (every layer)'],
        ['modules_to_save', (v) => v === undefined || v === null, 'null'],
        ['exclude_modules', (v) => v === undefined || v === null || (Array.isArray(v) && v.length === 0), 'null (no module excluded)'],
        ['target_parameters', (v) => v === undefined || v === null || (Array.isArray(v) && v.length === 0), 'null (LoRA on parameters is not implemented)'],
        ['rank_pattern', (v) => v === undefined || (typeof v === 'object' && v !== null && Object.keys(v).length === 0), '{} (one rank for every module)'],
        ['alpha_pattern', (v) => v === undefined || (typeof v === 'object' && v !== null && Object.keys(v).length === 0), '{} (one alpha for every module)'],
      ];
      for (const [field, ok, allowed] of unsupported) if (!ok(fields[field])) problems.push(`${field} = ${JSON.stringify(fields[field])}: not supported; allowed: ${allowed}`);
      // Names, full module paths (what PEFT saves for all-linear) or a pattern: honoured when they resolve to whole sites.
      const sites = peftTargetSites('target_modules', fields.target_modules, config, problems);
      const targets = sites === null ? [] : targetsOption(fields.target_modules, sites, LORA_TARGET_NAMES);
      return { rank: fields.r, alpha: fields.lora_alpha, dropout: fields.lora_dropout ?? 0, targets };
    },
    toPeft: (tensors) => renameTransposed(tensors, (name) => `${PEFT_LORA_PREFIX}${name}`, ''),
    fromPeft: (tensors) => renameTransposed(tensors, (name) => name.slice(PEFT_LORA_PREFIX.length), PEFT_LORA_PREFIX),
  },
};

/** Where PEFT's LoRA tensors of a GPT2LMHeadModel live: PeftModel → LoraModel → GPT2LMHeadModel → GPT2Model. */
export const PEFT_LORA_PREFIX = 'base_model.model.transformer.';
const LORA_TENSOR = /^h\.\d+\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.lora_[AB]\.weight$/;

/**
 * PEFT keeps A and B as nn.Linear weights, [r, in] and [out, r]: the transposes of ours ([in, r], [r, out]).
 * Names with `from` (then without it) that are LoRA tensors are renamed and transposed; others pass
 * through as they are, for the caller's check to report.
 */
function renameTransposed(tensors: TensorMap, rename: (name: string) => string, from: string): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  for (const [name, tensor] of tensors) {
    const bare = name.startsWith(from) ? name.slice(from.length) : null;
    if (bare === null || !LORA_TENSOR.test(bare) || tensor.rank !== 2) out.set(name, tensor.clone());
    else out.set(rename(name), tf.transpose(tensor)); // [in, r] <-> [r, in]; [r, out] <-> [out, r]
  }
  return out;
}

/**
 * Inverted-dropout mask [N, in]: 0 with probability `rate`, else 1/(1 - rate). Drawn in JavaScript from
 * a named stream of the trial seed, so the same run gives the same masks on every backend and seeds differ.
 */
function dropoutMask(shape: [number, number], rate: number, seed: number, stream: string): tf.Tensor2D {
  const random = new Random(seed, stream);
  const keep = 1 / (1 - rate);
  const values = new Float32Array(shape[0] * shape[1]);
  for (let i = 0; i < values.length; i++) values[i] = random.next() < rate ? 0 : keep;
  return tf.tensor2d(values, shape);
}
