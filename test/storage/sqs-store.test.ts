import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { SqsMessage } from '../../src/core/sqs-message.js';
import { type CommitFs, GroupCommitter } from '../../src/storage/group-commit.js';
import { DiskSqsMessageStore, DiskSqsStorage, sqsQueueDirName } from '../../src/storage/sqs-store.js';
import { Storage } from '../../src/storage/storage.js';
import { tempDir } from './helpers.js';

let nextId = 0;

function makeSqsMessage(body: string, extra: Partial<SqsMessage> = {}): SqsMessage {
  return {
    messageId: `00000000-0000-4000-8000-${String(nextId++).padStart(12, '0')}`,
    body,
    bodyMd5: 'd41d8cd98f00b204e9800998ecf8427e',
    messageAttributes: undefined,
    messageAttributesMd5: undefined,
    systemAttributes: undefined,
    systemAttributesMd5: undefined,
    sizeBytes: Buffer.byteLength(body),
    senderId: 'AKIDEXAMPLE',
    sentAtMs: 1_764_331_200_123,
    messageGroupId: undefined,
    deduplicationId: undefined,
    sequenceNumber: undefined,
    deadLetterSourceArn: undefined,
    visibleFromMs: 1_764_331_200_123,
    receiveCount: 0,
    firstReceivedAtMs: 0,
    storageRef: undefined,
    ...extra,
  };
}

/** What a user can observe of a message: every field but the storage handle. */
function observable(m: SqsMessage): Omit<SqsMessage, 'storageRef'> {
  const { storageRef: _ignored, ...rest } = m;
  return rest;
}

function durable(gc: GroupCommitter): Promise<void> {
  return new Promise((resolve) => gc.afterDurable(resolve));
}

/** Opens `dir` with its own committer, as a restarted broker would, and returns what it recovers. */
function recoverFrom(dir: string): SqsMessage[] {
  const store = DiskSqsMessageStore.open(dir, new GroupCommitter({ fsync: 'never' }));
  const messages = store.recover();
  store.close();
  return messages;
}

function segmentFiles(dir: string): string[] {
  return fs
    .readdirSync(join(dir, 'messages'))
    .filter((n) => n.endsWith('.seg'))
    .sort();
}

test('every field survives the disk: unicode body, binary and list attributes, FIFO and dead-letter fields', async () => {
  const { dir, cleanup } = tempDir('pier-sqs-');
  const gc = new GroupCommitter({ fsync: 'always' });
  try {
    const store = DiskSqsMessageStore.open(dir, gc);
    const rich = makeSqsMessage('héllo wörld ✓ 𝄞 \u0000 end', {
      messageAttributes: {
        Text: { DataType: 'String', StringValue: 'ünïcödé' },
        Empty: { DataType: 'String.custom', StringValue: '' },
        Bytes: { DataType: 'Binary', BinaryValue: new Uint8Array([0, 1, 2, 254, 255]) },
        Num: { DataType: 'Number.float', StringValue: '3.14' },
        Lists: {
          DataType: 'String',
          StringListValues: ['a', 'ß', ''],
          BinaryListValues: [new Uint8Array([9]), new Uint8Array([])],
        },
      },
      messageAttributesMd5: '0123456789abcdef0123456789abcdef',
      systemAttributes: {
        AWSTraceHeader: { DataType: 'String', StringValue: 'Root=1-5759e988-bd862e3fe1be46a994272793' },
      },
      systemAttributesMd5: 'fedcba9876543210fedcba9876543210',
      sizeBytes: 4242,
      senderId: 'AIDAEXAMPLE:session',
      messageGroupId: 'group-Ω',
      deduplicationId: 'dedup-1',
      sequenceNumber: '18889975034284345600',
      deadLetterSourceArn: 'arn:aws:sqs:us-east-1:000000000000:source.fifo',
      visibleFromMs: 1_764_331_260_000,
      receiveCount: 3,
      firstReceivedAtMs: 1_764_331_230_500,
    });
    const plain = makeSqsMessage('');
    store.append(rich);
    store.append(plain);
    assert.ok(rich.storageRef !== undefined, 'append sets storageRef');
    await durable(gc);
    store.close();

    const got = recoverFrom(dir);
    assert.equal(got.length, 2);
    assert.deepEqual(observable(got[0]!), observable(rich));
    assert.deepEqual(observable(got[1]!), observable(plain));
    assert.ok(got[0]!.messageAttributes!.Bytes!.BinaryValue instanceof Uint8Array);
  } finally {
    await gc.close();
    cleanup();
  }
});

