import { syntaxError } from './errors.js';
import { Writer } from './writer.js';

/** Field-table type letters as RabbitMQ reads and writes them (rabbit_binary_parser/generator). */
export type FieldTypeCode = 't' | 'b' | 'B' | 's' | 'u' | 'I' | 'i' | 'l' | 'f' | 'd' | 'S' | 'x' | 'T' | 'V';

/**
 * A value with an explicit wire type, for when the inferred type is wrong: e.g.
 * `new TypedValue('l', 5)` for a long, `new TypedValue('T', seconds)` for a timestamp.
 */
export class TypedValue {
  constructor(
    readonly type: FieldTypeCode,
    readonly value: number | bigint | string | boolean | Buffer | null,
  ) {}
}

export type FieldValue =
  | string
  | number
  | boolean
  | bigint
  | Buffer
  | Date
  | null
  | undefined
  | TypedValue
  | FieldValue[]
  | FieldTable;
export interface FieldTable {
  [key: string]: FieldValue;
}

/** Hostile nesting must not overflow the stack; real tables (x-death) nest 3 deep. */
export const MAX_TABLE_DEPTH = 100;
/** Largest timestamp (seconds) a Date can hold; later ones decode as TypedValue('T', n). */
const MAX_DATE_SECONDS = 8.64e12;

/*
 * Decoding, per type letter:
 *   t → boolean; b s I (signed) and B u i (unsigned) → number; l → number when safe, else bigint;
 *   f d → number; D (decimal: scale octet + u32 digits) → number digits/10^scale;
 *   S → utf8 string; x → Buffer (a view into the input, not a copy); A → array; F → table;
 *   V → null; T → Date (whole seconds), so a decoded table re-encodes with the same types
 *   (e.g. x-death's `time`). Timestamps beyond Date's range decode as TypedValue('T', bigint).
 * Narrow integer types and decimals re-encode as I/l/d: values are kept, exact types are not.
 */
export function decodeTable(buf: Buffer, offset: number): { value: FieldTable; offset: number } {
  const r = { offset };
  const value = readTable(buf, r, 0);
  return { value, offset: r.offset };
}

/** Decodes a whole table from `buf[start, end)` (content without the u32 length prefix). */
export function decodeTableBody(buf: Buffer, start: number, end: number): FieldTable {
  return readTableBody(buf, { offset: start }, end, 0);
}

interface Cursor {
  offset: number;
}

function need(buf: Buffer, off: number, n: number, end: number): void {
  if (off + n > end || off + n > buf.length) throw syntaxError(`field table truncated at byte ${off}`);
}

function readTable(buf: Buffer, r: Cursor, depth: number): FieldTable {
  need(buf, r.offset, 4, buf.length);
  const len = buf.readUInt32BE(r.offset);
  const start = r.offset + 4;
  const end = start + len;
  if (end > buf.length) throw syntaxError(`field table length ${len} runs past the end`);
  r.offset = start;
  return readTableBody(buf, r, end, depth);
}

function readTableBody(buf: Buffer, r: Cursor, end: number, depth: number): FieldTable {
  if (depth >= MAX_TABLE_DEPTH) throw syntaxError(`field table nested deeper than ${MAX_TABLE_DEPTH}`);
  const table: FieldTable = {};
  while (r.offset < end) {
    const keyLen = buf[r.offset];
    need(buf, r.offset, 1 + keyLen, end);
    const key = buf.toString('utf8', r.offset + 1, r.offset + 1 + keyLen);
    r.offset += 1 + keyLen;
    const value = readValue(buf, r, end, depth);
    // A key of "__proto__" must become an own property, not replace the prototype.
    if (key === '__proto__') Object.defineProperty(table, key, { value, enumerable: true, writable: true });
    else table[key] = value;
  }
  return table;
}

function readArray(buf: Buffer, r: Cursor, depth: number, outerEnd: number): FieldValue[] {
  if (depth >= MAX_TABLE_DEPTH) throw syntaxError(`field array nested deeper than ${MAX_TABLE_DEPTH}`);
  need(buf, r.offset, 4, outerEnd);
  const len = buf.readUInt32BE(r.offset);
  r.offset += 4;
  const end = r.offset + len;
  if (end > outerEnd) throw syntaxError(`field array length ${len} runs past the end`);
  const out: FieldValue[] = [];
  while (r.offset < end) out.push(readValue(buf, r, end, depth));
  return out;
}

