/**
 * Prefix tuning: k trainable key and value vectors prepended to the attention of every layer.
 *
 * Li and Liang, "Prefix-Tuning: Optimizing Continuous Prompts for Generation", ACL 2021
 * (arXiv:2101.00190). Hugging Face PEFT: PrefixTuningConfig / PrefixEncoder.
 *
 * Config: `length` k (num_virtual_tokens), `projection` H (0 = none; H > 0 is PEFT's
 * prefix_projection=True with encoder_hidden_size=H).
 *
 * Model, as PEFT's PrefixEncoder, producing prefixes P [k, 2·L·D] whose column block 2l is layer l's
 * keys and 2l+1 its values (PEFT's view(k, 2L, heads, head_dim).split(2) order):
 * - projection 0: P is itself the trainable tensor `prompt_embeddings` (nn.Embedding, N(0, 1) init);
 * - projection H: P = Linear(H, 2LD)(tanh(Linear(D, H)(E))) with E = `prefix_encoder.embedding.weight` [k, D].
 * What is saved either way is the computed P, as `prompt_embeddings` (PEFT saves the same).
 * Positions follow PEFT (the prefix is a past key/value cache): real tokens take positions k..k+T-1.
 *
 * Closed forms: L·2·k·D without projection; k·D + (D·H + H) + (H·2LD + 2LD) with it.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../src/model/config.js';
import type { ForwardContext, ModelHooks } from '../src/adapt/hooks.js';
import type { ParamSpec } from '../src/model/params.js';
import type { MethodOptions, PeftMethod, TensorMap } from '../src/adapt/peft.js';
import type { MethodCard } from '../src/adapt/method_card.js';
import { applyLinear, checkPromptFits, integerOption, lengthOption, perForward, tensorOf, torchLinear } from './common.js';
import { promptLearningFields, promptLearningLength, sameTensors } from './peft_common.js';

const METHOD = 'prefix-tuning';
export const PREFIX_PROMPTS = 'prompt_embeddings';
const ENCODER = 'prefix_encoder';

/** The card: how the suite runs and shows the method (src/adapt/method_card.ts); its maths and adapter format follow. */
export const prefixTuningCard: MethodCard = {
  name: METHOD,
  summary: 'trainable key/value prefixes of length k in every attention layer',
  reference: 'Li & Liang 2021, Prefix-Tuning: Optimizing Continuous Prompts for Generation (arXiv:2101.00190)',
  role: 'prefix',
  display: { name: 'prefix tuning', colour: '#4c78a8' },
  training: {
    optimizer: 'adam',
    learningRate: 1e-3,
    weightDecay: 0,
    source: 'Li & Liang 2021 use AdamW 5e-5..8e-5 for 5-10 epochs of large data; raised for budgets of hundreds of steps (quick: 3e-3 for 150 steps)',
    profiles: { quick: { learningRate: 3e-3 } },
  },
  benchmark: { options: { length: '20' }, referenceStep: false },
  publishedGpt2: { setting: 'prefix tuning, 20 tokens', trainable: 368_640 },
};

