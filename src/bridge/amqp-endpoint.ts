/**
 * AMQP 0-9-1 shovel endpoints through amqplib, for this Pier (over loopback, as the shovel's vhost)
 * or a remote broker (amqp:// or amqps://). Sources consume with prefetch-count and ack after the
 * destination confirmed (on-confirm); destinations publish on a confirm channel.
 */
import amqplib from 'amqplib';
import {
  type Delivery,
  PermanentRefusal,
  type ShovelDestination,
  type ShovelSource,
  STABLE_ID_HEADER,
} from './endpoint.js';
import { type AmqpInbound, type BridgeMessage, fromAmqp, toAmqp } from './message-mapping.js';

type Connection = Awaited<ReturnType<typeof amqplib.connect>>;
type ConfirmChannel = Awaited<ReturnType<Connection['createConfirmChannel']>>;
type Channel = Awaited<ReturnType<Connection['createChannel']>>;

async function connect(url: string, fail: (error: Error) => void): Promise<Connection> {
  const connection = await amqplib.connect(url, { clientProperties: { connection_name: 'pier-shovel' } });
  connection.on('error', (error: Error) => fail(error));
  connection.on('close', () => fail(new Error(`AMQP connection to ${redact(url)} closed`)));
  return connection;
}

/** A URI without its password, for logs and status. */
export function redact(uri: string): string {
  try {
    const url = new URL(uri);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return uri;
  }
}

export class AmqpSource implements ShovelSource {
  private connection: Connection | undefined;
  private channel: Channel | undefined;
  private queue = '';

  constructor(
    private readonly url: string,
    private readonly from: { queue: string } | { exchange: string; key: string },
    private readonly prefetchCount: number,
    private readonly noAck: boolean,
  ) {}

  async open(deliver: (delivery: Delivery) => void, fail: (error: Error) => void): Promise<void> {
    this.connection = await connect(this.url, fail);
    const channel = await this.connection.createChannel();
    this.channel = channel;
    channel.on('error', (error: Error) => fail(error));
    if ('queue' in this.from) {
      // RabbitMQ's shovel declares its source queue (durable) so a shovel can be defined first.
      await channel.assertQueue(this.from.queue, { durable: true });
      this.queue = this.from.queue;
    } else {
      // An exchange source: a server-named exclusive queue bound with src-exchange-key, as RabbitMQ does.
      const { queue } = await channel.assertQueue('', { exclusive: true });
      await channel.bindQueue(queue, this.from.exchange, this.from.key);
      this.queue = queue;
    }
    await channel.prefetch(this.prefetchCount);
    await channel.consume(
      this.queue,
      (msg) => {
        if (msg === null) {
          fail(new Error(`the source queue '${this.queue}' was deleted or the consumer cancelled`));
          return;
        }
        deliver({
          message: fromAmqp(msg as unknown as AmqpInbound),
          sourceId: `amqp/${this.queue}/${String(msg.properties.messageId ?? '')}`,
          settle: async () => {
            if (!this.noAck) channel.ack(msg);
          },
        });
      },
      { noAck: this.noAck },
    );
  }

  async depth(): Promise<number> {
    if (!this.connection) return 0;
    const channel = await this.connection.createChannel();
    try {
      return (await channel.checkQueue(this.queue)).messageCount;
    } finally {
      await channel.close().catch(() => {});
    }
  }

  async close(): Promise<void> {
    const connection = this.connection;
    const channel = this.channel;
    this.connection = undefined;
    this.channel = undefined;
    connection?.removeAllListeners('close');
    // The channel first: amqplib writes each channel's frames in its own stream, so a
    // connection.close could overtake the last basic.acks and the broker would requeue messages
    // the destination already confirmed (sent again on the next start).
    await channel?.close().catch(() => {});
    await connection?.close().catch(() => {});
  }
}

/** Channel close codes that name the message being published: 406 PRECONDITION_FAILED (e.g. over
 * the broker's max message size), 311 CONTENT_TOO_LARGE. */
