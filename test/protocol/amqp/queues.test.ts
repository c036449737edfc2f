// Queues through amqplib: naming, passive declare, durable/exclusive/auto-delete, declare-ok
// counts, bindings, purge and delete.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Channel, type ChannelModel, connect } from 'amqplib';
import {
  type BrokerUnderTest,
  Collector,
  closeBrokerChannel,
  drain,
  errorChannel,
  nextEvent,
  openBrokerChannel,
  rejectsWith,
  uniq,
} from './amqp-helpers.js';

describe('amqp queues', () => {
  let broker: BrokerUnderTest;
  let conn: ChannelModel;
  let ch: Channel;
  before(async () => {
    ({ broker, conn, ch } = await openBrokerChannel());
  });
  after(() => closeBrokerChannel({ broker, conn, ch }));

  const failing = (c: ChannelModel = conn) => errorChannel(() => c.createChannel());

  it('names a queue declared with an empty name amq.gen-...', async () => {
    const ok = await ch.assertQueue('', { exclusive: true });
    assert.match(ok.queue, /^amq\.gen-[A-Za-z0-9_-]{22}$/);
    assert.equal(ok.messageCount, 0);
    assert.equal(ok.consumerCount, 0);
    const other = await ch.assertQueue('', { exclusive: true });
    assert.notEqual(other.queue, ok.queue);
  });

  it('passive declare of a missing queue is 404 with RabbitMQ text', async () => {
    const c = await failing();
    await rejectsWith(
      c.checkQueue('x'),
      404,
      /^Operation failed: QueueDeclare; 404 \(NOT-FOUND\) with message "NOT_FOUND - no queue 'x' in vhost '\/'"$/,
    );
  });

  it('queue names starting with amq. are reserved (403)', async () => {
    const c = await failing();
    await rejectsWith(
      c.assertQueue('amq.mine'),
      403,
      /ACCESS_REFUSED - queue name 'amq.mine' contains reserved prefix 'amq\.\*'/,
    );
  });

  it('declares a durable queue; an inequivalent redeclare is 406', async () => {
    const name = uniq('durable');
    const ok = await ch.assertQueue(name, { durable: true });
    assert.equal(ok.queue, name);
    await ch.assertQueue(name, { durable: true });
    const c = await failing();
    await rejectsWith(
      c.assertQueue(name, { durable: false }),
      406,
      new RegExp(
        `PRECONDITION_FAILED - inequivalent arg 'durable' for queue '${name}' in vhost '/': received 'false' but current is 'true'`,
      ),
    );
    const c2 = await failing();
    await rejectsWith(
      c2.assertQueue(name, { durable: true, arguments: { 'x-max-length': 10 } }),
      406,
      /inequivalent arg 'x-max-length'/,
    );
    await ch.deleteQueue(name);
  });

  it('an exclusive queue is locked to its connection (405) and deleted when it closes', async () => {
    const owner = await connect(broker.url);
    const ownerCh = await owner.createChannel();
    const name = uniq('exclusive');
    await ownerCh.assertQueue(name, { exclusive: true });
    const locked =
      /RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '.*' in vhost '\/'. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration./;
    await rejectsWith((await failing()).checkQueue(name), 405, locked);
    await rejectsWith((await failing()).assertQueue(name, { exclusive: true }), 405, locked);
    await rejectsWith(
      (await failing()).consume(name, () => {}),
      405,
      locked,
    );
    await rejectsWith((await failing()).deleteQueue(name), 405, locked);
    // The owner can use it from any of its channels.
    const second = await owner.createChannel();
    await second.checkQueue(name);
    const closed = nextEvent(owner, 'close');
    await owner.close();
    await closed;
    await rejectsWith((await failing()).checkQueue(name), 404);
  });

  it('an auto-delete queue is deleted when its last consumer cancels, not before', async () => {
    const name = uniq('auto');
    await ch.assertQueue(name, { autoDelete: true });
    await ch.checkQueue(name); // no consumer yet: it stays
    const a = await ch.consume(name, () => {});
    const b = await ch.consume(name, () => {});
    await ch.cancel(a.consumerTag);
    assert.equal((await ch.checkQueue(name)).consumerCount, 1);
    await ch.cancel(b.consumerTag);
    await rejectsWith((await failing()).checkQueue(name), 404);
  });

  it('an auto-delete queue is deleted when its consumer channel closes', async () => {
    const name = uniq('auto');
    const c = await conn.createChannel();
    await c.assertQueue(name, { autoDelete: true });
    await c.consume(name, () => {});
    await c.close();
    await rejectsWith((await failing()).checkQueue(name), 404);
  });

  it('declare-ok reports ready messages and consumers', async () => {
    const name = uniq('counts');
    await ch.assertQueue(name, { exclusive: true });
    const publisher = await conn.createConfirmChannel();
    for (let i = 0; i < 3; i++) publisher.sendToQueue(name, Buffer.from(`m${i}`));
    await publisher.waitForConfirms();
    const ok = await ch.assertQueue(name, { exclusive: true });
    assert.equal(ok.messageCount, 3);
    assert.equal(ok.consumerCount, 0);
    const consumerCh = await conn.createChannel();
    await consumerCh.prefetch(1);
    const collector = new Collector();
    await consumerCh.consume(name, collector.handler);
    await collector.waitFor(1);
    const passive = await ch.checkQueue(name);
    // The unacked delivery is not counted, as in RabbitMQ.
    assert.equal(passive.messageCount, 2);
    assert.equal(passive.consumerCount, 1);
    await consumerCh.close();
    assert.equal((await ch.checkQueue(name)).messageCount, 3);
  });

  it('binds and unbinds a queue', async () => {
    const { queue } = await ch.assertQueue('', { exclusive: true });
    await ch.bindQueue(queue, 'amq.direct', 'k1');
    await ch.bindQueue(queue, 'amq.direct', 'k1'); // idempotent
    ch.publish('amq.direct', 'k1', Buffer.from('bound'));
    assert.deepEqual(await drain(ch, queue), ['bound']);
    await ch.unbindQueue(queue, 'amq.direct', 'k1');
    await ch.unbindQueue(queue, 'amq.direct', 'k1'); // unbind is idempotent too
    ch.publish('amq.direct', 'k1', Buffer.from('unbound'));
    assert.deepEqual(await drain(ch, queue), []);
  });

  it('purge removes ready messages and reports how many', async () => {
    const { queue } = await ch.assertQueue('', { exclusive: true });
    for (let i = 0; i < 5; i++) ch.sendToQueue(queue, Buffer.from(String(i)));
    const ok = await ch.purgeQueue(queue);
    assert.equal(ok.messageCount, 5);
    assert.equal(await ch.get(queue), false);
    assert.equal((await ch.purgeQueue(queue)).messageCount, 0);
  });

  it('purge of a missing queue is 404', async () => {
    await rejectsWith((await failing()).purgeQueue('no-such-queue'), 404, /no queue 'no-such-queue'/);
  });

  it('delete if-unused with a consumer is 406; if-empty with messages is 406', async () => {
    const name = uniq('del');
    await ch.assertQueue(name);
    ch.sendToQueue(name, Buffer.from('x'));
    const { consumerTag } = await ch.consume(name, () => {}, { noAck: false });
    await rejectsWith(
      (await failing()).deleteQueue(name, { ifUnused: true }),
      406,
      new RegExp(`PRECONDITION_FAILED - queue '${name}' in vhost '/' in use`),
    );
    await ch.cancel(consumerTag);
    // Cancelling leaves the delivery unacked on the channel; recover puts it back in the queue.
    await ch.recover();
    await rejectsWith(
      (await failing()).deleteQueue(name, { ifEmpty: true }),
      406,
      new RegExp(`PRECONDITION_FAILED - queue '${name}' in vhost '/' not empty"`),
    );
    const ok = await ch.deleteQueue(name, { ifUnused: true });
    assert.equal(ok.messageCount, 1);
    await rejectsWith((await failing()).checkQueue(name), 404);
  });

  it('delete returns the message count; deleting a missing queue is fine', async () => {
    const name = uniq('del');
    await ch.assertQueue(name);
    for (let i = 0; i < 4; i++) ch.sendToQueue(name, Buffer.from(String(i)));
    assert.equal((await ch.deleteQueue(name)).messageCount, 4);
    assert.equal((await ch.deleteQueue(name)).messageCount, 0);
    assert.equal((await ch.deleteQueue('never-existed')).messageCount, 0);
  });

  it('the callback API declares, binds and deletes queues', async () => {
    const cb = await import('amqplib/callback_api');
    const result = await new Promise<{ name: string; count: number }>((resolve, reject) => {
      cb.connect(broker.url, (err: Error | null, c: import('amqplib/callback_api').Connection) => {
        if (err) return reject(err);
        c.createChannel((err2: Error | null, cch: import('amqplib/callback_api').Channel) => {
          if (err2) return reject(err2);
          cch.assertQueue('', { exclusive: true }, (err3, ok) => {
            if (err3) return reject(err3);
            cch.bindQueue(ok.queue, 'amq.fanout', '', {}, (err4) => {
              if (err4) return reject(err4);
              cch.publish('amq.fanout', '', Buffer.from('cb'));
              cch.checkQueue(ok.queue, (err5, ok2) => {
                if (err5) return reject(err5);
                cch.deleteQueue(ok.queue, {}, (err6, del) => {
                  if (err6) return reject(err6);
                  c.close(() => resolve({ name: ok2.queue, count: del.messageCount }));
                });
              });
            });
          });
        });
      });
    });
    assert.match(result.name, /^amq\.gen-/);
    assert.equal(result.count, 1);
  });
});
