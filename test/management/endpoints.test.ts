// Each endpoint of the management API over real HTTP against an in-process broker: objects are
// created through the API and seen through AMQP (amqplib) and the other way round.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connect } from 'amqplib';
import { startTestBroker } from '../helpers/broker.js';
import { apiClient, apiFixture } from './api-client.js';

type Row = Record<string, unknown>;

describe('management API endpoints', () => {
  const f = apiFixture();

  it('whoami, nodes, vhosts', async () => {
    assert.deepEqual((await f.api('GET', '/api/whoami')).body, { name: 'guest', tags: ['administrator'] });
    const nodes = (await f.api('GET', '/api/nodes')).body as Row[];
    assert.equal(nodes.length, 1);
    assert.equal(nodes[0]!.running, true);
    assert.equal((await f.api('PUT', '/api/vhosts/v1', {})).status, 201);
    assert.equal((await f.api('PUT', '/api/vhosts/v1', {})).status, 204);
    const names = ((await f.api('GET', '/api/vhosts')).body as Row[]).map((v) => v.name);
    assert.deepEqual(names, ['/', 'v1']);
    assert.equal(((await f.api('GET', '/api/vhosts/%2F')).body as Row).name, '/');
    assert.equal((await f.api('DELETE', '/api/vhosts/v1')).status, 204);
    assert.equal(f.broker.core.vhosts.has('v1'), false);
  });

  it('users and permissions', async () => {
    assert.equal(
      (await f.api('PUT', '/api/users/alice', { password: 's3cret', tags: 'management' })).status,
      201,
    );
    const alice = (await f.api('GET', '/api/users/alice')).body as Row;
    assert.deepEqual(alice.tags, ['management']);
    assert.equal(alice.hashing_algorithm, 'rabbit_password_hashing_sha256');
    assert.equal(
      (await f.api('PUT', '/api/permissions/%2F/alice', { configure: '^a', write: '.*', read: '.*' })).status,
      201,
    );
    const perms = (await f.api('GET', '/api/permissions/%2F/alice')).body as Row;
    assert.deepEqual(perms, { user: 'alice', vhost: '/', configure: '^a', write: '.*', read: '.*' });
    // alice logs in to the API and to AMQP with the password set over HTTP.
    const asAlice = apiClient(f.broker.http!.url, 'alice', 's3cret');
    assert.equal((await asAlice('GET', '/api/queues/%2F')).status, 200);
    const conn = await connect(f.broker.url.replace('guest:guest', 'alice:s3cret'));
    await conn.close();
    // A user can also be created from a RabbitMQ password hash (that of 'test12').
    const hash = 'kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR';
    assert.equal(
      (await f.api('PUT', '/api/users/hashed', { password_hash: hash, tags: ['monitoring'] })).status,
      201,
    );
    assert.equal(
      (await apiClient(f.broker.http!.url, 'hashed', 'test12')('GET', '/api/overview')).status,
      200,
    );
    assert.equal((await f.api('PUT', '/api/users/bad', { password_hash: 'xyz', tags: '' })).status, 400);
    assert.equal((await f.api('DELETE', '/api/permissions/%2F/alice')).status, 204);
    assert.equal((await f.api('DELETE', '/api/users/alice')).status, 204);
    assert.equal((await f.api('GET', '/api/users/alice')).status, 404);
    assert.equal((await f.api('DELETE', '/api/users/hashed')).status, 204);
  });

  it('policies', async () => {
    const policy = { pattern: '^lim\\.', definition: { 'max-length': 2 }, priority: 1, 'apply-to': 'queues' };
    assert.equal((await f.api('PUT', '/api/policies/%2F/lim', policy)).status, 201);
    assert.equal((await f.api('PUT', '/api/queues/%2F/lim.q', {})).status, 201);
    const queue = (await f.api('GET', '/api/queues/%2F/lim.q')).body as Row;
    assert.equal(queue.policy, 'lim');
    const listed = (await f.api('GET', '/api/policies/%2F')).body as Row[];
    assert.equal(listed[0]!['apply-to'], 'queues');
    assert.equal((await f.api('PUT', '/api/policies/%2F/bad', { pattern: '(', definition: {} })).status, 400);
    assert.equal((await f.api('DELETE', '/api/policies/%2F/lim')).status, 204);
    assert.equal((await f.api('DELETE', '/api/queues/%2F/lim.q')).status, 204);
  });

  it('exchanges, queues and bindings declared over HTTP; publish over HTTP reaches an amqplib consumer', async () => {
    assert.equal((await f.api('PUT', '/api/exchanges/%2F/hx', { type: 'topic', durable: true })).status, 201);
    assert.equal(
      (await f.api('PUT', '/api/queues/%2F/hq', { durable: true, auto_delete: false })).status,
      201,
    );
    assert.equal(
      (await f.api('POST', '/api/bindings/%2F/e/hx/q/hq', { routing_key: 'a.*', arguments: {} })).status,
      201,
    );
    const bindings = (await f.api('GET', '/api/bindings/%2F/e/hx/q/hq')).body as Row[];
    assert.equal(bindings.length, 1);
    assert.equal(bindings[0]!.properties_key, 'a.*');
    // An inequivalent redeclare is refused with 400 (PRECONDITION_FAILED in AMQP).
    assert.equal((await f.api('PUT', '/api/queues/%2F/hq', { durable: false })).status, 400);

    const ch = await f.amqp.createChannel();
    const got = new Promise<{ body: string; type: string | undefined; headers: unknown }>((resolve) => {
      void ch.consume(
        'hq',
        (msg) => {
          if (!msg) return;
          ch.ack(msg);
          resolve({
            body: msg.content.toString(),
            type: msg.properties.type,
            headers: msg.properties.headers,
          });
        },
        { noAck: false },
      );
    });
    const published = await f.api('POST', '/api/exchanges/%2F/hx/publish', {
      routing_key: 'a.b',
      payload: 'hello over http',
      payload_encoding: 'string',
      properties: { type: 'greeting', headers: { k: 'v' }, delivery_mode: 2 },
    });
    assert.deepEqual(published.body, { routed: true });
    const seen = await got;
    assert.equal(seen.body, 'hello over http');
    assert.equal(seen.type, 'greeting');
    assert.deepEqual(seen.headers, { k: 'v' });
    const unrouted = await f.api('POST', '/api/exchanges/%2F/hx/publish', {
      routing_key: 'zzz',
      payload: 'x',
      payload_encoding: 'string',
      properties: {},
    });
    assert.deepEqual(unrouted.body, { routed: false });
    // The default exchange is amq.default in the API.
    const direct = await f.api('POST', '/api/exchanges/%2F/amq.default/publish', {
      routing_key: 'nowhere',
      payload: 'x',
      payload_encoding: 'string',
      properties: {},
    });
    assert.deepEqual(direct.body, { routed: false });
    await ch.close();

    const consumers = (await f.api('GET', '/api/consumers')).body as Row[];
    assert.equal(consumers.length, 0);
    assert.equal((await f.api('DELETE', '/api/bindings/%2F/e/hx/q/hq/a.*')).status, 204);
    assert.equal(((await f.api('GET', '/api/bindings/%2F/e/hx/q/hq')).body as Row[]).length, 0);
    assert.equal((await f.api('DELETE', '/api/exchanges/%2F/hx')).status, 204);
    assert.equal((await f.api('DELETE', '/api/queues/%2F/hq')).status, 204);
    assert.equal((await f.api('DELETE', '/api/exchanges/%2F/amq.direct')).status, 403);
  });

  it('queue get with each ackmode, encodings and truncate; purge', async () => {
    const ch = await f.amqp.createChannel();
    await ch.assertQueue('gq', { durable: false });
    ch.sendToQueue('gq', Buffer.from('one'));
    ch.sendToQueue('gq', Buffer.from([0xff, 0xfe, 0x00]));
    ch.sendToQueue('gq', Buffer.from('three'));
    await ch.close();
    const get = (body: Row) => f.api('POST', '/api/queues/%2F/gq/get', body);

    const peeked = (await get({ count: 5, ackmode: 'ack_requeue_true', encoding: 'auto' })).body as Row[];
    assert.deepEqual(
      peeked.map((m) => [m.payload, m.payload_encoding, m.redelivered]),
      [
        ['one', 'string', false],
        ['//4A', 'base64', false],
        ['three', 'string', false],
      ],
    );
    assert.equal(peeked[0]!.payload_bytes, 3);
    assert.equal(peeked[0]!.routing_key, 'gq');
    const again = (await get({ count: 1, ackmode: 'reject_requeue_true', encoding: 'base64', truncate: 2 }))
      .body as Row[];
    assert.deepEqual(
      [again[0]!.payload, again[0]!.payload_encoding, again[0]!.redelivered],
      ['b24=', 'base64', true],
    );
    assert.equal(again[0]!.payload_bytes, 3);
    const taken = (await get({ count: 1, ackmode: 'ack_requeue_false', encoding: 'auto' })).body as Row[];
    assert.equal(taken[0]!.payload, 'one');
    assert.equal(taken[0]!.message_count, 2);
    const rejected = (await get({ count: 1, ackmode: 'reject_requeue_false', encoding: 'auto' }))
      .body as Row[];
    assert.equal(rejected[0]!.payload_encoding, 'base64');
    const queue = (await f.api('GET', '/api/queues/%2F/gq')).body as Row;
    assert.equal(queue.messages, 1);
    assert.equal(queue.messages_ready, 1);
    assert.equal(queue.messages_unacknowledged, 0);
    assert.deepEqual(queue.messages_details, { rate: 0 });
    for (const field of [
      'name',
      'vhost',
      'type',
      'durable',
      'auto_delete',
      'exclusive',
      'arguments',
      'node',
      'state',
    ]) {
      assert.ok(field in queue, field);
    }
    assert.equal((await get({ count: 1, ackmode: 'nope' })).status, 400);
    assert.equal((await get({ count: 1 })).status, 400);
    assert.equal((await get({ count: 'x', ackmode: 'ack_requeue_true' })).status, 400);
    assert.equal((await f.api('DELETE', '/api/queues/%2F/gq/contents')).status, 204);
    assert.equal(((await f.api('GET', '/api/queues/%2F/gq')).body as Row).messages, 0);
    assert.equal((await f.api('DELETE', '/api/queues/%2F/gq')).status, 204);
  });

  it('lists with columns, sort and pagination', async () => {
    for (const name of ['p3', 'p1', 'p2', 'other'])
      await f.api('PUT', `/api/queues/%2F/${name}`, { durable: false });
    const cols = (await f.api('GET', '/api/queues/%2F?columns=name,messages&sort=name')).body as Row[];
    assert.deepEqual(
      cols.map((q) => q.name),
      ['other', 'p1', 'p2', 'p3'],
    );
    assert.deepEqual(Object.keys(cols[0]!).sort(), ['messages', 'name']);
    const reversed = (await f.api('GET', '/api/queues?sort=name&sort_reverse=true&columns=name'))
      .body as Row[];
    assert.equal(reversed[0]!.name, 'p3');
    const page = (await f.api('GET', '/api/queues?page=2&page_size=1&name=p&sort=name')).body as Row;
    assert.equal(page.filtered_count, 3);
    assert.equal(page.total_count, 4);
    assert.equal(page.page_count, 3);
    assert.equal(page.item_count, 1);
    assert.equal(page.page, 2);
    assert.equal(page.page_size, 1);
    assert.equal((page.items as Row[])[0]!.name, 'p2');
    const regex = (await f.api('GET', '/api/queues?page=1&name=%5Ep%5B12%5D%24&use_regex=true')).body as Row;
    assert.equal(regex.filtered_count, 2);
    const nested = (await f.api('GET', '/api/overview?columns=object_totals.queues')).body as Row;
    assert.deepEqual(nested, { object_totals: { queues: 4 } });
    for (const name of ['p3', 'p1', 'p2', 'other']) await f.api('DELETE', `/api/queues/%2F/${name}`);
  });

  it('connections, channels and closing a connection with 320', async () => {
    const conn = await connect(f.broker.url);
    await conn.createChannel();
    conn.on('error', () => {});
    const closed = new Promise<Error>((resolve) => conn.on('close', resolve));
    const connections = (await f.api('GET', '/api/connections')).body as Row[];
    const mine = connections.find(
      (c) =>
        c.peer_port === (conn.connection as unknown as { stream: { localPort: number } }).stream.localPort,
    );
    assert.ok(mine, JSON.stringify(connections));
    assert.equal(mine.user, 'guest');
    assert.equal(mine.vhost, '/');
    assert.equal(mine.channels, 1);
    const channels = (await f.api('GET', '/api/channels')).body as Row[];
    assert.ok(channels.some((c) => String(c.name).startsWith(String(mine.name))));
    const name = encodeURIComponent(String(mine.name));
    assert.equal(((await f.api('GET', `/api/connections/${name}`)).body as Row).name, mine.name);
    assert.equal(
      (await f.api('DELETE', `/api/connections/${name}`, undefined, { 'X-Reason': 'bye now' })).status,
      204,
    );
    const error = await closed;
    assert.match(error.message, /320/);
    assert.match(error.message, /bye now/);
    assert.equal((await f.api('DELETE', '/api/connections/nope')).status, 404);
  });

  it('aliveness test and health checks', async () => {
    assert.deepEqual((await f.api('GET', '/api/aliveness-test/%2F')).body, { status: 'ok' });
    assert.equal((await f.api('GET', '/api/aliveness-test/nope')).status, 404);
    for (const check of [
      'alarms',
      'local-alarms',
      'virtual-hosts',
      'ready-to-serve-clients',
      'is-in-service',
    ]) {
      const reply = await f.api('GET', `/api/health/checks/${check}`);
      assert.equal(reply.status, 200, check);
      assert.equal((reply.body as Row).status, 'ok');
    }
    assert.equal((await f.api('GET', `/api/health/checks/port-listener/${f.broker.amqp!.port}`)).status, 200);
    const missing = await f.api('GET', '/api/health/checks/port-listener/1');
    assert.equal(missing.status, 503);
    assert.equal((missing.body as Row).status, 'failed');
    assert.equal((await f.api('GET', '/api/health/checks/port-listener/abc')).status, 400);
    assert.equal((await f.api('GET', '/api/health/checks/protocol-listener/amqp')).status, 200);
    assert.equal((await f.api('GET', '/api/health/checks/protocol-listener/kafka')).status, 503);
  });
});

describe('management API with an alarm raised', () => {
  it('alarms check answers 503 failed', async () => {
    const broker = await startTestBroker({
      httpPort: 0,
      resources: { diskFreeBytes: () => 0 },
    });
    try {
      broker.resources.check();
      const reply = await apiClient(broker.http!.url)('GET', '/api/health/checks/alarms');
      assert.equal(reply.status, 503);
      assert.equal((reply.body as Row).status, 'failed');
    } finally {
      await broker.stop();
    }
  });
});
