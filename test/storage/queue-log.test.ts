import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { GroupCommitter } from '../../src/storage/group-commit.js';
import { QueueLog } from '../../src/storage/queue-log.js';
import { tempDir } from './helpers.js';

function payload(i: number): Buffer {
  return Buffer.from(`message-${i}-${'p'.repeat(i % 50)}`);
}

function readAll(log: QueueLog): string[] {
  const out: string[] = [];
  for (;;) {
    const recs = log.readNext(7, 1 << 20);
    if (recs.length === 0) return out;
    for (const r of recs) out.push(r.payload.toString());
  }
}

test('append, read back before the committer has written, ack, and delete finished segments', async () => {
  const { dir, cleanup } = tempDir();
  const gc = new GroupCommitter({ fsync: 'always' });
  try {
    const log = QueueLog.open(dir, gc, { segmentSizeBytes: 1024 });
    const locs = [];
    for (let i = 0; i < 100; i++) locs.push(log.append(1, payload(i)));
    // Nothing written by the committer yet: readNext must still see every record.
    const read = readAll(log);
    assert.equal(read.length, 100);
    assert.equal(read[42], payload(42).toString());
    const segments = log.segmentCount;
    assert.ok(segments > 3, `rolled over (${segments} segments)`);
    assert.equal(fs.readdirSync(dir).filter((n) => n.endsWith('.seg')).length, segments);
    // Ack all but the last 5: every sealed segment whose records are all acked is deleted.
    for (let i = 0; i < 95; i++) log.ack(locs[i]!);
    assert.ok(log.segmentCount < segments);
    assert.equal(log.unackedCount, 5);
    assert.equal(log.ack(locs[0]!), false, 'double ack is a no-op');
    await gc.flush();
    log.close();
    // Recovery: only the 5 unacked records come back, in order.
    const log2 = QueueLog.open(dir, gc, { segmentSizeBytes: 1024 });
    assert.equal(log2.unackedCount, 5);
    assert.deepEqual(
      readAll(log2),
      [95, 96, 97, 98, 99].map((i) => payload(i).toString()),
    );
    log2.close();
  } finally {
    await gc.close();
    cleanup();
  }
});

test('recovery truncates a torn tail, logs it, and new appends go to a new segment', async () => {
  const { dir, cleanup } = tempDir();
  const gc = new GroupCommitter({ fsync: 'never' });
  try {
    const log = QueueLog.open(dir, gc);
    for (let i = 0; i < 10; i++) log.append(1, payload(i));
    await gc.flush();
    log.close();
    const seg = join(dir, fs.readdirSync(dir).find((n) => n.endsWith('.seg'))!);
    const size = fs.statSync(seg).size;
    fs.truncateSync(seg, size - 3);
    const lines: string[] = [];
    const log2 = QueueLog.open(dir, gc, { logger: (l) => lines.push(l) });
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /torn record.*truncated/);
    assert.equal(log2.unackedCount, 9);
    log2.append(1, Buffer.from('after'));
    const read = readAll(log2);
    assert.equal(read.length, 10);
    assert.equal(read[9], 'after');
    assert.equal(log2.segmentCount, 2);
    await gc.flush();
    log2.close();
  } finally {
    await gc.close();
    cleanup();
  }
});

test('ack files: a torn final entry and garbage entries are ignored', async () => {
  const { dir, cleanup } = tempDir();
  const gc = new GroupCommitter({ fsync: 'never' });
  try {
    const log = QueueLog.open(dir, gc);
    const locs = [];
    for (let i = 0; i < 10; i++) locs.push(log.append(1, payload(i)));
    log.ack(locs[0]!);
    log.ack(locs[1]!);
    await gc.flush();
    log.close();
    const ack = join(dir, fs.readdirSync(dir).find((n) => n.endsWith('.ack'))!);
    // A torn third entry and, before it, an all-zero entry (as a crash can leave).
    fs.appendFileSync(ack, Buffer.alloc(8, 0));
    fs.appendFileSync(ack, Buffer.from([1, 2, 3]));
    const lines: string[] = [];
    const log2 = QueueLog.open(dir, gc, { logger: (l) => lines.push(l) });
    assert.equal(log2.unackedCount, 8);
    assert.equal(readAll(log2)[0], payload(2).toString());
    assert.equal(lines.length, 1);
    log2.close();
  } finally {
    await gc.close();
    cleanup();
  }
});

