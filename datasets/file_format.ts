/**
 * A data file's format from its content: Parquet starts with the magic bytes "PAR1", JSON lines with "{",
 * a TSV header has a tab, a CSV header a comma. Researchers convert files (Hugging Face `datasets` writes
 * JSON lines, the Hub serves Parquet), so a recipe's format is only the default: the content decides. A
 * format the entry states itself is checked against the content, so a mismatch is named instead of read as
 * the wrong format ("missing fields" on every row).
 */
export type FileFormat = 'jsonl' | 'csv' | 'tsv' | 'parquet';

const FORMAT_WORDS: Record<FileFormat, string> = { jsonl: 'JSON lines', csv: 'CSV', tsv: 'TSV', parquet: 'Parquet' };

/** Whether the bytes start with Parquet's magic number (a Parquet file also ends with it). */
export function isParquet(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x41 && bytes[2] === 0x52 && bytes[3] === 0x31;
}

/** The format the file's first bytes show, or null when it could be either (one text column, no "{"). */
export function detectFormat(head: Uint8Array): { format: FileFormat; why: string } | null {
  if (isParquet(head)) return { format: 'parquet', why: 'it starts with Parquet\'s magic bytes "PAR1"' };
  const text = Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString('utf8');
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const first = body.split(/\r?\n|\r/).find((line) => line.trim() !== '');
  if (first === undefined) return null;
  if (first.trimStart().startsWith('{')) return { format: 'jsonl', why: 'its first line starts with "{"' };
  if (first.includes('\t')) return { format: 'tsv', why: 'its first line has a tab' };
  if (first.includes(',')) return { format: 'csv', why: 'its first line has a comma' };
  return null;
}

/**
 * The format to read a file with: the content's where it shows one, else the configured one. When the
 * format was stated (not a recipe default) and the content shows another, the message to refuse it with.
 * Text is never read as Parquet: a configured Parquet format needs the magic bytes, stated or not.
 */
export function chooseFormat(head: Uint8Array, configured: FileFormat, stated: boolean, where: string): { format: FileFormat; refusal: string | null } {
  const detected = detectFormat(head);
  const leaveOut = 'or leave format out to read the format from the content';
  if (configured === 'parquet' && detected === null) {
    return { format: configured, refusal: `${where}: format "parquet" was stated but the file does not start with Parquet's magic bytes "PAR1"; allowed: a Parquet file, or a text format (jsonl, csv, tsv) stated for a text file` };
  }
  if (detected === null || detected.format === configured) return { format: configured, refusal: null };
  if (!stated) return { format: detected.format, refusal: null };
  return {
    format: configured,
    refusal: `${where}: format "${configured}" was stated but the file is ${FORMAT_WORDS[detected.format]} (${detected.why}); allowed: state format "${detected.format}", ${leaveOut}`,
  };
}
