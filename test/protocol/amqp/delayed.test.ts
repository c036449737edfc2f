// Delayed messages (exchange type x-delayed-message, header x-delay) through amqplib, with time
// driven by a ManualClock so every delay is exact.
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Channel, type ChannelModel, type ConfirmChannel, connect } from 'amqplib';
import { ManualClock } from '../../../src/core/manual-clock.js';
import { DelayStorage } from '../../../src/storage/amqp/disk-delay-store.js';
import { startTestBroker, type TestBroker, tempDir } from '../../helpers/broker.js';
import {
  channelError,
  closeClockedBroker,
  drain,
  errorChannel,
  nextEvent,
  openClockedBroker,
  rejectsWith,
  uniq,
} from './amqp-helpers.js';

const YEAR_MS = 365 * 24 * 3600 * 1000;

describe('delayed messages (x-delayed-message)', () => {
  let clock: ManualClock;
  let broker: TestBroker;
  let conn: ChannelModel;
  let ch: ConfirmChannel;

  before(async () => {
    ({ clock, broker, conn, ch } = await openClockedBroker());
  });
  after(() => closeClockedBroker({ clock, broker, conn, ch }));

  /** A delayed exchange of `type` with one queue bound by `key` / `args`; returns their names. */
  async function setup(
    type: string,
    key = 'k',
    bindArgs: Record<string, unknown> = {},
  ): Promise<{ ex: string; q: string }> {
    const ex = uniq('dx');
    const q = uniq('dq');
    await ch.assertExchange(ex, 'x-delayed-message', { arguments: { 'x-delayed-type': type } });
    await ch.assertQueue(q);
    await ch.bindQueue(q, ex, key, bindArgs);
    return { ex, q };
  }

  function publish(
    ex: string,
    key: string,
    body: string,
    delay: unknown,
    extra: Record<string, unknown> = {},
  ) {
    const headers = delay === undefined ? { ...extra } : { 'x-delay': delay, ...extra };
    ch.publish(ex, key, Buffer.from(body), { headers });
  }

  async function count(q: string): Promise<number> {
    return (await ch.checkQueue(q)).messageCount;
  }

  it('routes as each x-delayed-type once the delay has passed, with x-delay negated', async () => {
    const cases = [
      { type: 'direct', bindKey: 'k', key: 'k', missKey: 'other', bindArgs: {}, headers: {} },
      { type: 'fanout', bindKey: '', key: 'anything', missKey: undefined, bindArgs: {}, headers: {} },
      { type: 'topic', bindKey: 'a.*', key: 'a.b', missKey: 'b.a', bindArgs: {}, headers: {} },
      {
        type: 'headers',
        bindKey: '',
        key: '',
        missKey: undefined,
        bindArgs: { 'x-match': 'all', kind: 'x' },
        headers: { kind: 'x' },
      },
    ];
    for (const c of cases) {
      const { ex, q } = await setup(c.type, c.bindKey, c.bindArgs);
      publish(ex, c.key, `${c.type}-hit`, 1000, c.headers);
      if (c.missKey !== undefined) publish(ex, c.missKey, `${c.type}-miss`, 1000, c.headers);
      if (c.type === 'headers') publish(ex, '', 'headers-miss', 1000, { kind: 'y' });
      await ch.waitForConfirms();
      clock.advance(999);
      assert.equal(await count(q), 0, `${c.type}: not before the delay`);
      clock.advance(1);
      const message = await ch.get(q, { noAck: true });
      assert.ok(message, `${c.type}: routed when due`);
      assert.equal(message.content.toString(), `${c.type}-hit`);
      assert.equal(message.properties.headers?.['x-delay'], -1000, 'x-delay is negated as the plugin does');
      assert.equal(await count(q), 0, `${c.type}: the non-matching message went nowhere`);
    }
  });

  it('fires in due order, same-due messages in publish order', async () => {
    const { ex, q } = await setup('direct');
    const delays = [500, 100, 300, 100, 200, 500, 1];
    for (const [i, delay] of delays.entries()) publish(ex, 'k', `m${i}-${delay}`, delay);
    await ch.waitForConfirms();
    clock.advance(1000);
    assert.deepEqual(await drain(ch, q), [
      'm6-1',
      'm1-100',
      'm3-100',
      'm4-200',
      'm2-300',
      'm0-500',
      'm5-500',
    ]);
  });

  it('routes at once without x-delay, with 0 or a negative one; a string of digits delays', async () => {
    const { ex, q } = await setup('direct');
    publish(ex, 'k', 'absent', undefined);
    publish(ex, 'k', 'zero', 0);
    publish(ex, 'k', 'negative', -5000);
    publish(ex, 'k', 'not-a-number', 'soon');
    publish(ex, 'k', 'string', '250');
    await ch.waitForConfirms();
    assert.deepEqual(await drain(ch, q), ['absent', 'zero', 'negative', 'not-a-number']);
    clock.advance(250);
    assert.deepEqual(await drain(ch, q), ['string']);
  });

  it('holds a delay of two years (beyond any single timer) and fires it exactly', async () => {
    const { ex, q } = await setup('direct');
    const twoYearsMs = 2 * YEAR_MS;
    publish(ex, 'k', 'later', twoYearsMs);
    publish(ex, 'k', 'sooner', 60_000);
    await ch.waitForConfirms();
    clock.advance(60_000);
    assert.deepEqual(await drain(ch, q), ['sooner']);
    clock.advance(twoYearsMs - 60_000 - 1);
    assert.equal(await count(q), 0);
    clock.advance(1);
    assert.deepEqual(await drain(ch, q), ['later']);
  });

  it('routes through the bindings as they are when the message falls due', async () => {
    const { ex, q } = await setup('direct');
    const late = uniq('late');
    await ch.assertQueue(late);
    publish(ex, 'k', 'm', 100);
    await ch.waitForConfirms();
    await ch.bindQueue(late, ex, 'k');
    await ch.unbindQueue(q, ex, 'k');
    clock.advance(100);
    assert.deepEqual(await drain(ch, late), ['m']);
    assert.equal(await count(q), 0);
  });

  it('uses the alternate exchange when a due message matches no binding', async () => {
    const ae = uniq('ae');
    const aeQueue = uniq('aeq');
    await ch.assertExchange(ae, 'fanout');
    await ch.assertQueue(aeQueue);
    await ch.bindQueue(aeQueue, ae, '');
    const ex = uniq('dx');
    await ch.assertExchange(ex, 'x-delayed-message', {
      arguments: { 'x-delayed-type': 'direct', 'alternate-exchange': ae },
    });
    publish(ex, 'nowhere', 'unroutable', 100);
    await ch.waitForConfirms();
    assert.equal(await count(aeQueue), 0, 'not sent to the alternate exchange while delayed');
    clock.advance(100);
    assert.deepEqual(await drain(ch, aeQueue), ['unroutable']);
  });

  it('returns a mandatory delayed message as NO_ROUTE (as the plugin) and still delivers it when due', async () => {
    const { ex, q } = await setup('direct');
    const returned = nextEvent<[{ fields: { replyCode: number; replyText: string } }]>(ch, 'return');
    ch.publish(ex, 'k', Buffer.from('mandatory'), { mandatory: true, headers: { 'x-delay': 10 } });
    const [message] = await returned;
    assert.equal(message.fields.replyCode, 312);
    assert.equal(message.fields.replyText, 'NO_ROUTE');
    await ch.waitForConfirms();
    clock.advance(10);
    assert.deepEqual(await drain(ch, q), ['mandatory']);
  });

  it('delays a dead-lettered message whose dead-letter exchange is a delayed exchange (retry with backoff)', async () => {
    const { ex: retry, q: retryQueue } = await setup('direct', 'work');
    const work = uniq('work');
    await ch.assertQueue(work, {
      arguments: { 'x-dead-letter-exchange': retry, 'x-dead-letter-routing-key': 'work' },
    });
    ch.sendToQueue(work, Buffer.from('job'), { headers: { 'x-delay': 5000 } });
    await ch.waitForConfirms();
    const job = await ch.get(work);
    assert.ok(job);
    ch.nack(job, false, false);
    await ch.checkQueue(work);
    clock.advance(4999);
    assert.equal(await count(retryQueue), 0);
    clock.advance(1);
    const retried = await ch.get(retryQueue, { noAck: true });
    assert.ok(retried);
    assert.equal(retried.content.toString(), 'job');
    assert.equal(retried.properties.headers?.['x-delay'], -5000);
    assert.equal(
      (retried.properties.headers?.['x-death'] as Array<{ reason: string }> | undefined)?.[0]?.reason,
      'rejected',
    );
  });

  it('delays a message that reaches the delayed exchange through an exchange-to-exchange binding', async () => {
    const { ex, q } = await setup('direct');
    const front = uniq('front');
    const direct = uniq('direct-q');
    await ch.assertExchange(front, 'fanout');
    await ch.bindExchange(ex, front, '');
    await ch.assertQueue(direct);
    await ch.bindQueue(direct, front, '');
    publish(front, 'k', 'via e2e', 1000);
    await ch.waitForConfirms();
    assert.equal(await count(direct), 1); // the fanout's own queue gets it at once
    clock.advance(999);
    assert.equal(await count(q), 0);
    clock.advance(1);
    assert.equal(await count(q), 1);
    publish(front, 'k', 'no delay', undefined);
    await ch.waitForConfirms();
    assert.equal(await count(q), 2);
  });

  it('drops pending messages and their data when the exchange is deleted', async () => {
    const { ex, q } = await setup('direct');
    publish(ex, 'k', 'doomed', 100);
    await ch.waitForConfirms();
    const dataDir = join(broker.dataDir, 'delayed', DelayStorage.dirName('/', ex));
    assert.ok(existsSync(dataDir));
    await ch.deleteExchange(ex);
    assert.ok(!existsSync(dataDir), 'the stored messages are deleted with the exchange');
    await ch.assertExchange(ex, 'x-delayed-message', { arguments: { 'x-delayed-type': 'direct' } });
    await ch.bindQueue(q, ex, 'k');
    clock.advance(1000);
    assert.equal(await count(q), 0);
  });

  it('refuses a missing or invalid x-delayed-type with the plugin texts', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [
        {},
        /406 \(PRECONDITION-FAILED\) with message "PRECONDITION_FAILED - Invalid argument, 'x-delayed-type' must be an existing exchange type"/,
      ],
      [{ 'x-delayed-type': 5 }, /Invalid argument, 'x-delayed-type' must be an existing exchange type/],
      [
        { 'x-delayed-type': 'x-delayed-message' },
        /PRECONDITION_FAILED - Invalid argument, 'x-delayed-message' can't be used for 'x-delayed-type'/,
      ],
    ];
    for (const [args, text] of cases) {
      const bad = await conn.createChannel();
      const closed = channelError(bad);
      await rejectsWith(bad.assertExchange(uniq('bad'), 'x-delayed-message', { arguments: args }), 406, text);
      await closed;
    }
    // An unknown type is RabbitMQ's connection error 503.
    const other = await connect(broker.url);
    other.on('error', () => {});
    const closed = nextEvent<[Error & { code?: number }]>(other, 'close');
    const bad = await errorChannel(() => other.createChannel());
    await assert.rejects(
      bad.assertExchange(uniq('bad'), 'x-delayed-message', { arguments: { 'x-delayed-type': 'nope' } }),
    );
    const [error] = await closed;
    assert.equal(error.code, 503);
    assert.match(error.message, /COMMAND_INVALID - unknown exchange type 'nope'/);
  });
});