const MESSAGE_CLOSE_CODES = new Set([406, 311]);

export class AmqpDestination implements ShovelDestination {
  private connection: Connection | undefined;
  private channel: ConfirmChannel | undefined;
  /** Publishes whose confirm has not come back yet. */
  private unconfirmed = 0;
  /** Why the server closed the channel, when it did so with publishes outstanding. */
  private closedBy: (Error & { code?: number }) | undefined;
  private culpritNamed = false;
  /** Stable ids of mandatory publishes the server returned (basic.return comes before their ack). */
  private readonly returned = new Map<string, string>();

  constructor(
    private readonly url: string,
    private readonly target: {
      exchange: string;
      key: string | undefined;
      queue: string | undefined;
      queueArguments: Record<string, unknown>;
    },
    /** Publish with mandatory: an unroutable message comes back (basic.return) and is refused. */
    private readonly mandatory = false,
  ) {}

  async open(fail: (error: Error) => void): Promise<void> {
    this.connection = await connect(this.url, fail);
    const channel = await this.connection.createConfirmChannel();
    channel.on('error', (error: Error & { code?: number }) => {
      // With publishes outstanding their callbacks report the close (the oldest one, when the
      // code names a message, as refused for good): reporting it here too would restart the
      // shovel before that refusal is seen.
      if (this.unconfirmed > 0) this.closedBy = error;
      else fail(error);
    });
    channel.on(
      'return',
      (msg: {
        fields: { replyCode: number; replyText: string };
        properties: { headers?: Record<string, unknown> };
      }) => {
        const id = msg.properties.headers?.[STABLE_ID_HEADER];
        if (typeof id === 'string') this.returned.set(id, `${msg.fields.replyCode} ${msg.fields.replyText}`);
      },
    );
    if (this.target.queue !== undefined) {
      await channel.assertQueue(this.target.queue, { durable: true, arguments: this.target.queueArguments });
    }
    this.channel = channel;
  }

  send(message: BridgeMessage, stableId: string): Promise<void> {
    const channel = this.channel;
    if (!channel) return Promise.reject(new Error('the AMQP destination is not connected'));
    const out = toAmqp(message, this.target.key);
    const where = `exchange '${this.target.exchange}' with routing key '${out.routingKey}'`;
    return new Promise((resolve, reject) => {
      this.unconfirmed++;
      channel.publish(
        this.target.exchange,
        out.routingKey,
        out.content,
        { ...out.options, mandatory: this.mandatory },
        (error: unknown) => {
          this.unconfirmed--;
          const returned = this.returned.get(stableId);
          this.returned.delete(stableId);
          if (!error && returned === undefined) return resolve();
          if (!error) {
            return reject(
              new PermanentRefusal(
                `the AMQP destination returned the message as unroutable (basic.return ${returned}) from ${where}`,
              ),
            );
          }
          if ((error as Error).message === 'message nacked') {
            // basic.nack: the broker refused this message (a full queue with x-overflow
            // reject-publish, a store error).
            return reject(
              new PermanentRefusal(`the AMQP destination refused the message (basic.nack) at ${where}`),
            );
          }
          const closedBy = this.closedBy;
          if (closedBy === undefined) {
            return reject(new Error(`the AMQP destination's channel closed before it confirmed the message`));
          }
          if (!this.culpritNamed && closedBy.code !== undefined && MESSAGE_CLOSE_CODES.has(closedBy.code)) {
            // Confirms come in publish order: the oldest unconfirmed message is the one the broker
            // closed the channel over; those after it were dropped unread and are retried.
            this.culpritNamed = true;
            return reject(
              new PermanentRefusal(`the AMQP destination refused the message: ${closedBy.message}`),
            );
          }
          reject(new Error(`the AMQP destination closed its channel: ${closedBy.message}`));
        },
      );
    });
  }

  async close(): Promise<void> {
    const connection = this.connection;
    this.connection = undefined;
    this.channel = undefined;
    connection?.removeAllListeners('close');
    await connection?.close().catch(() => {});
  }
}
