/**
 * A decoder-only transformer with the GPT-2 architecture and Hugging Face GPT-2 parameter names:
 * token and position embeddings, pre-LayerNorm blocks (attention, then a GELU MLP), a final LayerNorm
 * and an LM head tied to the token embeddings. Reads top to bottom: construction, forward pass, blocks.
 *
 * The base weights are frozen: nothing here ever modifies them. Methods act through {@link ModelHooks}.
 * Shapes in comments: B batch, T real tokens, k virtual tokens, S = k + T, D width, H heads,
 * Dh = D / H, V vocabulary, N = B·S rows.
 */
import * as tf from '@tensorflow/tfjs-core';
import { validateModelConfig, type ModelConfig } from './config.js';
import type { AttentionPrefix, ForwardContext, ModelHooks } from '../adapt/hooks.js';
import { causalAttention, type AttentionKernel } from '../ops/causal_attention.js';
import { crossEntropy, groupedCrossEntropy } from '../ops/cross_entropy.js';
import { embed } from '../ops/embedding.js';
import { gelu } from '../ops/gelu.js';
import { layerNorm } from '../ops/layer_norm.js';
import { linear } from '../ops/linear.js';
import { initialValues, modelParameterSpecs, type LinearSite, type ParamSpec } from './params.js';

/** A large negative score for masked attention: exp() of it underflows to exactly 0 in float32. */
const MASKED_SCORE = -1e9;

export interface ForwardOptions {
  hooks?: ModelHooks;
  /** Training pass (enables method dropout). Default false. */
  training?: boolean;
}

export class GPT2 {
  readonly config: ModelConfig;
  readonly specs: readonly ParamSpec[];
  private readonly weights: Map<string, tf.Tensor>;
  /** Attention implementation; 'auto' picks the fastest for the backend (tests pin each one). */
  attentionKernel: AttentionKernel = 'auto';
  /** Additive causal masks by (real positions, key prefix length), built once each. */
  private readonly masks = new Map<string, tf.Tensor2D>();

  private constructor(config: ModelConfig, weights: Map<string, tf.Tensor>) {
    this.config = config;
    this.specs = modelParameterSpecs(config);
    this.weights = weights;
  }

  /** A freshly initialised model; the same seed gives the same bytes on every backend. */
  static initialize(config: ModelConfig, seed: number): GPT2 {
    validateModelConfig(config);
    const weights = new Map<string, tf.Tensor>();
    for (const spec of modelParameterSpecs(config)) {
      weights.set(spec.name, tf.keep(tf.tensor(initialValues(spec, seed), spec.shape, 'float32')));
    }
    return new GPT2(config, weights);
  }

  /** A model from existing tensors (takes ownership). Every name, shape and dtype is checked; all mismatches are reported at once. */
  static fromWeights(config: ModelConfig, tensors: ReadonlyMap<string, tf.Tensor>, source = 'weights'): GPT2 {
    validateModelConfig(config);
    const problems = weightMismatches(config, tensors);
    if (problems.length > 0) throw new Error(`${source} do not match the model config:\n  ${problems.join('\n  ')}`);
    const weights = new Map<string, tf.Tensor>();
    for (const spec of modelParameterSpecs(config)) weights.set(spec.name, tf.keep(tensors.get(spec.name) as tf.Tensor));
    return new GPT2(config, weights);
  }

  /** The frozen base tensor of a parameter. */
  parameter(name: string): tf.Tensor {
    const tensor = this.weights.get(name);
    if (tensor === undefined) throw new Error(`GPT2: no parameter named "${name}"`);
    return tensor;
  }

  /** All frozen base tensors by name, in declaration order. */
  parameters(): ReadonlyMap<string, tf.Tensor> {
    return this.weights;
  }

  dispose(): void {
    for (const tensor of this.weights.values()) tensor.dispose();
    for (const mask of this.masks.values()) mask.dispose();
    this.weights.clear();
    this.masks.clear();
  }

