import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { SqsMessage } from '../../../src/core/sqs/message.js';
import { type CommitFs, GroupCommitter } from '../../../src/storage/group-commit.js';
import {
  DiskSqsStorage,
  type SqsStoreOptions,
  sqsQueueDirName,
} from '../../../src/storage/sqs/disk-sqs-store.js';
import { Storage } from '../../../src/storage/storage.js';
import { snapshottingFs, tempDir } from '../helpers.js';

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

/**
 * Opens the SQS storage of data dir `dir` with its own committer, as a restarted broker would, and
 * returns what queue `queueId` recovers.
 */
function recoverFrom(dir: string, queueId = 'q'): SqsMessage[] {
  const sqs = new DiskSqsStorage(dir, new GroupCommitter({ fsync: 'never' }));
  const messages = sqs.openMessageStore(queueId).recover();
  sqs.close();
  return messages;
}

/** Queue `queueId`'s store in a fresh DiskSqsStorage of `dir` (a broker start). */
function openQueue(dir: string, gc: GroupCommitter, queueId = 'q', options: SqsStoreOptions = {}) {
  const sqs = new DiskSqsStorage(dir, gc, options);
  return { sqs, store: sqs.openMessageStore(queueId) };
}

function segmentFiles(dir: string): string[] {
  return fs
    .readdirSync(join(dir, 'sqs', 'log'))
    .filter((n) => n.endsWith('.seg'))
    .sort();
}

test('every field survives the disk: unicode body, binary and list attributes, FIFO and dead-letter fields', async () => {
  const { dir, cleanup } = tempDir('pier-sqs-');
  const gc = new GroupCommitter({ fsync: 'always' });
  try {
    const { sqs, store } = openQueue(dir, gc);
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
    sqs.close();

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
    const { sqs, store } = openQueue(dir, gc, 'q', { segmentSizeBytes: 1024 });
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
    sqs.close();

    const { sqs: sqs2, store: store2 } = openQueue(dir, gc, 'q', { segmentSizeBytes: 1024 });
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
    sqs2.close();
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
    const { sqs, store } = openQueue(dir, gc);
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
    sqs.close();
  } finally {
    await gc.close();
    cleanup();
  }
});

test('receives recorded many times keep disk bounded, and a crash never loses an older durable count', async () => {
  const { dir, cleanup } = tempDir('pier-sqs-');
  const gc = new GroupCommitter({ fsync: 'always' });
  try {
    const { sqs, store } = openQueue(dir, gc, 'q', { segmentSizeBytes: 512 });
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
    sqs.close();
  } finally {
    await gc.close();
    cleanup();
  }
});

test('millions-scale churn: segments of removed messages are deleted', async () => {
  const { dir, cleanup } = tempDir('pier-sqs-');
  const gc = new GroupCommitter({ fsync: 'never' });
  try {
    const { sqs, store } = openQueue(dir, gc, 'q', { segmentSizeBytes: 4096 });
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
    sqs.close();
    assert.deepEqual(recoverFrom(dir), []);
  } finally {
    await gc.close();
    cleanup();
  }
});

test('removeAfterDurable: the removal reaches disk only after the copy written in the same turn', async () => {
  const { dir, cleanup } = tempDir('pier-sqs-');
  // A copy of the data after every write syscall: each is a state a kill -9 could leave behind.
  const recorder = snapshottingFs(dir, join(dir, 'live'));
  const snapshots = recorder.snapshots;
  const gc = new GroupCommitter({ fsync: 'always', fs: recorder.fs });
  const live = new DiskSqsStorage(join(dir, 'live'), gc);
  const source = live.openMessageStore('source');
  const target = live.openMessageStore('target');
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
      const found = [...recoverFrom(copy, 'source'), ...recoverFrom(copy, 'target')].filter(
        (m) => m.body === 'dead-lettered',
      );
      assert.ok(found.length >= 1, `after write ${i} the dead-lettered message is in neither queue`);
    }
    assert.deepEqual(recoverFrom(join(dir, 'live'), 'source'), [], 'removed once the copy was durable');
    assert.equal(recoverFrom(join(dir, 'live'), 'target')[0]!.deadLetterSourceArn?.endsWith(':source'), true);

    // A clean shutdown applies waiting removals instead of dropping them.
    const closing = makeSqsMessage('closing');
    source.append(closing);
    source.removeAfterDurable(closing);
    live.close();
    await gc.close();
    assert.deepEqual(recoverFrom(join(dir, 'live'), 'source'), []);
  } finally {
    live.close();
    await gc.close();
    cleanup();
  }
});

