import type { Clock, TimerHandle } from '../clock.js';
import type { Message } from '../message.js';
import type {
  ClosedSegment,
  PayloadTailCrc,
  StreamEntry,
  StreamRetention,
  StreamStore,
} from './stream-store.js';

/** Where a reader starts: RabbitMQ's `x-stream-offset` values, Kafka's earliest/latest/timestamp. */
export type StreamStart =
  | { readonly kind: 'first' }
  /** The newest entry (RabbitMQ: the start of the last chunk; here every entry is a chunk). */
  | { readonly kind: 'last' }
  /** Only entries appended from now on. */
  | { readonly kind: 'next' }
  | { readonly kind: 'offset'; readonly offset: number }
  /** The first entry appended at or after this time. */
  | { readonly kind: 'timestamp'; readonly timestampMs: number };

/** Something reading a stream that wants to know when entries are appended. */
export interface StreamReader {
  /** Entries were appended (called once per burst of appends, in a microtask). */
  onAppend(stream: Stream): void;
}

export interface StreamOptions {
  readonly retention?: StreamRetention;
  /** How often retention runs besides after a segment is closed (default one minute). */
  readonly retentionIntervalMs?: number;
}

export const DEFAULT_RETENTION_INTERVAL_MS = 60_000;

/**
 * An append-only log of entries with dense, increasing offsets. Readers keep their own offsets
 * and read with readFrom(); they are woken when entries are appended. Retention drops whole
 * segments by age and size, after a segment fills up and on a timer from the injected clock.
 *
 * The same entity serves an AMQP stream queue (one entry per message) and, later, a Kafka topic
 * partition (one entry per record batch). A Kafka producer path that must write the assigned base
 * offset into the batch reads `nextOffset`, patches the bytes and appends in the same synchronous
 * step, so nothing can append in between.
 */
export class Stream {
  private readonly readers = new Set<StreamReader>();
  private wakeScheduled = false;
  private retention: StreamRetention;
  private readonly retentionIntervalMs: number;
  private retentionTimer: TimerHandle | undefined;
  private segmentCount: number;
  private closed = false;

  constructor(
    readonly name: string,
    private readonly store: StreamStore,
    private readonly clock: Clock,
    options: StreamOptions = {},
  ) {
    this.retention = options.retention ?? {};
    this.retentionIntervalMs = options.retentionIntervalMs ?? DEFAULT_RETENTION_INTERVAL_MS;
    this.segmentCount = store.segmentCount;
    this.applyRetention();
    this.armRetentionTimer();
  }

  get firstOffset(): number {
    return this.store.firstOffset;
  }

  get nextOffset(): number {
    return this.store.nextOffset;
  }

  /** Offsets stored (what RabbitMQ reports as the stream queue's message count). */
  get offsetCount(): number {
    return this.store.nextOffset - this.store.firstOffset;
  }

  get sizeBytes(): number {
    return this.store.sizeBytes;
  }

  get readerCount(): number {
    return this.readers.size;
  }

  /** Appends an AMQP message as one entry; returns its offset. */
  appendMessage(message: Message): number {
    return this.appendEntry(message, message.body!, 1, message.publishedAtMs);
  }

  /**
   * Appends raw bytes covering `offsetCount` offsets (a Kafka record batch, stored as sent);
   * returns the first offset assigned.
   */
  appendRaw(
    payload: Buffer,
    offsetCount: number,
    timestampMs = this.clock.now(),
    payloadTailCrc?: PayloadTailCrc,
  ): number {
    if (!Number.isInteger(offsetCount) || offsetCount < 1)
      throw new RangeError(`an entry covers at least one offset, got ${offsetCount}`);
    return this.appendEntry(undefined, payload, offsetCount, timestampMs, payloadTailCrc);
  }

  private appendEntry(
    message: Message | undefined,
    payload: Buffer,
    offsetCount: number,
    timestampMs: number,
    payloadTailCrc?: PayloadTailCrc,
  ): number {
    if (this.closed) throw new Error(`stream '${this.name}' is closed`);
    const offset = this.store.nextOffset;
    this.store.append({ offset, offsetCount, timestampMs, message, payload, payloadTailCrc });
    if (this.store.segmentCount !== this.segmentCount) {
      // A segment was closed: the moment RabbitMQ evaluates retention too.
      this.segmentCount = this.store.segmentCount;
      this.applyRetention();
    }
    this.scheduleWake();
    return offset;
  }

