/**
 * Corrupt files: a byte flipped in a closed segment is caught by the record CRC and never served.
 * A queue log checks every segment at recovery and truncates a segment at its first bad record
 * (the records after it in that segment are lost, loudly logged); a stream checks sealed segments
 * only past their last index entry at recovery (fast startup), so its readers check each record's
 * CRC and skip damage to the next index entry.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DiskQueueStore } from '../../../src/storage/amqp/disk-queue-store.js';
import { GroupCommitter } from '../../../src/storage/group-commit.js';
import type { LogLocation } from '../../../src/storage/queue-log.js';
import { DiskStreamStore } from '../../../src/storage/stream/disk-stream-store.js';
import { ALL_CASES, message } from './cases.js';
import { SimFs, seededRandom } from './sim-fs.js';

function flipByte(fs: SimFs, path: string, position: number): void {
  const fd = fs.openSync(path, 'r+');
  const b = Buffer.alloc(1);
  fs.readSync(fd, b, 0, 1, position);
  b[0] = b[0]! ^ 0x20;
  fs.writeSync(fd, b, 0, 1, position);
  fs.fdatasyncSync(fd);
  fs.closeSync(fd);
}

const segName = (id: number) => String(id).padStart(20, '0');

test('corruption: a flipped byte in a closed queue segment is caught at recovery; no damaged message is served', async () => {
  const fs = new SimFs();
  const committer = new GroupCommitter({ fsync: 'always', fs });
  const store = DiskQueueStore.open('/data/q', committer, { segmentSizeBytes: 600 });
  const where = new Map<number, LogLocation>();
  for (let id = 0; id < 60; id++) where.set(id, store.push(message(`m${id}`)).storageRef as LogLocation);
  await committer.flush();
  store.close();
  await committer.close();

  const segments = [...new Set([...where.values()].map((l) => l.segmentId))];
  assert.ok(segments.length >= 3, `only ${segments.length} segments`);
  const damagedSegment = segments[1]!;
  const inSegment = [...where].filter(([, l]) => l.segmentId === damagedSegment).map(([id]) => id);
  const damagedId = inSegment[Math.floor(inSegment.length / 2)]!;
  // A byte of the record's payload (past the 9-byte record header).
  flipByte(fs, `/data/q/${segName(damagedSegment)}.seg`, where.get(damagedId)!.position + 12);

  const lines: string[] = [];
  const recovered = DiskQueueStore.open('/data/q', new GroupCommitter({ fsync: 'always', fs }), {
    segmentSizeBytes: 600,
    logger: (l) => lines.push(l),
  });
  const served: string[] = [];
  for (let q = recovered.shift(); q; q = recovered.shift()) served.push(String(q.message.body));
  recovered.close();
  // Served: everything but the damaged record and the rest of its segment, each exactly as sent.
  const lost = new Set(inSegment.filter((id) => id >= damagedId));
  const expected = [...where.keys()].filter((id) => !lost.has(id)).map((id) => `m${id}`);
  assert.deepEqual(served, expected);
  assert.ok(
    lines.some((l) => l.includes(`segment ${damagedSegment}: corrupt record`) && l.includes('truncated')),
    lines.join('\n'),
  );
});

test('corruption: a flipped byte in a sealed stream segment is never served; readers skip to the next index entry', async () => {
  const fs = new SimFs();
  const committer = new GroupCommitter({ fsync: 'always', fs });
  const open = (c: GroupCommitter, logger?: (l: string) => void) =>
    DiskStreamStore.open('/data/s', c, { segmentSizeBytes: 600, indexIntervalBytes: 100, logger });
  const payload = (offset: number) => Buffer.from(`s${offset}:${'x'.repeat(20)}`);
  const stream = open(committer);
  for (let offset = 0; offset < 80; offset++)
    stream.append({
      offset,
      offsetCount: 1,
      timestampMs: 1_700_000_000_000 + offset,
      message: undefined,
      payload: payload(offset),
    });
  await committer.flush();
  assert.ok(stream.segmentCount >= 3);
  stream.close();
  await committer.close();

  // Offset 3 lies in the first segment, before its last index entry (recovery does not re-check it).
  const firstSegment = `/data/s/${segName(0)}.seg`;
  const file = fs.readFileSync(firstSegment);
  const at = file.indexOf(payload(3));
  assert.ok(at > 0);
  flipByte(fs, firstSegment, at + 2);

  const lines: string[] = [];
  const reopened = open(new GroupCommitter({ fsync: 'always', fs }), (l) => lines.push(l));
  assert.equal(reopened.nextOffset, 80, 'recovery truncated the sealed segment (it should not need to)');
  const served: number[] = [];
  for (let want = 0; want < reopened.nextOffset; ) {
    const got = reopened.read(want, 7, 1_000_000);
    if (got.length === 0) break;
    for (const e of got) {
      assert.deepEqual(e.payload, payload(e.offset), `entry ${e.offset} served damaged`);
      served.push(e.offset);
      want = e.offset + 1;
    }
  }
  assert.ok(!served.includes(3), 'the damaged entry was served');
  assert.equal(served.at(-1), 79, 'readers did not get past the damage');
  // The damage costs at most the entries up to the next index entry (100 bytes, 3 entries of 41).
  assert.ok(served.length >= 80 - 4, `lost ${80 - served.length} entries: ${served.join(',')}`);
  // A reader asking for the damaged offset itself is not stuck either.
  assert.ok(reopened.read(3, 1, 1_000_000)[0]!.offset > 3);
  assert.equal(lines.filter((l) => l.includes('CORRUPT record')).length, 1, lines.join('\n'));
  reopened.close();
});

/** Every file under `dir` with at least one byte. */
function filesUnder(fs: SimFs, dir: string): string[] {
  const out: string[] = [];
  for (const name of fs.readdirSync(dir)) {
    const path = `${dir}/${name}`;
    try {
      out.push(...filesUnder(fs, path));
    } catch {
      if (fs.statSync(path).size > 0) out.push(path);
    }
  }
  return out;
}

const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
};

for (const kase of ALL_CASES) {
  test(`corruption: ${kase.name}: recovery survives a flipped byte in any of its files and the store works on`, async () => {
    const failures: string[] = [];
    for (let seed = 1; seed <= Number(process.env.PIER_CORRUPTION_SEEDS ?? 12); seed++) {
      const rng = seededRandom(seed);
      const disk = new SimFs();
      const committer = new GroupCommitter({ fsync: 'always', fs: disk, onError: () => {} });
      const store = kase.open(disk, committer);
      await kase.workload(store, kase.modelFromRecovered(store), committer, rng, turns);
      kase.close(store);
      await committer.close();
      const files = filesUnder(disk, '/data');
      const file = files[Math.floor(rng() * files.length)]!;
      const at = Math.floor(rng() * disk.statSync(file).size);
      flipByte(disk, file, at);
      const again = new GroupCommitter({ fsync: 'always', fs: disk, onError: () => {} });
      try {
        const recovered = kase.open(disk, again);
        // It keeps working: a further workload on the damaged-and-recovered store.
        await kase.workload(recovered, kase.modelFromRecovered(recovered), again, rng, turns);
        kase.close(recovered);
        await again.close();
        kase.close(kase.open(disk, new GroupCommitter({ fsync: 'always', fs: disk, onError: () => {} })));
      } catch (err) {
        failures.push(`seed ${seed}, byte ${at} of ${file}: ${(err as Error).stack}`);
      }
    }
    assert.deepEqual(failures, []);
  });
}
