// The jobs library's reliability over AMQP against Pier: lease extension past the broker's consumer
// timeout, a shared file-backed processed-id store between two workers, and the metrics hooks and
// tracer. (Crashed workers: worker-crash.test.ts; broker restarts: broker-restart.test.ts.)
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import amqplib from 'amqplib';
import {
  FileProcessedIds,
  JobFailedError,
  type JobMetricEvent,
  type JobSpan,
  Queue,
  Worker,
} from '../../src/jobs/index.js';
import { startTestBroker, type TestBroker, tempDir } from '../helpers/broker.js';

/** The broker's consumer timeout in these tests: far shorter than the jobs. */
const CONSUMER_TIMEOUT_MS = 300;

let broker: TestBroker;
before(async () => {
  broker = await startTestBroker();
});
after(async () => {
  await broker?.stop();
});

const unique = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;

describe('lease extension', () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startTestBroker({ amqp: { consumerTimeoutMs: CONSUMER_TIMEOUT_MS } });
  });
  after(async () => {
    await broker?.stop();
  });

  test('a job running 4x the consumer timeout completes once: its delivery is renewed through the lease queue', async () => {
    const name = unique('long');
    const queue = new Queue<number, string>(name, { connection: broker.url });
    let runs = 0;
    const worker = new Worker<number, string>(
      name,
      async (job) => {
        runs++;
        await new Promise((resolve) => setTimeout(resolve, CONSUMER_TIMEOUT_MS * 4));
        return `done after attempt ${job.attempt}`;
      },
      { connection: broker.url, consumerTimeoutMs: CONSUMER_TIMEOUT_MS },
    );
    const completed: string[] = [];
    queue.on('completed', (event) => completed.push(event.jobId));
    await worker.run();
    try {
      const job = await queue.add('slow', 1, { attempts: 3 });
      assert.equal(await job.waitUntilFinished(20_000), 'done after attempt 1');
      assert.equal(runs, 1);
      assert.deepEqual(completed, [job.id]);
      // Nothing left behind: no job waiting, no lease copy in the worker's lease queue.
      const admin = await amqplib.connect(broker.url);
      const channel = await admin.createChannel();
      assert.equal((await channel.checkQueue(`jobs.${name}`)).messageCount, 0);
      assert.equal((await channel.checkQueue(`jobs.${name}.lease.${worker.workerId}`)).messageCount, 0);
      await admin.close();
    } finally {
      await worker.close();
      await queue.close();
    }
  });

  test('leased jobs keep their slot: concurrency 1 runs two long jobs one after the other, each once', async () => {
    const name = unique('long-pair');
    const queue = new Queue<number, number>(name, { connection: broker.url });
    let running = 0;
    let most = 0;
    const runs: number[] = [];
    const worker = new Worker<number, number>(
      name,
      async (job) => {
        running++;
        most = Math.max(most, running);
        runs.push(job.data);
        await new Promise((resolve) => setTimeout(resolve, CONSUMER_TIMEOUT_MS * 3));
        running--;
        return job.data;
      },
      { connection: broker.url, consumerTimeoutMs: CONSUMER_TIMEOUT_MS, concurrency: 1 },
    );
    await worker.run();
    try {
      const jobs = await queue.addBulk([1, 2].map((n) => ({ name: 'n', data: n, options: { attempts: 3 } })));
      assert.deepEqual(await Promise.all(jobs.map((job) => job.waitUntilFinished(30_000))), [1, 2]);
      assert.equal(most, 1);
      assert.deepEqual(runs, [1, 2]);
    } finally {
      await worker.close();
      await queue.close();
    }
  });

  test('without lease extension the consumer timeout kills the attempt, and that attempt counts', async () => {
    const name = unique('no-lease');
    const queue = new Queue<number, string>(name, { connection: broker.url });
    let runs = 0;
    const worker = new Worker<number, string>(
      name,
      async () => {
        runs++;
        await new Promise((resolve) => setTimeout(resolve, CONSUMER_TIMEOUT_MS * 4));
        return 'done';
      },
      { connection: broker.url, consumerTimeoutMs: 0 },
    );
    await worker.run();
    try {
      const job = await queue.add('slow', 1, { attempts: 1 });
      await assert.rejects(job.waitUntilFinished(20_000), JobFailedError);
      assert.equal(runs, 1);
      const [dead] = await queue.deadLetters();
      assert.equal(dead?.reason, 'attempts-exhausted');
      assert.match(dead?.error ?? '', /stopped before it finished/);
    } finally {
      await worker.close(0);
      await queue.close();
    }
  });
});

