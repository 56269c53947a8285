/**
 * A reader and writer for the safetensors format (https://github.com/huggingface/safetensors), kept
 * generic: model checkpoints and PEFT adapters both use it.
 *
 * Layout: an 8-byte little-endian unsigned header length N, N bytes of UTF-8 JSON header, then the raw
 * little-endian tensor data. The header maps each tensor name to {dtype, shape, data_offsets: [begin, end]}
 * (offsets relative to the first data byte) and may hold "__metadata__": {string: string}.
 *
 * Dtypes: F64, F32, I64, I32, I16, I8, U8 and BOOL are read and written as the matching typed array.
 * F16 and BF16 are read only, converted exactly to float32 (every half and bfloat16 value is representable
 * in float32); the decoded tensor then has dtype F32 and keeps the stored dtype in `storedDtype`.
 * Anything else (F8_*, U16, U32, U64, C64, ...) is refused with an error.
 *
 * The reader refuses every malformed file with an error that names the file and what is wrong; it never
 * returns partial data.
 */
import { writeFileAtomic } from './atomic_file.js';
import { MAX_BUFFER_BYTES, readInputFile } from './input_files.js';

/** The typed array that holds each dtype this module reads and writes. */
export interface DtypeArrays {
  F64: Float64Array;
  F32: Float32Array;
  I64: BigInt64Array;
  I32: Int32Array;
  I16: Int16Array;
  I8: Int8Array;
  U8: Uint8Array;
  /** One byte per value, 0 or 1. */
  BOOL: Uint8Array;
}
export type StorableDtype = keyof DtypeArrays;
/** Dtypes that are only read, converted to F32. */
export type WidenedDtype = 'F16' | 'BF16';
export type SafetensorsDtype = StorableDtype | WidenedDtype;

/** One tensor: a dtype, a shape, and its values in row-major order. */
export type SafeTensor = { [K in StorableDtype]: { dtype: K; shape: number[]; data: DtypeArrays[K] } }[StorableDtype];
/** A tensor as read from a file; `storedDtype` differs from `dtype` only for F16/BF16 (decoded to F32). */
export type DecodedTensor = SafeTensor & { storedDtype: SafetensorsDtype };

export interface DecodedSafetensors {
  /** Tensors in the order their data lies in the file. */
  tensors: Map<string, DecodedTensor>;
  /** The header's "__metadata__", or {} when there is none. */
  metadata: Record<string, string>;
}

const METADATA_KEY = '__metadata__';
/** The reference implementation refuses headers above 100 MB; so do we (it also stops garbage lengths). */
export const MAX_HEADER_BYTES = 100_000_000;

const BYTES_PER_ELEMENT: Record<SafetensorsDtype, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };
const STORABLE: { [K in StorableDtype]: new (buffer: ArrayBuffer) => DtypeArrays[K] } = {
  F64: Float64Array,
  F32: Float32Array,
  I64: BigInt64Array,
  I32: Int32Array,
  I16: Int16Array,
  I8: Int8Array,
  U8: Uint8Array,
  BOOL: Uint8Array,
};
const KNOWN_DTYPES = Object.keys(BYTES_PER_ELEMENT) as SafetensorsDtype[];

// Typed arrays use the host's byte order and the format is little-endian; every platform Node runs on
// in practice is little-endian, so a big-endian host is refused rather than silently byte-swapped.
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function assertLittleEndianHost(): void {
  if (!HOST_IS_LITTLE_ENDIAN) throw new Error('safetensors: this host is big-endian; only little-endian hosts are supported');
}

