/**
 * Every fine-tuning method: the one list. Importing this module registers each method (its maths and
 * adapter format, src/adapt/peft.ts) and its card (how the suite runs and shows it,
 * src/adapt/method_card.ts), in this order, which is the order reports, benchmarks and help texts list them.
 *
 * @example
 * import { getMethod, resolveOptions } from '../src/adapt/peft.js';
 * import './index.js';
 * const lora = getMethod('lora');
 */
import { registerCard, type MethodCard } from '../src/adapt/method_card.js';
import { registerMethod, type PeftMethod } from '../src/adapt/peft.js';
import { bitfit, bitfitCard } from './bitfit.js';
import { full, fullCard } from './full.js';
import { ia3, ia3Card } from './ia3.js';
import { lora, loraCard } from './lora.js';
import { pTuning, pTuningCard } from './p_tuning.js';
import { prefixTuning, prefixTuningCard } from './prefix_tuning.js';
import { promptDesign, promptDesignCard } from './prompt_design.js';
import { promptTuning, promptTuningCard } from './prompt_tuning.js';

export const METHODS: readonly (readonly [PeftMethod, MethodCard])[] = [
  [full, fullCard],
  [promptTuning, promptTuningCard],
  [prefixTuning, prefixTuningCard],
  [pTuning, pTuningCard],
  [lora, loraCard],
  [ia3, ia3Card],
  [bitfit, bitfitCard],
  [promptDesign, promptDesignCard],
];

for (const [method, card] of METHODS) {
  registerMethod(method);
  registerCard(card);
}

export { bitfit, full, ia3, lora, pTuning, prefixTuning, promptDesign, promptTuning };
