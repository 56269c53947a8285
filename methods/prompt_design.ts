/**
 * Prompt design: the frozen model with a discrete text prompt, zero- or k-shot, as in GPT-3's
 * in-context learning (Brown et al. 2020, "Language Models are Few-Shot Learners", arXiv:2005.14165), the
 * "prompt design" baseline of Lester et al. 2021 (arXiv:2104.08691). Nothing trains.
 *
 * Config: `template` (an instruction), `shots` (how many of the task's demonstrations,
 * context.demonstrations, follow it), and `prompt-tokens`, derived: the prompt's token ids, filled in by
 * {@link preparePromptDesign} and saved in adapter.json so a saved prompt is reproduced exactly (give it
 * explicitly to fix a prompt by hand).
 *
 * The prompt text is the template on its own line, then each demonstration as input, label and a
 * newline (a space is put between input and label unless one of them already has whitespace there).
 *
 * Model: inputPrefix = the wte rows of the prompt tokens, which is exactly prepending those tokens to
 * every row. Zero trainable parameters: training is refused by the core.
 *
 * prepare() turns the template and demonstrations into `prompt-tokens` (AdaptedModel.create calls it);
 * the hooks read those tokens' rows of the base wte. An adapter file saves the tokens.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from '../src/model/config.js';
import type { MethodContext, MethodOptions, PeftMethod } from '../src/adapt/peft.js';
import type { MethodCard } from '../src/adapt/method_card.js';
import { integerOption, listOption, stringOption } from './common.js';
import { checkTokenIds } from './embeddings.js';

const METHOD = 'prompt-design';
export const DEFAULT_TEMPLATE = 'Answer the question.';

/** The prompt text: the template line, then `shots` demonstrations as input + label lines. */
export function promptText(options: MethodOptions, context: Pick<MethodContext, 'demonstrations'>): string {
  const template = stringOption(options, 'template');
  const shots = integerOption(options, 'shots');
  const demonstrations = context.demonstrations ?? [];
  if (shots > demonstrations.length) {
    throw new Error(`${METHOD} --shots = ${shots}, but the task gives ${demonstrations.length} demonstration(s); allowed: 0..${demonstrations.length}`);
  }
  const lines = template === '' ? [] : [template];
  for (const { input, label } of demonstrations.slice(0, shots)) {
    const joined = /\s$/.test(input) || /^\s/.test(label) || input === '' ? '' : ' ';
    lines.push(`${input}${joined}${label}`);
  }
  return lines.map((line) => `${line}\n`).join('');
}

function promptTokens(options: MethodOptions): number[] {
  return listOption(options, 'prompt-tokens').map((item) => Number(item));
}

/**
 * Options with `prompt-tokens` filled from the template and demonstrations (kept as given when already
 * set), bound to the base model whose wte the prompt is read from. Use the returned object.
 */
export function preparePromptDesign(options: MethodOptions, context: MethodContext): MethodOptions {
  const given = promptTokens(options);
  const ids = given.length > 0 ? given : context.encode(promptText(options, context));
  checkTokenIds(ids, context.config, `${METHOD} prompt`);
  if (ids.length + 1 > context.config.contextLength) {
    throw new Error(`${METHOD}: the prompt is ${ids.length} tokens; with at least one real token it exceeds the context length ${context.config.contextLength}: shorten --template or lower --shots`);
  }
  return { ...options, 'prompt-tokens': ids.map(String) };
}

/** The card: how the suite runs and shows the method (src/adapt/method_card.ts); its maths and adapter format follow. */
export const promptDesignCard: MethodCard = {
  name: METHOD,
  summary: 'frozen model with a discrete text prompt (zero- or k-shot); nothing trains',
  reference: 'Brown et al. 2020, Language Models are Few-Shot Learners (arXiv:2005.14165); the prompt-design baseline of Lester et al. 2021',
  role: 'hand-written',
  display: { name: 'prompt design', colour: '#9d755d' },
  training: { optimizer: 'adam', learningRate: 1e-3, weightDecay: 0, source: 'nothing trains: the optimiser is never created' },
  benchmark: { options: {}, referenceStep: false },
};

export const promptDesign: PeftMethod = {
  name: METHOD,
  options: [
    { name: 'template', type: 'string', description: 'instruction text at the start of the prompt', default: DEFAULT_TEMPLATE },
    { name: 'shots', type: 'integer', description: 'number of task demonstrations (input + label) after the instruction', default: 0, min: 0 },
    { name: 'prompt-tokens', type: 'list', description: 'derived: the prompt token ids, filled in from template and shots at creation; leave empty', default: [] },
  ],

  validate(options: MethodOptions, config: ModelConfig) {
    const items = listOption(options, 'prompt-tokens');
    const bad = items.find((item) => !/^\d+$/.test(item) || Number(item) >= config.vocabSize);
    if (bad !== undefined) return [`--prompt-tokens item ${JSON.stringify(bad)}: allowed: token ids 0..${config.vocabSize - 1}`];
    if (items.length + 1 > config.contextLength) return [`--prompt-tokens: ${items.length} tokens do not fit the context length ${config.contextLength} with a real token`];
    return [];
  },

  prepare: preparePromptDesign,
  addedParameters: () => [],
  trainableBaseParameters: () => [],
  closedFormTrainable: () => 0,

  hooks(_tensors, _config, options, base) {
    const ids = promptTokens(options);
    if (ids.length === 0) return {};
    return { inputPrefix: () => tf.gather(base('wte.weight'), tf.tensor1d(ids, 'int32')) }; // [P, D]: the prompt tokens' embeddings
  },
};
