// The jobs library over SQS against Pier's SQS listener (real HTTP, @aws-sdk/client-sqs): the AMQP
// suite's behaviours with SQS's mechanisms — SendMessageBatch, DelaySeconds, FIFO deduplication,
// ChangeMessageVisibility for backoff and heartbeats, the redrive policy.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SQSClient } from '@aws-sdk/client-sqs';
import * as v from 'valibot';
import {
  type JobEvent,
  JobFailedError,
  type JobMetricEvent,
  type JobSpan,
  SqsQueue,
  SqsWorker,
  ValidationError,
} from '../../src/jobs/sqs/index.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';

const SQS_FIXTURE = fileURLToPath(new URL('./fixtures/hanging-sqs-worker.js', import.meta.url));

const Email = v.object({ to: v.pipe(v.string(), v.email()), subject: v.string() });
type Email = v.InferOutput<typeof Email>;

function collect(emitter: NodeJS.EventEmitter, event: string, count: number): Promise<JobEvent[]> {
  const seen: JobEvent[] = [];
  return new Promise((resolve) => {
    const listener = (e: JobEvent) => {
      seen.push(e);
      if (seen.length === count) {
        emitter.off(event, listener);
        resolve(seen);
      }
    };
    emitter.on(event, listener);
  });
}

describe('jobs over SQS, against Pier', () => {
  let broker: TestBroker;
  let client: SQSClient;
  const closers: Array<() => Promise<unknown>> = [];
  const open = <Q extends { close(): Promise<unknown> }>(thing: Q): Q => {
    closers.push(() => thing.close());
    return thing;
  };
  const unique = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;
  // Short long-polls so closing workers is quick.
  const fast = { waitTimeSeconds: 1 } as const;

  before(async () => {
    broker = await startTestBroker({ amqpPort: false, sqsPort: 0 });
    client = new SQSClient({
      endpoint: broker.sqs!.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDJOBS', secretAccessKey: 'jobs-secret' },
    });
  });

  after(async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
    client?.destroy();
    await broker?.stop();
  });

  test('typed add and process, with the result back through the events queue', async () => {
    const name = unique('typed');
    const queue = open(new SqsQueue<Email, string>(name, { client, schema: Email }));
    const worker = open(
      new SqsWorker<Email, string>(name, (job) => `sent to ${job.data.to}`, {
        client,
        schema: Email,
        ...fast,
      }),
    );
    await worker.run();
    const job = await queue.add('welcome', { to: 'ada@example.com', subject: 'hi' });
    assert.equal(await job.waitUntilFinished(10_000), 'sent to ada@example.com');
    await assert.rejects(queue.add('welcome', { to: 'nope', subject: 'hi' }), ValidationError);
  });

  test('addBulk sends 25 jobs in batches of 10; concurrency 4 is never exceeded', async () => {
    const name = unique('bulk');
    const queue = open(new SqsQueue<number, number>(name, { client }));
    let running = 0;
    let most = 0;
    const worker = open(
      new SqsWorker<number, number>(
        name,
        async (job) => {
          running++;
          most = Math.max(most, running);
          await new Promise((resolve) => setTimeout(resolve, 10));
          running--;
          return job.data * 2;
        },
        { client, concurrency: 4, ...fast },
      ),
    );
    await worker.run();
    const jobs = await queue.addBulk(Array.from({ length: 25 }, (_, i) => ({ name: 'n', data: i })));
    const results = await Promise.all(jobs.map((j) => j.waitUntilFinished(20_000)));
    assert.deepEqual(
      results,
      Array.from({ length: 25 }, (_, i) => i * 2),
    );
    assert.ok(most <= 4 && most >= 2, `at most ${most} at once`);
  });

  test('retries: backoff through the visibility timeout, then the DLQ with the error', async () => {
    const name = unique('retry');
    const queue = open(new SqsQueue<number>(name, { client }));
    const startedAt: number[] = [];
    const worker = open(
      new SqsWorker<number>(
        name,
        (job) => {
          startedAt.push(Date.now());
          throw new Error(`boom ${job.attempt}`);
        },
        { client, ...fast },
      ),
    );
    await worker.run();
    const job = await queue.add('flaky', 1, { attempts: 3, backoff: { type: 'exponential', delayMs: 500 } });
    await assert.rejects(
      job.waitUntilFinished(20_000),
      (e: unknown) => e instanceof JobFailedError && e.reason === 'boom 3',
    );
    assert.equal(startedAt.length, 3);
    // Visibility is whole seconds: 500 ms waits 1 s, 1,000 ms waits 1 s.
    assert.ok(startedAt[1]! - startedAt[0]! >= 900, `first wait ${startedAt[1]! - startedAt[0]!} ms`);
    assert.ok(startedAt[2]! - startedAt[1]! >= 900, `second wait ${startedAt[2]! - startedAt[1]!} ms`);
    const [dead] = await queue.deadLetters();
    assert.equal(dead?.reason, 'attempts-exhausted');
    assert.equal(dead?.error, 'boom 3');
    assert.equal((await queue.counts()).waiting, 0);
    assert.equal(await queue.redriveDeadLetters(), 1);
  });

  test('an invalid payload goes to the DLQ at once', async () => {
    const name = unique('invalid');
    const queue = open(new SqsQueue<unknown>(name, { client }));
    let runs = 0;
    const worker = open(new SqsWorker<Email>(name, () => void runs++, { client, schema: Email, ...fast }));
    await worker.run();
    const job = await queue.add('bad', { to: 1 }, { attempts: 3 });
    await assert.rejects(job.waitUntilFinished(10_000), JobFailedError);
    assert.equal(runs, 0);
    assert.equal((await queue.deadLetters())[0]?.reason, 'invalid-payload');
  });

  test('jobId on a FIFO queue: MessageDeduplicationId drops the second add', async () => {
    const name = unique('dedup');
    const queue = open(new SqsQueue<number>(name, { client, fifo: true }));
    await queue.add('once', 1, { jobId: 'order-17' });
    await queue.add('once', 2, { jobId: 'order-17' });
    assert.equal((await queue.counts()).waiting, 1);
    await assert.rejects(queue.add('later', 3, { delayMs: 1000 }), /FIFO queues take no per-message delay/);
  });

  test('delay: DelaySeconds holds the job back', async () => {
    const name = unique('delay');
    const queue = open(new SqsQueue<string>(name, { client }));
    const order: Array<[string, number]> = [];
    const worker = open(
      new SqsWorker<string>(name, (job) => void order.push([job.data, Date.now()]), { client, ...fast }),
    );
    await worker.run();
    const addedAt = Date.now();
    const delayed = await queue.add('later', 'delayed', { delayMs: 1000 });
    const now = await queue.add('now', 'immediate');
    await Promise.all([delayed.waitUntilFinished(10_000), now.waitUntilFinished(10_000)]);
    assert.deepEqual(
      order.map(([d]) => d),
      ['immediate', 'delayed'],
    );
    assert.ok(order[1]![1] - addedAt >= 1000, `ran after ${order[1]![1] - addedAt} ms`);
  });

  test('heartbeats: a job running past its visibility timeout is not given to another worker', async () => {
    const name = unique('heartbeat');
    const options = { client, visibilityTimeoutSeconds: 2, ...fast };
    const queue = open(new SqsQueue<number>(name, options));
    const runs: string[] = [];
    const slow = (label: string) =>
      open(
        new SqsWorker<number>(
          name,
          async () => {
            runs.push(label);
            await new Promise((resolve) => setTimeout(resolve, 4_500));
          },
          options,
        ),
      );
    await slow('a').run();
    await slow('b').run();
    const job = await queue.add('long', 1);
    await job.waitUntilFinished(15_000);
    assert.equal(runs.length, 1);
  });

  test('graceful shutdown: a released job becomes visible at once and another worker completes it', async () => {
    const name = unique('shutdown');
    const queue = open(new SqsQueue<number, string>(name, { client }));
    const stuck = new SqsWorker<number, string>(
      name,
      (job) =>
        new Promise((_, reject) => job.signal.addEventListener('abort', () => reject(job.signal.reason))),
      { client, ...fast },
    );
    await stuck.run();
    const active = collect(stuck, 'active', 1);
    const job = await queue.add('n', 7, { attempts: 3 });
    await active;
    await stuck.close(50);
    const rescuer = open(new SqsWorker<number, string>(name, (j) => `done ${j.data}`, { client, ...fast }));
    await rescuer.run();
    assert.equal(await job.waitUntilFinished(10_000), 'done 7');
  });

  test('a worker process SIGKILLed mid-job: the job comes back after its visibility timeout and completes once', async () => {
    const name = unique('crash');
    const options = { client, visibilityTimeoutSeconds: 1, ...fast };
    const queue = open(new SqsQueue<number, string>(name, options));
    await queue.open();
    const child = spawn(process.execPath, [SQS_FIXTURE, broker.sqs!.endpoint, name], {
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
    const completed: JobEvent[] = [];
    queue.on('completed', (event) => completed.push(event));
    const job = await queue.add('charge', 17, { jobId: 'order-17', attempts: 3 });
    assert.equal(await started, 'started order-17');
    child.kill('SIGKILL');
    await exited;
    const attempts: number[] = [];
    const rescuer = open(
      new SqsWorker<number, string>(
        name,
        (active) => {
          attempts.push(active.attempt);
          return `charged ${active.data}`;
        },
        options,
      ),
    );
    await rescuer.run();
    assert.equal(await job.waitUntilFinished(15_000), 'charged 17');
    // On SQS the crashed receive counts: the rescue is attempt 2.
    assert.deepEqual(attempts, [2]);
    assert.deepEqual(
      completed.map((e) => e.jobId),
      ['order-17'],
    );
  });

  test('metrics hooks and tracer: completed, failed, retried, dead-lettered and duration, one span per attempt', async () => {
    const name = unique('metrics');
    const queue = open(new SqsQueue<string>(name, { client }));
    const seen: Array<[string, Partial<JobMetricEvent>]> = [];
    const record = (kind: string) => (event: JobMetricEvent) =>
      seen.push([kind, { jobId: event.jobId, attempt: event.attempt, reason: event.reason }]);
    const spans: Array<{ attributes: Record<string, unknown>; status?: number; ended: boolean }> = [];
    const tracer = {
      startSpan(_name: string, options?: { attributes?: Record<string, string | number> }): JobSpan {
        const span = {
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
    const durations: string[] = [];
    const worker = open(
      new SqsWorker<string>(
        name,
        (job) => {
          if (job.data === 'never' || job.attempt === 1) throw new Error(`fails on attempt ${job.attempt}`);
        },
        {
          client,
          ...fast,
          tracer,
          metrics: {
            completed: record('completed'),
            failed: record('failed'),
            retried: record('retried'),
            deadLettered: record('dead-lettered'),
            lost: record('lost'),
            duration: (event) => durations.push(event.outcome),
          },
        },
      ),
    );
    const errors: unknown[] = [];
    worker.on('error', (error) => errors.push(error));
    await worker.run();
    const flaky = await queue.add('n', 'flaky', { attempts: 2 });
    await flaky.waitUntilFinished(15_000);
    const doomed = await queue.add('n', 'never', { attempts: 1 });
    await assert.rejects(doomed.waitUntilFinished(15_000), JobFailedError);
    assert.deepEqual(seen, [
      ['failed', { jobId: flaky.id, attempt: 1, reason: undefined }],
      ['retried', { jobId: flaky.id, attempt: 1, reason: undefined }],
      ['completed', { jobId: flaky.id, attempt: 2, reason: undefined }],
      ['failed', { jobId: doomed.id, attempt: 1, reason: undefined }],
      ['dead-lettered', { jobId: doomed.id, attempt: 1, reason: 'attempts-exhausted' }],
    ]);
    assert.deepEqual(durations, ['failed', 'completed', 'failed']);
    assert.deepEqual(
      spans.map((s) => [
        s.attributes['messaging.system'],
        s.attributes['messaging.destination.name'],
        s.attributes['messaging.message.id'],
        s.attributes['job.attempt'],
        s.status,
        s.ended,
      ]),
      [
        ['aws_sqs', `jobs-${name}`, flaky.id, 1, 2, true],
        ['aws_sqs', `jobs-${name}`, flaky.id, 2, 1, true],
        ['aws_sqs', `jobs-${name}`, doomed.id, 1, 2, true],
      ],
    );
    assert.deepEqual(errors, []);
  });

  test('a metrics hook that throws is reported as an error and the job still completes', async () => {
    const name = unique('metrics-throw');
    const queue = open(new SqsQueue<number, number>(name, { client }));
    const worker = open(
      new SqsWorker<number, number>(name, (job) => job.data * 2, {
        client,
        ...fast,
        metrics: {
          completed: () => {
            throw new Error('the metrics backend is down');
          },
        },
      }),
    );
    const reported = once(worker, 'error');
    await worker.run();
    const job = await queue.add('n', 21);
    assert.equal(await job.waitUntilFinished(10_000), 42);
    const [error] = await reported;
    assert.match(String((error as Error).message), /metrics backend is down/);
  });

  test("trace context: the producer's traceparent travels as a message attribute to every attempt's span", async () => {
    const name = unique('trace');
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const queue = open(
      new SqsQueue<number>(name, {
        client,
        injectTraceContext: (carrier) => {
          carrier.traceparent = traceparent;
        },
      }),
    );
    const parents: unknown[] = [];
    const noSpan = { setAttribute() {}, recordException() {}, setStatus() {}, end() {} };
    const worker = open(
      new SqsWorker<number>(
        name,
        (job) => {
          if (job.attempt === 1) throw new Error('first attempt fails');
        },
        {
          client,
          ...fast,
          extractTraceContext: (carrier) => ({ ...carrier }),
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
    await job.waitUntilFinished(15_000);
    assert.deepEqual(parents, [{ traceparent }, { traceparent }]);
  });
});
