// `npm run bench -- jobs`: jobs/s added and processed by the jobs library (piermq/jobs) on Pier
// (fsync always: every add is confirmed after fdatasync), in the same run as
//   - plain amqplib on the same Pier (persistent publishes with confirms, prefetch = concurrency,
//     manual acks): the floor the library's bookkeeping costs against;
//   - BullMQ on Debian's redis-server, when `redis-server` is on PATH: without persistence (BullMQ's
//     usual setup) and with appendonly + appendfsync always (durable like Pier).
// Every run adds --jobs jobs (addBulk, 1,000 a call) and then processes them with one worker of
// --concurrency, with a no-op handler, and reports both rates. The Pier runs are warmed up first
// (5,000 jobs each, unmeasured); BullMQ's are not (each starts a fresh redis-server). Every row runs
// --rounds times (the Pier rows in rotating order) and reports its median round.
//
//   node dist/bench/bench.js jobs [--jobs 20000] [--concurrency 100] [--size 100] [--no-bullmq]
//     [--stream-ids] [--amqp-url URL] [--before PATH] [--rounds 3] [--json]
// --stream-ids adds a run of the library with the shared StreamProcessedIds (every completion a
// confirmed stream record before the ack) and the latency of one add and one read barrier;
// --amqp-url runs the library's rows against that broker (e.g. RabbitMQ) instead of a Pier child.
// --before adds a row for another build of the library (the path of its compiled jobs/index.js),
// run on the same broker in the same rounds as this build's, to compare two versions in one run (docs/jobs.md
// shows how to build one from an older commit). --json prints the rows as JSON (the report's jobs
// group reads it).
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import amqplib from 'amqplib';
import * as jobsLibrary from '../src/jobs/index.js';
import { StreamProcessedIds } from '../src/jobs/index.js';
import { defaultPierBin, startPier } from './broker.js';
import { freePort } from './rabbitmq-node.js';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '100' },
    size: { type: 'string', default: '100' },
    'no-bullmq': { type: 'boolean', default: false },
    'stream-ids': { type: 'boolean', default: false },
    'amqp-url': { type: 'string' },
    before: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
  },
});
const ROUNDS = Math.max(1, Number(values.rounds));
const JOBS = Number(values.jobs);
const CONCURRENCY = Number(values.concurrency);
const payload = { blob: 'x'.repeat(Math.max(0, Number(values.size) - 11)) }; // JSON ≈ --size bytes
const BATCH = 1_000;

/**
 * What a row measured, for programs reading `--json` (the report picks its rows by this, not by
 * the name, which is for people and changes with the flags).
 */
export type JobsRunKind =
  | 'pier-jobs'
  | 'pier-jobs-stream-ids'
  | 'pier-jobs-before'
  | 'amqplib'
  | 'bullmq-durable'
  | 'bullmq-no-persistence';

interface Result {
  readonly kind: JobsRunKind;
  readonly name: string;
  readonly addedPerS: number;
  readonly processedPerS: number;
}

const perSecond = (count: number, startedAt: bigint) =>
  count / (Number(process.hrtime.bigint() - startedAt) / 1e9);

/** The parts of a build of piermq/jobs the bench uses (this one's, or --before's). */
type JobsLibrary = Pick<typeof jobsLibrary, 'Queue' | 'Worker'>;

async function pierJobs(
  url: string,
  JOBS: number,
  streamIds = false,
  library: JobsLibrary = jobsLibrary,
  label = 'piermq/jobs',
): Promise<Result> {
  const { Queue, Worker } = library;
  const name = `bench-${Date.now()}`;
  const processedIds = streamIds
    ? new StreamProcessedIds({ connection: url, stream: `${name}.ids` })
    : undefined;
  const queue = new Queue<typeof payload>(name, { connection: url, events: false });
  let started = process.hrtime.bigint();
  for (let i = 0; i < JOBS; i += BATCH) {
    await queue.addBulk(
      Array.from({ length: Math.min(BATCH, JOBS - i) }, () => ({ name: 'bench', data: payload })),
    );
  }
  const addedPerS = perSecond(JOBS, started);
  let done = 0;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const worker = new Worker<typeof payload>(
    name,
    () => {
      if (++done === JOBS) finish();
    },
    { connection: url, concurrency: CONCURRENCY, events: false, ...(processedIds ? { processedIds } : {}) },
  );
  await processedIds?.start();
  started = process.hrtime.bigint();
  await worker.run();
  await finished;
  const processedPerS = perSecond(JOBS, started);
  await worker.close();
  await queue.destroy();
  await processedIds?.close();
  if (processedIds) await deleteQueue(url, processedIds.stream);
  const broker = values['amqp-url'] ? 'the given broker' : 'Pier (fsync always)';
  return {
    kind: library !== jobsLibrary ? 'pier-jobs-before' : streamIds ? 'pier-jobs-stream-ids' : 'pier-jobs',
    name: `${label}${streamIds ? ' + StreamProcessedIds' : ''} on ${broker}`,
    addedPerS,
    processedPerS,
  };
}

