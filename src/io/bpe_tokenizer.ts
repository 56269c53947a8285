/**
 * GPT-2's byte-level BPE, the tokenizer a Hugging Face checkpoint brings, read from the checkpoint's own
 * files: `tokenizer.json` (what transformers' fast tokenizer saves), or GPT-2's original pair
 * `vocab.json` + `merges.txt`. The BPE itself is `@huggingface/tokenizers` (Hugging Face's pure-JS port of
 * their Rust tokenizers; no native code, no network); for the pair we describe GPT-2's pipeline in
 * tokenizer.json form (byte-level pre-tokenizer with GPT-2's regex and no prefix space, BPE, byte-level
 * decoder), which is what transformers builds from the same two files. The golden tests check the ids
 * against transformers on tricky strings (spaces, unicode, contractions, numbers, special tokens).
 *
 * Special tokens: `<|endoftext|>` is required (it ends documents); written in a text it is that one
 * token, as in transformers. GPT-2 has no padding token: `padId` is tokenizer_config.json's pad_token
 * when it names one, otherwise `<|endoftext|>` (transformers' usual pad = eos).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import type { Tokenizer } from './tokenizer.js';
import { MAX_JSON_FILE_BYTES, readInputFile } from './input_files.js';

export const TOKENIZER_JSON = 'tokenizer.json';
export const TOKENIZER_CONFIG_JSON = 'tokenizer_config.json';
export const VOCAB_JSON = 'vocab.json';
export const MERGES_TXT = 'merges.txt';
export const END_OF_TEXT = '<|endoftext|>';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function readJson(filePath: string): Promise<unknown> {
  const text = (await readInputFile(filePath, 'tokenizer file', MAX_JSON_FILE_BYTES)).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new Error(`${filePath}: not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
}

/** GPT-2's tokenizer.json around a vocabulary and merge list (as transformers' GPT2TokenizerFast builds it). */
export function gpt2TokenizerJson(vocab: Record<string, number>, merges: string[][]): Json {
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  const endOfText = vocab[END_OF_TEXT];
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens:
      endOfText === undefined
        ? []
        : [{ id: endOfText, content: END_OF_TEXT, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: { ...byteLevel, trim_offsets: false },
    decoder: byteLevel,
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges },
  };
}

/** merges.txt: an optional "#version" line, then one "left right" pair per line. */
export function parseMerges(text: string, source: string): string[][] {
  const merges: string[][] = [];
  const lines = text.split('\n');
  lines.forEach((line, index) => {
    const trimmed = line.replace(/\r$/, '');
    if (trimmed === '' || (index === 0 && trimmed.startsWith('#version'))) return;
    const pair = trimmed.split(' ');
    if (pair.length !== 2 || pair[0] === '' || pair[1] === '') throw new Error(`${source}: line ${index + 1} is ${JSON.stringify(trimmed)}; expected two tokens separated by one space`);
    merges.push(pair);
  });
  return merges;
}

/** The byte-level BPE of a Hugging Face GPT-2 checkpoint. */
export class BpeTokenizer implements Tokenizer {
  readonly name = 'gpt2-bpe';
  readonly vocabSize: number;
  readonly endOfTextId: number;
  readonly padId: number;
  /** Where it was read from, for messages. */
  readonly source: string;
  private readonly tokenizer: HfTokenizer;

