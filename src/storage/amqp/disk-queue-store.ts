/**
 * A durable queue's ready messages on disk (QueueStore over a QueueLog).
 *
 * Every pushed message is appended to the log, persistent or not, so the order on disk is the
 * queue order. Ready messages are split in two: a window at the head with bodies in memory, and
 * a disk-only tail that is a contiguous run of the log from the read cursor to the end. While the
 * tail is empty and the window has room, push() keeps the message in the window (and moves the
 * cursor past it); otherwise push() only appends and counts. shift() refills the window from the
 * cursor in large sequential reads once it falls to half, so memory stays bounded by the window.
 *
 * On open, persistent records not acked become the initial ready messages (all disk-only, read
 * lazily); transient records are treated as acked, as RabbitMQ drops transient messages on
 * restart. A persistent message's append is staged in the committer in the same event-loop turn,
 * so the committer's next afterDurable round covers it (publisher confirms wait on that).
 */
import type { QueueStore } from '../../core/amqp/queue-store.js';
import type { RecoveredDedupId, StoredDedupId } from '../../core/dedup-store.js';
import type { Message, QueuedMessage } from '../../core/message.js';
import type { GroupCommitter } from '../group-commit.js';
import {
  decodeMessageRecord,
  encodeMessageRecord,
  MESSAGE_RECORD_TYPE,
  messageRecordLength,
  peekMessageRecord,
} from '../message-record.js';
import { type LogLocation, QueueLog } from '../queue-log.js';

export interface DiskQueueStoreOptions {
  segmentSizeBytes?: number;
  /** Most messages kept in memory with their bodies (default 10,000). */
  windowMessages?: number;
  /** Most body bytes kept in memory (default 16 MiB). */
  windowBytes?: number;
  logger?: (line: string) => void;
  /** Called once when the store is closed or destroyed (Storage tracks its open stores). */
  onRelease?: () => void;
}

export const DEFAULT_WINDOW_MESSAGES = 10_000;
export const DEFAULT_WINDOW_BYTES = 16 * 1024 * 1024;

export class DiskQueueStore implements QueueStore {
  readonly dir: string;
  private readonly log: QueueLog;
  private readonly committer: GroupCommitter;
  private readonly windowMessages: number;
  private readonly windowBytesLimit: number;
  private readonly logger: (line: string) => void;
  private readonly onRelease: (() => void) | undefined;
  /** window[windowHead ..] are the in-memory ready messages, oldest first. */
  private window: QueuedMessage[] = [];
  private windowHead = 0;
  private windowBytes = 0;
  private diskOnlyCount = 0;
  private diskOnlyBytes = 0;
  /** Sequence of the first disk-only message. */
  private diskSequence = 0;
  private nextSequence = 0;
  /** Dedup ids of recovered messages, until the queue takes them (or the first shift). */
  private recoveredDedupIds: RecoveredDedupId[] | undefined;
  /** Dead-lettered messages whose ack waits for their copy to be durable (settleAfterDurable). */
  private readonly settlesWaiting = new Set<QueuedMessage>();
  private closed = false;

  private constructor(dir: string, log: QueueLog, committer: GroupCommitter, options: DiskQueueStoreOptions) {
    this.dir = dir;
    this.log = log;
    this.committer = committer;
    this.windowMessages = Math.max(1, options.windowMessages ?? DEFAULT_WINDOW_MESSAGES);
    this.windowBytesLimit = Math.max(1, options.windowBytes ?? DEFAULT_WINDOW_BYTES);
    this.logger = options.logger ?? (() => {});
    this.onRelease = options.onRelease;
  }

