/**
 * Records of the SQS log shared by all queues (framed and CRC-protected by record-format.ts):
 *
 *   SQS_MESSAGE (type 1): u8 format version (2) | string: queue id | u16 LE presence flags | f64 LE sentAtMs
 *     | f64 LE visibleFromMs | f64 LE firstReceivedAtMs | u32 LE receiveCount | u32 LE sizeBytes
 *     | strings: messageId, body, bodyMd5, senderId, then each optional string whose flag is set
 *     | [attribute map: messageAttributes] | [attribute map: systemAttributes]
 *   SQS_RECEIVE (type 2): f64 LE message segment id | u32 LE message position | u32 LE receiveCount
 *     | f64 LE firstReceivedAtMs
 *   SQS_MESSAGE_COPY (type 3): f64 LE segment id | u32 LE position of the message's first record
 *     (SQS_MESSAGE) | an SQS_MESSAGE payload. Relocation's copy of a message record (a copy of a
 *     copy names the same first record): recovery, finding older records of the message too (a
 *     crash before they were acked), keeps the newest copy, without remembering message ids.
 *
 * String: u32 LE byte length | UTF-8. Attribute map: u32 LE entry count, then per entry: name
 * string | DataType string | u8 value kinds (1 string, 2 binary, 4 string list, 8 binary list)
 * | the values in that order (binary: u32 LE length | bytes; list: u32 LE count | items).
 */
import type { SqsAttributeMap, SqsAttributeValue, SqsMessage } from '../../core/sqs/message.js';

export const SQS_MESSAGE_RECORD_TYPE = 1;
export const SQS_RECEIVE_RECORD_TYPE = 2;
export const SQS_RECEIVE_RECORD_BYTES = 24;
export const SQS_MESSAGE_COPY_RECORD_TYPE = 3;
/** The first record's location before the SQS_MESSAGE payload of a copy record. */
export const SQS_COPY_HEADER_BYTES = 12;

const FORMAT_VERSION = 2;
/** After the queue id prefix. */
const FIXED_BYTES = 2 + 8 + 8 + 8 + 4 + 4;

const HAS_ATTRIBUTES_MD5 = 1;
const HAS_SYSTEM_ATTRIBUTES_MD5 = 2;
const HAS_GROUP_ID = 4;
const HAS_DEDUP_ID = 8;
const HAS_SEQUENCE_NUMBER = 16;
const HAS_DEAD_LETTER_SOURCE = 32;
const HAS_ATTRIBUTES = 64;
const HAS_SYSTEM_ATTRIBUTES = 128;

const KIND_STRING = 1;
const KIND_BINARY = 2;
const KIND_STRING_LIST = 4;
const KIND_BINARY_LIST = 8;

function flagsOf(m: SqsMessage): number {
  return (
    (m.messageAttributesMd5 !== undefined ? HAS_ATTRIBUTES_MD5 : 0) |
    (m.systemAttributesMd5 !== undefined ? HAS_SYSTEM_ATTRIBUTES_MD5 : 0) |
    (m.messageGroupId !== undefined ? HAS_GROUP_ID : 0) |
    (m.deduplicationId !== undefined ? HAS_DEDUP_ID : 0) |
    (m.sequenceNumber !== undefined ? HAS_SEQUENCE_NUMBER : 0) |
    (m.deadLetterSourceArn !== undefined ? HAS_DEAD_LETTER_SOURCE : 0) |
    (m.messageAttributes !== undefined ? HAS_ATTRIBUTES : 0) |
    (m.systemAttributes !== undefined ? HAS_SYSTEM_ATTRIBUTES : 0)
  );
}

function stringBytes(s: string | undefined): number {
  return s === undefined ? 0 : 4 + Buffer.byteLength(s);
}

function mapBytes(map: SqsAttributeMap | undefined): number {
  if (map === undefined) return 0;
  let n = 4;
  for (const name in map) {
    const v = map[name]!;
    n += stringBytes(name) + stringBytes(v.DataType) + 1;
    if (v.StringValue !== undefined) n += stringBytes(v.StringValue);
    if (v.BinaryValue !== undefined) n += 4 + v.BinaryValue.length;
    if (v.StringListValues !== undefined) {
      n += 4;
      for (const s of v.StringListValues) n += stringBytes(s);
    }
    if (v.BinaryListValues !== undefined) {
      n += 4;
      for (const b of v.BinaryListValues) n += 4 + b.length;
    }
  }
  return n;
}

