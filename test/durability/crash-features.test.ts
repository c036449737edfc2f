/**
 * Kill -9 under load for the newer AMQP features: a child-process broker takes persistent messages
 * from a confirming publisher and is SIGKILLed at a random moment (seeded: PIER_CRASH_SEED), for
 * PIER_CRASH_ROUNDS rounds (default 8) per feature. After each restart nothing confirmed may be
 * missing:
 *  - a stream holds every confirmed message, in publish order, with dense offsets, once;
 *  - a delayed exchange routes every confirmed delayed message to its queue (at least once);
 *  - a work queue whose consumer rejects into a durable dead-letter queue keeps every confirmed
 *    message in the work queue or the DLQ (or both: dead-lettering is at least once).
 * A failed run keeps its data directory for inspection and names it in the error.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import amqp, { type ChannelModel, type ConfirmChannel, type ConsumeMessage, type Options } from 'amqplib';
import { type ChildBroker, spawnBroker, tempDir } from '../helpers/broker.js';
import { prng } from '../helpers/prng.js';

const ROUNDS = Number(process.env.PIER_CRASH_ROUNDS ?? 8);
const SEED = Number(process.env.PIER_CRASH_SEED ?? 42);
/** Unconfirmed publishes a publisher keeps in flight, as a real confirming publisher would. */
const MAX_IN_FLIGHT = 500;
const BODY_PADDING = 'x'.repeat(200);
/** A round takes 1-3 s on a 2-core machine; leave room for a loaded one. */
const TEST_TIMEOUT_MS = 60_000 + ROUNDS * 15_000;
/** How long a read may wait for the messages a declare-ok announced. */
const READ_TIMEOUT_MS = 30_000;

function bodyFor(id: string): Buffer {
  return Buffer.from(`${id}|${BODY_PADDING}`);
}

function idOf(message: ConsumeMessage): string {
  return message.content.toString().split('|')[0]!;
}

/** A message whose body or delivery mode is not what was published; undefined when intact. */
function damage(message: ConsumeMessage): string | undefined {
  const id = idOf(message);
  if (!message.content.equals(bodyFor(id))) return `body of ${id} damaged`;
  if (message.properties.deliveryMode !== 2) return `${id} lost its delivery mode 2`;
  return undefined;
}

/** The kill moment: 100-500 ms after the load starts. */
function killDelayMs(random: () => number): number {
  return 100 + Math.floor(random() * 400);
}

/**
 * Publishes `${round}-${n}` for n = 0, 1, ... with `publishOne` (up to MAX_IN_FLIGHT unconfirmed)
 * until the broker, killed `killAfterMs` from now, is gone. Returns the ids in publish order and
 * the confirmed ones with the time of their confirm.
 */
async function publishUntilKilled(
  broker: ChildBroker,
  connection: ChannelModel,
  publisher: ConfirmChannel,
  round: number,
  killAfterMs: number,
  publishOne: (id: string, onConfirm: (error: unknown) => void) => boolean,
): Promise<{ published: string[]; confirmed: Map<string, number> }> {
  const published: string[] = [];
  const confirmed = new Map<string, number>();
  let dead = false;
  connection.on('close', () => {
    dead = true;
  });
  const killTimer = setTimeout(() => broker.process.kill('SIGKILL'), killAfterMs);
  let inFlight = 0;
  await new Promise<void>((resolve) => {
    const pump = () => {
      while (!dead && inFlight < MAX_IN_FLIGHT) {
        const id = `${round}-${published.length}`;
        published.push(id);
        inFlight++;
        const ok = publishOne(id, (error) => {
          inFlight--;
          if (!error) confirmed.set(id, Date.now());
          if (!dead) setImmediate(pump);
        });
        if (!ok) break;
      }
    };
    publisher.on('drain', pump);
    pump();
    broker.exited.then(() => resolve());
  });
  clearTimeout(killTimer);
  return { published, confirmed };
}

/** Opens a connection whose errors (the broker being killed) are expected. */
async function connectQuietly(url: string): Promise<ChannelModel> {
  const connection = await amqp.connect(url);
  connection.on('error', () => {});
  return connection;
}

/**
 * Reads `count` deliveries from `queue` without settling them (they return to a classic queue
 * when the connection closes); checks every body. `options` selects e.g. a stream offset.
 */
