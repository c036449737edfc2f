/**
 * A stream view: an AMQP stream queue (`x-queue-type: stream`) whose log is another model's — a
 * Kafka topic partition, named by the `x-kafka-topic` / `x-kafka-partition` arguments — rather
 * than a log of its own. Publishes become records of that log and its records become deliveries,
 * so one log serves both protocols with nothing copied between them (docs/bridges.md).
 *
 * The core knows neither Kafka nor the stored record format: composition hands the vhost a
 * StreamViewFactory (src/composition/stream-view.ts) whose StreamLogView converts between AMQP
 * messages and the log's entries (src/bridge/stream-view-codec.ts) and says how far the log is
 * readable (durable and committed).
 */

import type { Message, QueuedMessage } from '../message.js';
import type { Stream, StreamReader, StreamStart } from '../stream/stream.js';
import type { StreamEntry } from '../stream/stream-store.js';
import type { Arguments } from './exchange.js';
import type { AppliedPolicy } from './policies.js';
import type { EnqueueResult, QueueConsumer, QueueHost, QueueOptions } from './queue.js';
import { resolveQueueSettings } from './queue-arguments.js';
import { type StreamConsumerReader, StreamQueue } from './stream-queue.js';

/** The argument naming the Kafka topic a stream queue is a view of. */
export const VIEW_TOPIC_ARGUMENT = 'x-kafka-topic';
/** The argument naming the partition (required when the topic has several). */
export const VIEW_PARTITION_ARGUMENT = 'x-kafka-partition';

/** Whether queue arguments declare a stream view of another model's log. */
export function isStreamViewArguments(args: Arguments): boolean {
  return args[VIEW_TOPIC_ARGUMENT] !== undefined;
}

/** One record of the viewed log in its AMQP form. */
export interface ViewMessage {
  /** The record's offset in the log: the delivery's `x-stream-offset`. */
  readonly offset: number;
  readonly message: Message;
}

/** A log owned by another model, as a stream view reads and appends to it. */
export interface StreamLogView {
  /** What the view is of, for texts: "Kafka topic 'orders' partition 0". */
  readonly description: string;
  /** The log: read here; appended to only through append(); never closed or destroyed by the view. */
  readonly stream: Stream;
  /** First readable offset (Kafka's log start offset). */
  readonly firstOffset: number;
  /** One past the last offset consumers may read: durable and not in an open transaction (Kafka's LSO). */
  readonly readableEnd: number;
  /** The log is gone (the topic was deleted). */
  readonly isGone: boolean;
  /** Appends a message as one record; returns why it was refused, or undefined once appended. */
  append(message: Message): string | undefined;
  /** The messages an entry holds, in offset order, without control records and aborted transactions. */
  messagesOf(entry: StreamEntry): ViewMessage[];
  /** Calls `listener` when readableEnd may have moved; returns an unsubscribe. */
  watch(listener: () => void): () => void;
}

/** What an AMQP client does through a view, as the viewed log's own access rules name it. */
export type StreamViewOperation = 'read' | 'write' | 'declare';

/** The AMQP client asking: its user and the address it connects from. */
export interface StreamViewClient {
  readonly user: string;
  readonly host: string;
}

/** Where stream views find their logs (composition: Kafka's topics). */
export interface StreamViewFactory {
  /**
   * Whether the log's own access rules (Kafka ACLs for `User:<user>`) let the client do this
   * through a view declared with `args`; returns why not, or undefined when allowed (or when the
   * log has no rules of its own).
   */
  refusal?(client: StreamViewClient, args: Arguments, operation: StreamViewOperation): string | undefined;
  /**
   * Checks a new declaration's arguments against the log; throws BrokerError PRECONDITION_FAILED
   * naming the argument (no such partition, a topic of several partitions without x-kafka-partition).
   */
  check(vhost: string, queueName: string, args: Arguments): void;
  /**
   * Opens the view (at declaration, after check, and at recovery): the topic is created, with one
   * partition (or up to x-kafka-partition), when it does not exist.
   */
  open(vhost: string, queueName: string, args: Arguments): StreamLogView;
}

/** Entries read per refill: bounds the decoded messages a consumer holds. */
const READ_BATCH_ENTRIES = 64;
const READ_BATCH_BYTES = 1024 * 1024;

export class StreamViewQueue extends StreamQueue {
  constructor(
    vhost: string,
    name: string,
    options: QueueOptions,
    host: QueueHost,
    readonly view: StreamLogView,
    policy?: AppliedPolicy,
  ) {
    super(vhost, name, options, host, view.stream, policy);
  }

