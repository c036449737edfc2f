/**
 * A non-durable queue's ready messages: in memory while the queue is short, paged to a scratch
 * log on disk beyond its window, as RabbitMQ's classic queues keep a bounded part in memory and
 * write the rest to the queue's store, transient messages included.
 *
 * Ready messages are a head in memory (a deque, bodies loaded) followed by a paged tail: the
 * records of a QueueLog from its read cursor to its end. push() keeps a message in memory while
 * nothing is paged and the head is within the window (the hot path: a queue that stays short never
 * touches the disk); otherwise it appends a record, so once anything is paged every newer message
 * is paged too until the tail drains, and the order holds. shift() reads records back in large
 * sequential reads when the head falls to half the window. A record read back is used up: a
 * segment the cursor has passed is deleted at once, and the files go when the tail is empty.
 *
 * Under memory pressure (the broker's memory above the paging ratio of its high watermark,
 * RabbitMQ 3.10's vm_memory_high_watermark_paging_ratio) every window shrinks to PRESSURE_WINDOW_*
 * and a queue with nothing paged writes the part of its head beyond that to disk at once.
 *
 * Nothing here is fsync'd (a committer of its own, policy 'never': nothing waits on these files),
 * and the files live under <data-dir>/transient/, emptied when the broker starts: a restart loses
 * non-durable queues with their messages, as in RabbitMQ.
 */
import { join } from 'node:path';
import type { QueueStore } from '../../core/amqp/queue-store.js';
import { Deque } from '../../core/deque.js';
import type { Message, QueuedMessage } from '../../core/message.js';
import { GroupCommitter } from '../group-commit.js';
import {
  decodeMessageRecord,
  encodeMessageRecord,
  MESSAGE_RECORD_TYPE,
  messageRecordLength,
} from '../message-record.js';
import { QueueLog } from '../queue-log.js';
import type { StorageFs } from '../storage-fs.js';
import { DEFAULT_WINDOW_BYTES, DEFAULT_WINDOW_MESSAGES } from './disk-queue-store.js';

/** The window of every non-durable queue while the broker is under memory pressure. */
export const PRESSURE_WINDOW_MESSAGES = 256;
export const PRESSURE_WINDOW_BYTES = 1024 * 1024;

interface Window {
  messages: number;
  bytes: number;
}

export interface TransientQueueStorageOptions {
  /** Most ready messages a queue keeps in memory (default 10,000, as durable queues). */
  windowMessages?: number;
  /** Most body bytes a queue keeps in memory (default 16 MiB). */
  windowBytes?: number;
  segmentSizeBytes?: number;
  logger?: (line: string) => void;
}

/** Totals over every non-durable queue, for the metrics. */
export interface TransientPagingStats {
  /** Ready messages whose bodies are on disk only. */
  pagedMessages: number;
  pagedBytes: number;
  /** Ready messages held in memory with their bodies. */
  memoryMessages: number;
  memoryBytes: number;
}

/** The scratch directory of the non-durable queues of one broker run, and their shared window. */
export class TransientQueueStorage {
  readonly dir: string;
  /** Writes each turn's pages with one write per file; never fdatasyncs (policy 'never'). */
  readonly committer: GroupCommitter;
  private readonly normal: Window;
  /** The window every store reads on each push: `normal`, or smaller under memory pressure. */
  readonly window: Window;
  private readonly stores = new Set<TransientQueueStore>();
  private nextStoreId = 1;
  private pressure = false;
  private readonly segmentSizeBytes: number | undefined;
  readonly logger: (line: string) => void;

  /** Empties `dir` (what an earlier run left there is dropped, as RabbitMQ drops transient data). */
  constructor(
    dir: string,
    readonly fs: StorageFs,
    options: TransientQueueStorageOptions = {},
  ) {
    this.dir = dir;
    this.logger = options.logger ?? (() => {});
    this.segmentSizeBytes = options.segmentSizeBytes;
    this.normal = {
      messages: Math.max(1, options.windowMessages ?? DEFAULT_WINDOW_MESSAGES),
      bytes: Math.max(1, options.windowBytes ?? DEFAULT_WINDOW_BYTES),
    };
    this.window = { ...this.normal };
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    this.committer = new GroupCommitter({
      fsync: 'never',
      fs,
      onError: (err, path) => this.logger(`storage error (non-durable queue pages): ${path}: ${err.message}`),
    });
  }

