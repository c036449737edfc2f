/**
 * Acknowledges a consume channel's deliveries in groups: the acks of one event-loop turn go out
 * together at its end, as one `basic.ack multiple` for every finished delivery below the oldest
 * one still running, plus single acks for finished deliveries above it. A no-op job then costs
 * the worker and the broker one frame per group instead of one per job (a socket write each).
 *
 * An ack is only deferred, never sent before the caller asked for it: what a job must have done
 * before its ack (its processed id stored, its retry copy confirmed) is done when ack() is called.
 * A channel lost before the group is sent returns those deliveries to the queue, as a channel lost
 * a moment before their ack would: the processed-id store answers their redelivery.
 */
import type { Channel, Message } from 'amqplib';

export class AckBatcher {
  /**
   * Delivery tags handed to the worker and not yet settled nor waiting in `pending`. A Set keeps
   * insertion order and tags only grow on a channel, so its first element is the oldest.
   */
  private readonly unsettled = new Set<number>();
  private pending: Message[] = [];
  private scheduled = false;
  private closed = false;

  constructor(readonly channel: Channel) {}

  /** A delivery arrived on the channel (call before anything can settle it). */
  delivered(message: Message): void {
    this.unsettled.add(message.fields.deliveryTag);
  }

  /** Acks `message` at the end of this event-loop turn (with the others acked meanwhile). */
  ack(message: Message): void {
    if (this.closed) return;
    this.unsettled.delete(message.fields.deliveryTag);
    this.pending.push(message);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** The delivery was settled another way (a nack, a direct ack): a group ack must not cover it. */
  settledElsewhere(message: Message): void {
    this.unsettled.delete(message.fields.deliveryTag);
  }

  /** Sends the waiting acks now. */
  flush(): void {
    this.scheduled = false;
    const pending = this.pending;
    if (pending.length === 0 || this.closed) return;
    this.pending = [];
    const oldestRunning: number = this.unsettled.values().next().value ?? Number.POSITIVE_INFINITY;
    let upTo: Message | undefined;
    const singles: Message[] = [];
    for (const message of pending) {
      const tag = message.fields.deliveryTag;
      if (tag > oldestRunning) singles.push(message);
      else if (!upTo || tag > upTo.fields.deliveryTag) upTo = message;
    }
    try {
      if (upTo) this.channel.ack(upTo, true);
      for (const message of singles) this.channel.ack(message);
    } catch {
      // The channel closed meanwhile: its unacked deliveries went back to the queue.
      this.closed = true;
    }
  }

  /** The channel is gone: nothing more is sent on it. */
  close(): void {
    this.closed = true;
    this.pending = [];
    this.unsettled.clear();
  }
}
