/**
 * A stream entry as a log record (record-format.ts framing). The payload is
 *
 *   u32 LE offset low | u32 LE offset high | u32 LE offset count | f64 LE timestamp ms | body
 *
 * and the record type says what the body is: STREAM_MESSAGE_TYPE, an AMQP message in the
 * message-record encoding; STREAM_RAW_TYPE, bytes stored as sent (a Kafka record batch).
 */
import type { StreamEntry } from '../../core/stream/stream-store.js';
import { crc32c, crc32cCombine } from '../../util/crc32c.js';
import { decodeMessageRecord, encodeMessageRecord, messageRecordLength } from '../message-record.js';
import { RECORD_HEADER_BYTES, writeRecordHeader } from '../record-format.js';

export const STREAM_MESSAGE_TYPE = 1;
export const STREAM_RAW_TYPE = 2;
export const STREAM_ENTRY_HEADER_BYTES = 20;
const TWO_POW_32 = 2 ** 32;

/** Payload length of the record for `entry`. */
export function streamRecordPayloadLength(entry: StreamEntry): number {
  const body = entry.message ? messageRecordLength(entry.message) : entry.payload.length;
  return STREAM_ENTRY_HEADER_BYTES + body;
}

/** Writes the whole record (header included) for `entry` at buf[offset ..]. */
export function encodeStreamRecord(
  buf: Buffer,
  offset: number,
  entry: StreamEntry,
  payloadLength: number,
): void {
  let p = offset + RECORD_HEADER_BYTES;
  p = buf.writeUInt32LE(entry.offset % TWO_POW_32, p);
  p = buf.writeUInt32LE(Math.floor(entry.offset / TWO_POW_32), p);
  p = buf.writeUInt32LE(entry.offsetCount, p);
  p = buf.writeDoubleLE(entry.timestampMs, p);
  if (entry.message) encodeMessageRecord(buf, p, entry.message);
  else entry.payload.copy(buf, p);
  const tail = entry.message ? undefined : entry.payloadTailCrc;
  if (!tail || tail.from < 0 || tail.from > entry.payload.length) {
    writeRecordHeader(buf, offset, entry.message ? STREAM_MESSAGE_TYPE : STREAM_RAW_TYPE, payloadLength);
    return;
  }
  // The payload's tail CRC is known (a Kafka batch's, checked at Produce): the record CRC combines
  // it with the CRC of what precedes it instead of reading those bytes again.
  buf.writeUInt32LE(payloadLength, offset);
  buf[offset + 8] = STREAM_RAW_TYPE;
  const head = crc32c(buf, 0, offset + 8, p + tail.from);
  buf.writeUInt32LE(crc32cCombine(head, tail.crc, entry.payload.length - tail.from), offset + 4);
}

/** The fixed part of a stream record, read without decoding the body. */
export interface StreamRecordHeader {
  readonly offset: number;
  readonly offsetCount: number;
  readonly timestampMs: number;
}

/** Reads the entry header from a record payload at buf[start ..]; undefined if too short. */
export function readStreamRecordHeader(
  buf: Buffer,
  start: number,
  end: number,
): StreamRecordHeader | undefined {
  if (end - start < STREAM_ENTRY_HEADER_BYTES) return undefined;
  return {
    offset: buf.readUInt32LE(start) + buf.readUInt32LE(start + 4) * TWO_POW_32,
    offsetCount: buf.readUInt32LE(start + 8),
    timestampMs: buf.readDoubleLE(start + 12),
  };
}

/**
 * Decodes a record payload into an entry whose Buffers are slices of `buf` (the caller gives each
 * read its own buffer, so the slices stay valid).
 */
export function decodeStreamRecord(type: number, buf: Buffer, start: number, end: number): StreamEntry {
  const header = readStreamRecordHeader(buf, start, end);
  if (!header) throw new Error('stream record too short');
  const body = buf.subarray(start + STREAM_ENTRY_HEADER_BYTES, end);
  if (type === STREAM_MESSAGE_TYPE) {
    const { message } = decodeMessageRecord(body, false);
    return { ...header, message, payload: message.body! };
  }
  return { ...header, message: undefined, payload: body };
}
