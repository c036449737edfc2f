/**
 * Kafka's log cleaner for topics with cleanup.policy=compact (or compact,delete): in the background,
 * on the injected clock, each compacted partition's closed segments are rewritten to keep only the
 * newest record per key. As in Kafka:
 * - only closed segments are cleaned, and only below the high watermark and the last stable offset
 *   (an open transaction's records are never judged), and only segments whose newest record is at
 *   least min.compaction.lag.ms old;
 * - a pass starts once the not-yet-cleaned share of those segments reaches min.cleanable.dirty.ratio,
 *   or a dirty segment is older than max.compaction.lag.ms;
 * - offsets never change: a kept record keeps its offset and its batch keeps its baseOffset and
 *   lastOffsetDelta, so consumers see gaps (as in Kafka); a batch whose records all go disappears,
 *   except a producer's last batch, kept empty (Kafka keeps it for the idempotent producer's state);
 * - a tombstone (null value) is kept delete.retention.ms after the first pass that saw its segment,
 *   then removed;
 * - records of aborted transactions are removed; control batches (transaction markers) are kept.
 * A compressed batch that loses records is rewritten compressed with its own codec, as Kafka's
 * cleaner does (zstd as stored blocks on Node.js without a zstd encoder: see zstd-frame.ts).
 *
 * How far each partition was cleaned (its first dirty offset) is saved after every pass that moved
 * it, in Kafka's cleaner-offset-checkpoint (storage/kafka/cleaner-offset-checkpoint.ts), so after a
 * restart only what was appended since counts as dirty. A saved offset below the log start or beyond
 * the log end is reset to the log start, as Kafka's LogCleanerManager does. When a segment was first
 * cleaned (the tombstones' horizon) is kept in memory only: after a restart the clean segments count
 * as cleaned at the restart and may hold tombstones, so tombstones get a fresh delete.retention.ms,
 * which only keeps data longer (Kafka 3.1+ stores the horizon in the batch instead). The storage layer makes each segment
 * rewrite crash-safe (StreamStore.rewriteSegment). A pass runs one partition at a time and gives
 * the event loop back after every chunk it reads (READ_ENTRIES / READ_BYTES) and every segment it
 * rewrites, so produce and fetch are served between them; what can change meanwhile is handled:
 * appends go to the open segment, which is never cleaned, and a segment that retention, DeleteRecords
 * or a topic deletion removed mid-pass makes that partition's rewrite fail and be logged, not the pass.
 * Only the rewrite of one segment (its kept bytes written and synced) is done in one go.
 */
import type { Clock, TimerHandle } from '../../core/clock.js';
import { isCompacted, type Topic, type TopicPartition } from '../../core/kafka/topic.js';
import type { ClosedSegment, StreamEntry } from '../../core/stream/stream-store.js';
import { crc32c } from '../../util/crc32c.js';
import { compressRecords, decompressRecords } from './compression.js';
import {
  ATTR_COMPRESSION_MASK,
  ATTR_CONTROL,
  ATTR_TRANSACTIONAL,
  BATCH_HEADER_BYTES,
  BatchOffset,
  CRC_START,
  LOG_OVERHEAD_BYTES,
} from './record-batch.js';
import { RecordCursor } from './record-cursor.js';

export const DEFAULT_LOG_CLEANER_INTERVAL_MS = 15_000;
const READ_ENTRIES = 1024;
const READ_BYTES = 4 * 1024 * 1024;

/** Lets pending I/O (produce, fetch) run before the pass goes on. */
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export interface AbortedTransaction {
  readonly producerId: number;
  readonly firstOffset: number;
  readonly lastOffset: number;
}

export interface LogCleanerOptions {
  readonly clock: Clock;
  /** Every topic (only compacted ones are cleaned). */
  readonly topics: () => Iterable<Topic>;
  /** The partition's last stable offset: nothing at or past it is cleaned. */
  readonly lastStableOffset: (partition: TopicPartition) => number;
  /** Aborted transactions overlapping [from, to). */
  readonly abortedBetween: (
    partition: TopicPartition,
    from: number,
    to: number,
  ) => readonly AbortedTransaction[];
  readonly intervalMs?: number;
  readonly log?: (line: string) => void;
  /** Where the first dirty offsets are kept across restarts (Kafka's cleaner-offset-checkpoint). */
  readonly checkpoint?: CleanerCheckpointStore;
}

