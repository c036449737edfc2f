// A Pier child process SIGKILLed and restarted on the same port under a Queue and a Worker of the
// jobs library: adds made while it is down are retried until confirmed (none lost), the worker
// reconnects and consumes again, and every job completes exactly once.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { Queue, Worker } from '../../src/jobs/index.js';
import { type ChildBroker, spawnBroker, tempDir } from '../helpers/broker.js';

test('broker SIGKILLed and restarted: producers retry add, workers resume, every job completes once', async () => {
  const dataDir = tempDir();
  let broker: ChildBroker = await spawnBroker(dataDir);
  const { port, url } = broker;
  const queue = new Queue<number>('restart', { connection: url, retryAddForMs: 60_000 });
  const completions = new Map<number, number>();
  let expected = 0;
  let allDone: (() => void) | undefined;
  const worker = new Worker<number>(
    'restart',
    (job) => {
      completions.set(job.data, (completions.get(job.data) ?? 0) + 1);
      if (completions.size === expected) allDone?.();
    },
    { connection: url, concurrency: 10 },
  );
  const waitForAll = (count: number) =>
    new Promise<void>((resolve) => {
      expected = count;
      allDone = resolve;
      if (completions.size === count) resolve();
    });
  try {
    await worker.run();
    const firstDone = waitForAll(50);
    await queue.addBulk(
      Array.from({ length: 50 }, (_, i) => ({ name: 'n', data: i, options: { attempts: 5 } })),
    );
    await firstDone;

    broker.process.kill('SIGKILL');
    await broker.exited;
    // Added while the broker is down: retried until the restarted broker confirms them.
    const adding = queue.addBulk(
      Array.from({ length: 50 }, (_, i) => ({ name: 'n', data: 50 + i, options: { attempts: 5 } })),
    );
    broker = await spawnBroker(dataDir, ['--amqp-port', String(port)]);
    const added = await adding;
    assert.equal(added.length, 50);
    await waitForAll(100);
    assert.deepEqual(
      [...completions.entries()].filter(([, count]) => count !== 1),
      [],
      'a job ran more than once',
    );
    assert.equal(completions.size, 100);
  } finally {
    await worker.close();
    await queue.close();
    broker.process.kill('SIGKILL');
    await broker.exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
});
