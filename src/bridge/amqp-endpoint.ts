/**
 * AMQP 0-9-1 shovel endpoints through amqplib, for this Pier (over loopback, as the shovel's vhost)
 * or a remote broker (amqp:// or amqps://). Sources consume with prefetch-count and ack after the
 * destination confirmed (on-confirm); destinations publish on a confirm channel.
 */
import amqplib from 'amqplib';
import type { Delivery, ShovelDestination, ShovelSource } from './endpoint.js';
import { type AmqpInbound, type BridgeMessage, fromAmqp, toAmqp } from './message-mapping.js';

type Connection = Awaited<ReturnType<typeof amqplib.connect>>;
type ConfirmChannel = Awaited<ReturnType<Connection['createConfirmChannel']>>;

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
    this.connection = undefined;
    connection?.removeAllListeners('close');
    await connection?.close().catch(() => {});
  }
}

export class AmqpDestination implements ShovelDestination {
  private connection: Connection | undefined;
  private channel: ConfirmChannel | undefined;

  constructor(
    private readonly url: string,
    private readonly target: {
      exchange: string;
      key: string | undefined;
      queue: string | undefined;
      queueArguments: Record<string, unknown>;
    },
  ) {}

  async open(fail: (error: Error) => void): Promise<void> {
    this.connection = await connect(this.url, fail);
    const channel = await this.connection.createConfirmChannel();
    channel.on('error', (error: Error) => fail(error));
    if (this.target.queue !== undefined) {
      await channel.assertQueue(this.target.queue, { durable: true, arguments: this.target.queueArguments });
    }
    this.channel = channel;
  }

  send(message: BridgeMessage, _stableId: string): Promise<void> {
    const channel = this.channel;
    if (!channel) return Promise.reject(new Error('the AMQP destination is not connected'));
    const out = toAmqp(message, this.target.key);
    return new Promise((resolve, reject) => {
      channel.publish(this.target.exchange, out.routingKey, out.content, out.options, (error: unknown) => {
        if (error) reject(new Error(`the AMQP destination refused the message (basic.nack)`));
        else resolve();
      });
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