  /** Offsets readable (Kafka counts control records' offsets too). */
  override get messageCount(): number {
    return Math.max(0, this.view.readableEnd - this.view.firstOffset);
  }

  /** A refused append (the log is gone, the record too large, a keyless record in a compacted topic) nacks. */
  override enqueue(message: Message): EnqueueResult {
    return this.view.append(message) === undefined ? 'queued' : 'rejected';
  }

  /** The log is on disk: confirms wait for the group commit that makes the record durable. */
  override confirmsAfterDisk(_message: Message): boolean {
    return true;
  }

  override addStreamConsumer(consumer: QueueConsumer, start: StreamStart): void {
    const subscription = new ViewSubscription(this.view, this.startOffset(start), (queued) =>
      consumer.deliver(queued, this),
    );
    subscription.canAccept = () => consumer.canAccept();
    this.subscriptions.set(consumer, subscription);
    this.consumers.push(consumer);
    subscription.schedulePump();
  }

  /** Where `x-stream-offset` starts, in the view's readable range. */
  startOffset(start: StreamStart): number {
    const view = this.view;
    switch (start.kind) {
      case 'first':
        return view.firstOffset;
      case 'next':
        return view.readableEnd;
      case 'offset':
        return Math.max(start.offset, view.firstOffset);
      case 'last':
      case 'timestamp':
        return Math.max(view.stream.startOffset(start), view.firstOffset);
    }
  }

  /** Retention is the log owner's (the topic's retention.ms / retention.bytes), not a policy's. */
  override applyPolicy(policy: AppliedPolicy | undefined): void {
    this.policy = policy;
    this.settings = resolveQueueSettings(this.options.arguments, policy?.definition);
  }

  /** Deleting the view leaves the log (the topic) as it is. */
  override destroy(): void {
    this.deleted = true;
    for (const subscription of this.subscriptions.values()) subscription.cancel();
    this.subscriptions.clear();
  }

  override close(): void {
    for (const subscription of this.subscriptions.values()) subscription.cancel();
  }
}

/**
 * A consumer's reader of a view: entries are read in bounded batches from its position up to the
 * readable end, turned into messages by the view, and handed over one message at a time while the
 * consumer has credit (its prefetch), so a batch of many records never overruns the window.
 */
class ViewSubscription implements StreamReader, StreamConsumerReader {
  canAccept: () => boolean = () => true;
  private pumpScheduled = false;
  private active = true;
  private pending: ViewMessage[] = [];
  private pendingIndex = 0;
  /** Offsets below this were read (into pending, or skipped as control or aborted records). */
  private readUpTo: number;
  private readonly unwatch: () => void;

  constructor(
    private readonly view: StreamLogView,
    /** The next offset to deliver. */
    public position: number,
    private readonly deliver: (queued: QueuedMessage) => void,
  ) {
    this.readUpTo = position;
    view.stream.addReader(this);
    this.unwatch = view.watch(() => this.schedulePump());
  }

  onAppend(): void {
    this.schedulePump();
  }

  schedulePump(): void {
    if (this.pumpScheduled || !this.active) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  pump(): void {
    while (this.active && this.canAccept()) {
      if (this.pendingIndex >= this.pending.length) {
        if (!this.refill()) return;
        continue;
      }
      const { offset, message } = this.pending[this.pendingIndex++]!;
      this.position = offset + 1;
      this.deliver({ message, sequence: offset, deliveryCount: 1, expiresAtMs: 0, storageRef: offset });
    }
  }

  /** Reads the next entries below the readable end; false when there is nothing to read yet. */
  private refill(): boolean {
    const view = this.view;
    this.pending = [];
    this.pendingIndex = 0;
    if (view.isGone) return false;
    // Retention or DeleteRecords may have removed what this reader had not read yet.
    this.position = Math.max(this.position, this.readUpTo, view.firstOffset);
    const end = view.readableEnd;
    if (this.position >= end) return false;
    const from = this.position;
    let upTo = from;
    for (const entry of view.stream.readFrom(from, READ_BATCH_ENTRIES, READ_BATCH_BYTES)) {
      const entryEnd = entry.offset + entry.offsetCount;
      // An entry reaching past the readable end waits (not yet durable, or in an open transaction).
      if (entryEnd > end) break;
      for (const viewed of view.messagesOf(entry)) if (viewed.offset >= from) this.pending.push(viewed);
      upTo = entryEnd;
    }
    if (upTo === from) return false;
    this.readUpTo = upTo;
    if (this.pending.length === 0) this.position = upTo;
    return true;
  }

  cancel(): void {
    this.active = false;
    this.pending = [];
    this.unwatch();
    this.view.stream.removeReader(this);
  }
}
