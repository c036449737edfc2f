// Durable deduplication ids: the per-exchange id log (DiskDedupStore: reopen, torn tail,
// compaction, orphans) and ids kept in queue message records (DiskQueueStore recovery).
import assert from 'node:assert/strict';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { StoredDedupId } from '../../src/core/dedup-store.js';
import { DiskQueueStore } from '../../src/storage/amqp/disk-queue-store.js';
import { DedupStorage, DiskDedupStore } from '../../src/storage/disk-dedup-store.js';
import { GroupCommitter } from '../../src/storage/group-commit.js';
import {
  decodeMessageRecord,
  encodeMessageRecord,
  messageRecordLength,
  peekMessageRecord,
} from '../../src/storage/message-record.js';
import { makeMessage, tempDir } from './helpers.js';

function ids(n: number, from = 0): StoredDedupId[] {
  return Array.from({ length: n }, (_, i) => ({
    key: `s:id-${from + i}`,
    expiresAtMs: i % 2 ? 0 : 5000 + i,
  }));
}

test('DiskDedupStore: ids added come back in order, with their expiry, after a reopen', async () => {
  const { dir, cleanup } = tempDir();
  const committer = new GroupCommitter({ fsync: 'always' });
  try {
    const store = DiskDedupStore.open(dir, committer);
    assert.deepEqual(store.recover(), []);
    const added = [...ids(3), { key: 's:ünïcødé ✓', expiresAtMs: 0 }, { key: '', expiresAtMs: 1 }];
    for (const id of added) store.add(id);
    assert.equal(store.recordCount, 5);
    await committer.flush();
    store.close();

    const again = DiskDedupStore.open(dir, committer);
    assert.equal(again.recordCount, 5);
    assert.deepEqual(again.recover(), added);
    assert.deepEqual(again.recover(), [], 'recovered ids are handed over once');
    again.add({ key: 's:later', expiresAtMs: 0 });
    await committer.flush();
    again.close();
    assert.deepEqual(DiskDedupStore.open(dir, committer).recover().at(-1), {
      key: 's:later',
      expiresAtMs: 0,
    });
  } finally {
    await committer.close();
    cleanup();
  }
});

test('DiskDedupStore: a torn tail is truncated at open; later appends follow the valid ids', async () => {
  const { dir, cleanup } = tempDir();
  const committer = new GroupCommitter({ fsync: 'always' });
  const logged: string[] = [];
  try {
    const store = DiskDedupStore.open(dir, committer);
    for (const id of ids(4)) store.add(id);
    await committer.flush();
    store.close();
    const log = join(dir, 'ids.log');
    const validBytes = statSync(log).size;
    // Half a record: a header promising 40 bytes, followed by 5 (a write cut by a crash).
    const torn = Buffer.alloc(14);
    torn.writeUInt32LE(40, 0);
    appendFileSync(log, torn);

    const again = DiskDedupStore.open(dir, committer, { logger: (line) => logged.push(line) });
    assert.deepEqual(again.recover(), ids(4));
    assert.equal(statSync(log).size, validBytes, 'the torn record was cut off');
    assert.match(logged.join('\n'), /torn record at byte \d+; truncated 14 bytes \(kept 4 ids\)/);
    again.add({ key: 's:after-crash', expiresAtMs: 0 });
    await committer.flush();
    again.close();
    assert.deepEqual(DiskDedupStore.open(dir, committer).recover(), [
      ...ids(4),
      { key: 's:after-crash', expiresAtMs: 0 },
    ]);
  } finally {
    await committer.close();
    cleanup();
  }
});

test('DiskDedupStore: a corrupt record ends the log (CRC checked)', async () => {
  const { dir, cleanup } = tempDir();
  const committer = new GroupCommitter({ fsync: 'never' });
  try {
    const store = DiskDedupStore.open(dir, committer);
    for (const id of ids(3)) store.add(id);
    await committer.flush();
    store.close();
    const log = join(dir, 'ids.log');
    const bytes = readFileSync(log);
    const second = 9 + 8 + Buffer.byteLength('s:id-0');
    bytes[second + 12] = bytes[second + 12]! ^ 0xff; // flip a byte inside the second record's key
    writeFileSync(log, bytes);
    assert.deepEqual(DiskDedupStore.open(dir, committer).recover(), ids(1));
    assert.equal(statSync(log).size, second);
  } finally {
    await committer.close();
    cleanup();
  }
});

test('DiskDedupStore: rewrite keeps only the live ids; appends go on; a leftover tmp file is ignored', async () => {
  const { dir, cleanup } = tempDir();
  const committer = new GroupCommitter({ fsync: 'always' });
  try {
    const store = DiskDedupStore.open(dir, committer);
    for (const id of ids(1000)) store.add(id);
    await committer.flush();
    const log = join(dir, 'ids.log');
    const fullBytes = statSync(log).size;
    // Staged (not yet written) appends are dropped by the rewrite: the live set covers them.
    store.add({ key: 's:staged', expiresAtMs: 0 });
    const live = [...ids(10, 990), { key: 's:staged', expiresAtMs: 0 }];
    store.rewrite(live);
    assert.equal(store.recordCount, 11);
    assert.ok(statSync(log).size < fullBytes / 50, 'the log shrank to the live ids');
    store.add({ key: 's:after-rewrite', expiresAtMs: 0 });
    await committer.flush();
    store.close();

    // A crash in the middle of a later rewrite leaves its tmp file: the log itself is whole.
    writeFileSync(join(dir, 'ids.log.tmp'), 'half-written garbage');
    const again = DiskDedupStore.open(dir, committer);
    assert.deepEqual(again.recover(), [...live, { key: 's:after-rewrite', expiresAtMs: 0 }]);
    assert.equal(again.recordCount, 12);
    assert.equal(existsSync(join(dir, 'ids.log.tmp')), false);
    again.rewrite([]);
    again.close();
    assert.deepEqual(DiskDedupStore.open(dir, committer).recover(), []);
  } finally {
    await committer.close();
    cleanup();
  }
});