function readValue(buf: Buffer, r: Cursor, end: number, depth: number): FieldValue {
  need(buf, r.offset, 1, end);
  const type = buf[r.offset++];
  const off = r.offset;
  switch (type) {
    case 0x74: // t
      need(buf, off, 1, end);
      r.offset = off + 1;
      return buf[off] !== 0;
    case 0x62: // b
      need(buf, off, 1, end);
      r.offset = off + 1;
      return buf.readInt8(off);
    case 0x42: // B
      need(buf, off, 1, end);
      r.offset = off + 1;
      return buf[off];
    case 0x73: // s
      need(buf, off, 2, end);
      r.offset = off + 2;
      return buf.readInt16BE(off);
    case 0x75: // u
      need(buf, off, 2, end);
      r.offset = off + 2;
      return buf.readUInt16BE(off);
    case 0x49: // I
      need(buf, off, 4, end);
      r.offset = off + 4;
      return buf.readInt32BE(off);
    case 0x69: // i
      need(buf, off, 4, end);
      r.offset = off + 4;
      return buf.readUInt32BE(off);
    case 0x6c: {
      // l
      need(buf, off, 8, end);
      r.offset = off + 8;
      const v = buf.readBigInt64BE(off);
      return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
    }
    case 0x66: // f
      need(buf, off, 4, end);
      r.offset = off + 4;
      return buf.readFloatBE(off);
    case 0x64: // d
      need(buf, off, 8, end);
      r.offset = off + 8;
      return buf.readDoubleBE(off);
    case 0x44: // D
      need(buf, off, 5, end);
      r.offset = off + 5;
      return buf.readUInt32BE(off + 1) / 10 ** buf[off];
    case 0x53: // S
    case 0x78: {
      // x
      need(buf, off, 4, end);
      const len = buf.readUInt32BE(off);
      need(buf, off + 4, len, end);
      r.offset = off + 4 + len;
      return type === 0x53
        ? buf.toString('utf8', off + 4, off + 4 + len)
        : buf.subarray(off + 4, off + 4 + len);
    }
    case 0x54: {
      // T
      need(buf, off, 8, end);
      r.offset = off + 8;
      const v = buf.readBigUInt64BE(off);
      return v <= BigInt(MAX_DATE_SECONDS) ? new Date(Number(v) * 1000) : new TypedValue('T', v);
    }
    case 0x41: // A
      return readArray(buf, r, depth + 1, end);
    case 0x46: {
      // F
      need(buf, off, 4, end);
      const len = buf.readUInt32BE(off);
      need(buf, off + 4, len, end);
      r.offset = off + 4;
      return readTableBody(buf, r, off + 4 + len, depth + 1);
    }
    case 0x56: // V
      return null;
    default:
      throw syntaxError(`unknown field table type 0x${type.toString(16)} at byte ${off - 1}`);
  }
}

/**
 * Encoding infers the type: string → S, boolean → t, integer number → I if it fits int32 else l,
 * other number → d, bigint → l, Buffer → x, Date → T (whole seconds), array → A, object → F,
 * null/undefined → V, TypedValue → its type.
 */
export function encodeTable(table: FieldTable): Buffer {
  const w = new Writer();
  writeTable(w, table, 0);
  return w.finish();
}

/** Appends a table (u32 length + entries) to a Writer. */
export function writeTable(w: Writer, table: FieldTable, depth: number): void {
  if (depth >= MAX_TABLE_DEPTH) throw syntaxError(`field table nested deeper than ${MAX_TABLE_DEPTH}`);
  w.ensure(4);
  const lenAt = w.offset;
  w.offset += 4;
  for (const key of Object.keys(table)) {
    w.shortstr(key);
    writeValue(w, table[key], depth);
  }
  w.buf.writeUInt32BE(w.offset - lenAt - 4, lenAt);
}

function writeArray(w: Writer, arr: readonly FieldValue[], depth: number): void {
  if (depth >= MAX_TABLE_DEPTH) throw syntaxError(`field array nested deeper than ${MAX_TABLE_DEPTH}`);
  w.ensure(4);
  const lenAt = w.offset;
  w.offset += 4;
  for (const v of arr) writeValue(w, v, depth);
  w.buf.writeUInt32BE(w.offset - lenAt - 4, lenAt);
}

function writeValue(w: Writer, v: FieldValue, depth: number): void {
  switch (typeof v) {
    case 'string':
      w.u8(0x53);
      w.longstr(v);
      return;
    case 'boolean':
      w.u8(0x74);
      w.u8(v ? 1 : 0);
      return;
    case 'number':
      if (Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff) writeTyped(w, 'I', v);
      else if (Number.isSafeInteger(v)) writeTyped(w, 'l', v);
      else writeTyped(w, 'd', v);
      return;
    case 'bigint':
      writeTyped(w, 'l', v);
      return;
    case 'undefined':
      w.u8(0x56);
      return;
    case 'object':
      if (v === null) w.u8(0x56);
      else if (v instanceof TypedValue) writeTyped(w, v.type, v.value);
      else if (Buffer.isBuffer(v)) {
        w.u8(0x78);
        w.longstr(v);
      } else if (v instanceof Date) writeTyped(w, 'T', Math.floor(v.getTime() / 1000));
      else if (Array.isArray(v)) {
        w.u8(0x41);
        writeArray(w, v, depth + 1);
      } else {
        w.u8(0x46);
        writeTable(w, v as FieldTable, depth + 1);
      }
      return;
    default:
      throw new TypeError(`cannot encode ${typeof v} in a field table`);
  }
}

function writeTyped(w: Writer, type: FieldTypeCode, v: TypedValue['value']): void {
  w.ensure(9);
  const b = w.buf;
  b[w.offset++] = type.charCodeAt(0);
  switch (type) {
    case 't':
      b[w.offset++] = v ? 1 : 0;
      return;
    case 'b':
      w.offset = b.writeInt8(Number(v), w.offset);
      return;
    case 'B':
      w.offset = b.writeUInt8(Number(v), w.offset);
      return;
    case 's':
      w.offset = b.writeInt16BE(Number(v), w.offset);
      return;
    case 'u':
      w.offset = b.writeUInt16BE(Number(v), w.offset);
      return;
    case 'I':
      w.offset = b.writeInt32BE(Number(v), w.offset);
      return;
    case 'i':
      w.offset = b.writeUInt32BE(Number(v), w.offset);
      return;
    case 'l':
      w.offset = b.writeBigInt64BE(BigInt(v as number | bigint), w.offset);
      return;
    case 'f':
      w.offset = b.writeFloatBE(Number(v), w.offset);
      return;
    case 'd':
      w.offset = b.writeDoubleBE(Number(v), w.offset);
      return;
    case 'T':
      w.offset = b.writeBigUInt64BE(BigInt(v as number | bigint), w.offset);
      return;
    case 'S':
    case 'x':
      w.longstr(typeof v === 'string' || Buffer.isBuffer(v) ? v : String(v));
      return;
    case 'V':
      return;
    default:
      throw new TypeError(`unknown field type ${type}`);
  }
}
