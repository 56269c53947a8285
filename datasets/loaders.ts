/**
 * Loads real classification data (JSONL, CSV, TSV, Parquet) into `Task`s from a declarative config, e.g.
 *
 *   SuperGLUE BoolQ (JSONL: {"question", "passage", "label": true|false, "idx"}):
 *     { name: 'boolq', format: 'jsonl', files: { train: 'train.jsonl', dev: 'val.jsonl' },
 *       textFields: ['passage', 'question'], labelField: 'label', idField: 'idx',
 *       labelWords: { true: ' yes', false: ' no' }, template: '{passage}\nQuestion: {question}?\nAnswer:' }
 *   GLUE SST-2 (TSV with header "sentence\tlabel"):
 *     { name: 'sst2', format: 'tsv', files: { train: 'train.tsv', dev: 'dev.tsv' },
 *       textFields: ['sentence'], labelField: 'label', labelWords: { 0: ' negative', 1: ' positive' } }
 *
 * Bad rows: no row is ever dropped silently. Every malformed row (bad JSON, wrong column count, missing
 * field, label value not in labelWords) in every file is collected with its file and line number, and
 * then one `DatasetLoadError` is thrown listing the first 20 and the count; `error.problems` has them all.
 * Only blank lines are skipped (they hold no row). Bad config values throw before any file is read.
 *
 * Formats: CSV follows RFC 4180 (header row; quoted fields with "" escapes, embedded commas and newlines;
 * CRLF or LF). TSV is the GLUE convention: header row, fields split on tabs, no quoting (quotes are text).
 * JSON label values are compared as strings (true → "true", 1 → "1"); a value that is not a labelWords key may
 * be a class index or name (`classLabels`, datasets/label_values.ts). A recipe's format is read from each file's
 * content (datasets/file_format.ts); a stated one that the content contradicts is refused. Parquet rows
 * (datasets/parquet_rows.ts) take the same path as JSON lines; row N of a Parquet file is named "row N"
 * and gets the id a JSON lines file gives its line N.
 *
 * The rendered template is the example's input and `format(example)` returns it unchanged, so the template
 * should end right before the label word (default: the text fields, one per line, then "Answer:").
 */
import { readFileSync } from 'node:fs';
import { chooseFormat, type FileFormat } from './file_format.js';
import { labelKey } from './label_values.js';
import { readParquetRows } from './parquet_rows.js';
import type { Task, TaskExample, TaskSplits } from './types.js';
import { majorityOf, SPLIT_NAMES } from './types.js';

/** Declarative description of a real dataset. */
export interface LoaderConfig {
  name: string;
  format: FileFormat;
  /** Paths per split; at least one (datasets/file_tasks.ts derives the missing splits). */
  files: { train?: string; dev?: string; test?: string };
  /** Fields that make up the input, in the order the default template lists them. */
  textFields: string[];
  labelField: string;
  /** Raw label value (as a string) → label word (leading space, e.g. ' yes'); several values may share a word. */
  labelWords: Record<string, string>;
  /** "{field}" placeholders name text fields; default: "{f1}\n{f2}\n...\nAnswer:" (or "f: {f}" lines for several). */
  template?: string;
  /** Field holding a row id (e.g. BoolQ's "idx"); default: the split and line number. */
  idField?: string;
  /**
   * Class names in `datasets`' ClassLabel order: an integer label i (JSON 1, or "1" in CSV/TSV) that is not
   * itself a labelWords key means names[i]; a class name that is not a key means its index. Set by recipes.
   */
  classLabels?: string[];
  /**
   * A field holding the 0-based row index (`datasets` writes GLUE's as `idx`), for files whose official
   * form has no id field: such a row gets the id its line has in the official file (header + 1-based:
   * line idx+2), so a converted file splits as the original does. Set by recipes.
   */
  rowIndexField?: string;
  /** Fields read as the label when `labelField` is absent (BoolQ's original release writes `answer`); such rows may lack `idField`. */
  labelFieldAliases?: string[];
  /** The format is a recipe default: the file's content decides (datasets/file_format.ts); else a disagreeing file is refused. */
  formatFromContent?: boolean;
  kind?: string;
  description?: string;
}

/** A malformed row. */
export interface RowProblem {
  file: string;
  /** 1-based line where the row starts (the 1-based row of a Parquet file, with `row` set). */
  line: number;
  message: string;
  row?: true;
}

/** How many problems the error message lists before summarising. */
const LISTED_PROBLEMS = 20;

