// Durable committed offsets (DiskGroupOffsetStore): reopen, durability before the callback, a torn
// tail, compaction, and groups coming back as Empty in a coordinator after a restart.
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { GroupCoordinator } from '../../../src/core/kafka/group-coordinator.js';
import type { OffsetCommitEntry } from '../../../src/core/kafka/group-offsets.js';
import { ManualClock } from '../../../src/core/manual-clock.js';
import { type CommitFs, GroupCommitter } from '../../../src/storage/group-commit.js';
import { DiskGroupOffsetStore } from '../../../src/storage/kafka/disk-group-offset-store.js';
import { tempDir } from '../helpers.js';

function entry(topic: string, partition: number, offset: number, metadata = ''): OffsetCommitEntry {
  return {
    topic,
    partition,
    offset,
    leaderEpoch: 5,
    metadata,
    commitTimestampMs: 1_700_000_000_000 + offset,
  };
}

const durable = (store: DiskGroupOffsetStore, groupId: string, entries: OffsetCommitEntry[]) =>
  new Promise<void>((resolve) => store.commit(groupId, entries, resolve));

test('DiskGroupOffsetStore: commits, group and topic deletions come back after a reopen', async () => {
  const { dir, cleanup } = tempDir();
  const committer = new GroupCommitter({ fsync: 'always' });
  try {
    const store = DiskGroupOffsetStore.open(dir, committer);
    await durable(store, 'g1', [entry('orders', 0, 10, 'ünïcødé ✓'), entry('orders', 1, 2 ** 40)]);
    await durable(store, 'g1', [entry('orders', 0, 11), entry('audit', 0, 3)]);
    await durable(store, 'g2', [entry('orders', 0, 99)]);
    await durable(store, 'g3', [entry('audit', 0, 1)]);
    await new Promise<void>((resolve) => store.deleteGroup('g2', resolve));
    await new Promise<void>((resolve) => store.deleteTopic('audit', resolve));
    store.close();

    const again = DiskGroupOffsetStore.open(dir, committer);
    assert.deepEqual([...again.groupIds()], ['g1']);
    assert.deepEqual(again.get('g1', 'orders', 0), {
      offset: 11,
      leaderEpoch: 5,
      metadata: '',
      commitTimestampMs: 1_700_000_000_011,
    });
    assert.equal(again.get('g1', 'orders', 1)!.offset, 2 ** 40);
    assert.equal(again.get('g1', 'audit', 0), undefined);
    assert.equal(again.size, 2);
    await durable(again, 'g1', [entry('orders', 0, 12, 'm')]);
    again.close();
    const third = DiskGroupOffsetStore.open(dir, committer);
    assert.deepEqual(third.get('g1', 'orders', 0)!.metadata, 'm');
    third.close();
  } finally {
    await committer.close();
    cleanup();
  }
});

test('DiskGroupOffsetStore: the commit callback waits for fdatasync', async () => {
  const { dir, cleanup } = tempDir();
  const held: Array<() => void> = [];
  const fs = await import('node:fs');
  const slowFs: CommitFs = {
    writeSync: (fd, buffer, offset, length, position) => fs.writeSync(fd, buffer, offset, length, position),
    fdatasync: (fd, callback) => held.push(() => fs.fdatasync(fd, callback)),
    fdatasyncSync: (fd) => fs.fdatasyncSync(fd),
  };
  const committer = new GroupCommitter({ fsync: 'always', fs: slowFs });
  try {
    const store = DiskGroupOffsetStore.open(dir, committer);
    let done = false;
    store.commit('g', [entry('t', 0, 1)], () => {
      done = true;
    });
    while (held.length === 0) await new Promise((r) => setImmediate(r));
    assert.equal(done, false, 'written but not yet synced');
    assert.ok(statSync(join(dir, 'offsets.log')).size > 0);
    held.shift()!();
    while (!done) await new Promise((r) => setImmediate(r));
    store.close();
    while (held.length > 0) held.shift()!();
  } finally {
    await committer.close().catch(() => {});
    cleanup();
  }
});

