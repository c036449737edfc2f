/**
 * Produce v0-2 carries the old message formats (magic 0 and 1, "message sets"); Kafka 3.x accepts
 * them and up-converts to record batches (message format v2), and so does Pier: each request's
 * message set becomes one uncompressed v2 batch before the usual validation and append.
 *
 * Pier answers Produce from v0 for this reason too: librdkafka before 2.11.1 (Debian's 2.0.2,
 * kcat, confluent-kafka) enables gzip, snappy and lz4 only when the broker's Produce range includes
 * v0 (its rd_kafka_msgset_writer checks `Produce 0..0` for them), so a broker answering only v3+
 * would silently get uncompressed batches from it (librdkafka #4948, #4956, fixed by #5130).
 *
 * Layout (KIP-32 for magic 1): [offset i64, size i32, crc u32 (CRC-32 of the rest), magic i8,
 * attributes i8 (codec in bits 0-2; bit 3 LogAppendTime, magic 1), timestamp i64 (magic 1 only),
 * key bytes (i32 length, -1 null), value bytes]. A compressed message's value is a compressed inner
 * message set (with relative inner offsets in magic 1).
 */
import { crc32 } from 'node:zlib';
import { CompressionError, decompressRecords } from './compression.js';
import { KafkaError } from './error-codes.js';
import { encodeRecordBatch, type RecordInput } from './record-batch-encoder.js';

export interface LegacyConversionError {
  readonly errorCode: number;
  readonly message: string;
}

const LOG_OVERHEAD_BYTES = 12;
const ATTR_CODEC_MASK = 0x07;
const ATTR_LOG_APPEND_TIME = 0x08;
/** No timestamp (magic 0 has none). */
const NO_TIMESTAMP = -1;

/** The records of a legacy message set as one v2 batch, or the error Kafka answers. */
export function upConvertMessageSet(records: Buffer): Buffer | LegacyConversionError {
  try {
    const out: RecordInput[] = [];
    readMessageSet(records, out, 0);
    if (out.length === 0) return corrupt('the message set holds no message');
    return encodeRecordBatch({ records: out, baseTimestampMs: out[0]!.timestampMs });
  } catch (error) {
    if (error instanceof LegacyFormatError) return { errorCode: error.errorCode, message: error.message };
    throw error;
  }
}

class LegacyFormatError extends Error {
  constructor(
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
  }
}

function corrupt(message: string): LegacyConversionError {
  return { errorCode: KafkaError.CORRUPT_MESSAGE, message };
}

function readMessageSet(set: Buffer, out: RecordInput[], depth: number): void {
  let p = 0;
  while (p < set.length) {
    if (p + LOG_OVERHEAD_BYTES > set.length)
      throw new LegacyFormatError(KafkaError.CORRUPT_MESSAGE, 'a truncated message');
    const size = set.readInt32BE(p + 8);
    const start = p + LOG_OVERHEAD_BYTES;
    const end = start + size;
    if (size < 14 || end > set.length) {
      throw new LegacyFormatError(
        KafkaError.CORRUPT_MESSAGE,
        `a message of ${size} bytes past the end of the set`,
      );
    }
    readMessage(set.subarray(start, end), out, depth);
    p = end;
  }
}

function readMessage(message: Buffer, out: RecordInput[], depth: number): void {
  const storedCrc = message.readUInt32BE(0);
  if (crc32(message.subarray(4)) !== storedCrc) {
    throw new LegacyFormatError(KafkaError.CORRUPT_MESSAGE, 'a message whose CRC does not match its bytes');
  }
  const magic = message.readInt8(4);
  if (magic !== 0 && magic !== 1) {
    throw new LegacyFormatError(
      KafkaError.INVALID_RECORD,
      `Produce v0-2 carries message format v0 or v1, not magic ${magic}; send magic 2 batches with Produce v3+`,
    );
  }
  const attributes = message.readInt8(5);
  let p = 6;
  let timestampMs = NO_TIMESTAMP;
  if (magic === 1) {
    timestampMs = Number(message.readBigInt64BE(p));
    p += 8;
  }
  const key = readBytes(message, p);
  p = key.next;
  const value = readBytes(message, p);
  if (value.next !== message.length)
    throw new LegacyFormatError(KafkaError.CORRUPT_MESSAGE, 'a message longer than its fields');
  const codec = attributes & ATTR_CODEC_MASK;
  if (codec === 0) {
    out.push({ key: key.bytes, value: value.bytes, timestampMs });
    return;
  }
  // A wrapper: its value is a compressed message set, one level deep.
  if (depth > 0 || value.bytes === null) {
    throw new LegacyFormatError(
      KafkaError.CORRUPT_MESSAGE,
      'a compressed message inside a compressed message',
    );
  }
  let inner: Buffer;
  try {
    inner = decompressRecords(codec, value.bytes);
  } catch (error) {
    if (error instanceof CompressionError)
      throw new LegacyFormatError(KafkaError.CORRUPT_MESSAGE, error.message);
    throw error;
  }
  const first = out.length;
  readMessageSet(inner, out, depth + 1);
  // LogAppendTime on the wrapper (magic 1) stands for every inner message's time.
  if (magic === 1 && attributes & ATTR_LOG_APPEND_TIME) {
    for (let i = first; i < out.length; i++) out[i] = { ...out[i]!, timestampMs };
  }
}

function readBytes(message: Buffer, p: number): { bytes: Buffer | null; next: number } {
  if (p + 4 > message.length)
    throw new LegacyFormatError(KafkaError.CORRUPT_MESSAGE, 'a truncated message field');
  const length = message.readInt32BE(p);
  if (length === -1) return { bytes: null, next: p + 4 };
  if (length < 0 || p + 4 + length > message.length) {
    throw new LegacyFormatError(
      KafkaError.CORRUPT_MESSAGE,
      `a field of ${length} bytes past the end of its message`,
    );
  }
  return { bytes: message.subarray(p + 4, p + 4 + length), next: p + 4 + length };
}
