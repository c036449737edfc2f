/**
 * Deep queues keep memory bounded: 1,000,000 persistent 1 KiB messages (about 1 GiB of bodies)
 * are published with confirms to a child-process broker, whose resident memory must stay far
 * below the data size; after a restart the queue reports every message and delivers them in
 * order from the head, still without loading the queue into memory.
 * PIER_DEEP_QUEUE_MESSAGES overrides the count (e.g. for a quick local run).
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { test } from 'node:test';
import amqp from 'amqplib';
import { type ChildBroker, spawnBroker, tempDir } from '../helpers/broker.js';

const MESSAGES = Number(process.env.PIER_DEEP_QUEUE_MESSAGES ?? 1_000_000);
const BODY_BYTES = 1024;
/** Far below the ~1 GiB of bodies: the broker holds a window of bodies plus per-segment counts. */
const RSS_LIMIT_BYTES = 400 * 1024 * 1024;
const QUEUE = 'deep';

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  assert.ok(match, 'VmRSS missing from /proc status');
  return Number(match[1]) * 1024;
}

function body(index: number): Buffer {
  const buffer = Buffer.alloc(BODY_BYTES, 0x61);
  buffer.writeUInt32BE(index, 0);
  return buffer;
}

async function publishAll(broker: ChildBroker): Promise<number> {
  const connection = await amqp.connect(broker.url);
  const channel = await connection.createConfirmChannel();
  await channel.assertQueue(QUEUE, { durable: true });
  let peakRss = 0;
  const windowSize = 2000;
  for (let start = 0; start < MESSAGES; start += windowSize) {
    const end = Math.min(MESSAGES, start + windowSize);
    for (let i = start; i < end; i++) channel.publish('', QUEUE, body(i), { persistent: true });
    await channel.waitForConfirms();
    if ((start / windowSize) % 50 === 0) peakRss = Math.max(peakRss, rssBytes(broker.process.pid!));
  }
  peakRss = Math.max(peakRss, rssBytes(broker.process.pid!));
  await connection.close();
  return peakRss;
}

test(`${MESSAGES} persistent 1 KiB messages keep the broker's memory bounded`, {
  timeout: 900_000,
}, async (t) => {
  const dataDir = tempDir('pier-deep-');
  try {
    const first = await spawnBroker(dataDir);
    const publishStartedAt = Date.now();
    const peakRss = await publishAll(first);
    const publishSeconds = (Date.now() - publishStartedAt) / 1000;
    t.diagnostic(
      `published ${MESSAGES} x ${BODY_BYTES} B persistent in ${publishSeconds.toFixed(1)} s ` +
        `(${Math.round(MESSAGES / publishSeconds)} msg/s); peak broker RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB`,
    );
    assert.ok(peakRss < RSS_LIMIT_BYTES, `broker RSS ${peakRss} exceeds ${RSS_LIMIT_BYTES} while queueing`);
    first.process.kill('SIGTERM');
    await first.exited;

    const recoveryStartedAt = Date.now();
    const second = await spawnBroker(dataDir);
    const recoverySeconds = (Date.now() - recoveryStartedAt) / 1000;
    const connection = await amqp.connect(second.url);
    const channel = await connection.createChannel();
    const { messageCount } = await channel.assertQueue(QUEUE, { durable: true });
    assert.equal(messageCount, MESSAGES);
    const rssAfterRecovery = rssBytes(second.process.pid!);
    t.diagnostic(
      `restart took ${recoverySeconds.toFixed(1)} s; RSS after recovery ${(rssAfterRecovery / 2 ** 20).toFixed(0)} MiB`,
    );
    assert.ok(rssAfterRecovery < RSS_LIMIT_BYTES, `broker RSS ${rssAfterRecovery} after recovery`);

    // The head of the queue comes back in order with intact bodies.
    await channel.prefetch(500);
    const wanted = Math.min(MESSAGES, 20_000);
    let next = 0;
    await new Promise<void>((resolve, reject) => {
      channel.consume(QUEUE, (message) => {
        if (!message) return;
        if (next >= wanted) return;
        if (!message.content.equals(body(next))) {
          reject(new Error(`message ${next} out of order or damaged`));
          return;
        }
        next++;
        channel.ack(message);
        if (next === wanted) resolve();
      });
    });
    await connection.close();
    second.process.kill('SIGTERM');
    await second.exited;
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