/** A partition's first dirty offset: offsets below it were cleaned. */
export interface CleanerCheckpointEntry {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

export interface CleanerCheckpointStore {
  /** The entries last written; empty when there are none or they cannot be read. */
  read(): readonly CleanerCheckpointEntry[];
  /** Replaces every entry, durably. */
  write(entries: Iterable<CleanerCheckpointEntry>): void;
}

/** What Kafka's LogCleanerManager and LogCleaner report (kafka.log:type=LogCleanerManager,...). */
export interface LogCleanerStats {
  /** max-dirty-percent: the dirty share of the dirtiest compacted partition at the last pass. */
  readonly maxDirtyPercent: number;
  /** When the last pass started (time-since-last-run-ms is now minus this), on the cleaner's clock. */
  readonly lastRunAtMs: number;
  readonly passes: number;
  /** Partitions cleaned (their dirty ratio or max.compaction.lag.ms made them due, or tombstones expired). */
  readonly cleanings: number;
  readonly segmentsRewritten: number;
  readonly recordsRemoved: number;
}

interface PartitionCleaning {
  /** Offsets below this were cleaned by an earlier pass. */
  cleanedUpTo: number;
  /** When a pass first covered each segment (by base offset): tombstones' delete horizon. */
  readonly firstCleanedAtMs: Map<number, number>;
  /** Segments (by base offset) the last pass left holding tombstones: a later pass removes them. */
  readonly withTombstones: Set<number>;
}

/** One record of a stored batch, as the cleaner judges it. */
interface RecordSlice {
  readonly offset: number;
  readonly key: string | null;
  readonly tombstone: boolean;
  /** Bytes of the record (its length varint included) in `section`. */
  readonly start: number;
  readonly end: number;
}

export interface CleanResult {
  readonly segmentsRewritten: number;
  readonly recordsRemoved: number;
}

export class LogCleaner {
  private readonly clock: Clock;
  private readonly intervalMs: number;
  private readonly log: (line: string) => void;
  private readonly state = new WeakMap<TopicPartition, PartitionCleaning>();
  private timer: TimerHandle | undefined;
  private stopped = false;
  /** The pass under way, if any (stop() lets it end at its next yield). */
  private running: Promise<CleanResult> | undefined;
  /** Passes completed (tests and monitoring wait on it). */
  passes = 0;
  private cleanings = 0;
  private segmentsRewrittenTotal = 0;
  private recordsRemovedTotal = 0;
  private maxDirtyRatio = 0;
  private lastRunAtMs: number;
  /** The dirtiest ratio seen by the pass under way. */
  private passDirtiest = 0;
  /** First dirty offsets read from the checkpoint (`topic\0partition`), loaded on the first pass. */
  private saved: Map<string, number> | undefined;

  constructor(private readonly options: LogCleanerOptions) {
    this.clock = options.clock;
    this.intervalMs = options.intervalMs ?? DEFAULT_LOG_CLEANER_INTERVAL_MS;
    this.log = options.log ?? (() => {});
    this.lastRunAtMs = this.clock.now();
  }

  get stats(): LogCleanerStats {
    return {
      maxDirtyPercent: Math.floor(100 * this.maxDirtyRatio),
      lastRunAtMs: this.lastRunAtMs,
      passes: this.passes,
      cleanings: this.cleanings,
      segmentsRewritten: this.segmentsRewrittenTotal,
      recordsRemoved: this.recordsRemovedTotal,
    };
  }

  /** Drops a deleted topic's saved progress (Kafka removes it from the checkpoint with the log). */
  forgetTopic(name: string): void {
    const saved = this.savedOffsets();
    for (const key of [...saved.keys()]) if (key.startsWith(`${name}\0`)) saved.delete(key);
    this.saveCheckpoint();
  }

