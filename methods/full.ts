/**
 * Full fine-tuning ("model tuning"): every base parameter trains. The baseline of Lester et al. 2021's
 * scaling comparison (arXiv:2104.08691, "Model Tuning").
 *
 * Model: no added tensors; a trainable copy of every base tensor replaces it through parameterOverrides,
 * so the shared frozen base is still never written. Closed form: the GPT-2 parameter count.
 */
import { closedFormParameterCount, modelParameterSpecs } from '../src/model/params.js';
import type { PeftMethod } from '../src/adapt/peft.js';
import type { MethodCard } from '../src/adapt/method_card.js';

/** The card: how the suite runs and shows the method (src/adapt/method_card.ts); its maths and adapter format follow. */
export const fullCard: MethodCard = {
  name: 'full',
  summary: 'every base parameter (model tuning)',
  reference: 'Lester et al. 2021 (arXiv:2104.08691): the model-tuning baseline',
  role: 'baseline',
  display: { name: 'full model tuning', colour: '#252525' },
  training: { optimizer: 'adam', learningRate: 1e-4, weightDecay: 0, source: 'standard fine-tuning: Adam 1e-4 (quick: 1e-3 for 150 steps)', profiles: { quick: { learningRate: 1e-3 } } },
  benchmark: { options: {}, referenceStep: true },
};

export const full: PeftMethod = {
  name: 'full',
  options: [],
  addedParameters: () => [],
  trainableBaseParameters: (config) => modelParameterSpecs(config).map((spec) => spec.name),
  closedFormTrainable: (config) => closedFormParameterCount(config),
  hooks: () => ({}), // the trainable copies arrive as parameterOverrides from the core
};
