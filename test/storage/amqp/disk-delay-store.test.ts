// The delay log (DiskDelayStore) under the core's scheduler (DelayedMessages), with a ManualClock:
// many messages fire in order, bodies stay on disk, a restart resumes where it stopped.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { DelayedMessages } from '../../../src/core/amqp/delayed-exchange.js';
import { Exchange } from '../../../src/core/amqp/exchange.js';
import { NO_PROPERTIES } from '../../../src/core/amqp/message-properties.js';
import { DelayHeap } from '../../../src/core/delay-heap.js';
import { ManualClock } from '../../../src/core/manual-clock.js';
import type { Message } from '../../../src/core/message.js';
import { DiskDelayStore } from '../../../src/storage/amqp/disk-delay-store.js';
import { GroupCommitter } from '../../../src/storage/group-commit.js';
import { prng } from '../../helpers/prng.js';
import { makeMessage, tempDir } from '../helpers.js';

const DAY_MS = 24 * 3600 * 1000;

test('DelayHeap pops in (due, ref) order', () => {
  const random = prng(7);
  const heap = new DelayHeap();
  const entries: Array<[number, number]> = [];
  for (let ref = 0; ref < 5000; ref++) {
    const due = Math.floor(random() * 100); // many ties
    entries.push([due, ref]);
    heap.push(due, ref);
  }
  entries.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  for (const [due, ref] of entries) {
    assert.equal(heap.minDueMs, due);
    assert.equal(heap.minRef, ref);
    heap.pop();
  }
  assert.equal(heap.size, 0);
  assert.equal(heap.minDueMs, Number.POSITIVE_INFINITY);
});

interface Fired {
  index: number;
  dueAtMs: number;
  firedAtMs: number;
}

function scheduler(clock: ManualClock, store: DiskDelayStore, fired: Fired[]): DelayedMessages {
  const exchange = new Exchange('/', 'delayed', 'x-delayed-message', {
    durable: true,
    autoDelete: false,
    internal: false,
    arguments: { 'x-delayed-type': 'direct' },
  });
  const delayed = new DelayedMessages(exchange, store, {
    clock,
    codec: NO_PROPERTIES,
    routeDue: (_exchange: Exchange, message: Message) => {
      fired.push({ index: message.body!.readUInt32LE(0), dueAtMs: -1, firedAtMs: clock.now() });
    },
  });
  delayed.onFired = (dueAtMs) => {
    fired[fired.length - 1]!.dueAtMs = dueAtMs;
  };
  return delayed;
}

test('20,000 delayed messages over a day: bodies on disk, a 16-byte index each, in order across a restart', async () => {
  const { dir, cleanup } = tempDir('pier-delay-store-');
  const committer = new GroupCommitter({ fsync: 'always' });
  try {
    const count = 20_000;
    const bodyBytes = 1024;
    const clock = new ManualClock();
    const startMs = clock.now();
    const random = prng(42);
    const dueByIndex = new Float64Array(count);
    const fired: Fired[] = [];
    let store = DiskDelayStore.open(dir, committer, { segmentSizeBytes: 1024 * 1024 });
    let delayed = scheduler(clock, store, fired);
    for (let i = 0; i < count; i++) {
      const body = Buffer.alloc(bodyBytes, 0x61);
      body.writeUInt32LE(i, 0);
      // Whole seconds, so that many messages share a due time (publish order must break ties).
      const delayMs = 1000 * (1 + Math.floor((random() * DAY_MS) / 1000));
      dueByIndex[i] = startMs + delayMs;
      delayed.schedule(makeMessage(body), delayMs);
    }
    assert.equal(delayed.pendingCount, count);
    // The in-memory index: 16 bytes a message (32 right after the arrays doubled), never the bodies.
    assert.ok(delayed.indexBytes <= count * 32, `index of ${delayed.indexBytes} bytes`);
    assert.ok(delayed.indexBytes * 20 < count * bodyBytes);
    await committer.flush();

    // Half a day, then a "restart": the store is closed and reopened on the same directory.
    clock.advance(DAY_MS / 2);
    await committer.flush(); // routed writes durable → the FIRED mark is appended
    await committer.flush(); // ... and made durable
    const firstHalf = fired.length;
    assert.ok(firstHalf > count / 3 && firstHalf < (count * 2) / 3, `${firstHalf} fired in half a day`);
    delayed.close();
    store = DiskDelayStore.open(dir, committer, { segmentSizeBytes: 1024 * 1024 });
    assert.equal(store.recoveredCount, count - firstHalf, 'exactly the messages that had not fired');
    delayed = scheduler(clock, store, fired);
    clock.advance(DAY_MS);
    assert.equal(fired.length, count);

    const seen = new Set<number>();
    for (let i = 0; i < fired.length; i++) {
      const f = fired[i]!;
      assert.ok(!seen.has(f.index), `message ${f.index} fired twice`);
      seen.add(f.index);
      assert.equal(f.dueAtMs, dueByIndex[f.index], 'fired with its own due time');
      if (i < firstHalf) assert.equal(f.firedAtMs, f.dueAtMs, 'exact to the ms');
      if (i > 0) {
        const prev = fired[i - 1]!;
        assert.ok(
          prev.dueAtMs < f.dueAtMs || (prev.dueAtMs === f.dueAtMs && prev.index < f.index),
          `order: ${prev.index}@${prev.dueAtMs} before ${f.index}@${f.dueAtMs}`,
        );
      }
    }
    await committer.flush();
    await committer.flush();
    assert.ok(store.segmentCount <= 1, `fired segments are deleted (${store.segmentCount} left)`);
    delayed.close();
  } finally {
    await committer.close();
    cleanup();
  }
});

test('transient messages are kept until they fire but not across a restart; destroy removes the data', async () => {
  const { dir, cleanup } = tempDir('pier-delay-store-');
  const committer = new GroupCommitter({ fsync: 'always' });
  try {
    const clock = new ManualClock();
    const fired: Fired[] = [];
    let store = DiskDelayStore.open(dir, committer);
    let delayed = scheduler(clock, store, fired);
    const body = (i: number) => {
      const b = Buffer.alloc(8);
      b.writeUInt32LE(i, 0);
      return b;
    };
    delayed.schedule(makeMessage(body(1), false), 100);
    delayed.schedule(makeMessage(body(2), true), 200);
    delayed.schedule(makeMessage(body(3), false), 300);
    clock.advance(100);
    assert.deepEqual(
      fired.map((f) => f.index),
      [1],
      'read back before the committer wrote it',
    );
    await committer.flush();
    delayed.close();
    store = DiskDelayStore.open(dir, committer);
    delayed = scheduler(clock, store, fired);
    clock.advance(1000);
    assert.deepEqual(
      fired.map((f) => f.index),
      [1, 2],
    );
    delayed.destroy();
    assert.ok(!existsSync(dir));
  } finally {
    await committer.close();
    cleanup();
  }
});