export const prefixTuning: PeftMethod = {
  name: METHOD,
  // Per-row key/value prefixes: each trial of a pack has its own on its own rows.
  packing: { positions: (_config, options) => ({ input: 0, attention: integerOption(options, 'length') }) },
  options: [
    lengthOption(1),
    {
      name: 'projection',
      type: 'integer',
      description: "hidden width H of PEFT's prefix reparameterisation Embedding → Linear(D,H) → tanh → Linear(H,2LD); 0 = none",
      default: 0,
      min: 0,
    },
  ],

  addedParameters(config: ModelConfig, options: MethodOptions): ParamSpec[] {
    const k = integerOption(options, 'length');
    const h = integerOption(options, 'projection');
    const width = 2 * config.nLayers * config.dModel; // 2·L·D: keys and values of every layer
    if (h === 0) return [{ name: PREFIX_PROMPTS, shape: [k, width], init: { kind: 'normal', std: 1 } }]; // [k, 2LD]
    return [
      { name: `${ENCODER}.embedding.weight`, shape: [k, config.dModel], init: { kind: 'normal', std: 1 } }, // [k, D]
      ...torchLinear(`${ENCODER}.transform.0`, config.dModel, h), // [D, H], [H]
      ...torchLinear(`${ENCODER}.transform.2`, h, width), // [H, 2LD], [2LD]
    ];
  },

  // The prefix takes positions 0..k-1 (PEFT's convention), so k plus a real token must fit in the context.
  validate: (options, config) => checkPromptFits(integerOption(options, 'length'), config),

  trainableBaseParameters: () => [],

  closedFormTrainable(config, options) {
    const k = integerOption(options, 'length');
    const h = integerOption(options, 'projection');
    const { nLayers: l, dModel: d } = config;
    if (h === 0) return l * 2 * k * d;
    return k * d + (d * h + h) + (h * 2 * l * d + 2 * l * d);
  },

  hooks(tensors, config, options) {
    const prefixes = perForward(() => computePrefixes(tensors, options)); // [k, 2LD]
    return prefixHooks(prefixes, config);
  },

  adapterTensors(tensors, _config, options) {
    // A clone without projection, so the caller owns (and may dispose) every tensor it gets.
    const prefixes = computePrefixes(tensors, options);
    return new Map([[PREFIX_PROMPTS, integerOption(options, 'projection') === 0 ? prefixes.clone() : prefixes]]);
  },

  hooksFromAdapter(adapter, config) {
    const prefixes = tensorOf(adapter, PREFIX_PROMPTS, METHOD);
    return prefixHooks(() => prefixes, config);
  },

  peft: {
    peftType: 'PREFIX_TUNING',
    config(config, options) {
      const h = integerOption(options, 'projection');
      return { ...promptLearningFields(config, integerOption(options, 'length')), encoder_hidden_size: h === 0 ? config.dModel : h, prefix_projection: h > 0 };
    },
    options(fields, config, problems) {
      const length = promptLearningLength(fields, config, problems);
      const hidden = fields.encoder_hidden_size;
      if (fields.prefix_projection === true && (typeof hidden !== 'number' || !Number.isInteger(hidden) || hidden < 1)) {
        problems.push(`encoder_hidden_size = ${JSON.stringify(hidden)}: prefix_projection needs a positive integer`);
      }
      return { length, projection: fields.prefix_projection === true ? hidden : 0 };
    },
    toPeft: sameTensors,
    fromPeft: sameTensors,
  },
};

/** P [k, 2LD] from the trainable tensors (a fresh tensor only when there is a projection). */
function computePrefixes(tensors: TensorMap, options: MethodOptions): tf.Tensor {
  if (integerOption(options, 'projection') === 0) return tensorOf(tensors, PREFIX_PROMPTS, METHOD); // [k, 2LD]
  return tf.tidy(() => {
    const embedding = tensorOf(tensors, `${ENCODER}.embedding.weight`, METHOD); // [k, D]
    const hidden = tf.tanh(applyLinear(tensors, `${ENCODER}.transform.0`, embedding, METHOD)); // [k, H]
    return applyLinear(tensors, `${ENCODER}.transform.2`, hidden, METHOD); // [k, 2LD]
  });
}

function prefixHooks(prefixes: (context: ForwardContext) => tf.Tensor, config: ModelConfig): ModelHooks {
  const d = config.dModel;
  return {
    attentionPrefix(layer, context) {
      const all = prefixes(context); // [k, 2LD]
      const k = all.shape[0];
      return {
        key: tf.slice(all, [0, 2 * layer * d], [k, d]), // [k, D]
        value: tf.slice(all, [0, (2 * layer + 1) * d], [k, d]), // [k, D]
      };
    },
  };
}
