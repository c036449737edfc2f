// Per-queue series are written in slices kept between scrapes (queue-series.ts): a scrape after
// messages moved, queues were deleted and declared must be what a scrape without any kept slice
// writes.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Channel, type ChannelModel, connect } from 'amqplib';
import { type AmqpMetricsSource, writeAmqpMetrics } from '../../src/metrics/amqp.js';
import { ExpositionWriter } from '../../src/metrics/exposition.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';

let broker: TestBroker;
let amqp: ChannelModel;
let channel: Channel;
const QUEUES = 1200; // three slices of 500 per family

before(async () => {
  broker = await startTestBroker();
  amqp = await connect(broker.url);
  channel = await amqp.createChannel();
  for (let i = 0; i < QUEUES; i++) await channel.assertQueue(`series-${i}`, { durable: false });
});
after(async () => {
  await amqp.close().catch(() => {});
  await broker.stop();
});

/** The AMQP series of a scrape; `fresh` uses a vhosts map of its own, so no slice is kept for it. */
function scrape(fresh: boolean): string {
  const core = broker.core;
  const source: AmqpMetricsSource = {
    vhosts: fresh ? new Map(core.vhosts) : core.vhosts,
    stats: core.stats,
    connectionCount: () => 0,
    channelCount: () => 0,
  };
  const out = new ExpositionWriter();
  for (const _ of writeAmqpMetrics(out, source, true));
  return out.text();
}

test('a scrape sharing unchanged slices with the last one writes what a fresh scrape writes', async () => {
  const first = scrape(false);
  assert.equal(first, scrape(true));
  assert.match(first, /rabbitmq_queue_messages_ready\{vhost="\/",queue="series-700"\} 0\n/);

  for (let i = 0; i < 5; i++) channel.sendToQueue('series-700', Buffer.from(`m${i}`));
  channel.sendToQueue('series-3', Buffer.from('x'));
  await channel.deleteQueue('series-1100');
  await channel.assertQueue('series-late', { durable: false });
  await channel.checkQueue('series-700'); // the publishes above are routed by now
  const second = scrape(false);
  assert.equal(second, scrape(true));
  assert.match(second, /rabbitmq_queue_messages_ready\{vhost="\/",queue="series-700"\} 5\n/);
  assert.match(second, /rabbitmq_queue_messages_published_total\{vhost="\/",queue="series-3"\} 1\n/);
  assert.doesNotMatch(second, /queue="series-1100"/);
  assert.match(
    second,
    /rabbitmq_queue_info\{vhost="\/",queue="series-late",queue_type="classic",membership="leader"\} 1\n/,
  );
  assert.notEqual(second, first);
  // And again with nothing changed: every slice shared.
  assert.equal(scrape(false), second);
});