/**
 * The first bytes of every SQS_MESSAGE record of queue `queueId` (format version and queue id):
 * encoded once per queue and copied into each record.
 */
export function sqsMessageRecordPrefix(queueId: string): Buffer {
  const id = Buffer.from(queueId, 'utf8');
  const prefix = Buffer.allocUnsafe(1 + 4 + id.length);
  prefix[0] = FORMAT_VERSION;
  prefix.writeUInt32LE(id.length, 1);
  id.copy(prefix, 5);
  return prefix;
}

/** Payload size of `message`'s SQS_MESSAGE record, `prefix` (sqsMessageRecordPrefix) included. */
export function sqsMessageRecordLength(prefix: Buffer, m: SqsMessage): number {
  return (
    prefix.length +
    FIXED_BYTES +
    stringBytes(m.messageId) +
    stringBytes(m.body) +
    stringBytes(m.bodyMd5) +
    stringBytes(m.senderId) +
    stringBytes(m.messageAttributesMd5) +
    stringBytes(m.systemAttributesMd5) +
    stringBytes(m.messageGroupId) +
    stringBytes(m.deduplicationId) +
    stringBytes(m.sequenceNumber) +
    stringBytes(m.deadLetterSourceArn) +
    mapBytes(m.messageAttributes) +
    mapBytes(m.systemAttributes)
  );
}

function writeString(buf: Buffer, p: number, s: string | undefined): number {
  if (s === undefined) return p;
  const n = s.length === 0 ? 0 : buf.write(s, p + 4, 'utf8');
  buf.writeUInt32LE(n, p);
  return p + 4 + n;
}

function writeBytes(buf: Buffer, p: number, b: Uint8Array): number {
  buf.writeUInt32LE(b.length, p);
  buf.set(b, p + 4);
  return p + 4 + b.length;
}

function writeMap(buf: Buffer, p: number, map: SqsAttributeMap | undefined): number {
  if (map === undefined) return p;
  const countAt = p;
  p += 4;
  let count = 0;
  for (const name in map) {
    const v = map[name]!;
    count++;
    p = writeString(buf, p, name);
    p = writeString(buf, p, v.DataType);
    buf[p++] =
      (v.StringValue !== undefined ? KIND_STRING : 0) |
      (v.BinaryValue !== undefined ? KIND_BINARY : 0) |
      (v.StringListValues !== undefined ? KIND_STRING_LIST : 0) |
      (v.BinaryListValues !== undefined ? KIND_BINARY_LIST : 0);
    p = writeString(buf, p, v.StringValue);
    if (v.BinaryValue !== undefined) p = writeBytes(buf, p, v.BinaryValue);
    if (v.StringListValues !== undefined) {
      p = buf.writeUInt32LE(v.StringListValues.length, p);
      for (const s of v.StringListValues) p = writeString(buf, p, s);
    }
    if (v.BinaryListValues !== undefined) {
      p = buf.writeUInt32LE(v.BinaryListValues.length, p);
      for (const b of v.BinaryListValues) p = writeBytes(buf, p, b);
    }
  }
  buf.writeUInt32LE(count, countAt);
  return p;
}

/** Writes `m` at buf[offset, offset + sqsMessageRecordLength(prefix, m)); returns the end. */
export function encodeSqsMessageRecord(buf: Buffer, offset: number, prefix: Buffer, m: SqsMessage): number {
  buf.set(prefix, offset);
  let p = offset + prefix.length;
  p = buf.writeUInt16LE(flagsOf(m), p);
  p = buf.writeDoubleLE(m.sentAtMs, p);
  p = buf.writeDoubleLE(m.visibleFromMs, p);
  p = buf.writeDoubleLE(m.firstReceivedAtMs, p);
  p = buf.writeUInt32LE(m.receiveCount, p);
  p = buf.writeUInt32LE(m.sizeBytes, p);
  p = writeString(buf, p, m.messageId);
  p = writeString(buf, p, m.body);
  p = writeString(buf, p, m.bodyMd5);
  p = writeString(buf, p, m.senderId);
  p = writeString(buf, p, m.messageAttributesMd5);
  p = writeString(buf, p, m.systemAttributesMd5);
  p = writeString(buf, p, m.messageGroupId);
  p = writeString(buf, p, m.deduplicationId);
  p = writeString(buf, p, m.sequenceNumber);
  p = writeString(buf, p, m.deadLetterSourceArn);
  p = writeMap(buf, p, m.messageAttributes);
  return writeMap(buf, p, m.systemAttributes);
}

