import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { type CommitFs, GroupCommitter } from '../../src/storage/group-commit.js';
import type { StorageFs } from '../../src/storage/storage-fs.js';
import { nextTurn, tempDir } from './helpers.js';
import { SimFs, seededRandom } from './powercut/sim-fs.js';

/** Real fs calls, counted; fdatasync completions can be held back to observe in-flight rounds. */
function countingFs() {
  const counts = { writes: 0, syncs: 0, syncSyncs: 0 };
  const held: Array<() => void> = [];
  let hold = false;
  let failWrite: NodeJS.ErrnoException | undefined;
  const layer: CommitFs = {
    writeSync(fd, buffer, offset, length, position) {
      if (failWrite) throw failWrite;
      counts.writes++;
      return fs.writeSync(fd, buffer, offset, length, position);
    },
    fdatasync(fd, cb) {
      counts.syncs++;
      const run = () => fs.fdatasync(fd, cb);
      if (hold) held.push(run);
      else run();
    },
    fdatasyncSync(fd) {
      counts.syncSyncs++;
      fs.fdatasyncSync(fd);
    },
  };
  return {
    layer,
    counts,
    held,
    setHold: (h: boolean) => {
      hold = h;
    },
    setFailWrite: (e: NodeJS.ErrnoException | undefined) => {
      failWrite = e;
    },
  };
}

test('appends in one turn: one write and one fdatasync per file, callbacks in order after sync', async () => {
  const { dir, cleanup } = tempDir();
  const c = countingFs();
  const gc = new GroupCommitter({ fsync: 'always', fs: c.layer });
  try {
    const a = gc.openFile(join(dir, 'a'));
    const b = gc.openFile(join(dir, 'b'));
    const order: number[] = [];
    for (let i = 0; i < 1000; i++) {
      (i % 2 ? a : b).append(Buffer.from(`rec${i};`));
      gc.afterDurable(() => order.push(i));
    }
    assert.equal(c.counts.writes, 0, 'nothing written synchronously');
    await nextTurn();
    assert.equal(c.counts.writes, 2, 'one write per dirty file');
    assert.equal(
      fs.readFileSync(join(dir, 'a'), 'utf8').startsWith('rec1;rec3;'),
      true,
      'visible right after the turn',
    );
    await gc.flush();
    assert.equal(c.counts.syncs, 2, 'one fdatasync per dirty file');
    assert.equal(order.length, 1000);
    assert.deepEqual(
      order,
      order.map((_, i) => i),
    );
    a.close();
    b.close();
  } finally {
    await gc.close();
    cleanup();
  }
});

test('callbacks registered while a round is in flight wait for the next round', async () => {
  const { dir, cleanup } = tempDir();
  const c = countingFs();
  const gc = new GroupCommitter({ fsync: 'always', fs: c.layer });
  try {
    const f = gc.openFile(join(dir, 'f'));
    const fired: string[] = [];
    c.setHold(true);
    f.append(Buffer.from('one'));
    gc.afterDurable(() => fired.push('one'));
    await nextTurn();
    assert.equal(c.counts.syncs, 1, 'round 1 in flight');
    // Next turn: more appends; they stay staged while round 1 syncs (a write into the file being
    // synced would make the fdatasync chase it) and their callbacks wait for round 2.
    f.append(Buffer.from('two'));
    gc.afterDurable(() => fired.push('two'));
    f.append(Buffer.from('three'));
    gc.afterDurable(() => fired.push('three'));
    await nextTurn();
    assert.equal(c.counts.writes, 1, 'second batch not written while round 1 syncs');
    assert.equal(c.counts.syncs, 1, 'no overlapping round');
    assert.deepEqual(fired, []);
    c.setHold(false);
    c.held.shift()!();
    // Callbacks fire in order: one registered now fires after 'three' (no sleep: the second
    // fdatasync is real and takes as long as the disk does).
    await new Promise<void>((resolve) => gc.afterDurable(resolve));
    assert.deepEqual(fired, ['one', 'two', 'three']);
    assert.equal(c.counts.writes, 2, 'the second batch written once round 1 ended');
    assert.equal(c.counts.syncs, 2, 'the two later appends shared one fdatasync');
    f.close();
  } finally {
    await gc.close();
    cleanup();
  }
});

