/**
 * A frozen model and its tokenizer from a folder, for the workers: a ps-* model pretrained here (the byte
 * tokenizer) or a checkpoint folder named in the experiment file (a Hugging Face GPT-2 brings its BPE).
 * src/io/pretrained.ts decides which; this module keeps the workers to one call.
 */
import type { GPT2 } from '../../src/model/model.js';
import { loadPretrained } from '../../src/io/pretrained.js';
import type { Tokenizer } from '../../src/io/tokenizer.js';

export async function loadFrozenModel(dir: string): Promise<{ model: GPT2; tokenizer: Tokenizer }> {
  const { model, tokenizer } = await loadPretrained(dir);
  return { model, tokenizer };
}