/** Sequential reader that throws RangeError on a field running past the payload. */
class Reader {
  p = 0;
  constructor(private readonly buf: Buffer) {}

  private need(n: number): void {
    if (this.p + n > this.buf.length) throw new RangeError('SQS message record is truncated');
  }
  u8(): number {
    this.need(1);
    return this.buf[this.p++]!;
  }
  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16LE(this.p);
    this.p += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.p);
    this.p += 4;
    return v;
  }
  f64(): number {
    this.need(8);
    const v = this.buf.readDoubleLE(this.p);
    this.p += 8;
    return v;
  }
  string(): string {
    const n = this.u32();
    this.need(n);
    const s = this.buf.toString('utf8', this.p, this.p + n);
    this.p += n;
    return s;
  }
  skipString(): void {
    const n = this.u32();
    this.need(n);
    this.p += n;
  }
  optionalString(present: boolean): string | undefined {
    return present ? this.string() : undefined;
  }
  /** A copy: the payload may sit in a reused read buffer. */
  bytes(): Uint8Array {
    const n = this.u32();
    this.need(n);
    const out = new Uint8Array(n);
    out.set(this.buf.subarray(this.p, this.p + n));
    this.p += n;
    return out;
  }
  map(): SqsAttributeMap {
    const count = this.u32();
    const map: Record<string, SqsAttributeValue> = {};
    for (let i = 0; i < count; i++) {
      const name = this.string();
      const value: SqsAttributeValue = { DataType: this.string() };
      const kinds = this.u8();
      if (kinds & KIND_STRING) value.StringValue = this.string();
      if (kinds & KIND_BINARY) value.BinaryValue = this.bytes();
      if (kinds & KIND_STRING_LIST) {
        const n = this.u32();
        const list: string[] = [];
        for (let j = 0; j < n; j++) list.push(this.string());
        value.StringListValues = list;
      }
      if (kinds & KIND_BINARY_LIST) {
        const n = this.u32();
        const list: Uint8Array[] = [];
        for (let j = 0; j < n; j++) list.push(this.bytes());
        value.BinaryListValues = list;
      }
      map[name] = value;
    }
    return map;
  }
}

export interface SqsMessageRecord {
  readonly queueId: string;
  readonly message: SqsMessage;
}

/**
 * Decodes an SQS_MESSAGE payload (storageRef left undefined). Throws on a payload that does not
 * hold a whole record of a known format version (the CRC makes that a bug, not a torn write).
 */
export function decodeSqsMessageRecord(payload: Buffer): SqsMessageRecord {
  const r = new Reader(payload);
  const version = r.u8();
  if (version !== FORMAT_VERSION) throw new RangeError(`unknown SQS message record version ${version}`);
  const queueId = r.string();
  const flags = r.u16();
  const sentAtMs = r.f64();
  const visibleFromMs = r.f64();
  const firstReceivedAtMs = r.f64();
  const receiveCount = r.u32();
  const sizeBytes = r.u32();
  const messageId = r.string();
  const body = r.string();
  const bodyMd5 = r.string();
  const senderId = r.string();
  const messageAttributesMd5 = r.optionalString((flags & HAS_ATTRIBUTES_MD5) !== 0);
  const systemAttributesMd5 = r.optionalString((flags & HAS_SYSTEM_ATTRIBUTES_MD5) !== 0);
  const messageGroupId = r.optionalString((flags & HAS_GROUP_ID) !== 0);
  const deduplicationId = r.optionalString((flags & HAS_DEDUP_ID) !== 0);
  const sequenceNumber = r.optionalString((flags & HAS_SEQUENCE_NUMBER) !== 0);
  const deadLetterSourceArn = r.optionalString((flags & HAS_DEAD_LETTER_SOURCE) !== 0);
  const messageAttributes = flags & HAS_ATTRIBUTES ? r.map() : undefined;
  const systemAttributes = flags & HAS_SYSTEM_ATTRIBUTES ? r.map() : undefined;
  const message: SqsMessage = {
    messageId,
    body,
    bodyMd5,
    messageAttributes,
    messageAttributesMd5,
    systemAttributes,
    systemAttributesMd5,
    sizeBytes,
    senderId,
    sentAtMs,
    messageGroupId,
    deduplicationId,
    sequenceNumber,
    deadLetterSourceArn,
    visibleFromMs,
    receiveCount,
    firstReceivedAtMs,
    storageRef: undefined,
  };
  return { queueId, message };
}