  /** Next-token logits for the real tokens: tokens [B, T] int32 → [B, T, V]. */
  forward(tokens: tf.Tensor2D, options: ForwardOptions = {}): tf.Tensor3D {
    const [batchSize, sequenceLength] = tokens.shape;
    return tf.tidy(() => {
      const { hidden, w } = this.finalHidden(tokens, options); // [B·T, D]
      return tf.reshape(this.head(hidden, w), [batchSize, sequenceLength, this.config.vocabSize]) as tf.Tensor3D;
    });
  }

  /**
   * Next-token logits at some real positions only: `positions` [P] int32 are flat indices b·T + t into
   * the tokens [B, T]; returns [P, V], row p equal to forward(tokens)[b, t] (within float rounding). The
   * LM head is the largest matrix of a GPT-2 (50,257 × D), and a loss or a label score needs it only at
   * a few positions per row: the hidden states are gathered first, so the head costs P rows, not B·T.
   */
  logitsAt(tokens: tf.Tensor2D, positions: ArrayLike<number>, options: ForwardOptions = {}): tf.Tensor2D {
    const [batchSize, sequenceLength] = tokens.shape;
    for (let i = 0; i < positions.length; i++) {
      const p = positions[i];
      if (!(Number.isInteger(p) && p >= 0 && p < batchSize * sequenceLength)) {
        throw new Error(`GPT2.logitsAt: position ${i} = ${p}; allowed: an integer 0..${batchSize * sequenceLength - 1} (b·T + t for tokens [${tokens.shape}])`);
      }
    }
    return tf.tidy(() => {
      const { hidden, w } = this.finalHidden(tokens, options); // [B·T, D]
      return this.head(embed(hidden, tf.tensor1d(Int32Array.from(positions), 'int32')), w, true) as tf.Tensor2D; // [P, D] → [P, V]
    });
  }

  /**
   * The tied LM head: hidden states [N, D] → logits [N, V]. `flagged`: TensorFlow multiplies by wteᵀ
   * through its transpose flag without copying the V × D table (gpt2: 154 MB a pass); wasm's flagged
   * matmul is ~10x slower than its plain one (fast_gradients.ts), so it keeps the explicit transpose.
   * forward() always transposes, so that pretraining stays bit for bit what it was.
   */
  private head(hidden: tf.Tensor, w: (name: string) => tf.Tensor, flagged = false): tf.Tensor {
    if (flagged && tf.getBackend() === 'tensorflow') return tf.matMul(hidden, w('wte.weight'), false, true); // [N, V]
    return tf.matMul(hidden, tf.transpose(w('wte.weight'))); // [N, V]
  }