  /** From a parsed tokenizer.json (and tokenizer_config.json, or {}); `source` names the files in errors. */
  constructor(tokenizerJson: Json, tokenizerConfig: Json, source: string) {
    const model = tokenizerJson.model;
    if (!isObject(model) || model.type !== 'BPE' || !isObject(model.vocab)) {
      const type = isObject(model) ? JSON.stringify(model.type) : 'missing';
      throw new Error(`${source}: model.type ${type}; only a byte-level BPE (GPT-2's, model.type "BPE" with a vocab) is supported`);
    }
    this.source = source;
    this.tokenizer = new HfTokenizer(tokenizerJson, tokenizerConfig);
    const ids = [...Object.values(model.vocab as Json)];
    for (const added of Array.isArray(tokenizerJson.added_tokens) ? (tokenizerJson.added_tokens as unknown[]) : []) if (isObject(added)) ids.push(added.id);
    if (ids.some((id) => typeof id !== 'number' || !Number.isInteger(id) || id < 0)) throw new Error(`${source}: token ids must be non-negative integers`);
    this.vocabSize = Math.max(...(ids as number[])) + 1;
    const endOfText = this.tokenizer.token_to_id(END_OF_TEXT);
    if (endOfText === undefined) throw new Error(`${source}: no ${END_OF_TEXT} token; GPT-2 tokenizers have it (it separates documents)`);
    this.endOfTextId = endOfText;
    const pad = typeof tokenizerConfig.pad_token === 'string' ? this.tokenizer.token_to_id(tokenizerConfig.pad_token) : undefined;
    this.padId = pad ?? endOfText;
  }

  /**
   * The tokenizer of a checkpoint folder: tokenizer.json when there is one (with tokenizer_config.json if
   * present), else vocab.json + merges.txt. A folder with neither is an error naming the files looked for.
   */
  static async fromFolder(dir: string): Promise<BpeTokenizer> {
    const tokenizerPath = path.join(dir, TOKENIZER_JSON);
    const configPath = path.join(dir, TOKENIZER_CONFIG_JSON);
    const config = existsSync(configPath) ? await readJson(configPath) : {};
    if (!isObject(config)) throw new Error(`${configPath}: must be a JSON object`);
    if (existsSync(tokenizerPath)) {
      const json = await readJson(tokenizerPath);
      if (!isObject(json)) throw new Error(`${tokenizerPath}: must be a JSON object`);
      return new BpeTokenizer(json, config, tokenizerPath);
    }
    const vocabPath = path.join(dir, VOCAB_JSON);
    const mergesPath = path.join(dir, MERGES_TXT);
    const missing = [vocabPath, mergesPath].filter((file) => !existsSync(file));
    if (missing.length > 0) {
      throw new Error(`no tokenizer in ${dir}: expected ${TOKENIZER_JSON}, or ${VOCAB_JSON} + ${MERGES_TXT} (missing: ${missing.map((file) => path.basename(file)).join(', ')})`);
    }
    const vocab = await readJson(vocabPath);
    if (!isObject(vocab) || Object.values(vocab).some((id) => typeof id !== 'number')) throw new Error(`${vocabPath}: must map each token to its integer id`);
    const merges = parseMerges((await readInputFile(mergesPath, 'tokenizer file', MAX_JSON_FILE_BYTES)).toString('utf8'), mergesPath);
    return new BpeTokenizer(gpt2TokenizerJson(vocab as Record<string, number>, merges), config, `${vocabPath} + ${MERGES_TXT}`);
  }

  /** Token ids of the text (no special tokens added), optionally followed by <|endoftext|>. */
  encode(text: string, options: { endOfText?: boolean } = {}): number[] {
    const ids = text === '' ? [] : this.tokenizer.encode(text, { add_special_tokens: false }).ids;
    if (options.endOfText === true) ids.push(this.endOfTextId);
    return ids;
  }

  /** Text of the ids, exactly (no clean-up of spaces); special tokens are written as their text. */
  decode(ids: readonly number[]): string {
    const bad = ids.find((id) => !Number.isInteger(id) || id < 0 || id >= this.vocabSize);
    if (bad !== undefined) throw new Error(`BpeTokenizer.decode: id ${bad} is outside the vocabulary [0, ${this.vocabSize})`);
    if (ids.length === 0) return '';
    return this.tokenizer.decode([...ids], { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }

  /** The token's text, quoted (a partial UTF-8 sequence shows as U+FFFD). */
  tokenString(id: number): string {
    return JSON.stringify(this.decode([id]));
  }
}