/** Writes an SQS_RECEIVE payload at buf[offset, offset + SQS_RECEIVE_RECORD_BYTES). */
export function encodeSqsReceiveRecord(
  buf: Buffer,
  offset: number,
  segmentId: number,
  position: number,
  receiveCount: number,
  firstReceivedAtMs: number,
): void {
  buf.writeDoubleLE(segmentId, offset);
  buf.writeUInt32LE(position, offset + 8);
  buf.writeUInt32LE(receiveCount, offset + 12);
  buf.writeDoubleLE(firstReceivedAtMs, offset + 16);
}

export interface SqsReceiveRecord {
  readonly segmentId: number;
  readonly position: number;
  readonly receiveCount: number;
  readonly firstReceivedAtMs: number;
}

export function decodeSqsReceiveRecord(payload: Buffer): SqsReceiveRecord | undefined {
  if (payload.length < SQS_RECEIVE_RECORD_BYTES) return undefined;
  return {
    segmentId: payload.readDoubleLE(0),
    position: payload.readUInt32LE(8),
    receiveCount: payload.readUInt32LE(12),
    firstReceivedAtMs: payload.readDoubleLE(16),
  };
}

/**
 * Sets the receive count and first-receive time inside an encoded SQS_MESSAGE payload (relocation
 * copies a record's bytes: the copy must carry the newest count, since recovery prefers the copy).
 */
export function setSqsMessageRecordReceives(
  payload: Buffer,
  receiveCount: number,
  firstReceivedAtMs: number,
): void {
  if (payload[0] !== FORMAT_VERSION) throw new RangeError(`unknown SQS message record version ${payload[0]}`);
  // version | u32 queue id length | queue id | u16 flags | f64 sentAtMs | f64 visibleFromMs | here
  const p = 1 + 4 + payload.readUInt32LE(1) + 2 + 8 + 8;
  payload.writeDoubleLE(firstReceivedAtMs, p);
  payload.writeUInt32LE(receiveCount, p + 8);
}

/** What recovery and the queue's index need of a message record, without its content. */
export interface SqsMessageSummary {
  queueId: string;
  sentAtMs: number;
  visibleFromMs: number;
  firstReceivedAtMs: number;
  receiveCount: number;
  sizeBytes: number;
  messageGroupId: string | undefined;
  sequenceNumber: string | undefined;
}

/**
 * Decodes the fixed fields, queue id, group id and sequence number of an SQS_MESSAGE payload
 * into `out` (the body and attributes are skipped, not copied). Throws as decodeSqsMessageRecord.
 */
export function decodeSqsMessageSummary(payload: Buffer, out: SqsMessageSummary): SqsMessageSummary {
  const r = new Reader(payload);
  const version = r.u8();
  if (version !== FORMAT_VERSION) throw new RangeError(`unknown SQS message record version ${version}`);
  out.queueId = r.string();
  const flags = r.u16();
  out.sentAtMs = r.f64();
  out.visibleFromMs = r.f64();
  out.firstReceivedAtMs = r.f64();
  out.receiveCount = r.u32();
  out.sizeBytes = r.u32();
  // messageId, body, bodyMd5, senderId, then the two optional digests.
  let skip = 4 + (flags & HAS_ATTRIBUTES_MD5 ? 1 : 0) + (flags & HAS_SYSTEM_ATTRIBUTES_MD5 ? 1 : 0);
  while (skip-- > 0) r.skipString();
  out.messageGroupId = r.optionalString((flags & HAS_GROUP_ID) !== 0);
  if (flags & HAS_DEDUP_ID) r.skipString();
  out.sequenceNumber = r.optionalString((flags & HAS_SEQUENCE_NUMBER) !== 0);
  return out;
}

/** The queue id of an SQS_MESSAGE payload, as its UTF-8 bytes (no string made). */
export function sqsMessageRecordQueueIdBytes(payload: Buffer): Buffer {
  if (payload[0] !== FORMAT_VERSION) throw new RangeError(`unknown SQS message record version ${payload[0]}`);
  if (payload.length < 5) throw new RangeError('SQS message record is truncated');
  const n = payload.readUInt32LE(1);
  if (5 + n > payload.length) throw new RangeError('SQS message record is truncated');
  return payload.subarray(5, 5 + n);
}