test('a torn final record is skipped without losing the records before it', async () => {
  const { dir, cleanup } = tempDir('pier-sqs-');
  const gc = new GroupCommitter({ fsync: 'always' });
  try {
    const { sqs, store } = openQueue(dir, gc);
    for (const body of ['one', 'two', 'three']) store.append(makeSqsMessage(body));
    await durable(gc);
    sqs.close();
    const seg = join(dir, 'sqs', 'log', segmentFiles(dir).at(-1)!);
    fs.truncateSync(seg, fs.statSync(seg).size - 7);
    const { sqs: sqs2, store: store2 } = openQueue(dir, gc);
    assert.deepEqual(
      store2.recover().map((m) => m.body),
      ['one', 'two'],
    );
    // Appends after the truncation are recovered too.
    store2.append(makeSqsMessage('four'));
    await durable(gc);
    sqs2.close();
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
    const oddDedup = sqs.openDedupStore('odd/id: ☃');
    assert.match(sqsQueueDirName('odd/id: ☃'), /^_[0-9a-f]{40}$/);
    assert.match(sqsQueueDirName('log'), /^_[0-9a-f]{40}$/, 'never the shared log dir');
    odd.close();
    oddDedup.close();
    kept.close();
    keptDedup.close();
    sqs.removeOrphans(new Set(['q-kept', 'odd/id: ☃']));
    assert.deepEqual(
      fs.readdirSync(join(dir, 'sqs')).sort(),
      [sqsQueueDirName('odd/id: ☃'), 'log', 'q-kept'].sort(),
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

test('two queues interleaved in the shared log each recover their own messages in order', async () => {
  const { dir, cleanup } = tempDir('pier-sqs-');
  const gc = new GroupCommitter({ fsync: 'always' });
  try {
    const sqs = new DiskSqsStorage(dir, gc, { segmentSizeBytes: 1024 });
    const a = sqs.openMessageStore('a');
    const b = sqs.openMessageStore('b');
    const sentA = Array.from({ length: 60 }, (_, i) => makeSqsMessage(`a${i}`));
    const sentB = Array.from({ length: 60 }, (_, i) => makeSqsMessage(`b${i}`));
    for (let i = 0; i < 60; i++) {
      a.append(sentA[i]!);
      b.append(sentB[i]!);
    }
    for (let i = 0; i < 60; i += 4) a.remove(sentA[i]!);
    sentB[5]!.receiveCount = 3;
    b.recordReceive(sentB[5]!);
    await durable(gc);
    // Closed and opened again in this process: the same messages, as new objects.
    a.close();
    const reopened = sqs.openMessageStore('a').recover();
    assert.deepEqual(
      reopened.map((m) => m.body),
      sentA.filter((_, i) => i % 4 !== 0).map((m) => m.body),
    );
    assert.notEqual(reopened[0], sentA[1]);
    sqs.close();
    assert.ok(segmentFiles(dir).length > 1, 'the queues share several segments');
    assert.deepEqual(
      recoverFrom(dir, 'a').map((m) => m.body),
      sentA.filter((_, i) => i % 4 !== 0).map((m) => m.body),
    );
    const gotB = recoverFrom(dir, 'b');
    assert.deepEqual(
      gotB.map((m) => m.body),
      sentB.map((m) => m.body),
    );
    assert.equal(gotB[5]!.receiveCount, 3);
    assert.deepEqual(recoverFrom(dir, 'never-written'), []);
  } finally {
    await gc.close();
    cleanup();
  }
});

test("deleting a queue acks its records only: the other queue's messages stay, across restarts", async () => {
  const { dir, cleanup } = tempDir('pier-sqs-');
  const gc = new GroupCommitter({ fsync: 'always' });
  try {
    const sqs = new DiskSqsStorage(dir, gc, { segmentSizeBytes: 1024 });
    const doomed = sqs.openMessageStore('doomed');
    const kept = sqs.openMessageStore('kept');
    for (let i = 0; i < 40; i++) {
      const d = makeSqsMessage(`d${i}`);
      doomed.append(d);
      d.receiveCount = 1;
      doomed.recordReceive(d);
      kept.append(makeSqsMessage(`k${i}`));
    }
    await durable(gc);
    doomed.destroy();
    kept.append(makeSqsMessage('after'));
    await durable(gc);
    // A new queue of this process with the deleted id starts empty.
    assert.deepEqual(sqs.openMessageStore('doomed').recover(), []);
    sqs.close();
    assert.deepEqual(recoverFrom(dir, 'doomed'), [], 'a restart does not bring them back');
    const expected = [...Array.from({ length: 40 }, (_, i) => `k${i}`), 'after'];
    assert.deepEqual(
      recoverFrom(dir, 'kept').map((m) => m.body),
      expected,
    );
    // The deleted queue's records no longer hold segments: only the kept queue's remain.
    const { sqs: sqs2, store } = openQueue(dir, gc, 'kept', { segmentSizeBytes: 1024 });
    for (const m of store.recover()) store.remove(m);
    await durable(gc);
    assert.ok(segmentFiles(dir).length <= 1, `segments left: ${segmentFiles(dir).length}`);
    sqs2.close();
  } finally {
    await gc.close();
    cleanup();
  }
});

test('a queue deleted just before a crash (acks lost) does not come back: removeOrphans acks its records', async () => {
  const { dir, cleanup } = tempDir('pier-sqs-');
  const gc = new GroupCommitter({ fsync: 'always' });
  try {
    const sqs = new DiskSqsStorage(join(dir, 'live'), gc);
    const deleted = sqs.openMessageStore('deleted');
    const kept = sqs.openMessageStore('kept');
    deleted.append(makeSqsMessage('gone'));
    kept.append(makeSqsMessage('stays'));
    await durable(gc);
    // The crash image: the queue's definition is gone, its acks never reached the disk.
    fs.cpSync(join(dir, 'live'), join(dir, 'crashed'), { recursive: true });
    sqs.close();

    const restarted = new DiskSqsStorage(join(dir, 'crashed'), gc);
    const keptAgain = restarted.openMessageStore('kept');
    restarted.removeOrphans(new Set(['kept']));
    assert.deepEqual(
      keptAgain.recover().map((m) => m.body),
      ['stays'],
    );
    await durable(gc);
    restarted.close();
    assert.deepEqual(recoverFrom(join(dir, 'crashed'), 'deleted'), []);
    assert.deepEqual(
      recoverFrom(join(dir, 'crashed'), 'kept').map((m) => m.body),
      ['stays'],
    );
  } finally {
    await gc.close();
    cleanup();
  }
});

test("fsync 'always': sends to many queues in one turn cost one fdatasync of the shared log", async () => {
  const { dir, cleanup } = tempDir('pier-sqs-');
  let syncs = 0;
  const countingFs: CommitFs = {
    writeSync: (fd, buffer, offset, length, position) => fs.writeSync(fd, buffer, offset, length, position),
    fdatasync: (fd, callback) => {
      syncs++;
      fs.fdatasync(fd, callback);
    },
    fdatasyncSync: (fd) => fs.fdatasyncSync(fd),
  };
  const gc = new GroupCommitter({ fsync: 'always', fs: countingFs });
  try {
    const sqs = new DiskSqsStorage(dir, gc);
    const queues = Array.from({ length: 16 }, (_, i) => sqs.openMessageStore(`q${i}`));
    const first = queues.map((q) => {
      const m = makeSqsMessage('warm-up');
      q.append(m);
      return m;
    });
    await durable(gc);
    syncs = 0;
    // One turn as a busy broker has it: sends, receives and deletes in every queue.
    for (const [i, q] of queues.entries()) {
      q.append(makeSqsMessage(`m${i}`));
      first[i]!.receiveCount = 1;
      q.recordReceive(first[i]!);
      q.remove(first[i]!);
    }
    await durable(gc);
    assert.equal(syncs, 1, 'one fdatasync for 16 queues (acks are not synced per round)');
    sqs.close();
    for (let i = 0; i < 16; i++) {
      assert.deepEqual(
        recoverFrom(dir, `q${i}`).map((m) => m.body),
        [`m${i}`],
      );
    }
  } finally {
    await gc.close();
    cleanup();
  }
});

/** Lets the relocation a sealed segment scheduled run, then waits until its acks are written. */
async function afterRelocation(gc: GroupCommitter): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  await durable(gc);
  await durable(gc);
}

/** Segment id of a stored message's record. */
function segmentOf(store: ReturnType<DiskSqsStorage['openMessageStore']>, m: SqsMessage): number {
  const location = store.locationOf(m);
  assert.ok(location, 'the message is stored');
  return location.segmentId;
}

/** Churn: `count` messages of queue `busy` appended and removed, a turn every 50. */
async function churn(busy: ReturnType<DiskSqsStorage['openMessageStore']>, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const m = makeSqsMessage(`busy ${i} ${'y'.repeat(60)}`);
    busy.append(m);
    busy.remove(m);
    if (i % 50 === 49) await new Promise((resolve) => setImmediate(resolve));
  }
}

for (const relocate of [true, false]) {
  test(`a long-lived message among deleted ones ${relocate ? 'is relocated: its segments go' : 'keeps its segments when relocation is off'}`, async () => {
    const { dir, cleanup } = tempDir('pier-sqs-');
    const gc = new GroupCommitter({ fsync: 'always' });
    try {
      const sqs = new DiskSqsStorage(dir, gc, {
        segmentSizeBytes: 16 * 1024,
        relocateMaxLiveFraction: relocate ? undefined : 0,
      });
      const dlq = sqs.openMessageStore('dlq');
      const busy = sqs.openMessageStore('busy');
      // Every 400 churned messages (~4 segments of ~100 records) one message stays for good, as in a dead-letter queue.
      const kept: SqsMessage[] = [];
      for (let round = 0; round < 20; round++) {
        const m = makeSqsMessage(`kept ${round}`, { deadLetterSourceArn: 'arn:aws:sqs:us-east-1:0:busy' });
        dlq.append(m);
        if (round > 0) {
          m.receiveCount = round;
          m.firstReceivedAtMs = 1_764_331_500_000 + round;
          dlq.recordReceive(m);
        }
        kept.push(m);
        await churn(busy, 400);
        await afterRelocation(gc);
      }
      const files = segmentFiles(dir).length;
      // Disk is bounded by the live data, not by its age: the 39 live records (20 messages, 19
      // receives) can keep at most 9 segments of ~78 records (one with 4 live is above 5 %), with
      // the active and the newest sealed one.
      if (relocate) assert.ok(files <= 11, `segment files with relocation: ${files}`);
      else assert.ok(files >= 20, `without relocation each kept message keeps a segment: ${files}`);
      sqs.close();
      // A standard queue: relocated messages come back in log order (best-effort, as on SQS).
      const byId = (a: SqsMessage, b: SqsMessage) => a.messageId.localeCompare(b.messageId);
      const recovered = recoverFrom(dir, 'dlq').sort(byId);
      assert.deepEqual(recovered.map(observable), kept.sort(byId).map(observable));
      assert.deepEqual(recoverFrom(dir, 'busy'), []);
    } finally {
      await gc.close();
      cleanup();
    }
  });
}

test('a relocated FIFO message keeps its place: recovery orders a FIFO queue by sequence number', async () => {
  const { dir, cleanup } = tempDir('pier-sqs-');
  const gc = new GroupCommitter({ fsync: 'always' });
  try {
    const sqs = new DiskSqsStorage(dir, gc, { segmentSizeBytes: 2048, relocateMaxLiveFraction: 0.2 });
    const fifo = sqs.openMessageStore('f.fifo');
    const busy = sqs.openMessageStore('busy');
    const fifoMessage = (n: number) =>
      makeSqsMessage(`fifo ${n}`, { messageGroupId: 'g', sequenceNumber: String(n).padStart(20, '0') });
    const first = fifoMessage(1);
    fifo.append(first);
    // Fill the rest of first's segment with messages removed later, then a dense segment with
    // the second FIFO message among messages that stay.
    const doomed: SqsMessage[] = [];
    const staying: SqsMessage[] = [];
    for (let m = makeSqsMessage('doomed'); ; m = makeSqsMessage('doomed')) {
      busy.append(m);
      if (segmentOf(busy, m) !== segmentOf(fifo, first)) {
        staying.push(m);
        break;
      }
      doomed.push(m);
    }
    const second = fifoMessage(2);
    fifo.append(second);
    while (segmentOf(busy, staying.at(-1)!) === segmentOf(fifo, second)) {
      const m = makeSqsMessage('staying');
      busy.append(m);
      staying.push(m);
    }
    const firstSegment = segmentOf(fifo, first);
    for (const m of doomed) busy.remove(m);
    await churn(busy, 100);
    await afterRelocation(gc);
    assert.ok(
      segmentOf(fifo, first) > segmentOf(fifo, second),
      'the first FIFO message was rewritten after the second',
    );
    assert.ok(!segmentFiles(dir).includes(`${String(firstSegment).padStart(20, '0')}.seg`));
    sqs.close();
    assert.deepEqual(
      recoverFrom(dir, 'f.fifo').map((m) => m.body),
      ['fifo 1', 'fifo 2'],
    );
    assert.equal(recoverFrom(dir, 'busy').length, staying.length);
  } finally {
    await gc.close();
    cleanup();
  }
});

test('relocation under kill -9: every state on disk recovers each message once, with its newest receive', async () => {
  const { dir, cleanup } = tempDir('pier-sqs-');
  // A copy of the data after every write syscall while recording: each is a state a kill -9 could leave behind.
  const recorder = snapshottingFs(dir, join(dir, 'live'));
  recorder.recording = false;
  const snapshots = recorder.snapshots;
  const gc = new GroupCommitter({ fsync: 'always', fs: recorder.fs });
  const live = new DiskSqsStorage(join(dir, 'live'), gc, {
    segmentSizeBytes: 1024,
    relocateMaxLiveFraction: 0.5,
  });
  try {
    const dlq = live.openMessageStore('dlq');
    const busy = live.openMessageStore('busy');
    const kept = [makeSqsMessage('kept a'), makeSqsMessage('kept b')];
    for (const m of kept) dlq.append(m);
    kept[1]!.receiveCount = 2;
    kept[1]!.firstReceivedAtMs = 1_764_331_500_000;
    dlq.recordReceive(kept[1]!);
    await durable(gc);
    const before = kept.map((m) => segmentOf(dlq, m));
    recorder.recording = true;
    await churn(busy, 60);
    await afterRelocation(gc);
    recorder.recording = false;
    assert.notDeepEqual(
      kept.map((m) => segmentOf(dlq, m)),
      before,
    );
    assert.ok(snapshots.length >= 2, `writes seen: ${snapshots.length}`);
    for (const [i, copy] of snapshots.entries()) {
      assert.deepEqual(
        recoverFrom(copy, 'dlq').map(observable),
        kept.map(observable),
        `after write ${i} of the relocation`,
      );
    }
    live.close();
    assert.deepEqual(recoverFrom(join(dir, 'live'), 'dlq').map(observable), kept.map(observable));
  } finally {
    live.close();
    await gc.close();
    cleanup();
  }
});
