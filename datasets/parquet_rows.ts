/**
 * Rows of a Parquet data file (the Hub serves `<dataset>/<config>/<split>-00000-of-00001.parquet`), read with
 * hyparquet (pure JavaScript, no dependencies, snappy built in; datasets/parquet_decode.ts adds gzip and
 * brotli from node:zlib). Dataset loading is synchronous (planning checks every row before any work) and
 * hyparquet is asynchronous, so the footer is read here (hyparquet's `parquetMetadata` is synchronous) and
 * the pages are decoded by a child process waited on with spawnSync: its exit status, signal and timeout are
 * seen even when it dies (out of memory), which a thread blocked in Atomics.wait on a Worker never sees.
 *
 * Before any page is decoded: the footer must parse (a truncated download lacks it), the columns the
 * recipe needs must be present (named with the columns there are), and the decoded size the footer states
 * must be at most that of a text data file.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parquetMetadata, parquetSchema } from 'hyparquet';

/** The most bytes of decoded column data (as the footer states them): what a text data file may hold. */
export const MAX_PARQUET_DECODED_BYTES = 512 * 1024 * 1024;
/** How long the decoder may take: far more than any file under the size bound needs. */
const DECODE_TIMEOUT_MS = 10 * 60 * 1000;
const DECODER = fileURLToPath(new URL('./parquet_decode.js', import.meta.url));

/** The fields a recipe reads from a row (a subset of datasets/loaders.ts's LoaderConfig). */
export interface RowFields {
  textFields: string[];
  labelField: string;
  labelFieldAliases?: string[];
  idField?: string;
  rowIndexField?: string;
}

const quoted = (names: readonly string[]): string => names.map((n) => JSON.stringify(n)).join(', ');

/**
 * The rows of a Parquet file, as JSON lines give them (fields by column name, integers as numbers), in
 * file order; only the columns `fields` reads. Throws an error beginning with `where` when the file is not
 * a readable Parquet file or lacks a column every row needs.
 */
export function readParquetRows(bytes: Buffer, fields: RowFields, where: string): Array<Record<string, unknown>> {
  const present = parquetColumns(bytes, where);
  const missing = fields.textFields.filter((name) => !present.columns.includes(name));
  const labels = [fields.labelField, ...(fields.labelFieldAliases ?? [])];
  const label = labels.find((name) => present.columns.includes(name));
  if (label === undefined) missing.push(fields.labelField);
  // Rows labelled by an alias (BoolQ's original `answer`) may lack the id field, as in JSON lines.
  if (fields.idField !== undefined && label === fields.labelField && !present.columns.includes(fields.idField)) missing.push(fields.idField);
  if (missing.length > 0) {
    const alias = fields.labelFieldAliases?.length ? ` (the label may also be ${quoted(fields.labelFieldAliases)})` : '';
    throw new Error(`${where}: Parquet column${missing.length > 1 ? 's' : ''} ${quoted(missing)} ${missing.length > 1 ? 'are' : 'is'} missing${alias}; the file has columns ${quoted(present.columns)}; allowed: a file with the recipe's columns ${quoted([...fields.textFields, fields.labelField])}, or the entry's textFields/labelField naming this file's columns`);
  }
  const wanted = [...fields.textFields, ...labels, fields.idField, fields.rowIndexField].filter((name): name is string => name !== undefined && present.columns.includes(name));
  const rows = decode(bytes, [...new Set(wanted)], where);
  if (rows.length !== present.rows) throw new Error(`${where}: the Parquet footer states ${present.rows} rows but ${rows.length} were decoded; allowed: an intact Parquet file`);
  return rows;
}

/** The footer's top-level column names and row count; errors name the file and what is wrong with it. */
function parquetColumns(bytes: Buffer, where: string): { columns: string[]; rows: number } {
  let metadata;
  try {
    metadata = parquetMetadata(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (error) {
    throw new Error(`${where}: not a readable Parquet file (${bytes.length.toLocaleString('en-US')} bytes; ${(error as Error).message}); allowed: a whole Parquet file (one cut short, as by an interrupted download, has no footer: fetch it again)`);
  }
  const columns = parquetSchema(metadata).children.map((child) => child.element.name);
  const decoded = metadata.row_groups.reduce((sum, group) => sum + Number(group.total_byte_size), 0);
  if (decoded > MAX_PARQUET_DECODED_BYTES) {
    throw new Error(`${where}: the Parquet file's columns hold ${decoded.toLocaleString('en-US')} bytes decoded: allowed: at most ${MAX_PARQUET_DECODED_BYTES.toLocaleString('en-US')} (split it into several files)`);
  }
  return { columns, rows: Number(metadata.num_rows) };
}

/** Decodes the pages in a child process (see the header) and parses its JSON lines. */
function decode(bytes: Buffer, columns: string[], where: string): Array<Record<string, unknown>> {
  const child = spawnSync(process.execPath, [DECODER, JSON.stringify(columns)], { input: bytes, maxBuffer: 2 ** 31, timeout: DECODE_TIMEOUT_MS, windowsHide: true });
  const stderr = child.stderr?.toString('utf8').trim() ?? '';
  if (child.error !== undefined || child.status !== 0) {
    const why = child.error !== undefined ? child.error.message : child.signal !== null ? `the decoder was killed by ${child.signal}` : stderr ? `hyparquet: ${stderr}` : `the decoder exited with status ${child.status}`;
    throw new Error(`${where}: the Parquet file cannot be decoded (${why.split('\n').slice(-3).join(' ')}); allowed: an intact Parquet file (uncompressed, snappy, gzip or brotli pages)`);
  }
  const out = child.stdout;
  const rows: Array<Record<string, unknown>> = [];
  for (let start = 0; start < out.length; ) {
    const end = out.indexOf(10, start);
    const stop = end === -1 ? out.length : end;
    rows.push(JSON.parse(out.toString('utf8', start, stop)) as Record<string, unknown>);
    start = stop + 1;
  }
  return rows;
}
