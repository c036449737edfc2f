import type { Clock } from './clock.js';
import type { DedupStore } from './dedup-store.js';
import type { SqsMessage, SqsReceivedMessage, SqsSendInput } from './sqs-message.js';
import type { SqsQueueSettings } from './sqs-settings.js';
import type { SqsMessageStore } from './sqs-store.js';

/** What a queue needs from the registry around it. */
export interface SqsQueueHost {
  readonly clock: Clock;
  /**
   * Moves a message past its redrive policy's maxReceiveCount to the dead-letter queue (a copy is
   * sent there in this turn). False when the dead-letter queue does not exist: the message stays.
   */
  deadLetter(source: SqsQueue, message: SqsMessage): boolean;
}

export interface SqsReceiveRequest {
  /** MaxNumberOfMessages, 1-10 (checked by the protocol layer). */
  readonly maxMessages: number;
  /** VisibilityTimeout for these messages; undefined = the queue's. */
  readonly visibilityTimeoutSeconds?: number | undefined;
  /** FIFO: a retried receive with the same id gets the same messages back while they are in flight. */
  readonly receiveRequestAttemptId?: string | undefined;
}

/** How a lease operation (DeleteMessage, ChangeMessageVisibility) went. */
export type SqsLeaseResult =
  /** Done. */
  | 'ok'
  /** The handle is not one this queue issued (ReceiptHandleIsInvalid). */
  | 'invalid'
  /** The lease is over: the message became visible and was received again, or is gone. */
  | 'expired'
  /** ChangeMessageVisibility on a message that is visible again (MessageNotInflight). */
  | 'not-inflight';

/** A long poll in progress; cancel() when the HTTP request goes away. */
export interface SqsPendingReceive {
  cancel(): void;
}

export interface SqsQueueCounts {
  /** ApproximateNumberOfMessages: visible now. */
  readonly visible: number;
  /** ApproximateNumberOfMessagesNotVisible: received, lease not over. */
  readonly inFlight: number;
  /** ApproximateNumberOfMessagesDelayed: sent with a delay not yet passed. */
  readonly delayed: number;
}

/**
 * One SQS queue, standard or FIFO: every live message in memory (the store is the write-ahead
 * log), visibility-timeout leases on the injected clock, delays, retention, long polls, FIFO
 * message groups and the deduplication window, and redrive to a dead-letter queue.
 */
export declare class SqsQueue {
  /** Stable id for the storage directory (a queue re-created under the same name gets a new one). */
  readonly id: string;
  readonly name: string;
  readonly arn: string;
  settings: SqsQueueSettings;
  constructor(options: {
    id: string;
    name: string;
    arn: string;
    settings: SqsQueueSettings;
    host: SqsQueueHost;
    store?: SqsMessageStore | undefined;
    dedupStore?: DedupStore | undefined;
  });
  get isFifo(): boolean;
  counts(): SqsQueueCounts;
  /** New settings (SetQueueAttributes); re-arms timers, wakes long polls if needed. */
  applySettings(settings: SqsQueueSettings): void;
  /**
   * Stores a message. FIFO: a duplicate within the deduplication window is not stored, and the
   * result carries the original's MessageId and SequenceNumber. The caller answers the client from
   * the store's afterDurable (the registry's `durability`).
   */
  send(input: SqsSendInput): { message: SqsMessage; duplicate: boolean };
  /**
   * Stores a copy of a message from another queue (dead-lettering, move tasks): same MessageId,
   * body, attributes and SentTimestamp; receive count reset; `deadLetterSourceArn` as given.
   */
  sendCopy(message: SqsMessage, deadLetterSourceArn: string | undefined): SqsMessage;
  /**
   * ReceiveMessage: leases up to maxMessages visible messages. With waitTimeMs > 0 and nothing
   * visible, waits (on the clock) until a message becomes visible or the time passes; `done` is
   * called exactly once, synchronously when the answer is known at once.
   */
  receive(
    request: SqsReceiveRequest,
    waitTimeMs: number,
    done: (received: SqsReceivedMessage[]) => void,
  ): SqsPendingReceive;
  deleteMessage(receiptHandle: string): SqsLeaseResult;
  changeVisibility(receiptHandle: string, visibilityTimeoutSeconds: number): SqsLeaseResult;
  /** PurgeQueue: removes every message, visible or not; refused within 60 s of the last purge. */
  purge(): void;
  /** Visible messages, oldest first, for move tasks (not leased; take() removes). */
  peekVisible(): SqsMessage | undefined;
  /** Removes a visible message for a move task, after its copy is durable. */
  takeForMove(message: SqsMessage): void;
  /** The queue is deleted: long polls answer empty, timers stop, stored data goes. */
  destroy(): void;
  /** Broker shutdown: long polls answer empty, timers stop, data kept. */
  close(): void;
}
