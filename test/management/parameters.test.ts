// Runtime parameters, vhost limits, operator policies, topic permissions and user limits over the
// management API, with RabbitMQ 3.10's paths, status codes and error bodies (checked against it),
// and their effect on AMQP clients: a reached queue or connection limit refuses the declare or
// the connection, an operator policy's lower max-length wins, a topic permission refuses a publish
// or a bind with 403. Each survives a restart and travels in /api/definitions.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { describe, it } from 'node:test';
import { connect } from 'amqplib';
import { startTestBroker, tempDir } from '../helpers/broker.js';
import { channelError, RawPeer, rejectsWith } from '../protocol/amqp/amqp-helpers.js';
import { apiClient, apiFixture } from './api-client.js';

type Row = Record<string, unknown>;

describe('management API: parameters and limits', () => {
  const f = apiFixture();

  it('keeps vhost-limits and shovel parameters and refuses components RabbitMQ does not know', async () => {
    const { api } = f;
    await api('PUT', '/api/vhosts/params', {});
    assert.equal(
      (await api('PUT', '/api/parameters/vhost-limits/params/limits', { value: { 'max-queues': 100 } }))
        .status,
      201,
    );
    assert.equal(
      (await api('PUT', '/api/parameters/vhost-limits/params/limits', { value: { 'max-queues': 50 } }))
        .status,
      204,
    );
    const shovel = { 'src-uri': 'amqp://', 'src-queue': 'a', 'dest-uri': 'amqp://', 'dest-queue': 'b' };
    assert.equal((await api('PUT', '/api/parameters/shovel/params/s1', { value: shovel })).status, 201);
    assert.deepEqual((await api('GET', '/api/parameters/shovel/params/s1')).body, {
      value: shovel,
      vhost: 'params',
      component: 'shovel',
      name: 's1',
    });
    const listed = (await api('GET', '/api/parameters/vhost-limits')).body as Row[];
    assert.deepEqual(listed, [
      { value: { 'max-queues': 50 }, vhost: 'params', component: 'vhost-limits', name: 'limits' },
    ]);
    assert.deepEqual((await api('GET', '/api/vhost-limits/params')).body, [
      { vhost: 'params', value: { 'max-queues': 50 } },
    ]);
    assert.deepEqual((await api('GET', '/api/parameters/nothing')).body, []);
    assert.deepEqual((await api('GET', '/api/parameters/nothing/params')).body, []);

    const unknown = await api('PUT', '/api/parameters/federation-upstream/params/x', {
      value: { uri: 'amqp://' },
    });
    assert.equal(unknown.status, 400);
    assert.equal((unknown.body as Row).error, 'bad_request');
    assert.match(
      (unknown.body as Row).reason as string,
      /^Validation failed\n\ncomponent federation-upstream not found/,
    );
    const policy = await api('PUT', '/api/parameters/policy/params/x', { value: {} });
    assert.equal(policy.status, 400);
    assert.match((policy.body as Row).reason as string, /policies may not be set using this method/);
    assert.deepEqual((await api('PUT', '/api/parameters/shovel/params/x', { valu: 1 })).body, {
      error: 'bad_request',
      reason: '[{key_missing,value}]',
    });
    assert.deepEqual((await api('PUT', '/api/parameters/shovel/nope/x', { value: {} })).body, {
      error: 'not_found',
      reason: 'vhost_not_found',
    });
    assert.equal((await api('PUT', '/api/parameters/shovel/params/x', '{"value": ')).status, 400);
    assert.equal((await api('GET', '/api/parameters/shovel/nope')).status, 404);
    assert.equal((await api('GET', '/api/parameters/shovel/params/absent')).status, 404);
    assert.equal((await api('DELETE', '/api/parameters/shovel/params/s1')).status, 204);
    assert.equal((await api('DELETE', '/api/parameters/shovel/params/s1')).status, 404);
    // A deleted vhost takes its parameters along.
    assert.equal((await api('DELETE', '/api/vhosts/params')).status, 204);
    await api('PUT', '/api/vhosts/params', {});
    assert.deepEqual((await api('GET', '/api/parameters/vhost-limits/params')).body, []);
    await api('DELETE', '/api/vhosts/params');
  });

  it('vhost limits: wrong names and types are 400; max-queues refuses queue.declare with 406', async () => {
    const { api, broker } = f;
    await api('PUT', '/api/vhosts/lim', {});
    await api('PUT', '/api/permissions/lim/guest', { configure: '.*', write: '.*', read: '.*' });
    const bad = await api('PUT', '/api/vhost-limits/lim/max-connections', { value: 'x' });
    assert.equal(bad.status, 400);
    assert.match((bad.body as Row).reason as string, /max-connections should be a number, actually was "x"/);
    assert.equal((await api('PUT', '/api/vhost-limits/lim/max-foo', { value: 3 })).status, 400);
    assert.equal((await api('PUT', '/api/vhost-limits/lim/max-queues', { value: 1.5 })).status, 400);
    assert.equal((await api('PUT', '/api/vhost-limits/lim/max-queues', {})).status, 400);
    assert.equal((await api('PUT', '/api/vhost-limits/nope/max-queues', { value: 1 })).status, 404);
    assert.equal((await api('GET', '/api/vhost-limits/lim/max-queues')).status, 405);
    assert.equal((await api('PUT', '/api/vhost-limits/lim/max-queues', { value: 1 })).status, 204);

    const conn = await connect(`${broker.url}/lim`);
    const ch = await conn.createChannel();
    ch.on('error', () => {}); // the refusal closes the channel; rejectsWith checks it
    await ch.assertQueue('first', { durable: false });
    await ch.assertQueue('first', { durable: false }); // a redeclare is not a new queue
    await rejectsWith(
      ch.assertQueue('second'),
      406,
      /PRECONDITION_FAILED - cannot declare queue 'second': queue limit in vhost 'lim' \(1\) is reached/,
    );
    await conn.close();

    // Cleared: the limit is gone, and a negative value means "no limit" as in RabbitMQ.
    assert.equal((await api('DELETE', '/api/vhost-limits/lim/max-queues')).status, 204);
    assert.deepEqual((await api('GET', '/api/vhost-limits/lim')).body, []);
    assert.equal((await api('PUT', '/api/vhost-limits/lim/max-queues', { value: -1 })).status, 204);
    const again = await connect(`${broker.url}/lim`);
    await (await again.createChannel()).assertQueue('second', { durable: false });
    await again.close();
  });

  it('vhost limits: max-connections refuses connection.open with 530 NOT_ALLOWED', async () => {
    const { api, broker } = f;
    await api('PUT', '/api/vhosts/conns', {});
    await api('PUT', '/api/permissions/conns/guest', { configure: '.*', write: '.*', read: '.*' });
    await api('PUT', '/api/vhost-limits/conns/max-connections', { value: 1 });
    const first = await connect(`${broker.url}/conns`);
    const peer = await RawPeer.open(broker.url);
    try {
      const frame = await peer.handshake({ virtualHost: 'conns', response: Buffer.from('\0guest\0guest') });
      assert.equal(frame.method, 'ConnectionClose');
      assert.equal(frame.fields?.replyCode, 530);
      assert.equal(
        frame.fields?.replyText,
        "NOT_ALLOWED - access to vhost 'conns' refused for user 'guest': connection limit (1) is reached",
      );
    } finally {
      peer.destroy();
    }
    // Connections to other vhosts do not count.
    const other = await connect(broker.url);
    await other.close();
    await first.close();
    const second = await connect(`${broker.url}/conns`);
    await second.close();
  });

  it('operator policies: validated as RabbitMQ does, merged with the lower max-length winning', async () => {
    const { api, amqp } = f;
    const ch = await amqp.createChannel();
    await ch.assertQueue('op.q', { durable: false });
    await api('PUT', '/api/policies/%2F/user-limit', {
      pattern: '^op\\.',
      definition: { 'max-length': 5, 'message-ttl': 60000 },
      'apply-to': 'queues',
    });
    assert.equal(
      (
        await api('PUT', '/api/operator-policies/%2F/cap', {
          pattern: '^op\\.',
          definition: { 'max-length': 2, 'message-ttl': 120000 },
          priority: 1,
          'apply-to': 'queues',
        })
      ).status,
      201,
    );
    const queue = (await api('GET', '/api/queues/%2F/op.q')).body as Row;
    assert.equal(queue.policy, 'user-limit');
    assert.equal(queue.operator_policy, 'cap');
    assert.deepEqual(queue.effective_policy_definition, { 'max-length': 2, 'message-ttl': 60000 });
    for (let i = 0; i < 5; i++) ch.sendToQueue('op.q', Buffer.from(`m${i}`));
    await ch.checkQueue('op.q');
    assert.equal((await ch.checkQueue('op.q')).messageCount, 2);

    assert.deepEqual((await api('GET', '/api/operator-policies/%2F/cap')).body, {
      vhost: '/',
      name: 'cap',
      pattern: '^op\\.',
      'apply-to': 'queues',
      definition: { 'max-length': 2, 'message-ttl': 120000 },
      priority: 1,
    });
    // /api/parameters lists operator policies as component operator_policy, as RabbitMQ 3.10 does.
    const params = (await api('GET', '/api/parameters')).body as Row[];
    assert.ok(params.some((p) => p.component === 'operator_policy' && p.name === 'cap'));

    const notOperator = await api('PUT', '/api/operator-policies/%2F/x', {
      pattern: 'x',
      definition: { 'dead-letter-exchange': 'dlx' },
    });
    assert.equal(notOperator.status, 400);
    assert.match((notOperator.body as Row).reason as string, /are not recognised operator policy settings/);
    assert.deepEqual(
      (await api('PUT', '/api/operator-policies/%2F/x', { definition: { 'max-length': 1 } })).body,
      {
        error: 'bad_request',
        reason: '[{key_missing,pattern}]',
      },
    );
    for (const body of [
      { pattern: '(', definition: { 'max-length': 1 } },
      { pattern: 'x', definition: {} },
      { pattern: 'x', definition: { 'max-length': 'x' } },
      { pattern: 'x', definition: { 'max-length': 1 }, 'apply-to': 'foo' },
      { pattern: 'x', definition: { 'max-length': 1 }, priority: 'a' },
    ]) {
      const reply = await api('PUT', '/api/operator-policies/%2F/x', body);
      assert.equal(reply.status, 400, JSON.stringify(body));
      assert.match((reply.body as Row).reason as string, /^Validation failed/, JSON.stringify(body));
    }
    assert.equal(
      (await api('PUT', '/api/operator-policies/nope/x', { pattern: 'x', definition: { 'max-length': 1 } }))
        .status,
      404,
    );

    assert.equal((await api('DELETE', '/api/operator-policies/%2F/cap')).status, 204);
    assert.equal((await api('DELETE', '/api/operator-policies/%2F/cap')).status, 404);
    const after = (await api('GET', '/api/queues/%2F/op.q')).body as Row;
    assert.equal(after.operator_policy, null);
    assert.deepEqual(after.effective_policy_definition, { 'max-length': 5, 'message-ttl': 60000 });
    await api('DELETE', '/api/policies/%2F/user-limit');
    await ch.deleteQueue('op.q');
    await ch.close();
  });

  it('global parameters and user limits', async () => {
    const { api } = f;
    assert.equal((await api('PUT', '/api/global-parameters/cluster_tag', { value: { a: 1 } })).status, 201);
    assert.equal((await api('PUT', '/api/global-parameters/cluster_tag', { value: { a: 2 } })).status, 204);
    assert.deepEqual((await api('GET', '/api/global-parameters/cluster_tag')).body, {
      value: { a: 2 },
      name: 'cluster_tag',
    });
    assert.equal((await api('PUT', '/api/global-parameters/cluster_tag', { valu: 1 })).status, 400);
    assert.equal((await api('DELETE', '/api/global-parameters/cluster_tag')).status, 204);
    assert.equal((await api('DELETE', '/api/global-parameters/cluster_tag')).status, 404);

    await api('PUT', '/api/users/limited', { password: 'pw', tags: '' });
    assert.equal((await api('PUT', '/api/user-limits/limited/max-connections', { value: 3 })).status, 204);
    const badType = await api('PUT', '/api/user-limits/limited/max-channels', { value: '3' });
    assert.equal(badType.status, 400);
    assert.match((badType.body as Row).reason as string, /max-channels should be a number/);
    assert.equal((await api('PUT', '/api/user-limits/limited/max-foo', { value: 3 })).status, 400);
    assert.equal((await api('PUT', '/api/user-limits/nobody/max-connections', { value: 3 })).status, 404);
    assert.deepEqual((await api('GET', '/api/user-limits/limited')).body, [
      { user: 'limited', value: { 'max-connections': 3 } },
    ]);
    assert.deepEqual(((await api('GET', '/api/users/limited')).body as Row).limits, { 'max-connections': 3 });
    assert.equal((await api('DELETE', '/api/user-limits/limited/max-connections')).status, 204);
    assert.deepEqual((await api('GET', '/api/user-limits/limited')).body, []);
  });

  it('user limits: max-connections refuses connection.open, max-channels refuses channel.open (530)', async () => {
    const { api, broker } = f;
    await api('PUT', '/api/users/capped', { password: 'pw', tags: '' });
    await api('PUT', '/api/permissions/%2F/capped', { configure: '.*', write: '.*', read: '.*' });
    await api('PUT', '/api/user-limits/capped/max-connections', { value: 1 });
    await api('PUT', '/api/user-limits/capped/max-channels', { value: 1 });
    const cappedUrl = broker.url.replace('guest:guest', 'capped:pw');
    const first = await connect(cappedUrl);
    const peer = await RawPeer.open(broker.url);
    try {
      const frame = await peer.handshake({ virtualHost: '/', response: Buffer.from('\0capped\0pw') });
      assert.equal(frame.fields?.replyCode, 530);
      assert.equal(
        frame.fields?.replyText,
        "NOT_ALLOWED - connection refused for user 'capped': user connection limit (1) is reached",
      );
    } finally {
      peer.destroy();
    }
    await first.createChannel();
    const closed = channelError(first);
    await first.createChannel().catch(() => {});
    const error = await closed;
    assert.equal(error.code, 530);
    assert.match(
      error.message,
      /NOT_ALLOWED - number of channels opened for user 'capped' has reached the maximum allowed user limit of \(1\)/,
    );
    await first.close().catch(() => {});
  });

  it('topic permissions: listed as RabbitMQ lists them; a write or read pattern refuses with 403', async () => {
    const { api, broker } = f;
    await api('PUT', '/api/users/tp', { password: 'pw', tags: '' });
    await api('PUT', '/api/permissions/%2F/tp', { configure: '.*', write: '.*', read: '.*' });
    const entry = { exchange: 'amq.topic', write: '^{username}\\.', read: '^{vhost}x' };
    assert.equal((await api('PUT', '/api/topic-permissions/%2F/tp', entry)).status, 201);
    assert.equal(
      (await api('PUT', '/api/topic-permissions/%2F/tp', { ...entry, exchange: 'other' })).status,
      201,
    );
    const expected = [
      { user: 'tp', vhost: '/', exchange: 'amq.topic', write: '^{username}\\.', read: '^{vhost}x' },
      { user: 'tp', vhost: '/', exchange: 'other', write: '^{username}\\.', read: '^{vhost}x' },
    ];
    assert.deepEqual((await api('GET', '/api/topic-permissions')).body, expected);
    assert.deepEqual((await api('GET', '/api/topic-permissions/%2F/tp')).body, expected);
    assert.deepEqual((await api('GET', '/api/users/tp/topic-permissions')).body, expected);
    assert.deepEqual((await api('GET', '/api/vhosts/%2F/topic-permissions')).body, expected);
    assert.deepEqual((await api('PUT', '/api/topic-permissions/%2F/tp', { write: 'a', read: 'b' })).body, {
      error: 'bad_request',
      reason: '[{key_missing,exchange}]',
    });
    assert.deepEqual((await api('PUT', '/api/topic-permissions/%2F/nobody', entry)).body, {
      error: 'bad_request',
      reason: 'vhost_or_user_not_found',
    });
    assert.equal((await api('PUT', '/api/topic-permissions/%2F/tp', { ...entry, write: '(' })).status, 400);

    const conn = await connect(broker.url.replace('guest:guest', 'tp:pw'));
    let ch = await conn.createChannel();
    const q = await ch.assertQueue('', { exclusive: true });
    ch.publish('amq.topic', 'tp.allowed', Buffer.from('ok'));
    ch.publish('amq.direct', 'anything', Buffer.from('not a topic exchange'));
    const refused = channelError(ch);
    ch.publish('amq.topic', 'other.key', Buffer.from('refused'));
    const error = await refused;
    assert.equal(error.code, 403);
    assert.match(
      error.message,
      /ACCESS_REFUSED - access to topic 'other.key' in exchange 'amq.topic' in vhost '\/' refused for user 'tp'/,
    );
    ch = await conn.createChannel();
    ch.on('error', () => {}); // the refusal closes the channel; rejectsWith checks it
    await ch.bindQueue(q.queue, 'amq.topic', '/x.#'); // {vhost} expanded to '/'
    await ch.bindQueue(q.queue, 'amq.direct', 'no topic check');
    await rejectsWith(
      ch.bindQueue(q.queue, 'amq.topic', 'tp.#'),
      403,
      /access to topic 'tp.#' in exchange 'amq.topic' in vhost '\/' refused for user 'tp'/,
    );
    await conn.close().catch(() => {});

    // Deleting the (user, vhost) entries lifts the restriction; a second delete is 404.
    assert.equal((await api('DELETE', '/api/topic-permissions/%2F/tp')).status, 204);
    assert.equal((await api('DELETE', '/api/topic-permissions/%2F/tp')).status, 404);
    const free = await connect(broker.url.replace('guest:guest', 'tp:pw'));
    const freeCh = await free.createChannel();
    await freeCh.bindQueue((await freeCh.assertQueue('', { exclusive: true })).queue, 'amq.topic', 'tp.#');
    await free.close();
  });

  it('is policymaker (parameters) and administrator (limits, topic permissions) only', async () => {
    const { api, broker } = f;
    await api('PUT', '/api/users/plain-mgmt', { password: 'pw', tags: 'management' });
    const user = apiClient(broker.http!.url, 'plain-mgmt', 'pw');
    assert.equal((await user('GET', '/api/parameters')).status, 403);
    assert.equal((await user('PUT', '/api/parameters/shovel/%2F/x', { value: {} })).status, 403);
    assert.equal((await user('GET', '/api/topic-permissions')).status, 403);
    assert.equal((await user('PUT', '/api/vhost-limits/%2F/max-queues', { value: 1 })).status, 403);
  });
});

