/**
 * Full disk (ENOSPC) on the simulated disk: nothing is acknowledged that is not stored, consumers
 * keep draining, and once space returns the stores resume without a restart (failed writes are
 * kept staged and retried). ENOSPC from fdatasync is fail-stop like EIO: the kernel may have
 * dropped the pages it could not place, so nothing more is promised until a restart.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DiskQueueStore } from '../../../src/storage/amqp/disk-queue-store.js';
import { DiskDefinitionsStore } from '../../../src/storage/disk-definitions-store.js';
import { GroupCommitter, StorageFailedError } from '../../../src/storage/group-commit.js';
import { DiskStreamStore } from '../../../src/storage/stream/disk-stream-store.js';
import { message } from './cases.js';
import { SimFs } from './sim-fs.js';

/** Lets the committer run `n` event-loop turns and its retry timer (retryDelayMs 1) fire. */
async function settleFor(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setTimeout(r, 1));
}

async function waitFor(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !ok(); i++) await settleFor(1);
  assert.ok(ok(), `timed out waiting for ${what}`);
}

function committerOn(fs: SimFs, errors: string[]): GroupCommitter {
  return new GroupCommitter({
    fsync: 'always',
    fs,
    retryDelayMs: 1,
    onError: (err) => errors.push((err as NodeJS.ErrnoException).code ?? err.message),
  });
}