  /** The final LayerNorm's output at the real tokens, [B·T, D], and the parameter lookup of this pass (hooks applied). */
  private finalHidden(tokens: tf.Tensor2D, options: ForwardOptions): { hidden: tf.Tensor2D; w: (name: string) => tf.Tensor } {
    const { dModel } = this.config;
    const [batchSize, sequenceLength] = tokens.shape;
    if (tokens.dtype !== 'int32') throw new Error(`GPT2.forward: tokens must be int32, got ${tokens.dtype}`);
    const hooks = options.hooks ?? {};
    const context: ForwardContext = { config: this.config, batchSize, sequenceLength, training: options.training ?? false };
    const w = (name: string): tf.Tensor => hooks.parameterOverrides?.get(name) ?? this.parameter(name);

    const wte = w('wte.weight'); // [V, D]
    let x: tf.Tensor = tf.reshape(embed(wte, tf.reshape(tokens, [-1])), [batchSize, sequenceLength, dModel]); // [B, T, D]

    const prefix = hooks.inputPrefix?.(context) ?? null;
    const virtualTokens = prefix === null ? 0 : prefix.shape[prefix.rank - 2];
    if (prefix !== null && virtualTokens > 0) {
      x = tf.concat([broadcastRows(prefix, batchSize, dModel, 'inputPrefix'), x], 1); // [B, S, D]
    }
    const totalLength = virtualTokens + sequenceLength;
    // Key/value prefixes count as past tokens (PEFT's and transformers' convention): the sequence takes
    // positions pastLength..pastLength+S-1, so every layer's prefix must have the same length.
    const layerPrefixes = Array.from({ length: this.config.nLayers }, (_, layer) => hooks.attentionPrefix?.(layer, context) ?? null);
    const prefixLengths = new Set(layerPrefixes.map((p) => (p === null ? 0 : p.key.shape[p.key.rank - 2])));
    if (prefixLengths.size > 1) throw new Error(`attentionPrefix: every layer needs a prefix of the same length, got lengths ${[...prefixLengths].join(', ')}`);
    const pastLength = [...prefixLengths][0];
    if (pastLength + totalLength > this.config.contextLength) {
      throw new Error(
        `GPT2.forward: ${sequenceLength} tokens + ${virtualTokens} virtual tokens${pastLength > 0 ? ` + ${pastLength} prefix positions` : ''} = ${pastLength + totalLength} exceeds the context length ${this.config.contextLength}`,
      );
    }

    const positions = tf.slice(w('wpe.weight'), [pastLength, 0], [totalLength, dModel]); // [S, D]
    x = tf.reshape(tf.add(x, positions), [batchSize * totalLength, dModel]); // [N, D]

    for (let layer = 0; layer < this.config.nLayers; layer++) {
      const p = `h.${layer}`;
      const normed = layerNorm(x, w(`${p}.ln_1.weight`), w(`${p}.ln_1.bias`), this.config.layerNormEps); // [N, D]
      const attended = this.attention(layer, normed, batchSize, totalLength, layerPrefixes[layer], hooks, context, w);
      x = tf.add(x, attended); // [N, D]
      const hidden = this.project(layer, 'mlp.c_fc', layerNorm(x, w(`${p}.ln_2.weight`), w(`${p}.ln_2.bias`), this.config.layerNormEps), hooks, context, w); // [N, 4D]
      x = tf.add(x, this.project(layer, 'mlp.c_proj', gelu(hidden), hooks, context, w)); // [N, D]
    }
    x = layerNorm(x, w('ln_f.weight'), w('ln_f.bias'), this.config.layerNormEps); // [N, D]

    if (virtualTokens > 0) {
      // Drop the virtual positions: logits are for real tokens only.
      x = tf.reshape(tf.slice(tf.reshape(x, [batchSize, totalLength, dModel]), [0, virtualTokens, 0], [batchSize, sequenceLength, dModel]), [batchSize * sequenceLength, dModel]); // [B·T, D]
    }
    return { hidden: x as tf.Tensor2D, w };
  }

  /**
   * Mean next-token cross-entropy: the logits at position t predict tokens[t + 1]. With `lossMask`
   * [B, T] (1 = count, 0 = ignore), only positions whose target is marked count, and the LM head is
   * computed at those positions only (see logitsAt); without one, at every position.
   */
  languageModelLoss(tokens: tf.Tensor2D, options: ForwardOptions & { lossMask?: tf.Tensor2D } = {}): tf.Scalar {
    const sequenceLength = tokens.shape[1];
    if (sequenceLength < 2) throw new Error(`languageModelLoss: need at least 2 tokens per row, got [${tokens.shape}]`);
    const marked = options.lossMask === undefined ? null : markedTargets(options.lossMask, tokens);
    return tf.tidy(() => {
      if (marked !== null && marked.positions.length > 0) {
        const logits = this.logitsAt(tokens, marked.positions, options); // [P, V]
        return crossEntropy(logits, tf.tensor1d(marked.targets, 'int32'), tf.tensor1d(marked.weights, 'float32'));
      }
      const { predicting, targets, weights } = this.everyPosition(tokens, options);
      return crossEntropy(predicting, targets, weights);
    });
  }

