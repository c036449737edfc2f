/**
 * Non-durable queues page to disk beyond their in-memory window (issue 16, "bounded memory"), as
 * RabbitMQ's classic queues do: amqplib fills queues far past a small window (--queue-window-messages)
 * while the Prometheus endpoint shows how many ready messages are in memory and how many on disk;
 * every message comes back in order and byte-exact, with nack/requeue, priorities, max-length and
 * dead-lettering unchanged. Under memory pressure (half the watermark) queues page what they hold,
 * and at the watermark publishers are still blocked with connection.blocked. After a restart
 * non-durable queues are gone and durable queues have lost their transient messages, as in RabbitMQ.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Channel, type ConsumeMessage, connect } from 'amqplib';
import { spawnBroker, startTestBroker, type TestBroker, tempDir } from '../../helpers/broker.js';
import { Collector, nextEvent, roundTrip, uniq, within } from './amqp-helpers.js';

const WINDOW = 50;

async function metrics(broker: TestBroker): Promise<Map<string, number>> {
  const response = await fetch(broker.prometheus!.url);
  const text = await response.text();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^(pier_amqp_\w+|rabbitmq_queue_messages_ready) (\S+)$/.exec(line);
    if (match) values.set(match[1]!, Number(match[2]));
  }
  return values;
}

/** Bodies of varied sizes (empty to 3 KiB) and random bytes, numbered in their first 4 bytes. */
function makeBodies(count: number): Buffer[] {
  return Array.from({ length: count }, (_, i) => {
    const body = Buffer.concat([Buffer.alloc(4), randomBytes((i * 37) % 3072)]);
    body.writeUInt32BE(i, 0);
    return body;
  });
}

async function publishAll(
  ch: Channel,
  queue: string,
  bodies: readonly Buffer[],
  options = {},
): Promise<void> {
  for (const body of bodies) ch.sendToQueue(queue, body, options);
  await roundTrip(ch, queue);
}