test("policy 'never' and 'interval' fire callbacks after the write, without waiting for fdatasync", async () => {
  const { dir, cleanup } = tempDir();
  for (const fsync of ['never', 'interval'] as const) {
    const c = countingFs();
    const gc = new GroupCommitter({ fsync, fsyncIntervalMs: 20, fs: c.layer });
    const f = gc.openFile(join(dir, fsync));
    const fired: number[] = [];
    f.append(Buffer.from('x'));
    gc.afterDurable(() => fired.push(1));
    await nextTurn();
    assert.deepEqual(fired, [1]);
    assert.equal(c.counts.syncs, 0);
    if (fsync === 'interval') {
      await new Promise((r) => setTimeout(r, 60));
      assert.ok(c.counts.syncSyncs >= 1, 'timer syncs');
    }
    await gc.flush();
    f.close();
    await gc.close();
  }
  cleanup();
});

test('a write error is reported, durability callbacks wait, and the retry succeeds', async () => {
  const { dir, cleanup } = tempDir();
  const c = countingFs();
  const errors: string[] = [];
  const gc = new GroupCommitter({
    fsync: 'always',
    fs: c.layer,
    onError: (e) => errors.push(e.message),
    retryDelayMs: 20,
  });
  try {
    const f = gc.openFile(join(dir, 'f'));
    const enospc = Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    c.setFailWrite(enospc);
    const fired: number[] = [];
    f.append(Buffer.from('data'));
    gc.afterDurable(() => fired.push(1));
    await nextTurn();
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /ENOSPC/);
    assert.deepEqual(fired, []);
    c.setFailWrite(undefined);
    // The retry timer writes and syncs; a callback registered now fires after the first one.
    await new Promise<void>((resolve) => gc.afterDurable(resolve));
    assert.deepEqual(fired, [1]);
    assert.equal(fs.readFileSync(join(dir, 'f'), 'utf8'), 'data');
    f.close();
  } finally {
    await gc.close();
    cleanup();
  }
});