  /** Entries from the one holding `offset` on (see StreamStore.read). */
  readFrom(offset: number, maxEntries: number, maxBytes = Number.POSITIVE_INFINITY): StreamEntry[] {
    if (offset >= this.store.nextOffset || maxEntries <= 0) return [];
    return this.store.read(Math.max(offset, this.store.firstOffset), maxEntries, maxBytes);
  }

  /** First offset of the first entry appended at or after `timestampMs`, or nextOffset. */
  offsetForTimestamp(timestampMs: number): number {
    return this.store.offsetForTimestamp(timestampMs);
  }

  /**
   * The offset a reader starting at `start` reads first. An offset before the first stored one
   * starts at the first; one beyond the end waits for that offset (entries before it are skipped),
   * as RabbitMQ does.
   */
  startOffset(start: StreamStart): number {
    switch (start.kind) {
      case 'first':
        return this.store.firstOffset;
      case 'last':
        return this.store.lastEntryOffset ?? this.store.nextOffset;
      case 'next':
        return this.store.nextOffset;
      case 'offset':
        return Math.max(start.offset, this.store.firstOffset);
      case 'timestamp':
        return this.store.offsetForTimestamp(start.timestampMs);
    }
  }

  /** Segments no longer taking appends, oldest first (empty when the store cannot compact). */
  closedSegments(): ClosedSegment[] {
    if (this.closed || !this.store.closedSegments) return [];
    return this.store.closedSegments();
  }

  /** Whether rewriteSegment is available (a durable store; the memory store does not compact). */
  get canRewriteSegments(): boolean {
    return this.store.rewriteSegment !== undefined;
  }

  /** Replaces a closed segment's entries with compacted ones (StreamStore.rewriteSegment). */
  rewriteSegment(baseOffset: number, entries: readonly StreamEntry[]): void {
    if (this.closed) throw new Error(`stream '${this.name}' is closed`);
    if (!this.store.rewriteSegment) throw new Error(`stream '${this.name}' cannot rewrite segments`);
    this.store.rewriteSegment(baseOffset, entries);
  }

  addReader(reader: StreamReader): void {
    this.readers.add(reader);
  }

  removeReader(reader: StreamReader): void {
    this.readers.delete(reader);
  }

  private scheduleWake(): void {
    if (this.wakeScheduled || this.readers.size === 0) return;
    this.wakeScheduled = true;
    queueMicrotask(() => {
      this.wakeScheduled = false;
      if (this.closed) return;
      for (const reader of [...this.readers]) reader.onAppend(this);
    });
  }

  /** Changes the retention limits (a policy changed) and applies them now. */
  setRetention(retention: StreamRetention): void {
    this.retention = retention;
    this.applyRetention();
    this.armRetentionTimer();
  }

  /** Drops the segments retention no longer keeps. */
  applyRetention(): void {
    if (this.closed) return;
    const { maxAgeMs, maxBytes } = this.retention;
    if (maxAgeMs === undefined && maxBytes === undefined) return;
    this.store.applyRetention(this.clock.now(), this.retention);
    this.segmentCount = this.store.segmentCount;
  }

  /** Retention also runs every retentionIntervalMs, so age limits hold while nothing is appended. */
  private armRetentionTimer(): void {
    if (this.retentionTimer !== undefined) this.clock.clearTimeout(this.retentionTimer);
    this.retentionTimer = undefined;
    const { maxAgeMs, maxBytes } = this.retention;
    if (this.closed || (maxAgeMs === undefined && maxBytes === undefined)) return;
    this.retentionTimer = this.clock.setTimeout(() => {
      this.retentionTimer = undefined;
      this.applyRetention();
      this.armRetentionTimer();
    }, this.retentionIntervalMs);
  }

  /** Deletes the stream's data (the queue or topic was deleted). */
  destroy(): void {
    this.stop();
    this.store.destroy();
  }

  /** Stops timers and releases the store without deleting data (shutdown). */
  close(): void {
    this.stop();
    this.store.close();
  }

  private stop(): void {
    this.closed = true;
    this.readers.clear();
    if (this.retentionTimer !== undefined) this.clock.clearTimeout(this.retentionTimer);
    this.retentionTimer = undefined;
  }
}
