/**
 * Full fine-tuning ("model tuning"): every base parameter trains. The baseline of Lester et al. 2021's
 * scaling comparison (arXiv:2104.08691, "Model Tuning").
 *
 * Model: no added tensors; a trainable copy of every base tensor replaces it through parameterOverrides,
 * so the shared frozen base is still never written. Closed form: the GPT-2 parameter count.
 */
import { closedFormParameterCount, modelParameterSpecs } from '../src/params.js';
import { registerMethod, type PeftMethod } from '../src/peft.js';

export const full: PeftMethod = {
  name: 'full',
  summary: 'every base parameter (model tuning)',
  reference: 'Lester et al. 2021 (arXiv:2104.08691): the model-tuning baseline',
  options: [],
  addedParameters: () => [],
  trainableBaseParameters: (config) => modelParameterSpecs(config).map((spec) => spec.name),
  closedFormTrainable: (config) => closedFormParameterCount(config),
  hooks: () => ({}), // the trainable copies arrive as parameterOverrides from the core
};

registerMethod(full);
