/**
 * Reads a Kafka partition's stored records for the management API's peek (src/management/kafka.ts):
 * the stored batches from an offset below the high watermark, decoded, without a consumer, a
 * group or any change to the log. A compressed batch is reported as such (its records are not
 * decoded here: the codecs are the clients' business).
 */
import type { TopicPartition } from '../core/kafka/topic.js';
import type { PeekedRecord } from '../management/context.js';
import { ATTR_COMPRESSION_MASK, BatchOffset } from '../protocol/kafka/record-batch.js';
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
      if ((batch.readInt16BE(BatchOffset.attributes) & ATTR_COMPRESSION_MASK) !== 0) {
        found.push({
          offset: Math.max(entry.offset, from),
          timestampMs: entry.timestampMs,
          key: null,
          value: null,
          headers: [],
          compressed: true,
        });
      } else {
        for (const record of decodeRecords(batch)) {
          if (record.offset < from || record.offset >= highWatermark) continue;
          if (found.length >= count) break;
          found.push({
            offset: record.offset,
            timestampMs: record.timestampMs,
            key: record.key,
            value: record.value,
            headers: record.headers.map((h) => ({ key: h.key.toString('utf8'), value: h.value })),
            compressed: false,
          });
        }
      }
      offset = entry.offset + entry.offsetCount;
    }
  }
  return found;
}
