// Durability across a broker restart with the same data directory: what survives (durable
// exchanges, queues, bindings, persistent messages) and what does not.
import assert from 'node:assert/strict';
import { cpSync, rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { type ChannelModel, connect } from 'amqplib';
import type { QueuedMessage } from '../../../src/core/message.js';
import { startTestBroker, type TestBroker, tempDir } from '../../helpers/broker.js';
import { Collector, errorChannel, rejectsWith, within } from './amqp-helpers.js';

describe('amqp persistence across restarts', () => {
  let dataDir: string;
  let broker: TestBroker | undefined;
  before(() => {
    dataDir = tempDir('pier-amqp-persist-');
  });
  after(async () => {
    await broker?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function restart(): Promise<TestBroker> {
    await broker?.close();
    broker = await startTestBroker({ dataDir });
    return broker;
  }

  async function withConnection<T>(fn: (conn: ChannelModel) => Promise<T>): Promise<T> {
    const conn = await connect(broker!.url);
    try {
      return await fn(conn);
    } finally {
      await conn.close();
    }
  }

  it('keeps durable definitions and persistent messages; drops transient ones', async () => {
    await restart();
    await withConnection(async (conn) => {
      const ch = await conn.createConfirmChannel();
      await ch.assertExchange('p.orders', 'topic', { durable: true });
      await ch.assertExchange('p.transient-ex', 'fanout', { durable: false });
      await ch.assertQueue('p.durable', { durable: true });
      await ch.assertQueue('p.transient-q', { durable: false });
      await ch.assertQueue('p.acked', { durable: true });
      await ch.bindQueue('p.durable', 'p.orders', 'order.#');
      await ch.bindQueue('p.transient-q', 'p.orders', 'order.#');
      ch.publish('p.orders', 'order.new', Buffer.from('persistent-1'), { persistent: true, messageId: 'a' });
      ch.publish('p.orders', 'order.new', Buffer.from('transient'), { persistent: false });
      ch.publish('p.orders', 'order.paid', Buffer.from('persistent-2'), {
        persistent: true,
        headers: { n: 2 },
      });
      for (let i = 0; i < 3; i++) ch.sendToQueue('p.acked', Buffer.from(`acked-${i}`), { persistent: true });
      await ch.waitForConfirms();
      // Take and acknowledge two of the three: only the third may come back.
      const first = await ch.get('p.acked');
      const second = await ch.get('p.acked');
      assert.ok(first && second);
      ch.ack(second, true);
      await ch.checkQueue('p.acked');
    });

    await restart();
    await withConnection(async (conn) => {
      const ch = await conn.createChannel();
      await ch.checkExchange('p.orders');
      await rejectsWith(
        (await errorChannel(() => conn.createChannel())).checkExchange('p.transient-ex'),
        404,
      );
      await rejectsWith((await errorChannel(() => conn.createChannel())).checkQueue('p.transient-q'), 404);
      const durable = await ch.checkQueue('p.durable');
      assert.equal(durable.messageCount, 2);
      const m1 = await ch.get('p.durable', { noAck: true });
      const m2 = await ch.get('p.durable', { noAck: true });
      assert.ok(m1 && m2);
      assert.equal(m1.content.toString(), 'persistent-1');
      assert.equal(m1.properties.messageId, 'a');
      assert.equal(m1.fields.routingKey, 'order.new');
      assert.equal(m1.fields.exchange, 'p.orders');
      assert.equal(m2.content.toString(), 'persistent-2');
      assert.deepEqual(m2.properties.headers, { n: 2 });
      assert.equal(await ch.get('p.durable'), false);
      // The binding survived: the exchange still routes to the queue.
      ch.publish('p.orders', 'order.shipped', Buffer.from('after-restart'));
      const m3 = await ch.get('p.durable', { noAck: true });
      assert.ok(m3);
      assert.equal(m3.content.toString(), 'after-restart');
      // Only the unacknowledged message came back.
      const acked = await ch.checkQueue('p.acked');
      assert.equal(acked.messageCount, 1);
      const left = await ch.get('p.acked', { noAck: true });
      assert.ok(left);
      assert.equal(left.content.toString(), 'acked-2');
    });
  });

  it('a deleted durable queue and an unbound binding stay gone after a restart', async () => {
    await restart();
    await withConnection(async (conn) => {
      const ch = await conn.createChannel();
      await ch.assertQueue('p.gone', { durable: true });
      await ch.deleteQueue('p.gone');
      await ch.assertQueue('p.unbound', { durable: true });
      await ch.bindQueue('p.unbound', 'amq.direct', 'k');
      await ch.unbindQueue('p.unbound', 'amq.direct', 'k');
    });
    await restart();
    await withConnection(async (conn) => {
      await rejectsWith((await errorChannel(() => conn.createChannel())).checkQueue('p.gone'), 404);
      const ch = await conn.createChannel();
      ch.publish('amq.direct', 'k', Buffer.from('x'), { persistent: true });
      assert.equal((await ch.checkQueue('p.unbound')).messageCount, 0);
    });
  });

  it('an exclusive durable queue does not survive a restart', async () => {
    await restart();
    await withConnection(async (conn) => {
      const ch = await conn.createChannel();
      await ch.assertQueue('p.exclusive', { durable: true, exclusive: true });
      ch.sendToQueue('p.exclusive', Buffer.from('x'), { persistent: true });
      await ch.checkQueue('p.exclusive');
    });
    await restart();
    await withConnection(async (conn) => {
      await rejectsWith((await errorChannel(() => conn.createChannel())).checkQueue('p.exclusive'), 404);
    });
  });

  it('10,000 persistent messages come back counted and in order', async () => {
    const total = 10_000;
    await restart();
    await withConnection(async (conn) => {
      const ch = await conn.createConfirmChannel();
      await ch.assertQueue('p.bulk', { durable: true });
      for (let i = 0; i < total; i++) {
        ch.sendToQueue('p.bulk', Buffer.from(`msg-${i}`), { persistent: true });
      }
      await within(ch.waitForConfirms(), 30_000, 'confirms for 10,000 publishes');
    });
    await restart();
    await withConnection(async (conn) => {
      const ch = await conn.createChannel();
      const ok = await ch.assertQueue('p.bulk', { durable: true });
      assert.equal(ok.messageCount, total);
      assert.equal(ok.consumerCount, 0);
      await ch.prefetch(500);
      const collector = new Collector();
      let acked = 0;
      await ch.consume('p.bulk', (m) => {
        collector.handler(m);
        if (m && ++acked % 100 === 0) ch.ack(m, true);
      });
      const messages = await collector.waitFor(total, 30_000);
      ch.ackAll();
      for (let i = 0; i < total; i++) {
        const m = messages[i]!;
        if (m.content.toString() !== `msg-${i}`) assert.fail(`message ${i} is ${m.content.toString()}`);
        assert.equal(m.fields.redelivered, false);
      }
      await ch.checkQueue('p.bulk');
    });
    await restart();
    await withConnection(async (conn) => {
      const ch = await conn.createChannel();
      // All were acknowledged before the restart.
      assert.equal((await ch.checkQueue('p.bulk')).messageCount, 0);
    });
  });
  it('messages delivered but unacked before a restart come back redelivered, as in RabbitMQ', async () => {
    await restart();
    const holder = await connect(broker!.url);
    const ch = await holder.createConfirmChannel();
    await ch.assertQueue('p.redelivered', { durable: true });
    for (let i = 0; i < 4; i++) ch.sendToQueue('p.redelivered', Buffer.from(`m${i}`), { persistent: true });
    await ch.waitForConfirms();
    await ch.prefetch(2);
    const deliveries = new Collector();
    await ch.consume('p.redelivered', deliveries.handler);
    const firstTwo = await deliveries.waitFor(2);
    assert.deepEqual(
      firstTwo.map((m) => [m!.content.toString(), m!.fields.redelivered]),
      [
        ['m0', false],
        ['m1', false],
      ],
    );
    holder.on('error', () => {});
    // The broker restarts while the two deliveries are still unacknowledged.
    await restart();
    await withConnection(async (conn) => {
      const after = await conn.createChannel();
      const seen = [];
      for (let i = 0; i < 4; i++) {
        const message = await after.get('p.redelivered', { noAck: true });
        assert.ok(message, `message ${i} missing after restart`);
        seen.push([message.content.toString(), message.fields.redelivered]);
      }
      assert.deepEqual(seen, [
        ['m0', true],
        ['m1', true],
        ['m2', false],
        ['m3', false],
      ]);
    });
  });

  it('a message rejected into a durable dead-letter queue survives a kill -9 at any moment', async () => {
    // Regression: the rejected original was acked at once (and its segment, sealed since the
    // restart, deleted at once), while its dead-lettered copy was only written at the end of the
    // turn, so a crash in between lost the message.
    const dirs: string[] = [];
    const snapshot = (from: string) => {
      const copy = tempDir('pier-amqp-dlx-crash-');
      // A copy of the files as they are now: what a kill -9 would leave behind.
      cpSync(from, copy, { recursive: true, filter: (path) => !/pier\.(sock|lock)$/.test(path) });
      dirs.push(copy);
    };
    const dataDir = tempDir('pier-amqp-dlx-');
    dirs.push(dataDir);
    try {
      let b = await startTestBroker({ dataDir });
      let conn = await connect(b.url);
      const ch = await conn.createConfirmChannel();
      await ch.assertExchange('dlx-crash.dlx', 'direct', { durable: true });
      await ch.assertQueue('dlx-crash.dlq', { durable: true });
      await ch.bindQueue('dlx-crash.dlq', 'dlx-crash.dlx', 'dead');
      const workArgs = { 'x-dead-letter-exchange': 'dlx-crash.dlx', 'x-dead-letter-routing-key': 'dead' };
      await ch.assertQueue('dlx-crash.work', { durable: true, arguments: workArgs });
      ch.sendToQueue('dlx-crash.work', Buffer.from('only'), { persistent: true });
      await ch.waitForConfirms();
      await conn.close();
      await b.stop();
      // After a restart the message sits in a sealed segment, which its ack deletes.
      b = await startTestBroker({ dataDir });
      const work = b.core.vhosts.get('/')!.queues.get('dlx-crash.work')!;
      const reject = work.reject.bind(work);
      const snapshotsTaken = new Promise<void>((resolve) => {
        work.reject = (queued: QueuedMessage) => {
          reject(queued);
          snapshot(dataDir);
          // And after each of the next turns: the writes, then the sync round.
          let turns = 0;
          const next = () => {
            snapshot(dataDir);
            if (++turns < 5) setImmediate(next);
            else resolve();
          };
          setImmediate(next);
        };
      });
      conn = await connect(b.url);
      const consumer = await conn.createChannel();
      await consumer.consume('dlx-crash.work', (m) => m && consumer.reject(m, false));
      await snapshotsTaken;
      await conn.close();
      await b.stop();
      for (const [i, dir] of dirs.entries()) {
        const restarted = await startTestBroker({ dataDir: dir });
        try {
          const c = await connect(restarted.url);
          const check = await c.createChannel();
          const inWork = (await check.checkQueue('dlx-crash.work')).messageCount;
          const inDlq = (await check.checkQueue('dlx-crash.dlq')).messageCount;
          await c.close();
          if (i === 0) assert.deepEqual([inWork, inDlq], [0, 1], 'after a clean shutdown');
          else assert.ok(inWork + inDlq >= 1, `snapshot ${i}: the message is in neither queue`);
        } finally {
          await restarted.stop();
        }
      }
    } finally {
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    }
  });
});
