import type { Arguments } from './exchange.js';
import type { Message, QueuedMessage } from './message.js';
import type { QueueStore } from './queue-store.js';

/** Something that takes deliveries from a queue: an AMQP consumer, later an SQS long poll. */
export interface QueueConsumer {
  readonly tag: string;
  readonly exclusive: boolean;
  /** Whether it can take another delivery now (prefetch window, socket backpressure). */
  canAccept(): boolean;
  /**
   * Hands over a message, already leased to this consumer. The consumer settles it later through
   * the queue (ack) or releases it (requeue), or settles it at once when it does not acknowledge.
   */
  deliver(queued: QueuedMessage, queue: Queue): void;
  /** The queue was deleted under the consumer (AMQP sends basic.cancel to clients that accept it). */
  queueDeleted(queue: Queue): void;
}

export interface QueueOptions {
  readonly durable: boolean;
  /** Connection that owns an exclusive queue; undefined for shared queues. */
  readonly exclusiveOwner: unknown;
  readonly autoDelete: boolean;
  readonly arguments: Arguments;
}

/**
 * A destructive queue: each message is leased to one consumer at a time; settling removes it,
 * releasing returns it ahead of newer messages (in its original position, as RabbitMQ does) and
 * counts a redelivery.
 */
export class Queue {
  readonly consumers: QueueConsumer[] = [];
  /** Released messages waiting for redelivery, kept sorted by their original sequence. */
  private readonly released: QueuedMessage[] = [];
  private leased = 0;
  private roundRobin = 0;
  private dispatchScheduled = false;
  private hadConsumers = false;
  deleted = false;
  /** The policy in effect (core/policies.ts), kept up to date by the vhost. */
  policy: { name: string; definition: Record<string, unknown> } | undefined;

  constructor(
    readonly vhost: string,
    readonly name: string,
    readonly options: QueueOptions,
    private readonly store: QueueStore,
    /** Called when an auto-delete queue loses its last consumer. */
    private readonly onUnused: (queue: Queue) => void = () => {},
  ) {}

  /** Messages ready for delivery (not counting those leased to consumers). */
  get messageCount(): number {
    return this.store.readyCount + this.released.length;
  }

  get leasedCount(): number {
    return this.leased;
  }

  get consumerCount(): number {
    return this.consumers.length;
  }

  get isDurable(): boolean {
    return this.options.durable;
  }

  enqueue(message: Message): void {
    this.store.push(message);
    this.scheduleDispatch();
  }

  /** Leases the next ready message (for basic.get and dispatch); increments its delivery count. */
  take(): QueuedMessage | undefined {
    const queued = this.released.length > 0 ? this.released.shift() : this.store.shift();
    if (!queued) return undefined;
    if (queued.deliveryCount === 0) this.store.markDelivered(queued);
    queued.deliveryCount++;
    this.leased++;
    return queued;
  }

  /** Ends a lease for good: the message is acknowledged or dropped. */
  settle(queued: QueuedMessage): void {
    this.leased--;
    if (!this.deleted) this.store.settle(queued);
  }

  /** Ends a lease by putting the message back in its original position for redelivery. */
  release(queued: QueuedMessage): void {
    this.leased--;
    if (this.deleted) return;
    const released = this.released;
    // Usually released in order, so search from the end.
    let index = released.length;
    while (index > 0 && released[index - 1]!.sequence > queued.sequence) index--;
    released.splice(index, 0, queued);
    this.scheduleDispatch();
  }

  purge(): number {
    const removed = this.store.purge() + this.released.length;
    for (const queued of this.released) this.store.settle(queued);
    this.released.length = 0;
    return removed;
  }

  addConsumer(consumer: QueueConsumer): void {
    this.consumers.push(consumer);
    this.hadConsumers = true;
    this.scheduleDispatch();
  }

  removeConsumer(consumer: QueueConsumer): void {
    const index = this.consumers.indexOf(consumer);
    if (index < 0) return;
    this.consumers.splice(index, 1);
    if (this.consumers.length === 0 && this.hadConsumers && this.options.autoDelete && !this.deleted) {
      this.onUnused(this);
    }
  }

  hasExclusiveConsumer(): boolean {
    return this.consumers.some((c) => c.exclusive);
  }

  /** Delivery happens after the current batch of protocol input, so many publishes dispatch at once. */
  scheduleDispatch(): void {
    if (this.dispatchScheduled || this.deleted) return;
    this.dispatchScheduled = true;
    queueMicrotask(() => {
      this.dispatchScheduled = false;
      this.dispatch();
    });
  }

  /** Hands ready messages to consumers with room, round-robin. */
  dispatch(): void {
    const consumers = this.consumers;
    while (!this.deleted && consumers.length > 0 && this.messageCount > 0) {
      let delivered = false;
      for (let tried = 0; tried < consumers.length && this.messageCount > 0; tried++) {
        if (this.roundRobin >= consumers.length) this.roundRobin = 0;
        const consumer = consumers[this.roundRobin++]!;
        if (!consumer.canAccept()) continue;
        const queued = this.take();
        if (!queued) return;
        consumer.deliver(queued, this);
        delivered = true;
      }
      if (!delivered) return;
    }
  }

  applyPolicy(policy: { name: string; definition: Record<string, unknown> } | undefined): void {
    this.policy = policy;
  }

  /** Releases storage when the queue is deleted. */
  destroy(): void {
    this.deleted = true;
    this.released.length = 0;
    this.store.destroy();
  }

  close(): void {
    this.store.close();
  }
}
