/**
 * config.json as Hugging Face transformers writes it for GPT-2 (`GPT2Config`), both ways: reading one into a
 * {@link ModelConfig}, refusing every setting this implementation does not compute (named, all at once),
 * and writing ours so that `GPT2LMHeadModel.from_pretrained` reads it.
 *
 * Fields read: n_embd, n_layer, n_head, vocab_size, n_positions (n_ctx in older files) are required;
 * n_inner (null: 4·n_embd), layer_norm_epsilon (1e-5), activation_function ("gelu_new") default as in
 * transformers. Settings that change the computation must have GPT-2's values: model_type "gpt2",
 * a tanh-approximated GELU, scaled attention, no per-layer attention scaling, no cross-attention, and an LM
 * head tied to the token embeddings.
 */
import { validateModelConfig, type ModelConfig } from '../model/config.js';

/** The `model_type` transformers uses for GPT-2. */
export const HF_MODEL_TYPE = 'gpt2';
/** Activation names that are GELU with the tanh approximation, the one src/ops/gelu.ts computes. */
export const TANH_GELU_NAMES = ['gelu_new', 'gelu_pytorch_tanh', 'gelu_fast'] as const;

/** The shape fields a GPT-2 config.json must have; n_ctx is the older name of n_positions. */
const REQUIRED = ['n_embd', 'n_layer', 'n_head', 'vocab_size'] as const;

/** Settings that must have a given value (or be absent, taking transformers' default) for our forward pass. */
const FIXED: readonly { field: string; allowed: unknown; why: string }[] = [
  { field: 'scale_attn_weights', allowed: true, why: 'attention scores are divided by √head_dim' },
  { field: 'scale_attn_by_inverse_layer_idx', allowed: false, why: 'no per-layer attention scaling is implemented' },
  { field: 'add_cross_attention', allowed: false, why: 'decoder-only: no cross-attention' },
  { field: 'tie_word_embeddings', allowed: true, why: 'the LM head is tied to wte' },
];

/** Whether a parsed config.json looks like one transformers wrote (any model type). */
export function isHfConfig(raw: Record<string, unknown>): boolean {
  return typeof raw.model_type === 'string' || 'n_embd' in raw || 'architectures' in raw;
}

/**
 * The ModelConfig of a transformers GPT-2 config.json. Throws one error naming the file and listing every
 * problem: an other model type, missing or non-integer shape fields, unsupported settings.
 */
export function modelConfigFromHf(raw: Record<string, unknown>, configPath: string): ModelConfig {
  const problems: string[] = [];
  if (raw.model_type !== undefined && raw.model_type !== HF_MODEL_TYPE) {
    problems.push(`model_type = ${JSON.stringify(raw.model_type)}: only "${HF_MODEL_TYPE}" (GPT-2) checkpoints are supported`);
  }
  const integer = (field: string): number => {
    const value = raw[field];
    if (value === undefined) problems.push(`${field}: missing (a positive integer)`);
    else if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) problems.push(`${field} = ${JSON.stringify(value)}: must be a positive integer`);
    return value as number;
  };
  const [dModel, nLayers, nHeads, vocabSize] = REQUIRED.map(integer);
  const positionsField = raw.n_positions !== undefined || raw.n_ctx === undefined ? 'n_positions' : 'n_ctx';
  const contextLength = integer(positionsField);
  let dFF = 4 * dModel;
  if (raw.n_inner !== undefined && raw.n_inner !== null) dFF = integer('n_inner');
  const eps = raw.layer_norm_epsilon ?? 1e-5;
  if (typeof eps !== 'number' || !(eps > 0)) problems.push(`layer_norm_epsilon = ${JSON.stringify(eps)}: must be a positive number`);
  const activation = raw.activation_function ?? 'gelu_new';
  if (typeof activation !== 'string' || !(TANH_GELU_NAMES as readonly string[]).includes(activation)) {
    problems.push(`activation_function = ${JSON.stringify(activation)}: not supported; allowed: ${TANH_GELU_NAMES.join(', ')} (GELU with the tanh approximation)`);
  }
  for (const { field, allowed, why } of FIXED) {
    if (raw[field] !== undefined && raw[field] !== allowed) problems.push(`${field} = ${JSON.stringify(raw[field])}: not supported; allowed: ${JSON.stringify(allowed)} (${why})`);
  }
  if (problems.length > 0) throw new Error(`${configPath}: unsupported or incomplete GPT-2 config:\n  ${problems.join('\n  ')}`);
  return validateModelConfig({ vocabSize, contextLength, dModel, nLayers, nHeads, dFF, layerNormEps: eps as number }, `model config in ${configPath}`);
}

/** Token ids transformers records in config.json (generation uses them); null where the tokenizer has none. */
export interface SpecialTokenIds {
  bos: number | null;
  eos: number | null;
  pad: number | null;
}

/**
 * A transformers GPT-2 config.json for a model (GPT2Config's fields, dropout off: a frozen model), with
 * `extra` (our own keys) added; transformers keeps unknown keys as attributes.
 */
export function hfConfigFor(config: ModelConfig, tokens: SpecialTokenIds, extra: Record<string, unknown>): Record<string, unknown> {
  return {
    architectures: ['GPT2LMHeadModel'],
    model_type: HF_MODEL_TYPE,
    vocab_size: config.vocabSize,
    n_positions: config.contextLength,
    n_embd: config.dModel,
    n_layer: config.nLayers,
    n_head: config.nHeads,
    n_inner: config.dFF,
    layer_norm_epsilon: config.layerNormEps,
    activation_function: 'gelu_new',
    resid_pdrop: 0,
    embd_pdrop: 0,
    attn_pdrop: 0,
    scale_attn_weights: true,
    scale_attn_by_inverse_layer_idx: false,
    reorder_and_upcast_attn: false,
    tie_word_embeddings: true,
    bos_token_id: tokens.bos,
    eos_token_id: tokens.eos,
    pad_token_id: tokens.pad,
    ...extra,
  };
}
