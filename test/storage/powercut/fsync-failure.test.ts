/**
 * fsync failure is fail-stop: a failed fdatasync never acknowledges the data it covered, storage
 * accepts no further writes, says so (log line, Storage.failure, onFailure hook) and never retries
 * the sync — after a failed writeback Linux may have dropped the dirty pages, so a retry could
 * "succeed" without them (Postgres' fsyncgate).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Message } from '../../../src/core/message.js';
import { ResourceMonitor } from '../../../src/resources/resource-monitor.js';
import { StorageFailedError } from '../../../src/storage/group-commit.js';
import { Storage } from '../../../src/storage/storage.js';
import { SimFs } from './sim-fs.js';

function message(body: string): Message {
  const b = Buffer.from(body);
  return {
    exchange: '',
    routingKey: 'q',
    properties: Buffer.from([0x10, 0x00, 0x02]),
    body: b,
    bodySizeBytes: b.length,
    persistent: true,
    publishedAtMs: 1_700_000_000_000,
    priority: 0,
  };
}

const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
};

test('fsync failure: the data it covered is never acknowledged, writes stop, the failure is reported once, the sync is not retried', async () => {
  const fs = new SimFs();
  const lines: string[] = [];
  const failures: Error[] = [];
  const storage = Storage.open({
    dataDir: '/data',
    fsync: 'always',
    fs,
    logger: (line) => lines.push(line),
    onFailure: (err) => failures.push(err),
  });
  // The broker's wiring (broker.ts): a failure raises the disk alarm, which publishers, the health
  // check and the metrics see.
  const alarms = new ResourceMonitor(
    '/data',
    { diskFreeBytes: () => 1e12, memoryUsedBytes: () => 0 },
    () => {},
  );
  storage.onFailure((err) => alarms.storageFailed(err));
  alarms.check();
  const queue = storage.openQueueStore('/', 'q');
  const acked: string[] = [];
  queue.push(message('before'));
  storage.committer.afterDurable(() => acked.push('before'));
  await turns(5);
  assert.deepEqual(acked, ['before']);
  assert.equal(storage.failure, undefined);

  fs.failNextSync();
  queue.push(message('covered'));
  storage.committer.afterDurable(() => acked.push('covered'));
  await turns(5);
  assert.deepEqual(acked, ['before'], 'the write the failed sync covered was acknowledged');
  assert.equal(failures.length, 1);
  assert.equal((failures[0] as NodeJS.ErrnoException).code, 'EIO');
  assert.equal(storage.failure, failures[0]);
  assert.deepEqual([...alarms.active], ['disk']);
  assert.match(alarms.refusal() ?? '', /failed fdatasync \(EIO.*restart the broker/);
  alarms.check(); // plenty of free space does not clear it
  assert.deepEqual([...alarms.active], ['disk']);
  assert.equal(alarms.storageFailure, failures[0]);
  assert.ok(
    lines.some((l) => l.includes('storage FAILED') && l.includes('Restart the broker')),
    lines.join('\n'),
  );

  const syncCalls = fs.counters.syncCalls;
  assert.throws(() => queue.push(message('after')), StorageFailedError);
  storage.committer.afterDurable(() => acked.push('later'));
  await turns(10);
  assert.deepEqual(acked, ['before']);
  assert.equal(fs.counters.syncCalls, syncCalls, 'the failed fdatasync was retried');
  await assert.rejects(storage.committer.flush(), /EIO/);
  assert.equal(failures.length, 1);

  // Power cut now: the acknowledged message is on disk; recovery works from what the disk holds.
  await storage.close().catch(() => {});
  const disk = fs.crashImage(Math.random, 'drop');
  const restarted = Storage.open({ dataDir: '/data', fsync: 'always', fs: disk, logger: () => {} });
  const recovered = restarted.openQueueStore('/', 'q');
  assert.equal(String(recovered.shift()?.message.body), 'before');
  assert.equal(restarted.failure, undefined);
  await restarted.close();
});

test('fsync failure in the definitions store: the change is refused, and so is every later one, without another sync', async () => {
  const fs = new SimFs();
  const storage = Storage.open({ dataDir: '/defs', fsync: 'always', fs, logger: () => {} });
  const failures: Error[] = [];
  storage.onFailure((err) => failures.push(err));
  storage.definitions.put('queue', 'a', { n: 1 });
  fs.failNextSync();
  assert.throws(() => storage.definitions.put('queue', 'b', { n: 2 }), StorageFailedError);
  assert.equal(failures.length, 1, 'the broker hears of a definitions failure too');
  const syncCalls = fs.counters.syncCalls;
  assert.throws(() => storage.definitions.put('queue', 'c', { n: 3 }), StorageFailedError);
  assert.throws(() => storage.definitions.delete('queue', 'a'), StorageFailedError);
  assert.equal(fs.counters.syncCalls, syncCalls);
  assert.equal((storage.failure as NodeJS.ErrnoException).code, 'EIO');
  await storage.close().catch(() => {});
  const disk = fs.crashImage(Math.random, 'drop');
  const restarted = Storage.open({ dataDir: '/defs', fsync: 'always', fs: disk, logger: () => {} });
  assert.deepEqual(restarted.definitions.get('queue', 'a'), { n: 1 });
  assert.equal(restarted.definitions.get('queue', 'b'), undefined);
  await restarted.close();
});
