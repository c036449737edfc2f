// Publisher confirms (ConfirmChannel, both APIs) and transactions (tx.select/commit/rollback, sent
// with amqplib's low-level rpc since its API has no tx methods).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Channel, ChannelModel, Message } from 'amqplib';
import * as callbackApi from 'amqplib/callback_api';
import {
  type BrokerUnderTest,
  closeBrokerChannel,
  defs,
  errorChannel,
  nextEvent,
  openBrokerChannel,
  rejectsWith,
  uniq,
  within,
} from './amqp-helpers.js';

type Rpc = { rpc(method: number, fields: object, expect: number): Promise<unknown> };
const txSelect = (ch: Channel) =>
  (ch as unknown as Rpc).rpc(defs.TxSelect as number, {}, defs.TxSelectOk as number);
const txCommit = (ch: Channel) =>
  (ch as unknown as Rpc).rpc(defs.TxCommit as number, {}, defs.TxCommitOk as number);
const txRollback = (ch: Channel) =>
  (ch as unknown as Rpc).rpc(defs.TxRollback as number, {}, defs.TxRollbackOk as number);

describe('amqp confirms and transactions', () => {
  let broker: BrokerUnderTest;
  let conn: ChannelModel;
  let ch: Channel;
  before(async () => {
    ({ broker, conn, ch } = await openBrokerChannel());
  });
  after(() => closeBrokerChannel({ broker, conn, ch }));

  async function freshQueue(durable = false): Promise<string> {
    const { queue } = await ch.assertQueue(uniq('q'), durable ? { durable: true } : { exclusive: true });
    return queue;
  }

  it('confirms every publish, in order, and waitForConfirms resolves', async () => {
    const queue = await freshQueue();
    const cc = await conn.createConfirmChannel();
    const confirmed: number[] = [];
    let highestAck = 0;
    cc.on('ack', (fields: { deliveryTag: number }) => {
      assert.ok(fields.deliveryTag > highestAck, 'acks move forward');
      highestAck = fields.deliveryTag;
    });
    for (let i = 1; i <= 200; i++) {
      cc.sendToQueue(queue, Buffer.from(String(i)), {}, (err: unknown) => {
        assert.equal(err, null);
        confirmed.push(i);
      });
    }
    await within(cc.waitForConfirms(), 5000, 'confirms');
    assert.deepEqual(
      confirmed,
      Array.from({ length: 200 }, (_, i) => i + 1),
    );
    assert.equal(highestAck, 200);
    assert.equal((await ch.checkQueue(queue)).messageCount, 200);
    await cc.close();
  });

  it('confirms persistent messages on a durable queue once stored', async () => {
    const queue = await freshQueue(true);
    const cc = await conn.createConfirmChannel();
    const acks: Promise<void>[] = [];
    for (let i = 0; i < 50; i++) {
      acks.push(
        new Promise((resolve, reject) =>
          cc.sendToQueue(queue, Buffer.alloc(1024, i), { persistent: true }, (err: unknown) =>
            err ? reject(err) : resolve(),
          ),
        ),
      );
    }
    await within(Promise.all(acks), 5000, 'persistent confirms');
    await within(cc.waitForConfirms());
    assert.equal((await ch.checkQueue(queue)).messageCount, 50);
    await cc.close();
    await ch.deleteQueue(queue);
  });

  it('confirms unroutable publishes; a mandatory one is returned before its ack', async () => {
    const cc = await conn.createConfirmChannel();
    const events: string[] = [];
    cc.on('return', () => events.push('return'));
    await new Promise<void>((resolve, reject) =>
      cc.publish('amq.direct', 'nowhere', Buffer.from('x'), { mandatory: true }, (err: unknown) => {
        events.push('ack');
        if (err) reject(err);
        else resolve();
      }),
    );
    assert.deepEqual(events, ['return', 'ack']);
    await within(cc.waitForConfirms());
    await cc.close();
  });

  it('the callback API confirm channel confirms and waits', async () => {
    const queue = await freshQueue();
    const count = await within(
      new Promise<number>((resolve, reject) => {
        callbackApi.connect(broker.url, (err: Error | null, c: callbackApi.Connection) => {
          if (err) return reject(err);
          c.createConfirmChannel((err2: Error | null, cc: callbackApi.ConfirmChannel) => {
            if (err2) return reject(err2);
            let acked = 0;
            for (let i = 0; i < 10; i++) {
              cc.sendToQueue(queue, Buffer.from('cb'), {}, (e) => {
                if (e) reject(e);
                else acked++;
              });
            }
            cc.waitForConfirms((e?: Error) => {
              if (e) return reject(e);
              c.close(() => resolve(acked));
            });
          });
        });
      }),
    );
    assert.equal(count, 10);
    // Publishing to an exclusive queue from another connection is allowed, as in RabbitMQ.
    assert.equal((await ch.checkQueue(queue)).messageCount, 10);
  });

  it('tx: publishes are invisible until commit', async () => {
    const queue = await freshQueue();
    const tx = await conn.createChannel();
    await txSelect(tx);
    for (let i = 0; i < 3; i++) tx.sendToQueue(queue, Buffer.from(`t${i}`));
    // A synchronous method on the tx channel: the publishes before it have been processed.
    await tx.checkQueue(queue);
    assert.equal((await ch.checkQueue(queue)).messageCount, 0);
    await txCommit(tx);
    assert.equal((await ch.checkQueue(queue)).messageCount, 3);
    const first = await ch.get(queue, { noAck: true });
    assert.ok(first);
    assert.equal(first.content.toString(), 't0');
    await tx.close();
  });

  it('tx: rollback drops uncommitted publishes; the channel stays transactional', async () => {
    const queue = await freshQueue();
    const tx = await conn.createChannel();
    await txSelect(tx);
    tx.sendToQueue(queue, Buffer.from('dropped'));
    await txRollback(tx);
    assert.equal((await ch.checkQueue(queue)).messageCount, 0);
    tx.sendToQueue(queue, Buffer.from('kept'));
    await txCommit(tx);
    const m = await ch.get(queue, { noAck: true });
    assert.ok(m);
    assert.equal(m.content.toString(), 'kept');
    assert.equal(await ch.get(queue), false);
    await tx.close();
  });

  it('tx: acks take effect on commit and are discarded on rollback', async () => {
    const queue = await freshQueue();
    for (let i = 0; i < 4; i++) ch.sendToQueue(queue, Buffer.from(`a${i}`));
    await ch.checkQueue(queue);
    const tx = await conn.createChannel();
    await txSelect(tx);
    const got: Message[] = [];
    for (let i = 0; i < 4; i++) {
      const m = await tx.get(queue);
      assert.ok(m);
      got.push(m);
    }
    tx.ack(got[0]!);
    tx.ack(got[1]!);
    await txRollback(tx); // the two acks are forgotten
    tx.ack(got[2]!);
    tx.ack(got[3]!);
    await txCommit(tx); // these two are applied
    await tx.close(); // the rest go back to the queue
    const back: string[] = [];
    for (;;) {
      const m = await ch.get(queue, { noAck: true });
      if (!m) break;
      back.push(m.content.toString());
    }
    assert.deepEqual(back, ['a0', 'a1']);
  });

  it('tx.commit on a non-transactional channel is 406 PRECONDITION_FAILED', async () => {
    const c = await errorChannel(() => conn.createChannel());
    await rejectsWith(txCommit(c), 406, /PRECONDITION_FAILED - channel is not transactional/);
    const c2 = await errorChannel(() => conn.createChannel());
    await rejectsWith(txRollback(c2), 406, /PRECONDITION_FAILED - channel is not transactional/);
  });

  it('tx.select on a confirm channel is 406 PRECONDITION_FAILED', async () => {
    const cc = await conn.createConfirmChannel();
    const failed = nextEvent(cc, 'error');
    await rejectsWith(
      txSelect(cc as unknown as Channel),
      406,
      /PRECONDITION_FAILED - cannot switch from confirm to tx mode/,
    );
    await failed;
  });
});