test('recovery after close keeps send order, drops removed messages, and applies the newest receive', async () => {
  const { dir, cleanup } = tempDir('pier-sqs-');
  const gc = new GroupCommitter({ fsync: 'always' });
  try {
    const store = DiskSqsMessageStore.open(dir, gc, { segmentSizeBytes: 1024 });
    const sent = Array.from({ length: 100 }, (_, i) => makeSqsMessage(`m${i}`));
    for (const m of sent) store.append(m);
    for (let i = 0; i < 100; i += 3) store.remove(sent[i]!);
    const received = sent[1]!;
    received.receiveCount = 1;
    received.firstReceivedAtMs = 1_764_331_300_000;
    store.recordReceive(received);
    await durable(gc);
    received.receiveCount = 2;
    store.recordReceive(received);
    // A receive of a message removed later leaves nothing behind.
    sent[2]!.receiveCount = 1;
    store.recordReceive(sent[2]!);
    store.remove(sent[2]!);
    await durable(gc);
    store.close();

    const store2 = DiskSqsMessageStore.open(dir, gc, { segmentSizeBytes: 1024 });
    const got = store2.recover();
    assert.deepEqual(store2.recover(), [], 'handed over once');
    const expected = sent.filter((_, i) => i % 3 !== 0 && i !== 2).map((m) => m.body);
    assert.deepEqual(
      got.map((m) => m.body),
      expected,
    );
    assert.equal(got[0]!.receiveCount, 2);
    assert.equal(got[0]!.firstReceivedAtMs, 1_764_331_300_000);
    assert.equal(got[1]!.receiveCount, 0);
    // Recovered messages carry a storageRef that works: remove them all, nothing comes back.
    for (const m of got) store2.remove(m);
    await durable(gc);
    store2.close();
    assert.deepEqual(recoverFrom(dir), []);
  } finally {
    await gc.close();
    cleanup();
  }
});

test('a crash (second open without close) recovers what was durable, including receives', async () => {
  const { dir, cleanup } = tempDir('pier-sqs-');
  const gc = new GroupCommitter({ fsync: 'always' });
  try {
    const store = DiskSqsMessageStore.open(dir, gc);
    const a = makeSqsMessage('a');
    const b = makeSqsMessage('b');
    store.append(a);
    store.append(b);
    a.receiveCount = 1;
    a.firstReceivedAtMs = 1_764_331_400_000;
    store.recordReceive(a);
    store.remove(b);
    await durable(gc);
    // Not closed: the first store still holds its files, as a killed broker would leave them.
    const got = recoverFrom(dir);
    assert.deepEqual(
      got.map((m) => [m.body, m.receiveCount, m.firstReceivedAtMs]),
      [['a', 1, 1_764_331_400_000]],
    );
    store.close();
  } finally {
    await gc.close();
    cleanup();
  }
});

test('receives recorded many times keep disk bounded, and a crash never loses an older durable count', async () => {
  const { dir, cleanup } = tempDir('pier-sqs-');
  const gc = new GroupCommitter({ fsync: 'always' });
  try {
    const store = DiskSqsMessageStore.open(dir, gc, { segmentSizeBytes: 512 });
    const m = makeSqsMessage('redelivered');
    store.append(m);
    for (let i = 1; i <= 500; i++) {
      m.receiveCount = i;
      m.firstReceivedAtMs = 1_764_331_500_000;
      store.recordReceive(m);
      await durable(gc);
      // Just written and durable: the crash copy sees the newest count.
      if (i % 100 === 0) assert.equal(recoverFrom(dir)[0]!.receiveCount, i);
    }
    await durable(gc);
    // 500 receive records of 33 bytes would fill ~33 segments of 512 bytes if never freed.
    assert.ok(store.segmentCount <= 3, `segments kept: ${store.segmentCount}`);
    store.close();
  } finally {
    await gc.close();
    cleanup();
  }
});

