import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  PRESSURE_WINDOW_MESSAGES,
  TransientQueueStorage,
} from '../../../src/storage/amqp/transient-queue-store.js';
import { nodeFs } from '../../../src/storage/storage-fs.js';
import { makeMessage, tempDir } from '../helpers.js';

function drain(store: { shift(): { message: { body: Buffer | null }; sequence: number } | undefined }) {
  const out: Array<{ body: string; sequence: number }> = [];
  for (let q = store.shift(); q; q = store.shift())
    out.push({ body: q.message.body!.toString(), sequence: q.sequence });
  return out;
}

test('starts by emptying its directory (what an earlier run paged is dropped)', () => {
  const { dir, cleanup } = tempDir();
  try {
    const scratch = join(dir, 'transient');
    mkdirSync(join(scratch, '7'), { recursive: true });
    writeFileSync(join(scratch, '7', '00000000000000000001.seg'), 'left by a crashed run');
    const storage = new TransientQueueStorage(scratch, nodeFs);
    assert.deepEqual(readdirSync(scratch), []);
    storage.close();
    assert.equal(existsSync(scratch), false);
  } finally {
    cleanup();
  }
});

test('a short queue never touches the disk; beyond the window messages page and come back in order', () => {
  const { dir, cleanup } = tempDir();
  try {
    const storage = new TransientQueueStorage(join(dir, 't'), nodeFs, {
      windowMessages: 10,
      segmentSizeBytes: 4096,
    });
    const store = storage.openStore();
    for (let i = 0; i < 10; i++) store.push(makeMessage(`m${i}`, false), i === 3 ? 12345 : 0);
    assert.equal(existsSync(store.dir), false, 'within the window: no files');
    for (let i = 10; i < 2000; i++) store.push(makeMessage(`m${i}`, false));
    assert.equal(store.inMemoryCount, 10);
    assert.equal(store.pagedCount, 1990);
    assert.equal(store.readyCount, 2000);
    assert.ok(readdirSync(store.dir).length > 2, 'several segments');
    // Take half, then publish more while part of the queue is paged: order holds.
    const first = [];
    for (let i = 0; i < 1000; i++) {
      const q = store.shift()!;
      first.push(q.message.body!.toString());
      assert.equal(q.sequence, i);
      if (i === 3) assert.equal(q.expiresAtMs, 12345);
      assert.ok(store.inMemoryCount <= 10);
    }
    for (let i = 2000; i < 2500; i++) store.push(makeMessage(`m${i}`, false));
    const rest = drain(store);
    assert.deepEqual(
      [...first, ...rest.map((r) => r.body)],
      Array.from({ length: 2500 }, (_, i) => `m${i}`),
    );
    assert.deepEqual(
      rest.map((r) => r.sequence),
      Array.from({ length: 1500 }, (_, i) => 1000 + i),
    );
    assert.equal(existsSync(store.dir), false, 'the files go once the paged part is read');
    assert.equal(store.readyBytes, 0);
    storage.close();
  } finally {
    cleanup();
  }
});

test('the byte window: big bodies page, the first message of an empty queue stays in memory', () => {
  const { dir, cleanup } = tempDir();
  try {
    const storage = new TransientQueueStorage(join(dir, 't'), nodeFs, { windowBytes: 1000 });
    const store = storage.openStore();
    const big = Buffer.alloc(5000, 7);
    const q = store.push(makeMessage(big, false));
    assert.equal(store.inMemoryCount, 1);
    assert.equal(store.peek(), q, 'the head is the very message pushed (TTL 0 checks identity)');
    store.push(makeMessage(big, false));
    store.push(makeMessage(Buffer.from('small'), false));
    assert.equal(store.pagedCount, 2);
    assert.equal(store.readyBytes, 10005);
    const bodies = drain(store).map((r) => r.body.length);
    assert.deepEqual(bodies, [5000, 5000, 5]);
    storage.close();
  } finally {
    cleanup();
  }
});

test('memory pressure pages the head beyond the pressure window; peekMany and purge see everything', () => {
  const { dir, cleanup } = tempDir();
  try {
    const storage = new TransientQueueStorage(join(dir, 't'), nodeFs);
    const a = storage.openStore();
    const b = storage.openStore();
    for (let i = 0; i < 1000; i++) a.push(makeMessage(`a${i}`, false));
    for (let i = 0; i < 100; i++) b.push(makeMessage(`b${i}`, false));
    assert.equal(storage.stats().pagedMessages, 0);
    storage.setMemoryPressure(true);
    assert.equal(a.inMemoryCount, PRESSURE_WINDOW_MESSAGES);
    assert.equal(a.pagedCount, 1000 - PRESSURE_WINDOW_MESSAGES);
    assert.equal(b.pagedCount, 0, 'a short queue keeps its messages');
    assert.deepEqual(storage.stats(), {
      pagedMessages: 1000 - PRESSURE_WINDOW_MESSAGES,
      // a256 .. a999: 4-byte bodies.
      pagedBytes: (1000 - PRESSURE_WINDOW_MESSAGES) * 4,
      memoryMessages: PRESSURE_WINDOW_MESSAGES + 100,
      memoryBytes: a.inMemoryBytes + b.inMemoryBytes,
    });
    a.push(makeMessage('a1000', false));
    assert.equal(a.pagedCount, 1001 - PRESSURE_WINDOW_MESSAGES);
    storage.setMemoryPressure(false);
    assert.deepEqual(
      a.peekMany(3).map((q) => q.message.body!.toString()),
      ['a0', 'a1', 'a2'],
    );
    assert.deepEqual(
      drain(a).map((r) => r.body),
      Array.from({ length: 1001 }, (_, i) => `a${i}`),
    );
    storage.setMemoryPressure(true);
    for (let i = 0; i < 500; i++) b.push(makeMessage(`c${i}`, false));
    assert.ok(b.pagedCount > 0);
    assert.equal(b.purge(), 600);
    assert.equal(b.readyCount, 0);
    assert.equal(existsSync(b.dir), false, 'purge deletes the pages');
    storage.close();
  } finally {
    cleanup();
  }
});