describe('delayed messages across a restart', () => {
  let dataDir: string;
  let broker: TestBroker | undefined;
  before(() => {
    dataDir = tempDir('pier-delayed-restart-');
  });
  after(async () => {
    await broker?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps persistent messages of a durable exchange: late ones fire at once in order, the rest on time', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    broker = await startTestBroker({ dataDir, clock });
    let conn = await connect(broker.url);
    let ch: Channel = await conn.createConfirmChannel();
    await ch.assertExchange('dur.delayed', 'x-delayed-message', {
      durable: true,
      arguments: { 'x-delayed-type': 'direct' },
    });
    await ch.assertQueue('dur.q', { durable: true });
    await ch.bindQueue('dur.q', 'dur.delayed', 'k');
    const send = (body: string, delay: number, persistent = true) =>
      ch.publish('dur.delayed', 'k', Buffer.from(body), { persistent, headers: { 'x-delay': delay } });
    send('fired-before', 10);
    send('late-b', 2000);
    send('late-a', 1000);
    send('transient', 1500, false);
    send('on-time', 60_000);
    send('next-year', YEAR_MS);
    await (ch as ConfirmChannel).waitForConfirms();
    clock.advance(10);
    assert.deepEqual(await drain(ch, 'dur.q'), ['fired-before']);
    await conn.close();
    await broker.close();

    // The broker is down for 30 s: two messages fall due meanwhile.
    const later = new ManualClock(clock.now() + 30_000);
    broker = await startTestBroker({ dataDir, clock: later });
    conn = await connect(broker.url);
    ch = await conn.createChannel();
    assert.equal((await ch.checkQueue('dur.q')).messageCount, 0, 'nothing is routed before the clock runs');
    later.advance(0);
    assert.deepEqual(await drain(ch, 'dur.q'), ['late-a', 'late-b'], 'late messages, in due order');
    later.advance(60_000 - 10 - 30_000 - 1);
    assert.equal((await ch.checkQueue('dur.q')).messageCount, 0);
    later.advance(1);
    assert.deepEqual(await drain(ch, 'dur.q'), ['on-time']);
    await conn.close();
    await broker.close();

    // Again: what fired is not fired twice; the long delay is still there.
    const again = new ManualClock(later.now());
    broker = await startTestBroker({ dataDir, clock: again });
    conn = await connect(broker.url);
    ch = await conn.createChannel();
    again.advance(YEAR_MS);
    assert.deepEqual(await drain(ch, 'dur.q'), ['next-year']);
    await conn.close();
  });

  it('forgets the delayed messages of a transient exchange at restart', async () => {
    await broker?.close();
    const clock = new ManualClock();
    broker = await startTestBroker({ dataDir, clock });
    const conn = await connect(broker.url);
    const ch = await conn.createConfirmChannel();
    await ch.assertExchange('tr.delayed', 'x-delayed-message', {
      durable: false,
      arguments: { 'x-delayed-type': 'fanout' },
    });
    ch.publish('tr.delayed', '', Buffer.from('gone'), { persistent: true, headers: { 'x-delay': 100 } });
    await ch.waitForConfirms();
    await conn.close();
    await broker.close();
    broker = await startTestBroker({ dataDir, clock });
    assert.ok(
      !existsSync(join(dataDir, 'delayed', DelayStorage.dirName('/', 'tr.delayed'))),
      'its data is removed at start-up',
    );
  });
});
