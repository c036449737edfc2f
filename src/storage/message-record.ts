/**
 * Encoding of a queued message in a queue log record (record type MESSAGE_RECORD_TYPE):
 *
 *   u8 flags (bit 0: persistent, bit 1: expires, bit 2: priority, bit 3: dedup id) | f64 LE publishedAtMs
 *   | [f64 LE expiresAtMs, when bit 1] | [u8 priority, when bit 2]
 *   | [f64 LE dedup id expiresAtMs (0 = never) | u32 LE id length | id (UTF-8), when bit 3]
 *   | u16 LE exchange length | exchange (UTF-8) | u16 LE routing key length | routing key (UTF-8)
 *   | u32 LE properties length | properties | body (the rest)
 *
 * The deduplication id sits before the body so that recovery can rebuild a queue's id set from
 * the record's first bytes (peekMessageRecord) without decoding the message.
 */

import type { StoredDedupId } from '../core/dedup-store.js';
import type { Message } from '../core/message.js';

export const MESSAGE_RECORD_TYPE = 1;
const FLAG_PERSISTENT = 1;
const FLAG_EXPIRES = 2;
const FLAG_PRIORITY = 4;
const FLAG_DEDUP = 8;
const FIXED_BYTES = 1 + 8 + 2 + 2 + 4;

/** A message as a queue stores it: with that queue's expiry time (0 = never). */
export interface StoredMessage {
  readonly message: Message;
  readonly expiresAtMs: number;
}

/** Bytes of the expiry and priority fields (the dedup id, when present, follows them). */
function optionalBytes(flags: number): number {
  return (flags & FLAG_EXPIRES ? 8 : 0) + (flags & FLAG_PRIORITY ? 1 : 0);
}

function flagsOf(message: Message, expiresAtMs: number, dedupId: StoredDedupId | undefined): number {
  return (
    (message.persistent ? FLAG_PERSISTENT : 0) |
    (expiresAtMs > 0 ? FLAG_EXPIRES : 0) |
    (message.priority > 0 ? FLAG_PRIORITY : 0) |
    (dedupId ? FLAG_DEDUP : 0)
  );
}

/** Payload size of `message`'s record. */
export function messageRecordLength(message: Message, expiresAtMs = 0, dedupId?: StoredDedupId): number {
  return (
    FIXED_BYTES +
    optionalBytes(flagsOf(message, expiresAtMs, dedupId)) +
    (dedupId ? 12 + Buffer.byteLength(dedupId.key) : 0) +
    Buffer.byteLength(message.exchange) +
    Buffer.byteLength(message.routingKey) +
    message.properties.length +
    message.bodySizeBytes
  );
}

/** Writes `message` at buf[offset, offset + messageRecordLength(message, expiresAtMs, dedupId)). */
export function encodeMessageRecord(
  buf: Buffer,
  offset: number,
  message: Message,
  expiresAtMs = 0,
  dedupId?: StoredDedupId,
): void {
  if (message.body === null) throw new Error('cannot store a message whose body is not loaded');
  let p = offset;
  const flags = flagsOf(message, expiresAtMs, dedupId);
  buf[p++] = flags;
  buf.writeDoubleLE(message.publishedAtMs, p);
  p += 8;
  if (flags & FLAG_EXPIRES) p = buf.writeDoubleLE(expiresAtMs, p);
  if (flags & FLAG_PRIORITY) buf[p++] = message.priority;
  if (dedupId) {
    p = buf.writeDoubleLE(dedupId.expiresAtMs, p);
    const n = dedupId.key.length === 0 ? 0 : buf.write(dedupId.key, p + 4, 'utf8');
    buf.writeUInt32LE(n, p);
    p += 4 + n;
  }
  p = writeShortString(buf, p, message.exchange);
  p = writeShortString(buf, p, message.routingKey);
  buf.writeUInt32LE(message.properties.length, p);
  p += 4;
  p += message.properties.copy(buf, p);
  message.body.copy(buf, p);
}

function writeShortString(buf: Buffer, p: number, s: string): number {
  const n = s.length === 0 ? 0 : buf.write(s, p + 2, 'utf8');
  if (n > 0xffff) throw new RangeError('string longer than 65535 bytes');
  buf.writeUInt16LE(n, p);
  return p + 2 + n;
}

/**
 * Decodes a record payload into a Message whose Buffers are copies (the payload may be reused),
 * or, with `copyBuffers` false, slices of the payload (for a payload read into its own buffer).
 */
export function decodeMessageRecord(payload: Buffer, copyBuffers = true): StoredMessage {
  let p = 0;
  const flags = payload[p++]!;
  const publishedAtMs = payload.readDoubleLE(p);
  p += 8;
  let expiresAtMs = 0;
  if (flags & FLAG_EXPIRES) {
    expiresAtMs = payload.readDoubleLE(p);
    p += 8;
  }
  const priority = flags & FLAG_PRIORITY ? payload[p++]! : 0;
  if (flags & FLAG_DEDUP) p += 12 + payload.readUInt32LE(p + 8);
  const exLen = payload.readUInt16LE(p);
  p += 2;
  const exchange = payload.toString('utf8', p, p + exLen);
  p += exLen;
  const rkLen = payload.readUInt16LE(p);
  p += 2;
  const routingKey = payload.toString('utf8', p, p + rkLen);
  p += rkLen;
  const propLen = payload.readUInt32LE(p);
  p += 4;
  const properties = copyBuffers ? copyOf(payload, p, p + propLen) : payload.subarray(p, p + propLen);
  p += propLen;
  const body = copyBuffers ? copyOf(payload, p, payload.length) : payload.subarray(p);
  const message: Message = {
    exchange,
    routingKey,
    properties,
    body,
    bodySizeBytes: body.length,
    persistent: (flags & FLAG_PERSISTENT) !== 0,
    publishedAtMs,
    priority,
  };
  return { message, expiresAtMs };
}

function copyOf(buf: Buffer, start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe(end - start);
  buf.copy(out, 0, start, end);
  return out;
}

/** What recovery needs from a record, read without decoding the message. */
export interface MessageRecordPeek {
  persistent: boolean;
  bodySizeBytes: number;
  /** The deduplication id stored with the message, if any. */
  dedupId: StoredDedupId | undefined;
}

/** Reads the flags, the dedup id and the body size (recovery, without decoding the message). */
export function peekMessageRecord(payload: Buffer): MessageRecordPeek | undefined {
  if (payload.length < FIXED_BYTES) return undefined;
  const flags = payload[0]!;
  let p = 9 + optionalBytes(flags);
  let dedupId: StoredDedupId | undefined;
  if (flags & FLAG_DEDUP) {
    if (p + 12 > payload.length) return undefined;
    const expiresAtMs = payload.readDoubleLE(p);
    const keyLength = payload.readUInt32LE(p + 8);
    p += 12;
    if (p + keyLength > payload.length) return undefined;
    dedupId = { key: payload.toString('utf8', p, p + keyLength), expiresAtMs };
    p += keyLength;
  }
  if (p + 4 > payload.length) return undefined;
  p += 2 + payload.readUInt16LE(p);
  if (p + 2 > payload.length) return undefined;
  p += 2 + payload.readUInt16LE(p);
  if (p + 4 > payload.length) return undefined;
  p += 4 + payload.readUInt32LE(p);
  if (p > payload.length) return undefined;
  return { persistent: (flags & FLAG_PERSISTENT) !== 0, bodySizeBytes: payload.length - p, dedupId };
}