  /** A store for one priority level of one non-durable queue; it touches the disk only to page. */
  openStore(): TransientQueueStore {
    const store = new TransientQueueStore(this, join(this.dir, String(this.nextStoreId++)));
    this.stores.add(store);
    return store;
  }

  /** Opens the log of a store that starts paging (QueueStore calls it). */
  openLog(dir: string): QueueLog {
    return QueueLog.open(dir, this.committer, {
      segmentSizeBytes: this.segmentSizeBytes,
      logger: this.logger,
    });
  }

  released(store: TransientQueueStore): void {
    this.stores.delete(store);
  }

  get underPressure(): boolean {
    return this.pressure;
  }

  /**
   * Memory pressure on or off: windows shrink to PRESSURE_WINDOW_* and every queue pages what it
   * holds beyond that (or grow back; paged messages come back as consumers reach them).
   */
  setMemoryPressure(on: boolean): void {
    if (on === this.pressure) return;
    this.pressure = on;
    this.window.messages = on
      ? Math.min(this.normal.messages, PRESSURE_WINDOW_MESSAGES)
      : this.normal.messages;
    this.window.bytes = on ? Math.min(this.normal.bytes, PRESSURE_WINDOW_BYTES) : this.normal.bytes;
    if (!on) return;
    let paged = 0;
    for (const store of this.stores) paged += store.pageOut();
    this.logger(`memory pressure: non-durable queues paged ${paged} message(s) to disk`);
  }

  stats(): TransientPagingStats {
    const stats = { pagedMessages: 0, pagedBytes: 0, memoryMessages: 0, memoryBytes: 0 };
    for (const store of this.stores) {
      stats.pagedMessages += store.pagedCount;
      stats.pagedBytes += store.pagedBytes;
      stats.memoryMessages += store.inMemoryCount;
      stats.memoryBytes += store.inMemoryBytes;
    }
    return stats;
  }