describe('non-durable queues page to disk beyond their window', () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startTestBroker({ queueWindowMessages: WINDOW, prometheusPort: 0 });
  });
  after(() => broker.stop());

  it('keeps at most the window in memory, and a slow consumer gets every message in order, byte-exact, nacks requeued in place', async () => {
    const conn = await connect(broker.url);
    try {
      const pub = await conn.createChannel();
      const queue = uniq('paged');
      await pub.assertQueue(queue, { durable: false });
      const first = makeBodies(6000);
      await publishAll(pub, queue, first.slice(0, 3000));
      let m = await metrics(broker);
      assert.equal(m.get('rabbitmq_queue_messages_ready'), 3000);
      assert.equal(m.get('pier_amqp_ready_memory_messages'), WINDOW);
      assert.equal(m.get('pier_amqp_paged_messages'), 3000 - WINDOW);
      assert.ok(m.get('pier_amqp_paged_bytes')! > 3000 * 1000, 'paged body bytes');
      assert.ok(m.get('pier_amqp_ready_memory_bytes')! <= WINDOW * 3076);

      // A slow consumer (prefetch 5) while the rest is published: messages go on paging.
      const sub = await conn.createChannel();
      await sub.prefetch(5);
      const acked: Buffer[] = [];
      const requeued = new Set<number>();
      const firstTimeOrder: number[] = [];
      let maxInMemory = 0;
      const done = new Promise<void>((resolve, reject) => {
        sub
          .consume(queue, (msg: ConsumeMessage | null) => {
            if (!msg) return reject(new Error('consumer cancelled'));
            const index = msg.content.readUInt32BE(0);
            if (!msg.fields.redelivered) firstTimeOrder.push(index);
            if (index % 97 === 0 && !msg.fields.redelivered) {
              requeued.add(index);
              sub.nack(msg, false, true);
              return;
            }
            if (msg.fields.redelivered !== requeued.has(index))
              return reject(new Error(`message ${index}: redelivered=${msg.fields.redelivered}`));
            acked.push(msg.content);
            sub.ack(msg);
            if (acked.length === first.length) resolve();
          })
          .catch(reject);
      });
      await publishAll(pub, queue, first.slice(3000));
      m = await metrics(broker);
      maxInMemory = Math.max(maxInMemory, m.get('pier_amqp_ready_memory_messages')!);
      await within(done, 60_000, 'every message consumed');
      assert.ok(maxInMemory <= WINDOW, `at most the window in memory (${maxInMemory})`);

      // First deliveries come in publish order; each nacked message came back once, redelivered.
      assert.deepEqual(
        firstTimeOrder,
        first.map((_, i) => i),
      );
      assert.equal(acked.length, first.length);
      const byIndex = new Map(acked.map((b) => [b.readUInt32BE(0), b]));
      assert.equal(byIndex.size, first.length);
      for (const [i, body] of first.entries())
        assert.ok(byIndex.get(i)!.equals(body), `body ${i} byte-exact`);

      m = await metrics(broker);
      assert.equal(m.get('pier_amqp_paged_messages'), 0);
      assert.equal(m.get('rabbitmq_queue_messages_ready'), 0);
    } finally {
      await conn.close();
    }
  });

  it('priorities, drop-head max-length and dead-lettering hold across the paged part', async () => {
    const conn = await connect(broker.url);
    try {
      const ch = await conn.createChannel();
      const dlq = uniq('paged-dlq');
      const queue = uniq('paged-prio');
      await ch.assertQueue(dlq, { durable: false });
      await ch.assertQueue(queue, {
        durable: false,
        arguments: {
          'x-max-priority': 3,
          'x-max-length': 1000,
          'x-dead-letter-exchange': '',
          'x-dead-letter-routing-key': dlq,
        },
      });
      // 1,500 messages over priorities 0-3: the 500 oldest are dropped from the head (highest level first).
      const sent: Array<{ index: number; priority: number }> = [];
      for (let i = 0; i < 1500; i++) {
        const priority = i % 4;
        const body = Buffer.alloc(64);
        body.writeUInt32BE(i, 0);
        ch.sendToQueue(queue, body, { priority });
        sent.push({ index: i, priority });
      }
      await roundTrip(ch, queue);
      assert.equal((await ch.checkQueue(queue)).messageCount, 1000);
      assert.equal((await ch.checkQueue(dlq)).messageCount, 500);
      const m = await metrics(broker);
      assert.ok(m.get('pier_amqp_paged_messages')! > 0, 'the levels and the DLQ page');

      const drainIndexes = async (name: string, count: number) => {
        const got = new Collector();
        await ch.consume(name, got.handler, { noAck: true });
        await got.waitFor(count, 20_000);
        return got.messages.map((msg) => msg!.content.readUInt32BE(0));
      };
      // The model: one FIFO per level; drop-head takes the head of the highest non-empty level.
      const levels: number[][] = [[], [], [], []];
      const dropped: number[] = [];
      for (const { index, priority } of sent) {
        levels[priority]!.push(index);
        if (levels.reduce((n, level) => n + level.length, 0) > 1000)
          dropped.push(
            [...levels]
              .reverse()
              .find((level) => level.length > 0)!
              .shift()!,
          );
      }
      assert.deepEqual(await drainIndexes(dlq, 500), dropped);
      assert.deepEqual(await drainIndexes(queue, 1000), [...levels].reverse().flat());
    } finally {
      await conn.close();
    }
  });
});