function isKnownDtype(value: string): value is SafetensorsDtype {
  return (KNOWN_DTYPES as string[]).includes(value);
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((product, size) => product * size, 1);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

function isShape(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((size) => Number.isSafeInteger(size) && (size as number) >= 0);
}

// ---------------------------------------------------------------------------------------------------
// Writing

/** Problems with one tensor given to the writer (empty when it is fine). */
function tensorProblems(name: string, tensor: SafeTensor): string[] {
  const problems: string[] = [];
  if (name === METADATA_KEY) problems.push(`"${METADATA_KEY}" is reserved for metadata and cannot name a tensor`);
  if (name === '') problems.push('a tensor name is empty');
  if (!(tensor.dtype in STORABLE)) {
    const hint = isKnownDtype(tensor.dtype) ? ' (F16/BF16 are read-only here)' : '';
    problems.push(`tensor "${name}": cannot write dtype ${JSON.stringify(tensor.dtype)}${hint}; writable: ${Object.keys(STORABLE).join(', ')}`);
    return problems;
  }
  if (!(tensor.data instanceof STORABLE[tensor.dtype])) {
    problems.push(`tensor "${name}": dtype ${tensor.dtype} needs a ${STORABLE[tensor.dtype].name}, got ${tensor.data?.constructor?.name ?? String(tensor.data)}`);
  }
  if (!isShape(tensor.shape)) {
    problems.push(`tensor "${name}": shape ${JSON.stringify(tensor.shape)} must be an array of non-negative integers`);
  } else if (tensor.data !== undefined && tensor.data.length !== elementCount(tensor.shape)) {
    problems.push(`tensor "${name}": shape [${tensor.shape}] has ${elementCount(tensor.shape)} elements but data has ${tensor.data.length}`);
  }
  return problems;
}

/**
 * Write order of the reference implementation: larger elements first (so each tensor starts aligned to its
 * element size, given the 8-byte aligned data section), then by name. Deterministic for a given set of tensors.
 */
function writeOrder([nameA, a]: [string, SafeTensor], [nameB, b]: [string, SafeTensor]): number {
  const bySize = BYTES_PER_ELEMENT[b.dtype] - BYTES_PER_ELEMENT[a.dtype];
  if (bySize !== 0) return bySize;
  return nameA < nameB ? -1 : nameA > nameB ? 1 : 0;
}

function checkedMetadata(metadata: Readonly<Record<string, string>>): Record<string, string> {
  const sorted: Record<string, string> = {};
  for (const key of Object.keys(metadata).sort()) {
    const value = metadata[key];
    if (typeof value !== 'string') throw new Error(`safetensors metadata "${key}" = ${JSON.stringify(value)}: values must be strings`);
    sorted[key] = value;
  }
  return sorted;
}

/**
 * Encodes tensors (and optional string metadata) as a safetensors file in memory. The header is padded with
 * spaces to an 8-byte boundary and tensors are laid out contiguously in {@link writeOrder}, as the Python
 * library does; the same input always gives the same bytes.
 */
export function encodeSafetensors(tensors: ReadonlyMap<string, SafeTensor>, metadata?: Readonly<Record<string, string>>): Uint8Array {
  assertLittleEndianHost();
  const problems = [...tensors].flatMap(([name, tensor]) => tensorProblems(name, tensor));
  if (problems.length > 0) throw new Error(`cannot encode safetensors:\n  ${problems.join('\n  ')}`);

  const entries = [...tensors].sort(writeOrder);
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) header[METADATA_KEY] = checkedMetadata(metadata);
  let dataLength = 0;
  for (const [name, tensor] of entries) {
    header[name] = { dtype: tensor.dtype, shape: tensor.shape, data_offsets: [dataLength, dataLength + tensor.data.byteLength] };
    dataLength += tensor.data.byteLength;
  }

  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLength = Math.ceil(json.length / 8) * 8;
  const bytes = new Uint8Array(8 + headerLength + dataLength);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(headerLength), true);
  bytes.set(json, 8);
  bytes.fill(0x20, 8 + json.length, 8 + headerLength);
  let cursor = 8 + headerLength;
  for (const [, tensor] of entries) {
    bytes.set(new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength), cursor);
    cursor += tensor.data.byteLength;
  }
  return bytes;
}

// ---------------------------------------------------------------------------------------------------
// Reading

interface Entry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

function fail(source: string, problems: readonly string[]): never {
  const body = problems.length === 1 ? ` ${problems[0]}` : `\n  ${problems.join('\n  ')}`;
  throw new Error(`${source}: not a valid safetensors file:${body}`);
}

