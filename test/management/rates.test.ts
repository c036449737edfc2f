// Server-side rate samples (src/management/rates.ts) on a manual clock: rates, samples, avg and
// avg_rate after publishing, getting and acknowledging known counts; no sleeping.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type ChannelModel, connect } from 'amqplib';
import type { BrokerCore } from '../../src/core/broker-core.js';
import { AmqpStats } from '../../src/core/stats.js';
import { ManualClock } from '../../src/index.js';
import { RateSampler } from '../../src/management/rates.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { type ApiCall, apiClient } from './api-client.js';

// biome-ignore lint/suspicious/noExplicitAny: JSON replies, read field by field
type Row = Record<string, any>;

describe('management API rates', () => {
  // Aligned to 5 s so sample timestamps are round.
  const clock = new ManualClock(Date.UTC(2026, 0, 1, 12, 0, 0));
  let broker: TestBroker;
  let api: ApiCall;
  let amqp: ChannelModel;

  before(async () => {
    broker = await startTestBroker({ httpPort: 0, clock });
    api = apiClient(broker.http!.url);
    amqp = await connect(broker.url);
  });
  after(async () => {
    await amqp.close().catch(() => {});
    await broker.stop();
  });

  it('publish, get and ack rates per second, overall and per queue, with samples on request', async () => {
    const ch = await amqp.createConfirmChannel();
    await ch.assertQueue('rated', { durable: false });
    clock.advance(5000); // a sample with the queue empty
    for (let i = 0; i < 50; i++) ch.sendToQueue('rated', Buffer.from(`m${i}`));
    await ch.waitForConfirms();
    clock.advance(5000); // 50 publishes in 5 s: 10/s
    let overview = (await api('GET', '/api/overview')).body as Row;
    assert.equal(overview.message_stats.publish, 50);
    assert.equal(overview.message_stats.publish_details.rate, 10);
    assert.equal(overview.message_stats.confirm_details.rate, 10);
    assert.equal(overview.queue_totals.messages, 50);
    assert.equal(overview.queue_totals.messages_details.rate, 10);
    let queue = (await api('GET', '/api/queues/%2F/rated')).body as Row;
    assert.equal(queue.messages_details.rate, 10);
    assert.equal(queue.messages_ready_details.rate, 10);
    assert.equal(queue.message_stats.publish, 50);
    assert.equal(queue.message_stats.publish_details.rate, 10);
    assert.equal(queue.message_stats.deliver_get_details.rate, 0);

    // 20 gets with manual ack, all acknowledged, within the next 10 s: 2/s.
    const got = [];
    for (let i = 0; i < 20; i++) {
      const m = await ch.get('rated', { noAck: false });
      assert.ok(m);
      got.push(m);
    }
    for (const m of got) ch.ack(m);
    await ch.checkQueue('rated'); // a round trip: the acks have arrived
    clock.advance(10000); // two samples: the gets fall in the first interval, none in the last
    queue = (await api('GET', '/api/queues/%2F/rated')).body as Row;
    assert.equal(queue.messages, 30);
    assert.equal(queue.message_stats.deliver_get, 20);
    // The interval of the gets was the one before the last: the last interval has rate 0.
    assert.equal(queue.message_stats.deliver_get_details.rate, 0);
    assert.equal(queue.message_stats.ack_details.rate, 0);

    const ranged = (
      await api(
        'GET',
        '/api/queues/%2F/rated?lengths_age=20&lengths_incr=5&msg_rates_age=20&msg_rates_incr=5',
      )
    ).body as Row;
    const t0 = Date.UTC(2026, 0, 1, 12, 0, 20);
    assert.deepEqual(ranged.messages_details.samples, [
      { sample: 30, timestamp: t0 },
      { sample: 30, timestamp: t0 - 5000 },
      { sample: 50, timestamp: t0 - 10000 },
      { sample: 0, timestamp: t0 - 15000 },
    ]); // the queue's first sample is at +5 s: the point at +0 s is left out
    assert.equal(ranged.messages_details.avg, 27.5);
    assert.equal(ranged.messages_details.avg_rate, 2);
    assert.deepEqual(
      ranged.message_stats.deliver_get_details.samples.map((s: Row) => s.sample),
      [20, 20, 0, 0],
    );
    assert.equal(ranged.message_stats.deliver_get_details.avg_rate, 20 / 15);
    assert.equal(ranged.message_stats.ack_details.avg_rate, 20 / 15);
    assert.equal(ranged.message_stats.publish_details.avg_rate, 50 / 15);

    overview = (await api('GET', '/api/overview?msg_rates_age=10&msg_rates_incr=5')).body as Row;
    assert.equal(overview.message_stats.get, 20);
    assert.equal(overview.message_stats.ack, 20);
    assert.deepEqual(
      overview.message_stats.ack_details.samples.map((s: Row) => s.sample),
      [20, 20, 0],
    );
    assert.equal(overview.message_stats.ack_details.avg_rate, 2);
    await ch.close();
  });

  it('refuses a bad window', async () => {
    const reply = await api('GET', '/api/overview?lengths_age=60&lengths_incr=0');
    assert.equal(reply.status, 400);
  });
});

describe('RateSampler ring', () => {
  it('keeps only the last `capacity` samples, oldest dropped first', () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const stats = new AmqpStats();
    const core = { clock, stats, allQueues: () => [], vhosts: new Map() } as unknown as BrokerCore;
    const sampler = new RateSampler(core, { intervalMs: 1000, capacity: 3 });
    sampler.start();
    for (let i = 1; i <= 5; i++) {
      stats.messagesReceived += i; // 1, 3, 6, 10, 15 after each second
      clock.advance(1000);
    }
    const query = new URLSearchParams('msg_rates_age=10&msg_rates_incr=1');
    const publish = sampler.overviewMessageStats(query).publish_details as Row;
    assert.equal(publish.rate, 5);
    assert.deepEqual(
      publish.samples.map((s: Row) => s.sample),
      [15, 10, 6],
    );
    assert.equal(publish.avg_rate, 4.5);
    sampler.stop();
    assert.equal(clock.pendingTimers, 0);
  });
});