/** Thrown when rows are malformed; `problems` holds every one. */
export class DatasetLoadError extends Error {
  constructor(readonly dataset: string, readonly problems: RowProblem[]) {
    const listed = problems.slice(0, LISTED_PROBLEMS).map((p) => `  ${p.file}${p.row ? ` row ${p.line}` : `:${p.line}`}: ${p.message}`);
    const more = problems.length > LISTED_PROBLEMS ? [`  ... and ${problems.length - LISTED_PROBLEMS} more`] : [];
    super(`dataset "${dataset}": ${problems.length} malformed row${problems.length === 1 ? '' : 's'}:\n${[...listed, ...more].join('\n')}`);
    this.name = 'DatasetLoadError';
  }
}

const FORMATS = ['jsonl', 'csv', 'tsv', 'parquet'] as const;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string' && v.length > 0);
}

/**
 * Checks a config (e.g. parsed from JSON); throws one error listing every problem, each naming the field,
 * the value and what is allowed.
 */
export function validateLoaderConfig(config: unknown): LoaderConfig {
  if (!isRecord(config)) throw new Error(`invalid dataset config: expected an object, got ${JSON.stringify(config)}`);
  const problems: string[] = [];
  const bad = (field: string, value: unknown, allowed: string): void => {
    problems.push(`${field} = ${JSON.stringify(value) ?? 'undefined'}: ${allowed}`);
  };
  const c = config;
  if (typeof c.name !== 'string' || c.name.length === 0) bad('name', c.name, 'must be a non-empty string');
  if (!FORMATS.includes(c.format as (typeof FORMATS)[number])) bad('format', c.format, `allowed: ${FORMATS.join(', ')}`);
  validateFiles(c.files, bad);
  if (!isStringArray(c.textFields) || c.textFields.length === 0) bad('textFields', c.textFields, 'must be a non-empty array of field names');
  if (typeof c.labelField !== 'string' || c.labelField.length === 0) bad('labelField', c.labelField, 'must be a non-empty string');
  validateLabelWords(c.labelWords, bad);
  for (const field of ['idField', 'rowIndexField', 'kind', 'description'] as const) {
    if (c[field] !== undefined && typeof c[field] !== 'string') bad(field, c[field], 'must be a string when given');
  }
  for (const field of ['classLabels', 'labelFieldAliases'] as const) {
    if (c[field] !== undefined && !isStringArray(c[field])) bad(field, c[field], 'must be an array of names when given');
  }
  if (c.formatFromContent !== undefined && typeof c.formatFromContent !== 'boolean') bad('formatFromContent', c.formatFromContent, 'must be true or false when given');
  if (c.template !== undefined) validateTemplate(c.template, c.textFields, c.labelField, bad);
  if (problems.length > 0) throw new Error(`invalid dataset config${typeof c.name === 'string' ? ` "${c.name}"` : ''}:\n  ${problems.join('\n  ')}`);
  return config as unknown as LoaderConfig;
}

type Bad = (field: string, value: unknown, allowed: string) => void;

function validateFiles(files: unknown, bad: Bad): void {
  if (!isRecord(files)) return bad('files', files, 'must be an object { train?, dev?, test? } of paths');
  if (SPLIT_NAMES.every((split) => files[split] === undefined)) bad('files', files, 'must name at least one of train, dev, test');
  for (const split of SPLIT_NAMES) {
    if (files[split] !== undefined && (typeof files[split] !== 'string' || files[split] === '')) bad(`files.${split}`, files[split], 'must be a path when given');
  }
  for (const key of Object.keys(files)) if (!SPLIT_NAMES.includes(key as 'train')) bad(`files.${key}`, files[key], 'unknown split; allowed: train, dev, test');
}

function validateLabelWords(words: unknown, bad: Bad): void {
  if (!isRecord(words) || Object.keys(words).length < 2) {
    return bad('labelWords', words, 'must map at least two raw label values to label words, e.g. { "true": " yes", "false": " no" }');
  }
  const distinct = new Set<string>();
  for (const [raw, word] of Object.entries(words)) {
    if (typeof word !== 'string' || !/^ \S/.test(word)) bad(`labelWords[${JSON.stringify(raw)}]`, word, 'must be a label word with one leading space, e.g. " yes"');
    else distinct.add(word);
  }
  if (distinct.size === 1) bad('labelWords', words, 'must name at least two distinct label words');
}

function validateTemplate(template: unknown, textFields: unknown, labelField: unknown, bad: Bad): void {
  if (typeof template !== 'string' || template.length === 0) return bad('template', template, 'must be a non-empty string with {field} placeholders');
  const fields = isStringArray(textFields) ? textFields : [];
  for (const placeholder of placeholders(template)) {
    if (placeholder === labelField) bad('template', template, `must not contain the label field {${placeholder}} (it would reveal the answer)`);
    else if (!fields.includes(placeholder)) bad('template', template, `placeholder {${placeholder}} is not a text field; allowed: ${fields.map((f) => `{${f}}`).join(', ')}`);
  }
}

