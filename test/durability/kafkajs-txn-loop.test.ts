/**
 * kafkajs 2.2.4 exactly-once: a consume-transform-produce loop (consumer batch → producer
 * transaction with the output records and sendOffsets → commit) over PIER_TXN_RECORDS (default
 * 100,000; about 30 s) input records while the child broker is SIGKILLed and restarted on the same port four
 * times. A worker whose clients hit an error is thrown away and a new one started (its producer
 * fences the old one; its consumer resumes at the committed offsets). At the end a read_committed
 * consumer sees every input record exactly once in the output topic.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import kafkajs from 'kafkajs';
import { freeLoopbackPort, tempDir } from '../helpers/broker.js';
import { type ChildKafkaBroker, GROUP_TEST_ARGS, spawnKafkaBroker } from '../helpers/kafka.js';

const { Kafka, logLevel } = kafkajs;
const RECORDS = Number(process.env.PIER_TXN_RECORDS ?? 100_000);
const KILLS = 4;
const PARTITIONS = 3;
const INPUT = 'ctp-input';
const OUTPUT = 'ctp-output';
const GROUP = 'ctp-group';

function client(bootstrap: string, clientId: string): kafkajs.Kafka {
  return new Kafka({
    clientId,
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 },
    connectionTimeout: 1000,
  });
}

/** Resolves when the promise does or after `ms`, whichever is first (teardown of broken clients). */
function bounded(promise: Promise<unknown>, ms: number): Promise<unknown> {
  return Promise.race([promise.catch(() => {}), new Promise((resolve) => setTimeout(resolve, ms))]);
}

/**
 * Workers' clients whose disconnect did not finish while the broker was down. Left alone they kept
 * retrying against the broker killed at the end and the test file never exited (CI stopped it
 * after 600 s); they are disconnected again once the transform is over and a broker is up.
 */
const lingering: Array<{ disconnect(): Promise<void> }> = [];

async function disconnectOrRemember(clientToClose: { disconnect(): Promise<void> }): Promise<void> {
  let done = false;
  await bounded(
    clientToClose.disconnect().then(() => {
      done = true;
    }),
    2000,
  );
  if (!done) lingering.push(clientToClose);
}

/** One generation of the transform: resolves when it broke (an error anywhere) or was stopped. */
const trace = (line: string) => {
  if (process.env.PIER_TXN_DEBUG) process.stderr.write(`${new Date().toISOString()} ${line}\n`);
};

async function runWorker(bootstrap: string, generation: number, stop: { done: boolean }): Promise<void> {
  trace(`worker ${generation} starting`);
  const kafka = client(bootstrap, `worker-${generation}`);
  const producer = kafka.producer({ transactionalId: 'ctp-txn', idempotent: true, maxInFlightRequests: 1 });
  const consumer = kafka.consumer({
    groupId: GROUP,
    // A crashed consumer stays stopped: this worker is thrown away and a new one takes over, so a
    // consumer restarting itself would only compete with its successor (and outlive the test).
    retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000, restartOnFailure: async () => false },
    readUncommitted: false,
    maxWaitTimeInMs: 200,
    // Batches of a few thousand records: kafkajs takes minutes to encode one of 30,000.
    maxBytesPerPartition: 64 * 1024,
  });
  let broken: (error: Error) => void = () => {};
  const failed = new Promise<Error>((resolve) => {
    broken = resolve;
  });
  try {
    await producer.connect();
    // Starting the producer's first transaction sends InitProducerId: it fences the previous
    // worker's producer and waits out its open transaction, so the offsets read next are stable.
    const warmUp = await producer.transaction();
    await warmUp.abort();
    await consumer.connect();
    await consumer.subscribe({ topic: INPUT, fromBeginning: true });
    consumer.on(consumer.events.CRASH, (event) => broken(event.payload.error));
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        if (batch.messages.length === 0) return;
        const txn = await producer.transaction();
        try {
          await txn.send({
            topic: OUTPUT,
            messages: batch.messages.map((m) => ({
              key: m.key,
              value: `out-${m.value!.toString()}`,
              partition: batch.partition,
            })),
          });
          await txn.sendOffsets({
            consumerGroupId: GROUP,
            topics: [
              {
                topic: INPUT,
                partitions: [
                  { partition: batch.partition, offset: (BigInt(batch.lastOffset()) + 1n).toString() },
                ],
              },
            ],
          });
          await txn.commit();
        } catch (error) {
          await bounded(txn.abort(), 500);
          trace(`worker ${generation} broke: ${(error as Error).message}`);
          broken(error as Error);
          throw error;
        }
      },
    });
    await Promise.race([
      failed,
      new Promise<void>((resolve) => {
        const poll = setInterval(() => {
          if (stop.done) {
            clearInterval(poll);
            resolve();
          }
        }, 100);
      }),
    ]);
  } catch (error) {
    // The broker went away while connecting: this worker is done; the next one starts fresh.
    trace(`worker ${generation} start failed: ${(error as Error).message}`);
  } finally {
    trace(`worker ${generation} ending`);
    await disconnectOrRemember(consumer);
    await disconnectOrRemember(producer);
  }
}

