/**
 * Decodes the records of a stored v2 batch for readers that are not Kafka clients (an AMQP stream
 * view of a topic partition, timestamp lookups, the management API's peek). Keys, values and headers
 * are views of the batch, or of its decompressed records section when the batch is compressed.
 */

import { decompressRecords } from './compression.js';
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
 * with offsets baseOffset + offsetDelta. A compressed batch is decompressed first (compression.ts).
 * A malformed batch (it passed validation, so only damaged storage or a client's bad compressed
 * payload can do this) throws MalformedRecords.
 */
export function* decodeRecords(batch: Buffer): Generator<DecodedRecord> {
  if (batch.length < BATCH_HEADER_BYTES) throw new MalformedRecords('a record batch is at least 61 bytes');
  const attributes = batch.readInt16BE(BatchOffset.attributes);
  const codec = attributes & ATTR_COMPRESSION_MASK;
  const baseOffset = Number(batch.readBigInt64BE(BatchOffset.baseOffset));
  const baseTimestampMs = Number(batch.readBigInt64BE(BatchOffset.baseTimestamp));
  const appendTimeMs =
    attributes & ATTR_LOG_APPEND_TIME ? Number(batch.readBigInt64BE(BatchOffset.maxTimestamp)) : undefined;
  const count = batch.readInt32BE(BatchOffset.recordCount);
  const end = BatchOffset.batchLength + 4 + batch.readInt32BE(BatchOffset.batchLength);
  if (end > batch.length) throw new MalformedRecords('batchLength runs past the stored batch');
  let records = batch;
  let start = BATCH_HEADER_BYTES;
  let recordsEnd = end;
  if (codec !== 0) {
    try {
      records = decompressRecords(codec, batch.subarray(BATCH_HEADER_BYTES, end));
    } catch (error) {
      throw new MalformedRecords((error as Error).message);
    }
    start = 0;
    recordsEnd = records.length;
  }
  const cursor = new RecordCursor(records, start, recordsEnd);
  for (let i = 0; i < count; i++) {
    cursor.end = recordsEnd;
    const length = cursor.varint();
    if (length < 0 || length > recordsEnd - cursor.pos)
      throw new MalformedRecords(`record ${i} length ${length}`);
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
