/**
 * One Kafka topic partition: a core Stream of record batches plus the two offsets Kafka keeps
 * beside the log, the high watermark (what is durable, so readable) and the log start offset
 * (DeleteRecords and retention move it).
 */
import type { DurabilityBarrier } from '../durability.js';
import type { Stream } from '../stream/stream.js';
import type { PayloadTailCrc } from '../stream/stream-store.js';
import type { TopicPartition } from './topic.js';

export class PartitionLog implements TopicPartition {
  private hw: number;
  /** DeleteRecords' log start offset; retention may move the stream's first offset past it. */
  private deletedBefore: number;
  private readonly watchers = new Set<() => void>();
  private closed = false;

  constructor(
    readonly topic: string,
    readonly index: number,
    readonly stream: Stream,
    private readonly durability: DurabilityBarrier,
    deletedBefore: number,
    /** Persists a new DeleteRecords offset before deleteRecordsBefore returns. */
    private readonly persistLogStart: (partition: PartitionLog) => void,
  ) {
    // Whatever a restart recovered was durable, so it is all readable.
    this.hw = stream.nextOffset;
    this.deletedBefore = deletedBefore;
  }

  get highWatermark(): number {
    return this.hw;
  }

  get logStartOffset(): number {
    return Math.min(Math.max(this.stream.firstOffset, this.deletedBefore), this.hw);
  }

  /** The DeleteRecords offset as stored (0 when never set). */
  get deleteRecordsOffset(): number {
    return this.deletedBefore;
  }

  append(batch: Buffer, recordCount: number, timestampMs: number, batchCrc?: PayloadTailCrc): number {
    const offset = this.stream.appendRaw(batch, recordCount, timestampMs, batchCrc);
    const end = offset + recordCount;
    this.durability.afterDurable(() => this.advance(end));
    return offset;
  }

  private advance(end: number): void {
    if (this.closed || end <= this.hw) return;
    this.hw = end;
    this.notify();
  }

  private notify(): void {
    if (this.watchers.size === 0) return;
    for (const watcher of [...this.watchers]) watcher();
  }

  wakeReaders(): void {
    if (!this.closed) this.notify();
  }

  watchHighWatermark(listener: () => void): () => void {
    this.watchers.add(listener);
    return () => this.watchers.delete(listener);
  }

  deleteRecordsBefore(offset: number): void {
    if (this.closed) throw new Error(`partition ${this.topic}-${this.index} is deleted`);
    if (!Number.isInteger(offset) || offset < 0 || offset > this.hw)
      throw new RangeError(
        `DeleteRecords offset ${offset} is outside 0..${this.hw} (the high watermark) of ${this.topic}-${this.index}`,
      );
    if (offset <= this.logStartOffset) return;
    this.deletedBefore = offset;
    this.persistLogStart(this);
  }

  /** True once the topic was deleted: appends fail, watchers were woken one last time. */
  get isDeleted(): boolean {
    return this.closed;
  }

  /** The topic was deleted: drop the data and wake long polls so they find the topic gone. */
  destroy(): void {
    this.closed = true;
    this.stream.destroy();
    this.notify();
    this.watchers.clear();
  }

  /** Shutdown: keep the data. */
  close(): void {
    this.closed = true;
    this.stream.close();
    this.watchers.clear();
  }
}
