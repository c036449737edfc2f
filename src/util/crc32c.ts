/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), shared by the storage record framing and
 * Kafka record batches v2 (which use the same CRC).
 *
 * Two implementations with one result: a table-driven one in JavaScript (slicing-by-8: eight
 * 256-entry tables fold 8 input bytes per iteration; ~0.5 GB/s here) and, where its prebuilt
 * binary installed, @node-rs/crc32's native one (~3 GB/s with the CPU's CRC32 instruction). A call
 * into native code costs ~0.3 µs, more than the JavaScript loop needs for a short input, so only
 * inputs of NATIVE_MIN_BYTES or more go native (measured crossover 256–512 B): large persistent
 * messages and Kafka batches, whose CRC was the largest cost on their path after the copies.
 */
import { createRequire } from 'node:module';

const POLY = 0x82f63b78;

/** TABLE[k * 256 + b]: CRC contribution of byte b followed by k zero bytes. */
const TABLE = buildTable();

function buildTable(): Int32Array {
  const table = new Int32Array(8 * 256);
  for (let b = 0; b < 256; b++) {
    let crc = b;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ POLY : crc >>> 1;
    table[b] = crc;
  }
  for (let b = 0; b < 256; b++) {
    let crc = table[b]!;
    for (let k = 1; k < 8; k++) {
      crc = table[crc & 0xff]! ^ (crc >>> 8);
      table[k * 256 + b] = crc;
    }
  }
  return table;
}

/** Inputs at least this long go to the native implementation when there is one. */
export const NATIVE_MIN_BYTES = 512;

type NativeCrc32c = (input: Buffer, initialState?: number) => number;

/**
 * @node-rs/crc32's crc32c, or undefined where it is not installed (its binaries are optional
 * per-platform packages) or PIER_CRC32C=js asks for the JavaScript one.
 */
export const nativeCrc32c: NativeCrc32c | undefined = loadNative();

function loadNative(): NativeCrc32c | undefined {
  if (process.env.PIER_CRC32C === 'js') return undefined;
  try {
    const native = createRequire(import.meta.url)('@node-rs/crc32') as { crc32c?: NativeCrc32c };
    return typeof native.crc32c === 'function' ? native.crc32c : undefined;
  } catch {
    return undefined;
  }
}

/**
 * CRC-32C of `buf[start, end)`. `initial` is a previous result to continue from (0 to start), so
 * crc32c(b, crc32c(a)) === crc32c(concat(a, b)). Returns an unsigned 32-bit number.
 */
export function crc32c(buf: Uint8Array, initial = 0, start = 0, end = buf.length): number {
  if (nativeCrc32c !== undefined && end - start >= NATIVE_MIN_BYTES) {
    const view = Buffer.from(buf.buffer, buf.byteOffset + start, end - start);
    return nativeCrc32c(view, initial) >>> 0;
  }
  return crc32cPortable(buf, initial, start, end);
}

/** The JavaScript implementation of crc32c(), used for short inputs and where no native one loaded. */
export function crc32cPortable(buf: Uint8Array, initial = 0, start = 0, end = buf.length): number {
  const t = TABLE;
  let crc = ~initial;
  let i = start;
  // Bytes until 8-byte blocks, then 8 at a time, then the rest.
  const blockEnd = end - ((end - i) & 7);
  while (i < blockEnd) {
    const lo = crc ^ (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24));
    crc =
      t[1792 + (lo & 0xff)]! ^
      t[1536 + ((lo >>> 8) & 0xff)]! ^
      t[1280 + ((lo >>> 16) & 0xff)]! ^
      t[1024 + (lo >>> 24)]! ^
      t[768 + buf[i + 4]!]! ^
      t[512 + buf[i + 5]!]! ^
      t[256 + buf[i + 6]!]! ^
      t[buf[i + 7]!]!;
    i += 8;
  }
  while (i < end) crc = t[(crc ^ buf[i++]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}

/**
 * The CRC-32C of a concatenation from the CRCs of its parts: crc32cCombine(crc32c(a), crc32c(b),
 * b.length) === crc32c(concat(a, b)), so a record framing a Kafka batch reuses the batch's own CRC
 * instead of a second pass over it (zlib's crc32_combine method: appending n zero bytes to crcA is
 * a linear operator over GF(2)). The operators for 1, 2, 4, ... zero bytes are built once by
 * repeated squaring; a combine applies the ones for `lengthB`'s set bits: at most 32 products of a
 * 32x32 bit matrix with a vector, where rebuilding them per call cost ~60 times as much.
 */
export function crc32cCombine(crcA: number, crcB: number, lengthB: number): number {
  if (lengthB <= 0) return crcA >>> 0;
  const ops = zeroByteOperators();
  let crc = crcA >>> 0;
  let length = lengthB;
  for (let bit = 0; length !== 0; bit++) {
    if (length % 2 === 1) crc = matrixTimes(ops[bit]!, crc);
    length = Math.floor(length / 2);
  }
  return (crc ^ crcB) >>> 0;
}

/** ZERO_BYTE_OPERATORS[k]: the operator appending 2^k zero bytes to a CRC (k < 53). */
let ZERO_BYTE_OPERATORS: Uint32Array[] | undefined;

function zeroByteOperators(): Uint32Array[] {
  if (ZERO_BYTE_OPERATORS) return ZERO_BYTE_OPERATORS;
  // The operator for one zero bit, then squared three times: one zero byte.
  let op: Uint32Array = new Uint32Array(32);
  op[0] = POLY;
  for (let n = 1, row = 1; n < 32; n++, row <<= 1) op[n] = row;
  for (let i = 0; i < 3; i++) op = squared(op);
  const ops: Uint32Array[] = [op];
  for (let k = 1; k < 53; k++) ops.push(squared(ops[k - 1]!));
  ZERO_BYTE_OPERATORS = ops;
  return ops;
}

function squared(matrix: Uint32Array): Uint32Array {
  const square = new Uint32Array(32);
  squareMatrix(square, matrix);
  return square;
}

function matrixTimes(matrix: Uint32Array, vector: number): number {
  let sum = 0;
  for (let i = 0, v = vector >>> 0; v !== 0; i++, v >>>= 1) if (v & 1) sum ^= matrix[i]!;
  return sum >>> 0;
}

function squareMatrix(square: Uint32Array, matrix: Uint32Array): void {
  for (let n = 0; n < 32; n++) square[n] = matrixTimes(matrix, matrix[n]!);
}
