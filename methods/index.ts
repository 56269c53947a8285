/**
 * Every fine-tuning method: the one list. Importing this module registers them all with src/adapt/peft.ts, in
 * this order, which is the order reports, benchmarks and help texts list them.
 *
 * @example
 * import { getMethod, resolveOptions } from '../src/adapt/peft.js';
 * import './index.js';
 * const lora = getMethod('lora');
 */
import { registerMethod, type PeftMethod } from '../src/adapt/peft.js';
import { bitfit } from './bitfit.js';
import { full } from './full.js';
import { ia3 } from './ia3.js';
import { lora } from './lora.js';
import { pTuning } from './p_tuning.js';
import { prefixTuning } from './prefix_tuning.js';
import { promptDesign } from './prompt_design.js';
import { promptTuning } from './prompt_tuning.js';

export const METHODS: readonly PeftMethod[] = [full, promptTuning, prefixTuning, pTuning, lora, ia3, bitfit, promptDesign];

for (const method of METHODS) registerMethod(method);

export { bitfit, full, ia3, lora, pTuning, prefixTuning, promptDesign, promptTuning };
