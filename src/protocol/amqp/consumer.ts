import type { Queue, QueueConsumer } from '../../core/amqp/queue.js';
import type { QueuedMessage } from '../../core/message.js';
import type { Channel } from './channel.js';

/** A basic.consume subscription: takes deliveries from one queue within its prefetch window. */
export class AmqpConsumer implements QueueConsumer {
  /** Deliveries not yet acknowledged (counts toward a per-consumer prefetch). */
  unackedCount = 0;

  constructor(
    readonly channel: Channel,
    readonly queue: Queue,
    readonly tag: string,
    readonly noAck: boolean,
    readonly exclusive: boolean,
    /** Per-consumer prefetch (basic.qos global=false); 0 means unlimited. */
    readonly prefetchCount: number,
    /** Consumer priority (`x-priority` argument). */
    readonly priority = 0,
  ) {}

  canAccept(): boolean {
    if (!this.channel.canDeliver()) return false;
    if (this.noAck) return true;
    if (this.prefetchCount !== 0 && this.unackedCount >= this.prefetchCount) return false;
    return this.channel.hasGlobalPrefetchRoom();
  }

  deliver(queued: QueuedMessage, queue: Queue): void {
    this.channel.deliver(this, queued, queue);
  }

  queueDeleted(_queue: Queue): void {
    this.channel.consumerQueueDeleted(this);
  }
}
