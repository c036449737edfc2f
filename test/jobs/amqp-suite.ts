/**
 * The jobs library's AMQP behaviour, as a suite run against an in-process Pier (amqp-jobs.test.ts)
 * and against the reference RabbitMQ 3.10 without plugins (test/differential/jobs.test.ts), where
 * delays and retries take the TTL+DLX fallback and jobIds are deduplicated by the workers only.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import amqplib, { type ChannelModel } from 'amqplib';
import * as v from 'valibot';
import { type JobEvent, JobFailedError, Queue, ValidationError, Worker } from '../../src/jobs/index.js';

export interface SuiteTarget {
  /** The broker's AMQP URL (known once `before` ran). */
  url(): string;
  /** Whether the broker has the delayed and deduplicating exchanges (Pier). */
  readonly pier: boolean;
}

const Email = v.object({ to: v.pipe(v.string(), v.email()), subject: v.string() });
type Email = v.InferOutput<typeof Email>;

/** Resolves after `count` events named `event` about `jobId` (or any job), collecting them. */
function collect(
  emitter: NodeJS.EventEmitter,
  event: string,
  count: number,
  jobId?: string,
): Promise<JobEvent[]> {
  const seen: JobEvent[] = [];
  return new Promise((resolve) => {
    const listener = (e: JobEvent) => {
      if (jobId !== undefined && e.jobId !== jobId) return;
      seen.push(e);
      if (seen.length === count) {
        emitter.off(event, listener);
        resolve(seen);
      }
    };
    emitter.on(event, listener);
  });
}

