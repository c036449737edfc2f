// Worker processes and signals: one SIGKILLed in the middle of a job (the broker gives the job back,
// another worker completes it, and the producer sees it completed exactly once: one completed
// event, one result), and one sent SIGTERM mid-job (it finishes the job, then exits).
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

/** Starts the fixture worker process; `seen(prefix)` resolves with its next stdout line so starting. */
function startWorkerProcess(queue: string, mode: 'hang' | 'slow') {
  const child = spawn(process.execPath, [FIXTURE, broker.url, queue, mode], {
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

test('SIGTERM mid-job: the worker process finishes the job, then closes and exits', async () => {
  const queue = new Queue<number, string>('sigterm', { connection: broker.url });
  try {
    const { child, exited, seen } = startWorkerProcess('sigterm', 'slow');
    await seen('ready');
    const started = seen('started');
    const job = await queue.add('n', 1);
    await started;
    const closed = seen('closed');
    child.kill('SIGTERM');
    assert.equal(await job.waitUntilFinished(10_000), `finished by pid ${child.pid}`);
    await closed;
    assert.deepEqual(await exited, [0, null]);
    assert.equal((await queue.counts()).waiting, 0);
  } finally {
    await queue.close();
  }
});

test('a worker killed with SIGKILL mid-job: the job is redelivered and completes exactly once', async () => {
  const queue = new Queue<{ order: number }, string>('crash', { connection: broker.url });
  const completed: JobEvent[] = [];
  queue.on('completed', (event) => completed.push(event));
  const { child, exited, seen } = startWorkerProcess('crash', 'hang');
  await seen('ready');
  const started = seen('started');
  const job = await queue.add('charge', { order: 17 }, { jobId: 'order-17', attempts: 3 });
  assert.equal(await started, 'started order-17 attempt 1');
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
    // The crashed run counts: the redelivery runs as attempt 2.
    assert.deepEqual(runs, [2]);
    assert.deepEqual(
      completed.map((e) => [e.jobId, e.result]),
      [['order-17', 'charged order 17']],
    );
  } finally {
    await rescuer.close();
    await queue.close();
  }
});

test('a job that crashes every worker running it: each crash counts, and after `attempts` it is dead-lettered', async () => {
  const queue = new Queue<{ poison: true }>('poison', { connection: broker.url });
  try {
    const job = await queue.add('poison', { poison: true }, { attempts: 3 });
    // Three worker processes in turn, each SIGKILLed once it started the job.
    for (let attempt = 1; attempt <= 3; attempt++) {
      const { child, exited, seen } = startWorkerProcess('poison', 'hang');
      assert.equal(await seen('started'), `started ${job.id} attempt ${attempt}`);
      child.kill('SIGKILL');
      await exited;
    }
    // The next worker finds the third attempt lost too: the job goes to the DLQ, unrun.
    let runs = 0;
    const last = new Worker<{ poison: true }>('poison', () => void runs++, { connection: broker.url });
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
    await queue.close();
  }
});
