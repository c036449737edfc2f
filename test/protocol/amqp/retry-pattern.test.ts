// The classic retry pattern end to end, as an application builds it on dead-lettering: a consumer that
// always fails republishes the message with an incremented x-retry-count header (acking the original)
// up to three times, then rejects it without requeue, so it lands once in the dead-letter queue with
// an x-death header; and a queue with x-message-ttl expiring messages into the same kind of DLQ.
// In-process the TTL runs on a ManualClock; with PIER_AMQP_TEST_URL (e.g. a RabbitMQ) it uses a short real TTL.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage, connect } from 'amqplib';
import { ManualClock } from '../../../src/core/manual-clock.js';
import { startTestBroker } from '../../helpers/broker.js';
import { Collector, roundTrip, uniq } from './amqp-helpers.js';

const MAX_RETRIES = 3;
/** TTL against an external broker, where time is real; in-process the clock is moved instead. */
const REAL_TTL_MS = 100;
const IN_PROCESS_TTL_MS = 30_000;

interface Death {
  count: number;
  reason: string;
  queue: string;
  exchange: string;
  'routing-keys': string[];
  time: { '!': string; value: number };
}

function deathsOf(message: ConsumeMessage): Death[] {
  const deaths = message.properties.headers?.['x-death'];
  assert.ok(Array.isArray(deaths), 'the dead-lettered message carries an x-death header');
  return deaths as Death[];
}

/** Checks x-death[].time is an AMQP timestamp (seconds) at the expected moment. */
function assertDeathTime(death: Death, expectedMs: number, toleranceMs: number): void {
  assert.equal(death.time['!'], 'timestamp', 'x-death time is a timestamp field, not a number');
  const seconds = death.time.value;
  assert.ok(
    Math.abs(seconds * 1000 - expectedMs) <= toleranceMs,
    `x-death time ${seconds}s is not within ${toleranceMs} ms of ${expectedMs} ms`,
  );
}

