/**
 * The one entry point for a frozen model from a folder: its config, its weights and its tokenizer,
 * whichever format the folder is in (a peftscale checkpoint, or a GPT-2 folder as transformers saved it).
 * The ps-* family records the byte tokenizer by name; a Hugging Face folder brings its own BPE files.
 * Everything that can be refused is checked before the weights are read: the config, the tokenizer, and
 * that every id the tokenizer can produce has a row in the embedding.
 */
import { BpeTokenizer } from './bpe_tokenizer.js';
import { loadCheckpoint, readCheckpointConfig, type CheckpointConfigFile, type CheckpointMetadata } from './checkpoint.js';
import type { ModelConfig } from '../model/config.js';
import type { GPT2 } from '../model/model.js';
import { ByteTokenizer, type Tokenizer } from './tokenizer.js';

export interface PretrainedModel {
  model: GPT2;
  config: ModelConfig;
  metadata: CheckpointMetadata;
  tokenizer: Tokenizer;
  /** How config.json was read ('huggingface' for a folder transformers wrote). */
  file: CheckpointConfigFile;
}

/** The tokenizer a checkpoint folder names or brings; an unknown name is an error. */
export async function checkpointTokenizer(dir: string, file: CheckpointConfigFile): Promise<Tokenizer> {
  if (file.tokenizer === null) return BpeTokenizer.fromFolder(dir);
  if (file.tokenizer === 'byte') return new ByteTokenizer();
  throw new Error(`${dir}: config.json names tokenizer "${file.tokenizer}"; allowed: "byte" (or none, with tokenizer.json or vocab.json + merges.txt in the folder)`);
}

/** Loads config, tokenizer and weights of a checkpoint folder (see the module comment). */
export async function loadPretrained(dir: string): Promise<PretrainedModel> {
  const file = await readCheckpointConfig(dir);
  const tokenizer = await checkpointTokenizer(dir, file);
  if (tokenizer.vocabSize > file.model.vocabSize) {
    throw new Error(
      `${dir}: the tokenizer has ${tokenizer.vocabSize} ids but the model's vocabulary (vocab_size) is ${file.model.vocabSize}: ids past ${file.model.vocabSize - 1} would have no embedding`,
    );
  }
  const { model, config, metadata } = await loadCheckpoint(dir);
  return { model, config, metadata, tokenizer, file };
}