  /**
   * Packed training (src/adapt/packed.ts): {@link languageModelLoss} of each group of consecutive rows
   * (`rowGroups`: rows per group, summing to B) from one forward pass → [G]. Rows never interact, so a
   * group's loss is the loss of its rows as a batch of their own.
   */
  groupedLanguageModelLoss(tokens: tf.Tensor2D, options: ForwardOptions & { lossMask?: tf.Tensor2D; rowGroups: readonly number[] }): tf.Tensor1D {
    const [batchSize, sequenceLength] = tokens.shape;
    const { rowGroups } = options;
    if (rowGroups.some((rows) => !(Number.isInteger(rows) && rows >= 1)) || rowGroups.reduce((a, b) => a + b, 0) !== batchSize) {
      throw new Error(`groupedLanguageModelLoss: rowGroups [${rowGroups.join(', ')}] must be positive integers summing to the ${batchSize} rows`);
    }
    if (sequenceLength < 2) throw new Error(`groupedLanguageModelLoss: need at least 2 tokens per row, got [${tokens.shape}]`);
    // As languageModelLoss: with a loss mask the head runs at the marked positions only (row order keeps
    // each group's positions consecutive), unless a group marks none (its mean would be 0/0).
    const marked = options.lossMask === undefined ? null : markedTargets(options.lossMask, tokens);
    if (marked !== null) {
      const groupOfRow = rowGroups.flatMap((rows, g) => new Array<number>(rows).fill(g));
      const perGroup = rowGroups.map(() => 0);
      for (const position of marked.positions) perGroup[groupOfRow[Math.floor(position / sequenceLength)]] += 1;
      if (perGroup.every((count) => count > 0)) {
        return tf.tidy(() => {
          const logits = this.logitsAt(tokens, marked.positions, options); // [P, V]
          return groupedCrossEntropy(logits, tf.tensor1d(marked.targets, 'int32'), perGroup, tf.tensor1d(marked.weights, 'float32')); // [G]
        });
      }
    }
    return tf.tidy(() => {
      // One cross-entropy over every row that keeps each group's mean apart.
      const { predicting, targets, weights } = this.everyPosition(tokens, options);
      return groupedCrossEntropy(predicting, targets, rowGroups.map((rows) => rows * (sequenceLength - 1)), weights); // [G]
    });
  }

  /** The whole-vocabulary head at every position but the last, its next-token targets and the mask's weights (both losses' path without a mask). */
  private everyPosition(tokens: tf.Tensor2D, options: ForwardOptions & { lossMask?: tf.Tensor2D }): { predicting: tf.Tensor2D; targets: tf.Tensor1D; weights: tf.Tensor1D | undefined } {
    const [batchSize, sequenceLength] = tokens.shape;
    const logits = this.forward(tokens, options); // [B, T, V]
    const predicting = tf.reshape(tf.slice(logits, [0, 0, 0], [batchSize, sequenceLength - 1, this.config.vocabSize]), [-1, this.config.vocabSize]) as tf.Tensor2D; // [B·(T-1), V]
    const targets = tf.reshape(tf.slice(tokens, [0, 1], [batchSize, sequenceLength - 1]), [-1]) as tf.Tensor1D; // [B·(T-1)]
    const weights =
      options.lossMask === undefined ? undefined : (tf.reshape(tf.slice(tf.cast(options.lossMask, 'float32'), [0, 1], [batchSize, sequenceLength - 1]), [-1]) as tf.Tensor1D);
    return { predicting, targets, weights };
  }

  /** A linear layer of a block, plus any method delta: [N, in] → [N, out]. */
  private project(
    layer: number,
    site: LinearSite,
    input: tf.Tensor,
    hooks: ModelHooks,
    context: ForwardContext,
    w: (name: string) => tf.Tensor,
  ): tf.Tensor {
    const name = `h.${layer}.${site}`;
    const output = linear(input, w(`${name}.weight`), w(`${name}.bias`)); // [N, out]
    const delta = this.linearDelta(layer, site, input, output.shape[output.rank - 1], hooks, context);
    return delta === null ? output : tf.add(output, delta);
  }

  /** A method's delta on a linear layer's output, checked to be [N, out]; null for none. */
  private linearDelta(layer: number, site: LinearSite, input: tf.Tensor, outputWidth: number, hooks: ModelHooks, context: ForwardContext): tf.Tensor | null {
    const delta = hooks.linearDelta?.(layer, site, input as tf.Tensor2D, context) ?? null;
    if (delta !== null && (delta.rank !== 2 || delta.shape[0] !== input.shape[0] || delta.shape[1] !== outputWidth)) {
      throw new Error(`linearDelta for h.${layer}.${site} returned [${delta.shape}], expected [${input.shape[0]},${outputWidth}]`);
    }
    return delta;
  }