function queueIds(store: DiskQueueStore): number[] {
  const ids: number[] = [];
  for (let q = store.shift(); q; q = store.shift()) ids.push(Number(String(q.message.body).slice(1)));
  return ids;
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

test('disk full: an AMQP queue confirms nothing it could not write, keeps delivering, and resumes when space returns', async () => {
  const fs = new SimFs();
  const errors: string[] = [];
  const committer = committerOn(fs, errors);
  const store = DiskQueueStore.open('/data/q', committer, { segmentSizeBytes: 600 });
  // What the broker's disk alarm hears (broker.ts: committer.onWriteState -> diskWriteFailing).
  const writeStates: Array<string | undefined> = [];
  committer.onWriteState((err) => writeStates.push((err as NodeJS.ErrnoException | undefined)?.code));
  const confirmed = new Set<number>();
  const publish = (id: number) => {
    store.push(message(`m${id}`));
    committer.afterDurable(() => confirmed.add(id));
  };
  for (const id of range(0, 10)) publish(id);
  await waitFor('the first confirms', () => confirmed.size === 10);

  fs.diskFull = 'writes';
  for (const id of range(10, 30)) publish(id); // 20 × 35 bytes: the log rolls to a new segment
  // Consumers keep draining what is stored.
  for (let i = 0; i < 5; i++) store.settle(store.shift()!);
  await settleFor(20);
  assert.deepEqual(
    [...confirmed].sort((a, b) => a - b),
    range(0, 10),
    'confirmed while the disk was full',
  );
  assert.ok(errors.includes('ENOSPC'), `errors reported: ${errors.join(', ')}`);
  assert.deepEqual(writeStates, ['ENOSPC'], 'the failing write is reported once, while it lasts');
  assert.equal(
    committer.error,
    undefined,
    'a failed write stopped the committer (only a failed sync should)',
  );

  // A power cut now keeps every confirmed, unsettled message.
  const during = committerOn(fs.crashImage(Math.random, 'drop'), []);
  const whileFull = DiskQueueStore.open('/data/q', during, { segmentSizeBytes: 600 });
  const keptWhileFull = queueIds(whileFull);
  for (const id of range(5, 10)) assert.ok(keptWhileFull.includes(id), `m${id} lost: ${keptWhileFull}`);
  whileFull.close();

  fs.diskFull = undefined;
  await waitFor('the confirms once space returned', () => confirmed.size === 30);
  publish(30);
  await waitFor('a confirm after space returned', () => confirmed.has(30));
  assert.equal(committer.error, undefined);
  assert.deepEqual(writeStates, ['ENOSPC', undefined], 'writes going through again are reported');
  store.close();
  await committer.close();

  const after = committerOn(fs.crashImage(Math.random, 'drop'), []);
  const recovered = DiskQueueStore.open('/data/q', after, { segmentSizeBytes: 600 });
  const ids = queueIds(recovered);
  assert.deepEqual(
    ids.filter((id) => id >= 5),
    range(5, 31),
  );
  recovered.close();
});

test('disk full: a stream refuses or holds appends without confirming them, and resumes when space returns', async () => {
  const fs = new SimFs();
  const errors: string[] = [];
  const committer = committerOn(fs, errors);
  const open = (c: GroupCommitter) =>
    DiskStreamStore.open('/data/s', c, { segmentSizeBytes: 400, indexIntervalBytes: 128 });
  const stream = open(committer);
  let confirmedUpTo = 0;
  let refused = 0;
  const append = () => {
    const offset = stream.nextOffset;
    try {
      stream.append({
        offset,
        offsetCount: 1,
        timestampMs: 1_700_000_000_000 + offset,
        message: undefined,
        payload: Buffer.from(`s${offset}:${'x'.repeat(30)}`),
      });
    } catch (err) {
      // Rolling needs the sealed segment synced first: with no space, the append is refused.
      assert.match((err as Error).message, /ENOSPC|failed/);
      refused++;
      return;
    }
    committer.afterDurable(() => {
      confirmedUpTo = Math.max(confirmedUpTo, offset + 1);
    });
  };
  for (let i = 0; i < 5; i++) append();
  await waitFor('the first confirms', () => confirmedUpTo === 5);
  fs.diskFull = 'writes';
  for (let i = 0; i < 20; i++) append();
  await settleFor(20);
  assert.equal(confirmedUpTo, 5, 'an append was confirmed while the disk was full');
  assert.ok(refused > 0, 'no append reached a segment roll');
  assert.ok(errors.includes('ENOSPC'));
  assert.equal(committer.error, undefined);
  // Readers keep reading what is stored.
  assert.equal(stream.read(0, 5, 1_000_000).length, 5);

  fs.diskFull = undefined;
  for (let i = 0; i < 20; i++) append();
  const end = stream.nextOffset;
  await waitFor('the confirms once space returned', () => confirmedUpTo === end);
  stream.close();
  await committer.close();

  const recovered = open(committerOn(fs.crashImage(Math.random, 'drop'), []));
  assert.equal(recovered.nextOffset, end);
  let expected = 0;
  for (let got = recovered.read(0, 1000, 1e9); got.length > 0; got = recovered.read(expected, 1000, 1e9))
    for (const e of got) {
      assert.equal(e.offset, expected);
      assert.ok(e.payload.toString().startsWith(`s${e.offset}:`));
      expected = e.offset + 1;
    }
  assert.equal(expected, end);
  recovered.close();
});

test('disk full at fdatasync is fail-stop: nothing it covered is confirmed, later writes are refused, recovery keeps the confirmed', async () => {
  const fs = new SimFs();
  const errors: string[] = [];
  const committer = committerOn(fs, errors);
  const store = DiskQueueStore.open('/data/q', committer, { segmentSizeBytes: 600 });
  const confirmed: number[] = [];
  store.push(message('m0'));
  committer.afterDurable(() => confirmed.push(0));
  await waitFor('the first confirm', () => confirmed.length === 1);
  fs.diskFull = 'syncs';
  store.push(message('m1'));
  committer.afterDurable(() => confirmed.push(1));
  await settleFor(10);
  assert.deepEqual(confirmed, [0]);
  assert.equal((committer.error as NodeJS.ErrnoException | undefined)?.code, 'ENOSPC');
  fs.diskFull = undefined;
  assert.throws(() => store.push(message('m2')), StorageFailedError);
  await settleFor(5);
  assert.deepEqual(confirmed, [0], 'space came back and the committer confirmed after a failed sync');
  store.close();
  const recovered = DiskQueueStore.open('/data/q', committerOn(fs.crashImage(Math.random, 'drop'), []), {
    segmentSizeBytes: 600,
  });
  assert.deepEqual(queueIds(recovered), [0]);
  recovered.close();
});

test('disk full: a definition change is refused, a compaction is skipped without stopping the store, both work when space returns', () => {
  const fs = new SimFs();
  const lines: string[] = [];
  const store = DiskDefinitionsStore.open('/data/definitions', {
    fs,
    compactAfterRecords: 1000,
    logger: (l) => lines.push(l),
  });
  store.put('queue', 'a', { n: 1 });
  fs.diskFull = 'writes';
  assert.throws(() => store.put('queue', 'b', { n: 2 }), /ENOSPC/);
  assert.equal(store.get('queue', 'b'), undefined);
  store.compact();
  assert.ok(
    lines.some((l) => l.includes('compaction skipped')),
    lines.join('\n'),
  );
  fs.diskFull = undefined;
  store.put('queue', 'b', { n: 2 });
  store.compact();
  store.put('queue', 'c', { n: 3 });
  store.close();
  const recovered = DiskDefinitionsStore.open('/data/definitions', {
    fs: fs.crashImage(Math.random, 'drop'),
  });
  assert.deepEqual(
    recovered.entries().map((e) => [e.key, e.value]),
    [
      ['a', { n: 1 }],
      ['b', { n: 2 }],
      ['c', { n: 3 }],
    ],
  );
  recovered.close();
});

test('disk full mid-write: a short write keeps the rest staged, nothing partly written is confirmed, a power cut recovers every confirmed message', async () => {
  for (const mode of ['drop', 'torn', 'reorder'] as const) {
    const fs = new SimFs();
    const errors: string[] = [];
    const committer = committerOn(fs, errors);
    const store = DiskQueueStore.open('/data/q', committer, { segmentSizeBytes: 4096 });
    const confirmed = new Set<number>();
    const publish = (id: number) => {
      store.push(message(`m${id}`));
      committer.afterDurable(() => confirmed.add(id));
    };
    for (const id of range(0, 10)) publish(id);
    await waitFor('the first confirms', () => confirmed.size === 10);

    fs.spaceLeftBytes = 50; // about a record and a half: the write comes back short, then ENOSPC
    for (const id of range(10, 20)) publish(id);
    await settleFor(20);
    assert.deepEqual(
      [...confirmed].sort((a, b) => a - b),
      range(0, 10),
      `${mode}: confirmed while full`,
    );
    assert.ok(errors.includes('ENOSPC'), `errors reported: ${errors.join(', ')}`);
    assert.equal(committer.error, undefined);

    // A power cut now: every confirmed message, then at most whole records, never a torn one.
    const during = committerOn(fs.crashImage(Math.random, mode), []);
    const whileFull = DiskQueueStore.open('/data/q', during, { segmentSizeBytes: 4096 });
    const kept = queueIds(whileFull);
    assert.deepEqual(kept.slice(0, 10), range(0, 10), `${mode}: ${kept}`);
    assert.deepEqual(kept, range(0, kept.length), `${mode}: recovered out of order or damaged: ${kept}`);
    whileFull.close();

    fs.spaceLeftBytes = undefined;
    await waitFor('the confirms once space returned', () => confirmed.size === 20);
    store.close();
    await committer.close();
    const after = committerOn(fs.crashImage(Math.random, mode), []);
    const recovered = DiskQueueStore.open('/data/q', after, { segmentSizeBytes: 4096 });
    assert.deepEqual(queueIds(recovered), range(0, 20));
    recovered.close();
  }
});

test('disk full at file creation: an append that must roll to a new segment is refused, the log stays usable and resumes when space returns', async () => {
  const fs = new SimFs();
  const errors: string[] = [];
  const committer = committerOn(fs, errors);
  const store = DiskQueueStore.open('/data/q', committer, { segmentSizeBytes: 600 });
  const writeStates: Array<string | undefined> = [];
  committer.onWriteState((err) => writeStates.push((err as NodeJS.ErrnoException | undefined)?.code));
  const confirmed = new Set<number>();
  const accepted: number[] = [];
  const publish = (id: number) => {
    store.push(message(`m${id}`));
    accepted.push(id);
    committer.afterDurable(() => confirmed.add(id));
  };
  for (const id of range(0, 10)) publish(id);
  await waitFor('the first confirms', () => confirmed.size === 10);

  fs.diskFull = 'writes';
  fs.createsFail = true;
  const refused: number[] = [];
  for (const id of range(10, 40)) {
    try {
      publish(id);
    } catch (err) {
      assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
      refused.push(id);
    }
  }
  assert.ok(refused.length > 0, 'no append had to roll to a new segment');
  assert.equal(writeStates[0], 'ENOSPC', 'a refused file creation raises the disk alarm');
  await settleFor(20);
  assert.deepEqual(
    [...confirmed].sort((a, b) => a - b),
    range(0, 10),
    'confirmed while full',
  );

  fs.diskFull = undefined;
  fs.createsFail = false;
  for (const id of range(40, 45)) publish(id);
  await waitFor('the confirms once space returned', () => accepted.every((id) => confirmed.has(id)));
  assert.equal(writeStates.at(-1), undefined, 'the alarm clears once files can be created and written');
  store.close();
  await committer.close();
  const after = committerOn(fs.crashImage(Math.random, 'drop'), []);
  const recovered = DiskQueueStore.open('/data/q', after, { segmentSizeBytes: 600 });
  assert.deepEqual(queueIds(recovered), accepted);
  recovered.close();
});
