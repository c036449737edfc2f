// Queue features through amqplib, with time driven by a ManualClock so TTLs and expiries are
// exact: message TTL (queue and per message), x-expires, max length with each overflow mode,
// dead-lettering and x-death, priorities, single active consumer, consumer priorities, quorum
// delivery limit, alternate exchanges.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Channel, type ChannelModel, type ConfirmChannel, connect, type GetMessage } from 'amqplib';
import { clearPolicy, setPolicy } from '../../../src/core/amqp/management.js';
import { ManualClock } from '../../../src/core/manual-clock.js';
import { startTestBroker, type TestBroker } from '../../helpers/broker.js';
import { Collector, channelError, errorChannel, rejectsWith, roundTrip, uniq } from './amqp-helpers.js';

interface Death {
  count: number;
  reason: string;
  queue: string;
  exchange: string;
  'routing-keys': string[];
  time: { value: number } | Date | number;
  'original-expiration'?: string;
}

async function takeAll(ch: Channel, queue: string): Promise<GetMessage[]> {
  const taken: GetMessage[] = [];
  for (;;) {
    const m = await ch.get(queue, { noAck: true });
    if (!m) return taken;
    taken.push(m);
  }
}

function deathsOf(message: GetMessage): Death[] {
  const deaths = message.properties.headers?.['x-death'];
  assert.ok(Array.isArray(deaths), 'x-death header present');
  return deaths as Death[];
}

const bodies = (messages: GetMessage[]) => messages.map((m) => m.content.toString());