  /**
   * c_attn's query, key and value, each [N, D], the query scaled by 1/√Dh: three products against column
   * slices of the weight (the scale folded into the query's slice) instead of one product and a split,
   * which copies the [N, 3D] output column-wise (slowly on wasm) and concatenates in the gradient. A
   * method's delta (LoRA) is on the whole output, so it is split and added per part; a zero delta then
   * leaves the result bit for bit as without one.
   */
  private queryKeyValue(layer: number, input: tf.Tensor, hooks: ModelHooks, context: ForwardContext, w: (name: string) => tf.Tensor): tf.Tensor[] {
    const { dModel, nHeads } = this.config;
    const scale = 1 / Math.sqrt(dModel / nHeads);
    const weight = w(`h.${layer}.attn.c_attn.weight`); // [D, 3D]
    const bias = w(`h.${layer}.attn.c_attn.bias`); // [3D]
    if (weight.rank !== 2 || weight.shape[1] !== 3 * dModel || bias.rank !== 1 || bias.shape[0] !== 3 * dModel) {
      throw new Error(`h.${layer}.attn.c_attn: weight [${weight.shape}] and bias [${bias.shape}] must be [${weight.shape[0]}, ${3 * dModel}] and [${3 * dModel}]`);
    }
    const delta = this.linearDelta(layer, 'attn.c_attn', input, 3 * dModel, hooks, context);
    const deltas = delta === null ? null : tf.split(delta, 3, 1); // each [N, D]
    return [0, 1, 2].map((part) => {
      const scaled = (t: tf.Tensor): tf.Tensor => (part === 0 ? tf.mul(t, scale) : t); // only the query
      const columns = tf.slice(weight, [0, part * dModel], [weight.shape[0], dModel]); // [D, D]
      const offsets = tf.slice(bias, [part * dModel], [dModel]); // [D]
      const output = linear(input, scaled(columns), scaled(offsets)); // [N, D]
      return deltas === null ? output : tf.add(output, scaled(deltas[part]));
    });
  }

  /** Causal multi-head self-attention with an optional key/value prefix: [N, D] → [N, D]. */
  private attention(
    layer: number,
    input: tf.Tensor,
    batchSize: number,
    length: number,
    prefix: AttentionPrefix | null,
    hooks: ModelHooks,
    context: ForwardContext,
    w: (name: string) => tf.Tensor,
  ): tf.Tensor {
    const { dModel, nHeads } = this.config;
    const headSize = dModel / nHeads;
    const [query, key, value] = this.queryKeyValue(layer, input, hooks, context, w); // each [N, D], query scaled by 1/√Dh

    let keys = tf.reshape(key, [batchSize, length, dModel]); // [B, S, D]
    let values = tf.reshape(value, [batchSize, length, dModel]); // [B, S, D]
    let prefixLength = 0;
    if (prefix !== null) {
      prefixLength = prefix.key.shape[prefix.key.rank - 2];
      if (prefix.value.shape.join() !== prefix.key.shape.join()) {
        throw new Error(`attentionPrefix for layer ${layer}: key [${prefix.key.shape}] and value [${prefix.value.shape}] differ`);
      }
      if (prefixLength > 0) {
        keys = tf.concat([broadcastRows(prefix.key, batchSize, dModel, 'attentionPrefix.key'), keys], 1); // [B, k+S, D]
        values = tf.concat([broadcastRows(prefix.value, batchSize, dModel, 'attentionPrefix.value'), values], 1); // [B, k+S, D]
      }
    }
    const keyLength = prefixLength + length;

    // Heads are a reshape away: [B, L, D] → [B, L, H, Dh].
    const q = tf.reshape(query, [batchSize, length, nHeads, headSize]) as tf.Tensor4D; // [B, S, H, Dh]
    const k = tf.reshape(keys, [batchSize, keyLength, nHeads, headSize]) as tf.Tensor4D; // [B, k+S, H, Dh]
    const v = tf.reshape(values, [batchSize, keyLength, nHeads, headSize]) as tf.Tensor4D; // [B, k+S, H, Dh]
    const attended = causalAttention(q, k, v, this.causalMask(length, prefixLength), this.attentionKernel); // [B, S, H, Dh]
    const merged = tf.reshape(attended, [batchSize * length, dModel]); // [N, D]
    return this.project(layer, 'attn.c_proj', merged, hooks, context, w);
  }

