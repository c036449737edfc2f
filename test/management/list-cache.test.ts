// The full /api/queues list is written from caches (a queue's JSON while its numbers are unchanged,
// views.ts; slices of 500 rows while their rows are, list-stream.ts; rates re-read only after a
// sample): after depths change, queues go and come, a policy applies and a new sample moves the
// rates, it must still be, byte for byte, what the pages write from freshly built view objects.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Channel, type ChannelModel, connect } from 'amqplib';
import { ManualClock } from '../../src/index.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { type ApiCall, apiClient } from './api-client.js';

const QUEUES = 1200; // three slices of 500 rows
const name = (i: number) => `cached-${String(i).padStart(4, '0')}`;
type Row = Record<string, unknown>;

// Aligned to 5 s so that samples fall on round timestamps; nothing samples unless advanced.
const clock = new ManualClock(Date.UTC(2026, 0, 1, 12, 0, 0));
let broker: TestBroker;
let api: ApiCall;
let amqp: ChannelModel;
let channel: Channel;
const auth = `Basic ${Buffer.from('guest:guest').toString('base64')}`;

before(async () => {
  broker = await startTestBroker({ httpPort: 0, clock });
  api = apiClient(broker.http!.url);
  const vhost = broker.core.vhosts.get('/')!;
  for (let i = 0; i < QUEUES; i++) {
    vhost.declareQueue({
      name: name(i),
      passive: false,
      durable: i % 2 === 0,
      exclusive: false,
      autoDelete: false,
      arguments: i % 7 === 0 ? { 'x-max-length': i } : {},
      owner: {},
    });
  }
  amqp = await connect(broker.url);
  channel = await amqp.createChannel();
});
after(async () => {
  await amqp.close().catch(() => {});
  await broker.stop();
});

async function fullText(query: string): Promise<string> {
  const res = await fetch(`${broker.http!.url}/api/queues${query}`, { headers: { authorization: auth } });
  assert.equal(res.status, 200);
  return res.text();
}

/**
 * The full list (as sent) against every page of the same list (views built per request, no cache),
 * as text: the same rows in the same order with the same keys in the same order and values.
 */
async function assertFullIsFresh(label: string, path = '', sort = ''): Promise<Row[]> {
  for (let round = 0; round < 2; round++) {
    // Twice: the second listing is written from the caches the first filled.
    const full = await fullText(`${path}${sort ? `?${sort}` : ''}`);
    const items: Row[] = [];
    for (let page = 1; ; page++) {
      const reply = await api(
        'GET',
        `/api/queues${path}?page=${page}&page_size=500${sort ? `&${sort}` : ''}`,
      );
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      const body = reply.body as { items: Row[]; page_count: number };
      items.push(...body.items);
      if (page === body.page_count) break;
    }
    assert.equal(full, JSON.stringify(items), `${label}${sort ? ` (${sort})` : ''}, listing ${round + 1}`);
  }
  return JSON.parse(await fullText(path)) as Row[];
}

const rowOf = (rows: Row[], queue: string) => rows.find((r) => r.name === queue)!;