async function deleteQueue(url: string, queue: string): Promise<void> {
  const connection = await amqplib.connect(url);
  await (await connection.createChannel()).deleteQueue(queue);
  await connection.close();
}

/** Mean latency of one confirmed completion record and of one read barrier (another connection's). */
async function streamIdLatency(url: string): Promise<void> {
  const stream = `bench-ids-${Date.now()}`;
  const writer = new StreamProcessedIds({ connection: url, stream });
  const reader = new StreamProcessedIds({ connection: url, stream });
  await Promise.all([writer.start(), reader.start()]);
  const rounds = 100;
  let started = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) await writer.add(`id-${i}`);
  const addMs = Number(process.hrtime.bigint() - started) / 1e6 / rounds;
  started = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) await reader.barrier();
  const barrierMs = Number(process.hrtime.bigint() - started) / 1e6 / rounds;
  await Promise.all([writer.close(), reader.close()]);
  await deleteQueue(url, stream);
  console.error(
    `StreamProcessedIds: one add ${addMs.toFixed(1)} ms, one read barrier ${barrierMs.toFixed(1)} ms (means of ${rounds})`,
  );
}

async function plainAmqplib(url: string, JOBS: number): Promise<Result> {
  const connection = await amqplib.connect(url);
  const channel = await connection.createConfirmChannel();
  const queue = `bench-plain-${Date.now()}`;
  await channel.assertQueue(queue, { durable: true });
  const body = Buffer.from(JSON.stringify(payload));
  let started = process.hrtime.bigint();
  for (let i = 0; i < JOBS; i += BATCH) {
    for (let j = i; j < Math.min(JOBS, i + BATCH); j++)
      channel.sendToQueue(queue, body, { persistent: true });
    await channel.waitForConfirms();
  }
  const addedPerS = perSecond(JOBS, started);
  const consumer = await connection.createChannel();
  await consumer.prefetch(CONCURRENCY);
  let done = 0;
  started = process.hrtime.bigint();
  await new Promise<void>((resolve) => {
    void consumer.consume(queue, (message) => {
      if (!message) return;
      JSON.parse(message.content.toString('utf8'));
      consumer.ack(message);
      if (++done === JOBS) resolve();
    });
  });
  const processedPerS = perSecond(JOBS, started);
  await channel.deleteQueue(queue);
  await connection.close();
  const broker = values['amqp-url'] ? 'the given broker' : 'Pier';
  return { kind: 'amqplib', name: `plain amqplib on ${broker} (confirms, acks)`, addedPerS, processedPerS };
}