  /** [S, k+S] additive mask: query i sees every prefix key and real keys 0..i. */
  private causalMask(length: number, prefixLength: number): tf.Tensor2D {
    const key = `${length}:${prefixLength}`;
    let mask = this.masks.get(key);
    if (mask === undefined) {
      const values = new Float32Array(length * (prefixLength + length));
      for (let i = 0; i < length; i++) {
        for (let j = prefixLength + i + 1; j < prefixLength + length; j++) values[i * (prefixLength + length) + j] = MASKED_SCORE;
      }
      mask = tf.keep(tf.tensor2d(values, [length, prefixLength + length]));
      this.masks.set(key, mask);
    }
    return mask;
  }
}

/**
 * The targets a loss mask [B, T] counts (t ≥ 1 with a non-zero weight), as the flat positions b·T + t − 1
 * that predict them, the target ids and the weights. Masks are data made on the CPU: reading one back is cheap.
 */
function markedTargets(lossMask: tf.Tensor2D, tokens: tf.Tensor2D): { positions: number[]; targets: number[]; weights: number[] } {
  const [batchSize, sequenceLength] = tokens.shape;
  if (lossMask.shape.join() !== tokens.shape.join()) throw new Error(`languageModelLoss: lossMask [${lossMask.shape}] must match tokens [${tokens.shape}]`);
  const mask = lossMask.dataSync();
  const ids = tokens.dataSync();
  const positions: number[] = [];
  const targets: number[] = [];
  const weights: number[] = [];
  for (let b = 0; b < batchSize; b++) {
    for (let t = 1; t < sequenceLength; t++) {
      const weight = mask[b * sequenceLength + t];
      if (weight === 0) continue;
      positions.push(b * sequenceLength + t - 1);
      targets.push(ids[b * sequenceLength + t]);
      weights.push(weight);
    }
  }
  return { positions, targets, weights };
}

/** [k, D] → [B, k, D] by broadcasting; [B, k, D] is checked and passed through. */
function broadcastRows(t: tf.Tensor, batchSize: number, width: number, what: string): tf.Tensor3D {
  if (t.rank === 2 && t.shape[1] === width) return tf.broadcastTo(tf.expandDims(t, 0), [batchSize, t.shape[0], width]) as tf.Tensor3D;
  if (t.rank === 3 && t.shape[0] === batchSize && t.shape[2] === width) return t as tf.Tensor3D;
  throw new Error(`${what}: expected [k, ${width}] or [${batchSize}, k, ${width}], got [${t.shape}]`);
}

/** Every difference between the tensors given and those the config declares, one line each. */
export function weightMismatches(config: ModelConfig, tensors: ReadonlyMap<string, { shape: readonly number[]; dtype: string }>): string[] {
  const problems: string[] = [];
  const specs = modelParameterSpecs(config);
  const declared = new Set(specs.map((s) => s.name));
  for (const spec of specs) {
    const tensor = tensors.get(spec.name);
    if (tensor === undefined) {
      problems.push(`${spec.name}: missing (expected float32 [${spec.shape}])`);
      continue;
    }
    if (tensor.shape.join() !== spec.shape.join()) {
      problems.push(`${spec.name}: shape [${tensor.shape}], expected [${spec.shape}]`);
    }
    if (tensor.dtype !== 'float32') problems.push(`${spec.name}: dtype ${tensor.dtype}, expected float32`);
  }
  for (const name of tensors.keys()) {
    if (!declared.has(name)) problems.push(`${name}: not a parameter of this model`);
  }
  return problems;
}
