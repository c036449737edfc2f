import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { QueuedMessage } from '../../../src/core/message.js';
import { DiskQueueStore } from '../../../src/storage/amqp/disk-queue-store.js';
import { GroupCommitter } from '../../../src/storage/group-commit.js';
import { makeMessage, snapshottingFs, tempDir } from '../helpers.js';

test('push, shift, settle; message fields survive the disk', async () => {
  const { dir, cleanup } = tempDir();
  const gc = new GroupCommitter({ fsync: 'always' });
  try {
    const store = DiskQueueStore.open(dir, gc);
    assert.equal(store.readyCount, 0);
    const q1 = store.push(makeMessage('hello'));
    store.push(makeMessage('world', false));
    assert.equal(store.readyCount, 2);
    assert.equal(store.readyBytes, 10);
    const s1 = store.shift()!;
    assert.equal(s1, q1);
    assert.equal(s1.sequence, 0);
    assert.equal(store.readyCount, 1);
    store.settle(s1);
    assert.equal(store.shift()!.message.body!.toString(), 'world');
    assert.equal(store.shift(), undefined);
    assert.equal(store.readyBytes, 0);
    store.close();
  } finally {
    await gc.close();
    cleanup();
  }
});

test('restart recovers exactly the unsettled persistent messages in order and drops transient ones', async () => {
  const { dir, cleanup } = tempDir();
  const gc = new GroupCommitter({ fsync: 'always' });
  try {
    const store = DiskQueueStore.open(dir, gc, { segmentSizeBytes: 2048 });
    for (let i = 0; i < 300; i++) store.push(makeMessage(`m${i}`, i % 3 !== 0, `key-${i}`));
    // Settle the first 50 shifted; shift 10 more and leave them unsettled (leased at the crash).
    for (let i = 0; i < 50; i++) store.settle(store.shift()!);
    for (let i = 0; i < 10; i++) store.shift();
    await new Promise<void>((resolve) => gc.afterDurable(resolve));
    store.close();

    const expected: string[] = [];
    for (let i = 50; i < 300; i++) if (i % 3 !== 0) expected.push(`m${i}`);
    const store2 = DiskQueueStore.open(dir, gc, { segmentSizeBytes: 2048 });
    assert.equal(store2.readyCount, expected.length, 'declare-ok count is known right after open');
    assert.equal(
      store2.readyBytes,
      expected.reduce((n, s) => n + s.length, 0),
    );
    assert.equal(store2.inMemoryCount, 0, 'bodies are read lazily');
    const got: QueuedMessage[] = [];
    for (let m = store2.shift(); m; m = store2.shift()) got.push(m);
    assert.deepEqual(
      got.map((m) => m.message.body!.toString()),
      expected,
    );
    const m = got[0]!.message;
    assert.equal(m.exchange, 'amq.direct');
    assert.equal(m.routingKey, 'key-50');
    assert.deepEqual([...m.properties], [0x10, 0x00, 0x02]);
    assert.equal(m.persistent, true);
    assert.equal(m.publishedAtMs, 1_700_000_000_123);
    assert.ok(got.every((q, i) => i === 0 || q.sequence > got[i - 1]!.sequence));
    for (const q of got) store2.settle(q);
    store2.close();
    const store3 = DiskQueueStore.open(dir, gc, { segmentSizeBytes: 2048 });
    assert.equal(store3.readyCount, 0);
    assert.ok(store3.segmentCount <= 1);
    store3.close();
  } finally {
    await gc.close();
    cleanup();
  }
});

test('paging: a 10-message window over 10,000 messages keeps ≤ 10 bodies in memory, order kept', async () => {
  const { dir, cleanup } = tempDir();
  const gc = new GroupCommitter({ fsync: 'never' });
  try {
    const store = DiskQueueStore.open(dir, gc, { windowMessages: 10, segmentSizeBytes: 64 * 1024 });
    const pushed: QueuedMessage[] = [];
    let maxInMemory = 0;
    for (let i = 0; i < 10_000; i++) {
      pushed.push(store.push(makeMessage(`body-${i}`, i % 2 === 0)));
      maxInMemory = Math.max(maxInMemory, store.inMemoryCount);
    }
    assert.equal(store.readyCount, 10_000);
    let seq = 0;
    for (let i = 0; i < 10_000; i++) {
      // Interleave more pushes while draining.
      if (i === 5000) for (let j = 0; j < 100; j++) store.push(makeMessage(`late-${j}`));
      const q = store.shift()!;
      assert.equal(q.message.body!.toString(), `body-${i}`);
      assert.equal(q.sequence, seq++);
      maxInMemory = Math.max(maxInMemory, store.inMemoryCount);
      store.settle(q);
    }
    for (let j = 0; j < 100; j++) assert.equal(store.shift()!.message.body!.toString(), `late-${j}`);
    assert.equal(store.shift(), undefined);
    assert.ok(maxInMemory <= 10, `max in memory ${maxInMemory}`);
    assert.equal(store.readyCount, 0);
    store.close();
  } finally {
    await gc.close();
    cleanup();
  }
});

test('window byte limit', async () => {
  const { dir, cleanup } = tempDir();
  const gc = new GroupCommitter({ fsync: 'never' });
  try {
    const store = DiskQueueStore.open(dir, gc, { windowBytes: 1000 });
    for (let i = 0; i < 100; i++) store.push(makeMessage(Buffer.alloc(100, i)));
    assert.ok(store.inMemoryBytes <= 1000);
    for (let i = 0; i < 100; i++) {
      assert.equal(store.shift()!.message.body![0], i);
      assert.ok(store.inMemoryBytes <= 1000);
    }
    store.close();
  } finally {
    await gc.close();
    cleanup();
  }
});

