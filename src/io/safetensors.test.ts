import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  decodeSafetensors,
  encodeSafetensors,
  MAX_HEADER_BYTES,
  readSafetensorsFile,
  writeSafetensorsFile,
  type SafeTensor,
} from './safetensors.js';

/** A file built by hand per the spec: u64 LE header length, header text, data; optional space padding. */
function handMade(header: string, data: number[] | Uint8Array, padTo8 = false): Uint8Array {
  let text = header;
  if (padTo8) while ((new TextEncoder().encode(text).length) % 8 !== 0) text += ' ';
  const json = new TextEncoder().encode(text);
  const bytes = new Uint8Array(8 + json.length + data.length);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(json.length), true);
  bytes.set(json, 8);
  bytes.set(data, 8 + json.length);
  return bytes;
}

function headerOf(bytes: Uint8Array): { length: number; text: string } {
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { length, text: new TextDecoder().decode(bytes.subarray(8, 8 + length)) };
}

const SOURCE = 'test.safetensors';
const decodeError = (bytes: Uint8Array, pattern: RegExp): void => {
  assert.throws(
    () => decodeSafetensors(bytes, SOURCE),
    (error: Error) => {
      assert.match(error.message, new RegExp(`^${SOURCE}: `));
      assert.match(error.message, pattern);
      return true;
    },
  );
};

function sampleTensors(): Map<string, SafeTensor> {
  return new Map<string, SafeTensor>([
    ['f32', { dtype: 'F32', shape: [2, 3], data: Float32Array.from([1, -2.5, 0, -0, Infinity, 1.401298464324817e-45]) }],
    ['f32.nan', { dtype: 'F32', shape: [1], data: new Float32Array(new Uint32Array([0x7fc01234]).buffer) }],
    ['f64', { dtype: 'F64', shape: [2], data: Float64Array.from([Math.PI, -1e300]) }],
    ['i64', { dtype: 'I64', shape: [2], data: BigInt64Array.from([-(2n ** 63n), 2n ** 62n + 1n]) }],
    ['i32', { dtype: 'I32', shape: [3], data: Int32Array.from([-2147483648, 0, 2147483647]) }],
    ['i16', { dtype: 'I16', shape: [2], data: Int16Array.from([-32768, 32767]) }],
    ['i8', { dtype: 'I8', shape: [3], data: Int8Array.from([-128, 5, 127]) }],
    ['u8', { dtype: 'U8', shape: [1, 3], data: Uint8Array.from([0, 128, 255]) }],
    ['bool', { dtype: 'BOOL', shape: [2], data: Uint8Array.from([1, 0]) }],
    ['scalar', { dtype: 'F32', shape: [], data: Float32Array.from([7]) }],
    ['empty', { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) }],
  ]);
}

const bytesOf = (data: ArrayBufferView): Uint8Array => new Uint8Array(data.buffer, data.byteOffset, data.byteLength);