  start(): void {
    this.stopped = false;
    this.arm();
  }

  /** Stops the timer; a pass under way ends at its next yield, before touching the log again. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  private arm(): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.running = this.runOnce();
      void this.running.finally(() => {
        this.running = undefined;
        this.arm();
      });
    }, this.intervalMs);
  }

  /** One pass over every compacted partition. */
  async runOnce(): Promise<CleanResult> {
    let segmentsRewritten = 0;
    let recordsRemoved = 0;
    this.lastRunAtMs = this.clock.now();
    this.passDirtiest = 0;
    for (const topic of [...this.options.topics()]) {
      if (!isCompacted(topic.config)) continue;
      for (const partition of topic.partitions) {
        if (this.stopped) break;
        try {
          const r = await this.cleanPartition(topic, partition);
          segmentsRewritten += r.segmentsRewritten;
          recordsRemoved += r.recordsRemoved;
        } catch (err) {
          if (err instanceof CleanerStopped) break;
          this.log(`kafka log cleaner: ${topic.name}-${partition.index}: ${(err as Error).message}`);
        }
      }
    }
    this.maxDirtyRatio = this.passDirtiest;
    this.passes++;
    this.segmentsRewrittenTotal += segmentsRewritten;
    this.recordsRemovedTotal += recordsRemoved;
    return { segmentsRewritten, recordsRemoved };
  }

  private savedOffsets(): Map<string, number> {
    if (this.saved === undefined) {
      this.saved = new Map();
      for (const e of this.options.checkpoint?.read() ?? [])
        this.saved.set(partitionKey(e.topic, e.partition), e.offset);
    }
    return this.saved;
  }

  /**
   * A partition's cleaning state when the cleaner first sees it: from the checkpoint, checked
   * against the log as Kafka's cleanableOffsets does (below the log start or beyond the log end:
   * the log start).
   */
  private initialState(topic: Topic, partition: TopicPartition, nowMs: number): PartitionCleaning {
    const stream = partition.stream;
    const logStart = stream.firstOffset;
    const saved = this.savedOffsets().get(partitionKey(partition.topic, partition.index));
    let cleanedUpTo = saved ?? logStart;
    if (saved !== undefined && saved > stream.nextOffset) {
      this.log(
        `kafka log cleaner: ${partition.topic}-${partition.index}: the checkpointed first dirty offset ${saved} is beyond the log end offset ${stream.nextOffset}; resetting to the log start offset ${logStart}`,
      );
      cleanedUpTo = logStart;
    } else if (cleanedUpTo < logStart) {
      if (topic.config.cleanupPolicy !== 'compact,delete')
        this.log(
          `kafka log cleaner: ${partition.topic}-${partition.index}: resetting the first dirty offset to the log start offset ${logStart} since the checkpointed offset ${cleanedUpTo} is invalid`,
        );
      cleanedUpTo = logStart;
    }
    const state: PartitionCleaning = { cleanedUpTo, firstCleanedAtMs: new Map(), withTombstones: new Set() };
    // Segments cleaned before the restart: their tombstones' horizon starts now (it was in memory).
    for (const seg of stream.closedSegments()) {
      if (seg.nextOffset > cleanedUpTo) break;
      state.firstCleanedAtMs.set(seg.baseOffset, nowMs);
      state.withTombstones.add(seg.baseOffset);
    }
    return state;
  }

  /** Writes every existing partition's first dirty offset; a failure is logged (the next pass retries). */
  private saveCheckpoint(): void {
    const store = this.options.checkpoint;
    if (!store) return;
    const saved = this.savedOffsets();
    const entries: CleanerCheckpointEntry[] = [];
    for (const topic of this.options.topics())
      for (const partition of topic.partitions) {
        const offset =
          this.state.get(partition)?.cleanedUpTo ?? saved.get(partitionKey(topic.name, partition.index));
        if (offset !== undefined) entries.push({ topic: topic.name, partition: partition.index, offset });
      }
    try {
      store.write(entries);
    } catch (err) {
      this.log(`kafka log cleaner: cannot write its checkpoint: ${(err as Error).message}`);
    }
  }