test('millions-scale churn: segments of removed messages are deleted', async () => {
  const { dir, cleanup } = tempDir('pier-sqs-');
  const gc = new GroupCommitter({ fsync: 'never' });
  try {
    const store = DiskSqsMessageStore.open(dir, gc, { segmentSizeBytes: 4096 });
    const body = 'x'.repeat(100);
    for (let i = 0; i < 20_000; i++) {
      const m = makeSqsMessage(body);
      store.append(m);
      m.receiveCount = 1;
      store.recordReceive(m);
      store.remove(m);
    }
    await gc.flush();
    const kept = segmentFiles(dir).length;
    assert.ok(kept <= 2, `segment files kept after 20,000 removed messages: ${kept}`);
    store.close();
    assert.deepEqual(recoverFrom(dir), []);
  } finally {
    await gc.close();
    cleanup();
  }
});

test('removeAfterDurable: the removal reaches disk only after the copy written in the same turn', async () => {
  const { dir, cleanup } = tempDir('pier-sqs-');
  // A copy of the data after every write syscall: each is a state a kill -9 could leave behind.
  const snapshots: string[] = [];
  const snapshotFs: CommitFs = {
    writeSync: (fd, buffer, offset, length, position) => {
      const written = fs.writeSync(fd, buffer, offset, length, position);
      const copy = join(dir, `snapshot-${snapshots.length}`);
      fs.cpSync(join(dir, 'live'), copy, { recursive: true });
      snapshots.push(copy);
      return written;
    },
    fdatasync: (fd, callback) => fs.fdatasync(fd, callback),
    fdatasyncSync: (fd) => fs.fdatasyncSync(fd),
  };
  const gc = new GroupCommitter({ fsync: 'always', fs: snapshotFs });
  const source = DiskSqsMessageStore.open(join(dir, 'live', 'source'), gc);
  const target = DiskSqsMessageStore.open(join(dir, 'live', 'target'), gc);
  try {
    const removed = makeSqsMessage('removed');
    const dead = makeSqsMessage('dead-lettered');
    source.append(removed);
    source.append(dead);
    await durable(gc);
    snapshots.length = 0;
    // One turn: a removal makes the source's ack file the first to write; then a message is
    // moved to a dead-letter queue (copy appended after the call, as the queue does).
    source.remove(removed);
    source.removeAfterDurable(dead);
    target.append({ ...dead, deadLetterSourceArn: 'arn:aws:sqs:us-east-1:000000000000:source' });
    await durable(gc);
    await durable(gc);
    assert.ok(snapshots.length >= 2, `writes seen: ${snapshots.length}`);
    for (const [i, copy] of snapshots.entries()) {
      const found = [...recoverFrom(join(copy, 'source')), ...recoverFrom(join(copy, 'target'))].filter(
        (m) => m.body === 'dead-lettered',
      );
      assert.ok(found.length >= 1, `after write ${i} the dead-lettered message is in neither queue`);
    }
    assert.deepEqual(recoverFrom(join(dir, 'live', 'source')), [], 'removed once the copy was durable');
    assert.equal(recoverFrom(join(dir, 'live', 'target'))[0]!.deadLetterSourceArn?.endsWith(':source'), true);

    // A clean shutdown applies waiting removals instead of dropping them.
    const closing = makeSqsMessage('closing');
    source.append(closing);
    source.removeAfterDurable(closing);
    source.close();
    target.close();
    await gc.close();
    assert.deepEqual(recoverFrom(join(dir, 'live', 'source')), []);
  } finally {
    source.close();
    target.close();
    await gc.close();
    cleanup();
  }
});

