// Message deduplication (x-message-deduplication, x-deduplication-header) on queues and exchanges,
// through amqplib, with cache TTLs driven by a ManualClock.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ChannelModel, ConfirmChannel } from 'amqplib';
import { clearPolicy, setPolicy } from '../../../src/core/amqp/management.js';
import type { ManualClock } from '../../../src/core/manual-clock.js';
import type { TestBroker } from '../../helpers/broker.js';
import {
  channelError,
  closeClockedBroker,
  drain,
  nextEvent,
  openClockedBroker,
  rejectsWith,
  uniq,
} from './amqp-helpers.js';

describe('message deduplication', () => {
  let clock: ManualClock;
  let broker: TestBroker;
  let conn: ChannelModel;
  let ch: ConfirmChannel;

  before(async () => {
    ({ clock, broker, conn, ch } = await openClockedBroker());
  });
  after(() => closeClockedBroker({ clock, broker, conn, ch }));

  async function dedupQueue(args: Record<string, unknown> = {}, durable = false): Promise<string> {
    const q = uniq('dedup-q');
    await ch.assertQueue(q, { durable, arguments: { 'x-message-deduplication': true, ...args } });
    return q;
  }

  function send(q: string, body: string, id?: unknown, extra: Record<string, unknown> = {}): void {
    const headers = id === undefined ? extra : { 'x-deduplication-header': id, ...extra };
    ch.sendToQueue(q, Buffer.from(body), { headers, persistent: true });
  }

  describe('on a queue', () => {
    it('does not enqueue a message whose id is already in the queue; ids without the header pass', async () => {
      const q = await dedupQueue();
      send(q, 'a1', 'a');
      send(q, 'a2', 'a');
      send(q, 'b1', 'b');
      send(q, 'plain1');
      send(q, 'plain2');
      send(q, 'num', 1);
      send(q, 'str', '1');
      await ch.waitForConfirms();
      assert.deepEqual(await drain(ch, q), ['a1', 'b1', 'plain1', 'plain2', 'num', 'str']);
    });

    it('accepts the id again once its message has left the queue (ack), not while it is unacked', async () => {
      const q = await dedupQueue();
      send(q, 'first', 'x');
      await ch.waitForConfirms();
      const taken = await ch.get(q);
      assert.ok(taken);
      send(q, 'while-unacked', 'x');
      await ch.waitForConfirms();
      assert.equal((await ch.checkQueue(q)).messageCount, 0, 'the unacked message still holds its id');
      ch.nack(taken, false, true);
      const again = await ch.get(q);
      assert.ok(again);
      assert.equal(again.content.toString(), 'first', 'a requeued message keeps its id');
      ch.ack(again);
      send(q, 'after-ack', 'x');
      await ch.waitForConfirms();
      assert.deepEqual(await drain(ch, q), ['after-ack']);
    });

    it('confirms duplicates: every publish is acked, none left hanging', async () => {
      const q = await dedupQueue({}, true);
      const acks: number[] = [];
      for (let i = 0; i < 50; i++) {
        ch.sendToQueue(
          q,
          Buffer.from(`m${i}`),
          { persistent: true, headers: { 'x-deduplication-header': i % 5 } },
          (err) => {
            if (!err) acks.push(i);
          },
        );
      }
      await ch.waitForConfirms();
      assert.equal(acks.length, 50);
      assert.equal((await ch.checkQueue(q)).messageCount, 5);
      await ch.deleteQueue(q);
    });

    it('x-cache-size bounds the ids kept: the oldest is forgotten first', async () => {
      const q = await dedupQueue({ 'x-cache-size': 2 });
      send(q, 'a', 'a');
      send(q, 'b', 'b');
      send(q, 'c', 'c'); // evicts a
      send(q, 'a-again', 'a'); // accepted: a was evicted (and now evicts b)
      send(q, 'c-again', 'c'); // duplicate
      await ch.waitForConfirms();
      assert.deepEqual(await drain(ch, q), ['a', 'b', 'c', 'a-again']);
    });

    it('x-cache-ttl and a per-message x-cache-ttl header expire ids', async () => {
      const q = await dedupQueue({ 'x-cache-ttl': 1000 });
      send(q, 'a', 'a');
      send(q, 'b', 'b', { 'x-cache-ttl': 100 });
      await ch.waitForConfirms();
      clock.advance(99);
      send(q, 'b-dup', 'b');
      await ch.waitForConfirms();
      clock.advance(1);
      send(q, 'b-after-ttl', 'b');
      clock.advance(899);
      send(q, 'a-dup', 'a');
      await ch.waitForConfirms();
      clock.advance(1);
      send(q, 'a-after-ttl', 'a');
      await ch.waitForConfirms();
      assert.deepEqual(await drain(ch, q), ['a', 'b', 'b-after-ttl', 'a-after-ttl']);
    });

    it('a policy turns deduplication on and off for an existing queue', async () => {
      const q = uniq('policy-dedup');
      await ch.assertQueue(q);
      send(q, 'before', 'p');
      await ch.waitForConfirms();
      setPolicy(broker.core, {
        vhost: '/',
        name: `${q}-policy`,
        pattern: `^${q}$`,
        applyTo: 'queues',
        definition: { 'message-deduplication': true },
      });
      send(q, 'first', 'p');
      send(q, 'duplicate', 'p');
      await ch.waitForConfirms();
      clearPolicy(broker.core, '/', `${q}-policy`);
      send(q, 'after', 'p');
      await ch.waitForConfirms();
      assert.deepEqual(await drain(ch, q), ['before', 'first', 'after']);
    });

    it('a purge forgets the ids', async () => {
      const q = await dedupQueue();
      send(q, 'a', 'a');
      await ch.waitForConfirms();
      await ch.purgeQueue(q);
      send(q, 'a-after-purge', 'a');
      await ch.waitForConfirms();
      assert.deepEqual(await drain(ch, q), ['a-after-purge']);
    });
  });

  describe('on an exchange', () => {
    async function dedupExchange(args: Record<string, unknown> = {}): Promise<{ ex: string; q: string }> {
      const ex = uniq('dedup-x');
      const q = uniq('dedup-xq');
      await ch.assertExchange(ex, 'direct', { arguments: { 'x-message-deduplication': true, ...args } });
      await ch.assertQueue(q);
      await ch.bindQueue(q, ex, 'k');
      return { ex, q };
    }

    function publish(
      ex: string,
      body: string,
      id?: unknown,
      extra: Record<string, unknown> = {},
      mandatory = false,
    ) {
      const headers = id === undefined ? extra : { 'x-deduplication-header': id, ...extra };
      ch.publish(ex, 'k', Buffer.from(body), { headers, mandatory });
    }

    it('does not route a duplicate, even after the first copy was consumed; confirms ack it', async () => {
      const { ex, q } = await dedupExchange();
      publish(ex, 'a1', 'a');
      await ch.waitForConfirms();
      assert.deepEqual(await drain(ch, q), ['a1']);
      publish(ex, 'a2', 'a');
      publish(ex, 'b1', 'b');
      publish(ex, 'none');
      await ch.waitForConfirms();
      assert.deepEqual(await drain(ch, q), ['b1', 'none']);
    });

    it('a policy turns deduplication on and off for an existing exchange', async () => {
      const ex = uniq('policy-x');
      const q = uniq('policy-xq');
      await ch.assertExchange(ex, 'direct');
      await ch.assertQueue(q);
      await ch.bindQueue(q, ex, 'k');
      publish(ex, 'before', 'p');
      publish(ex, 'before again', 'p');
      await ch.waitForConfirms();
      assert.deepEqual(await drain(ch, q), ['before', 'before again']);
      setPolicy(broker.core, {
        vhost: '/',
        name: `${ex}-policy`,
        pattern: `^${ex}$`,
        applyTo: 'exchanges',
        definition: { 'message-deduplication': true, 'cache-ttl': 1000 },
      });
      publish(ex, 'first', 'p');
      publish(ex, 'duplicate', 'p');
      await ch.waitForConfirms();
      assert.deepEqual(await drain(ch, q), ['first']);
      clock.advance(1000); // the policy's cache-ttl applies
      publish(ex, 'after ttl', 'p');
      await ch.waitForConfirms();
      assert.deepEqual(await drain(ch, q), ['after ttl']);
      clearPolicy(broker.core, '/', `${ex}-policy`);
      publish(ex, 'off', 'p');
      await ch.waitForConfirms();
      assert.deepEqual(await drain(ch, q), ['off']);
    });

    it('returns a mandatory duplicate as NO_ROUTE', async () => {
      const { ex, q } = await dedupExchange();
      publish(ex, 'first', 'm', {}, true);
      const returned = nextEvent<[{ content: Buffer; fields: { replyCode: number } }]>(ch, 'return');
      publish(ex, 'second', 'm', {}, true);
      const [message] = await returned;
      assert.equal(message.fields.replyCode, 312);
      assert.equal(message.content.toString(), 'second');
      await ch.waitForConfirms();
      assert.deepEqual(await drain(ch, q), ['first']);
    });

    it('x-cache-ttl (argument and header), x-cache-size and a custom x-deduplication-header', async () => {
      const { ex, q } = await dedupExchange({ 'x-cache-ttl': 500, 'x-cache-size': 2 });
      publish(ex, 'a', 'a');
      publish(ex, 'b', 'b', { 'x-cache-ttl': 50 });
      await ch.waitForConfirms();
      clock.advance(50);
      publish(ex, 'b-after-ttl', 'b'); // cache: a, b
      publish(ex, 'a-dup', 'a');
      publish(ex, 'c', 'c'); // evicts a
      publish(ex, 'a-after-eviction', 'a');
      await ch.waitForConfirms();
      assert.deepEqual(await drain(ch, q), ['a', 'b', 'b-after-ttl', 'c', 'a-after-eviction']);

      const custom = await dedupExchange({ 'x-deduplication-header': 'order-id' });
      publish(custom.ex, 'o1', undefined, { 'order-id': 7 });
      publish(custom.ex, 'o2', undefined, { 'order-id': 7 });
      publish(custom.ex, 'o3', 'ignored-header', { 'order-id': 8 });
      await ch.waitForConfirms();
      assert.deepEqual(await drain(ch, custom.q), ['o1', 'o3']);
    });

    it('refuses bad deduplication arguments with 406', async () => {
      const cases: Array<[Record<string, unknown>, RegExp]> = [
        [{ 'x-message-deduplication': 'yes' }, /'x-message-deduplication' must be a boolean/],
        [
          { 'x-message-deduplication': true, 'x-cache-size': 0 },
          /'x-cache-size' must be an integer greater than 0/,
        ],
        [
          { 'x-message-deduplication': true, 'x-cache-ttl': -1 },
          /'x-cache-ttl' must be a non-negative integer/,
        ],
      ];
      for (const [args, text] of cases) {
        const bad = await conn.createChannel();
        const closed = channelError(bad);
        await rejectsWith(bad.assertExchange(uniq('bad'), 'direct', { arguments: args }), 406, text);
        await closed;
      }
    });

    it('deduplicates before delaying on a delayed exchange', async () => {
      const ex = uniq('dedup-delayed');
      const q = uniq('dedup-delayed-q');
      await ch.assertExchange(ex, 'x-delayed-message', {
        arguments: { 'x-delayed-type': 'fanout', 'x-message-deduplication': true },
      });
      await ch.assertQueue(q);
      await ch.bindQueue(q, ex, '');
      publish(ex, 'once', 'd', { 'x-delay': 100 });
      publish(ex, 'twice', 'd', { 'x-delay': 50 });
      await ch.waitForConfirms();
      clock.advance(100);
      assert.deepEqual(await drain(ch, q), ['once']);
    });
  });
});