  /** Cleans one partition if it is due; returns what changed. */
  async cleanPartition(topic: Topic, partition: TopicPartition): Promise<CleanResult> {
    const none = { segmentsRewritten: 0, recordsRemoved: 0 };
    const stream = partition.stream;
    if (!stream.canRewriteSegments) return none;
    const nowMs = this.clock.now();
    const config = topic.config;
    const limit = Math.min(partition.highWatermark, this.options.lastStableOffset(partition));
    const cleanable: ClosedSegment[] = [];
    for (const seg of stream.closedSegments()) {
      if (seg.nextOffset > limit || seg.maxTimestampMs > nowMs - config.minCompactionLagMs) break;
      cleanable.push(seg);
    }
    if (cleanable.length === 0) return none;
    let state = this.state.get(partition);
    if (!state) {
      state = this.initialState(topic, partition, nowMs);
      this.state.set(partition, state);
    }
    let dirtyBytes = 0;
    let totalBytes = 0;
    let overdue = false;
    let tombstonesDue = false;
    for (const seg of cleanable) {
      totalBytes += seg.sizeBytes;
      if (seg.baseOffset >= state.cleanedUpTo) {
        dirtyBytes += seg.sizeBytes;
        if (seg.maxTimestampMs <= nowMs - config.maxCompactionLagMs) overdue = true;
      }
      const firstCleaned = state.firstCleanedAtMs.get(seg.baseOffset);
      if (
        firstCleaned !== undefined &&
        firstCleaned <= nowMs - config.deleteRetentionMs &&
        state.withTombstones.has(seg.baseOffset)
      )
        tombstonesDue = true;
    }
    const ratio = totalBytes === 0 ? 0 : dirtyBytes / totalBytes;
    this.passDirtiest = Math.max(this.passDirtiest, ratio);
    const due = (dirtyBytes > 0 && ratio >= config.minCleanableDirtyRatio) || overdue;
    // Tombstones past their horizon are removed by a pass even when little is dirty.
    if (!due && !tombstonesDue) return none;
    this.cleanings++;
    return this.clean(partition, cleanable, state, nowMs, config.deleteRetentionMs);
  }

