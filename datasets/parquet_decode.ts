/**
 * Child process of datasets/parquet_rows.ts: decodes the Parquet file given on stdin with hyparquet (whose
 * API is asynchronous) and writes its rows as JSON lines, the columns named in argv[2] only. Integers
 * (INT64 is a bigint in hyparquet) become JSON numbers where exact, else strings of digits, so the rows are
 * what the same table gives as JSON lines. Pages: snappy (hyparquet's own), gzip and brotli (node:zlib), zstd
 * where node has it. Failure: exit 2 with the reason on stderr.
 */
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import * as zlib from 'node:zlib';
import { parquetReadObjects, type Compressors } from 'hyparquet';

type Inflate = (input: Uint8Array, outputLength: number) => Uint8Array;
// hyparquet reads snappy itself; node's zlib adds gzip and brotli (and zstd where node has it, 22.15+).
const zstd = (zlib as unknown as { zstdDecompressSync?: (input: Uint8Array) => Buffer }).zstdDecompressSync;
const compressors: Compressors = {
  GZIP: ((input) => gunzipSync(input)) satisfies Inflate,
  BROTLI: ((input) => brotliDecompressSync(input)) satisfies Inflate,
  ...(zstd === undefined ? {} : { ZSTD: ((input) => zstd(input)) satisfies Inflate }),
};

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function jsonValue(_key: string, value: unknown): unknown {
  if (typeof value !== 'bigint') return value;
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
}

async function main(): Promise<void> {
  const columns = JSON.parse(process.argv[2] ?? '[]') as string[];
  const bytes = await readStdin();
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const rows = await parquetReadObjects({ file, columns, compressors });
  // Written in pieces: one string of every row could pass what a JavaScript string holds.
  let out = '';
  for (const row of rows) {
    out += `${JSON.stringify(row, jsonValue)}\n`;
    if (out.length > 1 << 20) {
      process.stdout.write(out);
      out = '';
    }
  }
  process.stdout.write(out);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 2;
});
