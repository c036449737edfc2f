/**
 * Lease extension for long jobs over AMQP 0-9-1. The broker closes a channel whose oldest unacked
 * delivery is older than its consumer timeout (RabbitMQ's consumer_timeout, 30 min by default, set
 * broker-wide before 3.12; Pier's --consumer-timeout-ms) and requeues its deliveries, so a job
 * running longer would be killed and run again while its first run still works. A worker keeps a
 * long job by moving it to a fresh delivery (a fresh timeout) before that happens: it publishes a
 * copy to its own lease queue `<queue>.lease.<workerId>`, receives the copy from it, and only then
 * acks the delivery it held. That works on every broker, with no broker setting.
 *
 * If the worker dies, its held copy is requeued in the lease queue, which nobody consumes any more.
 * The copies carry a per-message TTL that counts only while they wait (never while delivered), and
 * the lease queue dead-letters into the job queue: the copy returns there after LEASE_RETURN_MS,
 * and its `x-job-leased` header tells the next worker that an attempt was lost. The broker deletes
 * the lease queue itself once its worker has been gone for a minute (x-expires).
 */
import { randomUUID } from 'node:crypto';
import type { ChannelModel, ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import { publishConfirmed } from './amqp-connection.js';
import { HEADER } from './job-headers.js';

/** How long a dead worker's lease copy waits in its lease queue before it returns to the job queue. */
export const LEASE_RETURN_MS = 5_000;
/** The lease queue is deleted this long after its worker stopped using it (after its copies returned). */
const LEASE_QUEUE_EXPIRES_MS = LEASE_RETURN_MS + 60_000;

/** A delivery a worker holds for a job: what it acks (or nacks) when the job ends. */
export interface HeldDelivery {
  readonly channel: ConfirmChannel;
  readonly message: ConsumeMessage;
}

export class LeaseQueue {
  readonly name: string;
  private opening: Promise<ConfirmChannel> | undefined;
  private readonly waiting = new Map<string, { resolve(m: ConsumeMessage): void; reject(e: Error): void }>();

  constructor(
    private readonly connection: ChannelModel,
    private readonly jobQueue: string,
    workerId: string,
    /** The lease channel closed: every copy it held is on its way back to the job queue. */
    private readonly onLost: (channel: ConfirmChannel) => void,
  ) {
    this.name = `${jobQueue}.lease.${workerId}`;
  }

  /** Publishes a copy of a job to the lease queue and resolves with its delivery to this worker. */
  async take(content: Buffer, properties: Options.Publish): Promise<HeldDelivery> {
    const channel = await this.open();
    const token = randomUUID();
    const received = new Promise<ConsumeMessage>((resolve, reject) =>
      this.waiting.set(token, { resolve, reject }),
    );
    try {
      await publishConfirmed(channel, '', this.name, content, {
        ...properties,
        expiration: String(LEASE_RETURN_MS),
        headers: { ...properties.headers, [HEADER.leased]: 1, [HEADER.leaseToken]: token },
      });
    } catch (error) {
      this.waiting.delete(token);
      throw error;
    }
    return { channel, message: await received };
  }

  private open(): Promise<ConfirmChannel> {
    this.opening ??= (async () => {
      const channel = await this.connection.createConfirmChannel();
      channel.on('error', () => {}); // reported through 'close'
      channel.on('close', () => {
        this.opening = undefined;
        for (const { reject } of this.waiting.values()) reject(new Error('the lease channel closed'));
        this.waiting.clear();
        this.onLost(channel);
      });
      await channel.assertQueue(this.name, {
        durable: true,
        expires: LEASE_QUEUE_EXPIRES_MS,
        deadLetterExchange: '',
        deadLetterRoutingKey: this.jobQueue,
      });
      await channel.consume(
        this.name,
        (message) => {
          if (!message) return;
          const token = String(message.properties.headers?.[HEADER.leaseToken] ?? '');
          const waiter = this.waiting.get(token);
          if (waiter) {
            this.waiting.delete(token);
            waiter.resolve(message);
          } else {
            // A copy nobody waits for (its take() failed after the publish): back to the job queue.
            channel.nack(message, false, false);
          }
        },
        { noAck: false },
      );
      return channel;
    })();
    const opening = this.opening;
    opening.catch(() => {
      if (this.opening === opening) this.opening = undefined;
    });
    return opening;
  }

  async close(): Promise<void> {
    const opening = this.opening;
    this.opening = undefined;
    const channel = await opening?.catch(() => undefined);
    await channel?.close().catch(() => {});
  }
}