describe('queue features (injected clock)', () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 28, 12, 0, 0));
  let broker: TestBroker;
  let conn: ChannelModel;
  let ch: Channel;
  before(async () => {
    broker = await startTestBroker({ clock });
    conn = await connect(broker.url);
    ch = await conn.createChannel();
  });
  after(async () => {
    await conn.close();
    await broker.stop();
  });

  /** A fanout DLX bound to a fresh DLQ; returns their names. */
  async function deadLetterTarget(): Promise<{ dlx: string; dlq: string }> {
    const dlx = uniq('dlx');
    const dlq = uniq('dlq');
    await ch.assertExchange(dlx, 'fanout', { durable: false, autoDelete: false });
    await ch.assertQueue(dlq, { durable: false });
    await ch.bindQueue(dlq, dlx, '');
    return { dlx, dlq };
  }

  it('x-message-ttl expires messages exactly at the TTL into the DLX, with x-death reason expired', async () => {
    const { dlx, dlq } = await deadLetterTarget();
    const q = uniq('ttl');
    await ch.assertQueue(q, {
      durable: false,
      arguments: { 'x-message-ttl': 1000, 'x-dead-letter-exchange': dlx },
    });
    ch.publish('', q, Buffer.from('a'), { headers: { keep: 'me' } });
    ch.publish('', q, Buffer.from('b'));
    await roundTrip(ch, q);
    clock.advance(999);
    assert.equal((await ch.checkQueue(q)).messageCount, 2);
    clock.advance(1);
    assert.equal((await ch.checkQueue(q)).messageCount, 0);
    const dead = await takeAll(ch, dlq);
    assert.deepEqual(bodies(dead), ['a', 'b']);
    const first = dead[0]!;
    assert.equal(first.fields.exchange, dlx);
    assert.equal(first.fields.routingKey, q);
    assert.equal(first.properties.headers?.keep, 'me');
    const deaths = first.properties.headers?.['x-death'] as Death[];
    assert.equal(deaths.length, 1);
    assert.deepEqual(
      { ...deaths[0], time: undefined },
      { count: 1, reason: 'expired', queue: q, exchange: '', 'routing-keys': [q], time: undefined },
    );
    assert.equal(first.properties.headers?.['x-first-death-reason'], 'expired');
    assert.equal(first.properties.headers?.['x-first-death-queue'], q);
  });

  it('per-message expiration expires from the head, is removed on dead-lettering and kept in x-death', async () => {
    const { dlx, dlq } = await deadLetterTarget();
    const q = uniq('expiration');
    await ch.assertQueue(q, { durable: false, arguments: { 'x-dead-letter-exchange': dlx } });
    ch.publish('', q, Buffer.from('short'), { expiration: '100' });
    ch.publish('', q, Buffer.from('never'));
    await roundTrip(ch, q);
    clock.advance(100);
    const dead = await takeAll(ch, dlq);
    assert.deepEqual(bodies(dead), ['short']);
    assert.equal(dead[0]!.properties.expiration, undefined);
    assert.equal(deathsOf(dead[0]!)[0]!['original-expiration'], '100');
    assert.deepEqual(bodies(await takeAll(ch, q)), ['never']);
  });

  it('a TTL-0 message reaches a waiting consumer but expires at once without one', async () => {
    const { dlx, dlq } = await deadLetterTarget();
    const q = uniq('ttl0');
    await ch.assertQueue(q, {
      durable: false,
      arguments: { 'x-message-ttl': 0, 'x-dead-letter-exchange': dlx },
    });
    ch.publish('', q, Buffer.from('nobody'));
    await roundTrip(ch, q);
    assert.deepEqual(bodies(await takeAll(ch, dlq)), ['nobody']);
    const got = new Collector();
    await ch.consume(q, got.handler, { noAck: true });
    ch.publish('', q, Buffer.from('someone'));
    await got.waitFor(1);
    assert.deepEqual(got.bodies(), ['someone']);
  });

  it('an invalid expiration closes the channel with 406', async () => {
    const other = await conn.createChannel();
    const failed = channelError(other);
    other.publish('', 'anything', Buffer.from('x'), { expiration: 'soon' });
    const error = await failed;
    assert.equal(error.code, 406);
    assert.match(error.message, /PRECONDITION_FAILED - invalid expiration 'soon': no_integer/);
  });

  it('x-expires deletes an unused queue after exactly that long; use and consumers keep it', async () => {
    const q = uniq('expires');
    await ch.assertQueue(q, { durable: false, arguments: { 'x-expires': 5000 } });
    clock.advance(4000);
    await ch.assertQueue(q, { durable: false, arguments: { 'x-expires': 5000 } }); // redeclare = use
    clock.advance(4999);
    await ch.checkQueue(q);
    const consumer = await ch.consume(q, () => {}, { noAck: true });
    clock.advance(60_000);
    await ch.checkQueue(q);
    await ch.cancel(consumer.consumerTag);
    clock.advance(4999);
    await ch.checkQueue(q);
    clock.advance(1);
    const probe = await errorChannel(() => conn.createChannel());
    await rejectsWith(probe.checkQueue(q), 404, /NOT_FOUND - no queue/);
  });

  it('x-max-length drop-head dead-letters the head with reason maxlen', async () => {
    const { dlx, dlq } = await deadLetterTarget();
    const q = uniq('maxlen');
    await ch.assertQueue(q, {
      durable: false,
      arguments: { 'x-max-length': 2, 'x-dead-letter-exchange': dlx },
    });
    for (const body of ['1', '2', '3', '4']) ch.publish('', q, Buffer.from(body));
    await roundTrip(ch, q);
    assert.deepEqual(bodies(await takeAll(ch, q)), ['3', '4']);
    const dead = await takeAll(ch, dlq);
    assert.deepEqual(bodies(dead), ['1', '2']);
    assert.equal(deathsOf(dead[0]!)[0]!.reason, 'maxlen');
  });

  it('x-max-length-bytes counts body bytes', async () => {
    const q = uniq('maxbytes');
    await ch.assertQueue(q, { durable: false, arguments: { 'x-max-length-bytes': 10 } });
    for (const body of ['aaaa', 'bbbb', 'cccc']) ch.publish('', q, Buffer.from(body));
    await roundTrip(ch, q);
    assert.deepEqual(bodies(await takeAll(ch, q)), ['bbbb', 'cccc']);
  });

  it('x-overflow reject-publish nacks confirms; reject-publish-dlx also dead-letters', async () => {
    const confirm: ConfirmChannel = await conn.createConfirmChannel();
    for (const overflow of ['reject-publish', 'reject-publish-dlx']) {
      const { dlx, dlq } = await deadLetterTarget();
      const q = uniq(overflow);
      await confirm.assertQueue(q, {
        durable: false,
        arguments: { 'x-max-length': 1, 'x-overflow': overflow, 'x-dead-letter-exchange': dlx },
      });
      const outcomes = await Promise.all(
        ['kept', 'refused', 'refused too'].map(
          (body) =>
            new Promise<string>((resolve) =>
              confirm.publish('', q, Buffer.from(body), {}, (err) => resolve(err ? 'nack' : 'ack')),
            ),
        ),
      );
      assert.deepEqual(outcomes, ['ack', 'nack', 'nack'], overflow);
      assert.deepEqual(bodies(await takeAll(ch, q)), ['kept']);
      const dead = await takeAll(ch, dlq);
      assert.deepEqual(bodies(dead), overflow === 'reject-publish' ? [] : ['refused', 'refused too']);
    }
    await confirm.close();
  });

  it('reject and nack without requeue dead-letter with the dead-letter routing key', async () => {
    const dlx = uniq('dlx-direct');
    const dlq = uniq('dlq');
    await ch.assertExchange(dlx, 'direct', { durable: false });
    await ch.assertQueue(dlq, { durable: false });
    await ch.bindQueue(dlq, dlx, 'dead');
    const q = uniq('work');
    await ch.assertQueue(q, {
      durable: false,
      arguments: { 'x-dead-letter-exchange': dlx, 'x-dead-letter-routing-key': 'dead' },
    });
    ch.publish('', q, Buffer.from('one'));
    ch.publish('', q, Buffer.from('two'));
    const one = await ch.get(q);
    const two = await ch.get(q);
    assert.ok(one && two);
    ch.reject(one, false);
    ch.nack(two, false, false);
    await roundTrip(ch, q);
    const dead = await takeAll(ch, dlq);
    assert.deepEqual(bodies(dead), ['one', 'two']);
    assert.equal(dead[0]!.fields.routingKey, 'dead');
    const death = deathsOf(dead[0]!)[0]!;
    assert.equal(death.reason, 'rejected');
    assert.deepEqual(death['routing-keys'], [q]);
  });

  it('x-death counts repeated deaths in the same queue; an automatic cycle is dropped', async () => {
    // Rejections may cycle: work → dlx → work again, count goes up.
    const dlx = uniq('cycle-dlx');
    const q = uniq('cycle');
    await ch.assertExchange(dlx, 'fanout', { durable: false });
    await ch.assertQueue(q, { durable: false, arguments: { 'x-dead-letter-exchange': dlx } });
    await ch.bindQueue(q, dlx, '');
    ch.publish('', q, Buffer.from('loop'));
    for (let round = 1; round <= 3; round++) {
      const m = await ch.get(q);
      assert.ok(m, `round ${round}`);
      if (round > 1) assert.equal(deathsOf(m)[0]!.count, round - 1);
      ch.reject(m, false);
      await roundTrip(ch, q);
    }
    await takeAll(ch, q);
    // Expiry cycles back to the same queue without a rejection: RabbitMQ drops the message.
    const q2 = uniq('expiry-cycle');
    const dlx2 = uniq('cycle-dlx');
    await ch.assertExchange(dlx2, 'fanout', { durable: false });
    await ch.assertQueue(q2, {
      durable: false,
      arguments: { 'x-dead-letter-exchange': dlx2, 'x-message-ttl': 10 },
    });
    await ch.bindQueue(q2, dlx2, '');
    ch.publish('', q2, Buffer.from('expires'));
    await roundTrip(ch, q2);
    clock.advance(10);
    assert.equal((await ch.checkQueue(q2)).messageCount, 0);
  });

  it('x-max-priority delivers higher priorities first, capping at the maximum', async () => {
    const q = uniq('priority');
    await ch.assertQueue(q, { durable: false, arguments: { 'x-max-priority': 5 } });
    const sent: Array<[string, number | undefined]> = [
      ['p0', undefined],
      ['p3', 3],
      ['p9', 9],
      ['p5', 5],
      ['p1', 1],
      ['p3b', 3],
    ];
    for (const [body, priority] of sent) ch.publish('', q, Buffer.from(body), { priority });
    await roundTrip(ch, q);
    // p9 counts as 5 and was published before p5.
    const first = await ch.get(q);
    assert.ok(first);
    assert.equal(first.content.toString(), 'p9');
    ch.nack(first, false, true); // requeued: back at the head of its level
    assert.deepEqual(bodies(await takeAll(ch, q)), ['p9', 'p5', 'p3', 'p3b', 'p1', 'p0']);
  });

  it('x-single-active-consumer: only the first consumer gets messages until it cancels', async () => {
    const q = uniq('sac');
    await ch.assertQueue(q, { durable: false, arguments: { 'x-single-active-consumer': true } });
    const a = new Collector();
    const b = new Collector();
    const ca = await ch.consume(q, a.handler, { noAck: true });
    await ch.consume(q, b.handler, { noAck: true });
    for (const body of ['1', '2', '3']) ch.publish('', q, Buffer.from(body));
    await a.waitFor(3);
    await ch.cancel(ca.consumerTag);
    ch.publish('', q, Buffer.from('4'));
    await b.waitFor(1);
    assert.deepEqual(a.bodies(), ['1', '2', '3']);
    assert.deepEqual(b.bodies(), ['4']);
  });

  it('consumer x-priority: the highest-priority consumer with room gets messages first', async () => {
    const q = uniq('cprio');
    await ch.assertQueue(q, { durable: false });
    const low = new Collector();
    const high = new Collector();
    const highChannel = await conn.createChannel();
    await highChannel.prefetch(2);
    await ch.consume(q, low.handler, { noAck: true });
    await highChannel.consume(q, high.handler, { noAck: false, arguments: { 'x-priority': 10 } });
    for (const body of ['1', '2', '3', '4']) ch.publish('', q, Buffer.from(body));
    await high.waitFor(2);
    await low.waitFor(2);
    assert.deepEqual(high.bodies(), ['1', '2']);
    assert.deepEqual(low.bodies(), ['3', '4']);
    await highChannel.close();
    const bad = await errorChannel(() => conn.createChannel());
    await rejectsWith(
      bad.consume(q, () => {}, { arguments: { 'x-priority': 'high' } }),
      406,
      /invalid arg 'x-priority' for queue '.*': "expected integer, got longstr"/,
    );
  });

  it('quorum x-delivery-limit dead-letters a message returned more often than the limit', async () => {
    const { dlx, dlq } = await deadLetterTarget();
    const q = uniq('quorum');
    await ch.assertQueue(q, {
      durable: true,
      arguments: { 'x-queue-type': 'quorum', 'x-delivery-limit': 2, 'x-dead-letter-exchange': dlx },
    });
    ch.publish('', q, Buffer.from('poison'));
    for (let delivery = 1; delivery <= 3; delivery++) {
      const m = await ch.get(q);
      assert.ok(m, `delivery ${delivery}`);
      assert.equal(m.fields.redelivered, delivery > 1);
      assert.equal(m.properties.headers?.['x-delivery-count'], delivery - 1);
      ch.nack(m, false, true);
      await roundTrip(ch, q);
    }
    assert.equal((await ch.checkQueue(q)).messageCount, 0);
    const dead = await takeAll(ch, dlq);
    assert.deepEqual(bodies(dead), ['poison']);
    assert.equal(deathsOf(dead[0]!)[0]!.reason, 'delivery_limit');
    await ch.deleteQueue(q);
  });

  it('alternate-exchange receives what the exchange cannot route; mandatory is then satisfied', async () => {
    const ae = uniq('ae');
    const x = uniq('main');
    const unrouted = uniq('unrouted');
    await ch.assertExchange(ae, 'fanout', { durable: false });
    await ch.assertQueue(unrouted, { durable: false });
    await ch.bindQueue(unrouted, ae, '');
    await ch.assertExchange(x, 'direct', { durable: false, arguments: { 'alternate-exchange': ae } });
    let returned = 0;
    ch.on('return', () => returned++);
    ch.publish(x, 'nowhere', Buffer.from('lost?'), { mandatory: true });
    await roundTrip(ch, unrouted);
    assert.deepEqual(bodies(await takeAll(ch, unrouted)), ['lost?']);
    assert.equal(returned, 0);
  });

  it('policies apply TTL, dead-lettering, max-length and alternate exchanges by name pattern', async () => {
    const { dlx, dlq } = await deadLetterTarget();
    const prefix = uniq('policed');
    setPolicy(broker.core, {
      vhost: '/',
      name: `${prefix}-policy`,
      pattern: `^${prefix}`,
      applyTo: 'queues',
      definition: { 'message-ttl': 500, 'dead-letter-exchange': dlx, 'max-length': 2 },
    });
    const q = `${prefix}-q`;
    await ch.assertQueue(q, { durable: false, arguments: { 'x-max-length': 5 } }); // the policy's 2 is stricter
    for (const body of ['1', '2', '3']) ch.publish('', q, Buffer.from(body));
    await roundTrip(ch, q);
    assert.deepEqual(bodies(await takeAll(ch, dlq)), ['1']); // maxlen
    clock.advance(500);
    const expired = await takeAll(ch, dlq);
    assert.deepEqual(bodies(expired), ['2', '3']);
    assert.equal(deathsOf(expired[0]!)[0]!.reason, 'expired');
    clearPolicy(broker.core, '/', `${prefix}-policy`);
    ch.publish('', q, Buffer.from('kept'));
    await roundTrip(ch, q);
    clock.advance(10_000);
    assert.deepEqual(bodies(await takeAll(ch, q)), ['kept']);

    const ae = uniq('policy-ae');
    const aeQueue = uniq('policy-ae-q');
    await ch.assertExchange(ae, 'fanout', { durable: false });
    await ch.assertQueue(aeQueue, { durable: false });
    await ch.bindQueue(aeQueue, ae, '');
    const x = `${prefix}-x`;
    setPolicy(broker.core, {
      vhost: '/',
      name: `${prefix}-ae`,
      pattern: `^${x}$`,
      applyTo: 'exchanges',
      definition: { 'alternate-exchange': ae },
    });
    await ch.assertExchange(x, 'direct', { durable: false });
    ch.publish(x, 'unbound', Buffer.from('to ae'));
    await roundTrip(ch, aeQueue);
    assert.deepEqual(bodies(await takeAll(ch, aeQueue)), ['to ae']);
  });

  it('CC and BCC headers route to more keys; BCC is removed before delivery', async () => {
    const x = uniq('cc');
    const [a, b, c] = [uniq('cc-a'), uniq('cc-b'), uniq('cc-c')];
    await ch.assertExchange(x, 'direct', { durable: false });
    for (const q of [a, b, c]) {
      await ch.assertQueue(q, { durable: false });
      await ch.bindQueue(q, x, q);
    }
    ch.publish(x, a, Buffer.from('m'), { headers: { CC: [b], BCC: [c] } });
    ch.publish('', a, Buffer.from('d'), { headers: { CC: [b] } }); // default exchange too
    await roundTrip(ch, c);
    const [ga, gb, gc] = [await takeAll(ch, a), await takeAll(ch, b), await takeAll(ch, c)];
    assert.deepEqual([bodies(ga), bodies(gb), bodies(gc)], [['m', 'd'], ['m', 'd'], ['m']]);
    for (const m of [...ga, ...gb, ...gc]) assert.equal(m.properties.headers?.BCC, undefined);
    assert.deepEqual(gb[0]!.properties.headers?.CC, [b]);
    const other = await conn.createChannel();
    const failed = channelError(other);
    other.publish(x, a, Buffer.from('bad'), { headers: { CC: b } });
    const error = await failed;
    assert.equal(error.code, 406);
    assert.match(
      error.message,
      /PRECONDITION_FAILED - invalid message: \{unacceptable_type_in_header,"CC",longstr\}/,
    );
  });

  it('bad arguments get 406 naming the argument, and nothing is declared', async () => {
    const cases: Array<[Record<string, unknown>, RegExp, { durable?: boolean; exclusive?: boolean }?]> = [
      [
        { 'x-message-ttl': 'abc' },
        /invalid arg 'x-message-ttl' for queue '.*' in vhost '\/': "expected integer, got longstr"/,
      ],
      [{ 'x-message-ttl': -1 }, /invalid arg 'x-message-ttl' .*: \{value_negative,-1\}/],
      [{ 'x-expires': 0 }, /invalid arg 'x-expires' .*: \{value_zero,0\}/],
      [{ 'x-max-length': 1.5 }, /invalid arg 'x-max-length' .*: "expected integer, got double"/],
      [{ 'x-overflow': 'explode' }, /invalid arg 'x-overflow' .*: invalid_overflow/],
      [{ 'x-max-priority': 300 }, /invalid arg 'x-max-priority' .*: \{max_value_exceeded,300\}/],
      [{ 'x-dead-letter-exchange': 5 }, /invalid type 'byte' for arg 'x-dead-letter-exchange' in queue/],
      [
        { 'x-dead-letter-routing-key': 'rk' },
        /invalid arg 'x-dead-letter-routing-key' .*: routing_key_but_no_dlx_defined/,
      ],
      [
        { 'x-single-active-consumer': 'yes' },
        /invalid arg 'x-single-active-consumer' .*: \{unacceptable_type,longstr\}/,
      ],
      [{ 'x-queue-type': 'fancy' }, /invalid arg 'x-queue-type' .*: "unsupported queue type 'fancy'"/],
      [
        { 'x-delivery-limit': 3 },
        /invalid arg 'x-delivery-limit' for queue '.*' in vhost '\/' of queue type rabbit_classic_queue/,
      ],
      [{ 'x-queue-type': 'quorum' }, /invalid property 'non-durable' for queue/],
      [
        { 'x-queue-type': 'quorum', 'x-max-priority': 5 },
        /invalid arg 'x-max-priority' .* of queue type rabbit_quorum_queue/,
        { durable: true },
      ],
    ];
    for (const [args, text, props] of cases) {
      const c = await errorChannel(() => conn.createChannel());
      const q = uniq('bad');
      await rejectsWith(c.assertQueue(q, { durable: false, ...props, arguments: args }), 406, text);
      const probe = await errorChannel(() => conn.createChannel());
      await rejectsWith(probe.checkQueue(q), 404);
    }
    const c = await errorChannel(() => conn.createChannel());
    await rejectsWith(
      c.assertExchange(uniq('x'), 'direct', { arguments: { 'alternate-exchange': 7 } }),
      406,
      /invalid type 'byte' for arg 'alternate-exchange' in exchange/,
    );
  });
});