describe('shared processed-id store', () => {
  test('FileProcessedIds: one claim at a time, extended by its owner, taken over once expired', async () => {
    const directory = tempDir('pier-ids-');
    let nowMs = Date.now(); // completed ids are dated by their file's mtime
    const store = new FileProcessedIds(directory, 60_000, () => nowMs);
    try {
      assert.equal(await store.claim('job-1', 'a', 1_000), true);
      assert.equal(await store.claim('job-1', 'b', 1_000), false);
      assert.equal(await store.claim('job-1', 'a', 1_000), true); // extends
      nowMs += 999;
      assert.equal(await store.claim('job-1', 'b', 1_000), false);
      nowMs += 2;
      assert.equal(await store.claim('job-1', 'b', 1_000), true); // a's claim expired
      await store.release('job-1', 'a'); // not a's any more: ignored
      assert.equal(await store.claim('job-1', 'c', 1_000), false);
      assert.equal(await store.has('job-1'), false);
      await store.add('job-1');
      assert.equal(await store.has('job-1'), true);
      assert.equal(await store.claim('job-1', 'c', 1_000), true); // add() dropped b's claim
      // A second store on the same directory (another process) sees the same state.
      assert.equal(await new FileProcessedIds(directory, 60_000, () => nowMs).has('job-1'), true);
      nowMs += 60_000;
      assert.equal(await store.has('job-1'), false);
      assert.equal(await store.prune(), 2);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  test('two workers sharing a FileProcessedIds never both complete the same jobId (copies queued side by side)', async () => {
    const name = unique('shared-ids');
    // No broker deduplication here, so both copies of each job id are queued.
    const features = { delayedExchange: true, deduplication: false };
    const directory = tempDir('pier-ids-');
    const queue = new Queue<number>(name, { connection: broker.url, features });
    const completions = new Map<string, number>();
    const handler = async (job: { id: string }) => {
      await new Promise((resolve) => setTimeout(resolve, 30));
      completions.set(job.id, (completions.get(job.id) ?? 0) + 1);
    };
    const workers = [0, 1].map(
      () =>
        new Worker<number>(name, handler, {
          connection: broker.url,
          features,
          concurrency: 4,
          processedIds: new FileProcessedIds(directory),
        }),
    );
    const ids = Array.from({ length: 20 }, (_, i) => `order-${i}`);
    // Every second copy is skipped as a duplicate once its twin completed.
    let skipped = 0;
    const allSkipped = new Promise<void>((resolve) => {
      for (const worker of workers)
        worker.on('duplicate', () => {
          if (++skipped === ids.length) resolve();
        });
    });
    try {
      for (const worker of workers) await worker.run();
      await queue.addBulk(
        ids.flatMap((id, i) => [0, 1].map(() => ({ name: 'n', data: i, options: { jobId: id } }))),
      );
      await allSkipped;
      assert.deepEqual(
        [...completions.entries()].filter(([, count]) => count !== 1),
        [],
        'a job id completed more than once',
      );
      assert.equal(completions.size, ids.length);
      assert.equal((await queue.counts()).waiting, 0);
    } finally {
      for (const worker of workers) await worker.close();
      await queue.destroy();
      rmSync(directory, { recursive: true, force: true });
    }
  });
});

describe('metrics hooks and tracer', () => {
  test('completed, failed, retried, dead-lettered and duration are reported, one span per attempt', async () => {
    const name = unique('metrics');
    const queue = new Queue<string>(name, { connection: broker.url });
    const seen: Array<[string, Partial<JobMetricEvent>]> = [];
    const record = (kind: string) => (event: JobMetricEvent) =>
      seen.push([kind, { jobId: event.jobId, attempt: event.attempt, reason: event.reason }]);
    const spans: Array<{
      name: string;
      attributes: Record<string, unknown>;
      status?: number;
      ended: boolean;
    }> = [];
    const tracer = {
      startSpan(spanName: string, options?: { attributes?: Record<string, string | number> }): JobSpan {
        const span = {
          name: spanName,
          attributes: { ...options?.attributes } as Record<string, unknown>,
          status: undefined as number | undefined,
          ended: false,
        };
        spans.push(span);
        return {
          setAttribute: (key, value) => {
            span.attributes[key] = value;
          },
          recordException: () => {},
          setStatus: ({ code }) => {
            span.status = code;
          },
          end: () => {
            span.ended = true;
          },
        };
      },
    };
    const durations: number[] = [];
    const worker = new Worker<string>(
      name,
      (job) => {
        if (job.data === 'never' || job.attempt === 1) throw new Error(`fails on attempt ${job.attempt}`);
      },
      {
        connection: broker.url,
        tracer,
        metrics: {
          completed: record('completed'),
          failed: record('failed'),
          retried: record('retried'),
          deadLettered: record('dead-lettered'),
          duration: (event) => durations.push(event.durationMs ?? -1),
        },
      },
    );
    await worker.run();
    try {
      const flaky = await queue.add('n', 'flaky', { attempts: 2 });
      await flaky.waitUntilFinished(10_000);
      const doomed = await queue.add('n', 'never', { attempts: 1 });
      await assert.rejects(doomed.waitUntilFinished(10_000), JobFailedError);
      assert.deepEqual(seen, [
        ['failed', { jobId: flaky.id, attempt: 1, reason: undefined }],
        ['retried', { jobId: flaky.id, attempt: 1, reason: undefined }],
        ['completed', { jobId: flaky.id, attempt: 2, reason: undefined }],
        ['failed', { jobId: doomed.id, attempt: 1, reason: undefined }],
        ['dead-lettered', { jobId: doomed.id, attempt: 1, reason: 'attempts-exhausted' }],
      ]);
      assert.equal(durations.length, 3);
      assert.ok(durations.every((ms) => ms >= 0));
      assert.deepEqual(
        spans.map((s) => [
          s.attributes['messaging.message.id'],
          s.attributes['job.attempt'],
          s.status,
          s.ended,
        ]),
        [
          [flaky.id, 1, 2, true],
          [flaky.id, 2, 1, true],
          [doomed.id, 1, 2, true],
        ],
      );
    } finally {
      await worker.close();
      await queue.destroy();
    }
  });
});

describe('grouped acks', () => {
  test('jobs finished around a still-running one are acked together, the running one is not: it comes back when the connection drops', async () => {
    const name = unique('grouped');
    const queue = new Queue<string>(name, { connection: broker.url });
    const connection = await amqplib.connect(broker.url);
    connection.on('error', () => {});
    const admin = await amqplib.connect(broker.url);
    const ran: string[] = [];
    const worker = new Worker<string>(
      name,
      (job) => {
        ran.push(job.data);
        // The first delivery (the lowest delivery tag) never ends on this connection.
        if (job.data === 'stuck') return new Promise<void>(() => {});
      },
      { connection, concurrency: 10, events: false },
    );
    try {
      await queue.add('j', 'stuck');
      await queue.addBulk(Array.from({ length: 20 }, (_, i) => ({ name: 'j', data: `done-${i}` })));
      const twentyDone = new Promise<void>((resolve) => {
        let done = 0;
        worker.on('completed', () => {
          if (++done === 20) resolve();
        });
      });
      await worker.run();
      await twentyDone;
      // The acks go out at the end of an event-loop turn: wait until the broker counted all 20.
      const inBroker = broker.core.vhosts.get('/')!.queues.get(`jobs.${name}`)!;
      const deadlineMs = Date.now() + 10_000;
      while (inBroker.messagesAcknowledged < 20 && Date.now() < deadlineMs)
        await new Promise((resolve) => setImmediate(resolve));
      assert.equal(
        inBroker.messagesAcknowledged,
        20,
        'the 20 finished jobs are acked, the running one is not',
      );
      await connection.close();
      const channel = await admin.createChannel();
      const { messageCount } = await channel.checkQueue(`jobs.${name}`);
      assert.equal(messageCount, 1, 'only the running job is back in the queue');
      const back = await channel.get(`jobs.${name}`, { noAck: true });
      assert.ok(back);
      assert.equal(JSON.parse(back.content.toString('utf8')), 'stuck');
      assert.equal(back.fields.redelivered, true);
      assert.equal(ran.length, 21);
    } finally {
      await worker.close(0).catch(() => {});
      await admin.close();
      await queue.destroy();
    }
  });
});
