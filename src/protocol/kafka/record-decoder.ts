/**
 * Decodes the records of a stored, uncompressed v2 batch for readers that are not Kafka clients
 * (an AMQP stream view of a topic partition). Keys, values and headers are views of the batch.
 */
import {
  ATTR_COMPRESSION_MASK,
  ATTR_LOG_APPEND_TIME,
  BATCH_HEADER_BYTES,
  BatchOffset,
} from './record-batch.js';
import { MalformedRecords, RecordCursor } from './record-cursor.js';

export interface RecordHeader {
  /** UTF-8 on the wire (Kafka header keys are strings); left as bytes so nothing is copied. */
  readonly key: Buffer;
  readonly value: Buffer | null;
}

export interface DecodedRecord {
  readonly offset: number;
  /** Create time from the client, or the broker's append time for a LogAppendTime batch. */
  readonly timestampMs: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: RecordHeader[];
}

/**
 * Yields the records of one batch (`batch` starts at its baseOffset and ends after its last record),
 * with offsets baseOffset + offsetDelta. Compressed batches are refused: they are stored as sent and
 * decoding them needs the codecs, which are not here yet. A malformed batch (it passed validation,
 * so only damaged storage can do this) throws MalformedRecords.
 */
export function* decodeRecords(batch: Buffer): Generator<DecodedRecord> {
  if (batch.length < BATCH_HEADER_BYTES) throw new MalformedRecords('a record batch is at least 61 bytes');
  const attributes = batch.readInt16BE(BatchOffset.attributes);
  const codec = attributes & ATTR_COMPRESSION_MASK;
  if (codec !== 0) throw new MalformedRecords(`cannot decode a compressed batch (codec ${codec})`);
  const baseOffset = Number(batch.readBigInt64BE(BatchOffset.baseOffset));
  const baseTimestampMs = Number(batch.readBigInt64BE(BatchOffset.baseTimestamp));
  const appendTimeMs =
    attributes & ATTR_LOG_APPEND_TIME ? Number(batch.readBigInt64BE(BatchOffset.maxTimestamp)) : undefined;
  const count = batch.readInt32BE(BatchOffset.recordCount);
  const end = BatchOffset.batchLength + 4 + batch.readInt32BE(BatchOffset.batchLength);
  if (end > batch.length) throw new MalformedRecords('batchLength runs past the stored batch');
  const cursor = new RecordCursor(batch, BATCH_HEADER_BYTES, end);
  for (let i = 0; i < count; i++) {
    cursor.end = end;
    const length = cursor.varint();
    if (length < 0 || length > end - cursor.pos) throw new MalformedRecords(`record ${i} length ${length}`);
    const recordEnd = cursor.pos + length;
    cursor.end = recordEnd;
    cursor.int8();
    const timestampDelta = cursor.varlong();
    const offsetDelta = cursor.varint();
    const key = cursor.nullableBytes('key');
    const value = cursor.nullableBytes('value');
    const headerCount = cursor.varint();
    if (headerCount < 0) throw new MalformedRecords(`record ${i} header count ${headerCount}`);
    const headers: RecordHeader[] = [];
    for (let h = 0; h < headerCount; h++) {
      headers.push({ key: cursor.bytes('header key'), value: cursor.nullableBytes('header value') });
    }
    cursor.pos = recordEnd;
    yield {
      offset: baseOffset + offsetDelta,
      timestampMs: appendTimeMs ?? baseTimestampMs + timestampDelta,
      key,
      value,
      headers,
    };
  }
}
