import type { RecoveredDedupId, StoredDedupId } from '../dedup-store.js';
import type { Message, QueuedMessage } from '../message.js';

/**
 * Where a queue keeps its ready messages. The core's Queue owns leases, consumers and requeue
 * order; the store only keeps messages in FIFO order and makes them durable when asked.
 *
 * Three implementations: MemoryQueueStore (core: tests and offline admin), TransientQueueStore
 * (storage, the broker's non-durable queues: a window in memory, the rest paged to a scratch log,
 * nothing kept across a restart) and DiskQueueStore
 * (storage, for durable queues: appends to a segment log and keeps only a window of message
 * bodies in memory, so a queue of millions of messages does not fill the heap). A durable store
 * opened on existing data starts with the unsettled persistent messages it recovered as ready
 * messages, read from disk as shift() reaches them.
 */
export interface QueueStore {
  /** Ready messages in the store, excluding those taken by shift() and not yet settled. */
  readonly readyCount: number;
  /** Sum of bodySizeBytes of ready messages. */
  readonly readyBytes: number;
  /**
   * Appends at the tail. A durable store persists `message.persistent` messages, with the
   * queue-specific expiry time (0 = never) so TTLs still hold after a restart, and with the
   * message's deduplication id, if given, so the queue's id set can be rebuilt after a restart.
   */
  push(message: Message, expiresAtMs?: number, dedupId?: StoredDedupId): QueuedMessage;
  /**
   * The deduplication ids of the messages a durable store recovered at open, in store order
   * (handed over once; undefined or empty for stores that recovered none). Each names the
   * `sequence` its message will have when shift() hands it out.
   */
  takeRecoveredDedupIds?(): RecoveredDedupId[] | undefined;
  /** Takes the head message (body loaded), or undefined when empty. It stays stored until settled. */
  shift(): QueuedMessage | undefined;
  /** The head message without taking it (for TTL checks), or undefined when empty. */
  peek(): QueuedMessage | undefined;
  /**
   * Up to `count` ready messages from the head, in order, without taking them (bodies loaded). A
   * durable store answers from its in-memory window (filled from the disk first, as shift()
   * would), so it may return fewer than asked when the window's limits are reached.
   */
  peekMany(count: number): QueuedMessage[];
  /**
   * Records that a message was handed to a consumer for the first time, so that after a restart
   * it comes back flagged redelivered (as RabbitMQ does). Memory stores do nothing.
   */
  markDelivered(queued: QueuedMessage): void;
  /** Permanently removes a message previously shifted (ack, reject without requeue, drop). */
  settle(queued: QueuedMessage): void;
  /**
   * settle(), but a durable store removes the message only once every write made in this
   * event-loop turn is durable: the queue calls it for a message it dead-letters, whose copy is
   * routed in the same turn, so a crash leaves the message here, in the target or in both (at
   * least once), never in neither.
   */
  settleAfterDurable(queued: QueuedMessage): void;
  /** Removes every ready message; returns how many were removed. */
  purge(): number;
  /** Removes the store's data for good (queue deleted). */
  destroy(): void;
  /** Releases resources without deleting data (broker shutdown). */
  close(): void;
}
