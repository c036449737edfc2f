/**
 * Builds a valid v2 record batch (CRC included) from records: for tests, benchmarks and, later,
 * serving messages that did not come from a Kafka client. Uncompressed only; `encodedRecords` lets
 * a caller supply an already-compressed records section with a compression codec.
 */
import { crc32c } from '../../util/crc32c.js';
import {
  ATTR_CONTROL,
  ATTR_LOG_APPEND_TIME,
  ATTR_TRANSACTIONAL,
  BATCH_HEADER_BYTES,
  BatchOffset,
  COMPRESSION_NAMES,
  type Compression,
  LOG_OVERHEAD_BYTES,
} from './record-batch.js';

type Bytes = Buffer | string | null;

export interface RecordInput {
  readonly key?: Bytes;
  readonly value?: Bytes;
  readonly headers?: readonly { readonly key: Buffer | string; readonly value?: Bytes }[];
  /** Defaults to the batch's baseTimestampMs. */
  readonly timestampMs?: number;
}

export interface BatchInput {
  readonly records: readonly RecordInput[];
  readonly baseOffset?: number;
  /** Java clients send -1; kafkajs sends 0. */
  readonly partitionLeaderEpoch?: number;
  /** Defaults to the first record's timestamp, else 0. */
  readonly baseTimestampMs?: number;
  /** Defaults to the largest record timestamp. */
  readonly maxTimestampMs?: number;
  readonly producerId?: number;
  readonly producerEpoch?: number;
  readonly baseSequence?: number;
  readonly transactional?: boolean;
  readonly control?: boolean;
  readonly logAppendTime?: boolean;
  readonly compression?: Compression;
  /** The records section as it goes on the wire (e.g. compressed); `records` then only gives the count. */
  readonly encodedRecords?: Buffer;
}

export function encodeRecordBatch(input: BatchInput): Buffer {
  const records = input.records;
  const timestamps = records.map((r) => r.timestampMs);
  const baseTimestampMs = input.baseTimestampMs ?? timestamps.find((t) => t !== undefined) ?? 0;
  const times = timestamps.map((t) => t ?? baseTimestampMs);
  const maxTimestampMs = input.maxTimestampMs ?? (times.length ? Math.max(...times) : baseTimestampMs);
  const body = input.encodedRecords ?? encodeRecords(records, times, baseTimestampMs);
  const buf = Buffer.alloc(BATCH_HEADER_BYTES + body.length);
  buf.writeBigInt64BE(BigInt(input.baseOffset ?? 0), BatchOffset.baseOffset);
  buf.writeInt32BE(buf.length - LOG_OVERHEAD_BYTES, BatchOffset.batchLength);
  buf.writeInt32BE(input.partitionLeaderEpoch ?? -1, BatchOffset.partitionLeaderEpoch);
  buf.writeInt8(2, BatchOffset.magic);
  const attributes =
    COMPRESSION_NAMES.indexOf(input.compression ?? 'none') |
    (input.logAppendTime ? ATTR_LOG_APPEND_TIME : 0) |
    (input.transactional ? ATTR_TRANSACTIONAL : 0) |
    (input.control ? ATTR_CONTROL : 0);
  buf.writeInt16BE(attributes, BatchOffset.attributes);
  buf.writeInt32BE(records.length - 1, BatchOffset.lastOffsetDelta);
  buf.writeBigInt64BE(BigInt(baseTimestampMs), BatchOffset.baseTimestamp);
  buf.writeBigInt64BE(BigInt(maxTimestampMs), BatchOffset.maxTimestamp);
  buf.writeBigInt64BE(BigInt(input.producerId ?? -1), BatchOffset.producerId);
  buf.writeInt16BE(input.producerEpoch ?? -1, BatchOffset.producerEpoch);
  buf.writeInt32BE(input.baseSequence ?? -1, BatchOffset.baseSequence);
  buf.writeInt32BE(records.length, BatchOffset.recordCount);
  body.copy(buf, BATCH_HEADER_BYTES);
  buf.writeUInt32BE(crc32c(buf, 0, BatchOffset.attributes), BatchOffset.crc);
  return buf;
}

/**
 * The uncompressed records section of a batch whose base timestamp is the first record's: what a
 * caller compresses to build a compressed batch (with `compression` and `encodedRecords`).
 */
export function encodeRecordsSection(records: readonly RecordInput[]): Buffer {
  const baseTimestampMs = records.find((r) => r.timestampMs !== undefined)?.timestampMs ?? 0;
  return encodeRecords(
    records,
    records.map((r) => r.timestampMs ?? baseTimestampMs),
    baseTimestampMs,
  );
}

/** Rewrites the CRC of a batch after a test edited bytes it covers. */
export function refreshBatchCrc(batch: Buffer): void {
  const end = LOG_OVERHEAD_BYTES + batch.readInt32BE(BatchOffset.batchLength);
  batch.writeUInt32BE(crc32c(batch, 0, BatchOffset.attributes, end), BatchOffset.crc);
}

function toBuffer(b: Bytes | undefined): Buffer | null {
  if (b === null || b === undefined) return null;
  return typeof b === 'string' ? Buffer.from(b) : b;
}

function encodeRecords(records: readonly RecordInput[], times: number[], baseTimestampMs: number): Buffer {
  const parts: Buffer[] = [];
  records.forEach((r, i) => {
    const w = new VarWriter();
    w.byte(0); // record attributes: unused
    w.varlong(times[i]! - baseTimestampMs);
    w.varint(i);
    w.nullableBytes(toBuffer(r.key));
    w.nullableBytes(toBuffer(r.value));
    const headers = r.headers ?? [];
    w.varint(headers.length);
    for (const h of headers) {
      w.nullableBytes(toBuffer(h.key));
      w.nullableBytes(toBuffer(h.value));
    }
    const fields = w.done();
    const length = new VarWriter();
    length.varint(fields.length);
    parts.push(length.done(), fields);
  });
  return Buffer.concat(parts);
}

/** Zigzag varints into a growing byte list; small and simple, not for hot paths. */
export class VarWriter {
  private readonly chunks: (number[] | Buffer)[] = [];
  private bytes: number[] = [];

  byte(b: number): void {
    this.bytes.push(b & 0xff);
  }

  varint(n: number): void {
    let v = ((n << 1) ^ (n >> 31)) >>> 0;
    while (v > 0x7f) {
      this.bytes.push((v & 0x7f) | 0x80);
      v >>>= 7;
    }
    this.bytes.push(v);
  }

  varlong(n: number): void {
    let v = n >= 0 ? n * 2 : -n * 2 - 1;
    while (v > 0x7f) {
      this.bytes.push((v % 128) | 0x80);
      v = Math.floor(v / 128);
    }
    this.bytes.push(v);
  }

  nullableBytes(b: Buffer | null): void {
    if (b === null) {
      this.varint(-1);
      return;
    }
    this.varint(b.length);
    this.chunks.push(this.bytes, b);
    this.bytes = [];
  }

  done(): Buffer {
    this.chunks.push(this.bytes);
    this.bytes = [];
    return Buffer.concat(this.chunks.map((c) => (Buffer.isBuffer(c) ? c : Buffer.from(c))));
  }
}