async function readDeliveries(
  connection: ChannelModel,
  queue: string,
  count: number,
  prefetch: number,
  options: Options.Consume = {},
): Promise<ConsumeMessage[]> {
  const channel = await connection.createChannel();
  await channel.prefetch(prefetch);
  const got: ConsumeMessage[] = [];
  let damaged: string | undefined;
  if (count > 0) {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(`${queue}: only ${got.length} of the ${count} messages declare-ok counted arrived`),
          ),
        READ_TIMEOUT_MS,
      );
      channel.consume(
        queue,
        (message) => {
          if (!message) return;
          damaged ??= damage(message);
          got.push(message);
          // A stream's prefetch is freed by acks (they remove nothing).
          if (options.arguments?.['x-stream-offset'] !== undefined) channel.ack(message);
          if (got.length === count) {
            clearTimeout(timer);
            resolve();
          }
        },
        options,
      );
    });
  }
  assert.equal(damaged, undefined, `${queue}: ${damaged}`);
  return got;
}

/** Runs `rounds` crash rounds in a fresh data directory, keeping it when one fails. */
async function inDataDir(prefix: string, run: (dataDir: string) => Promise<void>): Promise<void> {
  const dataDir = tempDir(prefix);
  try {
    await run(dataDir);
  } catch (error) {
    throw new Error(`${(error as Error).message}\n(seed ${SEED}; data directory kept: ${dataDir})`, {
      cause: error,
    });
  }
  rmSync(dataDir, { recursive: true, force: true });
}

/** Starts a broker on `dataDir`, runs `check` against it and kills it again. */
async function withRestarted<T>(dataDir: string, check: (broker: ChildBroker) => Promise<T>): Promise<T> {
  const broker = await spawnBroker(dataDir);
  try {
    return await check(broker);
  } finally {
    broker.process.kill('SIGKILL');
    await broker.exited;
  }
}

