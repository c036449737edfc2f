// Definitions in RabbitMQ's format over /api/definitions: a RabbitMQ-style file imports (its users
// log in with their rabbit_password_hashing_sha256 hashes), an export carries what was created, a
// per-vhost export drops `vhost`, and an import with one bad object changes nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect } from 'amqplib';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { type ApiCall, apiClient } from './api-client.js';

type Row = Record<string, unknown>;

/** As RabbitMQ 3.10 exports it; 'kI3G…' is RabbitMQ's documented hash of the password 'test12'. */
const FROM_RABBITMQ = {
  rabbit_version: '3.10.8',
  rabbitmq_version: '3.10.8',
  product_name: 'RabbitMQ',
  product_version: '3.10.8',
  users: [
    {
      name: 'carol',
      password_hash: 'kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR',
      hashing_algorithm: 'rabbit_password_hashing_sha256',
      tags: 'administrator',
      limits: {},
    },
  ],
  vhosts: [{ name: 'shop', limits: [], metadata: { description: '', tags: [] } }],
  permissions: [{ user: 'carol', vhost: 'shop', configure: '.*', write: '.*', read: '.*' }],
  topic_permissions: [],
  parameters: [],
  global_parameters: [{ name: 'cluster_name', value: 'rabbit@x' }],
  policies: [
    {
      vhost: 'shop',
      name: 'ttl',
      pattern: '^orders',
      'apply-to': 'queues',
      definition: { 'message-ttl': 60000 },
      priority: 0,
    },
  ],
  queues: [
    { name: 'orders', vhost: 'shop', durable: true, auto_delete: false, arguments: { 'x-max-length': 10 } },
  ],
  exchanges: [
    {
      name: 'shop.events',
      vhost: 'shop',
      type: 'topic',
      durable: true,
      auto_delete: false,
      internal: false,
      arguments: {},
    },
  ],
  bindings: [
    {
      source: 'shop.events',
      vhost: 'shop',
      destination: 'orders',
      destination_type: 'queue',
      routing_key: 'order.*',
      arguments: {},
    },
  ],
};

describe('management API: definitions', () => {
  let broker: TestBroker;
  let api: ApiCall;

  before(async () => {
    broker = await startTestBroker({ httpPort: 0 });
    api = apiClient(broker.http!.url);
  });
  after(() => broker.stop());

  it('imports a RabbitMQ export; its users log in with their hashes', async () => {
    assert.equal((await api('POST', '/api/definitions', FROM_RABBITMQ)).status, 204);
    const queue = (await api('GET', '/api/queues/shop/orders')).body as Row;
    assert.equal(queue.policy, 'ttl');
    assert.deepEqual(queue.arguments, { 'x-max-length': 10 });
    const carol = apiClient(broker.http!.url, 'carol', 'test12');
    assert.equal((await carol('GET', '/api/whoami')).status, 200);
    const conn = await connect(`${broker.url.replace('guest:guest', 'carol:test12')}/shop`);
    const ch = await conn.createChannel();
    ch.publish('shop.events', 'order.new', Buffer.from('o1'));
    await ch.close();
    await conn.close();
    assert.equal(((await api('GET', '/api/queues/shop/orders')).body as Row).messages, 1);
  });

  it('exports what exists, in the same format; a per-vhost export drops vhost', async () => {
    const all = (await api('GET', '/api/definitions')).body as Record<string, Row[]>;
    assert.equal(all.rabbitmq_version as unknown, '3.10.8');
    const carol = all.users!.find((u) => u.name === 'carol')!;
    assert.equal(carol.password_hash, FROM_RABBITMQ.users[0]!.password_hash);
    assert.equal(carol.hashing_algorithm, 'rabbit_password_hashing_sha256');
    assert.deepEqual(carol.tags, ['administrator']);
    assert.ok(all.vhosts!.some((v) => v.name === 'shop'));
    assert.deepEqual(all.queues, FROM_RABBITMQ.queues);
    assert.deepEqual(all.exchanges, FROM_RABBITMQ.exchanges);
    assert.deepEqual(all.bindings, FROM_RABBITMQ.bindings);
    assert.deepEqual(all.policies, FROM_RABBITMQ.policies);
    const shop = (await api('GET', '/api/definitions/shop')).body as Record<string, Row[]>;
    assert.equal(shop.users, undefined);
    assert.equal(shop.queues![0]!.vhost, undefined);
    assert.equal(shop.queues![0]!.name, 'orders');
    // A per-vhost import puts the objects in the vhost of the path.
    await api('PUT', '/api/vhosts/copy', {});
    assert.equal((await api('POST', '/api/definitions/copy', shop)).status, 204);
    assert.equal((await api('GET', '/api/queues/copy/orders')).status, 200);
    assert.equal(((await api('GET', '/api/bindings/copy/e/shop.events/q/orders')).body as Row[]).length, 1);
    assert.equal((await api('GET', '/api/definitions/nope')).status, 404);
  });

  it('an import with one bad object changes nothing', async () => {
    const before = (await api('GET', '/api/definitions')).body;
    for (const bad of [
      { ...FROM_RABBITMQ, vhosts: [{ name: 'new1' }], queues: [{ name: 'q', vhost: 'missing' }] },
      { vhosts: [{ name: 'new2' }], users: [{ name: 'u', password_hash: 'not-a-hash', tags: [] }] },
      { vhosts: [{ name: 'new3' }], policies: [{ vhost: 'new3', name: 'p', pattern: '(', definition: {} }] },
      { vhosts: [{ name: 'new4' }], exchanges: [{ name: 'x', vhost: 'new4', type: 'nope' }] },
      {
        vhosts: [{ name: 'new5' }],
        bindings: [
          { source: 'absent', vhost: 'new5', destination: 'q', destination_type: 'queue', routing_key: '' },
        ],
      },
      { users: [{ name: 'v', password_hash: '', hashing_algorithm: 'rabbit_password_hashing_md5' }] },
      { queues: 'not a list' },
    ]) {
      const reply = await api('POST', '/api/definitions', bad);
      assert.equal(reply.status, 400, JSON.stringify(bad).slice(0, 80));
      assert.equal((reply.body as Row).error, 'bad_request');
    }
    assert.deepEqual((await api('GET', '/api/definitions')).body, before);
    assert.equal((await api('POST', '/api/definitions', '{"users": [')).status, 400);
  });

  it('is for administrators only', async () => {
    await api('PUT', '/api/users/mon', { password: 'pw', tags: 'monitoring' });
    const mon = apiClient(broker.http!.url, 'mon', 'pw');
    assert.equal((await mon('GET', '/api/definitions')).status, 403);
    assert.equal((await mon('POST', '/api/definitions', {})).status, 403);
  });
});
