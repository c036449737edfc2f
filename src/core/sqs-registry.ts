import type { Clock } from './clock.js';
import type { DefinitionWriter } from './definitions.js';
import type { DurabilityBarrier } from './queue-store.js';
import type { SqsQueue } from './sqs-queue.js';
import type { SqsQueueSettings } from './sqs-settings.js';
import type { SqsStorage } from './sqs-store.js';

export interface SqsRegistryOptions {
  readonly clock: Clock;
  /** The 12-digit account id in queue URLs and ARNs. */
  readonly accountId: string;
  readonly region: string;
  /** Durable stores; undefined = memory only (no storage). */
  readonly storage?: SqsStorage | undefined;
  readonly definitions: DefinitionWriter;
  /** Answers to sends wait on it (group commit); resolves at once without storage. */
  readonly durability: DurabilityBarrier;
}

/** A message move task (StartMessageMoveTask), as ListMessageMoveTasks reports it. */
export interface SqsMoveTaskInfo {
  readonly taskHandle: string;
  readonly status: 'RUNNING' | 'COMPLETED' | 'CANCELLING' | 'CANCELLED' | 'FAILED';
  readonly sourceArn: string;
  /** Undefined: each message goes back to the queue it was dead-lettered from. */
  readonly destinationArn: string | undefined;
  readonly maxNumberOfMessagesPerSecond: number | undefined;
  readonly approximateNumberOfMessagesMoved: number;
  readonly approximateNumberOfMessagesToMove: number;
  readonly failureReason: string | undefined;
  readonly startedAtMs: number;
}

/** A queue's bookkeeping beyond its settings. */
export interface SqsQueueInfo {
  readonly createdAtMs: number;
  readonly lastModifiedAtMs: number;
  readonly tags: Readonly<Record<string, string>>;
}

/**
 * The SQS queues of the broker, by name, with their definitions (settings, tags, timestamps) kept
 * in the definitions store, dead-letter relations, and message move tasks.
 */
export declare class SqsQueueRegistry {
  readonly accountId: string;
  readonly region: string;
  readonly durability: DurabilityBarrier;
  constructor(options: SqsRegistryOptions);
  arnOf(queueName: string): string;
  /** The queue name an ARN of this account and region names, undefined for others. */
  queueNameOfArn(arn: string): string | undefined;
  /** Re-creates the queues recorded in the definitions (at start-up, before serving). */
  restore(entries: Iterable<{ kind: string; key: string; value: unknown }>): void;
  get(queueName: string): SqsQueue | undefined;
  /** Throws SqsCoreError('QueueDoesNotExist') when there is no such queue. */
  require(queueName: string): SqsQueue;
  info(queue: SqsQueue): SqsQueueInfo;
  /** Creates a queue (the caller has checked the name and compared with an existing one). */
  create(queueName: string, settings: SqsQueueSettings, tags: Readonly<Record<string, string>>): SqsQueue;
  /** SetQueueAttributes / AddPermission / RemovePermission: new settings, persisted. */
  updateSettings(queue: SqsQueue, settings: SqsQueueSettings): void;
  tag(queue: SqsQueue, tags: Readonly<Record<string, string>>): void;
  untag(queue: SqsQueue, keys: readonly string[]): void;
  delete(queue: SqsQueue): void;
  /** Queues whose name starts with `prefix`, sorted by name. */
  list(prefix?: string): SqsQueue[];
  /** Queues whose redrive policy names `deadLetterQueue` as their DLQ, sorted by name. */
  deadLetterSourcesOf(deadLetterQueue: SqsQueue): SqsQueue[];
  /**
   * StartMessageMoveTask: moves the visible messages of a dead-letter queue back to their source
   * queues (or to `destinationArn`), at most `maxPerSecond` a second if given. Returns the handle.
   */
  startMoveTask(sourceArn: string, destinationArn?: string, maxPerSecond?: number): string;
  /** Most recent first, at most `maxResults`. */
  listMoveTasks(sourceArn: string, maxResults: number): SqsMoveTaskInfo[];
  /** Returns the number of messages moved so far. */
  cancelMoveTask(taskHandle: string): number;
  /** Broker shutdown: long polls answered, timers stopped, stores closed. */
  close(): void;
}
