/**
 * P-tuning: k virtual tokens produced by a trainable prompt encoder and prepended to the input
 * embeddings.
 *
 * Liu, Zheng, Du, Ding, Qian, Yang and Tang, "GPT Understands, Too", 2021 (arXiv:2103.10385).
 * Hugging Face PEFT: PromptEncoderConfig / PromptEncoder.
 *
 * Config: `length` k (num_virtual_tokens), `encoder` mlp | lstm (encoder_reparameterization_type),
 * `hidden` H (encoder_hidden_size; 0 means D, PEFT's default of token_dim).
 *
 * Model (PEFT's PromptEncoder): E = `prompt_encoder.embedding.weight` [k, D] (nn.Embedding, N(0, 1)), then
 * - mlp: Linear(D, H) → ReLU → Linear(H, H) → ReLU → Linear(H, D), all with biases
 *   (closed form k·D + (D·H + H) + (H·H + H) + (H·D + D));
 * - lstm: a 2-layer bidirectional LSTM of hidden size H over the k rows of E (batch of one), then the
 *   head Linear(2H, 2H) → ReLU → Linear(2H, D). Each layer and direction has PyTorch's four tensors
 *   W_ih [in, 4H], W_hh [H, 4H], b_ih [4H], b_hh [4H] (stored [in, out], the transpose of PyTorch's
 *   layout; gate order i, f, g, o; init U(-1/√H, 1/√H)), with in = D for layer 0 and 2H for layer 1:
 *     k·D + 2·(4H·D + 4H·H + 8H) + 2·(4H·2H + 4H·H + 8H) + (2H·2H + 2H) + (2H·D + D)
 *     = k·D + 10·H·D + 36·H² + 34·H + D.
 *   PEFT's encoder_dropout between the LSTM layers defaults to 0 and is not offered.
 * What is saved is the computed virtual tokens [k, D] as `prompt_embeddings` (PEFT does the same).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../src/model/config.js';
import type { ParamSpec } from '../src/model/params.js';
import type { MethodOptions, PeftMethod, TensorMap } from '../src/adapt/peft.js';
import type { MethodCard } from '../src/adapt/method_card.js';
import { applyLinear, checkPromptFits, integerOption, lengthOption, stringOption, tensorOf, torchLinear } from './common.js';
import { promptLearningFields, promptLearningLength, sameTensors } from './peft_common.js';

const METHOD = 'p-tuning';
export const P_TUNING_ENCODERS = ['mlp', 'lstm'] as const;
export const VIRTUAL_TOKENS = 'prompt_embeddings';
const PREFIX = 'prompt_encoder';
const LSTM_LAYERS = 2;
const DIRECTIONS = ['', '_reverse'] as const;

/** H: the `hidden` option, with 0 meaning D. */
export function encoderHidden(config: ModelConfig, options: MethodOptions): number {
  const hidden = integerOption(options, 'hidden');
  return hidden === 0 ? config.dModel : hidden;
}

/** The card: how the suite runs and shows the method (src/adapt/method_card.ts); its maths and adapter format follow. */
export const pTuningCard: MethodCard = {
  name: METHOD,
  summary: 'k virtual tokens from a trainable MLP or LSTM prompt encoder',
  reference: 'Liu et al. 2021, GPT Understands, Too (arXiv:2103.10385)',
  role: 'prompt',
  display: { name: 'P-tuning', colour: '#72b7b2' },
  training: {
    optimizer: 'adam',
    learningRate: 1e-3,
    weightDecay: 0,
    source: 'Hugging Face PEFT P-tuning examples: Adam 1e-3 for the prompt encoder (quick: 3e-3 for 150 steps)',
    profiles: { quick: { learningRate: 3e-3 } },
  },
  benchmark: { options: { length: '20', encoder: 'mlp' }, referenceStep: false },
};

