/**
 * Packing: several adapters on one frozen model in one forward pass, each acting on its own group of
 * consecutive rows (packed training: one trial per group, src/training/train.ts packedTrainStep). It works
 * for the same reason mixed-task serving does (src/inference/serving.ts): every operation of the model
 * treats rows independently, so hooks that act per row (HOOK_PACKS) can be applied group by group:
 * input prefixes and key/value prefixes are stacked row by row, and a linear delta is computed on each
 * group's rows with that group's adapter. Weights replaced for the whole batch cannot be packed.
 *
 * A method declares that its trials may be packed ({@link PeftMethod.packing}) and the positions its hooks
 * add; groups in one pass must agree on those (the model has no per-row attention mask).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../model/config.js';
import { HOOK_PACKS, type AttentionPrefix, type ForwardContext, type ModelHooks } from './hooks.js';
import type { MethodOptions, PackingPositions, PeftMethod } from './peft.js';

/** One adapter's hooks and the number of consecutive rows it acts on. */
export interface PackMember {
  hooks: ModelHooks;
  rows: number;
}

/**
 * Why a method's trials with these options cannot be packed, or null when they can: it must declare
 * packing and leave every base weight frozen (its trainable tensors are its own, never base copies).
 */
export function packingProblem(method: PeftMethod, config: ModelConfig, options: MethodOptions): string | null {
  if (method.packing === undefined) return `method "${method.name}" does not declare packing`;
  const base = method.trainableBaseParameters(config, options);
  if (base.length > 0) return `method "${method.name}" declares packing but trains base parameters (${base.slice(0, 3).join(', ')}${base.length > 3 ? ', …' : ''}); packed trials must leave the base weights frozen`;
  return null;
}

/** The positions a packable method's hooks add with these options (see {@link PeftMethod.packing}). */
export function packingPositions(method: PeftMethod, config: ModelConfig, options: MethodOptions): PackingPositions {
  const problem = packingProblem(method, config, options);
  if (problem !== null) throw new Error(problem);
  return (method.packing as NonNullable<PeftMethod['packing']>).positions(config, options);
}

/**
 * One set of hooks for a batch whose rows are the members' groups in order (member 0's rows first).
 * Each member's hooks see a context whose batchSize is its own row count, the same object for every call
 * of one forward pass (methods cache per-pass values by context). Throws, naming the hook, when a member
 * uses a hook that cannot be packed or when members' prefixes differ in length.
 */
export function packHooks(members: readonly PackMember[]): ModelHooks {
  if (members.length === 0) throw new Error('packHooks: no members; allowed: one or more');
  const declared: Readonly<Record<string, boolean>> = HOOK_PACKS;
  members.forEach((member, g) => {
    if (!(Number.isInteger(member.rows) && member.rows >= 1)) throw new Error(`packHooks: member ${g} has ${member.rows} rows; allowed: an integer ≥ 1`);
    const unpackable = Object.entries(member.hooks).filter(([name, value]) => value !== undefined && declared[name] !== true).map(([name]) => name);
    if (unpackable.length > 0) {
      throw new Error(`packHooks: member ${g} acts through ${unpackable.join(', ')}, which replaces weights for the whole batch; allowed: ${Object.keys(declared).filter((name) => declared[name]).join(', ')}`);
    }
  });
  const total = members.reduce((sum, member) => sum + member.rows, 0);
  let lastContext: ForwardContext | null = null;
  let groupContexts: ForwardContext[] = [];
  const contexts = (context: ForwardContext): ForwardContext[] => {
    if (context.batchSize !== total) throw new Error(`packHooks: a batch of ${context.batchSize} rows; the members cover ${total}`);
    if (context !== lastContext) {
      groupContexts = members.map((member) => ({ ...context, batchSize: member.rows }));
      lastContext = context;
    }
    return groupContexts;
  };
  const uses = (hook: keyof ModelHooks): boolean => members.some((member) => member.hooks[hook] !== undefined);
  const hooks: ModelHooks = {};
  if (uses('inputPrefix')) {
    hooks.inputPrefix = (context) => {
      const groups = contexts(context);
      return stackRows(members.map((member, g) => member.hooks.inputPrefix?.(groups[g]) ?? null), members, context.config.dModel, 'inputPrefix');
    };
  }
  if (uses('attentionPrefix')) {
    hooks.attentionPrefix = (layer, context) => {
      const groups = contexts(context);
      const prefixes: (AttentionPrefix | null)[] = members.map((member, g) => member.hooks.attentionPrefix?.(layer, groups[g]) ?? null);
      const what = `attentionPrefix of layer ${layer}`;
      const key = stackRows(prefixes.map((p) => p?.key ?? null), members, context.config.dModel, `${what} (key)`);
      const value = stackRows(prefixes.map((p) => p?.value ?? null), members, context.config.dModel, `${what} (value)`);
      return key === null || value === null ? null : { key, value };
    };
  }
  if (uses('linearDelta')) {
    hooks.linearDelta = (layer, site, input, context) => {
      const groups = contexts(context);
      const [rows] = input.shape;
      const positions = rows / total; // every row of the batch has the same positions
      if (!Number.isInteger(positions)) throw new Error(`packHooks: linearDelta input [${input.shape}] is not ${total} rows of equal length`);
      // split, not slice: its gradient is one concat, where each slice's would be a pad to the whole batch.
      const inputs = members.length === 1 ? [input] : (tf.split(input, members.map((member) => member.rows * positions), 0) as tf.Tensor2D[]); // each [b_g·S, in]
      const deltas = members.map((member, g) => member.hooks.linearDelta?.(layer, site, inputs[g], groups[g]) ?? null);
      const present = deltas.find((delta) => delta !== null);
      if (present === undefined) return null;
      const outWidth = present.shape[1];
      return tf.concat(deltas.map((delta, g) => delta ?? tf.zeros([members[g].rows * positions, outWidth])), 0) as tf.Tensor2D; // [N, out]
    };
  }
  return hooks;
}

/** Per-member prefixes ([k, D] or [b_g, k, D], or null for none) stacked into [B, k, D]; null when no member has positions. */
function stackRows(parts: readonly (tf.Tensor | null)[], members: readonly PackMember[], width: number, what: string): tf.Tensor3D | null {
  const lengths = parts.map((part) => (part === null ? 0 : part.shape[part.rank - 2]));
  if (lengths.every((length) => length === 0)) return null;
  if (new Set(lengths).size > 1) {
    throw new Error(`packHooks: the members' ${what} lengths differ (${lengths.join(', ')}); allowed: one length per pass (pack only trials whose declared positions agree)`);
  }
  return tf.concat(
    parts.map((part, g) => {
      const t = part as tf.Tensor;
      if (t.rank === 2 && t.shape[1] === width) return tf.broadcastTo(tf.expandDims(t, 0), [members[g].rows, t.shape[0], width]);
      if (t.rank === 3 && t.shape[0] === members[g].rows && t.shape[2] === width) return t;
      throw new Error(`packHooks: member ${g}'s ${what} is [${t.shape}]; allowed: [k, ${width}] or [${members[g].rows}, k, ${width}]`);
    }),
    0,
  ) as tf.Tensor3D; // [B, k, D]
}