test('records larger than the read chunk and than the segment size', async () => {
  const { dir, cleanup } = tempDir();
  const gc = new GroupCommitter({ fsync: 'never' });
  try {
    const log = QueueLog.open(dir, gc, { segmentSizeBytes: 4096, readChunkBytes: 1024 });
    const big = Buffer.alloc(10_000, 7);
    log.append(1, Buffer.from('a'));
    log.append(1, big);
    log.append(1, Buffer.from('b'));
    const recs = log.readNext(10, 1 << 30);
    assert.deepEqual(
      recs.map((r) => r.payload.length),
      [1, 10_000, 1],
    );
    assert.equal(recs[0]!.payload.toString(), 'a', 'earlier payloads stay valid within one call');
    assert.ok(recs[1]!.payload.equals(big));
    await gc.flush();
    log.close();
    const log2 = QueueLog.open(dir, gc, { readChunkBytes: 1024 });
    assert.equal(log2.unackedCount, 3);
    log2.close();
  } finally {
    await gc.close();
    cleanup();
  }
});

test('ackFromCursor acks everything ahead of the cursor and deletes whole segments', async () => {
  const { dir, cleanup } = tempDir();
  const gc = new GroupCommitter({ fsync: 'never' });
  try {
    const log = QueueLog.open(dir, gc, { segmentSizeBytes: 512 });
    for (let i = 0; i < 200; i++) log.append(1, payload(i));
    const first = log.readNext(3, 1 << 20);
    assert.equal(first.length, 3);
    assert.equal(log.ackFromCursor(), 197);
    assert.equal(log.unackedCount, 3);
    for (const r of first) log.ack(r);
    assert.equal(log.segmentCount, 1, 'only the active segment is left');
    await gc.flush();
    log.close();
  } finally {
    await gc.close();
    cleanup();
  }
});

test('a flipped byte in an older segment loses only that segment’s tail; recovery never throws', async () => {
  const { dir, cleanup } = tempDir();
  const gc = new GroupCommitter({ fsync: 'never' });
  try {
    const log = QueueLog.open(dir, gc, { segmentSizeBytes: 1024 });
    for (let i = 0; i < 100; i++) log.append(1, payload(i));
    await gc.flush();
    log.close();
    const segs = fs
      .readdirSync(dir)
      .filter((n) => n.endsWith('.seg'))
      .sort();
    assert.ok(segs.length >= 3);
    const firstPath = join(dir, segs[0]!);
    const first = fs.readFileSync(firstPath);
    first[600] = first[600]! ^ 0x01;
    fs.writeFileSync(firstPath, first);
    const lines: string[] = [];
    const log2 = QueueLog.open(dir, gc, { segmentSizeBytes: 1024, logger: (l) => lines.push(l) });
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /corrupt record/);
    const read = readAll(log2);
    assert.ok(read.length < 100 && read.length > 50);
    assert.equal(read[0], payload(0).toString());
    assert.equal(read[read.length - 1], payload(99).toString(), 'later segments are kept');
    log2.close();
  } finally {
    await gc.close();
    cleanup();
  }
});

