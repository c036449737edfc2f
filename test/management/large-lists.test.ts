// Listing 10,000 queues: pages build only their rows, an unpaginated list is streamed in slices
// with the event loop let run in between, so amqplib traffic keeps flowing while it is written.
import assert from 'node:assert/strict';
import { ServerResponse } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { type Channel, type ChannelModel, connect } from 'amqplib';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { type ApiCall, apiClient } from './api-client.js';

const QUEUES = 10_000;
const bulkName = (i: number) => `bulk-${String(i).padStart(5, '0')}`;

type Row = Record<string, unknown>;

describe('10,000 queues in the management API', () => {
  let broker: TestBroker;
  let api: ApiCall;
  let amqp: ChannelModel;
  let channel: Channel;
  before(async () => {
    broker = await startTestBroker({ httpPort: 0 });
    api = apiClient(broker.http!.url);
    // Declared through the core: 10,000 round trips would only slow the test down.
    const vhost = broker.core.vhosts.get('/')!;
    for (let i = 0; i < QUEUES; i++) {
      vhost.declareQueue({
        name: bulkName(i),
        passive: false,
        durable: false,
        exclusive: false,
        autoDelete: false,
        arguments: {},
        owner: {},
      });
    }
    amqp = await connect(broker.url);
    channel = await amqp.createChannel();
    await channel.assertQueue('ping', { durable: false });
    for (let i = 0; i < 7; i++) channel.sendToQueue(bulkName(42), Buffer.from(`m${i}`));
    await channel.assertQueue(bulkName(42), { durable: false });
  });
  after(async () => {
    await amqp.close().catch(() => {});
    await broker.stop();
  });

  test('an unpaginated list is complete, chunked, and AMQP messages flow while it is written', async () => {
    const events: string[] = [];
    // Ping-pong through the broker: each consumed message publishes the next one.
    let running = true;
    await channel.consume(
      'ping',
      () => {
        events.push('amqp');
        if (running) channel.sendToQueue('ping', Buffer.from('x'));
      },
      { noAck: true },
    );
    channel.sendToQueue('ping', Buffer.from('x'));
    const write = ServerResponse.prototype.write;
    ServerResponse.prototype.write = function (this: ServerResponse, ...args: unknown[]) {
      if (this.req?.url === '/api/queues') events.push('chunk');
      return (write as (...a: unknown[]) => boolean).apply(this, args);
    } as typeof write;
    let reply: Awaited<ReturnType<ApiCall>>;
    let transferEncoding: string | null;
    try {
      const res = await fetch(`${broker.http!.url}/api/queues`, {
        headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` },
      });
      transferEncoding = res.headers.get('transfer-encoding');
      reply = { status: res.status, contentType: res.headers.get('content-type'), body: await res.json() };
    } finally {
      ServerResponse.prototype.write = write;
      running = false;
    }
    assert.equal(reply.status, 200);
    assert.equal(reply.contentType, 'application/json');
    assert.equal(transferEncoding, 'chunked');
    const rows = reply.body as Row[];
    assert.equal(rows.length, QUEUES + 1);
    const names = new Set(rows.map((r) => r.name));
    for (let i = 0; i < QUEUES; i++) assert.ok(names.has(bulkName(i)), bulkName(i));
    const q42 = rows.find((r) => r.name === bulkName(42))!;
    assert.equal(q42.messages, 7);
    assert.equal(q42.vhost, '/');
    assert.deepEqual(q42.messages_details, { rate: 0 });

    const first = events.indexOf('chunk');
    const last = events.lastIndexOf('chunk');
    assert.ok(last - first > 2, `the list came in ${events.filter((e) => e === 'chunk').length} writes`);
    const between = events.slice(first, last).filter((e) => e === 'amqp').length;
    assert.ok(between > 0, 'no AMQP message was served between the chunks of the list');
  });

  test('pages sort and filter on the whole list but build only their rows', async () => {
    const page = await api('GET', '/api/queues/%2F?page=3&page_size=100&sort=name');
    assert.equal(page.status, 200);
    const body = page.body as Row & { items: Row[] };
    assert.equal(body.total_count, QUEUES + 1);
    assert.equal(body.filtered_count, QUEUES + 1);
    assert.equal(body.page_count, Math.ceil((QUEUES + 1) / 100));
    assert.deepEqual(
      body.items.map((r) => r.name),
      Array.from({ length: 100 }, (_, i) => bulkName(200 + i)),
    );
    assert.ok('message_stats' in body.items[0]!);

    const deepest = await api('GET', '/api/queues?page=1&page_size=2&sort=messages&sort_reverse=true');
    assert.equal(((deepest.body as Row).items as Row[])[0]!.name, bulkName(42));

    const filtered = await api(
      'GET',
      '/api/queues?page=1&page_size=500&name=bulk-0999&columns=name,messages',
    );
    const filteredBody = filtered.body as Row & { items: Row[] };
    assert.equal(filteredBody.filtered_count, 10);
    assert.deepEqual(filteredBody.items[0], { name: bulkName(9990), messages: 0 });

    const pattern = encodeURIComponent('^bulk-0000[0-9]$');
    const regex = await api('GET', `/api/queues?page=2&page_size=5&name=${pattern}&use_regex=true`);
    assert.equal(regex.status, 200, JSON.stringify(regex.body));
    assert.deepEqual(
      ((regex.body as Row).items as Row[]).map((r) => r.name),
      [5, 6, 7, 8, 9].map(bulkName),
    );

    // A field only the full view has: every view is built (in slices) to sort on it. Ten more
    // publishes to ping make it the most published whatever the ping-pong's count was; checkQueue's
    // round trip on the same channel makes sure the broker has routed them.
    for (let i = 0; i < 10; i++) channel.sendToQueue('ping', Buffer.from('y'));
    await channel.checkQueue('ping');
    const byStats = await api(
      'GET',
      '/api/queues?page=1&page_size=2&sort=message_stats.publish&sort_reverse=true',
    );
    assert.deepEqual(
      ((byStats.body as Row).items as Row[]).map((r) => r.name),
      ['ping', bulkName(42)], // ping: the ping-pong's publishes and 10 more, bulk-00042: 7
    );
  });

  test('the streamed list writes each queue as its view would, before and after a policy applies', async () => {
    // The full list writes rows as text (views.ts queueJson); a page builds view objects.
    const sameRows = async (label: string) => {
      const full = await api('GET', '/api/queues');
      const byName = new Map((full.body as Row[]).map((r) => [r.name, r]));
      const page = await api('GET', '/api/queues?page=1&page_size=500&name=bulk-0004');
      const items = (page.body as Row & { items: Row[] }).items;
      assert.equal(items.length, 10); // bulk-00040 … bulk-00049, bulk-00042 with 7 messages
      for (const item of items) {
        // Compared as text: the same keys in the same order with the same values.
        assert.equal(JSON.stringify(byName.get(item.name)), JSON.stringify(item), `${label}: ${item.name}`);
      }
      return items;
    };
    await sameRows('no policy');
    const put = await api('PUT', '/api/policies/%2F/bulk-0004', {
      pattern: '^bulk-0004',
      definition: { 'max-length': 1000, 'message-ttl': 60000 },
      'apply-to': 'queues',
    });
    assert.equal(put.status, 201, JSON.stringify(put.body));
    const items = await sameRows('policy applied');
    assert.equal(items[0]!.policy, 'bulk-0004');
    assert.deepEqual(items[0]!.effective_policy_definition, { 'max-length': 1000, 'message-ttl': 60000 });
    assert.equal((await api('DELETE', '/api/policies/%2F/bulk-0004')).status, 204);
    assert.equal((await sameRows('policy deleted'))[0]!.policy, null);
  });

  test('exchanges, bindings and connections page and stream the same way', async () => {
    const exchanges = await api('GET', '/api/exchanges?page=1&page_size=3&sort=name');
    assert.deepEqual(
      ((exchanges.body as Row).items as Row[]).map((r) => r.name),
      ['', 'amq.direct', 'amq.fanout'],
    );
    const bindings = await api('GET', '/api/bindings/%2F');
    assert.equal((bindings.body as Row[]).length, QUEUES + 1);
    const bindingPage = await api('GET', '/api/bindings?page=2&page_size=10&sort=destination');
    assert.deepEqual(
      ((bindingPage.body as Row).items as Row[]).map((r) => r.destination),
      Array.from({ length: 10 }, (_, i) => bulkName(10 + i)),
    );
    const connections = await api('GET', '/api/connections?page=1&page_size=10&columns=user,vhost');
    assert.deepEqual(((connections.body as Row).items as Row[])[0], { user: 'guest', vhost: '/' });
  });
});