  /** Opens the store in `dir`, recovering unsettled persistent messages as ready messages. */
  static open(dir: string, committer: GroupCommitter, options: DiskQueueStoreOptions = {}): DiskQueueStore {
    let count = 0;
    let bytes = 0;
    const dedupIds: RecoveredDedupId[] = [];
    const logger = options.logger;
    const log = QueueLog.open(dir, committer, {
      segmentSizeBytes: options.segmentSizeBytes,
      logger,
      recover: (type, payload) => {
        if (type !== MESSAGE_RECORD_TYPE) return false;
        const peek = peekMessageRecord(payload);
        if (!peek?.persistent) return false;
        // Recovered messages get sequences 0, 1, ... in log order (see refill).
        if (peek.dedupId) dedupIds.push({ ...peek.dedupId, sequence: count });
        count++;
        bytes += peek.bodySizeBytes;
        return true;
      },
    });
    const store = new DiskQueueStore(dir, log, committer, options);
    store.diskOnlyCount = count;
    store.diskOnlyBytes = bytes;
    store.nextSequence = count;
    if (dedupIds.length > 0) store.recoveredDedupIds = dedupIds;
    return store;
  }

  get readyCount(): number {
    return this.window.length - this.windowHead + this.diskOnlyCount;
  }

  get readyBytes(): number {
    return this.windowBytes + this.diskOnlyBytes;
  }

  /** Ready messages whose bodies are held in memory (for tests and metrics). */
  get inMemoryCount(): number {
    return this.window.length - this.windowHead;
  }

  get inMemoryBytes(): number {
    return this.windowBytes;
  }

  /** Segment files kept by the log (for tests and metrics). */
  get segmentCount(): number {
    return this.log.segmentCount;
  }

  takeRecoveredDedupIds(): RecoveredDedupId[] | undefined {
    const ids = this.recoveredDedupIds;
    this.recoveredDedupIds = undefined;
    return ids;
  }

  push(message: Message, expiresAtMs = 0, dedupId?: StoredDedupId): QueuedMessage {
    const log = this.log;
    const offset = log.beginAppend(MESSAGE_RECORD_TYPE, messageRecordLength(message, expiresAtMs, dedupId));
    encodeMessageRecord(log.appendBuffer, offset, message, expiresAtMs, dedupId);
    const location = log.endAppend();
    const queued: QueuedMessage = {
      message,
      sequence: this.nextSequence++,
      deliveryCount: 0,
      expiresAtMs,
      storageRef: location,
    };
    const size = message.bodySizeBytes;
    if (
      this.diskOnlyCount === 0 &&
      this.window.length - this.windowHead < this.windowMessages &&
      this.windowBytes + size <= this.windowBytesLimit
    ) {
      this.window.push(queued);
      this.windowBytes += size;
      log.moveCursorToEnd();
    } else {
      if (this.diskOnlyCount === 0) this.diskSequence = queued.sequence;
      this.diskOnlyCount++;
      this.diskOnlyBytes += size;
    }
    return queued;
  }

  peek(): QueuedMessage | undefined {
    if (this.windowHead >= this.window.length && this.diskOnlyCount > 0) this.refill();
    return this.windowHead < this.window.length ? this.window[this.windowHead] : undefined;
  }

  peekMany(count: number): QueuedMessage[] {
    if (this.window.length - this.windowHead < count && this.diskOnlyCount > 0) this.refill();
    const end = Math.min(this.window.length, this.windowHead + Math.max(0, count));
    return this.window.slice(this.windowHead, end);
  }

  shift(): QueuedMessage | undefined {
    // Once messages leave, the recovered list is stale: a queue without deduplication drops it here.
    this.recoveredDedupIds = undefined;
    const inMemory = this.window.length - this.windowHead;
    if (this.diskOnlyCount > 0 && inMemory <= this.windowMessages >>> 1) this.refill();
    if (this.windowHead >= this.window.length) return undefined;
    const queued = this.window[this.windowHead]!;
    this.window[this.windowHead] = undefined as unknown as QueuedMessage;
    this.windowHead++;
    if (this.windowHead === this.window.length) {
      this.window = [];
      this.windowHead = 0;
    } else if (this.windowHead >= 4096 && this.windowHead * 2 >= this.window.length) {
      this.window = this.window.slice(this.windowHead);
      this.windowHead = 0;
    }
    this.windowBytes -= queued.message.bodySizeBytes;
    return queued;
  }

