/**
 * A byte-level tokenizer for the presets pretrained here: ids 0-255 are the UTF-8 bytes, followed by a
 * few special tokens. Every string round-trips exactly; no merges, no vocabulary file.
 *
 * @example
 * const tokenizer = new ByteTokenizer();
 * tokenizer.encode('hi'); // [104, 105]
 * tokenizer.decode([104, 105, SPECIAL_TOKENS.endOfText]); // 'hi<|endoftext|>'
 */
import { BYTE_VOCAB_SIZE } from '../model/config.js';

export const SPECIAL_TOKENS = {
  /** Separates documents in the pretraining stream. */
  endOfText: 256,
  /** Right padding in batches; never a training target. */
  pad: 257,
  /** Separates an input from its answer where a format needs an explicit marker. */
  separator: 258,
  /** Reserved for masked objectives. */
  mask: 259,
} as const;

const SPECIAL_NAMES: Record<number, string> = {
  [SPECIAL_TOKENS.endOfText]: '<|endoftext|>',
  [SPECIAL_TOKENS.pad]: '<|pad|>',
  [SPECIAL_TOKENS.separator]: '<|sep|>',
  [SPECIAL_TOKENS.mask]: '<|mask|>',
};

/**
 * What every text path needs from a tokenizer: the byte tokenizer of the ps-* family and the GPT-2
 * byte-level BPE that a Hugging Face checkpoint brings both implement it, so no caller assumes bytes.
 */
export interface Tokenizer {
  /** Which tokenizer this is ('byte' for the ps-* family), recorded with results. */
  readonly name: string;
  readonly vocabSize: number;
  /** The id that separates documents (<|endoftext|>). */
  readonly endOfTextId: number;
  /** The id used for right padding in batches; never a training target. */
  readonly padId: number;
  /** Token ids of the text, optionally followed by the end-of-text id. */
  encode(text: string, options?: { endOfText?: boolean }): number[];
  /** Text of the ids. */
  decode(ids: readonly number[]): string;
  /** A readable form of one id, for tables of label words and the like. */
  tokenString(id: number): string;
}

export class ByteTokenizer implements Tokenizer {
  readonly name = 'byte';
  readonly vocabSize = BYTE_VOCAB_SIZE;
  readonly endOfTextId = SPECIAL_TOKENS.endOfText;
  readonly padId = SPECIAL_TOKENS.pad;
  private readonly encoder = new TextEncoder();
  private readonly decoder = new TextDecoder('utf-8', { fatal: false });

  /** UTF-8 bytes of the text, optionally followed by <|endoftext|>. */
  encode(text: string, options: { endOfText?: boolean } = {}): number[] {
    const ids = Array.from(this.encoder.encode(text));
    if (options.endOfText === true) ids.push(SPECIAL_TOKENS.endOfText);
    return ids;
  }

  /** Text of the ids; special tokens are written by name, invalid UTF-8 as U+FFFD. */
  decode(ids: readonly number[]): string {
    let text = '';
    let bytes: number[] = [];
    const flush = (): void => {
      if (bytes.length > 0) text += this.decoder.decode(Uint8Array.from(bytes));
      bytes = [];
    };
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new Error(`ByteTokenizer.decode: id ${id} is outside the vocabulary [0, ${this.vocabSize})`);
      }
      if (id < 256) {
        bytes.push(id);
      } else {
        flush();
        text += SPECIAL_NAMES[id];
      }
    }
    flush();
    return text;
  }

  /** A readable form of one id, for tables of label words and the like. */
  tokenString(id: number): string {
    return id < 256 ? JSON.stringify(String.fromCharCode(id)) : SPECIAL_NAMES[id] ?? `<|${id}|>`;
  }
}