  private async clean(
    partition: TopicPartition,
    segments: readonly ClosedSegment[],
    state: PartitionCleaning,
    nowMs: number,
    deleteRetentionMs: number,
  ): Promise<CleanResult> {
    const from = segments[0]!.baseOffset;
    const to = segments.at(-1)!.nextOffset;
    const aborted = this.options.abortedBetween(partition, from, to);
    const isAborted = (producerId: number, offset: number) =>
      aborted.some((a) => a.producerId === producerId && a.firstOffset <= offset && offset <= a.lastOffset);
    // Pass 1: the newest offset of every key, and every producer's last batch.
    const latest = new Map<string, number>();
    const lastBatchOf = new Map<number, number>();
    for (const seg of segments) {
      await this.forEachEntry(partition, seg, (entry) => {
        const batch = entry.payload;
        const attributes = batch.readInt16BE(BatchOffset.attributes);
        const producerId = Number(batch.readBigInt64BE(BatchOffset.producerId));
        const baseOffset = Number(batch.readBigInt64BE(BatchOffset.baseOffset));
        if (producerId >= 0) lastBatchOf.set(producerId, baseOffset);
        if (attributes & ATTR_CONTROL) return;
        if (attributes & ATTR_TRANSACTIONAL && isAborted(producerId, baseOffset)) return;
        for (const record of recordSlices(batch).records) {
          if (record.key !== null) latest.set(record.key, record.offset);
        }
      });
    }
    // Pass 2: rewrite each segment that loses something.
    let segmentsRewritten = 0;
    let recordsRemoved = 0;
    for (const seg of segments) {
      if (!state.firstCleanedAtMs.has(seg.baseOffset)) state.firstCleanedAtMs.set(seg.baseOffset, nowMs);
      const tombstonesExpire =
        seg.baseOffset < state.cleanedUpTo &&
        state.firstCleanedAtMs.get(seg.baseOffset)! <= nowMs - deleteRetentionMs;
      const kept: { entry: StreamEntry; payload: Buffer }[] = [];
      let removedHere = 0;
      let keepsTombstones = false;
      let lastDropped: StreamEntry | undefined;
      await this.forEachEntry(partition, seg, (entry) => {
        const batch = entry.payload;
        const attributes = batch.readInt16BE(BatchOffset.attributes);
        const producerId = Number(batch.readBigInt64BE(BatchOffset.producerId));
        const baseOffset = Number(batch.readBigInt64BE(BatchOffset.baseOffset));
        if (attributes & ATTR_CONTROL) {
          kept.push({ entry, payload: Buffer.from(batch) });
          return;
        }
        const abortedBatch = (attributes & ATTR_TRANSACTIONAL) !== 0 && isAborted(producerId, baseOffset);
        const { records, section } = recordSlices(batch);
        const keep = records.filter(
          (r) =>
            !abortedBatch &&
            r.key !== null &&
            latest.get(r.key) === r.offset &&
            !(r.tombstone && tombstonesExpire),
        );
        removedHere += records.length - keep.length;
        if (keep.some((r) => r.tombstone)) keepsTombstones = true;
        if (keep.length === records.length) {
          kept.push({ entry, payload: Buffer.from(batch) });
        } else if (keep.length > 0 || (producerId >= 0 && lastBatchOf.get(producerId) === baseOffset)) {
          kept.push({ entry, payload: rebuildBatch(batch, section, keep) });
        } else {
          lastDropped = entry;
        }
      });
      if (keepsTombstones) state.withTombstones.add(seg.baseOffset);
      else state.withTombstones.delete(seg.baseOffset);
      if (removedHere === 0) continue;
      if (kept.length === 0) {
        // Every batch went: the segment keeps one empty batch covering its offsets (readers skip it).
        kept.push({ entry: lastDropped!, payload: rebuildBatch(lastDropped!.payload, Buffer.alloc(0), []) });
      }
      if (this.stopped) break;
      partition.stream.rewriteSegment(seg.baseOffset, tile(kept, seg));
      segmentsRewritten++;
      recordsRemoved += removedHere;
      await yieldToEventLoop();
    }
    if (this.stopped) return { segmentsRewritten, recordsRemoved };
    if (to > state.cleanedUpTo) {
      state.cleanedUpTo = to;
      this.saveCheckpoint();
    }
    if (segmentsRewritten > 0)
      this.log(
        `kafka log cleaner: ${partition.topic}-${partition.index}: ${recordsRemoved} record(s) removed from ` +
          `${segmentsRewritten} segment(s) in offsets ${from} to ${to - 1}`,
      );
    return { segmentsRewritten, recordsRemoved };
  }