function placeholders(template: string): string[] {
  return [...template.matchAll(/\{([^{}]+)\}/g)].map((m) => m[1]);
}

/** The template used when the config gives none. */
export function defaultTemplate(textFields: readonly string[]): string {
  const lines = textFields.length === 1 ? [`{${textFields[0]}}`] : textFields.map((f) => `${f}: {${f}}`);
  return `${lines.join('\n')}\nAnswer:`;
}

/** A parsed row: its starting line and its fields (raw values: strings from CSV/TSV, any JSON value from JSONL). */
interface Row {
  line: number;
  fields: Record<string, unknown>;
}

/** Loads the files into a Task; throws DatasetLoadError listing every malformed row. */
export function loadTask(rawConfig: LoaderConfig): Task {
  const config = validateLoaderConfig(rawConfig);
  const template = config.template ?? defaultTemplate(config.textFields);
  const labels = [...new Set(Object.values(config.labelWords))];
  const problems: RowProblem[] = [];
  const splits = {} as TaskSplits;
  for (const split of SPLIT_NAMES) {
    const file = config.files[split];
    splits[split] = file === undefined ? [] : loadSplit(config, split, file, template, problems);
  }
  if (problems.length > 0) throw new DatasetLoadError(config.name, problems);
  return {
    name: config.name,
    kind: config.kind ?? 'classification',
    description: config.description ?? `loaded from ${config.format.toUpperCase()} files`,
    labels,
    splits,
    format: (example) => example.input,
    template,
    majorityBaseline: (split) => majorityOf(splits[split], labels),
  };
}

function loadSplit(config: LoaderConfig, split: keyof TaskSplits, file: string, template: string, allProblems: RowProblem[]): TaskExample[] {
  const problems: RowProblem[] = [];
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    throw new Error(`dataset "${config.name}": files.${split} = ${JSON.stringify(file)} cannot be read: ${(error as Error).message}`);
  }
  const where = `dataset "${config.name}": files.${split} = ${JSON.stringify(file)}`;
  const chosen = chooseFormat(bytes.subarray(0, 65536), config.format, config.formatFromContent !== true, where);
  if (chosen.refusal !== null) throw new Error(chosen.refusal);
  // A Parquet row i is "line" i + 1, as the same table's JSON lines (ids alike); problems say "row".
  const parquet = chosen.format === 'parquet';
  const rows = chosen.format === 'parquet' ? readParquetRows(bytes, config, where).map((fields, i) => ({ line: i + 1, fields })) : parseRows(chosen.format, bytes.toString('utf8'), file, problems);
  const problem = (line: number, message: string): RowProblem => (parquet ? { file, line, message, row: true } : { file, line, message });
  const examples: TaskExample[] = [];
  const ids = new Set<string>();
  for (const row of rows) {
    const example = toExample(config, split, template, row, (message) => problems.push(problem(row.line, message)));
    if (example === null) continue;
    if (ids.has(example.id)) problems.push(problem(row.line, `duplicate id ${JSON.stringify(example.id)}`));
    ids.add(example.id);
    examples.push(example);
  }
  // Parse problems are found before field problems; report in file order.
  allProblems.push(...problems.sort((x, y) => x.line - y.line));
  return examples;
}

function parseRows(format: Exclude<FileFormat, 'parquet'>, text: string, file: string, problems: RowProblem[]): Row[] {
  const report = (line: number, message: string): void => {
    problems.push({ file, line, message });
  };
  // A byte-order mark (Excel, Notepad) is accepted in every format; CR-only line ends are named, not "no rows".
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  if (text.includes('\r') && !text.includes('\n')) {
    report(1, `line ends are CR only (classic Mac OS): the file reads as one line; allowed: LF or CRLF line ends (convert: tr '\\r' '\\n' < IN > OUT)`);
    return [];
  }
  if (format === 'jsonl') return parseJsonl(text, report);
  const records = format === 'csv' ? parseCsv(text, report) : parseTsv(text);
  return recordsToRows(records, report);
}

function parseJsonl(text: string, report: (line: number, message: string) => void): Row[] {
  const rows: Row[] = [];
  text.split(/\r?\n/).forEach((content, index) => {
    if (content.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(content);
    } catch (error) {
      return report(index + 1, `bad JSON: ${(error as Error).message}`);
    }
    if (!isRecord(value)) return report(index + 1, `expected a JSON object, got ${JSON.stringify(value)}`);
    rows.push({ line: index + 1, fields: value });
  });
  return rows;
}