test('purge removes ready messages (memory and disk) but not leased ones; destroy removes the directory', async () => {
  const { dir, cleanup } = tempDir();
  const gc = new GroupCommitter({ fsync: 'never' });
  try {
    const store = DiskQueueStore.open(dir, gc, { windowMessages: 20, segmentSizeBytes: 1024 });
    for (let i = 0; i < 500; i++) store.push(makeMessage(`m${i}`));
    const leased = store.shift()!;
    assert.equal(store.purge(), 499);
    assert.equal(store.readyCount, 0);
    assert.equal(store.readyBytes, 0);
    assert.equal(store.shift(), undefined);
    store.push(makeMessage('after'));
    assert.equal(store.shift()!.message.body!.toString(), 'after');
    await gc.flush();
    store.close();
    const store2 = DiskQueueStore.open(dir, gc, { windowMessages: 20, segmentSizeBytes: 1024 });
    // The leased message and 'after' were never settled: both come back.
    assert.equal(store2.readyCount, 2);
    assert.equal(store2.shift()!.message.body!.toString(), leased.message.body!.toString());
    store2.destroy();
    const { existsSync } = await import('node:fs');
    assert.equal(existsSync(dir), false);
  } finally {
    await gc.close();
    cleanup();
  }
});

test('a persistent push is covered by the next afterDurable round', async () => {
  const { dir, cleanup } = tempDir();
  const gc = new GroupCommitter({ fsync: 'always' });
  try {
    const store = DiskQueueStore.open(dir, gc);
    store.push(makeMessage('durable'));
    const before = gc.stats.syncs;
    await new Promise<void>((resolve) => gc.afterDurable(resolve));
    assert.ok(gc.stats.syncs > before);
    // Reopen without closing (simulated crash: the file is what it is on disk now).
    const copy = DiskQueueStore.open(`${dir}`, new GroupCommitter({ fsync: 'never' }));
    assert.equal(copy.readyCount, 1);
    copy.close();
    store.close();
  } finally {
    await gc.close();
    cleanup();
  }
});

test('messages delivered before a restart come back marked as delivered; the others do not', async () => {
  const { dir, cleanup } = tempDir();
  const gc = new GroupCommitter({ fsync: 'always' });
  try {
    const store = DiskQueueStore.open(dir, gc);
    for (let i = 0; i < 4; i++) store.push(makeMessage(`m${i}`));
    const delivered = [store.shift()!, store.shift()!];
    for (const queued of delivered) store.markDelivered(queued);
    // Crash-like stop: staged writes reach the files, nothing is settled.
    await gc.flush();
    store.close();

    const reopened = DiskQueueStore.open(dir, gc);
    const counts: Array<[string, number]> = [];
    for (let queued = reopened.shift(); queued; queued = reopened.shift()) {
      counts.push([queued.message.body!.toString(), queued.deliveryCount]);
    }
    assert.deepEqual(counts, [
      ['m0', 1],
      ['m1', 1],
      ['m2', 0],
      ['m3', 0],
    ]);
    reopened.close();
  } finally {
    await gc.close();
    cleanup();
  }
});

test('settleAfterDurable: the ack is written only after a sync round covering the rest of the turn', async () => {
  const { dir, cleanup } = tempDir();
  // A copy of the data after every write syscall: each is a state a kill -9 could leave behind.
  const recorder = snapshottingFs(dir, join(dir, 'live'));
  const snapshots = recorder.snapshots;
  const gc = new GroupCommitter({ fsync: 'always', fs: recorder.fs });
  const readyIn = (path: string): number => {
    const store = DiskQueueStore.open(path, new GroupCommitter({ fsync: 'never' }));
    const count = store.readyCount;
    store.close();
    return count;
  };
  try {
    const source = DiskQueueStore.open(join(dir, 'live', 'source'), gc);
    const target = DiskQueueStore.open(join(dir, 'live', 'target'), gc);
    source.push(makeMessage('acked'));
    source.push(makeMessage('dead-lettered'));
    await new Promise<void>((resolve) => gc.afterDurable(resolve));
    snapshots.length = 0;
    // One turn: an ack makes the source's ack file the first file to write; then a message is
    // dead-lettered (its copy pushed to the target after the call, as the queue does).
    source.settle(source.shift()!);
    const dead = source.shift()!;
    source.settleAfterDurable(dead);
    target.push(makeMessage('dead-lettered'));
    await new Promise<void>((resolve) => gc.afterDurable(resolve));
    await new Promise<void>((resolve) => gc.afterDurable(resolve));
    assert.ok(snapshots.length >= 2, `writes seen: ${snapshots.length}`);
    for (const [i, copy] of snapshots.entries()) {
      const found = readyIn(join(copy, 'source')) + readyIn(join(copy, 'target'));
      assert.ok(found >= 1, `after write ${i} the dead-lettered message is in neither store`);
    }
    assert.equal(readyIn(join(dir, 'live', 'source')), 0, 'acked once the copy was durable');
    assert.equal(readyIn(join(dir, 'live', 'target')), 1);

    // A clean shutdown writes waiting acks instead of dropping them.
    source.push(makeMessage('closing'));
    source.settleAfterDurable(source.shift()!);
    source.close();
    target.close();
    await gc.close();
    assert.equal(readyIn(join(dir, 'live', 'source')), 0);
  } finally {
    await gc.close();
    cleanup();
  }
});
