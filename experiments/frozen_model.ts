/**
 * A frozen model and its tokenizer from a checkpoint folder: a ps-* model pretrained here (byte
 * vocabulary, no tokenizer files: the byte tokenizer) or a folder that brings its own tokenizer files
 * (a Hugging Face GPT-2: its byte-level BPE).
 */
import { loadCheckpoint } from '../src/checkpoint.js';
import type { GPT2 } from '../src/model.js';
import { ByteTokenizer, type Tokenizer } from '../src/tokenizer.js';
import { tokenizerFiles } from './checkpoints.js';

export async function loadFrozenModel(dir: string): Promise<{ model: GPT2; tokenizer: Tokenizer }> {
  const files = tokenizerFiles(dir);
  if (files.length > 0) throw new Error(`${dir}: a checkpoint with its own tokenizer (${files.join(', ')}) needs the BPE tokenizer of branch hf`);
  const { model } = await loadCheckpoint(dir);
  return { model, tokenizer: new ByteTokenizer() };
}
