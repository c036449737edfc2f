/**
 * Kafka record batches (magic v2) as Produce carries them and Fetch returns them: validation of a
 * partition's `records` field, offset assignment in place and the views Fetch and other protocols
 * need. Pure functions over Buffers; batches are stored and served exactly as the client sent them
 * (only baseOffset is rewritten, and the CRC does not cover it).
 *
 * Header (61 bytes, big-endian): baseOffset i64 @0, batchLength i32 @8 (bytes after this field),
 * partitionLeaderEpoch i32 @12, magic i8 @16, crc u32 @17 (CRC-32C of bytes 21..end), attributes
 * i16 @21, lastOffsetDelta i32 @23, baseTimestamp i64 @27, maxTimestamp i64 @35, producerId i64 @43,
 * producerEpoch i16 @51, baseSequence i32 @53, recordCount i32 @57, then the records.
 */
import { crc32c } from '../../util/crc32c.js';
import { MalformedRecords, RecordCursor } from './record-cursor.js';

export const BATCH_HEADER_BYTES = 61;
/** baseOffset + batchLength: the part of the header batchLength does not count. */
export const LOG_OVERHEAD_BYTES = 12;
/** The batch CRC covers bytes from here to the end (baseOffset, length, epoch and magic are outside it). */
export const CRC_START = 21;

export const BatchOffset = {
  baseOffset: 0,
  batchLength: 8,
  partitionLeaderEpoch: 12,
  magic: 16,
  crc: 17,
  attributes: 21,
  lastOffsetDelta: 23,
  baseTimestamp: 27,
  maxTimestamp: 35,
  producerId: 43,
  producerEpoch: 51,
  baseSequence: 53,
  recordCount: 57,
} as const;

/** Compression codec ids of attribute bits 0-2. */
export const COMPRESSION_NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
export type Compression = (typeof COMPRESSION_NAMES)[number];

export const ATTR_COMPRESSION_MASK = 0x07;
export const ATTR_LOG_APPEND_TIME = 0x08;
export const ATTR_TRANSACTIONAL = 0x10;
export const ATTR_CONTROL = 0x20;

/** The Kafka error codes a records field can be refused with (Produce partition responses). */
export const KafkaRecordError = {
  CORRUPT_MESSAGE: 2,
  MESSAGE_TOO_LARGE: 10,
  INVALID_REQUEST: 42,
  UNSUPPORTED_COMPRESSION_TYPE: 76,
  INVALID_RECORD: 87,
} as const;
export type KafkaRecordErrorCode = (typeof KafkaRecordError)[keyof typeof KafkaRecordError];

/**
 * Why a records field was refused: `errorCode` goes into the Produce partition response and
 * `message` into its error_message (Produce v8+).
 */
export class RecordBatchError extends Error {
  override readonly name = 'RecordBatchError';
  constructor(
    readonly errorCode: KafkaRecordErrorCode,
    message: string,
    /** Index of the offending batch in the records field. */
    readonly batchIndex: number,
  ) {
    super(message);
  }
}

/** One validated batch: where it lies in the records buffer and its header fields. */
export interface RecordBatchView {
  /** Byte range of the whole batch (from baseOffset through its last record) in the input. */
  readonly start: number;
  readonly end: number;
  readonly partitionLeaderEpoch: number;
  readonly crc: number;
  readonly attributes: number;
  readonly compression: Compression;
  /** True when attribute bit 3 says LogAppendTime (every record's timestamp is maxTimestamp). */
  readonly logAppendTime: boolean;
  readonly transactional: boolean;
  readonly control: boolean;
  readonly lastOffsetDelta: number;
  readonly baseTimestampMs: number;
  readonly maxTimestampMs: number;
  /** -1 when the producer is not idempotent. i64 on the wire; exact up to 2^53. */
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly recordCount: number;
}

export type RecordsValidation =
  | { readonly ok: true; readonly batches: RecordBatchView[]; readonly recordCount: number }
  | { readonly ok: false; readonly error: RecordBatchError };

export interface ValidateOptions {
  /** The topic's max.message.bytes: the largest batch accepted, log overhead included (as Kafka counts). */
  readonly maxMessageBytes: number;
  /**
   * The Produce request version, to apply Kafka's per-version rules: from v3 a partition carries
   * exactly one batch (INVALID_RECORD otherwise), below v7 zstd is UNSUPPORTED_COMPRESSION_TYPE.
   * Without it any number of concatenated batches is accepted.
   */
  readonly produceVersion?: number;
}

