// POST /api/queues/{vhost}/{name}/move over real HTTP with amqplib making the messages: to a
// queue (properties and order kept), to an exchange (a message that would route nowhere stays
// in the source), the refusals (missing or transient destination, bad type) that move nothing,
// and a move that survives a restart of the broker (the copies were durable before the reply).
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { describe, it } from 'node:test';
import { connect } from 'amqplib';
import { startTestBroker, tempDir } from '../helpers/broker.js';
import { apiClient, apiFixture } from './api-client.js';

// biome-ignore lint/suspicious/noExplicitAny: JSON replies, read field by field
type Row = Record<string, any>;

describe('management API: move', () => {
  const fx = apiFixture();
  const ready = async (name: string) =>
    ((await fx.api('GET', `/api/queues/%2F/${name}`)).body as Row).messages_ready as number;

  it('moves to a queue keeping order and properties; refusals move nothing', async () => {
    const ch = await fx.amqp.createConfirmChannel();
    await ch.assertQueue('mv-a', { durable: true });
    await ch.assertQueue('mv-b', { durable: true });
    await ch.assertQueue('mv-transient', { durable: false });
    for (let i = 0; i < 5; i++)
      ch.sendToQueue('mv-a', Buffer.from(`m${i}`), {
        persistent: true,
        headers: { n: i },
        messageId: `id${i}`,
      });
    await ch.waitForConfirms();

    const missing = await fx.api('POST', '/api/queues/%2F/mv-a/move', { destination: 'nope' });
    assert.equal(missing.status, 400);
    assert.match((missing.body as Row).reason, /destination queue 'nope' does not exist/);
    const transient = await fx.api('POST', '/api/queues/%2F/mv-a/move', { destination: 'mv-transient' });
    assert.equal(transient.status, 400);
    assert.match((transient.body as Row).reason, /transient/);
    const itself = await fx.api('POST', '/api/queues/%2F/mv-a/move', { destination: 'mv-a' });
    assert.equal(itself.status, 400);
    const badType = await fx.api('POST', '/api/queues/%2F/mv-a/move', {
      destination_type: 'topic',
      destination: 'x',
    });
    assert.equal(badType.status, 400);
    assert.equal(await ready('mv-a'), 5);

    const moved = await fx.api('POST', '/api/queues/%2F/mv-a/move', { destination: 'mv-b', count: 3 });
    assert.deepEqual([moved.status, moved.body], [200, { moved: 3 }]);
    assert.equal(await ready('mv-a'), 2);
    const got = [];
    for (let i = 0; i < 3; i++) {
      const m = await ch.get('mv-b', { noAck: true });
      assert.ok(m);
      got.push([m.content.toString(), m.properties.messageId, m.properties.headers?.n, m.fields.redelivered]);
    }
    assert.deepEqual(got, [
      ['m0', 'id0', 0, false],
      ['m1', 'id1', 1, false],
      ['m2', 'id2', 2, false],
    ]);
    await ch.close();
  });

  it('moves to an exchange; a message that would route nowhere stays in the source', async () => {
    const ch = await fx.amqp.createConfirmChannel();
    await ch.assertExchange('mv-x', 'direct', { durable: true });
    await ch.assertQueue('mv-src', { durable: true });
    await ch.assertQueue('mv-dst', { durable: true });
    await ch.bindQueue('mv-dst', 'mv-x', 'good');
    ch.sendToQueue('mv-src', Buffer.from('one'), { persistent: true });
    ch.sendToQueue('mv-src', Buffer.from('two'), { persistent: true });
    await ch.waitForConfirms();
    const unrouted = await fx.api('POST', '/api/queues/%2F/mv-src/move', {
      destination_type: 'exchange',
      destination: 'mv-x',
      routing_key: 'bad',
    });
    assert.equal(unrouted.status, 409);
    assert.match((unrouted.body as Row).reason, /routed a message with key 'bad' to no queue; moved 0/);
    assert.equal(await ready('mv-src'), 2);
    const routed = await fx.api('POST', '/api/queues/%2F/mv-src/move', {
      destination_type: 'exchange',
      destination: 'mv-x',
      routing_key: 'good',
    });
    assert.deepEqual(routed.body, { moved: 2 });
    assert.equal(await ready('mv-src'), 0);
    assert.equal(await ready('mv-dst'), 2);
    await ch.close();
  });

  it('a finished move survives a restart', async () => {
    const dataDir = tempDir();
    let broker = await startTestBroker({ httpPort: 0, dataDir });
    try {
      const conn = await connect(broker.url);
      const ch = await conn.createConfirmChannel();
      await ch.assertQueue('r-a', { durable: true });
      await ch.assertQueue('r-b', { durable: true });
      for (let i = 0; i < 20; i++) ch.sendToQueue('r-a', Buffer.from(`x${i}`), { persistent: true });
      await ch.waitForConfirms();
      await conn.close();
      const api = apiClient(broker.http!.url);
      assert.deepEqual((await api('POST', '/api/queues/%2F/r-a/move', { destination: 'r-b' })).body, {
        moved: 20,
      });
      await broker.close();
      broker = await startTestBroker({ httpPort: 0, dataDir });
      const after = apiClient(broker.http!.url);
      assert.equal(((await after('GET', '/api/queues/%2F/r-a')).body as Row).messages, 0);
      assert.equal(((await after('GET', '/api/queues/%2F/r-b')).body as Row).messages, 20);
    } finally {
      await broker.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
