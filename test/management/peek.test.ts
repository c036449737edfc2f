// POST /api/queues/{vh}/{q}/peek: ready messages in delivery order, left in place; a consumer then
// gets the same messages, not flagged redelivered. Also the durable store's peek past its window.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DiskQueueStore } from '../../src/storage/amqp/disk-queue-store.js';
import { GroupCommitter } from '../../src/storage/group-commit.js';
import { makeMessage, tempDir } from '../storage/helpers.js';
import { apiFixture } from './api-client.js';

type Row = Record<string, unknown>;

describe('management API peek', () => {
  const f = apiFixture();

  for (const durable of [false, true]) {
    it(`peeks without consuming (${durable ? 'durable' : 'transient'} queue)`, async () => {
      const name = `peeked-${durable}`;
      const ch = await f.amqp.createConfirmChannel();
      await ch.assertQueue(name, { durable });
      for (let i = 0; i < 5; i++) {
        ch.sendToQueue(name, Buffer.from(`m${i}`), { persistent: durable, messageId: `id${i}` });
      }
      await ch.waitForConfirms();

      for (let round = 0; round < 2; round++) {
        const reply = await f.api('POST', `/api/queues/%2F/${name}/peek`, { count: 3, encoding: 'auto' });
        assert.equal(reply.status, 200);
        const rows = reply.body as Row[];
        assert.deepEqual(
          rows.map((r) => [r.payload, r.redelivered, r.message_count, (r.properties as Row).message_id]),
          [
            ['m0', false, 4, 'id0'],
            ['m1', false, 3, 'id1'],
            ['m2', false, 2, 'id2'],
          ],
        );
        assert.equal(rows[0]!.payload_encoding, 'string');
        assert.equal(rows[0]!.routing_key, name);
      }
      const truncated = (await f.api('POST', `/api/queues/%2F/${name}/peek`, { count: 1, truncate: 1 }))
        .body as Row[];
      assert.deepEqual([truncated[0]!.payload, truncated[0]!.payload_bytes], ['m', 2]);
      const queue = f.broker.core.vhosts.get('/')!.queues.get(name)!;
      assert.equal(queue.messageCount, 5);
      assert.equal(queue.leasedCount, 0);

      // A consumer gets all five, in order, none redelivered.
      const got: Array<[string, boolean]> = [];
      await new Promise<void>((resolve) => {
        void ch.consume(name, (m) => {
          if (!m) return;
          got.push([m.content.toString(), m.fields.redelivered]);
          ch.ack(m);
          if (got.length === 5) resolve();
        });
      });
      assert.deepEqual(got, [
        ['m0', false],
        ['m1', false],
        ['m2', false],
        ['m3', false],
        ['m4', false],
      ]);
      await ch.close();
    });
  }

  it('shows a requeued message first, flagged as its next delivery will be', async () => {
    const ch = await f.amqp.createConfirmChannel();
    await ch.assertQueue('requeued', { durable: false });
    ch.sendToQueue('requeued', Buffer.from('a'));
    ch.sendToQueue('requeued', Buffer.from('b'));
    await ch.waitForConfirms();
    await f.api('POST', '/api/queues/%2F/requeued/get', { count: 1, ackmode: 'ack_requeue_true' });
    const rows = (await f.api('POST', '/api/queues/%2F/requeued/peek', { count: 5 })).body as Row[];
    assert.deepEqual(
      rows.map((r) => [r.payload, r.redelivered]),
      [
        ['a', true],
        ['b', false],
      ],
    );
    const m = await ch.get('requeued', { noAck: true });
    assert.ok(m);
    assert.deepEqual([m.content.toString(), m.fields.redelivered], ['a', true]);
    await ch.close();
  });

  it('follows delivery order in a priority queue, requeued messages included', async () => {
    const ch = await f.amqp.createConfirmChannel();
    await ch.assertQueue('prio', { durable: false, arguments: { 'x-max-priority': 5 } });
    for (const [body, priority] of [
      ['low1', 0],
      ['high1', 5],
      ['mid1', 2],
      ['high2', 5],
      ['low2', 0],
    ] as const) {
      ch.sendToQueue('prio', Buffer.from(body), { priority });
    }
    await ch.waitForConfirms();
    // Take the first two (high1, high2) and requeue them: they go back ahead of mid1.
    await f.api('POST', '/api/queues/%2F/prio/get', { count: 2, ackmode: 'ack_requeue_true' });
    const rows = (await f.api('POST', '/api/queues/%2F/prio/peek', { count: 10 })).body as Row[];
    const peeked = rows.map((r) => r.payload);
    assert.deepEqual(peeked, ['high1', 'high2', 'mid1', 'low1', 'low2']);
    const consumed: string[] = [];
    for (let m = await ch.get('prio', { noAck: true }); m; m = await ch.get('prio', { noAck: true })) {
      consumed.push(m.content.toString());
    }
    assert.deepEqual(consumed, peeked);
    await ch.close();
  });

  it('refuses a bad count, encoding or queue', async () => {
    await f.api('PUT', '/api/queues/%2F/pq', { durable: false });
    assert.equal((await f.api('POST', '/api/queues/%2F/pq/peek', { count: 0 })).status, 400);
    assert.equal((await f.api('POST', '/api/queues/%2F/pq/peek', { count: 1, encoding: 'hex' })).status, 400);
    assert.equal((await f.api('POST', '/api/queues/%2F/nope/peek', { count: 1 })).status, 404);
    assert.deepEqual((await f.api('POST', '/api/queues/%2F/pq/peek', { count: 1 })).body, []);
  });
});

describe('DiskQueueStore.peekMany', () => {
  it('reads past the in-memory window without changing what shift() returns', async () => {
    const { dir, cleanup } = tempDir();
    const gc = new GroupCommitter({ fsync: 'always' });
    try {
      const store = DiskQueueStore.open(dir, gc, { windowMessages: 4 });
      for (let i = 0; i < 10; i++) store.push(makeMessage(`m${i}`));
      assert.equal(store.inMemoryCount, 4);
      store.shift(); // m0 out; the window holds m1..m3
      const peeked = store.peekMany(3).map((q) => q.message.body!.toString());
      assert.deepEqual(peeked, ['m1', 'm2', 'm3']);
      // More than the window holds: filled from the disk up to its limit, no further.
      const wide = store.peekMany(20).map((q) => q.message.body!.toString());
      assert.deepEqual(wide, ['m1', 'm2', 'm3', 'm4']);
      assert.equal(store.readyCount, 9);
      const shifted: string[] = [];
      for (let q = store.shift(); q; q = store.shift()) shifted.push(q.message.body!.toString());
      assert.deepEqual(shifted, ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8', 'm9']);
      store.close();
    } finally {
      await gc.close();
      cleanup();
    }
  });
});
