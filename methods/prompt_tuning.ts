/**
 * Prompt tuning: k trainable "soft prompt" vectors prepended to the input embeddings of a frozen model.
 *
 * Lester, Al-Rfou and Constant, "The Power of Scale for Parameter-Efficient Prompt Tuning", EMNLP 2021
 * (arXiv:2104.08691). Hugging Face PEFT: PromptTuningConfig / PromptEmbedding.
 *
 * Config: `length` k (PEFT num_virtual_tokens), `init` (PEFT prompt_tuning_init):
 * - random-uniform: U(-r, r) with r = `init-range` (the paper's U[-0.5, 0.5]);
 * - sampled-vocab: wte rows of k tokens drawn with the trial seed from the 5,000 most frequent
 *   (context.frequentTokens; fewer when the vocabulary or corpus has fewer), as in the paper;
 * - class-label: one slot per label word (context.labelWords), the mean of its tokens' embeddings for
 *   multi-token labels; slots beyond the labels are sampled the same way (seeded), as in the paper;
 * - text: the embeddings of `init-text`'s tokens, repeated or truncated to k (PEFT's TEXT init).
 *
 * Model: one tensor `prompt_embeddings` [k, D], fed through the inputPrefix hook. k = 0 adds nothing at
 * all, so the model is the base model bit for bit (and there is nothing to train).
 */
import type { ModelConfig } from '../src/model/config.js';
import type { ParamSpec } from '../src/model/params.js';
import type { MethodContext, MethodOptions, PeftMethod } from '../src/adapt/peft.js';
import type { MethodCard } from '../src/adapt/method_card.js';
import { checkPromptFits, integerOption, lengthOption, numberOption, stringOption, tensorOf } from './common.js';
import { embeddingRows, repeatToLength, sampledTokenIds } from './embeddings.js';
import { promptLearningFields, promptLearningLength, sameTensors } from './peft_common.js';

export const PROMPT_TUNING_INITS = ['random-uniform', 'sampled-vocab', 'class-label', 'text'] as const;
export const PROMPT_EMBEDDINGS = 'prompt_embeddings';

/** The card: how the suite runs and shows the method (src/adapt/method_card.ts); its maths and adapter format follow. */
export const promptTuningCard: MethodCard = {
  name: 'prompt-tuning',
  summary: 'k trainable vectors prepended to the input embeddings',
  reference: 'Lester et al. 2021, The Power of Scale for Parameter-Efficient Prompt Tuning (arXiv:2104.08691)',
  role: 'prompt',
  display: { name: 'prompt tuning', colour: '#e45756' },
  // Not Lester's Adafactor at a constant 0.3: that step assumes T5's embedding scale, and on GPT-2-scale
  // embeddings (RMS ~0.09) it moves the prompt several times its own size per step (docs/methods.md).
  training: { optimizer: 'adam', learningRate: 1e-2, weightDecay: 0, source: 'Adam 1e-2, measured (docs/methods.md; scripts/prompt-optimizer-pilot.mjs); Lester et al. 2021 used Adafactor at a constant 0.3 on T5, whose embeddings are on another scale' },
  benchmark: { options: { length: '20' }, referenceStep: true },
  publishedGpt2: { setting: 'prompt tuning, 20 tokens', trainable: 15_360 },
};

