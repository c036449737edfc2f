import type { SqsMessage } from './message.js';

/**
 * A stored message as the queue holds it (its index entry, or the message itself): where the store
 * put it, and the receive count and first-receive time to record.
 */
export interface SqsStoredMessage {
  /** A non-negative 32-bit integer the store chose (queues keep it in an Int32Array). */
  storageRef: unknown;
  readonly receiveCount: number;
  readonly firstReceivedAtMs: number;
}

/**
 * What a queue needs to index a recovered message without its content (read back with load()).
 */
export interface SqsRecoveredMessage extends SqsStoredMessage {
  readonly sentAtMs: number;
  readonly visibleFromMs: number;
  readonly sizeBytes: number;
  readonly messageGroupId: string | undefined;
  readonly sequenceNumber: string | undefined;
}

/**
 * Where a durable SQS queue keeps its messages: a write-ahead log of sends and deletions. The
 * queue (core/sqs/queue.ts) keeps an index entry for every live message and is the authority; the
 * content of a message may stay only here (paged out, read back by load()). The store has to bring
 * back, after a restart or a crash, every message whose send was answered and that was not deleted.
 *
 * One implementation: DiskSqsStore (storage/sqs/disk-sqs-store.ts). Brokers without storage give queues
 * no store (memory only).
 */
export interface SqsMessageStore {
  /**
   * Calls `visit` for each message stored before this open and not removed, in send order, with
   * the receive count and first-receive time last recorded, without their content (load() reads
   * it). The object passed may be reused for the next call: copy what is kept. Done once (a second
   * call visits nothing).
   */
  recoverIndex(visit: (message: SqsRecoveredMessage) => void): void;
  /** How many messages recoverIndex() will visit (at most), so the queue sizes its index once. */
  pendingRecoveryCount?(): number;
  /**
   * The whole message stored for `stored` (read from disk), with the receive count and time as
   * last recorded there. Throws when it cannot be read (the record is gone or corrupt).
   */
  load(stored: SqsStoredMessage): SqsMessage;
  /**
   * Appends a message and sets its storageRef. The write is staged in the group committer in this
   * event-loop turn: the protocol layer answers the send from `afterDurable` (durability.ts).
   */
  append(message: SqsMessage): void;
  /**
   * Records a receive (receiveCount and firstReceivedAtMs as now set on the message). Not waited
   * for: a crash may forget the newest receives, so a redelivered message may count fewer. Queues
   * call it only while they have a redrive policy (the count decides when a message moves).
   */
  recordReceive(message: SqsStoredMessage): void;
  /** Deletes a message for good (DeleteMessage, retention expiry, purge). */
  remove(message: SqsStoredMessage): void;
  /**
   * remove(), once every write made in this event-loop turn is durable: used when the message was
   * copied to another queue in the same turn (dead-lettering, move tasks), so a crash leaves it
   * in one queue or both (at least once), never in neither.
   */
  removeAfterDurable(message: SqsStoredMessage): void;
  /** Removes the store's data for good (queue deleted). */
  destroy(): void;
  /** Releases resources and keeps the data (broker shutdown). */
  close(): void;
}

/** Opens (recovering) the stores of one durable SQS queue, named by its queue id. */
export interface SqsStorage {
  openMessageStore(queueId: string): SqsMessageStore;
  /** FIFO deduplication ids, so the 5-minute window holds across a restart (core/dedup-store.ts). */
  openDedupStore(queueId: string): import('../dedup-store.js').DedupStore;
  /** Deletes the data of queue ids not in `keep` (queues deleted while the broker was down). */
  removeOrphans(keep: ReadonlySet<string>): void;
}