  /** Reads disk-only messages into the window, up to its limits. */
  private refill(): void {
    const inMemory = this.window.length - this.windowHead;
    const maxCount = Math.min(this.diskOnlyCount, this.windowMessages - inMemory);
    const maxBytes = Math.max(1, this.windowBytesLimit - this.windowBytes);
    if (maxCount <= 0) return;
    const records = this.log.readNext(maxCount, maxBytes);
    for (const record of records) {
      if (record.type !== MESSAGE_RECORD_TYPE) continue;
      const { message, expiresAtMs } = decodeMessageRecord(record.payload);
      const location: LogLocation = { segmentId: record.segmentId, position: record.position };
      this.window.push({
        message,
        sequence: this.diskSequence++,
        // Delivered before a restart: the next delivery is a redelivery, as in RabbitMQ.
        deliveryCount: record.delivered ? 1 : 0,
        expiresAtMs,
        storageRef: location,
      });
      this.windowBytes += message.bodySizeBytes;
      this.diskOnlyCount--;
      this.diskOnlyBytes -= message.bodySizeBytes;
    }
    if (records.length === 0 || this.diskOnlyCount < 0) {
      // The log ran out before the count did: the files changed under us or a record was unreadable.
      this.logger(`queue store ${this.dir}: ${this.diskOnlyCount} messages expected on disk were not found`);
      this.diskOnlyCount = 0;
      this.diskOnlyBytes = 0;
    }
  }

  markDelivered(queued: QueuedMessage): void {
    // Transient messages do not survive a restart, so their deliveries need no record.
    const location = queued.storageRef as LogLocation | undefined;
    if (location && queued.message.persistent && !this.closed) this.log.markDelivered(location);
  }

  settle(queued: QueuedMessage): void {
    const location = queued.storageRef as LogLocation | undefined;
    if (location && !this.closed) this.log.ack(location);
  }

  settleAfterDurable(queued: QueuedMessage): void {
    if (this.closed || queued.storageRef === undefined) return;
    // Acking now could let the ack (or the deletion of a fully acked segment, which is immediate)
    // reach the disk before the dead-lettered copy the queue routes right after this call. The
    // committer fires this callback after a sync round that began at the end of this turn or
    // later, so the round covers that copy.
    this.settlesWaiting.add(queued);
    this.committer.afterDurable(() => {
      if (this.settlesWaiting.delete(queued)) this.settle(queued);
    });
  }

  purge(): number {
    this.recoveredDedupIds = undefined;
    const count = this.readyCount;
    for (let i = this.windowHead; i < this.window.length; i++)
      this.log.ack(this.window[i]!.storageRef as LogLocation);
    this.window = [];
    this.windowHead = 0;
    this.windowBytes = 0;
    if (this.diskOnlyCount > 0) this.log.ackFromCursor();
    else this.log.moveCursorToEnd();
    this.diskOnlyCount = 0;
    this.diskOnlyBytes = 0;
    return count;
  }

  destroy(): void {
    if (!this.closed) this.onRelease?.();
    this.closed = true;
    this.settlesWaiting.clear();
    this.log.destroy();
    this.window = [];
    this.windowHead = 0;
    this.committer.fs.rmSync(this.dir, { recursive: true, force: true });
  }

  close(): void {
    if (this.closed) return;
    // A clean shutdown writes the copies too (the committer flushes everything after this).
    for (const queued of this.settlesWaiting) this.settle(queued);
    this.settlesWaiting.clear();
    this.closed = true;
    this.onRelease?.();
    this.log.close();
    this.window = [];
    this.windowHead = 0;
  }
}