test('a torn final record is skipped without losing the records before it', async () => {
  const { dir, cleanup } = tempDir('pier-sqs-');
  const gc = new GroupCommitter({ fsync: 'always' });
  try {
    const store = DiskSqsMessageStore.open(dir, gc);
    for (const body of ['one', 'two', 'three']) store.append(makeSqsMessage(body));
    await durable(gc);
    store.close();
    const seg = join(dir, 'messages', segmentFiles(dir).at(-1)!);
    fs.truncateSync(seg, fs.statSync(seg).size - 7);
    const store2 = DiskSqsMessageStore.open(dir, gc);
    assert.deepEqual(
      store2.recover().map((m) => m.body),
      ['one', 'two'],
    );
    // Appends after the truncation are recovered too.
    store2.append(makeSqsMessage('four'));
    await durable(gc);
    store2.close();
    assert.deepEqual(
      recoverFrom(dir).map((m) => m.body),
      ['one', 'two', 'four'],
    );
  } finally {
    await gc.close();
    cleanup();
  }
});

test('SqsStorage: dedup ids per queue, destroy removes the queue dir, removeOrphans the unknown ones', async () => {
  const { dir, cleanup } = tempDir('pier-sqs-');
  const storage = Storage.open({ dataDir: dir, fsync: 'always', logger: () => {} });
  try {
    const sqs = storage.sqs;
    assert.equal(sqs.root, join(dir, 'sqs'));
    const kept = sqs.openMessageStore('q-kept');
    kept.append(makeSqsMessage('stays'));
    const keptDedup = sqs.openDedupStore('q-kept');
    keptDedup.add({ key: 'dedup-1', expiresAtMs: 1_764_331_500_000 });
    assert.throws(() => sqs.openMessageStore('q-kept'), /already open/);

    const gone = sqs.openMessageStore('q-gone');
    gone.append(makeSqsMessage('goes'));
    const goneDedup = sqs.openDedupStore('q-gone');
    goneDedup.add({ key: 'x', expiresAtMs: 0 });
    await durable(storage.committer);
    gone.destroy();
    goneDedup.destroy();
    assert.equal(fs.existsSync(join(dir, 'sqs', 'q-gone')), false, 'destroy removes the queue dir');

    // Data of queues deleted while the broker was down, and an odd id stored under its hash.
    fs.mkdirSync(join(dir, 'sqs', 'q-orphan', 'messages'), { recursive: true });
    const odd = sqs.openMessageStore('odd/id: ☃');
    odd.append(makeSqsMessage('odd'));
    assert.match(sqsQueueDirName('odd/id: ☃'), /^_[0-9a-f]{40}$/);
    odd.close();
    kept.close();
    keptDedup.close();
    sqs.removeOrphans(new Set(['q-kept', 'odd/id: ☃']));
    assert.deepEqual(
      fs.readdirSync(join(dir, 'sqs')).sort(),
      [sqsQueueDirName('odd/id: ☃'), 'q-kept'].sort(),
    );
    await storage.close();

    const storage2 = Storage.open({ dataDir: dir, fsync: 'always', logger: () => {} });
    try {
      const again = storage2.sqs.openMessageStore('q-kept');
      assert.deepEqual(
        again.recover().map((m) => m.body),
        ['stays'],
      );
      assert.deepEqual(storage2.sqs.openDedupStore('q-kept').recover(), [
        { key: 'dedup-1', expiresAtMs: 1_764_331_500_000 },
      ]);
      assert.deepEqual(
        storage2.sqs
          .openMessageStore('odd/id: ☃')
          .recover()
          .map((m) => m.body),
        ['odd'],
      );
    } finally {
      // Storage.close closes the SQS stores left open.
      await storage2.close();
    }
    const storage3 = Storage.open({ dataDir: dir, fsync: 'always', logger: () => {} });
    assert.doesNotThrow(() => storage3.sqs.openMessageStore('q-kept'), 'closed by Storage.close');
    await storage3.close();
  } finally {
    await storage.close();
    cleanup();
  }
});

test('DiskSqsStorage works with a bare committer', async () => {
  const { dir, cleanup } = tempDir('pier-sqs-');
  const gc = new GroupCommitter({ fsync: 'never' });
  try {
    const sqs = new DiskSqsStorage(dir, gc);
    const store = sqs.openMessageStore('q');
    store.append(makeSqsMessage('m'));
    sqs.close();
    assert.doesNotThrow(() => sqs.openMessageStore('q').close());
  } finally {
    await gc.close();
    cleanup();
  }
});