describe('retry pattern with a dead-letter queue', () => {
  const externalUrl = process.env.PIER_AMQP_TEST_URL;
  const clock = externalUrl ? undefined : new ManualClock(Date.UTC(2026, 2, 14, 9, 30, 0));
  let stopBroker: () => Promise<void> = async () => {};
  let conn: ChannelModel;
  let ch: Channel;
  const cleanup: Array<(c: Channel) => Promise<unknown>> = [];

  before(async () => {
    let url = externalUrl;
    if (!url) {
      const broker = await startTestBroker({ clock });
      url = broker.url;
      stopBroker = () => broker.stop();
    }
    conn = await connect(url);
    ch = await conn.createChannel();
  });
  after(async () => {
    for (const remove of cleanup) await remove(ch).catch(() => {});
    await conn.close();
    await stopBroker();
  });

  /** A fanout dead-letter exchange and the DLQ bound to it, deleted after the tests. */
  async function deadLetterQueue(): Promise<{ dlx: string; dlq: string }> {
    const dlx = uniq('retry-dlx');
    const dlq = uniq('retry-dlq');
    await ch.assertExchange(dlx, 'fanout', { durable: false });
    await ch.assertQueue(dlq, { durable: false });
    await ch.bindQueue(dlq, dlx, '');
    cleanup.push(
      (c) => c.deleteQueue(dlq),
      (c) => c.deleteExchange(dlx),
    );
    return { dlx, dlq };
  }

  it('a consumer that always fails retries 3 times, then the message lands in the DLQ once with x-death', async () => {
    const { dlx, dlq } = await deadLetterQueue();
    const tasks = uniq('retry-tasks');
    const work = uniq('retry-work');
    await ch.assertExchange(tasks, 'direct', { durable: false });
    await ch.assertQueue(work, { durable: false, arguments: { 'x-dead-letter-exchange': dlx } });
    await ch.bindQueue(work, tasks, 'task');
    cleanup.push(
      (c) => c.deleteQueue(work),
      (c) => c.deleteExchange(tasks),
    );

    // The failing worker: republish with x-retry-count + 1 (confirmed) and ack, or give up with a reject.
    const worker: ConfirmChannel = await conn.createConfirmChannel();
    const attempts: Array<number | undefined> = [];
    let gaveUpAtMs = 0;
    await worker.consume(work, (message) => {
      if (!message) return;
      const headers = message.properties.headers ?? {};
      const retries = headers['x-retry-count'] as number | undefined;
      attempts.push(retries);
      if ((retries ?? 0) >= MAX_RETRIES) {
        gaveUpAtMs = clock?.now() ?? Date.now();
        worker.nack(message, false, false);
        return;
      }
      const { headers: _old, ...properties } = message.properties;
      worker.publish(
        tasks,
        'task',
        message.content,
        { ...properties, headers: { ...headers, 'x-retry-count': (retries ?? 0) + 1 } },
        (error) => {
          if (!error) worker.ack(message);
        },
      );
    });

    const dead = new Collector();
    await ch.consume(dlq, dead.handler, { noAck: true });
    ch.publish(tasks, 'task', Buffer.from('charge order 42'), {
      messageId: 'order-42',
      contentType: 'text/plain',
      headers: { tenant: 'acme' },
    });

    const [message] = (await dead.waitFor(1)) as ConsumeMessage[];
    assert.deepEqual(attempts, [undefined, 1, 2, 3], 'one first delivery and three retries');
    assert.equal(message!.content.toString(), 'charge order 42');
    assert.equal(message!.properties.messageId, 'order-42');
    assert.equal(message!.properties.contentType, 'text/plain');
    assert.equal(message!.properties.headers?.tenant, 'acme');
    assert.equal(message!.properties.headers?.['x-retry-count'], MAX_RETRIES);
    assert.equal(message!.fields.exchange, dlx);
    assert.equal(message!.fields.routingKey, 'task', 'dead-lettered with its original routing key');

    const deaths = deathsOf(message!);
    assert.equal(deaths.length, 1, 'rejected once, from one queue');
    const { time: _time, ...death } = deaths[0]!;
    assert.deepEqual(death, {
      count: 1,
      reason: 'rejected',
      queue: work,
      exchange: tasks,
      'routing-keys': ['task'],
    });
    assertDeathTime(deaths[0]!, gaveUpAtMs, clock ? 999 : 5000);
    assert.equal(message!.properties.headers?.['x-first-death-queue'], work);
    assert.equal(message!.properties.headers?.['x-first-death-reason'], 'rejected');
    assert.equal(message!.properties.headers?.['x-first-death-exchange'], tasks);

    // Exactly once: nothing more reaches the DLQ, and the work queue is empty with nothing unacked.
    await roundTrip(ch, dlq);
    assert.equal(dead.messages.length, 1);
    await worker.close();
    assert.deepEqual(await ch.checkQueue(work), { queue: work, messageCount: 0, consumerCount: 0 });
    assert.equal(attempts.length, MAX_RETRIES + 1, 'no delivery after the reject');
  });

  it('a queue with x-message-ttl expires its messages into the DLQ with reason expired', async () => {
    const { dlx, dlq } = await deadLetterQueue();
    const ttlMs = clock ? IN_PROCESS_TTL_MS : REAL_TTL_MS;
    const delayed = uniq('retry-delayed');
    await ch.assertQueue(delayed, {
      durable: false,
      arguments: { 'x-message-ttl': ttlMs, 'x-dead-letter-exchange': dlx },
    });
    cleanup.push((c) => c.deleteQueue(delayed));

    const dead = new Collector();
    await ch.consume(dlq, dead.handler, { noAck: true });
    const publishedAtMs = clock?.now() ?? Date.now();
    ch.sendToQueue(delayed, Buffer.from('first'), { headers: { 'x-retry-count': 1 } });
    ch.sendToQueue(delayed, Buffer.from('second'));
    if (clock) {
      assert.equal((await ch.checkQueue(delayed)).messageCount, 2);
      clock.advance(ttlMs - 1);
      await roundTrip(ch, dlq);
      assert.equal(dead.messages.length, 0, 'nothing expires before its TTL');
      assert.equal((await ch.checkQueue(delayed)).messageCount, 2);
      clock.advance(1);
    }

    const messages = (await dead.waitFor(2)) as ConsumeMessage[];
    assert.deepEqual(dead.bodies(), ['first', 'second'], 'expired in publish order');
    assert.equal(messages[0]!.properties.headers?.['x-retry-count'], 1, 'application headers survive');
    for (const message of messages) {
      const deaths = deathsOf(message);
      assert.equal(deaths.length, 1);
      const { time: _time, ...death } = deaths[0]!;
      assert.deepEqual(death, {
        count: 1,
        reason: 'expired',
        queue: delayed,
        exchange: '',
        'routing-keys': [delayed],
      });
      assertDeathTime(deaths[0]!, publishedAtMs + ttlMs, clock ? 999 : 5000);
      assert.equal(message.properties.headers?.['x-first-death-reason'], 'expired');
      assert.equal(message.fields.routingKey, delayed);
    }
    assert.equal((await ch.checkQueue(delayed)).messageCount, 0);
  });
});
