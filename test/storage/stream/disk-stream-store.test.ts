// DiskStreamStore: segment files with a sparse index per segment, seeks by offset and timestamp across
// segments, recovery of a torn tail and of a damaged index, and retention deleting whole segments.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { StreamEntry } from '../../../src/core/stream/stream-store.js';
import { GroupCommitter } from '../../../src/storage/group-commit.js';
import {
  DiskStreamStore,
  type DiskStreamStoreOptions,
} from '../../../src/storage/stream/disk-stream-store.js';
import { crc32c } from '../../../src/util/crc32c.js';
import { makeMessage, tempDir } from '../helpers.js';

const T0 = 1_700_000_000_000;

/** Entry i: an AMQP message appended at T0 + i seconds (odd ones as raw batches of 3 offsets when asked). */
function entryAt(offset: number, i: number, raw = false): StreamEntry {
  const body = Buffer.from(`entry-${i}-${'x'.repeat(i % 40)}`);
  if (raw) return { offset, offsetCount: 3, timestampMs: T0 + i * 1000, message: undefined, payload: body };
  const message = { ...makeMessage(body, true, `rk-${i}`), publishedAtMs: T0 + i * 1000 };
  return { offset, offsetCount: 1, timestampMs: T0 + i * 1000, message, payload: body };
}

function fill(log: DiskStreamStore, count: number, raw = false): void {
  for (let i = 0; i < count; i++) log.append(entryAt(log.nextOffset, i, raw));
}

const bodies = (entries: StreamEntry[]) => entries.map((e) => e.payload.toString());
const segmentFiles = (dir: string) =>
  fs
    .readdirSync(dir)
    .filter((n) => n.endsWith('.seg'))
    .sort();

/** Small segments and a dense index; no tail cache, so every read goes to the files. */
const DISK_ONLY: DiskStreamStoreOptions = {
  segmentSizeBytes: 2048,
  indexIntervalBytes: 256,
  tailCacheEntries: 0,
  readChunkBytes: 512,
};

/**
 * Appends raw entry `i` (its number in its first 4 bytes, `i & 0xff` in the rest), then scribbles
 * over the caller's buffer as the Kafka listener reuses a produce request's memory.
 */
function appendNumbered(log: DiskStreamStore, i: number, sizeBytes: number): void {
  const payload = Buffer.alloc(sizeBytes, i & 0xff);
  payload.writeUInt32BE(i, 0);
  log.append({ offset: log.nextOffset, offsetCount: 1, timestampMs: T0 + i, message: undefined, payload });
  payload.fill(0xee);
}