describe('memory pressure and the memory alarm with non-durable queues', () => {
  const LIMIT_BYTES = 1_000_000;
  let memoryUsedBytes = 0;
  let broker: TestBroker;
  const setMemory = (bytes: number) => {
    memoryUsedBytes = bytes;
    broker.resources.check();
  };
  before(async () => {
    broker = await startTestBroker({
      prometheusPort: 0,
      resources: { memoryHighWatermark: { bytes: LIMIT_BYTES }, memoryUsedBytes: () => memoryUsedBytes },
    });
  });
  after(() => broker.stop());

  it('pages at half the watermark without blocking anyone, and blocks publishers at the watermark', async () => {
    const publisher = await connect(broker.url);
    const consumer = await connect(broker.url);
    try {
      const pub = await publisher.createChannel();
      const queue = uniq('pressure');
      await pub.assertQueue(queue, { durable: false });
      const bodies = makeBodies(2000);
      await publishAll(pub, queue, bodies.slice(0, 1000));
      let m = await metrics(broker);
      assert.equal(m.get('pier_amqp_paged_messages'), 0, 'all within the default window');
      assert.equal(m.get('pier_amqp_memory_paging'), 0);

      // Above the paging ratio: the queue keeps only the pressure window in memory; nobody is blocked.
      setMemory(LIMIT_BYTES * 0.5 + 1);
      m = await metrics(broker);
      assert.equal(m.get('pier_amqp_memory_paging'), 1);
      assert.equal(m.get('pier_amqp_ready_memory_messages'), 256);
      assert.equal(m.get('pier_amqp_paged_messages'), 1000 - 256);
      await publishAll(pub, queue, bodies.slice(1000, 1500));
      m = await metrics(broker);
      assert.equal(m.get('pier_amqp_paged_messages'), 1500 - 256, 'new messages go to disk');

      // Paging could not keep memory down: at the watermark the publisher is blocked.
      const blocked = nextEvent<[string]>(publisher, 'blocked');
      setMemory(LIMIT_BYTES + 1);
      for (const body of bodies.slice(1500)) pub.sendToQueue(queue, body);
      const [reason] = await within(blocked, 5000, 'connection.blocked');
      assert.match(reason, /memory/);

      // A consumer on another connection drains in order; the alarm clears and the held publishes land.
      const sub = await consumer.createChannel();
      const got = new Collector();
      await sub.consume(queue, got.handler, { noAck: true });
      await got.waitFor(1500, 20_000);
      const unblocked = nextEvent(publisher, 'unblocked');
      setMemory(0);
      await within(unblocked, 5000, 'connection.unblocked');
      await got.waitFor(2000, 20_000);
      assert.deepEqual(
        got.messages.map((msg) => msg!.content.readUInt32BE(0)),
        bodies.map((_, i) => i),
      );
      for (const [i, msg] of got.messages.entries()) assert.ok(msg!.content.equals(bodies[i]!), `body ${i}`);
      m = await metrics(broker);
      assert.equal(m.get('pier_amqp_memory_paging'), 0);
      assert.equal(m.get('pier_amqp_paged_messages'), 0);
    } finally {
      await publisher.close();
      await consumer.close();
    }
  });
});

describe('after a restart', () => {
  it('non-durable queues are gone and durable queues keep only persistent messages; the pages are deleted', async () => {
    const dataDir = tempDir('pier-transient-');
    const first = await spawnBroker(dataDir, ['--queue-window-messages', '10']);
    try {
      const conn = await connect(first.url);
      const ch = await conn.createConfirmChannel();
      await ch.assertQueue('gone', { durable: false });
      await ch.assertQueue('kept', { durable: true });
      for (let i = 0; i < 500; i++) {
        ch.sendToQueue('gone', Buffer.from(`gone ${i}`));
        ch.sendToQueue('kept', Buffer.from(`transient ${i}`));
        if (i % 50 === 0) ch.sendToQueue('kept', Buffer.from(`persistent ${i}`), { persistent: true });
      }
      await ch.waitForConfirms();
      assert.ok(readdirSync(join(dataDir, 'transient')).length > 0, 'the non-durable queue paged');
      conn.on('error', () => {}); // the broker is killed under it
      first.process.kill('SIGKILL');
      await first.exited;
    } catch (error) {
      first.process.kill('SIGKILL');
      throw error;
    }
    const second = await spawnBroker(dataDir, ['--queue-window-messages', '10']);
    try {
      assert.deepEqual(readdirSync(join(dataDir, 'transient')), [], 'emptied at start');
      const conn = await connect(second.url);
      const ch = await conn.createChannel();
      const errored = nextEvent<[Error]>(ch, 'error');
      assert.equal((await ch.checkQueue('kept')).messageCount, 10);
      const got = new Collector();
      await ch.consume('kept', got.handler, { noAck: true });
      await got.waitFor(10);
      assert.deepEqual(
        got.bodies(),
        Array.from({ length: 10 }, (_, k) => `persistent ${k * 50}`),
      );
      await assert.rejects(ch.checkQueue('gone'), /404/);
      await errored;
      await conn.close();
    } finally {
      second.process.kill('SIGTERM');
      await second.exited;
    }
  });
});
