// Exchanges through amqplib: declare rules, deletes, exchange-to-exchange bindings and the
// routing of each exchange type.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Channel, ChannelModel } from 'amqplib';
import {
  type BrokerUnderTest,
  closeBrokerChannel,
  drain,
  errorChannel,
  openBrokerChannel,
  rejectsWith,
  uniq,
} from './amqp-helpers.js';

describe('amqp exchanges', () => {
  let broker: BrokerUnderTest;
  let conn: ChannelModel;
  let ch: Channel;
  before(async () => {
    ({ broker, conn, ch } = await openBrokerChannel());
  });
  after(() => closeBrokerChannel({ broker, conn, ch }));

  const failing = () => errorChannel(() => conn.createChannel());

  /** A fresh exclusive queue bound to `exchange` with each of `keys`. */
  async function boundQueue(
    exchange: string,
    keys: string[],
    args?: Record<string, unknown>,
  ): Promise<string> {
    const { queue } = await ch.assertQueue('', { exclusive: true });
    for (const key of keys) await ch.bindQueue(queue, exchange, key, args);
    return queue;
  }

  it('declares direct, topic, fanout and headers exchanges; passive declare finds them', async () => {
    for (const type of ['direct', 'topic', 'fanout', 'headers']) {
      const name = uniq(type);
      const ok = await ch.assertExchange(name, type, { durable: false });
      assert.equal(ok.exchange, name);
      await ch.checkExchange(name);
      // An equivalent redeclare is fine.
      await ch.assertExchange(name, type, { durable: false });
    }
  });

  it('passive declare of a missing exchange is 404 NOT_FOUND', async () => {
    const c = await failing();
    await rejectsWith(
      c.checkExchange('no-such-exchange'),
      404,
      /NOT_FOUND - no exchange 'no-such-exchange' in vhost '\/'/,
    );
  });

  it("redeclare with another type is 406 with RabbitMQ's text", async () => {
    const name = uniq('ex');
    await ch.assertExchange(name, 'direct', { durable: false });
    const c = await failing();
    await rejectsWith(
      c.assertExchange(name, 'fanout', { durable: false }),
      406,
      new RegExp(
        `PRECONDITION_FAILED - inequivalent arg 'type' for exchange '${name}' in vhost '/': received 'fanout' but current is 'direct'`,
      ),
    );
  });

  it('redeclare with another durability is 406', async () => {
    const name = uniq('ex');
    await ch.assertExchange(name, 'direct', { durable: false });
    const c = await failing();
    await rejectsWith(c.assertExchange(name, 'direct', { durable: true }), 406, /inequivalent arg 'durable'/);
  });

  it('amq.* names are reserved (403) but the standard ones can be redeclared', async () => {
    const c = await failing();
    await rejectsWith(
      c.assertExchange('amq.custom', 'direct'),
      403,
      /ACCESS_REFUSED - exchange name 'amq.custom' contains reserved prefix 'amq\.\*'/,
    );
    for (const [name, type] of [
      ['amq.direct', 'direct'],
      ['amq.fanout', 'fanout'],
      ['amq.topic', 'topic'],
      ['amq.headers', 'headers'],
      ['amq.match', 'headers'],
    ]) {
      await ch.checkExchange(name!);
      await ch.assertExchange(name!, type!, { durable: true });
    }
  });

  it('deleting a standard exchange is 403', async () => {
    const c = await failing();
    await rejectsWith(
      c.deleteExchange('amq.direct'),
      403,
      /ACCESS_REFUSED - deletion of system exchange 'amq.direct' in vhost '\/' not allowed/,
    );
  });

  it('delete if-unused of a bound exchange is 406; delete is idempotent', async () => {
    const name = uniq('ex');
    await ch.assertExchange(name, 'direct', { durable: false });
    await boundQueue(name, ['k']);
    const c = await failing();
    await rejectsWith(
      c.deleteExchange(name, { ifUnused: true }),
      406,
      new RegExp(`PRECONDITION_FAILED - exchange '${name}' in vhost '/' in use`),
    );
    await ch.deleteExchange(name);
    await ch.deleteExchange(name);
    await ch.deleteExchange('never-existed');
    const check = await failing();
    await rejectsWith(check.checkExchange(name), 404);
  });

  it('delete if-unused succeeds on an exchange with no bindings', async () => {
    const name = uniq('ex');
    await ch.assertExchange(name, 'fanout', { durable: false });
    await ch.deleteExchange(name, { ifUnused: true });
    const c = await failing();
    await rejectsWith(c.checkExchange(name), 404);
  });

  it('direct exchange routes by exact key', async () => {
    const ex = uniq('direct');
    await ch.assertExchange(ex, 'direct', { durable: false });
    const q1 = await boundQueue(ex, ['a', 'b']);
    const q2 = await boundQueue(ex, ['b']);
    ch.publish(ex, 'a', Buffer.from('to-a'));
    ch.publish(ex, 'b', Buffer.from('to-b'));
    ch.publish(ex, 'c', Buffer.from('to-c'));
    assert.deepEqual(await drain(ch, q1), ['to-a', 'to-b']);
    assert.deepEqual(await drain(ch, q2), ['to-b']);
  });

  it('exchange-to-exchange bindings route, and unbinding stops them', async () => {
    const source = uniq('src');
    const middle = uniq('mid');
    await ch.assertExchange(source, 'topic', { durable: false });
    await ch.assertExchange(middle, 'fanout', { durable: false });
    await ch.bindExchange(middle, source, 'orders.*');
    const queue = await boundQueue(middle, ['']);
    ch.publish(source, 'orders.new', Buffer.from('1'));
    ch.publish(source, 'invoices.new', Buffer.from('2'));
    assert.deepEqual(await drain(ch, queue), ['1']);
    await ch.unbindExchange(middle, source, 'orders.*');
    ch.publish(source, 'orders.new', Buffer.from('3'));
    assert.deepEqual(await drain(ch, queue), []);
  });

  it('a cycle of exchange bindings delivers once and terminates', async () => {
    const a = uniq('a');
    const b = uniq('b');
    await ch.assertExchange(a, 'fanout', { durable: false });
    await ch.assertExchange(b, 'fanout', { durable: false });
    await ch.bindExchange(b, a, '');
    await ch.bindExchange(a, b, '');
    const queue = await boundQueue(b, ['']);
    ch.publish(a, 'x', Buffer.from('once'));
    assert.deepEqual(await drain(ch, queue), ['once']);
  });

  it('topic exchange: * matches one word, # zero or more', async () => {
    const ex = uniq('topic');
    await ch.assertExchange(ex, 'topic', { durable: false });
    const star = await boundQueue(ex, ['a.*.c']);
    const hashMiddle = await boundQueue(ex, ['a.#.z']);
    const hashTail = await boundQueue(ex, ['log.#']);
    const hashAll = await boundQueue(ex, ['#']);
    const starOnly = await boundQueue(ex, ['*']);
    const empty = await boundQueue(ex, ['']);
    const keys = [
      'a.b.c',
      'a.c',
      'a.b.b.c',
      'a.z',
      'a.b.z',
      'a.b.c.z',
      'log',
      'log.x.y',
      'logs',
      'single',
      '',
    ];
    for (const key of keys) ch.publish(ex, key, Buffer.from(key === '' ? '(empty)' : key));
    assert.deepEqual(await drain(ch, star), ['a.b.c']);
    assert.deepEqual(await drain(ch, hashMiddle), ['a.z', 'a.b.z', 'a.b.c.z']);
    assert.deepEqual(await drain(ch, hashTail), ['log', 'log.x.y']);
    assert.deepEqual(
      await drain(ch, hashAll),
      keys.map((k) => (k === '' ? '(empty)' : k)),
    );
    // RabbitMQ: the empty key has zero words, so `*` does not match it and the empty pattern only matches it.
    assert.deepEqual(await drain(ch, starOnly), ['log', 'logs', 'single']);
    assert.deepEqual(await drain(ch, empty), ['(empty)']);
  });

  it('topic exchange: # at both ends and a queue bound by two matching patterns gets one copy', async () => {
    const ex = uniq('topic');
    await ch.assertExchange(ex, 'topic', { durable: false });
    const both = await boundQueue(ex, ['#.error.#', '*.error']);
    for (const key of ['error', 'app.error', 'app.error.db', 'app.warn'])
      ch.publish(ex, key, Buffer.from(key));
    assert.deepEqual(await drain(ch, both), ['error', 'app.error', 'app.error.db']);
  });

  it('headers exchange: x-match all and any', async () => {
    const ex = uniq('headers');
    await ch.assertExchange(ex, 'headers', { durable: false });
    const all = await boundQueue(ex, [''], { 'x-match': 'all', format: 'pdf', type: 'report' });
    const any = await boundQueue(ex, [''], { 'x-match': 'any', format: 'pdf', type: 'report' });
    const byDefault = await boundQueue(ex, [''], { format: 'pdf', pages: 3 });
    ch.publish(ex, '', Buffer.from('both'), { headers: { format: 'pdf', type: 'report', pages: 3 } });
    ch.publish(ex, '', Buffer.from('format'), { headers: { format: 'pdf' } });
    ch.publish(ex, '', Buffer.from('type'), { headers: { type: 'report' } });
    ch.publish(ex, '', Buffer.from('wrong'), { headers: { format: 'zip', type: 'log' } });
    ch.publish(ex, '', Buffer.from('none'));
    assert.deepEqual(await drain(ch, all), ['both']);
    assert.deepEqual(await drain(ch, any), ['both', 'format', 'type']);
    assert.deepEqual(await drain(ch, byDefault), ['both']);
  });

  it('fanout exchange copies to every bound queue and ignores the key', async () => {
    const ex = uniq('fanout');
    await ch.assertExchange(ex, 'fanout', { durable: false });
    const q1 = await boundQueue(ex, ['ignored']);
    const q2 = await boundQueue(ex, ['']);
    ch.publish(ex, 'anything', Buffer.from('hello'));
    assert.deepEqual(await drain(ch, q1), ['hello']);
    assert.deepEqual(await drain(ch, q2), ['hello']);
  });

  it('publishing to an internal exchange is 403; it still routes via an exchange binding', async () => {
    const internal = uniq('internal');
    const front = uniq('front');
    await ch.assertExchange(internal, 'fanout', { durable: false, internal: true });
    await ch.assertExchange(front, 'fanout', { durable: false });
    await ch.bindExchange(internal, front, '');
    const queue = await boundQueue(internal, ['']);
    ch.publish(front, '', Buffer.from('via-front'));
    assert.deepEqual(await drain(ch, queue), ['via-front']);
    const c = await failing();
    c.publish(internal, '', Buffer.from('direct'));
    await rejectsWith(
      c.checkQueue(queue),
      403,
      new RegExp(`ACCESS_REFUSED - cannot publish to internal exchange '${internal}' in vhost '/'`),
    );
  });

  it('an auto-delete exchange goes when its last binding is removed', async () => {
    const ex = uniq('auto');
    await ch.assertExchange(ex, 'direct', { durable: false, autoDelete: true });
    // Declared but never bound: it stays.
    await ch.checkExchange(ex);
    const { queue } = await ch.assertQueue('', { exclusive: true });
    await ch.bindQueue(queue, ex, 'one');
    await ch.bindQueue(queue, ex, 'two');
    await ch.unbindQueue(queue, ex, 'one');
    await ch.checkExchange(ex);
    await ch.unbindQueue(queue, ex, 'two');
    const c = await failing();
    await rejectsWith(c.checkExchange(ex), 404);
  });

  it('an auto-delete exchange goes when its last bound queue is deleted', async () => {
    const ex = uniq('auto');
    await ch.assertExchange(ex, 'fanout', { durable: false, autoDelete: true });
    const { queue } = await ch.assertQueue(uniq('q'), { exclusive: true });
    await ch.bindQueue(queue, ex, '');
    await ch.deleteQueue(queue);
    const c = await failing();
    await rejectsWith(c.checkExchange(ex), 404);
  });

  it('binding to a missing exchange or queue is 404', async () => {
    const { queue } = await ch.assertQueue('', { exclusive: true });
    const c1 = await failing();
    await rejectsWith(c1.bindQueue(queue, 'no-such-exchange', 'k'), 404, /no exchange 'no-such-exchange'/);
    const c2 = await failing();
    await rejectsWith(c2.bindQueue('no-such-queue', 'amq.direct', 'k'), 404, /no queue 'no-such-queue'/);
  });
});