/**
 * Validates a Produce request's records field for one partition: one or more concatenated v2 batches.
 * Never throws; returns every batch's view, or the first problem with the Kafka error code to answer.
 *
 * Codes, following Kafka 3.x's broker (LogValidator, ProduceRequest.validateRecords):
 * - magic ≠ 2 → INVALID_RECORD. Produce v3+ may carry only v2 batches and Kafka refuses others with
 *   INVALID_RECORD; we advertise no Produce version below 3, so no client sends magic 0/1 (Kafka
 *   would convert them for Produce v0-2). kafkajs and librdkafka both have code 87 (INVALID_RECORD)
 *   and treat it as a permanent failure of the send (from their error tables; not yet seen live).
 * - bad CRC, batchLength below the header size → CORRUPT_MESSAGE.
 * - batch bigger than maxMessageBytes → MESSAGE_TOO_LARGE.
 * - truncated batch or bytes after the last batch → INVALID_REQUEST (Kafka silently drops a
 *   trailing partial batch; we refuse it so nothing a client sent is lost without an answer).
 * - records inconsistent with the header (count, offset deltas, record lengths), control batches
 *   from a client, unknown compression, empty records, several batches for Produce v3+ →
 *   INVALID_RECORD, as Kafka's validator does. A buggy client only: the CRC covers the records.
 * - zstd in Produce below v7 → UNSUPPORTED_COMPRESSION_TYPE.
 */
export function validateRecordBatches(records: Buffer, options: ValidateOptions): RecordsValidation {
  const batches: RecordBatchView[] = [];
  let recordCount = 0;
  let pos = 0;
  if (records.length === 0) {
    return fail(KafkaRecordError.INVALID_RECORD, 'the records field holds no record batch', 0);
  }
  while (pos < records.length) {
    const result = validateOneBatch(records, pos, batches.length, options);
    if (result instanceof RecordBatchError) return { ok: false, error: result };
    batches.push(result);
    recordCount += result.recordCount;
    pos = result.end;
  }
  const version = options.produceVersion;
  if (version !== undefined && version >= 3 && batches.length > 1) {
    return fail(
      KafkaRecordError.INVALID_RECORD,
      `Produce v${version} allows exactly one record batch per partition, this one has ${batches.length}`,
      1,
    );
  }
  if (version !== undefined && version < 7) {
    const zstd = batches.findIndex((b) => b.compression === 'zstd');
    if (zstd >= 0) {
      return fail(
        KafkaRecordError.UNSUPPORTED_COMPRESSION_TYPE,
        `zstd compression needs Produce v7 or later, the request is v${version}`,
        zstd,
      );
    }
  }
  return { ok: true, batches, recordCount };
}

function fail(code: KafkaRecordErrorCode, message: string, batchIndex: number): RecordsValidation {
  return { ok: false, error: new RecordBatchError(code, message, batchIndex) };
}

function validateOneBatch(
  buf: Buffer,
  start: number,
  index: number,
  options: ValidateOptions,
): RecordBatchView | RecordBatchError {
  const error = (code: KafkaRecordErrorCode, message: string) =>
    new RecordBatchError(code, `record batch ${index} at byte ${start}: ${message}`, index);
  const remaining = buf.length - start;
  if (remaining < LOG_OVERHEAD_BYTES) {
    return error(KafkaRecordError.INVALID_REQUEST, `${remaining} trailing bytes are not a record batch`);
  }
  const batchLength = buf.readInt32BE(start + BatchOffset.batchLength);
  // The magic byte sits at byte 16 in every message format, so it is checked before the v2 sizes.
  if (batchLength < BatchOffset.magic + 1 - LOG_OVERHEAD_BYTES) {
    return error(KafkaRecordError.CORRUPT_MESSAGE, `batchLength ${batchLength} is too small`);
  }
  const size = LOG_OVERHEAD_BYTES + batchLength;
  if (size > remaining) {
    return error(
      KafkaRecordError.INVALID_REQUEST,
      `batchLength ${batchLength} runs past the records field (${remaining - LOG_OVERHEAD_BYTES} bytes left)`,
    );
  }
  const magic = buf[start + BatchOffset.magic]!;
  if (magic !== 2) {
    return error(
      KafkaRecordError.INVALID_RECORD,
      `magic ${magic}: only record batch v2 (magic 2) is accepted; use a client that sends Produce v3 or later`,
    );
  }
  if (size < BATCH_HEADER_BYTES) {
    return error(
      KafkaRecordError.CORRUPT_MESSAGE,
      `batchLength ${batchLength} is shorter than the v2 header`,
    );
  }
  if (size > options.maxMessageBytes) {
    return error(
      KafkaRecordError.MESSAGE_TOO_LARGE,
      `the batch is ${size} bytes, more than max.message.bytes ${options.maxMessageBytes}`,
    );
  }
  const end = start + size;
  const crc = buf.readUInt32BE(start + BatchOffset.crc);
  const computed = crc32c(buf, 0, start + CRC_START, end);
  if (crc !== computed) {
    return error(
      KafkaRecordError.CORRUPT_MESSAGE,
      `CRC-32C is 0x${computed.toString(16)}, the batch says 0x${crc.toString(16)}`,
    );
  }
  const attributes = buf.readInt16BE(start + BatchOffset.attributes);
  const codec = attributes & ATTR_COMPRESSION_MASK;
  if (codec >= COMPRESSION_NAMES.length) {
    return error(KafkaRecordError.INVALID_RECORD, `unknown compression codec ${codec}`);
  }
  if (attributes & ATTR_CONTROL) {
    return error(KafkaRecordError.INVALID_RECORD, 'clients are not allowed to write control records');
  }
  const lastOffsetDelta = buf.readInt32BE(start + BatchOffset.lastOffsetDelta);
  const recordCount = buf.readInt32BE(start + BatchOffset.recordCount);
  if (recordCount <= 0 || lastOffsetDelta !== recordCount - 1) {
    return error(
      KafkaRecordError.INVALID_RECORD,
      `recordCount ${recordCount} does not match lastOffsetDelta ${lastOffsetDelta} (must be count - 1)`,
    );
  }
  if (codec === 0) {
    const problem = walkRecords(buf, start + BATCH_HEADER_BYTES, end, recordCount);
    if (problem) return error(KafkaRecordError.INVALID_RECORD, problem);
  }
  return {
    start,
    end,
    partitionLeaderEpoch: buf.readInt32BE(start + BatchOffset.partitionLeaderEpoch),
    crc,
    attributes,
    compression: COMPRESSION_NAMES[codec]!,
    logAppendTime: (attributes & ATTR_LOG_APPEND_TIME) !== 0,
    transactional: (attributes & ATTR_TRANSACTIONAL) !== 0,
    control: false,
    lastOffsetDelta,
    baseTimestampMs: Number(buf.readBigInt64BE(start + BatchOffset.baseTimestamp)),
    maxTimestampMs: Number(buf.readBigInt64BE(start + BatchOffset.maxTimestamp)),
    producerId: Number(buf.readBigInt64BE(start + BatchOffset.producerId)),
    producerEpoch: buf.readInt16BE(start + BatchOffset.producerEpoch),
    baseSequence: buf.readInt32BE(start + BatchOffset.baseSequence),
    recordCount,
  };
}