describe('queue features across a restart', () => {
  it('a durable queue keeps message expiry times and priorities through a restart', async () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 28, 12, 0, 0));
    let broker = await startTestBroker({ clock });
    const dataDir = broker.dataDir;
    let conn = await connect(broker.url);
    let ch = await conn.createChannel();
    await ch.assertQueue('ttl-durable', { durable: true, arguments: { 'x-message-ttl': 10_000 } });
    await ch.assertQueue('prio-durable', { durable: true, arguments: { 'x-max-priority': 3 } });
    ch.publish('', 'ttl-durable', Buffer.from('t'), { persistent: true });
    for (const [body, priority] of [
      ['low', 1],
      ['high', 3],
      ['mid', 2],
    ] as const)
      ch.publish('', 'prio-durable', Buffer.from(body), { persistent: true, priority });
    await roundTrip(ch, 'prio-durable');
    await conn.close();
    await broker.close();

    clock.advance(5000);
    broker = await startTestBroker({ clock, dataDir });
    try {
      conn = await connect(broker.url);
      ch = await conn.createChannel();
      assert.equal((await ch.checkQueue('ttl-durable')).messageCount, 1);
      clock.advance(4999);
      assert.equal((await ch.checkQueue('ttl-durable')).messageCount, 1);
      clock.advance(1);
      assert.equal((await ch.checkQueue('ttl-durable')).messageCount, 0);
      assert.deepEqual(bodies(await takeAll(ch, 'prio-durable')), ['high', 'mid', 'low']);
      await conn.close();
    } finally {
      await broker.stop();
    }
  });
});