test('the cached full list equals freshly built views after depth, queue, policy and rate changes', async () => {
  let rows = await assertFullIsFresh('initial');
  assert.equal(rows.length, QUEUES);

  // Depths change in the first and the last slice.
  for (let i = 0; i < 5; i++) channel.sendToQueue(name(3), Buffer.from(`m${i}`));
  channel.sendToQueue(name(1100), Buffer.from('x'));
  await channel.checkQueue(name(3)); // a round trip: the publishes are routed
  rows = await assertFullIsFresh('after publishing');
  assert.equal(rowOf(rows, name(3)).messages, 5);
  assert.equal(rowOf(rows, name(1100)).messages_ready, 1);

  // A queue deleted early on shifts every later row into another slice; one declared comes last.
  await channel.deleteQueue(name(10));
  await channel.assertQueue('cached-late', { durable: false });
  rows = await assertFullIsFresh('after a delete and a declare');
  assert.equal(rows.length, QUEUES);
  assert.equal(rows.at(-1)!.name, 'cached-late');
  assert.equal(
    rows.find((r) => r.name === name(10)),
    undefined,
  );

  // A policy changes the head of the rows it matches.
  const put = await api('PUT', '/api/policies/%2F/cached-00', {
    pattern: '^cached-00',
    definition: { 'max-length': 1000 },
    'apply-to': 'queues',
  });
  assert.equal(put.status, 201, JSON.stringify(put.body));
  rows = await assertFullIsFresh('policy applied');
  assert.equal(rowOf(rows, name(3)).policy, 'cached-00');
  assert.equal(rowOf(rows, name(100)).policy, null);

  // A sample after the publishes: rates move while no counter does.
  clock.advance(5000);
  for (let i = 0; i < 10; i++) channel.sendToQueue(name(3), Buffer.from(`n${i}`));
  await channel.checkQueue(name(3));
  clock.advance(5000); // 10 publishes in 5 s
  rows = await assertFullIsFresh('after a sample');
  const q3 = rowOf(rows, name(3));
  assert.deepEqual(q3.messages_details, { rate: 2 });
  assert.deepEqual((q3.message_stats as Row).publish_details, { rate: 2 });
  clock.advance(5000); // and back to 0
  rows = await assertFullIsFresh('after the next sample');
  assert.deepEqual(rowOf(rows, name(3)).messages_details, { rate: 0 });
  // Idle for one sample more (rates that stay 0 are not re-read), then busy again: the rate shows.
  clock.advance(5000);
  rows = await assertFullIsFresh('idle for another sample');
  assert.deepEqual((rowOf(rows, name(3)).message_stats as Row).publish_details, { rate: 0 });
  for (let i = 0; i < 5; i++) channel.sendToQueue(name(3), Buffer.from(`p${i}`));
  await channel.checkQueue(name(3));
  clock.advance(5000);
  rows = await assertFullIsFresh('busy again');
  assert.deepEqual((rowOf(rows, name(3)).message_stats as Row).publish_details, { rate: 1 });
  assert.deepEqual(rowOf(rows, name(3)).messages_details, { rate: 1 });
  // Two samples without a list between them: the rates went to 0 at the first, stayed at the second.
  clock.advance(5000);
  clock.advance(5000);
  rows = await assertFullIsFresh('idle for two samples unlisted');
  assert.deepEqual(rowOf(rows, name(3)).messages_details, { rate: 0 });

  // Other lists start their slices at other rows: sorted, reversed, one vhost.
  await assertFullIsFresh('sorted', '', 'sort=messages&sort_reverse=true');
  await assertFullIsFresh('by name, reversed', '', 'sort=name&sort_reverse=true');
  await assertFullIsFresh('one vhost', '/%2F');
  assert.equal((await api('DELETE', '/api/policies/%2F/cached-00')).status, 204);
  rows = await assertFullIsFresh('policy deleted');
  assert.equal(rowOf(rows, name(3)).policy, null);
});

test('a queue declared after one was deleted starts its samples afresh', async () => {
  // The deleted queue's row of the sample table is reused; none of its samples may show.
  const ch = await amqp.createChannel();
  await ch.assertQueue('churned', { durable: false });
  for (let i = 0; i < 30; i++) ch.sendToQueue('churned', Buffer.from(`c${i}`));
  await ch.checkQueue('churned');
  clock.advance(5000);
  clock.advance(5000);
  await ch.deleteQueue('churned');
  clock.advance(5000); // the sample that finds it gone frees its row
  await ch.assertQueue('fresh', { durable: false });
  clock.advance(5000);
  const fresh = await api('GET', '/api/queues/%2F/fresh?lengths_age=60&lengths_incr=5');
  const details = (fresh.body as Row).messages_details as { rate: number; samples: Row[] };
  assert.equal(details.rate, 0);
  assert.deepEqual(
    details.samples.map((s) => s.sample),
    [0],
  );
  await assertFullIsFresh('after the churn');
  await ch.close();
});