describe('safetensors encode/decode', () => {
  it('round-trips every writable dtype bit for bit, with metadata', () => {
    const tensors = sampleTensors();
    const encoded = encodeSafetensors(tensors, { format: 'pt', note: 'ünïcode' });
    const decoded = decodeSafetensors(encoded, SOURCE);
    assert.deepEqual(decoded.metadata, { format: 'pt', note: 'ünïcode' });
    assert.deepEqual([...decoded.tensors.keys()].sort(), [...tensors.keys()].sort());
    for (const [name, original] of tensors) {
      const got = decoded.tensors.get(name);
      assert.ok(got !== undefined, name);
      assert.equal(got.dtype, original.dtype, name);
      assert.equal(got.storedDtype, original.dtype, name);
      assert.deepEqual(got.shape, original.shape, name);
      assert.equal(got.data.constructor, original.data.constructor, name);
      assert.deepEqual(bytesOf(got.data), bytesOf(original.data), name);
    }
  });

  it('pads the header with spaces to 8 bytes and lays tensors out contiguously, largest elements first, then by name', () => {
    const encoded = encodeSafetensors(sampleTensors());
    const { length, text } = headerOf(encoded);
    assert.equal(length % 8, 0);
    assert.match(text, /^\{.*\} *$/);
    const header = JSON.parse(text) as Record<string, { dtype: string; data_offsets: [number, number] }>;
    assert.equal('__metadata__' in header, false);
    const names = Object.keys(header);
    assert.deepEqual(names, ['f64', 'i64', 'empty', 'f32', 'f32.nan', 'i32', 'scalar', 'i16', 'bool', 'i8', 'u8']);
    let offset = 0;
    for (const name of names) {
      const [begin, end] = header[name].data_offsets;
      assert.equal(begin, offset, name);
      offset = end;
    }
    assert.equal(8 + length + offset, encoded.length);
  });

  it('writes exactly the bytes the spec describes (golden bytes)', () => {
    const encoded = encodeSafetensors(new Map<string, SafeTensor>([['x', { dtype: 'F32', shape: [2], data: Float32Array.from([1, -2]) }]]));
    const json = '{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'; // 53 bytes, padded to 56
    const expected = handMade(json, [0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0], true);
    assert.equal(headerOf(expected).length, 56);
    assert.deepEqual(encoded, expected);
  });

  it('is deterministic whatever the insertion order', () => {
    const tensors = sampleTensors();
    const reversed = new Map([...tensors].reverse());
    assert.deepEqual(encodeSafetensors(reversed, { b: '2', a: '1' }), encodeSafetensors(tensors, { a: '1', b: '2' }));
  });

  it('reads a hand-written file: F32, I32, F16 and BF16 (widened to float32), unpadded or padded header', () => {
    const header =
      '{"__metadata__":{"format":"pt"},' +
      '"a":{"dtype":"F32","shape":[1,2],"data_offsets":[8,16]},' +
      '"b":{"dtype":"I32","shape":[2],"data_offsets":[0,8]},' +
      '"h":{"dtype":"F16","shape":[4],"data_offsets":[16,24]},' +
      '"g":{"dtype":"BF16","shape":[2],"data_offsets":[24,28]}}';
    const data = [
      0x07, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, // b: 7, -1
      0, 0, 0x80, 0x3f, 0, 0, 0x20, 0xc0, // a: 1.0, -2.5
      0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b, 0x01, 0x00, // h: 1.0, -2.0, 65504, 2^-24
      0x80, 0x3f, 0x49, 0x40, // g: 1.0, 3.140625
    ];
    for (const pad of [false, true]) {
      const { tensors, metadata } = decodeSafetensors(handMade(header, data, pad), SOURCE);
      assert.deepEqual(metadata, { format: 'pt' });
      assert.deepEqual([...tensors.keys()], ['b', 'a', 'h', 'g'], 'tensors come back in data order');
      assert.deepEqual(tensors.get('a'), { dtype: 'F32', storedDtype: 'F32', shape: [1, 2], data: Float32Array.from([1, -2.5]) });
      assert.deepEqual(tensors.get('b'), { dtype: 'I32', storedDtype: 'I32', shape: [2], data: Int32Array.from([7, -1]) });
      assert.deepEqual(tensors.get('h'), { dtype: 'F32', storedDtype: 'F16', shape: [4], data: Float32Array.from([1, -2, 65504, 2 ** -24]) });
      assert.deepEqual(tensors.get('g'), { dtype: 'F32', storedDtype: 'BF16', shape: [2], data: Float32Array.from([1, 3.140625]) });
    }
  });

  it('widens F16 specials exactly: signed zero, infinities, NaN, largest subnormal', () => {
    const header = '{"h":{"dtype":"F16","shape":[6],"data_offsets":[0,12]}}';
    const data = [0x00, 0x80, 0x00, 0x7c, 0x00, 0xfc, 0x00, 0x7e, 0xff, 0x03, 0x00, 0x38];
    const h = decodeSafetensors(handMade(header, data), SOURCE).tensors.get('h');
    assert.ok(h !== undefined);
    assert.deepEqual([...h.data], [-0, Infinity, -Infinity, NaN, 1023 * 2 ** -24, 0.5]);
  });

  it('refuses what it cannot write, naming the tensor', () => {
    const cases: [SafeTensor, RegExp][] = [
      [{ dtype: 'F32', shape: [3], data: new Float32Array(2) }, /"t": shape \[3\] has 3 elements but data has 2/],
      [{ dtype: 'F32', shape: [2], data: new Int32Array(2) } as unknown as SafeTensor, /"t": dtype F32 needs a Float32Array, got Int32Array/],
      [{ dtype: 'F16', shape: [1], data: new Uint16Array(1) } as unknown as SafeTensor, /cannot write dtype "F16" \(F16\/BF16 are read-only here\)/],
      [{ dtype: 'F32', shape: [-1], data: new Float32Array(0) }, /shape \[-1\] must be an array of non-negative integers/],
    ];
    for (const [tensor, pattern] of cases) assert.throws(() => encodeSafetensors(new Map([['t', tensor]])), pattern);
    assert.throws(
      () => encodeSafetensors(new Map<string, SafeTensor>([['__metadata__', { dtype: 'U8', shape: [0], data: new Uint8Array(0) }]])),
      /"__metadata__" is reserved/,
    );
    assert.throws(() => encodeSafetensors(new Map(), { n: 1 as unknown as string }), /metadata "n" = 1: values must be strings/);
  });
});