export const pTuning: PeftMethod = {
  name: METHOD,
  // The encoder's output is an input prompt: packs like prompt tuning.
  packing: { positions: (_config, options) => ({ input: integerOption(options, 'length'), attention: 0 }) },
  options: [
    lengthOption(1),
    { name: 'encoder', type: 'string', description: 'prompt encoder (PEFT encoder_reparameterization_type)', default: 'mlp', choices: P_TUNING_ENCODERS },
    { name: 'hidden', type: 'integer', description: 'encoder hidden size H (PEFT encoder_hidden_size); 0 = d_model', default: 0, min: 0 },
  ],

  validate: (options, config) => checkPromptFits(integerOption(options, 'length'), config),

  addedParameters(config: ModelConfig, options: MethodOptions): ParamSpec[] {
    const k = integerOption(options, 'length');
    const d = config.dModel;
    const h = encoderHidden(config, options);
    const specs: ParamSpec[] = [{ name: `${PREFIX}.embedding.weight`, shape: [k, d], init: { kind: 'normal', std: 1 } }]; // [k, D]
    if (stringOption(options, 'encoder') === 'mlp') {
      specs.push(
        ...torchLinear(`${PREFIX}.mlp_head.0`, d, h), // [D, H]
        ...torchLinear(`${PREFIX}.mlp_head.2`, h, h), // [H, H]
        ...torchLinear(`${PREFIX}.mlp_head.4`, h, d), // [H, D]
      );
      return specs;
    }
    const bound = 1 / Math.sqrt(h); // PyTorch's LSTM init for every weight and bias
    const init = { kind: 'uniform', low: -bound, high: bound } as const;
    for (let layer = 0; layer < LSTM_LAYERS; layer++) {
      const input = layer === 0 ? d : 2 * h;
      for (const direction of DIRECTIONS) {
        const suffix = `l${layer}${direction}`;
        specs.push(
          { name: `${PREFIX}.lstm_head.weight_ih_${suffix}`, shape: [input, 4 * h], init }, // [in, 4H]
          { name: `${PREFIX}.lstm_head.weight_hh_${suffix}`, shape: [h, 4 * h], init }, // [H, 4H]
          { name: `${PREFIX}.lstm_head.bias_ih_${suffix}`, shape: [4 * h], init }, // [4H]
          { name: `${PREFIX}.lstm_head.bias_hh_${suffix}`, shape: [4 * h], init }, // [4H]
        );
      }
    }
    specs.push(
      ...torchLinear(`${PREFIX}.mlp_head.0`, 2 * h, 2 * h), // [2H, 2H]
      ...torchLinear(`${PREFIX}.mlp_head.2`, 2 * h, d), // [2H, D]
    );
    return specs;
  },

  trainableBaseParameters: () => [],

  closedFormTrainable(config, options) {
    const k = integerOption(options, 'length');
    const d = config.dModel;
    const h = encoderHidden(config, options);
    if (stringOption(options, 'encoder') === 'mlp') return k * d + (d * h + h) + (h * h + h) + (h * d + d);
    const lstm = 2 * (4 * h * d + 4 * h * h + 8 * h) + 2 * (4 * h * 2 * h + 4 * h * h + 8 * h);
    return k * d + lstm + (2 * h * 2 * h + 2 * h) + (2 * h * d + d);
  },

  hooks(tensors, config, options) {
    return { inputPrefix: () => encode(tensors, config, options) }; // called once per forward pass
  },

  adapterTensors: (tensors, config, options) => new Map([[VIRTUAL_TOKENS, encode(tensors, config, options)]]),

  hooksFromAdapter(adapter) {
    const tokens = tensorOf(adapter, VIRTUAL_TOKENS, METHOD); // [k, D]
    return { inputPrefix: () => tokens };
  },

  peft: {
    peftType: 'P_TUNING',
    config: (config, options) => ({
      ...promptLearningFields(config, integerOption(options, 'length')),
      encoder_reparameterization_type: stringOption(options, 'encoder').toUpperCase(),
      encoder_hidden_size: encoderHidden(config, options),
      encoder_num_layers: LSTM_LAYERS,
      encoder_dropout: 0,
    }),
    options(fields, config, problems) {
      const length = promptLearningLength(fields, config, problems);
      const type = fields.encoder_reparameterization_type ?? 'MLP';
      const encoder = typeof type === 'string' ? type.toLowerCase() : '';
      if (!(P_TUNING_ENCODERS as readonly string[]).includes(encoder)) problems.push(`encoder_reparameterization_type = ${JSON.stringify(type)}: allowed: MLP, LSTM`);
      const hidden = fields.encoder_hidden_size ?? config.dModel;
      if (typeof hidden !== 'number' || !Number.isInteger(hidden) || hidden < 1) problems.push(`encoder_hidden_size = ${JSON.stringify(hidden)}: must be a positive integer`);
      return { length, encoder, hidden };
    },
    toPeft: sameTensors,
    fromPeft: sameTensors,
  },
};