  /** Deletes every store's files and the directory (broker shutdown). */
  close(): void {
    for (const store of [...this.stores]) store.destroy();
    this.fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export class TransientQueueStore implements QueueStore {
  private readonly head = new Deque<QueuedMessage>();
  private headBytes = 0;
  private log: QueueLog | undefined;
  /** Ready messages on disk only: the log's records from its cursor to its end. */
  pagedCount = 0;
  pagedBytes = 0;
  /** Sequence of the first paged message (the paged tail is a contiguous run of sequences). */
  private pagedSequence = 0;
  private nextSequence = 0;
  private readonly window: Window;
  private readLogged = false;

  constructor(
    private readonly storage: TransientQueueStorage,
    readonly dir: string,
  ) {
    this.window = storage.window;
  }

  get readyCount(): number {
    return this.head.length + this.pagedCount;
  }

  get readyBytes(): number {
    return this.headBytes + this.pagedBytes;
  }

  get inMemoryCount(): number {
    return this.head.length;
  }

  get inMemoryBytes(): number {
    return this.headBytes;
  }

  push(message: Message, expiresAtMs = 0): QueuedMessage {
    const queued: QueuedMessage = {
      message,
      sequence: this.nextSequence++,
      deliveryCount: 0,
      expiresAtMs,
      storageRef: undefined,
    };
    const size = message.bodySizeBytes;
    const head = this.head;
    // An empty queue always takes its first message in memory, whatever its size.
    if (
      this.pagedCount === 0 &&
      (head.length === 0 ||
        (head.length < this.window.messages && this.headBytes + size <= this.window.bytes))
    ) {
      head.push(queued);
      this.headBytes += size;
    } else {
      this.page(queued);
    }
    return queued;
  }

  /** Appends a message to the paged tail (it must be the newest ready message). */
  private page(queued: QueuedMessage): void {
    const { message, expiresAtMs } = queued;
    if (!this.log) {
      this.log = this.storage.openLog(this.dir);
      this.readLogged = false;
    }
    const log = this.log;
    const offset = log.beginAppend(MESSAGE_RECORD_TYPE, messageRecordLength(message, expiresAtMs));
    encodeMessageRecord(log.appendBuffer, offset, message, expiresAtMs);
    log.endAppend();
    if (this.pagedCount === 0) this.pagedSequence = queued.sequence;
    this.pagedCount++;
    this.pagedBytes += message.bodySizeBytes;
  }

  /**
   * Memory pressure: with nothing paged yet, writes the newest messages of the head beyond the
   * window to disk (with a paged tail already there the head is within the window it had, and
   * drains to the smaller one as consumers take from it). Returns how many were paged.
   */
  pageOut(): number {
    if (this.pagedCount > 0) return 0;
    const moved: QueuedMessage[] = [];
    const head = this.head;
    while (head.length > this.window.messages || (head.length > 1 && this.headBytes > this.window.bytes)) {
      const queued = head.pop()!;
      this.headBytes -= queued.message.bodySizeBytes;
      moved.push(queued);
    }
    for (let i = moved.length - 1; i >= 0; i--) this.page(moved[i]!);
    return moved.length;
  }

  peek(): QueuedMessage | undefined {
    if (this.head.length === 0 && this.pagedCount > 0) this.refill();
    return this.head.peek();
  }

  peekMany(count: number): QueuedMessage[] {
    if (this.head.length < count && this.pagedCount > 0) this.refill();
    const out: QueuedMessage[] = [];
    if (count <= 0) return out;
    for (const queued of this.head) {
      out.push(queued);
      if (out.length >= count) break;
    }
    return out;
  }

  shift(): QueuedMessage | undefined {
    if (this.pagedCount > 0 && this.head.length <= this.window.messages >>> 1) this.refill();
    const queued = this.head.shift();
    if (queued) this.headBytes -= queued.message.bodySizeBytes;
    return queued;
  }

  /** Reads paged messages back into the head, up to the window; used-up segments are deleted. */
  private refill(): void {
    const log = this.log;
    if (!log) return;
    const window = this.window;
    const maxCount = Math.min(this.pagedCount, Math.max(1, window.messages - this.head.length));
    const maxBytes = Math.max(1, window.bytes - this.headBytes);
    const records = log.readNext(maxCount, maxBytes);
    for (const record of records) {
      const { message, expiresAtMs } = decodeMessageRecord(record.payload);
      this.head.push({
        message,
        sequence: this.pagedSequence++,
        deliveryCount: 0,
        expiresAtMs,
        storageRef: undefined,
      });
      this.headBytes += message.bodySizeBytes;
      this.pagedCount--;
      this.pagedBytes -= message.bodySizeBytes;
    }
    if (records.length === 0 && !this.readLogged) {
      // The pages are still staged (a write failing for lack of space is retried): try again later.
      this.readLogged = true;
      this.storage.logger(
        `non-durable queue store ${this.dir}: ${this.pagedCount} paged message(s) not readable yet (their write is pending)`,
      );
    }
    if (this.pagedCount === 0) this.dropLog();
    else log.discardReadSegments();
  }

  /** Deletes the scratch files; the next page starts a new log. */
  private dropLog(): void {
    const log = this.log;
    if (!log) return;
    this.log = undefined;
    log.destroy();
    this.storage.fs.rmSync(this.dir, { recursive: true, force: true });
  }

  // Nothing of a non-durable queue outlives the process: deliveries and settles need no record.
  markDelivered(_queued: QueuedMessage): void {}

  settle(_queued: QueuedMessage): void {}

  settleAfterDurable(_queued: QueuedMessage): void {}

  purge(): number {
    const removed = this.readyCount;
    this.head.clear();
    this.headBytes = 0;
    this.pagedCount = 0;
    this.pagedBytes = 0;
    this.dropLog();
    return removed;
  }

  destroy(): void {
    this.purge();
    this.storage.released(this);
  }

  /** Broker shutdown: a non-durable queue's messages do not survive it, so its files go now. */
  close(): void {
    this.destroy();
  }
}