  /** Visits the segment's entries chunk by chunk, yielding after each chunk. */
  private async forEachEntry(
    partition: TopicPartition,
    seg: ClosedSegment,
    visit: (entry: StreamEntry) => void,
  ): Promise<void> {
    let offset = seg.baseOffset;
    while (offset < seg.nextOffset) {
      if (offset !== seg.baseOffset) await yieldToEventLoop();
      if (this.stopped) throw new CleanerStopped();
      const entries = partition.stream.readFrom(offset, READ_ENTRIES, READ_BYTES);
      if (entries.length === 0) return;
      for (const entry of entries) {
        if (entry.offset >= seg.nextOffset) return;
        visit(entry);
        offset = entry.offset + entry.offsetCount;
      }
    }
  }
}

function partitionKey(topic: string, partition: number): string {
  return `${topic}\0${partition}`;
}

/** Ends a pass that stop() interrupted (caught per partition like any other failure). */
class CleanerStopped extends Error {
  constructor() {
    super('stopped');
  }
}

/**
 * New stream entries for a segment from the kept batches: each entry starts where the previous one
 * ended (taking in the offsets of the batches removed before it) and the last reaches the segment's
 * end, so the entries tile the segment as the store requires.
 */
function tile(kept: readonly { entry: StreamEntry; payload: Buffer }[], seg: ClosedSegment): StreamEntry[] {
  const out: StreamEntry[] = [];
  let start = seg.baseOffset;
  kept.forEach(({ entry, payload }, i) => {
    const end = i === kept.length - 1 ? seg.nextOffset : entry.offset + entry.offsetCount;
    out.push({
      offset: start,
      offsetCount: end - start,
      timestampMs: entry.timestampMs,
      message: undefined,
      payload,
    });
    start = end;
  });
  return out;
}

/** The records of a batch with their keys (latin1 strings of the key bytes) and byte ranges. */
function recordSlices(batch: Buffer): { records: RecordSlice[]; section: Buffer } {
  const attributes = batch.readInt16BE(BatchOffset.attributes);
  const end = LOG_OVERHEAD_BYTES + batch.readInt32BE(BatchOffset.batchLength);
  const codec = attributes & ATTR_COMPRESSION_MASK;
  const section =
    codec === 0
      ? batch.subarray(BATCH_HEADER_BYTES, end)
      : decompressRecords(codec, batch.subarray(BATCH_HEADER_BYTES, end));
  const baseOffset = Number(batch.readBigInt64BE(BatchOffset.baseOffset));
  const count = batch.readInt32BE(BatchOffset.recordCount);
  const cursor = new RecordCursor(section, 0, section.length);
  const records: RecordSlice[] = [];
  for (let i = 0; i < count; i++) {
    const start = cursor.pos;
    cursor.end = section.length;
    const length = cursor.varint();
    const recordEnd = cursor.pos + length;
    cursor.end = recordEnd;
    cursor.int8();
    cursor.varlong();
    const offsetDelta = cursor.varint();
    const key = cursor.nullableBytes('key');
    const value = cursor.nullableBytes('value');
    cursor.pos = recordEnd;
    records.push({
      offset: baseOffset + offsetDelta,
      key: key === null ? null : key.toString('latin1'),
      tombstone: value === null,
      start,
      end: recordEnd,
    });
  }
  return { records, section };
}

/**
 * The batch with only `keep` of its records (their bytes unchanged, so offset and timestamp deltas
 * hold), compressed with the batch's codec (an emptied batch is written uncompressed);
 * baseOffset, lastOffsetDelta, timestamps and producer fields are kept, as Kafka's cleaner does,
 * and the CRC recomputed.
 */
function rebuildBatch(batch: Buffer, section: Buffer, keep: readonly RecordSlice[]): Buffer {
  const recordsBytes = keep.reduce((n, r) => n + (r.end - r.start), 0);
  const records = Buffer.allocUnsafe(recordsBytes);
  let p = 0;
  for (const r of keep) p += section.copy(records, p, r.start, r.end);
  const attributes = batch.readInt16BE(BatchOffset.attributes);
  const codec = keep.length === 0 ? 0 : attributes & ATTR_COMPRESSION_MASK;
  const body = codec === 0 ? records : compressRecords(codec, records);
  const out = Buffer.allocUnsafe(BATCH_HEADER_BYTES + body.length);
  batch.copy(out, 0, 0, BATCH_HEADER_BYTES);
  body.copy(out, BATCH_HEADER_BYTES);
  out.writeInt32BE(out.length - LOG_OVERHEAD_BYTES, BatchOffset.batchLength);
  out.writeInt16BE((attributes & ~ATTR_COMPRESSION_MASK) | codec, BatchOffset.attributes);
  out.writeInt32BE(keep.length, BatchOffset.recordCount);
  out.writeUInt32BE(crc32c(out, 0, CRC_START, out.length), BatchOffset.crc);
  return out;
}

/** True for a batch compaction emptied (kept for producer state): Fetch does not return it. */
export function isEmptyDataBatch(batch: Buffer): boolean {
  return (
    batch.readInt32BE(BatchOffset.recordCount) === 0 &&
    (batch.readInt16BE(BatchOffset.attributes) & ATTR_CONTROL) === 0
  );
}