/**
 * Walks uncompressed records without building them: each must be exactly as long as its length
 * says, offset deltas must be 0, 1, 2, ... and there must be `count` records filling the batch.
 * Returns what is wrong, or undefined.
 */
function walkRecords(buf: Buffer, from: number, end: number, count: number): string | undefined {
  const cursor = new RecordCursor(buf, from, end);
  let i = 0;
  try {
    for (; i < count; i++) {
      if (cursor.pos >= end) return `the batch holds ${i} records, its header says ${count}`;
      cursor.end = end;
      const length = cursor.varint();
      if (length < 0 || length > end - cursor.pos) {
        return `record ${i} has length ${length}, ${end - cursor.pos} bytes remain in the batch`;
      }
      const recordEnd = cursor.pos + length;
      cursor.end = recordEnd;
      cursor.int8();
      cursor.varlong();
      const offsetDelta = cursor.varint();
      if (offsetDelta !== i) return `record ${i} has offsetDelta ${offsetDelta}, expected ${i}`;
      cursor.skipNullableBytes('key');
      cursor.skipNullableBytes('value');
      const headerCount = cursor.varint();
      if (headerCount < 0) return `record ${i} has a negative header count ${headerCount}`;
      for (let h = 0; h < headerCount; h++) {
        cursor.skipBytes('header key');
        cursor.skipNullableBytes('header value');
      }
      if (cursor.pos !== recordEnd) {
        return `record ${i} says ${length} bytes but its fields take ${length - (recordEnd - cursor.pos)}`;
      }
    }
  } catch (err) {
    if (err instanceof MalformedRecords) return `record ${i}: ${err.message}`;
    throw err;
  }
  if (cursor.pos !== end) return `${end - cursor.pos} bytes follow the last of ${count} records`;
  return undefined;
}

/**
 * Writes the batch's baseOffset in place (bytes 0..8, outside the CRC), so the stored bytes are
 * the client's with the broker's offsets. `batchStart` is the batch's first byte in `buf`.
 */
export function assignBaseOffset(buf: Buffer, batchStart: number, baseOffset: number): void {
  buf.writeBigInt64BE(BigInt(baseOffset), batchStart + BatchOffset.baseOffset);
}

/** Reads a stored batch's baseOffset (bytes 0..8). */
export function batchBaseOffset(batch: Buffer): number {
  return Number(batch.readBigInt64BE(BatchOffset.baseOffset));
}

/** The last offset a stored batch covers: baseOffset + lastOffsetDelta. */
export function batchLastOffset(batch: Buffer): number {
  return batchBaseOffset(batch) + batch.readInt32BE(BatchOffset.lastOffsetDelta);
}

/**
 * Stamps a validated batch (bytes start..end of `buf`) for a LogAppendTime topic, in place as Kafka
 * does: attribute bit 3 set, maxTimestamp = the broker's time, CRC recomputed. Readers then take
 * every record's timestamp from maxTimestamp.
 */
export function stampLogAppendTime(buf: Buffer, start: number, end: number, nowMs: number): void {
  const attributes = buf.readInt16BE(start + BatchOffset.attributes);
  buf.writeInt16BE(attributes | ATTR_LOG_APPEND_TIME, start + BatchOffset.attributes);
  buf.writeBigInt64BE(BigInt(nowMs), start + BatchOffset.maxTimestamp);
  buf.writeUInt32BE(crc32c(buf, 0, start + CRC_START, end), start + BatchOffset.crc);
}