export const promptTuning: PeftMethod = {
  name: 'prompt-tuning',
  learnedPrompt: { tensor: PROMPT_EMBEDDINGS },
  // Input embeddings only: each trial of a pack has its own prompt on its own rows.
  packing: { positions: (_config, options) => ({ input: integerOption(options, 'length'), attention: 0 }) },
  options: [
    lengthOption(0),
    { name: 'init', type: 'string', description: 'how the prompt starts (PEFT prompt_tuning_init)', default: 'random-uniform', choices: PROMPT_TUNING_INITS },
    { name: 'init-range', type: 'number', description: 'r of the random-uniform init U(-r, r)', default: 0.5, min: 0 },
    { name: 'init-text', type: 'string', description: 'text whose token embeddings start the prompt (init text)', default: '' },
  ],

  validate(options, config) {
    const problems = checkPromptFits(integerOption(options, 'length'), config);
    if (options.init === 'text' && stringOption(options, 'init-text') === '') problems.push('--init = text needs --init-text (a non-empty text)');
    return problems;
  },

  addedParameters(config: ModelConfig, options: MethodOptions): ParamSpec[] {
    const k = integerOption(options, 'length');
    if (k === 0) return []; // nothing prepended: exactly the base model
    const r = numberOption(options, 'init-range');
    return [{ name: PROMPT_EMBEDDINGS, shape: [k, config.dModel], init: { kind: 'uniform', low: -r, high: r } }]; // [k, D]
  },

  trainableBaseParameters: () => [],

  closedFormTrainable: (config, options) => integerOption(options, 'length') * config.dModel, // k·d

  initialValues(spec: ParamSpec, options: MethodOptions, context: MethodContext): Float32Array | null {
    if (spec.name !== PROMPT_EMBEDDINGS) return null;
    return initialPrompt(integerOption(options, 'length'), options, context, 'prompt-tuning');
  },

  hooks(tensors, _config, options) {
    if (integerOption(options, 'length') === 0) return {};
    const prompt = tensorOf(tensors, PROMPT_EMBEDDINGS, 'prompt-tuning'); // [k, D]
    return { inputPrefix: () => prompt };
  },

  peft: {
    peftType: 'PROMPT_TUNING',
    config(config, options) {
      const init = stringOption(options, 'init');
      return {
        ...promptLearningFields(config, integerOption(options, 'length')),
        // PEFT has no class-label init; what matters once trained is the prompt, so it is recorded as RANDOM.
        prompt_tuning_init: PEFT_INITS[init] ?? 'RANDOM',
        prompt_tuning_init_text: init === 'text' ? stringOption(options, 'init-text') : null,
        tokenizer_name_or_path: null,
        tokenizer_kwargs: null,
      };
    },
    options(fields, config, problems) {
      const length = promptLearningLength(fields, config, problems);
      const init = Object.keys(PEFT_INITS).find((name) => PEFT_INITS[name] === fields.prompt_tuning_init) ?? 'random-uniform';
      const text = typeof fields.prompt_tuning_init_text === 'string' ? fields.prompt_tuning_init_text : '';
      return init === 'text' ? { length, init, 'init-text': text } : { length, init };
    },
    toPeft: sameTensors,
    fromPeft: sameTensors,
  },
};

/** Our init names → PEFT's PromptTuningInit. */
const PEFT_INITS: Record<string, string> = { 'random-uniform': 'RANDOM', 'sampled-vocab': 'SAMPLE_VOCAB', text: 'TEXT' };

/** Initial values of a [k, D] prompt for the non-random inits; null means "use the declared U(-r, r)". */
export function initialPrompt(k: number, options: MethodOptions, context: MethodContext, what: string): Float32Array | null {
  const d = context.config.dModel;
  switch (options.init) {
    case 'sampled-vocab':
      return embeddingRows(context, sampledTokenIds(context, k, 'sampled-vocab'), `${what} --init sampled-vocab`);
    case 'text':
      return embeddingRows(context, repeatToLength(context.encode(stringOption(options, 'init-text')), k, `${what} --init-text`), `${what} --init text`);
    case 'class-label': {
      const labels = context.labelWords;
      if (labels === undefined || labels.length === 0) {
        throw new Error(`${what} --init class-label needs the task's label words (context.labelWords); this task gives none: use --init sampled-vocab or random-uniform`);
      }
      const values = new Float32Array(k * d);
      const slots = Math.min(k, labels.length);
      for (let slot = 0; slot < slots; slot++) {
        const ids = context.encode(labels[slot]);
        if (ids.length === 0) throw new Error(`${what} --init class-label: label word ${JSON.stringify(labels[slot])} encodes to no tokens`);
        const rows = embeddingRows(context, ids, `${what} --init class-label`); // [n, D]
        // A multi-token label is represented by the mean of its token embeddings (Lester et al. §3).
        for (let j = 0; j < d; j++) {
          let sum = 0;
          for (let t = 0; t < ids.length; t++) sum += rows[t * d + j];
          values[slot * d + j] = sum / ids.length;
        }
      }
      values.set(embeddingRows(context, sampledTokenIds(context, k - slots, 'class-label'), `${what} --init class-label`), slots * d);
      return values;
    }
    default:
      return null;
  }
}
