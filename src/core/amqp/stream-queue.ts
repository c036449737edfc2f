/**
 * A stream queue (`x-queue-type: stream`), as RabbitMQ 3.10 offers it over AMQP 0-9-1: published
 * messages are appended to a Stream; each consumer reads from its own offset, non-destructively;
 * an ack only frees the consumer's prefetch credit.
 *
 * It lives in the vhost's queue map next to classic queues so that declaring, binding, routing,
 * dead-lettering into it, deleting and recovery all go through the same code; the destructive-queue
 * operations it does not have (basic.get, purge) raise RabbitMQ's errors.
 */

import type { Message, QueuedMessage } from '../message.js';
import { MemoryStreamStore } from '../stream/memory-stream-store.js';
import { Stream, type StreamStart } from '../stream/stream.js';
import {
  DEFAULT_STREAM_SEGMENT_SIZE_BYTES,
  type StreamEntry,
  type StreamRetention,
  type StreamStoreFactory,
} from '../stream/stream-store.js';
import { StreamSubscription } from '../stream/stream-subscription.js';
import { BrokerError } from './errors.js';
import type { Arguments } from './exchange.js';
import type { AppliedPolicy } from './policies.js';
import { type EnqueueResult, Queue, type QueueConsumer, type QueueHost, type QueueOptions } from './queue.js';
import { type QueueSettings, resolveQueueSettings } from './queue-arguments.js';

/** Whether queue arguments declare a stream. */
export function isStreamArguments(args: Arguments): boolean {
  return args['x-queue-type'] === 'stream';
}

function retentionOf(settings: QueueSettings): StreamRetention {
  return { maxAgeMs: settings.maxAgeMs, maxBytes: settings.maxLengthBytes };
}

/** A consumer's reader of the stream, as the queue drives it. */
export interface StreamConsumerReader {
  pump(): void;
  schedulePump(): void;
  cancel(): void;
}

export class StreamQueue extends Queue {
  readonly stream: Stream;
  protected readonly subscriptions = new Map<QueueConsumer, StreamConsumerReader>();
  /**
   * One past the last durable offset: consumers read up to here. A crash loses what lies beyond,
   * and the offsets would be given to new messages, so a consumer that saw them would skip those.
   */
  private durableEnd = 0;

  /**
   * `backing`: the factory of the queue's own store, or (a stream view, stream-view-queue.ts) a
   * Stream another model owns, which this queue reads and never closes or destroys.
   */
  constructor(
    vhost: string,
    name: string,
    options: QueueOptions,
    host: QueueHost,
    backing: StreamStoreFactory | Stream | undefined,
    policy?: AppliedPolicy,
  ) {
    super(vhost, name, options, [], host, policy);
    if (backing instanceof Stream) {
      this.stream = backing;
      return;
    }
    const segmentSizeBytes = this.settings.streamMaxSegmentSizeBytes || DEFAULT_STREAM_SEGMENT_SIZE_BYTES;
    const storeOptions = { segmentSizeBytes };
    const store = backing ? backing(vhost, name, storeOptions) : new MemoryStreamStore(storeOptions);
    this.stream = new Stream(name, store, host.clock, {
      retention: retentionOf(this.settings),
    });
    // What recovery found was on disk.
    this.durableEnd = this.stream.nextOffset;
  }

  /** One past the last offset consumers may read. */
  get readableEnd(): number {
    return this.host.durability && this.options.durable ? this.durableEnd : this.stream.nextOffset;
  }

  protected describe(): string {
    return `queue '${this.name}' in vhost '${this.vhost}'`;
  }

  /** A stream's length moves with retention and (a view's) other writers, outside this class. */
  override get statsVersion(): number {
    return Number.NaN;
  }

  /** Offsets held (RabbitMQ's message count for a stream). */
  override get messageCount(): number {
    return this.stream.offsetCount;
  }

  override get readyBytes(): number {
    return this.stream.sizeBytes;
  }

  override enqueue(message: Message): EnqueueResult {
    this.stream.appendMessage(message);
    const durability = this.host.durability;
    if (durability && this.options.durable) {
      const end = this.stream.nextOffset;
      durability.afterDurable(() => {
        if (end <= this.durableEnd || this.deleted) return;
        this.durableEnd = end;
        this.scheduleDispatch();
      });
    }
    return 'queued';
  }

  /** A stream stores every message, persistent or not, so confirms always wait for the disk. */
  override confirmsAfterDisk(_message: Message): boolean {
    return this.options.durable;
  }

  /**
   * Subscribes a consumer from `start`. Deliveries are QueuedMessages whose `sequence` is the
   * message's stream offset (the AMQP layer adds it as the `x-stream-offset` header).
   */
  addStreamConsumer(consumer: QueueConsumer, start: StreamStart): void {
    const subscription = new StreamSubscription(
      this.stream,
      this.stream.startOffset(start),
      {
        canAccept: () => consumer.canAccept(),
        deliver: (entry) => this.deliverEntry(consumer, entry),
      },
      () => this.readableEnd,
    );
    this.subscriptions.set(consumer, subscription);
    this.consumers.push(consumer);
  }

  private deliverEntry(consumer: QueueConsumer, entry: StreamEntry): void {
    // Raw entries (Kafka record batches) have no AMQP form: an AMQP consumer skips them.
    if (!entry.message) return;
    const queued: QueuedMessage = {
      message: entry.message,
      sequence: entry.offset,
      deliveryCount: 1,
      expiresAtMs: 0,
      storageRef: entry.offset,
    };
    consumer.deliver(queued, this);
  }

  override addConsumer(consumer: QueueConsumer): void {
    this.addStreamConsumer(consumer, { kind: 'next' });
  }

  override removeConsumer(consumer: QueueConsumer): void {
    this.subscriptions.get(consumer)?.cancel();
    this.subscriptions.delete(consumer);
    const index = this.consumers.indexOf(consumer);
    if (index >= 0) this.consumers.splice(index, 1);
  }

  /** Consumers may share a stream whatever their exclusive flag (RabbitMQ 3.10 ignores it). */
  override hasExclusiveConsumer(): boolean {
    return false;
  }

  override get(): QueuedMessage | undefined {
    throw new BrokerError('not-implemented', `basic.get not supported by stream queues ${this.describe()}`);
  }

  override purge(): number {
    throw new BrokerError('not-implemented', `queue.purge not supported by stream queues ${this.describe()}`);
  }

  override take(): QueuedMessage | undefined {
    return undefined;
  }

  /** An ack frees prefetch credit only (the channel counts it); nothing is removed. */
  override settle(_queued: QueuedMessage): void {}

  /** Channel close and recover: nothing to put back, the consumer's offset has moved on. */
  override release(_queued: QueuedMessage): void {}

  override reject(_queued: QueuedMessage): void {
    throw new BrokerError(
      'not-implemented',
      `basic.nack and basic.reject not supported by stream queues ${this.describe()}`,
    );
  }

  override scheduleDispatch(): void {
    for (const subscription of this.subscriptions.values()) subscription.schedulePump();
  }

  override dispatch(): void {
    for (const subscription of this.subscriptions.values()) subscription.pump();
  }

  override applyPolicy(policy: AppliedPolicy | undefined): void {
    this.policy = policy;
    this.settings = resolveQueueSettings(this.options.arguments, policy?.definition);
    this.stream.setRetention(retentionOf(this.settings));
  }

  override destroy(): void {
    this.deleted = true;
    for (const subscription of this.subscriptions.values()) subscription.cancel();
    this.subscriptions.clear();
    this.stream.destroy();
  }

  override close(): void {
    this.stream.close();
  }
}
