import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Storage, StorageLockedError } from '../../src/storage/storage.js';
import { makeMessage, tempDir } from './helpers.js';

test('layout, queue stores per vhost+name, definitions, orphan removal, reopen', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const s = Storage.open({ dataDir: dir, fsync: 'always', logger: () => {} });
    assert.ok(fs.existsSync(join(dir, 'pier.lock')));
    s.definitions.put('queue', '/\0a', { durable: true });
    const a = s.openQueueStore('/', 'a');
    const b = s.openQueueStore('other', 'a');
    const weird = s.openQueueStore('/', '../../etc/passwd\0x');
    assert.throws(() => s.openQueueStore('/', 'a'), /already open/);
    a.push(makeMessage('in a'));
    b.push(makeMessage('in b'));
    weird.push(makeMessage('weird'));
    const qdirs = fs.readdirSync(join(dir, 'queues'));
    assert.equal(qdirs.length, 3);
    assert.ok(qdirs.every((n) => /^[0-9a-f]{40}$/.test(n)));
    const names = qdirs.map((n) => JSON.parse(fs.readFileSync(join(dir, 'queues', n, 'name.json'), 'utf8')));
    assert.ok(names.some((x) => x.vhost === 'other' && x.queueName === 'a'));
    weird.close();
    s.removeOrphanQueueData([
      { vhost: '/', queueName: 'a' },
      { vhost: 'other', queueName: 'a' },
    ]);
    assert.equal(fs.readdirSync(join(dir, 'queues')).length, 2);
    s.deleteQueueData('other', 'a');
    assert.equal(fs.readdirSync(join(dir, 'queues')).length, 1);
    await s.close();
    assert.ok(!fs.existsSync(join(dir, 'pier.lock')));

    const s2 = Storage.open({ dataDir: dir, fsync: 'always', logger: () => {} });
    assert.deepEqual(s2.definitions.entries(), [{ kind: 'queue', key: '/\0a', value: { durable: true } }]);
    const a2 = s2.openQueueStore('/', 'a');
    assert.equal(a2.readyCount, 1);
    assert.equal(a2.shift()!.message.body!.toString(), 'in a');
    await s2.close();
  } finally {
    cleanup();
  }
});

test('a second broker cannot open the same data directory; a stale lock is taken over', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const s = Storage.open({ dataDir: dir, fsync: 'never', logger: () => {} });
    assert.throws(
      () => Storage.open({ dataDir: dir, fsync: 'never' }),
      (err: unknown) => err instanceof StorageLockedError && err.message.includes(dir),
    );
    await s.close();
    // A lock left by a process that no longer exists.
    fs.writeFileSync(join(dir, 'pier.lock'), '2147483646\n');
    const s2 = Storage.open({ dataDir: dir, fsync: 'never', logger: () => {} });
    await s2.close();
    // A lock held by a live process (our parent stands in for another broker).
    fs.writeFileSync(join(dir, 'pier.lock'), `${process.ppid}\n`);
    assert.throws(() => Storage.open({ dataDir: dir, fsync: 'never' }), /in use by another Pier broker/);
    fs.unlinkSync(join(dir, 'pier.lock'));
  } finally {
    cleanup();
  }
});

test('crash: copy files mid-run (no close), cut random tail bytes, recover a consistent prefix', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const s = Storage.open({ dataDir: dir, fsync: 'always', segmentSizeBytes: 4096, logger: () => {} });
    const q = s.openQueueStore('/', 'crash');
    let confirmed = 0;
    for (let i = 0; i < 2000; i++) {
      q.push(makeMessage(`msg-${String(i).padStart(5, '0')}-${'z'.repeat(i % 40)}`));
      if (i % 100 === 99) {
        const upTo = i + 1;
        s.committer.afterDurable(() => {
          confirmed = upTo;
        });
        await new Promise((r) => setImmediate(r));
      }
    }
    // Settle the first 300 as a consumer would.
    for (let i = 0; i < 300; i++) q.settle(q.shift()!);
    await new Promise<void>((resolve) => s.committer.afterDurable(resolve));
    const queueDir = q.dir;
    for (let trial = 0; trial < 20; trial++) {
      const copy = join(dir, `..`, `${fs.realpathSync(dir).split('/').pop()}-copy-${trial}`);
      fs.cpSync(queueDir, copy, { recursive: true });
      const segs = fs
        .readdirSync(copy)
        .filter((n) => n.endsWith('.seg'))
        .sort();
      // Cut a random number of bytes off the newest segment (a torn last write).
      const last = join(copy, segs[segs.length - 1]!);
      const size = fs.statSync(last).size;
      const cut = Math.floor(Math.random() * Math.min(size, 600));
      fs.truncateSync(last, size - cut);
      const lines: string[] = [];
      const { DiskQueueStore } = await import('../../src/storage/amqp/disk-queue-store.js');
      const { GroupCommitter } = await import('../../src/storage/group-commit.js');
      const gc = new GroupCommitter({ fsync: 'never' });
      const r = DiskQueueStore.open(copy, gc, { segmentSizeBytes: 4096, logger: (l) => lines.push(l) });
      const bodies: string[] = [];
      for (let m = r.shift(); m; m = r.shift()) bodies.push(m.message.body!.toString());
      // A consistent prefix: starts right after the settled ones, contiguous, no gaps.
      assert.ok(bodies.length <= 1700, `${bodies.length}`);
      for (let i = 0; i < bodies.length; i++) {
        assert.equal(bodies[i]!.slice(0, 9), `msg-${String(300 + i).padStart(5, '0')}`);
      }
      // Lines are logged unless the cut fell exactly on a record boundary.
      if (cut > 0)
        assert.ok(bodies.length < 1700, `cut ${cut} of ${size}: ${bodies.length} bodies, ${lines.join(';')}`);
      else assert.equal(bodies.length, 1700);
      r.close();
      await gc.close();
      fs.rmSync(copy, { recursive: true, force: true });
    }
    assert.equal(confirmed, 2000);
    await s.close();
  } finally {
    cleanup();
  }
});