export function amqpJobSuite(target: SuiteTarget): void {
  const closers: Array<() => Promise<unknown>> = [];
  let admin: ChannelModel;
  const names: string[] = [];
  const unique = (label: string) => {
    const name = `${label}-${randomUUID().slice(0, 8)}`;
    names.push(name);
    return name;
  };
  const open = <Q extends { close(): Promise<unknown> }>(thing: Q): Q => {
    closers.push(() => thing.close());
    return thing;
  };

  before(async () => {
    admin = await amqplib.connect(target.url());
  });

  after(async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
    await admin?.close();
    // A reference broker outlives the run: leave nothing behind on it.
    for (const name of names) {
      await new Queue(name, {
        connection: target.url(),
        maxPriority: name.startsWith('priority') ? 10 : undefined,
      })
        .destroy()
        .catch(() => {});
    }
  });

  test("typed add and process: the handler gets the schema's output, the producer the result", async () => {
    const name = unique('typed');
    const queue = open(new Queue<Email, string>(name, { connection: target.url(), schema: Email }));
    const worker = open(
      new Worker<Email, string>(name, async (job) => `sent to ${job.data.to}: ${job.data.subject}`, {
        connection: target.url(),
        schema: Email,
      }),
    );
    await worker.run();
    const job = await queue.add('welcome', { to: 'ada@example.com', subject: 'hi' });
    assert.equal(await job.waitUntilFinished(10_000), 'sent to ada@example.com: hi');
    await queue.open();
    assert.equal(queue.features.delayedExchange, target.pier);
    await assert.rejects(
      queue.add('welcome', { to: 'not an address', subject: 'hi' }),
      (error: unknown) => error instanceof ValidationError && /to: /.test(error.message),
    );
  });

  test("a payload that fails the worker's schema goes to the DLQ at once, never retried", async () => {
    const name = unique('invalid');
    const queue = open(new Queue<unknown>(name, { connection: target.url() }));
    let runs = 0;
    const worker = open(
      new Worker<Email>(name, () => void runs++, { connection: target.url(), schema: Email }),
    );
    await worker.run();
    const job = await queue.add('bad', { to: 42 }, { attempts: 5 });
    await assert.rejects(job.waitUntilFinished(10_000), JobFailedError);
    assert.equal(runs, 0);
    const [dead] = await queue.deadLetters();
    assert.equal(dead?.id, job.id);
    assert.equal(dead?.reason, 'invalid-payload');
    assert.match(dead?.error ?? '', /does not match the queue's schema/);
  });

  test('retries: exponential backoff between attempts, then the DLQ with the error and history', async () => {
    const name = unique('retry');
    const queue = open(new Queue<{ n: number }>(name, { connection: target.url() }));
    const startedAt: number[] = [];
    const worker = open(
      new Worker<{ n: number }>(
        name,
        (job) => {
          startedAt.push(Date.now());
          assert.equal(job.attempt, startedAt.length);
          throw new Error(`boom ${job.attempt}`);
        },
        { connection: target.url() },
      ),
    );
    await worker.run();
    const retrying = collect(queue, 'retrying', 2);
    const job = await queue.add(
      'flaky',
      { n: 1 },
      { attempts: 3, backoff: { type: 'exponential', delayMs: 40 } },
    );
    await assert.rejects(job.waitUntilFinished(20_000), (error: unknown) => {
      return error instanceof JobFailedError && error.reason === 'boom 3';
    });
    assert.equal(startedAt.length, 3);
    // The waits are at least the backoff: 40 ms, then 80 ms (ordering and minimums only).
    assert.ok(startedAt[1]! - startedAt[0]! >= 40, `first wait ${startedAt[1]! - startedAt[0]!} ms`);
    assert.ok(startedAt[2]! - startedAt[1]! >= 80, `second wait ${startedAt[2]! - startedAt[1]!} ms`);
    assert.deepEqual(
      (await retrying).map((e) => [e.attempt, e.delayMs]),
      [
        [1, 40],
        [2, 80],
      ],
    );
    const [dead] = await queue.deadLetters();
    assert.equal(dead?.reason, 'attempts-exhausted');
    assert.equal(dead?.error, 'boom 3');
    assert.deepEqual(
      (dead!.history as Array<{ attempt: number; error: string }>).map((h) => [h.attempt, h.error]),
      [
        [1, 'boom 1'],
        [2, 'boom 2'],
        [3, 'boom 3'],
      ],
    );
    // One call re-drives it: it runs again (and fails again, with a fresh attempt count).
    const again = collect(worker, 'failed', 1, job.id);
    assert.equal(await queue.redriveDeadLetters(), 1);
    assert.equal((await again)[0]!.attempt, 1);
  });

  test('a handler that throws a non-Error, or hangs past its timeout, fails the attempt and is retried', async () => {
    const name = unique('timeout');
    const queue = open(new Queue<string>(name, { connection: target.url() }));
    const attempts: number[] = [];
    const worker = open(
      new Worker<string>(
        name,
        (job) => {
          attempts.push(job.attempt);
          if (job.attempt === 1) throw 'a string';
          return new Promise(() => {}); // hangs
        },
        { connection: target.url() },
      ),
    );
    await worker.run();
    const job = await queue.add('hang', 'x', { attempts: 2, timeoutMs: 50 });
    await assert.rejects(job.waitUntilFinished(10_000), /ran longer than its timeout of 50 ms/);
    assert.deepEqual(attempts, [1, 2]);
    const [dead] = await queue.deadLetters();
    assert.match(JSON.stringify(dead?.history), /non-Error thrown: a string/);
  });

  test('jobId deduplicates: the same id added twice runs once', async () => {
    const name = unique('dedup');
    const queue = open(new Queue<number>(name, { connection: target.url() }));
    const runs: number[] = [];
    const worker = open(
      new Worker<number>(name, (job) => void runs.push(job.data), { connection: target.url() }),
    );
    if (target.pier) {
      // The broker drops the second: only one job is ever queued.
      await queue.add('once', 1, { jobId: 'order-17' });
      await queue.add('once', 2, { jobId: 'order-17' });
      assert.equal((await queue.counts()).waiting, 1);
      await worker.run();
      await collect(worker, 'completed', 1);
    } else {
      // Plain RabbitMQ queues both; the worker remembers the completed id and skips the second.
      await worker.run();
      const first = await queue.add('once', 1, { jobId: 'order-17' });
      await first.waitUntilFinished(10_000);
      const duplicate = once(worker, 'duplicate');
      await queue.add('once', 2, { jobId: 'order-17' });
      assert.deepEqual(await duplicate, ['order-17']);
    }
    assert.deepEqual(runs, [1]);
  });

  test('delay: a delayed job runs no earlier than its delay, after a job added later without one', async () => {
    const name = unique('delay');
    const queue = open(new Queue<string>(name, { connection: target.url() }));
    const order: Array<[string, number]> = [];
    const worker = open(
      new Worker<string>(name, (job) => void order.push([job.data, Date.now()]), {
        connection: target.url(),
      }),
    );
    await worker.run();
    const addedAt = Date.now();
    const delayed = await queue.add('later', 'delayed', { delayMs: 300 });
    const now = await queue.add('now', 'immediate');
    await Promise.all([delayed.waitUntilFinished(10_000), now.waitUntilFinished(10_000)]);
    assert.deepEqual(
      order.map(([data]) => data),
      ['immediate', 'delayed'],
    );
    assert.ok(order[1]![1] - addedAt >= 300, `ran after ${order[1]![1] - addedAt} ms`);
  });

  test('priority: higher-priority jobs run first', async () => {
    const name = unique('priority');
    const queue = open(new Queue<number>(name, { connection: target.url(), maxPriority: 10 }));
    await queue.addBulk([1, 2, 3].map((n) => ({ name: 'low', data: n, options: { priority: 1 } })));
    await queue.addBulk([4, 5].map((n) => ({ name: 'high', data: n, options: { priority: 9 } })));
    await assert.rejects(queue.add('too-high', 6, { priority: 11 }), /maxPriority/);
    const seen: number[] = [];
    const worker = open(
      new Worker<number>(name, (job) => void seen.push(job.data), {
        connection: target.url(),
        maxPriority: 10,
      }),
    );
    await worker.run();
    await collect(worker, 'completed', 5);
    assert.deepEqual(seen, [4, 5, 1, 2, 3]);
  });

  test('concurrency: never more jobs at once than asked, and all of them done', async () => {
    const name = unique('concurrency');
    const queue = open(new Queue<number>(name, { connection: target.url() }));
    let running = 0;
    let most = 0;
    const worker = open(
      new Worker<number>(
        name,
        async () => {
          running++;
          most = Math.max(most, running);
          await new Promise((resolve) => setTimeout(resolve, 20));
          running--;
        },
        { connection: target.url(), concurrency: 3 },
      ),
    );
    await worker.run();
    const done = collect(worker, 'completed', 12);
    await queue.addBulk(Array.from({ length: 12 }, (_, i) => ({ name: 'n', data: i })));
    await done;
    assert.equal(most, 3);
  });

  test('rate limit: at most max starts in any window of durationMs', async () => {
    const name = unique('limit');
    const queue = open(new Queue<number>(name, { connection: target.url() }));
    const starts: number[] = [];
    const worker = open(
      new Worker<number>(name, () => void starts.push(Date.now()), {
        connection: target.url(),
        concurrency: 5,
        limiter: { max: 2, durationMs: 100 },
      }),
    );
    await worker.run();
    const done = collect(worker, 'completed', 6);
    await queue.addBulk(Array.from({ length: 6 }, (_, i) => ({ name: 'n', data: i })));
    await done;
    // Stamped in the handler, a few ms after the limiter admitted each start: 10 ms of slack.
    for (let i = 2; i < starts.length; i++) {
      assert.ok(
        starts[i]! - starts[i - 2]! >= 90,
        `start ${i} came ${starts[i]! - starts[i - 2]!} ms after start ${i - 2}`,
      );
    }
  });

  test('graceful shutdown: jobs still running when close() times out go back and another worker finishes them', async () => {
    const name = unique('shutdown');
    const queue = open(new Queue<number, string>(name, { connection: target.url() }));
    const stuck = new Worker<number, string>(
      name,
      (job) =>
        new Promise((_, reject) => job.signal.addEventListener('abort', () => reject(job.signal.reason))),
      { connection: target.url(), concurrency: 2 },
    );
    await stuck.run();
    const active = collect(stuck, 'active', 2);
    const jobs = await queue.addBulk([1, 2].map((n) => ({ name: 'n', data: n })));
    await active;
    await stuck.close(50);
    const rescuer = open(
      new Worker<number, string>(name, (job) => `done ${job.data} (attempt ${job.attempt})`, {
        connection: target.url(),
      }),
    );
    await rescuer.run();
    // Released, not failed: the attempt count is unchanged.
    assert.deepEqual(await Promise.all(jobs.map((j) => j.waitUntilFinished(10_000))), [
      'done 1 (attempt 1)',
      'done 2 (attempt 1)',
    ]);
  });

  test('progress events reach the producer', async () => {
    const name = unique('progress');
    const queue = open(new Queue<number>(name, { connection: target.url() }));
    const worker = open(
      new Worker<number>(
        name,
        // Destructured, as handlers often take it: the methods work unbound.
        async ({ updateProgress }) => {
          await updateProgress({ done: 1, of: 2 });
          await updateProgress({ done: 2, of: 2 });
        },
        { connection: target.url() },
      ),
    );
    await worker.run();
    const progress = collect(queue, 'progress', 2);
    const job = await queue.add('p', 1);
    await job.waitUntilFinished(10_000);
    assert.deepEqual(
      (await progress).map((e) => e.progress),
      [
        { done: 1, of: 2 },
        { done: 2, of: 2 },
      ],
    );
  });

  test('repeatable jobs: every N ms, one job per slot even with two producers on the same schedule', async () => {
    const name = unique('repeat');
    const first = open(new Queue<string>(name, { connection: target.url() }));
    const second = open(new Queue<string>(name, { connection: target.url() }));
    const ids: string[] = [];
    const worker = open(
      new Worker<string>(name, (job) => void ids.push(job.id), { connection: target.url() }),
    );
    await worker.run();
    await Promise.all([first.open(), second.open()]);
    const done = collect(worker, 'completed', 3);
    const a = first.repeat('tick', 'tick', { everyMs: 100 }, { key: 'ticker' });
    // Where the broker cannot deduplicate, the second producer's copies are dropped by the worker.
    const b = second.repeat('tick', 'tick', { everyMs: 100 }, { key: 'ticker' });
    await done;
    a.stop();
    b.stop();
    const slots = ids.slice(0, 3).map((id) => Number(/^repeat:ticker:(\d+)$/.exec(id)?.[1]));
    for (const slot of slots) assert.equal(slot % 100, 0);
    assert.ok(slots[0]! < slots[1]! && slots[1]! < slots[2]!, `slots ${slots}`);
    assert.equal(new Set(ids).size, ids.length, `a slot ran twice: ${ids}`);
  });

  test('ttlMs: a job still waiting past its TTL is dead-lettered as expired, not run', async () => {
    const name = unique('ttl');
    const queue = open(new Queue<number>(name, { connection: target.url() }));
    await queue.add('stale', 1, { ttlMs: 20 });
    const channel = await admin.createChannel();
    try {
      // No worker: the broker expires it into the DLQ.
      let dead = await queue.deadLetters();
      while (dead.length === 0) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        dead = await queue.deadLetters();
      }
      assert.equal(dead[0]!.reason, 'expired');
    } finally {
      await channel.close();
    }
  });

  test("trace context: the producer's traceparent reaches the span of every attempt, retries included", async () => {
    const name = unique('trace');
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const queue = open(
      new Queue<number>(name, {
        connection: target.url(),
        // What OpenTelemetry's propagation.inject(context.active(), carrier) writes.
        injectTraceContext: (carrier) => {
          carrier.traceparent = traceparent;
          carrier.tracestate = 'pier=1';
          carrier['x-job-attempts'] = 'clash'; // the library's own headers win over the propagator's
        },
      }),
    );
    const parents: unknown[] = [];
    const noSpan = { setAttribute() {}, recordException() {}, setStatus() {}, end() {} };
    const worker = open(
      new Worker<number>(
        name,
        (job) => {
          if (job.attempt === 1) throw new Error('first attempt fails');
        },
        {
          connection: target.url(),
          extractTraceContext: (carrier) => ({ parent: carrier.traceparent, state: carrier.tracestate }),
          tracer: {
            startSpan: (_name, _options, context) => {
              parents.push(context);
              return noSpan;
            },
          },
        },
      ),
    );
    await worker.run();
    const job = await queue.add('n', 1, { attempts: 2 });
    await job.waitUntilFinished(10_000);
    assert.deepEqual(parents, [
      { parent: traceparent, state: 'pier=1' },
      { parent: traceparent, state: 'pier=1' },
    ]);
  });
}
