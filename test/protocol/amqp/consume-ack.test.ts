// basic.* through amqplib: mandatory returns, consumers (no-ack, exclusive, tags, cancel,
// server-sent cancel), get, ack/nack/reject, redelivery order, prefetch, recover, properties.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Channel, type ChannelModel, connect, type Message } from 'amqplib';
import {
  type BrokerUnderTest,
  Collector,
  channelError,
  closeBrokerChannel,
  drain,
  errorChannel,
  nextEvent,
  openBrokerChannel,
  rejectsWith,
  roundTrip,
  uniq,
} from './amqp-helpers.js';

/** Takes every message left in `queue` (no-ack) as [body, redelivered] pairs, in order. */
async function takeAll(ch: Channel, queue: string): Promise<Array<[string, boolean]>> {
  const taken: Array<[string, boolean]> = [];
  for (;;) {
    const m = await ch.get(queue, { noAck: true });
    if (!m) return taken;
    taken.push([m.content.toString(), m.fields.redelivered]);
  }
}

describe('amqp basic: consume, get, ack', () => {
  let broker: BrokerUnderTest;
  let conn: ChannelModel;
  let ch: Channel;
  before(async () => {
    ({ broker, conn, ch } = await openBrokerChannel());
  });
  after(() => closeBrokerChannel({ broker, conn, ch }));

  /** A fresh exclusive queue holding `bodies`, published on the shared channel. */
  async function queueWith(bodies: string[], exclusive = true): Promise<string> {
    const { queue } = await ch.assertQueue(uniq('q'), { exclusive });
    for (const body of bodies) ch.sendToQueue(queue, Buffer.from(body));
    await ch.checkQueue(queue); // the publishes before it have been routed
    return queue;
  }

  const numbered = (n: number, prefix = 'm') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  const bodiesOf = (messages: Array<Message | null>) => messages.map((m) => m!.content.toString());

  it('a mandatory publish nobody can take comes back as basic.return 312 NO_ROUTE', async () => {
    const c = await conn.createChannel();
    const returned = nextEvent<[Message]>(c, 'return');
    c.publish('amq.direct', 'nobody-listens', Buffer.from('lost'), { mandatory: true, messageId: 'id-1' });
    const [message] = await returned;
    const fields = message.fields as Message['fields'] & { replyCode: number; replyText: string };
    assert.equal(fields.replyCode, 312);
    assert.equal(fields.replyText, 'NO_ROUTE');
    assert.equal(message.fields.exchange, 'amq.direct');
    assert.equal(message.fields.routingKey, 'nobody-listens');
    assert.equal(message.content.toString(), 'lost');
    assert.equal(message.properties.messageId, 'id-1');
    // Not mandatory: silently dropped, no return.
    let returns = 0;
    c.on('return', () => returns++);
    c.publish('amq.direct', 'nobody-listens', Buffer.from('dropped'));
    c.sendToQueue('no-such-queue', Buffer.from('dropped'));
    await roundTrip(c, (await c.assertQueue('', { exclusive: true })).queue);
    assert.equal(returns, 0);
    await c.close();
  });

  it('consumes with no-ack: messages leave the queue as they are delivered', async () => {
    const queue = await queueWith(numbered(5));
    const c = await conn.createChannel();
    const collector = new Collector();
    await c.consume(queue, collector.handler, { noAck: true });
    await collector.waitFor(5);
    assert.deepEqual(collector.bodies(), numbered(5));
    assert.ok(collector.messages.every((m) => m!.fields.redelivered === false));
    await c.close(); // nothing unacked to requeue
    assert.equal((await ch.checkQueue(queue)).messageCount, 0);
  });

  it('an exclusive consumer keeps others out (403), and cannot join a queue with consumers', async () => {
    const queue = await queueWith([]);
    const { consumerTag } = await ch.consume(queue, () => {}, { exclusive: true });
    const c1 = await errorChannel(() => conn.createChannel());
    await rejectsWith(
      c1.consume(queue, () => {}),
      403,
      new RegExp(`ACCESS_REFUSED - queue '${queue}' in vhost '/' in exclusive use`),
    );
    await ch.cancel(consumerTag);
    const other = await ch.consume(queue, () => {});
    const c2 = await errorChannel(() => conn.createChannel());
    await rejectsWith(
      c2.consume(queue, () => {}, { exclusive: true }),
      403,
      /in exclusive use/,
    );
    await ch.cancel(other.consumerTag);
  });

  it('uses an explicit consumer tag', async () => {
    const queue = await queueWith(['tagged']);
    const c = await conn.createChannel();
    const collector = new Collector();
    const ok = await c.consume(queue, collector.handler, { consumerTag: 'my-tag', noAck: true });
    assert.equal(ok.consumerTag, 'my-tag');
    const [message] = await collector.waitFor(1);
    assert.equal(message!.fields.consumerTag, 'my-tag');
    const generated = await c.consume(queue, () => {});
    assert.match(generated.consumerTag, /^amq\.ctag-/);
    await c.close();
  });

  it('reusing a consumer tag on a channel is a 530 NOT_ALLOWED connection error', async () => {
    const queue = await queueWith([], false);
    const c = await connect(broker.url);
    const errors: Error[] = [];
    c.on('error', (e: Error) => errors.push(e));
    const closed = nextEvent<[Error & { code?: number }]>(c, 'close');
    const cc = await errorChannel(() => c.createChannel());
    await cc.consume(queue, () => {}, { consumerTag: 'dup' });
    await assert.rejects(cc.consume(queue, () => {}, { consumerTag: 'dup' }));
    const [error] = await closed;
    assert.equal(error.code, 530);
    assert.match(error.message, /NOT_ALLOWED - attempt to reuse consumer tag 'dup'/);
    // Other connections are unaffected.
    await ch.checkQueue(queue);
    await ch.deleteQueue(queue);
  });

  it('cancel stops deliveries and returns the tag', async () => {
    const queue = await queueWith([]);
    const c = await conn.createChannel();
    const collector = new Collector();
    const { consumerTag } = await c.consume(queue, collector.handler, { noAck: true });
    c.sendToQueue(queue, Buffer.from('before'));
    await collector.waitFor(1);
    const cancelled = await c.cancel(consumerTag);
    assert.equal(cancelled.consumerTag, consumerTag);
    c.sendToQueue(queue, Buffer.from('after'));
    await roundTrip(c, queue);
    assert.deepEqual(collector.bodies(), ['before']);
    assert.equal((await c.checkQueue(queue)).messageCount, 1);
    // Cancelling an unknown tag is not an error.
    await c.cancel('unknown-tag');
    await c.close();
  });

  it('deleting a consumed queue sends basic.cancel; amqplib hands the consumer null', async () => {
    const name = uniq('doomed');
    const c = await conn.createChannel();
    await c.assertQueue(name);
    const collector = new Collector();
    const { consumerTag } = await c.consume(name, collector.handler);
    const cancelEvent = nextEvent<[{ consumerTag: string }]>(c, 'cancel');
    await ch.deleteQueue(name);
    const [fields] = await cancelEvent;
    assert.equal(fields.consumerTag, consumerTag);
    await collector.waitFor(1);
    assert.deepEqual(collector.messages, [null]);
    // The channel stays open.
    await c.assertQueue('', { exclusive: true });
    await c.close();
  });

  it('basic.get returns a message with the remaining count, then false when empty', async () => {
    const queue = await queueWith(['g1', 'g2']);
    const first = await ch.get(queue);
    assert.ok(first);
    assert.equal(first.content.toString(), 'g1');
    assert.equal(first.fields.messageCount, 1);
    assert.equal(first.fields.redelivered, false);
    assert.equal(first.fields.exchange, '');
    assert.equal(first.fields.routingKey, queue);
    ch.ack(first);
    const second = await ch.get(queue, { noAck: true });
    assert.ok(second);
    assert.equal(second.fields.messageCount, 0);
    assert.equal(await ch.get(queue), false);
    await rejectsWith((await errorChannel(() => conn.createChannel())).get('no-such-queue'), 404);
  });

  it('ack and ack multiple settle deliveries for good', async () => {
    const queue = await queueWith(numbered(5));
    const c = await conn.createChannel();
    const collector = new Collector();
    await c.consume(queue, collector.handler);
    const messages = await collector.waitFor(5);
    c.ack(messages[0]!);
    c.ack(messages[3]!, true); // 1..3
    c.ack(messages[4]!);
    await c.close();
    assert.equal((await ch.checkQueue(queue)).messageCount, 0);
  });

  it('nack multiple with requeue redelivers in the original order, flagged redelivered', async () => {
    const queue = await queueWith(numbered(4));
    const c = await conn.createChannel();
    const collector = new Collector();
    await c.consume(queue, collector.handler);
    const firstRound = (await collector.waitFor(4)).slice();
    c.nack(firstRound[3]!, true, true);
    const all = await collector.waitFor(8);
    const again = all.slice(4);
    assert.deepEqual(bodiesOf(again), numbered(4));
    assert.ok(again.every((m) => m!.fields.redelivered === true));
    assert.ok(firstRound.every((m) => m!.fields.redelivered === false));
    c.ackAll();
    await c.close();
    assert.equal((await ch.checkQueue(queue)).messageCount, 0);
  });

  it('a requeued message goes back to its original position, ahead of later ones', async () => {
    const queue = await queueWith(numbered(5));
    const first = await ch.get(queue);
    const second = await ch.get(queue);
    assert.ok(first && second);
    ch.nack(second, false, true);
    ch.nack(first, false, true);
    const order = await takeAll(ch, queue);
    assert.deepEqual(order, [
      ['m0', true],
      ['m1', true],
      ['m2', false],
      ['m3', false],
      ['m4', false],
    ]);
  });

  it('reject with requeue=false drops the message; reject with requeue redelivers it', async () => {
    const queue = await queueWith(['drop', 'keep']);
    const dropped = await ch.get(queue);
    const kept = await ch.get(queue);
    assert.ok(dropped && kept);
    ch.reject(dropped, false);
    ch.reject(kept, true);
    const again = await ch.get(queue, { noAck: true });
    assert.ok(again);
    assert.equal(again.content.toString(), 'keep');
    assert.equal(again.fields.redelivered, true);
    assert.equal(await ch.get(queue), false);
  });

  it('nack without requeue drops; nackAll(requeue) returns everything', async () => {
    const queue = await queueWith(numbered(3));
    const a = await ch.get(queue);
    assert.ok(a);
    ch.nack(a, false, false);
    await ch.get(queue);
    await ch.get(queue);
    ch.nackAll(true);
    assert.deepEqual(await drain(ch, queue), ['m1', 'm2']);
  });

  it('an unknown delivery tag is a 406 channel error; the connection survives', async () => {
    const c = await conn.createChannel();
    const failed = channelError(c);
    c.ack({ fields: { deliveryTag: 99 } } as unknown as Message);
    const error = await failed;
    assert.equal(error.code, 406);
    assert.match(error.message, /PRECONDITION_FAILED - unknown delivery tag 99/);
    await ch.checkQueue(await queueWith([]));
  });

  it('acking a delivery twice is a 406 unknown delivery tag', async () => {
    const queue = await queueWith(['once']);
    const c = await conn.createChannel();
    const m = await c.get(queue);
    assert.ok(m);
    const failed = channelError(c);
    c.ack(m);
    c.ack(m);
    const error = await failed;
    assert.equal(error.code, 406);
    assert.match(error.message, new RegExp(`unknown delivery tag ${m.fields.deliveryTag}`));
    assert.equal((await ch.checkQueue(queue)).messageCount, 0);
  });

  it('prefetch(N) allows exactly N unacked deliveries until acks free room', async () => {
    const queue = await queueWith(numbered(10));
    const c = await conn.createChannel();
    await c.prefetch(3);
    const collector = new Collector();
    await c.consume(queue, collector.handler);
    await collector.waitFor(3);
    await roundTrip(c, queue);
    assert.equal(collector.messages.length, 3);
    c.ack(collector.messages[0]!);
    await collector.waitFor(4);
    await roundTrip(c, queue);
    assert.equal(collector.messages.length, 4);
    c.ack(collector.messages[3]!, true); // frees 3 more slots
    await collector.waitFor(7);
    await roundTrip(c, queue);
    assert.equal(collector.messages.length, 7);
    assert.deepEqual(collector.bodies(), numbered(7));
    await c.close();
  });

  it('per-consumer prefetch applies to each consumer separately', async () => {
    const q1 = await queueWith(numbered(5, 'a'));
    const q2 = await queueWith(numbered(5, 'b'));
    const c = await conn.createChannel();
    await c.prefetch(2);
    const one = new Collector();
    const two = new Collector();
    await c.consume(q1, one.handler);
    await c.consume(q2, two.handler);
    await one.waitFor(2);
    await two.waitFor(2);
    await roundTrip(c, q1);
    assert.equal(one.messages.length + two.messages.length, 4);
    await c.close();
  });

  it('global prefetch is shared by the consumers of a channel', async () => {
    const q1 = await queueWith(numbered(5, 'a'));
    const q2 = await queueWith(numbered(5, 'b'));
    const c = await conn.createChannel();
    await c.prefetch(3, true);
    const all = new Collector();
    await c.consume(q1, all.handler);
    await c.consume(q2, all.handler);
    await all.waitFor(3);
    await roundTrip(c, q1);
    assert.equal(all.messages.length, 3);
    c.ack(all.messages[0]!);
    await all.waitFor(4);
    await roundTrip(c, q1);
    assert.equal(all.messages.length, 4);
    await c.close();
  });

  it('recover redelivers every unacked message, flagged redelivered', async () => {
    const queue = await queueWith(numbered(3));
    const c = await conn.createChannel();
    const collector = new Collector();
    await c.consume(queue, collector.handler);
    await collector.waitFor(3);
    await c.recover();
    const all = await collector.waitFor(6);
    assert.deepEqual(bodiesOf(all.slice(3)), numbered(3));
    assert.ok(all.slice(3).every((m) => m!.fields.redelivered));
    // New delivery tags for the redeliveries.
    assert.ok(all[3]!.fields.deliveryTag > all[2]!.fields.deliveryTag);
    c.ackAll();
    await c.close();
  });

  it('closing a channel requeues its unacked deliveries in order', async () => {
    const queue = await queueWith(numbered(4));
    const c = await conn.createChannel();
    const collector = new Collector();
    await c.consume(queue, collector.handler);
    await collector.waitFor(4);
    c.ack(collector.messages[1]!);
    await c.close();
    const back = await takeAll(ch, queue);
    assert.deepEqual(back, [
      ['m0', true],
      ['m2', true],
      ['m3', true],
    ]);
  });

  it('closing a connection requeues the unacked deliveries of all its channels', async () => {
    const queue = await queueWith(numbered(2), false);
    const other = await connect(broker.url);
    const oc = await other.createChannel();
    const m = await oc.get(queue);
    assert.ok(m);
    await other.close();
    assert.equal((await ch.checkQueue(queue)).messageCount, 2);
    await ch.deleteQueue(queue);
  });

  it('round-trips every basic property and headers of many field types', async () => {
    const queue = await queueWith([]);
    const headers = {
      string: 'text ✓',
      empty: '',
      byte: -5,
      short: 1000,
      int: -70000,
      long: 2 ** 40,
      double: 3.25,
      float: { '!': 'float', value: 1.5 },
      true: true,
      false: false,
      void: null,
      bytes: Buffer.from([0, 1, 2, 255]),
      array: [1, 'two', [3], { four: 4 }],
      table: { nested: { deeper: 'yes' }, n: 1 },
      timestamp: { '!': 'timestamp', value: 1_700_000_000 },
      unsignedbyte: { '!': 'unsignedbyte', value: 200 },
      unsignedshort: { '!': 'unsignedshort', value: 60_000 },
      unsignedint: { '!': 'unsignedint', value: 4_000_000_000 },
      decimal: { '!': 'decimal', value: { places: 2, digits: 12345 } },
    };
    const options = {
      contentType: 'application/json',
      contentEncoding: 'gzip',
      headers,
      deliveryMode: 2,
      priority: 7,
      correlationId: 'corr-1',
      replyTo: 'reply-queue',
      expiration: '60000',
      messageId: 'msg-1',
      timestamp: 1_700_000_123,
      type: 'order.created',
      userId: 'guest',
      appId: 'pier-tests',
    };
    ch.sendToQueue(queue, Buffer.from('{"ok":true}'), options);
    const m = await ch.get(queue, { noAck: true });
    assert.ok(m);
    assert.equal(m.content.toString(), '{"ok":true}');
    const p = m.properties;
    assert.equal(p.contentType, 'application/json');
    assert.equal(p.contentEncoding, 'gzip');
    assert.equal(p.deliveryMode, 2);
    assert.equal(p.priority, 7);
    assert.equal(p.correlationId, 'corr-1');
    assert.equal(p.replyTo, 'reply-queue');
    assert.equal(p.expiration, '60000');
    assert.equal(p.messageId, 'msg-1');
    assert.equal(p.timestamp, 1_700_000_123);
    assert.equal(p.type, 'order.created');
    assert.equal(p.userId, 'guest');
    assert.equal(p.appId, 'pier-tests');
    assert.deepEqual(p.headers, {
      string: 'text ✓',
      empty: '',
      byte: -5,
      short: 1000,
      int: -70000,
      long: 2 ** 40,
      double: 3.25,
      float: 1.5,
      true: true,
      false: false,
      void: null,
      bytes: Buffer.from([0, 1, 2, 255]),
      array: [1, 'two', [3], { four: 4 }],
      table: { nested: { deeper: 'yes' }, n: 1 },
      timestamp: { '!': 'timestamp', value: 1_700_000_000 },
      unsignedbyte: 200,
      unsignedshort: 60_000,
      unsignedint: 4_000_000_000,
      decimal: { '!': 'decimal', value: { places: 2, digits: 12345 } },
    });
  });

  it('a message with no properties arrives with none set', async () => {
    const queue = await queueWith([]);
    ch.sendToQueue(queue, Buffer.alloc(0));
    const m = await ch.get(queue, { noAck: true });
    assert.ok(m);
    assert.equal(m.content.length, 0);
    assert.equal(m.properties.contentType, undefined);
    assert.equal(m.properties.deliveryMode, undefined);
  });
});
