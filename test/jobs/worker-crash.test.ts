// A worker process SIGKILLed in the middle of a job: the broker gives the job back, another worker
// completes it, and the producer sees it completed exactly once (one completed event, one result).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type JobEvent, Queue, Worker } from '../../src/jobs/index.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/hanging-worker.js', import.meta.url));

let broker: TestBroker;
before(async () => {
  broker = await startTestBroker();
});
after(async () => {
  await broker?.stop();
});

test('a worker killed with SIGKILL mid-job: the job is redelivered and completes exactly once', async () => {
  const queue = new Queue<{ order: number }, string>('crash', { connection: broker.url });
  const completed: JobEvent[] = [];
  queue.on('completed', (event) => completed.push(event));
  const child = spawn(process.execPath, [FIXTURE, broker.url, 'crash'], {
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
  await seen('ready');
  const started = seen('started');
  const job = await queue.add('charge', { order: 17 }, { jobId: 'order-17', attempts: 3 });
  assert.equal(await started, 'started order-17');
  child.kill('SIGKILL');
  await exited;

  const runs: number[] = [];
  const rescuer = new Worker<{ order: number }, string>(
    'crash',
    (active) => {
      runs.push(active.attempt);
      return `charged order ${active.data.order}`;
    },
    { connection: broker.url },
  );
  await rescuer.run();
  try {
    assert.equal(await job.waitUntilFinished(10_000), 'charged order 17');
    // Adding it again is a duplicate (Pier's dedup exchange): nothing more runs.
    await queue.add('charge', { order: 17 }, { jobId: 'order-17' });
    const { waiting } = await queue.counts();
    assert.equal(waiting, 0);
    // A crash is not a failed attempt: the redelivery is still attempt 1.
    assert.deepEqual(runs, [1]);
    assert.deepEqual(
      completed.map((e) => [e.jobId, e.result]),
      [['order-17', 'charged order 17']],
    );
  } finally {
    await rescuer.close();
    await queue.close();
  }
});
