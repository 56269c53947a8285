/**
 * A data file's format from its content: JSON lines start with "{", a TSV header has a tab, a CSV header a
 * comma. Researchers convert files (Hugging Face `datasets` writes JSON lines), so a recipe's format is only
 * the default: the content decides. A format the entry states itself is checked against the content, so a
 * mismatch is named instead of read as the wrong format ("missing fields" on every row).
 */
export type FileFormat = 'jsonl' | 'csv' | 'tsv';

const FORMAT_WORDS: Record<FileFormat, string> = { jsonl: 'JSON lines', csv: 'CSV', tsv: 'TSV' };

/** The format the first non-blank line shows, or null when it could be either (one column, no "{"). */
export function detectFormat(text: string): { format: FileFormat; why: string } | null {
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
 */
export function chooseFormat(text: string, configured: FileFormat, stated: boolean, where: string): { format: FileFormat; refusal: string | null } {
  const detected = detectFormat(text);
  if (detected === null || detected.format === configured) return { format: configured, refusal: null };
  if (!stated) return { format: detected.format, refusal: null };
  return {
    format: configured,
    refusal: `${where}: format "${configured}" was stated but the file is ${FORMAT_WORDS[detected.format]} (${detected.why}); allowed: state format "${detected.format}", or leave format out to read the format from the content`,
  };
}
