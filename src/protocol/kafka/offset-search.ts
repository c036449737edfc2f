/**
 * Offset lookups by timestamp over a partition's stored batches (ListOffsets). A stream entry's
 * timestamp is its batch's max timestamp, so the stream's timestamp index finds the first batch
 * holding a record at or after a time; the record inside is found by decoding that one batch
 * (decompressing it when it is compressed), so the answer is the exact record as Kafka's. Only
 * offsets in [log start, high watermark) are answered.
 */

import type { TopicPartition } from '../../core/kafka/topic.js';
import type { StreamEntry } from '../../core/stream/stream-store.js';
import { decodeRecords } from './record-decoder.js';

export interface TimestampedOffset {
  readonly offset: number;
  readonly timestampMs: number;
}

const READ_ENTRIES = 256;
const READ_BYTES = 1024 * 1024;
/** Above any millisecond timestamp a client sends (2^53: exact in a double). */
const TIMESTAMP_CEILING = 2 ** 53;

/** The first record with timestamp ≥ `timestampMs` (Kafka's ListOffsets by timestamp). */
export function findOffsetForTimestamp(
  partition: TopicPartition,
  timestampMs: number,
): TimestampedOffset | undefined {
  const lower = partition.logStartOffset;
  const candidate = partition.stream.offsetForTimestamp(timestampMs);
  // The index answers for the whole stored log; below the log start, search on from there.
  let found: TimestampedOffset | undefined;
  scanEntries(partition, Math.max(candidate, lower), (entry) => {
    if (entry.timestampMs < timestampMs) return false;
    found = recordAtOrAfter(entry, timestampMs, lower);
    return found !== undefined;
  });
  return found;
}

/** The first record with the largest timestamp (ListOffsets -3, Kafka 3.x's MAX_TIMESTAMP). */
export function findMaxTimestamp(partition: TopicPartition): TimestampedOffset | undefined {
  const stream = partition.stream;
  const exists = (t: number) => stream.offsetForTimestamp(t) < stream.nextOffset;
  if (partition.logStartOffset < partition.highWatermark && exists(0)) {
    // Largest t with a batch at or after it: about 53 index lookups, never a scan of the log.
    let lo = 0;
    let hi = TIMESTAMP_CEILING;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (exists(mid)) lo = mid;
      else hi = mid;
    }
    const offset = stream.offsetForTimestamp(lo);
    const [entry] = stream.readFrom(offset, 1);
    if (entry && entry.offset >= partition.logStartOffset && entry.offset < partition.highWatermark) {
      return recordAtOrAfter(entry, lo, partition.logStartOffset);
    }
  }
  // The newest timestamp lies outside the readable range (or is negative): scan the range.
  let best: TimestampedOffset | undefined;
  let bestEntry: StreamEntry | undefined;
  scanEntries(partition, partition.logStartOffset, (entry) => {
    if (!best || entry.timestampMs > best.timestampMs) {
      best = { offset: entry.offset, timestampMs: entry.timestampMs };
      bestEntry = entry;
    }
    return false;
  });
  return bestEntry && recordAtOrAfter(bestEntry, bestEntry.timestampMs, partition.logStartOffset);
}

/** Visits entries from the one holding `from` below the high watermark until `visit` returns true. */
function scanEntries(partition: TopicPartition, from: number, visit: (entry: StreamEntry) => boolean): void {
  const highWatermark = partition.highWatermark;
  let offset = from;
  while (offset < highWatermark) {
    const entries = partition.stream.readFrom(offset, READ_ENTRIES, READ_BYTES);
    if (entries.length === 0) return;
    for (const entry of entries) {
      if (entry.offset >= highWatermark) return;
      if (visit(entry)) return;
      offset = entry.offset + entry.offsetCount;
    }
  }
}

/** In a batch whose max timestamp is ≥ `timestampMs`: the first record at or after it, from `lower` on. */
function recordAtOrAfter(
  entry: StreamEntry,
  timestampMs: number,
  lower: number,
): TimestampedOffset | undefined {
  const batch = entry.payload;
  for (const record of decodeRecords(batch)) {
    if (record.offset >= lower && record.timestampMs >= timestampMs) {
      return { offset: record.offset, timestampMs: record.timestampMs };
    }
  }
  return undefined;
}
