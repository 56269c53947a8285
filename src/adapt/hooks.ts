/**
 * Every place a PEFT method may act on the frozen model. A method never edits the core: it hands the
 * forward pass a {@link ModelHooks} object, and declares (see peft.ts) which tensors train.
 *
 * | hook               | used by                                                  |
 * |--------------------|----------------------------------------------------------|
 * | inputPrefix        | prompt tuning, P-tuning, prompt design                   |
 * | attentionPrefix    | prefix tuning                                            |
 * | linearDelta        | LoRA (unmerged)                                          |
 * | parameterOverrides | full tuning, BitFit, merged LoRA, (IA)³ (folded weights) |
 *
 * (docs/architecture.md has the same table with what each hook does.)
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../model/config.js';
import type { LinearSite } from '../model/params.js';

export interface ForwardContext {
  config: ModelConfig;
  /** Rows in the batch. */
  batchSize: number;
  /** Real (non-virtual) tokens per row. */
  sequenceLength: number;
  /** Whether this pass is for training (methods apply dropout only then). */
  training: boolean;
}

/** Key and value vectors prepended to one layer's attention, before the head split. */
export interface AttentionPrefix {
  /** [k, D] shared by every row, or [B, k, D] one per row. */
  key: tf.Tensor;
  /** Same shape as key. */
  value: tf.Tensor;
}

export interface ModelHooks {
  /**
   * Values that replace named base parameters in this forward pass (a trainable copy for full tuning
   * and BitFit, merged weights for LoRA). The frozen tensors themselves are never modified.
   */
  parameterOverrides?: ReadonlyMap<string, tf.Tensor>;
  /**
   * Embeddings placed before the token embeddings: [k, D] shared by every row or [B, k, D] one per row
   * (mixed-task batches). They take positions 0..k-1; their outputs are dropped from the logits.
   */
  inputPrefix?(context: ForwardContext): tf.Tensor | null;
  /**
   * Per-layer key/value prefix of k positions; queries attend to it, it attends to nothing. As in PEFT and
   * transformers (the prefix is a past key/value cache), the sequence then takes positions k..k+S-1, so
   * k + S must fit in the context and every layer's prefix has the same k.
   */
  attentionPrefix?(layer: number, context: ForwardContext): AttentionPrefix | null;
  /** An additive delta on the output of a linear layer: input [N, in] → delta [N, out], or null for none. */
  linearDelta?(layer: number, site: LinearSite, input: tf.Tensor2D, context: ForwardContext): tf.Tensor2D | null;
}

/**
 * For every hook, whether an adapter acting only through hooks marked true can share one forward pass
 * with other tasks' adapters (mixed-task serving, src/inference/serving.ts): only per-row input, never weights or
 * per-layer state. The mapped type makes a new hook a compile error until it is declared here.
 */
export const HOOK_SHARES_BATCH: { readonly [K in keyof Required<ModelHooks>]: boolean } = {
  parameterOverrides: false,
  inputPrefix: true,
  attentionPrefix: false,
  linearDelta: false,
};

/**
 * For every hook, whether it can act on one group of consecutive rows of a batch while other groups get
 * other adapters' hooks (packed training, src/adapt/packed.ts): per-row input, per-row key/value prefixes
 * and deltas computed from each row's own activations can; weights replaced for the whole batch cannot.
 * The mapped type makes a new hook a compile error until it is declared here.
 */
export const HOOK_PACKS: { readonly [K in keyof Required<ModelHooks>]: boolean } = {
  parameterOverrides: false,
  inputPrefix: true,
  attentionPrefix: true,
  linearDelta: true,
};