describe('management API: parameters survive a restart and travel in definitions', () => {
  it('keeps limits, operator policies, shovels, topic permissions and user limits', async () => {
    const dataDir = tempDir();
    const broker = await startTestBroker({ httpPort: 0, dataDir });
    let api = apiClient(broker.http!.url);
    await api('PUT', '/api/vhosts/kept', {});
    await api('PUT', '/api/vhost-limits/kept/max-queues', { value: 7 });
    await api('PUT', '/api/operator-policies/kept/cap', { pattern: '.*', definition: { 'max-length': 9 } });
    // The shovel's queues exist first: a shovel declares its destination when it starts, and
    // whether that happened before the export (or the stop) must not decide what is compared.
    for (const queue of ['a', 'b']) {
      assert.equal((await api('PUT', `/api/queues/kept/${queue}`, { durable: true })).status, 201);
    }
    await api('PUT', '/api/parameters/shovel/kept/s', { value: { 'src-queue': 'a', 'dest-queue': 'b' } });
    await api('PUT', '/api/global-parameters/g', { value: 'v' });
    await api('PUT', '/api/users/u', { password: 'pw', tags: '' });
    await api('PUT', '/api/user-limits/u/max-channels', { value: 4 });
    await api('PUT', '/api/topic-permissions/kept/u', { exchange: 'amq.topic', write: 'w', read: 'r' });
    const before = (await api('GET', '/api/definitions')).body as Row;
    await broker.stop();
    const restarted = await startTestBroker({ httpPort: 0, dataDir });
    api = apiClient(restarted.http!.url);
    const after = (await api('GET', '/api/definitions')).body as Row;
    assert.deepEqual(after, before);
    assert.deepEqual(
      (after.parameters as Row[]).map((p) => `${p.component}/${p.vhost}/${p.name}`),
      ['operator_policy/kept/cap', 'shovel/kept/s', 'vhost-limits/kept/limits'],
    );
    assert.deepEqual(after.global_parameters, [{ name: 'g', value: 'v' }]);
    assert.deepEqual(after.topic_permissions, [
      { user: 'u', vhost: 'kept', exchange: 'amq.topic', write: 'w', read: 'r' },
    ]);
    assert.deepEqual((after.users as Row[]).find((u) => u.name === 'u')!.limits, { 'max-channels': 4 });

    // Into a fresh broker: the same objects, and a per-vhost export carries the vhost's parameters.
    const perVhost = (await api('GET', '/api/definitions/kept')).body as Row;
    assert.equal((perVhost.parameters as Row[]).length, 3);
    const fresh = await startTestBroker({ httpPort: 0 });
    const freshApi = apiClient(fresh.http!.url);
    assert.equal((await freshApi('POST', '/api/definitions', after)).status, 204);
    const copied = (await freshApi('GET', '/api/definitions')).body as Row;
    for (const key of ['parameters', 'global_parameters', 'topic_permissions', 'vhosts']) {
      assert.deepEqual(copied[key], after[key], key);
    }
    assert.equal(((await freshApi('GET', '/api/vhosts/kept')).body as Row).name, 'kept');
    await fresh.stop();
    await restarted.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('an import valid except for its last entry changes nothing', async () => {
    const broker = await startTestBroker({ httpPort: 0 });
    const api = apiClient(broker.http!.url);
    const before = (await api('GET', '/api/definitions')).body;
    const file = {
      users: [{ name: 'x', password_hash: '', tags: [], limits: { 'max-connections': 2 } }],
      vhosts: [{ name: 'atomic' }],
      permissions: [{ user: 'x', vhost: 'atomic', configure: '.*', write: '.*', read: '.*' }],
      topic_permissions: [{ user: 'x', vhost: 'atomic', exchange: 'amq.topic', write: '.*', read: '.*' }],
      global_parameters: [{ name: 'g', value: 1 }],
      policies: [{ vhost: 'atomic', name: 'p', pattern: '.*', definition: { 'max-length': 1 } }],
      queues: [{ name: 'q', vhost: 'atomic', durable: true, auto_delete: false, arguments: {} }],
      parameters: [
        { component: 'vhost-limits', vhost: 'atomic', name: 'limits', value: { 'max-queues': 10 } },
        {
          component: 'operator_policy',
          vhost: 'atomic',
          name: 'op',
          value: { pattern: '.*', definition: { 'max-length': 1 }, priority: 0, 'apply-to': 'all' },
        },
        { component: 'federation-upstream', vhost: 'atomic', name: 'up', value: { uri: 'amqp://' } },
      ],
    };
    for (const bad of [
      file,
      {
        ...file,
        parameters: [{ component: 'vhost-limits', vhost: 'atomic', name: 'limits', value: { 'max-foo': 1 } }],
      },
      {
        ...file,
        topic_permissions: [{ user: 'x', vhost: 'atomic', exchange: 'amq.topic', write: '(', read: '' }],
      },
      { ...file, users: [{ name: 'x', password_hash: '', tags: [], limits: { 'max-connections': 'many' } }] },
      { ...file, parameters: [], global_parameters: [{ name: 'g' }] },
    ]) {
      const reply = await api('POST', '/api/definitions', bad);
      assert.equal(reply.status, 400);
      assert.equal((reply.body as Row).error, 'bad_request');
    }
    const rejected = await api('POST', '/api/definitions', file);
    assert.match((rejected.body as Row).reason as string, /federation-upstream/);
    assert.deepEqual((await api('GET', '/api/definitions')).body, before);
    await broker.stop();
  });

  it('an import whose new queues pass the vhost queue limit changes nothing', async () => {
    const broker = await startTestBroker({ httpPort: 0 });
    const api = apiClient(broker.http!.url);
    await api('PUT', '/api/vhosts/small', {});
    await api('PUT', '/api/vhost-limits/small/max-queues', { value: 1 });
    const before = (await api('GET', '/api/definitions')).body;
    const reply = await api('POST', '/api/definitions', {
      queues: [
        { name: 'a', vhost: 'small', durable: true, auto_delete: false, arguments: {} },
        { name: 'b', vhost: 'small', durable: true, auto_delete: false, arguments: {} },
      ],
    });
    assert.equal(reply.status, 400);
    assert.match((reply.body as Row).reason as string, /queue limit \(1\)/);
    assert.deepEqual((await api('GET', '/api/definitions')).body, before);
    await broker.stop();
  });
});

describe('management API: channels', () => {
  const f = apiFixture();

  it('shows prefetch, unacked, unconfirmed, consumers, confirm and tx state per channel', async () => {
    const { api, broker } = f;
    const conn = await connect(broker.url);
    const confirm = await conn.createConfirmChannel();
    await confirm.prefetch(7);
    await confirm.prefetch(3, true);
    const q = await confirm.assertQueue('', { exclusive: true });
    confirm.sendToQueue(q.queue, Buffer.from('a'));
    confirm.sendToQueue(q.queue, Buffer.from('b'));
    await confirm.waitForConfirms();
    await confirm.consume(q.queue, () => {}, { noAck: false });
    await conn.createChannel();

    const name = ((await api('GET', '/api/connections')).body as Row[]).find(
      (c) => (c.channels as number) === 2,
    )!.name as string;
    let rows: Row[] = [];
    // The deliveries reach the client asynchronously; the unacked count is read once both are out.
    for (let i = 0; i < 50; i++) {
      rows = (await api('GET', `/api/connections/${encodeURIComponent(name)}/channels`)).body as Row[];
      if (rows[0]?.messages_unacknowledged === 2) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal(rows.length, 2);
    const [first, second] = rows as [Row, Row];
    assert.equal(first.name, `${name} (1)`);
    assert.equal(first.number, 1);
    assert.equal(first.prefetch_count, 7);
    assert.equal(first.global_prefetch_count, 3);
    assert.equal(first.messages_unacknowledged, 2);
    assert.equal(first.messages_unconfirmed, 0);
    assert.equal(first.consumer_count, 1);
    assert.equal(first.confirm, true);
    assert.equal(first.transactional, false);
    assert.equal(first.state, 'running');
    assert.equal(first.vhost, '/');
    assert.equal(first.user, 'guest');
    assert.equal((first.connection_details as Row).name, name);
    assert.equal(second.confirm, false);
    assert.equal(second.consumer_count, 0);

    const one = await api('GET', `/api/channels/${encodeURIComponent(`${name} (1)`)}`);
    assert.equal(one.status, 200);
    assert.equal((one.body as Row).prefetch_count, 7);
    assert.equal((await api('GET', `/api/channels/${encodeURIComponent(`${name} (9)`)}`)).status, 404);
    assert.equal((await api('GET', '/api/channels/nonsense')).status, 404);
    const all = (await api('GET', '/api/channels')).body as Row[];
    assert.ok(all.some((c) => c.name === `${name} (2)`));
    const inVhost = (await api('GET', '/api/vhosts/%2F/channels')).body as Row[];
    assert.ok(inVhost.some((c) => c.name === `${name} (1)`));
    assert.equal((await api('GET', '/api/vhosts/nope/channels')).status, 404);
    assert.equal((await api('GET', '/api/connections/nope/channels')).status, 404);
    await conn.close();
  });

  it('shows a tx.select channel as transactional', async () => {
    const { api, broker } = f;
    const peer = await RawPeer.open(broker.url);
    try {
      assert.equal((await peer.handshake()).method, 'ConnectionOpenOk');
      peer.sendMethod(3, 'ChannelOpen', { outOfBand: '' });
      await peer.nextMethod('ChannelOpenOk');
      peer.sendMethod(3, 'TxSelect', {});
      await peer.nextMethod('TxSelectOk');
      const port = peer.socket.localPort;
      const rows = (await api('GET', '/api/channels')).body as Row[];
      const mine = rows.find((c) => (c.connection_details as Row).peer_port === port)!;
      assert.equal(mine.number, 3);
      assert.equal(mine.transactional, true);
      assert.equal(mine.confirm, false);
    } finally {
      peer.destroy();
    }
  });
});