/** The parsed JSON header and where the data section starts. */
function readHeader(bytes: Uint8Array, source: string): { header: Record<string, unknown>; dataStart: number } {
  if (bytes.length < 8) {
    fail(source, [`file is ${bytes.length} bytes, shorter than the 8-byte header length prefix (truncated, or not a safetensors file)`]);
  }
  const declared = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true);
  if (declared > BigInt(MAX_HEADER_BYTES)) {
    fail(source, [`header length ${declared} bytes exceeds the ${MAX_HEADER_BYTES}-byte limit (corrupt length prefix, or not a safetensors file)`]);
  }
  const headerLength = Number(declared);
  if (8 + headerLength > bytes.length) {
    fail(source, [`header length is ${headerLength} bytes but only ${bytes.length - 8} bytes follow the length prefix (truncated, or a corrupt length)`]);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength));
  } catch {
    fail(source, [`header (${headerLength} bytes) is not valid UTF-8`]);
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    fail(source, [`header is not valid JSON (${reason}); it begins ${JSON.stringify(text.slice(0, 80))}`]);
  }
  if (!isObject(header)) fail(source, [`header must be a JSON object, got ${describeJson(header)}`]);
  return { header, dataStart: 8 + headerLength };
}

function parseMetadata(value: unknown, problems: string[]): Record<string, string> {
  if (value === undefined) return {};
  if (!isObject(value)) {
    problems.push(`"${METADATA_KEY}" must be an object of strings, got ${describeJson(value)}`);
    return {};
  }
  const metadata: Record<string, string> = {};
  for (const [key, item] of Object.entries(value)) {
    if (typeof item === 'string') metadata[key] = item;
    else problems.push(`"${METADATA_KEY}"."${key}" = ${JSON.stringify(item)}: values must be strings`);
  }
  return metadata;
}

/** One header entry checked field by field; null (with problems recorded) when it is unusable. */
function parseEntry(name: string, value: unknown, problems: string[]): Entry | null {
  if (!isObject(value)) {
    problems.push(`tensor "${name}": entry must be an object with dtype, shape and data_offsets, got ${describeJson(value)}`);
    return null;
  }
  const missing = ['dtype', 'shape', 'data_offsets'].filter((field) => !(field in value));
  if (missing.length > 0) {
    problems.push(`tensor "${name}": missing ${missing.map((field) => `"${field}"`).join(', ')}`);
    return null;
  }
  const { dtype, shape, data_offsets: offsets } = value;
  const before = problems.length;
  if (typeof dtype !== 'string' || !isKnownDtype(dtype)) {
    problems.push(`tensor "${name}": unsupported dtype ${JSON.stringify(dtype)}; supported: ${KNOWN_DTYPES.join(', ')}`);
  }
  if (!isShape(shape)) problems.push(`tensor "${name}": shape ${JSON.stringify(shape)} must be an array of non-negative integers`);
  const offsetsOk = Array.isArray(offsets) && offsets.length === 2 && isShape(offsets) && offsets[0] <= offsets[1];
  if (!offsetsOk) problems.push(`tensor "${name}": data_offsets ${JSON.stringify(offsets)} must be [begin, end] with 0 <= begin <= end`);
  if (problems.length > before) return null;
  const [begin, end] = offsets as number[];
  return { name, dtype: dtype as SafetensorsDtype, shape: shape as number[], begin, end };
}

