import type { Message } from '../message.js';

/**
 * One entry of a stream: a chunk of one or more consecutive offsets written together. An AMQP
 * message is an entry of one offset; a Kafka record batch is one entry covering all its records'
 * offsets, stored as the client sent it.
 */
export interface StreamEntry {
  /** First offset the entry covers. */
  readonly offset: number;
  /** Number of offsets it covers (1 for an AMQP message). */
  readonly offsetCount: number;
  /** When the broker appended it (ms since the epoch, from the injected clock). */
  readonly timestampMs: number;
  /** The message fields of an entry appended over AMQP; undefined for raw entries. */
  readonly message: Message | undefined;
  /** The bytes stored: the body of an AMQP message, or a raw entry's bytes (a Kafka record batch). */
  readonly payload: Buffer;
  /**
   * A CRC-32C the writer already knows for `payload[from ..]` (a Kafka batch's own CRC, checked at
   * Produce), so a durable store framing the entry need not read those bytes again.
   */
  readonly payloadTailCrc?: PayloadTailCrc;
  /**
   * Set on entries `read` returns whose payload is a view of memory the store recycles at a later
   * append (a durable store's tail cache): copy it before the current synchronous step ends, or
   * pin it until done with it (a socket took the bytes) and unpin it then. Other payloads (fresh
   * disk reads, a memory store's own copies) may be kept and sent as they are.
   */
  readonly recycled?: RecycledMemory;
}

/**
 * Memory a store reuses for later entries. While pinned (once per pin, until as many unpins) the
 * store does not write over it: an append that would takes fresh memory instead.
 */
export interface RecycledMemory {
  pin(): void;
  unpin(): void;
}

export interface PayloadTailCrc {
  readonly from: number;
  readonly crc: number;
}

/** Retention limits; whole segments are dropped, oldest first, never the one being written. */
export interface StreamRetention {
  /** `x-max-age`: drop a segment once its newest entry is older than this. */
  readonly maxAgeMs?: number | undefined;
  /** `x-max-length-bytes`: drop the oldest segments while the stream is larger than this. */
  readonly maxBytes?: number | undefined;
}

/**
 * Where a stream keeps its entries: an append-only log split into segments, which retention drops
 * whole. Implementations: MemoryStreamStore (core, for tests and non-durable use) and DiskStreamStore
 * (storage: segment files with a sparse offset/timestamp index per segment).
 */
export interface StreamStore {
  /** First offset still stored (equals nextOffset when the stream is empty). */
  readonly firstOffset: number;
  /** The offset the next appended entry gets. */
  readonly nextOffset: number;
  /** First offset of the newest entry (RabbitMQ's 'last' chunk), or undefined when empty. */
  readonly lastEntryOffset: number | undefined;
  /** Bytes stored, as retention counts them. */
  readonly sizeBytes: number;
  readonly segmentCount: number;
  /**
   * Appends an entry whose offset is nextOffset. A durable store stages the write in the group
   * committer in the same turn, so the committer's next afterDurable round covers it. A raw
   * entry's payload is copied: the caller may reuse its memory once this returns.
   */
  append(entry: StreamEntry): void;
  /**
   * Entries from the one holding `offset` on (from the first one when `offset` is older than
   * firstOffset): at most `maxEntries`, and stopping once `maxBytes` of payload is reached (at
   * least one entry if any). Bodies are read from disk by durable stores; the caller may keep
   * them, except the payloads of raw entries, which may be views of memory the store recycles at
   * its next append: copy those before the current synchronous step ends.
   */
  read(offset: number, maxEntries: number, maxBytes: number): StreamEntry[];
  /** First offset of the first entry with a timestamp at or after `timestampMs`, else nextOffset. */
  offsetForTimestamp(timestampMs: number): number;
  /**
   * Segments that no longer take appends, oldest first: what Kafka's log cleaner may rewrite.
   * Optional: a store without it is never compacted.
   */
  closedSegments?(): ClosedSegment[];
  /**
   * Replaces the entries of the closed segment starting at `baseOffset` (compaction), crash-safely:
   * after a crash at any point the segment holds either its old entries or these. `entries` must
   * tile the segment's offsets exactly (the first starts at its base, each starts where the previous
   * ends, the last ends at its end), so offsets, firstOffset and nextOffset do not move; an entry
   * may cover more offsets than its payload holds (the records compaction removed).
   */
  rewriteSegment?(baseOffset: number, entries: readonly StreamEntry[]): void;
  /** Drops whole segments per the limits; returns how many segments were dropped. */
  applyRetention(nowMs: number, retention: StreamRetention): number;
  /** Deletes the stream's data for good. */
  destroy(): void;
  /** Releases resources without deleting data (broker shutdown). */
  close(): void;
}

/** A closed segment as the log cleaner sees it. */
export interface ClosedSegment {
  readonly baseOffset: number;
  /** One past its last offset (the next segment's base). */
  readonly nextOffset: number;
  readonly sizeBytes: number;
  /** Newest entry timestamp in it. */
  readonly maxTimestampMs: number;
}

/** Options a store is created with. */
export interface StreamStoreOptions {
  /** `x-stream-max-segment-size-bytes`: a segment is closed and a new one started beyond this. */
  readonly segmentSizeBytes: number;
  /**
   * Kafka's segment.ms: a segment is closed at the first append whose timestamp is this much after
   * its first entry's (so a compacted topic's records leave the active segment). Durable store only.
   */
  readonly segmentMaxAgeMs?: number;
}

/** RabbitMQ's default `x-stream-max-segment-size-bytes`: 500 MB. */
export const DEFAULT_STREAM_SEGMENT_SIZE_BYTES = 500_000_000;

/** Creates the store behind a stream: on disk in the broker, in memory in core tests. */
export type StreamStoreFactory = (
  vhost: string,
  streamName: string,
  options: StreamStoreOptions,
) => StreamStore;