/** Sum of the group's committed offsets over the input partitions (-1 when unreadable). */
async function committedTotal(bootstrap: string): Promise<number> {
  const admin = client(bootstrap, 'progress').admin();
  try {
    await admin.connect();
    const [offsets] = await admin.fetchOffsets({ groupId: GROUP, topics: [INPUT] });
    return offsets!.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
  } catch {
    return -1;
  } finally {
    await bounded(admin.disconnect(), 1000);
  }
}

test(`kafkajs consume-transform-produce of ${RECORDS} records through ${KILLS} SIGKILLs: exactly once for read_committed`, {
  timeout: 300_000,
}, async (t) => {
  const dataDir = tempDir('pier-kafkajs-txn-loop-');
  const port = await freeLoopbackPort();
  const args = [...GROUP_TEST_ARGS, '--kafka-port', String(port)];
  let broker: ChildKafkaBroker = await spawnKafkaBroker(dataDir, args);
  const bootstrap = broker.bootstrap;
  try {
    const setup = client(bootstrap, 'setup');
    const admin = setup.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        { topic: INPUT, numPartitions: PARTITIONS },
        { topic: OUTPUT, numPartitions: PARTITIONS },
      ],
    });
    await admin.disconnect();
    const filler = setup.producer({ idempotent: true, maxInFlightRequests: 1 });
    await filler.connect();
    for (let start = 0; start < RECORDS; start += 10_000) {
      const messages = [];
      for (let i = start; i < Math.min(RECORDS, start + 10_000); i++)
        messages.push({ key: `k${i}`, value: `in-${i}` });
      await filler.send({ topic: INPUT, messages });
    }
    await filler.disconnect();

    const stop = { done: false };
    let kills = 0;
    const killer = (async () => {
      while (kills < KILLS && !stop.done) {
        await new Promise((resolve) => setTimeout(resolve, 2500));
        if (stop.done) break;
        await broker.kill();
        kills++;
        broker = await spawnKafkaBroker(dataDir, args);
      }
    })();
    const progress = (async () => {
      while ((await committedTotal(bootstrap)) < RECORDS)
        await new Promise((resolve) => setTimeout(resolve, 250));
      stop.done = true;
    })();
    let generation = 0;
    while (!stop.done) {
      await runWorker(bootstrap, generation++, stop);
      assert.ok(generation < 40, `the transform did not finish after ${generation} workers`);
    }
    await progress;
    await killer;
    for (const leftover of lingering.splice(0)) await bounded(leftover.disconnect(), 5000);
    // A kill every 2.5 s: an idle machine can finish the transform before the first one (seen
    // here: 0 or 1 of 4), so the count is reported, not asserted; kafka-txn-crash.test.ts asserts
    // atomicity through 20 kills whatever the speed.
    t.diagnostic(`the broker was killed ${kills} of ${KILLS} times while the transform ran`);

    // The output as read_committed sees it.
    const reader = client(bootstrap, 'reader').consumer({ groupId: 'ctp-reader', readUncommitted: false });
    await reader.connect();
    await reader.subscribe({ topic: OUTPUT, fromBeginning: true });
    const counts = new Map<string, number>();
    let total = 0;
    await new Promise<void>((resolve) => {
      let idle: NodeJS.Timeout | undefined;
      void reader.run({
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) {
            const value = m.value!.toString();
            counts.set(value, (counts.get(value) ?? 0) + 1);
            total++;
          }
          // Once everything arrived, wait a little for duplicates beyond the count.
          if (total >= RECORDS) {
            clearTimeout(idle);
            idle = setTimeout(resolve, 1000);
          }
        },
      });
    });
    await reader.disconnect();
    const duplicated = [...counts].filter(([, n]) => n > 1).map(([v]) => v);
    const missing: string[] = [];
    for (let i = 0; i < RECORDS; i++) if (!counts.has(`out-in-${i}`)) missing.push(`out-in-${i}`);
    assert.deepEqual(duplicated.slice(0, 5), [], `${duplicated.length} records appear more than once`);
    assert.deepEqual(missing.slice(0, 5), [], `${missing.length} input records are missing from the output`);
    assert.equal(total, RECORDS);
    t.diagnostic(`${generation} workers ran (each kill breaks one, a new one takes over)`);
  } finally {
    await broker.kill();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