/** Checks that the entries tile the data section exactly: right sizes, no overlap, no gap, nothing missing or extra. */
function layoutProblems(entries: Entry[], dataLength: number): string[] {
  const problems: string[] = [];
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expectedBegin = 0;
  for (const entry of sorted) {
    const where = `tensor "${entry.name}": data_offsets [${entry.begin}, ${entry.end}]`;
    const needed = elementCount(entry.shape) * BYTES_PER_ELEMENT[entry.dtype];
    if (entry.end - entry.begin !== needed) {
      problems.push(`${where} hold ${entry.end - entry.begin} bytes, but dtype ${entry.dtype} with shape [${entry.shape}] needs ${needed}`);
    }
    if (entry.begin > expectedBegin) problems.push(`${where} leave a gap of ${entry.begin - expectedBegin} bytes after the previous tensor's data (which ends at ${expectedBegin})`);
    if (entry.begin < expectedBegin) problems.push(`${where} overlap the previous tensor's data (which ends at ${expectedBegin})`);
    if (entry.end > dataLength) problems.push(`${where} are out of bounds of the ${dataLength}-byte data section`);
    expectedBegin = Math.max(expectedBegin, entry.end);
  }
  if (expectedBegin > dataLength) {
    problems.push(`truncated: the header declares ${expectedBegin} data bytes but only ${dataLength} follow it`);
  } else if (expectedBegin < dataLength) {
    problems.push(`${dataLength - expectedBegin} unexpected trailing bytes: the data section is ${dataLength} bytes but the header declares ${expectedBegin}`);
  }
  return problems;
}

/** Exact conversion of IEEE half-precision bits to a number. */
function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24; // zero and subnormals
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** The values of one entry; `raw` is a private, aligned copy of its bytes. */
function entryValues(entry: Entry, raw: ArrayBuffer): DecodedTensor {
  const shape = entry.shape;
  if (entry.dtype === 'F16') {
    const half = new Uint16Array(raw);
    return { dtype: 'F32', storedDtype: 'F16', shape, data: Float32Array.from(half, halfToNumber) };
  }
  if (entry.dtype === 'BF16') {
    // bfloat16 is the top half of a float32: shifting the bits up is exact, NaN payloads included.
    const widened = Uint32Array.from(new Uint16Array(raw), (bits) => bits << 16);
    return { dtype: 'F32', storedDtype: 'BF16', shape, data: new Float32Array(widened.buffer) };
  }
  const dtype = entry.dtype;
  return { dtype, storedDtype: dtype, shape, data: new STORABLE[dtype](raw) } as DecodedTensor;
}

/**
 * Decodes a safetensors file held in memory. `source` (usually the path) names the file in errors. Every
 * malformation is an error: short file, bad header length, header that is not a JSON object, entries
 * missing fields or with unknown dtypes, and offsets that are out of bounds, overlap, leave gaps, disagree
 * with shape × dtype size, or do not end exactly at the end of the file. The returned arrays are copies.
 */
export function decodeSafetensors(bytes: Uint8Array, source: string): DecodedSafetensors {
  assertLittleEndianHost();
  const { header, dataStart } = readHeader(bytes, source);
  const problems: string[] = [];
  const metadata = parseMetadata(header[METADATA_KEY], problems);
  const entries: Entry[] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === METADATA_KEY) continue;
    const entry = parseEntry(name, value, problems);
    if (entry !== null) entries.push(entry);
  }
  if (problems.length === 0) problems.push(...layoutProblems(entries, bytes.length - dataStart));
  if (problems.length > 0) fail(source, problems);

  const tensors = new Map<string, DecodedTensor>();
  for (const entry of entries.sort((a, b) => a.begin - b.begin || a.end - b.end)) {
    // Copying gives each tensor its own buffer, aligned for its typed array whatever the file's layout.
    const raw = new Uint8Array(bytes.subarray(dataStart + entry.begin, dataStart + entry.end)).buffer;
    tensors.set(entry.name, entryValues(entry, raw));
  }
  return { tensors, metadata };
}

// ---------------------------------------------------------------------------------------------------
// Files


/** Encodes tensors with {@link encodeSafetensors} and writes them to `filePath` atomically. */
export async function writeSafetensorsFile(
  filePath: string,
  tensors: ReadonlyMap<string, SafeTensor>,
  metadata?: Readonly<Record<string, string>>,
): Promise<void> {
  await writeFileAtomic(filePath, encodeSafetensors(tensors, metadata));
}

/** Reads and decodes a safetensors file; errors name the path. */
export async function readSafetensorsFile(filePath: string): Promise<DecodedSafetensors> {
  // A directory, a device or a FIFO named like a weights file is refused by type, naming the path.
  return decodeSafetensors(await readInputFile(filePath, 'weights file', MAX_BUFFER_BYTES), filePath);
}
