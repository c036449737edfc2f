import assert from 'node:assert/strict';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { encodeRecord, RECORD_HEADER_BYTES, scanBuffer, scanFile } from '../../src/storage/record-format.js';
import { tempDir } from './helpers.js';

function records(n: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++)
    out.push(encodeRecord(1 + (i % 3), Buffer.from(`payload-${i}-${'x'.repeat(i % 17)}`)));
  return out;
}

function collect(buf: Buffer) {
  const seen: string[] = [];
  const res = scanBuffer(buf, (_type, b, s, e) => seen.push(b.toString('utf8', s, e)));
  return { res, seen };
}

test('encode and scan round-trip', () => {
  const recs = records(50);
  const { res, seen } = collect(Buffer.concat(recs));
  assert.equal(res.records, 50);
  assert.equal(res.stopReason, undefined);
  assert.equal(res.validBytes, Buffer.concat(recs).length);
  assert.equal(seen[7], `payload-7-${'x'.repeat(7)}`);
});

test('every torn tail yields exactly the complete records before it', () => {
  const recs = records(20);
  const all = Buffer.concat(recs);
  const ends: number[] = [0];
  for (const r of recs) ends.push(ends[ends.length - 1]! + r.length);
  for (let cut = 0; cut <= all.length; cut++) {
    const { res } = collect(all.subarray(0, cut));
    const complete = ends.filter((e) => e <= cut).length - 1;
    assert.equal(res.records, complete, `cut ${cut}`);
    assert.equal(res.validBytes, ends[complete]);
    if (cut !== ends[complete]) assert.equal(res.stopReason, 'torn');
  }
});

test('a flipped byte anywhere stops the scan at the damaged record, keeping earlier ones', () => {
  const recs = records(10);
  const all = Buffer.concat(recs);
  const starts: number[] = [];
  let p = 0;
  for (const r of recs) {
    starts.push(p);
    p += r.length;
  }
  for (let i = 0; i < all.length; i++) {
    const damaged = Buffer.from(all);
    damaged[i] = damaged[i]! ^ 0x5a;
    const { res } = collect(damaged);
    const hit = starts.filter((s) => s <= i).length - 1;
    assert.equal(res.records, hit, `byte ${i}`);
    assert.equal(res.validBytes, starts[hit]);
    assert.ok(res.stopReason === 'corrupt' || res.stopReason === 'torn');
  }
});

test('an absurd length field is reported as corrupt, not read', () => {
  const buf = Buffer.concat([
    encodeRecord(1, Buffer.from('ok')),
    Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1]),
  ]);
  const { res } = collect(buf);
  assert.equal(res.records, 1);
  assert.equal(res.stopReason, 'corrupt');
});

test('scanFile handles records spanning chunks, larger than a chunk, and torn tails', () => {
  const { dir, cleanup } = tempDir();
  try {
    const recs = [encodeRecord(1, Buffer.alloc(10, 1)), encodeRecord(2, Buffer.alloc(5000, 2))];
    for (let i = 0; i < 100; i++) recs.push(encodeRecord(3, Buffer.alloc(37 + i, i)));
    const all = Buffer.concat(recs);
    const path = join(dir, 'f');
    for (const cut of [all.length, all.length - 1, all.length - 50, 5010, 20]) {
      writeFileSync(path, all.subarray(0, cut));
      const fd = openSync(path, 'r');
      const sizes: number[] = [];
      const res = scanFile(fd, cut, (_t, _b, s, e) => sizes.push(e - s), 256);
      closeSync(fd);
      let expected = 0;
      let bytes = 0;
      for (const r of recs) {
        if (bytes + r.length > cut) break;
        bytes += r.length;
        expected++;
      }
      assert.equal(res.records, expected, `cut ${cut}`);
      assert.equal(res.validBytes, bytes);
      assert.equal(sizes[1] ?? 5000, 5000);
      if (cut === all.length) assert.equal(res.stopReason, undefined);
    }
    assert.equal(RECORD_HEADER_BYTES, 9);
  } finally {
    cleanup();
  }
});