test('DiskGroupOffsetStore: a torn tail is truncated and the commits before it survive', async () => {
  const { dir, cleanup } = tempDir();
  const committer = new GroupCommitter({ fsync: 'always' });
  const lines: string[] = [];
  try {
    const store = DiskGroupOffsetStore.open(dir, committer);
    await durable(store, 'g', [entry('t', 0, 1)]);
    await durable(store, 'g', [entry('t', 0, 2), entry('t', 1, 7)]);
    store.close();
    await committer.flush();
    const logPath = join(dir, 'offsets.log');
    const whole = readFileSync(logPath);
    // A crash mid-write: the last record is cut short, followed by nothing.
    writeFileSync(logPath, whole.subarray(0, whole.length - 5));

    const again = DiskGroupOffsetStore.open(dir, committer, { logger: (l) => lines.push(l) });
    assert.equal(again.get('g', 't', 0)!.offset, 1, 'the torn commit is gone as a whole');
    assert.equal(again.get('g', 't', 1), undefined);
    assert.match(lines.join('\n'), /torn record/);
    await durable(again, 'g', [entry('t', 0, 3)]);
    again.close();

    // Garbage after valid records (a corrupt tail) is cut as well.
    appendFileSync(logPath, Buffer.from('0123456789abcdef'));
    const third = DiskGroupOffsetStore.open(dir, committer);
    assert.equal(third.get('g', 't', 0)!.offset, 3);
    third.close();
  } finally {
    await committer.close();
    cleanup();
  }
});

test('DiskGroupOffsetStore: the log is compacted when it outgrows the live offsets', async () => {
  const { dir, cleanup } = tempDir();
  const committer = new GroupCommitter({ fsync: 'always' });
  try {
    const store = DiskGroupOffsetStore.open(dir, committer, { compactMinEntries: 20 });
    const logPath = join(dir, 'offsets.log');
    const waits: Promise<void>[] = [];
    for (let i = 0; i < 200; i++) waits.push(durable(store, 'g', [entry('t', i % 3, i)]));
    await Promise.all(waits);
    assert.ok(store.logEntries <= 20 + 3, `compacted (log holds ${store.logEntries} entries)`);
    await committer.flush();
    const sizeBytes = statSync(logPath).size;
    assert.ok(sizeBytes < 1000, `log is small after compaction: ${sizeBytes} bytes`);
    store.close();

    // A compaction interrupted before its rename leaves a tmp file: ignored and removed.
    writeFileSync(join(dir, 'offsets.log.tmp'), 'half-written');
    const again = DiskGroupOffsetStore.open(dir, committer);
    assert.equal(existsSync(join(dir, 'offsets.log.tmp')), false);
    assert.deepEqual(
      [0, 1, 2].map((p) => again.get('g', 't', p)!.offset),
      [198, 199, 197],
    );
    again.close();
  } finally {
    await committer.close();
    cleanup();
  }
});

test('groups with committed offsets exist as Empty after a restart; their offsets answer OffsetFetch', async () => {
  const { dir, cleanup } = tempDir();
  const committer = new GroupCommitter({ fsync: 'always' });
  try {
    const clock = new ManualClock();
    const store = DiskGroupOffsetStore.open(dir, committer);
    const groups = new GroupCoordinator({ clock, offsets: store, config: { initialRebalanceDelayMs: 0 } });
    const errors = await groups.commitOffsets({
      groupId: 'resume-me',
      generationId: -1,
      memberId: '',
      groupInstanceId: null,
      entries: [{ ...entry('t', 0, 41), commitTimestampMs: -1 }],
    });
    assert.deepEqual(errors, ['NONE']);
    groups.close();
    store.close();

    const store2 = DiskGroupOffsetStore.open(dir, committer);
    const groups2 = new GroupCoordinator({ clock, offsets: store2 });
    assert.deepEqual(groups2.list(), [{ groupId: 'resume-me', protocolType: '', state: 'Empty' }]);
    assert.equal(groups2.describe('resume-me').state, 'Empty');
    assert.equal(
      groups2.fetchOffsets('resume-me', [{ topic: 't', partitions: [0] }])[0]!.partitions[0]!.offset,
      41,
    );
    assert.deepEqual(await groups2.deleteGroups(['resume-me']), [{ groupId: 'resume-me', error: 'NONE' }]);
    groups2.close();
    store2.close();
    const store3 = DiskGroupOffsetStore.open(dir, committer);
    assert.deepEqual([...store3.groupIds()], [], 'the deletion is durable');
    store3.close();
  } finally {
    await committer.close();
    cleanup();
  }
});
