/**
 * RabbitMQ's direct reply-to: an RPC client consumes (no-ack) from the pseudo-queue
 * `amq.rabbitmq.reply-to` and publishes requests with that name as reply_to; the broker rewrites
 * reply_to to `amq.rabbitmq.reply-to.<token>`, and a reply published to the default exchange with
 * that routing key goes straight to the client's channel, without a queue.
 */
import { randomBytes } from 'node:crypto';

export const REPLY_TO_QUEUE = 'amq.rabbitmq.reply-to';
const REPLY_TO_PREFIX = `${REPLY_TO_QUEUE}.`;

/** A channel's reply consumer, as the registry reaches it. */
export interface ReplyConsumer {
  /** Delivers a reply (no-ack); false when the channel can no longer take it. */
  deliverReply(routingKey: string, properties: Buffer, body: Buffer): boolean;
}

/** Reply consumers of every connection of one listener, by token. */
export class DirectReplyRegistry {
  private readonly consumers = new Map<string, ReplyConsumer>();

  /** Registers a channel's reply consumer; returns the reply_to address for its requests. */
  register(consumer: ReplyConsumer): string {
    const token = randomBytes(18).toString('base64url');
    this.consumers.set(token, consumer);
    return `${REPLY_TO_PREFIX}${token}`;
  }

  unregister(address: string): void {
    this.consumers.delete(address.slice(REPLY_TO_PREFIX.length));
  }

  /** Whether a routing key on the default exchange addresses a reply consumer. */
  static isReplyAddress(routingKey: string): boolean {
    return routingKey.startsWith(REPLY_TO_PREFIX);
  }

  /** Delivers a reply; false when no consumer has that address (the reply is unroutable). */
  deliver(routingKey: string, properties: Buffer, body: Buffer): boolean {
    const consumer = this.consumers.get(routingKey.slice(REPLY_TO_PREFIX.length));
    return consumer?.deliverReply(routingKey, properties, body) ?? false;
  }
}
