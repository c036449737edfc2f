/**
 * The broker-backed processed-id store (StreamProcessedIds) as a suite run against an in-process
 * Pier (stream-processed-ids.test.ts) and against the reference RabbitMQ 3.10
 * (test/differential/jobs-reliability.test.ts): a worker process that recorded a job's completion
 * and died before its ack, whose redelivery another worker (another process, another connection)
 * acknowledges without running; the read barrier; the TTL; a store rebuilt from the stream.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import amqplib from 'amqplib';
import { Queue, StreamProcessedIds, Worker } from '../../src/jobs/index.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/stream-store-worker.js', import.meta.url));

export interface StreamStoreTarget {
  url(): string;
}

function startRecordingWorker(url: string, queue: string, stream: string) {
  const child = spawn(process.execPath, [FIXTURE, url, queue, stream], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit');
  const lines = createInterface({ input: child.stdout! });
  const seen = (prefix: string) =>
    new Promise<string>((resolve) => {
      const listener = (line: string) => {
        if (line.startsWith(prefix)) {
          lines.off('line', listener);
          resolve(line);
        }
      };
      lines.on('line', listener);
    });
  return { child, exited, seen };
}

export function streamStoreSuite(target: StreamStoreTarget): void {
  const unique = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;
  const deleteStream = async (stream: string) => {
    const admin = await amqplib.connect(target.url());
    const channel = await admin.createChannel();
    await channel.deleteQueue(stream);
    await admin.close();
  };

  test('a job recorded as completed by worker A, whose process dies before its ack, is acked by worker B without running', async () => {
    const name = unique('shared-ids');
    const stream = `${name}.processed`;
    const queue = new Queue<number, string>(name, { connection: target.url() });
    // B's replica is built before A records anything: only the barrier makes it see A's record.
    const storeB = new StreamProcessedIds({ connection: target.url(), stream });
    await storeB.start();
    const a = startRecordingWorker(target.url(), name, stream);
    try {
      await a.seen('ready');
      const ran = a.seen('ran');
      const recorded = a.seen('recorded');
      const job = await queue.add('charge', 42, { jobId: 'order-42', attempts: 3 });
      assert.equal(await ran, 'ran order-42');
      assert.equal(await recorded, 'recorded order-42');
      // The record is confirmed; the job's delivery is still unacked. Kill A in that window.
      a.child.kill('SIGKILL');
      await a.exited;

      const runs: string[] = [];
      const b = new Worker<number, string>(name, (active) => void runs.push(active.id) as never, {
        connection: target.url(),
        processedIds: storeB,
      });
      const duplicate = once(b, 'duplicate');
      await b.run();
      try {
        assert.deepEqual(await duplicate, [job.id]);
        assert.deepEqual(runs, []);
        const counts = await queue.counts();
        assert.equal(counts.waiting, 0);
        assert.equal(counts.deadLettered, 0);
      } finally {
        await b.close();
      }
    } finally {
      a.child.kill('SIGKILL');
      await storeB.close();
      await queue.destroy();
      await deleteStream(stream);
    }
  });

  test('the read barrier: a completion confirmed on one connection is seen on another after has(id, { mayHaveRun }), every time', async (t: TestContext) => {
    const stream = unique('barrier-ids');
    const writer = new StreamProcessedIds({ connection: target.url(), stream });
    const reader = new StreamProcessedIds({ connection: target.url(), stream });
    await Promise.all([writer.start(), reader.start()]);
    let staleWithoutBarrier = 0;
    try {
      for (let i = 0; i < 200; i++) {
        await writer.add(`job-${i}`);
        if (!(await reader.has(`job-${i}`))) staleWithoutBarrier++;
        assert.equal(await reader.has(`job-${i}`, { mayHaveRun: true }), true, `job-${i} after the barrier`);
      }
      assert.equal(await reader.has('never-added', { mayHaveRun: true }), false);
      // Concurrent barriers share a marker: 50 at once cost far fewer than 50 records.
      const before = reader.recordsRead;
      await Promise.all(Array.from({ length: 50 }, (_, i) => reader.has(`job-${i}`, { mayHaveRun: true })));
      assert.ok(reader.recordsRead - before < 10, `${reader.recordsRead - before} records for 50 barriers`);
      t.diagnostic(`${staleWithoutBarrier} of 200 lookups without the barrier missed a just-confirmed id`);
    } finally {
      await Promise.all([writer.close(), reader.close()]);
      await deleteStream(stream);
    }
  });

  test('a restarted worker rebuilds its replica from the stream', async () => {
    const stream = unique('restart-ids');
    const first = new StreamProcessedIds({ connection: target.url(), stream });
    const ids = Array.from({ length: 1_000 }, (_, i) => `job-${i}`);
    try {
      await Promise.all(ids.map((id) => first.add(id)));
      await first.close();
      const restarted = new StreamProcessedIds({ connection: target.url(), stream });
      try {
        await restarted.start(); // reads the stream up to now before it answers
        assert.equal(restarted.size, 1_000);
        for (const id of ids) assert.equal(await restarted.has(id), true, id);
        assert.equal(await restarted.has('job-1000'), false);
      } finally {
        await restarted.close();
      }
    } finally {
      await deleteStream(stream);
    }
  });

  test('TTL: an id is forgotten ttlMs after its record, also by a store started later; the stream is declared with that x-max-age', async () => {
    const stream = unique('ttl-ids');
    let nowMs = Date.now();
    const ttlMs = 3_600_000;
    const store = new StreamProcessedIds({ connection: target.url(), stream, ttlMs, now: () => nowMs });
    try {
      await store.add('early');
      nowMs += ttlMs / 2;
      await store.add('late');
      assert.equal(await store.has('early'), true);
      nowMs += ttlMs / 2; // 'early' is exactly ttlMs old
      assert.equal(await store.has('early', { mayHaveRun: true }), false);
      assert.equal(await store.has('late'), true);
      const later = new StreamProcessedIds({ connection: target.url(), stream, ttlMs, now: () => nowMs });
      try {
        assert.equal(await later.has('early', { mayHaveRun: true }), false);
        assert.equal(await later.has('late', { mayHaveRun: true }), true);
        nowMs += ttlMs / 2;
        assert.equal(await later.has('late'), false);
      } finally {
        await later.close();
      }
      // Workers must agree on the TTL: it is the stream's x-max-age, which the broker checks.
      const disagreeing = new StreamProcessedIds({ connection: target.url(), stream, ttlMs: 60_000 });
      await assert.rejects(disagreeing.start(), /every worker must use the same ttlMs/);
      await disagreeing.close();
    } finally {
      await store.close();
      await deleteStream(stream);
    }
  });

  test('a lost connection: a store on a connection it was given fails its barriers; one that opened its own reconnects and catches up', async () => {
    const stream = unique('reconnect-ids');
    const given = await amqplib.connect(target.url());
    const borrowed = new StreamProcessedIds({ connection: given, stream });
    const owned = new StreamProcessedIds({ connection: target.url(), stream });
    const other = new StreamProcessedIds({ connection: target.url(), stream });
    try {
      await Promise.all(Array.from({ length: 100 }, (_, i) => borrowed.add(`before-${i}`)));
      await Promise.all([owned.start(), other.start()]);
      assert.equal(await owned.has('before-99'), true);
      await given.close();
      // The job would be given back rather than decided on a replica that stopped following.
      await assert.rejects(borrowed.has('before-0', { mayHaveRun: true }), /lost its connection|closed/);
      // The owned store's connection goes away (as when the broker drops it).
      const live = (owned as unknown as { live: { connection: amqplib.ChannelModel } }).live;
      const closed = once(live.connection, 'close');
      await live.connection.close();
      await closed;
      await other.add('while-away');
      assert.equal(await owned.has('while-away', { mayHaveRun: true }), true);
      assert.equal(owned.size, 101);
      assert.equal(await owned.has('before-0'), true);
    } finally {
      await Promise.all([borrowed.close(), owned.close(), other.close()]);
      await deleteStream(stream);
    }
  });
}
