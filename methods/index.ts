/**
 * Every fine-tuning method; importing this module registers them all with src/peft.ts.
 *
 * @example
 * import { getMethod, resolveOptions } from '../src/peft.js';
 * import '../methods/index.js';
 * const lora = getMethod('lora');
 */
import './prompt_tuning.js';
import './prefix_tuning.js';
import './p_tuning.js';
import './lora.js';
import './bitfit.js';
import './full.js';
import './prompt_design.js';

export { promptTuning } from './prompt_tuning.js';
export { prefixTuning } from './prefix_tuning.js';
export { pTuning } from './p_tuning.js';
export { lora } from './lora.js';
export { bitfit } from './bitfit.js';
export { full } from './full.js';
export { promptDesign } from './prompt_design.js';

/** Method names in the order reports list them. */
export const METHOD_NAMES = ['prompt-tuning', 'prefix-tuning', 'p-tuning', 'lora', 'bitfit', 'full', 'prompt-design'] as const;