test('acks of records beyond the first read chunk of a large segment are honoured at recovery', async () => {
  // Regression: the recovery scan reported record positions relative to its 1 MiB read chunk, so
  // in segments over 1 MiB acks matched the wrong records: acked ones came back and unacked,
  // confirmed ones were dropped.
  const { dir, cleanup } = tempDir();
  const gc = new GroupCommitter({ fsync: 'never' });
  try {
    const log = QueueLog.open(dir, gc, { segmentSizeBytes: 64 * 1024 * 1024 });
    const body = (i: number) => Buffer.concat([Buffer.from(`r${i}|`), Buffer.alloc(1000, 0x2e)]);
    const locations = [];
    for (let i = 0; i < 3000; i++) locations.push(log.append(1, body(i)));
    const acked = new Set<number>();
    for (let i = 0; i < 3000; i += 3) {
      log.ack(locations[i]!);
      acked.add(i);
    }
    await gc.flush();
    log.close();

    const reopened = QueueLog.open(dir, gc, { segmentSizeBytes: 64 * 1024 * 1024 });
    assert.equal(reopened.segmentCount, 1, 'all 3 MB in one segment, so positions span several read chunks');
    assert.equal(reopened.unackedCount, 2000);
    const expected = [...Array(3000).keys()].filter((i) => !acked.has(i)).map((i) => `r${i}`);
    assert.deepEqual(
      readAll(reopened).map((p) => p.split('|')[0]),
      expected,
    );
    reopened.close();
  } finally {
    await gc.close();
    cleanup();
  }
});

test('acked segments are unlinked on the libuv pool, under a name a queue declared again cannot reuse', async () => {
  const { dir, cleanup } = tempDir();
  // Background unlinks are held until released, to see what the event loop did without them.
  const held: Array<() => Promise<void>> = [];
  const syncUnlinks: string[] = [];
  const gc = new GroupCommitter({
    fsync: 'always',
    fs: {
      unlink: (path, cb) =>
        held.push(
          () =>
            new Promise((resolve) =>
              fs.unlink(path, (err) => {
                cb(err);
                resolve();
              }),
            ),
        ),
      unlinkSync: (path) => {
        syncUnlinks.push(path);
        fs.unlinkSync(path);
      },
    },
  });
  try {
    const log = QueueLog.open(dir, gc, { segmentSizeBytes: 1024 });
    const locs = [];
    for (let i = 0; i < 100; i++) locs.push(log.append(1, payload(i)));
    await gc.flush();
    const segments = log.segmentCount;
    for (const loc of locs.slice(0, 95)) log.ack(loc);
    const deleted = segments - log.segmentCount;
    assert.ok(deleted > 2, `${deleted} segments deleted`);
    assert.equal(
      syncUnlinks.filter((p) => p.endsWith('.seg')).length,
      0,
      'no data file unlinked on the loop',
    );
    assert.equal(held.length, deleted);
    assert.equal(fs.readdirSync(dir).filter((n) => n.endsWith('.seg.deleted')).length, deleted);
    // The queue is deleted and declared again while the unlinks wait: the new log's first segment
    // has the name of the old first one, and must survive them.
    log.destroy();
    const again = QueueLog.open(dir, gc, { segmentSizeBytes: 1024 });
    const fresh = again.append(1, Buffer.from('declared again'));
    await gc.flush();
    await Promise.all(held.map((run) => run()));
    assert.equal(fs.readdirSync(dir).filter((n) => n.endsWith('.deleted')).length, 0);
    assert.deepEqual(readAll(again), ['declared again']);
    again.close();
    // A crash before the unlink leaves the renamed file: the next start removes it.
    fs.writeFileSync(join(dir, `${String(7).padStart(20, '0')}.seg.deleted`), 'left over');
    const reopened = QueueLog.open(dir, gc, { segmentSizeBytes: 1024 });
    assert.equal(fs.readdirSync(dir).filter((n) => n.endsWith('.deleted')).length, 0);
    assert.deepEqual(readAll(reopened), ['declared again']);
    reopened.ack(fresh);
    reopened.close();
  } finally {
    await gc.close();
    cleanup();
  }
});