test('every way a queue changes shows in the cached list', async () => {
  // The list re-reads a queue's numbers only when its statsVersion moved: each operation below
  // must move it, or the full list (cached) and the pages (built fresh) disagree.
  const ch = await amqp.createChannel();
  await ch.assertQueue('ops-dlq', { durable: false });
  await ch.assertQueue('ops-a', { durable: false, deadLetterExchange: '', deadLetterRoutingKey: 'ops-dlq' });
  await ch.assertQueue('ops-ttl', { durable: false, messageTtl: 1000 });
  await ch.assertQueue('ops-drop', {
    durable: false,
    maxLength: 2,
    arguments: { 'x-overflow': 'drop-head' },
  });
  await ch.assertQueue('ops-stream', { durable: true, arguments: { 'x-queue-type': 'stream' } });
  await assertFullIsFresh('declared');

  for (let i = 0; i < 4; i++) ch.sendToQueue('ops-a', Buffer.from(`a${i}`));
  await ch.checkQueue('ops-a');
  await assertFullIsFresh('published');

  const consumer = await amqp.createChannel();
  await consumer.prefetch(2);
  const delivered: import('amqplib').ConsumeMessage[] = [];
  let twoDelivered!: () => void;
  const two = new Promise<void>((resolve) => {
    twoDelivered = resolve;
  });
  const { consumerTag } = await consumer.consume('ops-a', (m) => {
    if (m) delivered.push(m);
    if (delivered.length === 2) twoDelivered();
  });
  await two;
  let rows = await assertFullIsFresh('consuming, two leased');
  assert.equal(rowOf(rows, 'ops-a').messages_unacknowledged, 2);
  assert.equal(rowOf(rows, 'ops-a').consumers, 1);

  consumer.ack(delivered[0]!);
  await consumer.checkQueue('ops-a');
  rows = await assertFullIsFresh('one acknowledged');
  assert.equal((rowOf(rows, 'ops-a').message_stats as Row).ack, 1);

  await consumer.cancel(consumerTag);
  consumer.nack(delivered[1]!, false, true);
  await consumer.checkQueue('ops-a');
  rows = await assertFullIsFresh('cancelled, one requeued');
  // The ack made room for a third delivery, still leased: two ready, one unacknowledged.
  assert.equal(rowOf(rows, 'ops-a').consumers, 0);
  assert.equal(rowOf(rows, 'ops-a').messages_ready, 2);
  assert.equal(rowOf(rows, 'ops-a').messages_unacknowledged, 1);

  const got = await ch.get('ops-a');
  assert.ok(got);
  rows = await assertFullIsFresh('one got');
  assert.equal(rowOf(rows, 'ops-a').messages_unacknowledged, 2);
  ch.reject(got, false);
  await ch.checkQueue('ops-a');
  rows = await assertFullIsFresh('rejected into the dead-letter queue');
  assert.equal(rowOf(rows, 'ops-dlq').messages, 1);

  const leased = await consumer.get('ops-a');
  assert.ok(leased);
  await consumer.close(); // both its leases go back
  await ch.checkQueue('ops-a');
  rows = await assertFullIsFresh('a channel closed with a lease');
  assert.equal(rowOf(rows, 'ops-a').messages_ready, 2);
  assert.equal((rowOf(rows, 'ops-a').message_stats as Row).redeliver, 1);

  await ch.purgeQueue('ops-a');
  rows = await assertFullIsFresh('purged');
  assert.equal(rowOf(rows, 'ops-a').messages, 0);

  ch.sendToQueue('ops-ttl', Buffer.from('expires'));
  await ch.checkQueue('ops-ttl');
  await assertFullIsFresh('before the TTL');
  clock.advance(1000);
  rows = await assertFullIsFresh('expired by TTL');
  assert.equal(rowOf(rows, 'ops-ttl').messages, 0);

  for (let i = 0; i < 3; i++) ch.sendToQueue('ops-drop', Buffer.from(`d${i}`));
  await ch.checkQueue('ops-drop');
  rows = await assertFullIsFresh('dropped from the head');
  assert.equal(rowOf(rows, 'ops-drop').messages, 2);

  ch.sendToQueue('ops-stream', Buffer.from('s'));
  await ch.checkQueue('ops-stream');
  rows = await assertFullIsFresh('appended to a stream');
  assert.equal(rowOf(rows, 'ops-stream').messages, 1);

  const noAck = await ch.get('ops-drop', { noAck: true });
  assert.ok(noAck);
  rows = await assertFullIsFresh('got without ack');
  assert.equal(rowOf(rows, 'ops-drop').messages, 1);
  for (const q of ['ops-a', 'ops-dlq', 'ops-ttl', 'ops-drop', 'ops-stream']) await ch.deleteQueue(q);
  await ch.close();
});
