/**
 * The soak's AMQP part (amqplib): a confirming publisher of persistent messages to a work queue and
 * an order queue; on the work queue a consumer that acks most deliveries and nacks some with requeue,
 * and a second consumer that dies (its channel closes) holding unacked messages; on the order queue
 * a single consumer that acks all, whose first deliveries must come in publish order.
 */
import amqp from 'amqplib';
import { Ledger, pause } from './ledger.js';
import type { ProtocolLoad, SoakAddress } from './soak-types.js';

const WORK = 'soak-work';
const ORDER = 'soak-order';
const IN_FLIGHT = 50;

export class AmqpLoad implements ProtocolLoad {
  readonly name = 'amqp';
  private readonly work = new Ledger('amqp work queue (at least once)');
  private readonly order = new Ledger('amqp order queue (single consumer, in order)');
  private connections: amqp.ChannelModel[] = [];
  private sequence = 0;

  constructor(
    private readonly random: () => number,
    private readonly ratePerSecond: number,
  ) {}

  ledgers(): Ledger[] {
    return [this.work, this.order];
  }

  private async connect(address: SoakAddress, signal: AbortSignal): Promise<amqp.ChannelModel> {
    const connection = await amqp.connect(address.amqpUrl);
    connection.on('error', () => {});
    this.connections.push(connection);
    // The cycle ended while connecting: close() has already run.
    if (signal.aborted) {
      await connection.close().catch(() => {});
      throw new Error('the cycle ended');
    }
    return connection;
  }

  async run(address: SoakAddress, signal: AbortSignal): Promise<void> {
    const connection = await this.connect(address, signal);
    const publisher = await connection.createConfirmChannel();
    publisher.on('error', () => {});
    await publisher.assertQueue(WORK, { durable: true });
    await publisher.assertQueue(ORDER, { durable: true });
    const dead = new Promise<void>((resolve) => connection.on('close', () => resolve()));
    await Promise.all([
      this.consumeWork(connection),
      this.consumeOrder(connection),
      this.dyingConsumer(address, signal),
    ]);
    void this.publish(publisher, signal, dead);
  }

  private async publish(channel: amqp.ConfirmChannel, signal: AbortSignal, dead: Promise<void>) {
    let closed = false;
    dead.then(() => {
      closed = true;
    });
    const gapMs = 1000 / this.ratePerSecond;
    let inFlight = 0;
    while (!signal.aborted && !closed) {
      if (inFlight >= IN_FLIGHT) {
        await pause(5, signal);
        continue;
      }
      const toOrder = this.random() < 0.5;
      const n = this.sequence++;
      const id = `${toOrder ? 'o' : 'w'}${n}`;
      inFlight++;
      try {
        channel.publish('', toOrder ? ORDER : WORK, Buffer.from(id), { persistent: true }, (error) => {
          inFlight--;
          if (!error) (toOrder ? this.order : this.work).acknowledged(id);
        });
      } catch {
        return; // the channel is closed: the broker died
      }
      await pause(gapMs, signal);
    }
  }

  private async consumeWork(connection: amqp.ChannelModel): Promise<void> {
    const channel = await connection.createChannel();
    channel.on('error', () => {});
    await channel.prefetch(20);
    await channel.consume(WORK, (message) => {
      if (!message) return;
      const id = message.content.toString();
      this.work.delivered(id);
      const r = this.random();
      try {
        if (r < 0.8) {
          channel.ack(message);
          this.work.finished(id);
        } else channel.nack(message, false, true);
      } catch {
        // The channel closed under us (broker killed): the message stays owed.
      }
    });
  }

  private async consumeOrder(connection: amqp.ChannelModel): Promise<void> {
    const channel = await connection.createChannel();
    channel.on('error', () => {});
    await channel.prefetch(50);
    await channel.consume(ORDER, (message) => {
      if (!message) return;
      const id = message.content.toString();
      this.order.delivered(id, { key: ORDER, seq: Number(id.slice(1)) });
      try {
        channel.ack(message);
        this.order.finished(id);
      } catch {}
    });
  }

  /** Takes a few messages and closes its connection without acking them (they must come back). */
  private async dyingConsumer(address: SoakAddress, signal: AbortSignal): Promise<void> {
    const connection = await this.connect(address, signal);
    const channel = await connection.createChannel();
    channel.on('error', () => {});
    await channel.prefetch(5);
    await channel.consume(WORK, (message) => {
      if (message) this.work.delivered(message.content.toString());
    });
    pause(50 + this.random() * 300, signal).then(() => connection.close().catch(() => {}));
  }

  async close(): Promise<void> {
    for (const connection of this.connections.splice(0)) await connection.close().catch(() => {});
  }

  /** Consumes both queues to empty (acking everything), then settles what is still owed as lost. */
  async drain(address: SoakAddress): Promise<void> {
    const connection = await amqp.connect(address.amqpUrl);
    try {
      const channel = await connection.createChannel();
      for (const [queue, ledger] of [
        [WORK, this.work],
        [ORDER, this.order],
      ] as const) {
        await channel.assertQueue(queue, { durable: true });
        for (;;) {
          const message = await channel.get(queue, { noAck: true });
          if (!message) break;
          const id = message.content.toString();
          ledger.delivered(id, queue === ORDER ? { key: ORDER, seq: Number(id.slice(1)) } : undefined);
          ledger.finished(id);
        }
        ledger.settleLost('drained the queue after the last restart');
      }
    } finally {
      await connection.close().catch(() => {});
    }
  }
}