describe('safetensors corrupt input', () => {
  const good = encodeSafetensors(sampleTensors(), { format: 'pt' });
  const headerEnd = 8 + headerOf(good).length;

  it('a file shorter than 8 bytes', () => {
    decodeError(new Uint8Array(0), /file is 0 bytes, shorter than the 8-byte header length prefix \(truncated/);
    decodeError(good.subarray(0, 5), /file is 5 bytes, shorter than the 8-byte/);
  });

  it('a file cut anywhere says "truncated"', () => {
    for (const cut of [3, 8, 9, 40, headerEnd - 1, headerEnd, headerEnd + 3, good.length - 9, good.length - 1]) {
      assert.throws(() => decodeSafetensors(good.subarray(0, cut), SOURCE), /truncated/, `cut at ${cut} of ${good.length}`);
    }
    decodeError(good.subarray(0, good.length - 1), /truncated: the header declares \d+ data bytes but only \d+ follow it/);
    decodeError(good.subarray(0, 40), new RegExp(`header length is ${headerEnd - 8} bytes but only 32 bytes follow the length prefix \\(truncated`));
  });

  it('a header length larger than the file, or absurdly large', () => {
    const bytes = good.slice();
    new DataView(bytes.buffer).setBigUint64(0, BigInt(good.length), true);
    decodeError(bytes, new RegExp(`header length is ${good.length} bytes but only ${good.length - 8} bytes follow`));
    new DataView(bytes.buffer).setBigUint64(0, 2n ** 64n - 1n, true);
    decodeError(bytes, new RegExp(`header length 18446744073709551615 bytes exceeds the ${MAX_HEADER_BYTES}-byte limit`));
  });

  it('a header that is not JSON, not UTF-8 or not an object', () => {
    decodeError(handMade('{"a": ', []), /header is not valid JSON \(.*\); it begins "\{\\"a\\": "/);
    decodeError(handMade('[1, 2]', []), /header must be a JSON object, got an array/);
    decodeError(handMade('null', []), /header must be a JSON object, got null/);
    const badUtf8 = handMade('{"a"}', []);
    badUtf8[9] = 0xff;
    decodeError(badUtf8, /header \(5 bytes\) is not valid UTF-8/);
    // A header length too small cuts the JSON short.
    const short = good.slice();
    new DataView(short.buffer).setBigUint64(0, 10n, true);
    decodeError(short, /header is not valid JSON/);
  });

  it('entries missing fields, with unknown dtypes or malformed values', () => {
    decodeError(handMade('{"w":{"shape":[1],"data_offsets":[0,4]}}', [0, 0, 0, 0]), /tensor "w": missing "dtype"/);
    decodeError(handMade('{"w":{"dtype":"F32"}}', []), /tensor "w": missing "shape", "data_offsets"/);
    decodeError(handMade('{"w":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}', [0]), /tensor "w": unsupported dtype "F8_E4M3"; supported: F64, F32, F16, BF16/);
    decodeError(handMade('{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}', [0, 0, 0, 0]), /tensor "w": shape \[1.5\] must be an array of non-negative integers/);
    decodeError(handMade('{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}', [0, 0, 0, 0]), /tensor "w": data_offsets \[4,0\] must be \[begin, end\] with 0 <= begin <= end/);
    decodeError(handMade('{"w":[1]}', []), /tensor "w": entry must be an object with dtype, shape and data_offsets, got an array/);
    decodeError(handMade('{"__metadata__":{"n":1}}', []), /"__metadata__"."n" = 1: values must be strings/);
  });

  it('reports every problem of a header at once', () => {
    const header = '{"a":{"dtype":"X","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32"}}';
    decodeError(handMade(header, [0, 0, 0, 0]), /tensor "a": unsupported dtype "X"[^]*\n {2}tensor "b": missing "shape", "data_offsets"/);
  });

  it('offsets out of bounds', () => {
    decodeError(
      handMade('{"w":{"dtype":"F32","shape":[250],"data_offsets":[0,1000]}}', [0, 0, 0, 0, 0, 0, 0, 0]),
      /tensor "w": data_offsets \[0, 1000\] are out of bounds of the 8-byte data section[^]*truncated/,
    );
  });

  it('a byte size that does not match shape × dtype', () => {
    decodeError(
      handMade('{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', [0, 0, 0, 0, 0, 0, 0, 0]),
      /tensor "w": data_offsets \[0, 8\] hold 8 bytes, but dtype F32 with shape \[3\] needs 12/,
    );
  });

  it('overlapping offsets, gaps, and trailing bytes', () => {
    const eight = [0, 0, 0, 0, 0, 0, 0, 0];
    decodeError(
      handMade('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}', [...eight, 0, 0, 0, 0]),
      /tensor "b": data_offsets \[4, 12\] overlap the previous tensor's data \(which ends at 8\)/,
    );
    decodeError(
      handMade('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}}', [...eight, ...eight]),
      /tensor "b": data_offsets \[12, 16\] leave a gap of 4 bytes/,
    );
    decodeError(handMade('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', [...eight, 1, 2, 3]), /3 unexpected trailing bytes: the data section is 11 bytes but the header declares 8/);
    const withGarbage = new Uint8Array(good.length + 5);
    withGarbage.set(good);
    decodeError(withGarbage, /5 unexpected trailing bytes/);
  });
});

describe('safetensors files', () => {
  let dir = '';
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'peftscale-safetensors-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes atomically (no temporary file left) and reads back', async () => {
    const file = path.join(dir, 'x.safetensors');
    await writeSafetensorsFile(file, sampleTensors(), { k: 'v' });
    await writeSafetensorsFile(file, sampleTensors(), { k: 'w' }); // overwriting goes through rename too
    assert.deepEqual(fs.readdirSync(dir), ['x.safetensors']);
    const { tensors, metadata } = await readSafetensorsFile(file);
    assert.deepEqual(metadata, { k: 'w' });
    assert.equal(tensors.size, sampleTensors().size);
  });

  it('a failed write leaves neither the target nor a temporary file', async () => {
    const file = path.join(dir, 'bad.safetensors');
    await assert.rejects(writeSafetensorsFile(file, new Map<string, SafeTensor>([['t', { dtype: 'F32', shape: [2], data: new Float32Array(1) }]])), /shape \[2\]/);
    assert.equal(fs.readdirSync(dir).some((name) => name.includes('bad.safetensors')), false);
  });

  it('errors name the path', async () => {
    const file = path.join(dir, 'cut.safetensors');
    fs.writeFileSync(file, encodeSafetensors(sampleTensors()).subarray(0, 100));
    await assert.rejects(readSafetensorsFile(file), (error: Error) => error.message.startsWith(`${file}: `) && /truncated/.test(error.message));
  });
});
