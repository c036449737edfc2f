import { AmqpCodecError, syntaxError } from './errors.js';
import { decodeTableBody, type FieldTable, writeTable } from './field-table.js';
import { BASIC_CLASS_ID, BASIC_PROPERTY_SPECS, FieldKind, ReplyCode } from './spec.js';
import { Writer } from './writer.js';

export interface BasicProperties {
  contentType?: string;
  contentEncoding?: string;
  headers?: FieldTable;
  deliveryMode?: number;
  priority?: number;
  correlationId?: string;
  replyTo?: string;
  expiration?: string;
  messageId?: string;
  /** Seconds since the epoch, as on the wire. */
  timestamp?: number;
  type?: string;
  userId?: string;
  appId?: string;
  clusterId?: string;
}

export interface ContentHeader {
  classId: number;
  bodySizeBytes: number;
  /** Property flags and property values exactly as received, to be resent unchanged. */
  properties: Buffer;
}

const HEADER_PREFIX_BYTES = 12; // class-id(2) weight(2) body-size(8)
const PROPERTY_COUNT = BASIC_PROPERTY_SPECS.length;
// Property i's presence bit in the first flags word: bit 15 for the first property, downwards.
const flagOf = (index: number): number => 1 << (15 - index);
// Bits of the first word that name no basic property (bit 0 is the continuation flag).
const UNUSED_FLAG_BITS = (1 << (16 - PROPERTY_COUNT)) - 2;
const DELIVERY_MODE_INDEX = 3;
const PRIORITY_INDEX = 4;
const REPLY_TO_INDEX = 6;
const EXPIRATION_INDEX = 7;
const TWO_POW_32 = 4294967296;

/**
 * Decodes a content header frame payload. Property values are checked for well-formed lengths
 * (and the headers table fully) but kept raw. Throws 505 for a class other than basic, 502 for
 * malformed properties or a body size past 2^53.
 */
export function decodeContentHeader(payload: Buffer): ContentHeader {
  if (payload.length < HEADER_PREFIX_BYTES + 2) throw syntaxError('content header too short');
  const classId = payload.readUInt16BE(0);
  if (classId !== BASIC_CLASS_ID) {
    throw new AmqpCodecError(ReplyCode.UNEXPECTED_FRAME, `content header for unknown class ${classId}`);
  }
  const high = payload.readUInt32BE(4);
  if (high >= 0x200000) throw syntaxError('content body size too large');
  const bodySizeBytes = high * TWO_POW_32 + payload.readUInt32BE(8);
  const properties = payload.subarray(HEADER_PREFIX_BYTES);
  const end = walkProperties(properties, PROPERTY_COUNT, true);
  if (end !== properties.length) throw syntaxError('content header has bytes after its properties');
  return { classId, bodySizeBytes, properties };
}

/** Offset just past the flag words; throws on bits that name no property. */
function skipFlags(raw: Buffer): number {
  if (raw.length < 2) throw syntaxError('property flags truncated');
  let word = raw.readUInt16BE(0);
  if (word & UNUSED_FLAG_BITS) throw syntaxError('property flags name an unknown property');
  let off = 2;
  while (word & 1) {
    if (off + 2 > raw.length) throw syntaxError('property flags truncated');
    word = raw.readUInt16BE(off);
    off += 2;
    if (word & 0xfffe) throw syntaxError('property flags name an unknown property');
  }
  return off;
}

/**
 * Walks the present properties before index `stop` and returns the offset where property `stop`
 * would start (or the end of the properties when stop = PROPERTY_COUNT). Tables are skipped by
 * their length unless `validateTables`.
 */
function walkProperties(raw: Buffer, stop: number, validateTables: boolean): number {
  let off = skipFlags(raw);
  const flags = raw.readUInt16BE(0);
  const end = raw.length;
  for (let i = 0; i < stop; i++) {
    if ((flags & flagOf(i)) === 0) continue;
    const kind = BASIC_PROPERTY_SPECS[i][1];
    if (kind === FieldKind.SHORTSTR) {
      if (off + 1 > end || off + 1 + raw[off] > end) throw syntaxError('property string truncated');
      off += 1 + raw[off];
    } else if (kind === FieldKind.OCTET) {
      if (off + 1 > end) throw syntaxError('property truncated');
      off += 1;
    } else if (kind === FieldKind.TIMESTAMP) {
      if (off + 8 > end) throw syntaxError('property truncated');
      off += 8;
    } else {
      if (off + 4 > end) throw syntaxError('property table truncated');
      const len = raw.readUInt32BE(off);
      if (off + 4 + len > end) throw syntaxError('property table truncated');
      if (validateTables) decodeTableBody(raw, off + 4, off + 4 + len);
      off += 4 + len;
    }
  }
  return off;
}

