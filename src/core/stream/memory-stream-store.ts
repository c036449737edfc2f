import type { StreamEntry, StreamRetention, StreamStore, StreamStoreOptions } from './stream-store.js';

/** Bytes an entry counts for in a memory store: its payload plus a fixed overhead, like a record. */
const ENTRY_OVERHEAD_BYTES = 32;

interface MemorySegment {
  readonly entries: StreamEntry[];
  sizeBytes: number;
  maxTimestampMs: number;
}

function entrySizeBytes(entry: StreamEntry): number {
  const message = entry.message;
  const fields = message
    ? message.properties.length + message.exchange.length + message.routingKey.length
    : 0;
  return ENTRY_OVERHEAD_BYTES + fields + entry.payload.length;
}

/**
 * A stream held in memory, segmented like the disk log so retention behaves the same: segments
 * of `segmentSizeBytes`, dropped whole.
 */
export class MemoryStreamStore implements StreamStore {
  private readonly segments: MemorySegment[] = [];
  private next = 0;
  private totalBytes = 0;
  private readonly segmentSizeBytes: number;

  constructor(options: StreamStoreOptions) {
    this.segmentSizeBytes = options.segmentSizeBytes;
  }

  get firstOffset(): number {
    return this.segments[0]?.entries[0]?.offset ?? this.next;
  }

  get nextOffset(): number {
    return this.next;
  }

  get lastEntryOffset(): number | undefined {
    const last = this.segments.at(-1)?.entries.at(-1);
    return last?.offset;
  }

  get sizeBytes(): number {
    return this.totalBytes;
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  append(appended: StreamEntry): void {
    if (appended.offset !== this.next)
      throw new Error(`append at offset ${appended.offset}, expected ${this.next}`);
    // A raw entry's bytes may be reused by the caller (the Kafka listener's request memory): keep a copy.
    const entry = appended.message ? appended : { ...appended, payload: Buffer.from(appended.payload) };
    const size = entrySizeBytes(entry);
    let segment = this.segments.at(-1);
    if (!segment || (segment.sizeBytes > 0 && segment.sizeBytes + size > this.segmentSizeBytes)) {
      segment = { entries: [], sizeBytes: 0, maxTimestampMs: 0 };
      this.segments.push(segment);
    }
    segment.entries.push(entry);
    segment.sizeBytes += size;
    segment.maxTimestampMs = Math.max(segment.maxTimestampMs, entry.timestampMs);
    this.totalBytes += size;
    this.next = entry.offset + entry.offsetCount;
  }

  read(offset: number, maxEntries: number, maxBytes: number): StreamEntry[] {
    const out: StreamEntry[] = [];
    let bytes = 0;
    for (const segment of this.segments) {
      const entries = segment.entries;
      const last = entries.at(-1);
      if (!last || last.offset + last.offsetCount <= offset) continue;
      for (let i = firstCovering(entries, offset); i < entries.length; i++) {
        const entry = entries[i]!;
        out.push(entry);
        bytes += entry.payload.length;
        if (out.length >= maxEntries || bytes >= maxBytes) return out;
      }
    }
    return out;
  }

  offsetForTimestamp(timestampMs: number): number {
    for (const segment of this.segments) {
      if (segment.maxTimestampMs < timestampMs) continue;
      const found = segment.entries.find((e) => e.timestampMs >= timestampMs);
      if (found) return found.offset;
    }
    return this.next;
  }

  applyRetention(nowMs: number, retention: StreamRetention): number {
    let dropped = 0;
    while (this.segments.length > 1) {
      const oldest = this.segments[0]!;
      const tooBig = retention.maxBytes !== undefined && this.totalBytes > retention.maxBytes;
      const tooOld = retention.maxAgeMs !== undefined && oldest.maxTimestampMs < nowMs - retention.maxAgeMs;
      if (!tooBig && !tooOld) break;
      this.segments.shift();
      this.totalBytes -= oldest.sizeBytes;
      dropped++;
    }
    return dropped;
  }

  destroy(): void {
    this.segments.length = 0;
    this.totalBytes = 0;
  }

  close(): void {}
}

/** Index of the first entry whose offsets end after `offset` (entries sorted by offset). */
function firstCovering(entries: readonly StreamEntry[], offset: number): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const e = entries[mid]!;
    if (e.offset + e.offsetCount <= offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