test('an fdatasync error is reported and no later callback claims durability', async () => {
  const { dir, cleanup } = tempDir();
  const errors: string[] = [];
  const layer: CommitFs = {
    writeSync: (fd, b, o, l, p) => fs.writeSync(fd, b, o, l, p),
    fdatasync: (_fd, cb) => cb(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' })),
    fdatasyncSync: () => {},
  };
  const gc = new GroupCommitter({ fsync: 'always', fs: layer, onError: (e) => errors.push(e.message) });
  const f = gc.openFile(join(dir, 'f'));
  const fired: number[] = [];
  f.append(Buffer.from('x'));
  gc.afterDurable(() => fired.push(1));
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(fired, []);
  assert.match(errors[0]!, /EIO/);
  await assert.rejects(gc.flush(), /EIO/);
  assert.ok(gc.error);
  cleanup();
});

test('afterDurable with nothing written fires on the next turn, still in order', async () => {
  const gc = new GroupCommitter({ fsync: 'always' });
  const fired: number[] = [];
  gc.afterDurable(() => fired.push(1));
  gc.afterDurable(() => fired.push(2));
  assert.deepEqual(fired, []);
  await nextTurn();
  await nextTurn();
  assert.deepEqual(fired, [1, 2]);
  await gc.close();
});

test("a lazy-sync file is written each turn but fdatasync'd only by flush(); closing it does not wait", async () => {
  const { dir, cleanup } = tempDir();
  const c = countingFs();
  const gc = new GroupCommitter({ fsync: 'always', fs: c.layer });
  try {
    const data = gc.openFile(join(dir, 'data'));
    const acks = gc.openFile(join(dir, 'acks'), { lazySync: true });
    data.append(Buffer.from('message'));
    acks.append(Buffer.from('ack'));
    await new Promise<void>((resolve) => gc.afterDurable(resolve));
    assert.equal(c.counts.syncs, 1, 'the round synced the data file only');
    assert.equal(fs.readFileSync(join(dir, 'acks'), 'utf8'), 'ack', 'the ack was written');
    acks.append(Buffer.from('-more'));
    await gc.flush();
    assert.equal(c.counts.syncs, 2, 'flush() synced the lazy file as well');
    acks.append(Buffer.from('-last'));
    await nextTurn();
    acks.close();
    assert.equal(acks.closed, true, 'closed at once, its bytes written');
    assert.equal(fs.readFileSync(join(dir, 'acks'), 'utf8'), 'ack-more-last');
    data.close();
  } finally {
    await gc.close();
    cleanup();
  }
});

test("a new file's directory is fsync'd in the sync round, off the event loop, before its data counts as durable", async () => {
  const sim = new SimFs();
  sim.mkdirSync('/data', { recursive: true });
  sim.fsyncSync(sim.openSync('/', 'r'));
  const syncCalls: string[] = [];
  const layer: Partial<StorageFs> = {
    openSync: (path, flags, mode) => sim.openSync(path, flags, mode),
    closeSync: (fd) => sim.closeSync(fd),
    writeSync: (fd, buffer, offset, length, position) => sim.writeSync(fd, buffer, offset, length, position),
    fdatasync: (fd, cb) => sim.fdatasync(fd, cb),
    constants: sim.constants,
    fsyncSync: (fd) => {
      syncCalls.push('fsyncSync');
      sim.fsyncSync(fd);
    },
    fsync: (fd, cb) => {
      syncCalls.push('fsync');
      sim.fsync(fd, cb);
    },
  };
  const gc = new GroupCommitter({ fsync: 'always', fs: layer });
  const file = gc.openFile('/data/seg');
  assert.deepEqual(syncCalls, [], 'opening does not wait for the directory');
  file.append(Buffer.from('record'));
  let durable = false;
  gc.afterDurable(() => {
    durable = true;
    // A power cut now, keeping nothing that was pending, must still leave the file and its bytes.
    const image = sim.crashImage(seededRandom(1), 'drop');
    assert.equal(image.readFileSync('/data/seg').toString(), 'record');
  });
  const cutBefore = sim.crashImage(seededRandom(1), 'drop');
  assert.equal(cutBefore.existsSync('/data/seg'), false, 'not durable before the round');
  await gc.flush();
  assert.ok(durable);
  assert.deepEqual(syncCalls, ['fsync'], 'one directory fsync, on the pool');
  file.close();
  await gc.close();
});

test('syncNow makes a new file durable with its directory entry', () => {
  const sim = new SimFs();
  sim.mkdirSync('/data', { recursive: true });
  sim.fsyncSync(sim.openSync('/', 'r'));
  const gc = new GroupCommitter({ fsync: 'always', fs: sim });
  const file = gc.openFile('/data/seg');
  file.append(Buffer.from('sealed'));
  file.syncNow();
  assert.equal(sim.crashImage(seededRandom(2), 'drop').readFileSync('/data/seg').toString(), 'sealed');
  file.close();
});

test("a closed file's grown staging buffer serves the next file that outgrows its own", async () => {
  const { dir, cleanup } = tempDir();
  const gc = new GroupCommitter({ fsync: 'always' });
  try {
    const first = gc.openFile(join(dir, 'first'));
    first.append(Buffer.alloc(1024 * 1024, 1));
    const grown = first.staging;
    assert.ok(grown.length >= 1024 * 1024);
    first.close();
    const second = gc.openFile(join(dir, 'second'));
    second.append(Buffer.alloc(100, 2));
    assert.notEqual(second.staging, grown, 'a small file keeps its own');
    second.append(Buffer.alloc(512 * 1024, 3));
    assert.equal(second.staging, grown, 'outgrowing it takes the spare');
    await gc.flush();
    assert.deepEqual(fs.readFileSync(join(dir, 'first')), Buffer.alloc(1024 * 1024, 1));
    const expected = Buffer.concat([Buffer.alloc(100, 2), Buffer.alloc(512 * 1024, 3)]);
    assert.deepEqual(fs.readFileSync(join(dir, 'second')), expected);
    second.close();
  } finally {
    await gc.close();
    cleanup();
  }
});