/** Decodes raw properties (flags onward) into an object holding only the present properties. */
export function decodeProperties(raw: Buffer): BasicProperties {
  let off = skipFlags(raw);
  const flags = raw.readUInt16BE(0);
  const end = raw.length;
  const props: Record<string, unknown> = {};
  for (let i = 0; i < PROPERTY_COUNT; i++) {
    if ((flags & flagOf(i)) === 0) continue;
    const [name, kind] = BASIC_PROPERTY_SPECS[i];
    if (kind === FieldKind.SHORTSTR) {
      if (off + 1 > end || off + 1 + raw[off] > end) throw syntaxError('property string truncated');
      props[name!] = raw.toString('utf8', off + 1, off + 1 + raw[off]);
      off += 1 + raw[off];
    } else if (kind === FieldKind.OCTET) {
      if (off + 1 > end) throw syntaxError('property truncated');
      props[name!] = raw[off++];
    } else if (kind === FieldKind.TIMESTAMP) {
      if (off + 8 > end) throw syntaxError('property truncated');
      props[name!] = raw.readUInt32BE(off) * TWO_POW_32 + raw.readUInt32BE(off + 4);
      off += 8;
    } else {
      if (off + 4 > end) throw syntaxError('property table truncated');
      const len = raw.readUInt32BE(off);
      if (off + 4 + len > end) throw syntaxError('property table truncated');
      props[name!] = decodeTableBody(raw, off + 4, off + 4 + len);
      off += 4 + len;
    }
  }
  return props as BasicProperties;
}

/** Encodes properties to the raw form (flags word + present values); undefined means absent. */
export function encodeProperties(props: BasicProperties): Buffer {
  const w = new Writer(64);
  w.u16(0);
  let flags = 0;
  const values = props as Record<string, unknown>;
  for (let i = 0; i < PROPERTY_COUNT; i++) {
    const [name, kind] = BASIC_PROPERTY_SPECS[i];
    const v = values[name!];
    if (v === undefined) continue;
    flags |= flagOf(i);
    if (kind === FieldKind.SHORTSTR) w.shortstr(v as string);
    else if (kind === FieldKind.OCTET) w.u8(v as number);
    else if (kind === FieldKind.TIMESTAMP) w.u64(v as number);
    else writeTable(w, v as FieldTable, 0);
  }
  w.buf.writeUInt16BE(flags, 0);
  return w.finish();
}

/** delivery-mode (2 = persistent) without decoding other properties; 0 when absent. */
export function readDeliveryMode(raw: Buffer): number {
  if (raw.length < 2 || (raw.readUInt16BE(0) & flagOf(DELIVERY_MODE_INDEX)) === 0) return 0;
  const off = walkProperties(raw, DELIVERY_MODE_INDEX, false);
  if (off >= raw.length) throw syntaxError('property truncated');
  return raw[off];
}

/** priority, or undefined when absent. */
export function readPriority(raw: Buffer): number | undefined {
  if (raw.length < 2 || (raw.readUInt16BE(0) & flagOf(PRIORITY_INDEX)) === 0) return undefined;
  const off = walkProperties(raw, PRIORITY_INDEX, false);
  if (off >= raw.length) throw syntaxError('property truncated');
  return raw[off];
}

/** expiration (per-message TTL, a numeric string in milliseconds), or undefined when absent. */
export function readExpiration(raw: Buffer): string | undefined {
  return readShortString(raw, EXPIRATION_INDEX);
}

/** reply-to, or undefined when absent. */
export function readReplyTo(raw: Buffer): string | undefined {
  return readShortString(raw, REPLY_TO_INDEX);
}

function readShortString(raw: Buffer, index: number): string | undefined {
  if (raw.length < 2 || (raw.readUInt16BE(0) & flagOf(index)) === 0) return undefined;
  const off = walkProperties(raw, index, false);
  if (off >= raw.length || off + 1 + raw[off] > raw.length) throw syntaxError('property truncated');
  return raw.toString('utf8', off + 1, off + 1 + raw[off]);
}