describe(`crash durability of streams, delayed messages and dead-lettering (seed ${SEED}, ${ROUNDS} rounds)`, () => {
  test('a stream keeps every confirmed message, in order, with dense offsets, across SIGKILLs', {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const STREAM = 'crash-stream';
    const STREAM_OPTIONS: Options.AssertQueue = { durable: true, arguments: { 'x-queue-type': 'stream' } };
    const random = prng(SEED);
    /** Per round: ids published, how many were confirmed (a prefix: confirms arrive in order), how many are stored. */
    const rounds: { published: string[]; confirmedCount: number; storedCount?: number }[] = [];
    await inDataDir('pier-crash-stream-', async (dataDir) => {
      for (let round = 0; round < ROUNDS; round++) {
        const broker = await spawnBroker(dataDir);
        const connection = await connectQuietly(broker.url);
        const publisher = await connection.createConfirmChannel();
        publisher.on('error', () => {});
        await publisher.assertQueue(STREAM, STREAM_OPTIONS);
        const killAfterMs = killDelayMs(random);
        const { published, confirmed } = await publishUntilKilled(
          broker,
          connection,
          publisher,
          round,
          killAfterMs,
          (id, onConfirm) => publisher.sendToQueue(STREAM, bodyFor(id), { persistent: true }, onConfirm),
        );
        const confirmedCount = published.findIndex((id) => !confirmed.has(id));
        rounds.push({ published, confirmedCount: confirmedCount < 0 ? published.length : confirmedCount });
        assert.equal(
          confirmed.size,
          rounds[round]!.confirmedCount,
          `round ${round}: confirms must arrive in publish order`,
        );

        await withRestarted(dataDir, async (restarted) => {
          const reader = await amqp.connect(restarted.url);
          const channel = await reader.createChannel();
          const { messageCount } = await channel.assertQueue(STREAM, STREAM_OPTIONS);
          const messages = await readDeliveries(reader, STREAM, messageCount, 1000, {
            arguments: { 'x-stream-offset': 'first' },
          });
          await reader.close();
          const where = `round ${round} (killed at ${killAfterMs} ms)`;
          // Offsets are dense from 0 (no retention configured).
          const badOffset = messages.findIndex((m, i) => m.properties.headers?.['x-stream-offset'] !== i);
          assert.equal(
            badOffset,
            -1,
            `${where}: message ${badOffset} has x-stream-offset ${messages[badOffset]?.properties.headers?.['x-stream-offset']}`,
          );
          // The stream is, round after round, a prefix of what each round published.
          let next = 0;
          for (let r = 0; r <= round; r++) {
            const { published: sent, confirmedCount: acked, storedCount } = rounds[r]!;
            let count = 0;
            while (next < messages.length && idOf(messages[next]!) === sent[count]) {
              count++;
              next++;
            }
            assert.ok(
              count >= acked,
              `${where}: round ${r} confirmed ${acked} messages but the stream holds only its first ${count} ` +
                `(offset ${next} holds ${next < messages.length ? idOf(messages[next]!) : 'nothing'})`,
            );
            if (storedCount !== undefined) {
              assert.equal(
                count,
                storedCount,
                `${where}: round ${r} had ${storedCount} messages in the stream, now ${count}`,
              );
            }
            rounds[r]!.storedCount = count;
          }
          assert.equal(
            next,
            messages.length,
            `${where}: offset ${next} holds ${messages[next] ? idOf(messages[next]!) : '?'}, out of order or a duplicate`,
          );
        });
      }
    });
    const confirmedTotal = rounds.reduce((sum, r) => sum + r.confirmedCount, 0);
    assert.ok(
      confirmedTotal > ROUNDS * 100,
      `the publisher should have had confirms (got ${confirmedTotal})`,
    );
  });

  test('a delayed exchange loses no confirmed delayed message across SIGKILLs', {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const EXCHANGE = 'crash-delayed';
    const QUEUE = 'crash-delayed-q';
    const random = prng(SEED + 1);
    // Its own sequence, so the kill moments do not depend on how many messages a round published.
    const delayRandom = prng(SEED + 101);
    /** Confirmed ids → the latest the broker can have set their due time (confirm time + delay). */
    const dueByMs = new Map<string, number>();
    const delays = new Map<string, number>();
    let duplicates = 0;

    async function declare(connection: ChannelModel): Promise<ConfirmChannel> {
      const channel = await connection.createConfirmChannel();
      channel.on('error', () => {});
      await channel.assertExchange(EXCHANGE, 'x-delayed-message', {
        durable: true,
        arguments: { 'x-delayed-type': 'direct' },
      });
      await channel.assertQueue(QUEUE, { durable: true });
      await channel.bindQueue(QUEUE, EXCHANGE, 'due');
      return channel;
    }

    /** Reads the queue until every id due by `nowMs` is there; fails naming the missing ones. */
    async function checkFired(broker: ChildBroker, where: string): Promise<void> {
      const deadlineMs = Date.now() + 10_000;
      for (;;) {
        const nowMs = Date.now();
        const connection = await amqp.connect(broker.url);
        const channel = await declare(connection);
        const { messageCount } = await channel.checkQueue(QUEUE);
        const messages = await readDeliveries(connection, QUEUE, messageCount, 0);
        await connection.close();
        const seen = new Map<string, number>();
        for (const message of messages) {
          const id = idOf(message);
          seen.set(id, (seen.get(id) ?? 0) + 1);
          const delayMs = delays.get(id);
          assert.ok(delayMs !== undefined, `${where}: ${id} was never published`);
          assert.equal(message.properties.headers?.['x-delay'], -delayMs, `${where}: x-delay of ${id}`);
        }
        duplicates = [...seen.values()].reduce((sum, n) => sum + n - 1, 0);
        const missing = [...dueByMs]
          .filter(([id, dueMs]) => dueMs <= nowMs && !seen.has(id))
          .map(([id]) => id);
        if (missing.length === 0) return;
        // Late messages fire at once after a restart, but that takes a few turns: ask again.
        if (Date.now() > deadlineMs) {
          assert.deepEqual(missing, [], `${where}: confirmed delayed messages never reached the queue`);
        }
        await sleep(200);
      }
    }

    await inDataDir('pier-crash-delayed-', async (dataDir) => {
      for (let round = 0; round < ROUNDS; round++) {
        const broker = await spawnBroker(dataDir);
        const connection = await connectQuietly(broker.url);
        const publisher = await declare(connection);
        const killAfterMs = killDelayMs(random);
        const { confirmed } = await publishUntilKilled(
          broker,
          connection,
          publisher,
          round,
          killAfterMs,
          (id, onConfirm) => {
            // Mostly short delays (some fire before the kill, some after the restart); one in ten
            // long enough to stay pending across later kills.
            const delayMs =
              delayRandom() < 0.9
                ? 10 + Math.floor(delayRandom() * 290)
                : 500 + Math.floor(delayRandom() * 2500);
            delays.set(id, delayMs);
            return publisher.publish(
              EXCHANGE,
              'due',
              bodyFor(id),
              { persistent: true, headers: { 'x-delay': delayMs } },
              onConfirm,
            );
          },
        );
        for (const [id, atMs] of confirmed) dueByMs.set(id, atMs + delays.get(id)!);
        await withRestarted(dataDir, (restarted) =>
          checkFired(restarted, `round ${round} (killed at ${killAfterMs} ms)`),
        );
      }
      // The last restart: wait until everything is due, then every confirmed id must be there.
      const lastDueMs = Math.max(...dueByMs.values());
      await withRestarted(dataDir, async (restarted) => {
        await sleep(Math.max(0, lastDueMs - Date.now()));
        await checkFired(restarted, 'after the last restart');
      });
    });
    assert.ok(dueByMs.size > ROUNDS * 100, `the publisher should have had confirms (got ${dueByMs.size})`);
    console.log(`delayed: ${dueByMs.size} confirmed, ${duplicates} routed twice (a crash may do that)`);
  });

  test('a rejecting consumer dead-letters into a durable DLQ without losing messages across SIGKILLs', {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const WORK = 'crash-dlx-work';
    const DLX = 'crash-dlx';
    const DLQ = 'crash-dlx-dlq';
    const random = prng(SEED + 2);
    const mustExist = new Set<string>();
    let inBoth = 0;
    let dlqTwice = 0;

    async function declare(connection: ChannelModel): Promise<ConfirmChannel> {
      const channel = await connection.createConfirmChannel();
      channel.on('error', () => {});
      await channel.assertExchange(DLX, 'direct', { durable: true });
      await channel.assertQueue(DLQ, { durable: true });
      await channel.bindQueue(DLQ, DLX, 'dead');
      await channel.assertQueue(WORK, {
        durable: true,
        arguments: { 'x-dead-letter-exchange': DLX, 'x-dead-letter-routing-key': 'dead' },
      });
      return channel;
    }

    await inDataDir('pier-crash-dlx-', async (dataDir) => {
      for (let round = 0; round < ROUNDS; round++) {
        const broker = await spawnBroker(dataDir);
        const connection = await connectQuietly(broker.url);
        const publisher = await declare(connection);
        const consumer = await connection.createChannel();
        consumer.on('error', () => {});
        await consumer.prefetch(50);
        let deliveries = 0;
        await consumer.consume(WORK, (message) => {
          if (!message) return;
          // Reject two deliveries in three (dead-lettered); requeue the third, so it comes back.
          if (deliveries++ % 3 === 2) consumer.nack(message, false, true);
          else consumer.reject(message, false);
        });
        const killAfterMs = killDelayMs(random);
        const { confirmed } = await publishUntilKilled(
          broker,
          connection,
          publisher,
          round,
          killAfterMs,
          (id, onConfirm) => publisher.sendToQueue(WORK, bodyFor(id), { persistent: true }, onConfirm),
        );
        for (const id of confirmed.keys()) mustExist.add(id);

        await withRestarted(dataDir, async (restarted) => {
          const where = `round ${round} (killed at ${killAfterMs} ms)`;
          const reader = await amqp.connect(restarted.url);
          const channel = await declare(reader);
          const work = await channel.checkQueue(WORK);
          const dead = await channel.checkQueue(DLQ);
          const inWork = await readDeliveries(reader, WORK, work.messageCount, 0);
          const inDlq = await readDeliveries(reader, DLQ, dead.messageCount, 0);
          await reader.close();
          const workIds = new Set(inWork.map(idOf));
          assert.equal(workIds.size, inWork.length, `${where}: the work queue holds a message twice`);
          const dlqCounts = new Map<string, number>();
          for (const message of inDlq) {
            const id = idOf(message);
            dlqCounts.set(id, (dlqCounts.get(id) ?? 0) + 1);
            const death = (
              message.properties.headers?.['x-death'] as Record<string, unknown>[] | undefined
            )?.[0];
            assert.equal(death?.reason, 'rejected', `${where}: x-death reason of ${id}`);
            assert.equal(death?.queue, WORK, `${where}: x-death queue of ${id}`);
          }
          const lost = [...mustExist].filter((id) => !workIds.has(id) && !dlqCounts.has(id));
          assert.deepEqual(lost, [], `${where}: confirmed messages in neither the work queue nor the DLQ`);
          inBoth = [...workIds].filter((id) => dlqCounts.has(id)).length;
          dlqTwice = [...dlqCounts.values()].filter((n) => n > 1).length;
        });
      }
    });
    assert.ok(
      mustExist.size > ROUNDS * 100,
      `the publisher should have had confirms (got ${mustExist.size})`,
    );
    console.log(
      `dead-lettering: ${mustExist.size} confirmed, ${inBoth} in both queues, ${dlqTwice} twice in the DLQ (a crash may do that)`,
    );
  });
});