async function bullmq(durable: boolean): Promise<Result | undefined> {
  let mod: typeof import('bullmq');
  try {
    mod = await import('bullmq');
  } catch {
    console.error('bullmq is not installed: skipping the BullMQ runs');
    return undefined;
  }
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'bench-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''];
  args.push(...(durable ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']));
  const redis = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const failed = new Promise<never>((_, reject) => redis.once('error', reject));
  await Promise.race([
    failed,
    new Promise<void>((resolve) =>
      redis.stdout!.on('data', (chunk: Buffer) => {
        if (/Ready to accept connections/.test(chunk.toString())) resolve();
      }),
    ),
  ]);
  const connection = { host: '127.0.0.1', port };
  const name = `bench-${Date.now()}`;
  try {
    const queue = new mod.Queue(name, { connection });
    let started = process.hrtime.bigint();
    for (let i = 0; i < JOBS; i += BATCH) {
      await queue.addBulk(
        Array.from({ length: Math.min(BATCH, JOBS - i) }, () => ({ name: 'bench', data: payload })),
      );
    }
    const addedPerS = perSecond(JOBS, started);
    let done = 0;
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => {
      finish = resolve;
    });
    started = process.hrtime.bigint();
    const worker = new mod.Worker(name, async () => {}, {
      connection,
      concurrency: CONCURRENCY,
      removeOnComplete: { count: 1000 },
    });
    worker.on('completed', () => {
      if (++done === JOBS) finish();
    });
    await finished;
    const processedPerS = perSecond(JOBS, started);
    await worker.close();
    await queue.obliterate({ force: true });
    await queue.close();
    return {
      kind: durable ? 'bullmq-durable' : 'bullmq-no-persistence',
      name: durable
        ? 'BullMQ on redis-server (appendfsync always)'
        : 'BullMQ on redis-server (no persistence)',
      addedPerS,
      processedPerS,
    };
  } finally {
    redis.kill('SIGTERM');
    await new Promise((resolve) => redis.once('exit', resolve));
    await rm(dir, { recursive: true, force: true });
  }
}

const pier = values['amqp-url'] ? undefined : await startPier(defaultPierBin());
const url = values['amqp-url'] ?? pier!.url;
const results: Result[] = [];
try {
  console.error(`${JOBS} jobs of ~${JSON.stringify(payload).length} bytes, concurrency ${CONCURRENCY}`);
  // Unmeasured warm-up of both (JIT, the broker's first segments), then the measured runs.
  const warmup = Math.min(JOBS, 5_000);
  const before = values.before ? ((await import(resolve(values.before))) as JobsLibrary) : undefined;
  await pierJobs(url, warmup);
  await plainAmqplib(url, warmup);
  if (before) await pierJobs(url, warmup, false, before, 'before');
  // Rounds, each run once per round in an order that rotates: whichever runs first after the
  // warm-up measured up to 1.5x slower than the same code run second (JIT, the broker's segments),
  // so a fixed order favoured the later rows. Each row reports its median round.
  const runs: Array<() => Promise<Result>> = [() => pierJobs(url, JOBS), () => plainAmqplib(url, JOBS)];
  if (before) runs.push(() => pierJobs(url, JOBS, false, before, `piermq/jobs (--before ${values.before})`));
  for (let round = 0; round < ROUNDS; round++)
    for (let i = 0; i < runs.length; i++) results.push(await runs[(i + round) % runs.length]!());
  if (values['stream-ids']) {
    results.push(await pierJobs(url, JOBS, true));
    await streamIdLatency(url);
  }
} finally {
  await pier?.stop();
}
if (!values['no-bullmq']) {
  for (const durable of [false, true]) {
    for (let round = 0; round < ROUNDS; round++) {
      const result = await bullmq(durable).catch((error: unknown) => {
        console.error(`BullMQ run failed: ${error instanceof Error ? error.message : String(error)}`);
        return undefined;
      });
      if (result) results.push(result);
    }
  }
}
const rows = medianRows(results);
if (values.json) {
  console.log(JSON.stringify({ jobs: JOBS, concurrency: CONCURRENCY, rounds: ROUNDS, rows }));
  process.exit(0);
}
const jobs = rows[0]!;
const plain = rows.find((r) => r.name.startsWith('plain amqplib'));
console.log(`medians of ${ROUNDS} round(s)`);
console.log(
  '| run | added jobs/s | processed jobs/s | processed vs piermq/jobs | added, processed vs plain amqplib | processed per round |',
);
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) {
  const vsPlain = plain
    ? `${(r.addedPerS / plain.addedPerS).toFixed(2)}, ${(r.processedPerS / plain.processedPerS).toFixed(2)}`
    : '';
  console.log(
    `| ${r.name} | ${Math.round(r.addedPerS)} | ${Math.round(r.processedPerS)} | ${(r.processedPerS / jobs.processedPerS).toFixed(2)}× | ${vsPlain} | ${r.rounds.map((v) => Math.round(v)).join(', ')} |`,
  );
}

/** One row per run name (first-seen order): the median added and processed rates of its rounds. */
function medianRows(all: readonly Result[]): Array<Result & { rounds: number[] }> {
  const byName = new Map<string, Result[]>();
  for (const r of all) byName.set(r.name, [...(byName.get(r.name) ?? []), r]);
  const median = (values: number[]): number => {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  };
  return [...byName.entries()].map(([name, list]) => ({
    kind: list[0]!.kind,
    name,
    addedPerS: median(list.map((r) => r.addedPerS)),
    processedPerS: median(list.map((r) => r.processedPerS)),
    rounds: list.map((r) => r.processedPerS),
  }));
}
