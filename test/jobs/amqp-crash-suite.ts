/**
 * Crashes and lease extension, as a suite run against an in-process Pier (worker-crash.test.ts)
 * and against the reference RabbitMQ 3.10 (test/differential/jobs-reliability.test.ts): worker
 * processes SIGKILLed mid-job (the broker redelivers; the lost run counts as an attempt), a job
 * that crashes every worker (dead-lettered after `attempts`, every crash in its history), a worker
 * killed while it held a job through its lease queue (the copy dead-letters back and counts), and
 * a job renewed many times through the lease queue (completes once, nothing left behind). The
 * library's assertions are the oracle on both brokers. What this cannot show on RabbitMQ: the
 * broker's own consumer timeout firing (RabbitMQ 3.10 sets consumer_timeout broker-wide only, 30
 * min by default, and the reference broker is shared); amqp-reliability.test.ts shows that on Pier.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import amqplib from 'amqplib';
import { type JobEvent, Queue, Worker } from '../../src/jobs/index.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/hanging-worker.js', import.meta.url));

export interface CrashSuiteTarget {
  /** The broker's AMQP URL (known once `before` ran). */
  url(): string;
}

/** Starts the fixture worker process; `seen(prefix)` resolves with its next stdout line so starting. */
export function startWorkerProcess(url: string, queue: string, mode: 'hang' | 'slow' | 'lease') {
  const child = spawn(process.execPath, [FIXTURE, url, queue, mode], {
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

export function amqpCrashSuite(target: CrashSuiteTarget): void {
  const unique = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;

  test('a worker killed with SIGKILL mid-job: the job is redelivered and completes exactly once', async () => {
    const name = unique('crash');
    const queue = new Queue<{ order: number }, string>(name, { connection: target.url() });
    const completed: JobEvent[] = [];
    queue.on('completed', (event) => completed.push(event));
    const { child, exited, seen } = startWorkerProcess(target.url(), name, 'hang');
    await seen('ready');
    const started = seen('started');
    const job = await queue.add('charge', { order: 17 }, { jobId: 'order-17', attempts: 3 });
    assert.equal(await started, 'started order-17 attempt 1');
    child.kill('SIGKILL');
    await exited;

    const runs: number[] = [];
    const rescuer = new Worker<{ order: number }, string>(
      name,
      (active) => {
        runs.push(active.attempt);
        return `charged order ${active.data.order}`;
      },
      { connection: target.url() },
    );
    await rescuer.run();
    try {
      assert.equal(await job.waitUntilFinished(10_000), 'charged order 17');
      assert.equal((await queue.counts()).waiting, 0);
      // The crashed run counts: the redelivery runs as attempt 2.
      assert.deepEqual(runs, [2]);
      assert.deepEqual(
        completed.map((e) => [e.jobId, e.result]),
        [['order-17', 'charged order 17']],
      );
    } finally {
      await rescuer.close();
      await queue.destroy();
    }
  });

  test('a job that crashes every worker running it: each crash counts, and after `attempts` it is dead-lettered', async () => {
    const name = unique('poison');
    const queue = new Queue<{ poison: true }>(name, { connection: target.url() });
    try {
      const job = await queue.add('poison', { poison: true }, { attempts: 3 });
      // Three worker processes in turn, each SIGKILLed once it started the job.
      for (let attempt = 1; attempt <= 3; attempt++) {
        const { child, exited, seen } = startWorkerProcess(target.url(), name, 'hang');
        assert.equal(await seen('started'), `started ${job.id} attempt ${attempt}`);
        child.kill('SIGKILL');
        await exited;
      }
      // The next worker finds the third attempt lost too: the job goes to the DLQ, unrun.
      let runs = 0;
      const last = new Worker<{ poison: true }>(name, () => void runs++, { connection: target.url() });
      const deadLettered = once(last, 'dead-lettered');
      await last.run();
      try {
        await deadLettered;
      } finally {
        await last.close();
      }
      assert.equal(runs, 0);
      const [dead] = await queue.deadLetters();
      assert.equal(dead?.id, job.id);
      assert.equal(dead?.reason, 'attempts-exhausted');
      assert.deepEqual(
        (dead!.history as Array<{ attempt: number; error: string }>).map((h) => [
          h.attempt,
          /stopped before it finished/.test(h.error),
        ]),
        [
          [1, true],
          [2, true],
          [3, true],
        ],
      );
      assert.equal((await queue.counts()).waiting, 0);
    } finally {
      await queue.destroy();
    }
  });

  test('a worker killed while holding a job through its lease queue: the copy returns, counted as a lost attempt', async () => {
    const name = unique('lease-crash');
    const queue = new Queue<number, string>(name, { connection: target.url() });
    const { child, exited, seen } = startWorkerProcess(target.url(), name, 'lease');
    await seen('ready');
    const leased = seen('leased');
    const job = await queue.add('long', 7, { attempts: 3 });
    assert.equal(await leased, `leased ${job.id}`);
    child.kill('SIGKILL');
    await exited;
    // The original delivery was acked when the job moved to the lease queue: only the copy is left,
    // and it comes back to the job queue by itself (after its lease TTL), to any worker.
    const runs: Array<[number, number]> = [];
    const rescuer = new Worker<number, string>(
      name,
      (active) => {
        runs.push([active.attempt, active.history.length]);
        return `done on attempt ${active.attempt}`;
      },
      { connection: target.url() },
    );
    await rescuer.run();
    try {
      assert.equal(await job.waitUntilFinished(20_000), 'done on attempt 2');
      assert.deepEqual(runs, [[2, 1]]);
      assert.equal((await queue.counts()).waiting, 0);
    } finally {
      await rescuer.close();
      await queue.destroy();
    }
  });

  test('a job renewed many times through the lease queue completes once and leaves nothing behind', async () => {
    const name = unique('lease-renew');
    const queue = new Queue<number, string>(name, { connection: target.url() });
    let runs = 0;
    // The worker believes the consumer timeout is 200 ms: it moves the job every ~100 ms, so a
    // 1.5 s job goes through the lease queue about a dozen times.
    const worker = new Worker<number, string>(
      name,
      async (job) => {
        runs++;
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        return `done on attempt ${job.attempt}`;
      },
      { connection: target.url(), consumerTimeoutMs: 200, concurrency: 2 },
    );
    await worker.run();
    try {
      const jobs = await queue.addBulk([1, 2].map((n) => ({ name: 'n', data: n, options: { attempts: 2 } })));
      assert.deepEqual(await Promise.all(jobs.map((job) => job.waitUntilFinished(20_000))), [
        'done on attempt 1',
        'done on attempt 1',
      ]);
      assert.equal(runs, 2);
      const admin = await amqplib.connect(target.url());
      try {
        const channel = await admin.createChannel();
        assert.equal((await channel.checkQueue(`jobs.${name}`)).messageCount, 0);
        assert.equal((await channel.checkQueue(`jobs.${name}.lease.${worker.workerId}`)).messageCount, 0);
      } finally {
        await admin.close();
      }
    } finally {
      await worker.close();
      await queue.destroy();
    }
  });
}