describe('DiskStreamStore', () => {
  let committer: GroupCommitter;
  const cleanups: Array<() => void> = [];
  before(() => {
    committer = new GroupCommitter({ fsync: 'always' });
  });
  after(async () => {
    await committer.close();
    for (const cleanup of cleanups) cleanup();
  });
  function dir(): string {
    const { dir, cleanup } = tempDir('pier-stream-');
    cleanups.push(cleanup);
    return dir;
  }

  it('keeps no reference to raw payloads (the caller may reuse them), frames them with a CRC from their known tail CRC, and recovers them', async () => {
    const path = dir();
    const options: DiskStreamStoreOptions = { segmentSizeBytes: 1 << 22, tailCacheBytes: 1 << 20 };
    const log = DiskStreamStore.open(path, committer, options);
    const expected = [100, 70_000, 200_000, 65_536, 90_000].map((size, i) => {
      const payload = Buffer.alloc(size);
      for (let j = 0; j < size; j++) payload[j] = (j * 31 + i) & 0xff;
      return payload;
    });
    for (const [i, original] of expected.entries()) {
      const payload = Buffer.from(original);
      // Even entries carry a tail CRC hint (as Kafka batches do), odd ones do not.
      const payloadTailCrc = i % 2 === 0 ? { from: 21, crc: crc32c(payload, 0, 21) } : undefined;
      log.append({
        offset: log.nextOffset,
        offsetCount: 2,
        timestampMs: T0 + i,
        message: undefined,
        payload,
        payloadTailCrc,
      });
      payload.fill(0); // the Kafka listener reuses a produce request's memory for the next request
    }
    const cached = log.read(0, 10, Number.POSITIVE_INFINITY);
    assert.deepEqual(
      cached.map((e) => e.payload),
      expected,
    );
    await committer.flush();
    log.close();
    const reopened = DiskStreamStore.open(path, committer, options);
    assert.equal(reopened.nextOffset, 10, 'no record was cut as corrupt at recovery');
    const recovered = reopened.read(0, 10, Number.POSITIVE_INFINITY);
    assert.deepEqual(
      recovered.map((e) => e.payload),
      expected,
    );
    assert.deepEqual(
      recovered.map((e) => e.offset),
      [0, 2, 4, 6, 8],
    );
    reopened.close();
  });

  it('recycles the tail memory of raw entries: consumers read every entry intact while the cache wraps many times', async () => {
    const path = dir();
    // 64 KiB of cache (two 32 KiB halves) against 2 MiB of batches of varied sizes.
    const log = DiskStreamStore.open(path, committer, {
      segmentSizeBytes: 1 << 20,
      tailCacheBytes: 64 * 1024,
    });
    const sizes = Array.from({ length: 300 }, (_, i) => 500 + ((i * 7919) % 12_000));
    let readUpTo = 0;
    for (const [i, size] of sizes.entries()) {
      appendNumbered(log, i, size);
      // A consumer a few entries behind, as a Kafka consumer keeping up: what it reads is intact.
      if (i % 3 === 2) {
        for (const entry of log.read(readUpTo, 5, Number.POSITIVE_INFINITY)) {
          assert.equal(entry.payload.readUInt32BE(0), entry.offset, `entry ${entry.offset} intact`);
          assert.equal(entry.payload.length, sizes[entry.offset]);
          assert.equal(entry.payload[entry.payload.length - 1], entry.offset & 0xff);
          readUpTo = entry.offset + 1;
        }
      }
    }
    // And from the beginning: older entries come from the files, newer ones from the cache.
    const all = log.read(0, 1000, Number.POSITIVE_INFINITY);
    assert.equal(all.length, sizes.length);
    for (const entry of all) {
      assert.equal(entry.payload.readUInt32BE(0), entry.offset);
      assert.equal(entry.payload.length, sizes[entry.offset]);
    }
    log.close();
  });

  it('never writes over pinned tail memory: an entry held by an unwritten answer stays intact while the cache wraps', async () => {
    const path = dir();
    const log = DiskStreamStore.open(path, committer, {
      segmentSizeBytes: 1 << 20,
      tailCacheBytes: 16 * 1024,
    });
    const append = (i: number) => appendNumbered(log, i, 1000);
    const intact = (entry: StreamEntry) =>
      entry.payload.readUInt32BE(0) === entry.offset && entry.payload.at(-1) === (entry.offset & 0xff);
    append(0);
    const [pinnedEntry] = log.read(0, 1, Number.POSITIVE_INFINITY);
    assert.ok(pinnedEntry?.recycled, 'the newest entry comes from the recycled tail memory');
    pinnedEntry.recycled.pin();
    // 8 KiB halves, 1,000-byte entries: 100 appends start each half again about a dozen times.
    for (let i = 1; i <= 100; i++) append(i);
    assert.ok(intact(pinnedEntry), 'the pinned entry kept its bytes');
    const [unpinned] = log.read(98, 1, Number.POSITIVE_INFINITY);
    assert.ok(unpinned?.recycled && intact(unpinned));
    pinnedEntry.recycled.unpin();
    // Not pinned: the memory is written over once the cache comes round (as before pins existed).
    for (let i = 101; i <= 130; i++) append(i);
    assert.equal(intact(unpinned), false, 'unpinned memory is recycled');
    for (const entry of log.read(0, 200, Number.POSITIVE_INFINITY))
      assert.ok(intact(entry), `entry ${entry.offset}`);
    log.close();
  });

  it('appends across segments and reads from every offset, from disk, before and after the write', async () => {
    const path = dir();
    const log = DiskStreamStore.open(path, committer, DISK_ONLY);
    fill(log, 300);
    assert.ok(log.segmentCount >= 5, `${log.segmentCount} segments`);
    assert.equal(segmentFiles(path).length, log.segmentCount);
    // Nothing written by the committer yet: reads must still see everything.
    for (const offset of [0, 1, 17, 150, 298, 299]) {
      const [entry] = log.read(offset, 1, Number.POSITIVE_INFINITY);
      assert.equal(entry?.offset, offset);
      assert.equal(entry?.payload.toString(), entryAt(offset, offset).payload.toString());
      assert.equal(entry?.message?.routingKey, `rk-${offset}`);
      assert.equal(entry?.timestampMs, T0 + offset * 1000);
    }
    await committer.flush();
    const all = log.read(0, 1000, Number.POSITIVE_INFINITY);
    assert.deepEqual(
      all.map((e) => e.offset),
      Array.from({ length: 300 }, (_, i) => i),
    );
    // Limits: entries, then bytes (at least one entry).
    assert.equal(log.read(100, 7, Number.POSITIVE_INFINITY).length, 7);
    assert.equal(log.read(100, 100, 1).length, 1);
    assert.deepEqual(log.read(300, 10, 1000), []);
    log.close();
  });

  it('many appends in one turn (past the staging buffer) read back intact', async () => {
    const path = dir();
    const log = DiskStreamStore.open(path, committer, { segmentSizeBytes: 1 << 20, tailCacheEntries: 0 });
    const body = (i: number) => Buffer.alloc(1000, String.fromCharCode(97 + (i % 26)));
    for (let i = 0; i < 500; i++) {
      const message = { ...makeMessage(body(i)), publishedAtMs: T0 };
      log.append({ offset: i, offsetCount: 1, timestampMs: T0, message, payload: message.body! });
    }
    await committer.flush();
    log.close();
    const reopened = DiskStreamStore.open(path, committer, {
      segmentSizeBytes: 1 << 20,
      tailCacheEntries: 0,
    });
    assert.equal(reopened.nextOffset, 500);
    const all = reopened.read(0, 1000, Number.POSITIVE_INFINITY);
    assert.equal(all.length, 500);
    for (const entry of all) assert.ok(entry.payload.equals(body(entry.offset)), `entry ${entry.offset}`);
    reopened.close();
  });

  it('seeks by timestamp across segments', () => {
    const log = DiskStreamStore.open(dir(), committer, DISK_ONLY);
    fill(log, 200);
    assert.equal(log.offsetForTimestamp(T0), 0);
    assert.equal(log.offsetForTimestamp(T0 + 123_000), 123);
    assert.equal(log.offsetForTimestamp(T0 + 123_500), 124);
    assert.equal(log.offsetForTimestamp(T0 + 199_000), 199);
    assert.equal(log.offsetForTimestamp(T0 + 200_000), 200, 'after the newest: the next offset');
    assert.equal(log.offsetForTimestamp(0), 0);
    log.close();
  });

  it('raw entries keep their bytes and offset counts', async () => {
    const path = dir();
    const log = DiskStreamStore.open(path, committer, DISK_ONLY);
    fill(log, 50, true);
    assert.equal(log.nextOffset, 150);
    const [entry] = log.read(100, 1, Number.POSITIVE_INFINITY);
    assert.deepEqual([entry?.offset, entry?.offsetCount, entry?.message], [99, 3, undefined]);
    assert.equal(entry?.payload.toString(), entryAt(0, 33).payload.toString());
    await committer.flush();
    log.close();
    const reopened = DiskStreamStore.open(path, committer, DISK_ONLY);
    assert.equal(reopened.nextOffset, 150);
    assert.equal(reopened.lastEntryOffset, 147);
    reopened.close();
  });

  it('recovers offsets and data after a restart and continues the offsets', async () => {
    const path = dir();
    const log = DiskStreamStore.open(path, committer, DISK_ONLY);
    fill(log, 120);
    await committer.flush();
    log.close();
    const reopened = DiskStreamStore.open(path, committer, DISK_ONLY);
    assert.equal(reopened.firstOffset, 0);
    assert.equal(reopened.nextOffset, 120);
    assert.equal(reopened.lastEntryOffset, 119);
    assert.equal(reopened.offsetForTimestamp(T0 + 77_000), 77);
    reopened.append(entryAt(120, 120));
    assert.deepEqual(
      bodies(reopened.read(118, 10, Number.POSITIVE_INFINITY)),
      [118, 119, 120].map((i) => entryAt(i, i).payload.toString()),
    );
    reopened.close();
  });

  it('recovery truncates a torn tail and logs it', async () => {
    const path = dir();
    const log = DiskStreamStore.open(path, committer, DISK_ONLY);
    fill(log, 100);
    await committer.flush();
    log.close();
    const newest = join(path, segmentFiles(path).at(-1)!);
    const size = fs.statSync(newest).size;
    fs.truncateSync(newest, size - 5); // the last record loses its end
    const lines: string[] = [];
    const reopened = DiskStreamStore.open(path, committer, { ...DISK_ONLY, logger: (l) => lines.push(l) });
    assert.equal(reopened.nextOffset, 99, 'the torn record is gone');
    assert.match(lines.join('\n'), /torn record at byte \d+; truncated \d+ bytes/);
    assert.ok(fs.statSync(newest).size < size - 5);
    assert.equal(reopened.read(98, 10, Number.POSITIVE_INFINITY).length, 1);
    // The offset of the lost record is assigned again.
    reopened.append(entryAt(99, 1000));
    assert.equal(reopened.read(99, 1, 1000)[0]?.payload.toString(), entryAt(0, 1000).payload.toString());
    reopened.close();
  });

  it('recovery rebuilds a damaged index of an older segment', async () => {
    const path = dir();
    const log = DiskStreamStore.open(path, committer, DISK_ONLY);
    fill(log, 200);
    await committer.flush();
    log.close();
    const secondIndex = join(path, segmentFiles(path)[1]!.replace('.seg', '.idx'));
    fs.writeFileSync(secondIndex, Buffer.from('not an index'));
    const reopened = DiskStreamStore.open(path, committer, DISK_ONLY);
    assert.equal(reopened.nextOffset, 200);
    const all = reopened.read(0, 1000, Number.POSITIVE_INFINITY);
    assert.equal(all.length, 200);
    assert.ok(fs.statSync(secondIndex).size % 20 === 0, 'index rewritten');
    reopened.close();
  });

  it('retention by size deletes the oldest whole segments, never the newest', () => {
    const path = dir();
    const log = DiskStreamStore.open(path, committer, DISK_ONLY);
    fill(log, 300);
    const segments = log.segmentCount;
    assert.equal(log.applyRetention(T0, { maxBytes: 5000 }) > 0, true);
    assert.ok(log.sizeBytes <= 5000, `size ${log.sizeBytes}`);
    assert.ok(log.segmentCount < segments);
    assert.equal(segmentFiles(path).length, log.segmentCount);
    assert.equal(fs.readdirSync(path).filter((n) => n.endsWith('.idx')).length, log.segmentCount);
    const first = log.firstOffset;
    assert.ok(first > 0);
    // Reads before the first kept offset start at it.
    assert.equal(log.read(0, 1, 1000)[0]?.offset, first);
    log.applyRetention(T0, { maxBytes: 0 });
    assert.equal(log.segmentCount, 1, 'the newest segment stays');
    assert.equal(log.nextOffset, 300);
    log.close();
  });

  it('retention by age deletes segments whose newest entry is older than the limit', () => {
    const log = DiskStreamStore.open(dir(), committer, DISK_ONLY);
    fill(log, 300); // entry i at T0 + i s
    const now = T0 + 300_000;
    assert.equal(log.applyRetention(now, { maxAgeMs: 400_000 }), 0, 'nothing that old');
    log.applyRetention(now, { maxAgeMs: 150_000 });
    // Entries older than 150 s (offsets < 150) may go only with their whole segment.
    const first = log.firstOffset;
    assert.ok(first > 0 && first <= 150, `first ${first}`);
    const firstSegmentNewest = log.read(first, 1000, Number.POSITIVE_INFINITY);
    assert.ok(firstSegmentNewest.some((e) => e.timestampMs >= now - 150_000));
    log.close();
  });

  it('destroy deletes the directory', () => {
    const path = dir();
    const log = DiskStreamStore.open(path, committer, DISK_ONLY);
    fill(log, 10);
    log.destroy();
    assert.equal(fs.existsSync(path), false);
  });

  it('serves the newest entries from memory without copying their bodies', () => {
    const log = DiskStreamStore.open(dir(), committer, { segmentSizeBytes: 4096, tailCacheEntries: 10 });
    fill(log, 50);
    const entry = entryAt(50, 50);
    log.append(entry);
    const [cached] = log.read(50, 1, 1000);
    assert.equal(cached?.payload, entry.payload, 'same Buffer');
    // Older entries come from disk, and a read spanning both sides is continuous.
    assert.deepEqual(
      log.read(35, 100, Number.POSITIVE_INFINITY).map((e) => e.offset),
      Array.from({ length: 16 }, (_, i) => 35 + i),
    );
    log.close();
  });
});