/** One parsed record: its starting line and its fields. */
export interface CsvRecord {
  line: number;
  fields: string[];
}

/**
 * RFC 4180 CSV: quoted fields, "" escapes, commas and newlines inside quotes, CRLF or LF. Blank lines
 * outside quotes are skipped; an unterminated quote is reported at the line where its field started.
 */
export function parseCsv(text: string, report: (line: number, message: string) => void = () => undefined): CsvRecord[] {
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let recordLine = 1;
  let quoted = false;
  let fieldStartLine = 1;
  let touched = false; // whether the current record has any content (blank lines are not records)
  const endRecord = (): void => {
    if (touched) records.push({ line: recordLine, fields: [...fields, field] });
    fields = [];
    field = '';
    touched = false;
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (ch === '"') quoted = false;
      else {
        if (ch === '\n') line++;
        field += ch;
      }
      continue;
    }
    if (!touched) recordLine = line;
    if (ch === '"' && field === '') (quoted = true), (touched = true), (fieldStartLine = line);
    else if (ch === ',') (fields.push(field), (field = ''), (touched = true));
    else if (ch === '\n' || (ch === '\r' && text[i + 1] === '\n')) {
      if (ch === '\r') i++;
      endRecord();
      line++;
    } else (field += ch), (touched = true);
  }
  if (quoted) report(fieldStartLine, 'unterminated quoted field');
  else endRecord();
  return records;
}

/** GLUE-style TSV: one record per line, tab-separated, no quoting; blank lines skipped. */
export function parseTsv(text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  text.split(/\r?\n/).forEach((content, index) => {
    if (content !== '') records.push({ line: index + 1, fields: content.split('\t') });
  });
  return records;
}

/** The first record is the header; rows with a different column count are reported. */
function recordsToRows(records: CsvRecord[], report: (line: number, message: string) => void): Row[] {
  if (records.length === 0) return [];
  const header = records[0].fields.map((h) => h.trim());
  const rows: Row[] = [];
  for (const record of records.slice(1)) {
    if (record.fields.length !== header.length) {
      report(record.line, `expected ${header.length} columns (${header.join(', ')}), got ${record.fields.length}`);
      continue;
    }
    rows.push({ line: record.line, fields: Object.fromEntries(header.map((h, i) => [h, record.fields[i]])) });
  }
  return rows;
}

/** Scalars become text; objects, arrays, null and missing fields are not usable. */
function scalarText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return null;
}

function toExample(config: LoaderConfig, split: keyof TaskSplits, template: string, row: Row, report: (message: string) => void): TaskExample | null {
  const values: Record<string, string> = {};
  const missing: string[] = [];
  // BoolQ's original release names the label `answer`: read it where `label` is absent.
  const alias = row.fields[config.labelField] === undefined ? (config.labelFieldAliases ?? []).find((f) => row.fields[f] !== undefined) : undefined;
  const labelField = alias ?? config.labelField;
  for (const field of [...config.textFields, labelField]) {
    const text = scalarText(row.fields[field]);
    if (text === null) missing.push(field);
    else values[field] = text;
  }
  if (missing.length > 0) {
    report(`missing or non-scalar field${missing.length > 1 ? 's' : ''} ${missing.map((f) => JSON.stringify(f)).join(', ')}`);
    return null;
  }
  const key = labelKey(values[labelField].trim(), labelField, config.labelWords, config.classLabels, report);
  if (key === null) return null;
  const label = config.labelWords[key];
  const idValue = config.idField === undefined ? null : scalarText(row.fields[config.idField]);
  if (config.idField !== undefined && idValue === null && alias === undefined) {
    report(`missing id field ${JSON.stringify(config.idField)}`);
    return null;
  }
  const line = lineId(config, row, report);
  if (line === null) return null;
  const input = template.replace(/\{([^{}]+)\}/g, (_, name: string) => values[name] ?? `{${name}}`);
  const fields = Object.fromEntries(config.textFields.map((name) => [name, values[name]]));
  return { id: `${config.name}:${split}:${idValue ?? line}`, input, label, facts: [], fields };
}

/** "lineN": the row's line, or the official file's line for its row index (see rowIndexField). */
function lineId(config: LoaderConfig, row: Row, report: (message: string) => void): string | null {
  const index = config.rowIndexField === undefined ? undefined : row.fields[config.rowIndexField];
  if (index === undefined) return `line${row.line}`;
  const text = scalarText(index);
  if (text === null || !/^\d+$/.test(text)) {
    report(`field ${JSON.stringify(config.rowIndexField)} = ${JSON.stringify(index)}: a row index must be an integer 0 or more`);
    return null;
  }
  return `line${Number(text) + 2}`;
}