/** The virtual tokens [k, D] from the current encoder weights. */
function encode(tensors: TensorMap, config: ModelConfig, options: MethodOptions): tf.Tensor {
  return tf.tidy(() => {
    const embedding = tensorOf(tensors, `${PREFIX}.embedding.weight`, METHOD); // [k, D]
    if (stringOption(options, 'encoder') === 'mlp') {
      const h1 = tf.relu(applyLinear(tensors, `${PREFIX}.mlp_head.0`, embedding, METHOD)); // [k, H]
      const h2 = tf.relu(applyLinear(tensors, `${PREFIX}.mlp_head.2`, h1, METHOD)); // [k, H]
      return applyLinear(tensors, `${PREFIX}.mlp_head.4`, h2, METHOD); // [k, D]
    }
    const h = encoderHidden(config, options);
    let sequence: tf.Tensor = embedding; // [k, D], then [k, 2H]
    for (let layer = 0; layer < LSTM_LAYERS; layer++) {
      const outputs = DIRECTIONS.map((direction) => lstmDirection(tensors, sequence, `l${layer}${direction}`, h, direction === '_reverse'));
      sequence = tf.concat(outputs, 1); // [k, 2H]: forward and backward states side by side, as PyTorch
    }
    const hidden = tf.relu(applyLinear(tensors, `${PREFIX}.mlp_head.0`, sequence, METHOD)); // [k, 2H]
    return applyLinear(tensors, `${PREFIX}.mlp_head.2`, hidden, METHOD); // [k, D]
  });
}

/** One direction of one LSTM layer over a sequence of k rows: [k, in] → [k, H] (states at each row). */
function lstmDirection(tensors: TensorMap, sequence: tf.Tensor, suffix: string, h: number, reverse: boolean): tf.Tensor {
  const weight = (name: string): tf.Tensor => tensorOf(tensors, `${PREFIX}.lstm_head.${name}_${suffix}`, METHOD);
  const k = sequence.shape[0];
  // The input part of every step at once: one matmul instead of k.
  const inputGates = tf.add(tf.add(tf.matMul(sequence as tf.Tensor2D, weight('weight_ih') as tf.Tensor2D), weight('bias_ih')), weight('bias_hh')); // [k, 4H]
  const recurrent = weight('weight_hh') as tf.Tensor2D; // [H, 4H]
  let state = tf.zeros([1, h]); // h_t [1, H]
  let cell = tf.zeros([1, h]); // c_t [1, H]
  const outputs: tf.Tensor[] = new Array<tf.Tensor>(k);
  for (let step = 0; step < k; step++) {
    const t = reverse ? k - 1 - step : step;
    const gates = tf.add(tf.slice(inputGates, [t, 0], [1, 4 * h]), tf.matMul(state as tf.Tensor2D, recurrent)); // [1, 4H]
    const [i, f, g, o] = tf.split(gates, 4, 1); // each [1, H], PyTorch's gate order
    cell = tf.add(tf.mul(tf.sigmoid(f), cell), tf.mul(tf.sigmoid(i), tf.tanh(g))); // [1, H]
    state = tf.mul(tf.sigmoid(o), tf.tanh(cell)); // [1, H]
    outputs[t] = state;
  }
  return tf.concat(outputs, 0); // [k, H]
}