test('DedupStorage: destroy deletes an exchange’s ids; removeOrphans deletes what no exchange opened', async () => {
  const { dir, cleanup } = tempDir();
  const committer = new GroupCommitter({ fsync: 'always' });
  try {
    const storage = new DedupStorage(dir, committer);
    const kept = storage.openStore('/', 'kept');
    const deleted = storage.openStore('/', 'deleted');
    const orphan = storage.openStore('/', 'orphan');
    assert.throws(() => storage.openStore('/', 'kept'), /already open/);
    for (const store of [kept, deleted, orphan]) store.add({ key: 's:x', expiresAtMs: 0 });
    await committer.flush();
    deleted.destroy();
    assert.equal(existsSync(deleted.dir), false);
    storage.close();

    const restarted = new DedupStorage(dir, committer);
    const reopened = restarted.openStore('/', 'kept');
    mkdirSync(join(restarted.root, 'not-an-exchange'));
    restarted.removeOrphans();
    assert.deepEqual(readdirSync(restarted.root), [DedupStorage.dirName('/', 'kept')]);
    assert.deepEqual(reopened.recover(), [{ key: 's:x', expiresAtMs: 0 }]);
    restarted.close();
  } finally {
    await committer.close();
    cleanup();
  }
});

test('message records carry a dedup id that peek reads without decoding the message', () => {
  const message = makeMessage('body bytes', true);
  const dedupId = { key: 's:order-42', expiresAtMs: 1_700_000_060_000 };
  for (const [expiresAtMs, priority] of [
    [0, 0],
    [123_456, 5],
  ] as const) {
    const m = { ...message, priority };
    const length = messageRecordLength(m, expiresAtMs, dedupId);
    assert.equal(length, messageRecordLength(m, expiresAtMs) + 12 + dedupId.key.length);
    const buf = Buffer.alloc(length + 3);
    encodeMessageRecord(buf, 3, m, expiresAtMs, dedupId);
    const payload = buf.subarray(3);
    assert.deepEqual(peekMessageRecord(payload), {
      persistent: true,
      bodySizeBytes: message.bodySizeBytes,
      dedupId,
    });
    const decoded = decodeMessageRecord(payload);
    assert.equal(decoded.expiresAtMs, expiresAtMs);
    assert.equal(decoded.message.priority, priority);
    assert.equal(decoded.message.body!.toString(), 'body bytes');
    assert.equal(decoded.message.routingKey, 'rk');
  }
  const plain = Buffer.alloc(messageRecordLength(message));
  encodeMessageRecord(plain, 0, message);
  assert.equal(peekMessageRecord(plain)!.dedupId, undefined);
});

test('DiskQueueStore: recovered dedup ids are those of unacked persistent messages, with their shift sequences', async () => {
  const { dir, cleanup } = tempDir();
  const committer = new GroupCommitter({ fsync: 'always' });
  try {
    const store = DiskQueueStore.open(dir, committer, { windowMessages: 4 });
    const id = (n: number) => ({ key: `s:${n}`, expiresAtMs: n });
    for (let n = 0; n < 20; n++) {
      // Every third message has no id; message 7 is transient (dropped at restart).
      store.push(makeMessage(`m${n}`, n !== 7), 0, n % 3 === 2 ? undefined : id(n));
    }
    assert.equal(store.takeRecoveredDedupIds(), undefined);
    // Ack the first two messages.
    store.settle(store.shift()!);
    store.settle(store.shift()!);
    await committer.flush();
    store.close();

    const again = DiskQueueStore.open(dir, committer, { windowMessages: 4 });
    const recovered = again.takeRecoveredDedupIds()!;
    assert.equal(again.takeRecoveredDedupIds(), undefined, 'handed over once');
    const expected = [3, 4, 6, 9, 10, 12, 13, 15, 16, 18, 19];
    assert.deepEqual(
      recovered.map((r) => r.key),
      expected.map((n) => `s:${n}`),
    );
    // Each id names the sequence its message has when the (paging) store hands it out.
    const bySequence = new Map<number, string>();
    for (let queued = again.shift(); queued; queued = again.shift())
      bySequence.set(queued.sequence, queued.message.body!.toString());
    for (const r of recovered) {
      assert.equal(bySequence.get(r.sequence), `m${r.key.slice(2)}`);
      assert.equal(r.expiresAtMs, Number(r.key.slice(2)));
    }
    again.close();
  } finally {
    await committer.close();
    cleanup();
  }
});
