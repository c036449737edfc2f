import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DiskDefinitionsStore } from '../../src/storage/disk-definitions-store.js';
import type { StorageFs } from '../../src/storage/storage-fs.js';
import { tempDir } from './helpers.js';

test('put, delete, entries, and recovery', () => {
  const { dir, cleanup } = tempDir();
  try {
    const d = DiskDefinitionsStore.open(dir);
    d.put('vhost', '/', { name: '/' });
    d.put('queue', '/\0orders', { durable: true, args: { 'x-max-length': 10 } });
    d.put('exchange', '/\0ex', { type: 'topic' });
    d.put('queue', '/\0orders', { durable: true, args: {} });
    d.delete('exchange', '/\0ex');
    d.delete('exchange', 'missing');
    const expected = [
      { kind: 'vhost', key: '/', value: { name: '/' } },
      { kind: 'queue', key: '/\0orders', value: { durable: true, args: {} } },
    ];
    assert.deepEqual(d.entries(), expected);
    d.close();
    const d2 = DiskDefinitionsStore.open(dir);
    assert.deepEqual(d2.entries(), expected);
    d2.close();
  } finally {
    cleanup();
  }
});

test('compaction writes a snapshot and empties the log; state survives', () => {
  const { dir, cleanup } = tempDir();
  try {
    const d = DiskDefinitionsStore.open(dir, { compactAfterRecords: 10 });
    for (let i = 0; i < 55; i++) d.put('binding', `b${i % 7}`, { i });
    d.delete('binding', 'b0');
    assert.ok(fs.existsSync(join(dir, 'snapshot')));
    assert.ok(fs.statSync(join(dir, 'definitions.log')).size < 2000);
    const state = d.entries();
    assert.equal(state.length, 6);
    d.close();
    assert.deepEqual(DiskDefinitionsStore.open(dir).entries(), state);
  } finally {
    cleanup();
  }
});

test('recovery tolerates a torn or corrupt tail at every cut', () => {
  const { dir, cleanup } = tempDir();
  try {
    const d = DiskDefinitionsStore.open(dir);
    for (let i = 0; i < 5; i++) d.put('user', `u${i}`, { tags: ['x'], i });
    d.close();
    const log = join(dir, 'definitions.log');
    const full = fs.readFileSync(log);
    for (let cut = 0; cut < full.length; cut += 7) {
      fs.writeFileSync(log, full.subarray(0, cut));
      const lines: string[] = [];
      const r = DiskDefinitionsStore.open(dir, { logger: (l) => lines.push(l) });
      const n = r.entries().length;
      assert.ok(n <= 5);
      assert.deepEqual(
        r.entries().map((e) => e.key),
        ['u0', 'u1', 'u2', 'u3', 'u4'].slice(0, n),
      );
      r.put('user', 'new', {});
      r.close();
      assert.equal(
        DiskDefinitionsStore.open(dir).entries().length,
        n + 1,
        'appends after a truncation are readable',
      );
    }
    // A flipped byte inside the log.
    fs.writeFileSync(log, full);
    const bad = Buffer.from(full);
    bad[full.length - 5] ^= 0xff;
    fs.writeFileSync(log, bad);
    assert.equal(DiskDefinitionsStore.open(dir).entries().length, 4);
  } finally {
    cleanup();
  }
});

/** node:fs with its fdatasyncSync calls counted. */
function countingFdatasync(): StorageFs & { syncs: number } {
  const counting = {
    ...fs,
    syncs: 0,
    fdatasyncSync(fd: number) {
      counting.syncs++;
      fs.fdatasyncSync(fd);
    },
  };
  return counting as unknown as StorageFs & { syncs: number };
}

test('deferSyncs: changes are written at once, synced together by syncDeferred (one fdatasync), and survive', () => {
  const { dir, cleanup } = tempDir();
  const counting = countingFdatasync();
  try {
    const d = DiskDefinitionsStore.open(dir, { fs: counting });
    const before = counting.syncs;
    d.deferSyncs(() => {
      for (let i = 0; i < 50; i++) d.put('queue', `/\0q${i}`, { durable: true });
      d.delete('queue', '/\0q0');
    });
    assert.equal(counting.syncs, before, 'nothing synced inside deferSyncs');
    d.syncDeferred();
    assert.equal(counting.syncs, before + 1, 'one fdatasync covers the whole batch');
    d.syncDeferred();
    assert.equal(counting.syncs, before + 1, 'nothing left to sync');
    d.put('queue', '/\0single', {});
    assert.equal(counting.syncs, before + 2, 'a change outside deferSyncs is synced before put returns');
    d.close();
    const reopened = DiskDefinitionsStore.open(dir);
    assert.equal(reopened.entries().filter((e) => e.kind === 'queue').length, 50);
    reopened.close();
  } finally {
    cleanup();
  }
});

test('deferSyncs: close() syncs what is still unsynced', () => {
  const { dir, cleanup } = tempDir();
  const counting = countingFdatasync();
  try {
    const d = DiskDefinitionsStore.open(dir, { fs: counting });
    d.deferSyncs(() => d.put('exchange', '/\0x', { type: 'direct' }));
    const before = counting.syncs;
    d.close();
    assert.equal(counting.syncs, before + 1);
  } finally {
    cleanup();
  }
});
