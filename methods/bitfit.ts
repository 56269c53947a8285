/**
 * BitFit: train only the bias terms of the frozen model.
 *
 * Ben Zaken, Ravfogel and Goldberg, "BitFit: Simple Parameter-efficient Fine-tuning for
 * Transformer-based Masked Language-models", ACL 2022 (arXiv:2106.10199).
 *
 * Config: `biases`, a list of bias groups (default all). Group names:
 * - all: every `.bias` parameter, linear and LayerNorm (how Hugging Face BitFit recipes count them);
 * - linear: the biases of the four linear layers; ln: the LayerNorm biases (ln_1, ln_2 and ln_f);
 * - attn: attn.c_attn and attn.c_proj; mlp: mlp.c_fc and mlp.c_proj;
 * - one site: attn.c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj; the PEFT-style short forms c_attn, c_fc,
 *   and c_proj (both projections, as a PEFT suffix match would);
 * - one LayerNorm: ln_1, ln_2, ln_f.
 * c_attn's bias holds query, key and value biases in one tensor, so they train together.
 *
 * Model: no added tensors; the chosen base biases train as copies (parameterOverrides), the frozen
 * originals untouched. Closed form: the sum of the chosen bias sizes (per layer 2D for LayerNorms,
 * 3D c_attn, D attn.c_proj, d_ff c_fc, D mlp.c_proj; plus D for ln_f).
 */
import type { ModelConfig } from '../src/model/config.js';
import { isBiasParameter, LINEAR_SITES, modelParameterSpecs } from '../src/model/params.js';
import type { MethodOptions, PeftMethod } from '../src/adapt/peft.js';
import type { MethodCard } from '../src/adapt/method_card.js';
import { listOption } from './common.js';

export const BITFIT_GROUPS = ['all', 'linear', 'ln', 'attn', 'mlp', ...LINEAR_SITES, 'c_attn', 'c_proj', 'c_fc', 'ln_1', 'ln_2', 'ln_f'] as const;

/** The module part of a bias name ("h.3.attn.c_attn.bias" → "attn.c_attn", "ln_f.bias" → "ln_f"). */
function moduleOf(biasName: string): string {
  return biasName.replace(/^h\.\d+\./, '').replace(/\.bias$/, '');
}

/** Whether a group name selects the bias of a module. */
function groupSelects(group: string, module: string): boolean {
  const isLayerNorm = module.startsWith('ln_');
  switch (group) {
    case 'all':
      return true;
    case 'linear':
      return !isLayerNorm;
    case 'ln':
      return isLayerNorm;
    case 'attn':
    case 'mlp':
      return module.startsWith(`${group}.`);
    default:
      return module === group || module.endsWith(`.${group}`);
  }
}

/** The chosen bias names, in the base model's declaration order. */
export function bitfitParameters(config: ModelConfig, options: MethodOptions): string[] {
  const groups = listOption(options, 'biases');
  return modelParameterSpecs(config)
    .map((spec) => spec.name)
    .filter((name) => isBiasParameter(name) && groups.some((group) => groupSelects(group, moduleOf(name))));
}

/** The card: how the suite runs and shows the method (src/adapt/method_card.ts); its maths and adapter format follow. */
export const bitfitCard: MethodCard = {
  name: 'bitfit',
  summary: 'bias terms only',
  reference: 'Ben Zaken et al. 2022, BitFit: Simple Parameter-efficient Fine-tuning for Transformer-based Masked Language-models (arXiv:2106.10199)',
  role: 'selective',
  display: { name: 'BitFit', colour: '#b279a2' },
  training: {
    optimizer: 'adam',
    learningRate: 1e-3,
    weightDecay: 0,
    source: 'Ben Zaken et al. 2021: Adam, lr searched in 1e-4..1e-3 (quick: 3e-3 for 150 steps)',
    profiles: { quick: { learningRate: 3e-3 } },
  },
  benchmark: { options: {}, referenceStep: false },
};

export const bitfit: PeftMethod = {
  name: 'bitfit',
  options: [{ name: 'biases', type: 'list', description: 'which bias groups train', default: ['all'], choices: BITFIT_GROUPS }],

  validate: (options) => (listOption(options, 'biases').length === 0 ? [`--biases is empty; allowed: one or more of ${BITFIT_GROUPS.join(', ')}`] : []),

  addedParameters: () => [],

  trainableBaseParameters: bitfitParameters,

  closedFormTrainable(config, options) {
    const groups = listOption(options, 'biases');
    const d = config.dModel;
    const sizes: Record<string, number> = { ln_1: d, ln_2: d, 'attn.c_attn': 3 * d, 'attn.c_proj': d, 'mlp.c_fc': config.dFF, 'mlp.c_proj': d };
    const chosen = (module: string): boolean => groups.some((group) => groupSelects(group, module));
    const perLayer = Object.entries(sizes).reduce((sum, [module, size]) => sum + (chosen(module) ? size : 0), 0);
    return config.nLayers * perLayer + (chosen('ln_f') ? d : 0);
  },

  hooks: () => ({}), // the trainable copies arrive as parameterOverrides from the core
};
