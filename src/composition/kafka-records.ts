/**
 * Reads a Kafka partition's stored records for the management API's peek (src/management/kafka.ts):
 * the stored batches from an offset below the high watermark, decoded, without a consumer, a
 * group or any change to the log. Compressed batches are decompressed (compression.ts) and their
 * records marked `compressed`; one whose payload cannot be decompressed is shown as one entry without
 * key or value.
 */
import type { TopicPartition } from '../core/kafka/topic.js';
import type { PeekedRecord } from '../management/context.js';
import { ATTR_COMPRESSION_MASK, BatchOffset } from '../protocol/kafka/record-batch.js';
import { MalformedRecords } from '../protocol/kafka/record-cursor.js';
import { decodeRecords } from '../protocol/kafka/record-decoder.js';

const READ_ENTRIES = 64;
const READ_BYTES = 4 * 1024 * 1024;

export function peekRecords(partition: TopicPartition, from: number, count: number): PeekedRecord[] {
  const found: PeekedRecord[] = [];
  const highWatermark = partition.highWatermark;
  let offset = from;
  while (found.length < count && offset < highWatermark) {
    const entries = partition.stream.readFrom(offset, READ_ENTRIES, READ_BYTES);
    if (entries.length === 0) break;
    for (const entry of entries) {
      if (found.length >= count || entry.offset >= highWatermark) return found;
      const batch = entry.payload;
      const compressed = (batch.readInt16BE(BatchOffset.attributes) & ATTR_COMPRESSION_MASK) !== 0;
      try {
        for (const record of decodeRecords(batch)) {
          if (record.offset < from || record.offset >= highWatermark) continue;
          if (found.length >= count) break;
          found.push({
            offset: record.offset,
            timestampMs: record.timestampMs,
            key: record.key,
            value: record.value,
            headers: record.headers.map((h) => ({ key: h.key.toString('utf8'), value: h.value })),
            compressed,
          });
        }
      } catch (error) {
        if (!(error instanceof MalformedRecords)) throw error;
        found.push({
          offset: Math.max(entry.offset, from),
          timestampMs: entry.timestampMs,
          key: null,
          value: null,
          headers: [],
          compressed,
        });
      }
      offset = entry.offset + entry.offsetCount;
    }
  }
  return found;
}
