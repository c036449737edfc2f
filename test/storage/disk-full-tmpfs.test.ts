/**
 * A real full disk: the broker's data directory on an 8 MiB tmpfs (mounted in a private mount
 * namespace made with `unshare -m`, so nothing leaks to the host), a 2 MiB ballast file beside it,
 * and publishers over amqplib, kafkajs and the AWS SDK writing until the file system refuses
 * (ENOSPC; --disk-free-limit 0 so that the write error, not the free-space measurement, raises the
 * disk alarm). Then: AMQP publishers were blocked (connection.blocked), Kafka produce answered
 * KAFKA_STORAGE_ERROR, SQS sends 503; a consumer kept reading; the broker stayed up and said so in
 * its health check and metrics. Deleting the ballast frees space: publishers are unblocked, every
 * pending confirm arrives, new writes succeed, without a restart. After kill -9 and a restart,
 * every acknowledged message of every protocol is there.
 *
 * Needs root (as CI runs); skipped with the reason otherwise.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  CreateQueueCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import amqplib from 'amqplib';
import kafkajs from 'kafkajs';
import { type ChildBroker, spawnBroker } from '../helpers/broker.js';

const { Kafka, logLevel } = kafkajs;
const TMPFS_SIZE = '8m';
const BALLAST_BYTES = 2 * 1024 * 1024;
const BODY_BYTES = 4000;
/** More messages than 8 MiB holds: reaching it means the disk never refused. */
const MAX_MESSAGES = 4000;

function body(id: string): Buffer {
  const head = Buffer.from(`${id}|`);
  return Buffer.concat([head, Buffer.alloc(BODY_BYTES - head.length, 'x')]);
}
const idOf = (data: Buffer | string | null | undefined) => String(data ?? '').split('|')[0]!;

/** Why this test cannot run here, or undefined. */
function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) {
    return 'needs root to mount a size-limited tmpfs in a private mount namespace (unshare -m); CI runs it as root';
  }
  const dir = mkdtempSync(join(tmpdir(), 'pier-tmpfs-probe-'));
  try {
    const probe = spawnSync('unshare', [
      '-m',
      '--propagation',
      'private',
      'mount',
      '-t',
      'tmpfs',
      '-o',
      'size=1m',
      'tmpfs',
      dir,
    ]);
    if (probe.status !== 0) {
      return `cannot mount a tmpfs in a private mount namespace (unshare -m mount -t tmpfs: ${probe.error?.message ?? String(probe.stderr).trim()})`;
    }
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A private mount namespace holding a tmpfs at `dir`, kept alive by a sleeping process. */
async function mountTmpfs(dir: string): Promise<{ holder: ChildProcess; wrapper: string[]; view: string }> {
  const holder = spawn(
    'unshare',
    [
      '-m',
      '--propagation',
      'private',
      'sh',
      '-c',
      `mount -t tmpfs -o size=${TMPFS_SIZE},mode=0700 tmpfs "$0" && echo mounted && exec sleep 100000`,
      dir,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  holder.stderr!.on('data', (chunk) => {
    stderr += chunk;
  });
  await new Promise<void>((resolve, reject) => {
    holder.stdout!.on('data', (chunk) => String(chunk).includes('mounted') && resolve());
    holder.once('exit', (code) => reject(new Error(`unshare/mount exited ${code}: ${stderr}`)));
  });
  const pid = String(holder.pid);
  // unshare and sh exec: the holder's pid is the sleeping process in the namespace, whose root
  // (/proc/PID/root) shows the tmpfs to this process.
  return { holder, wrapper: ['nsenter', '-t', pid, '-m', '--'], view: `/proc/${pid}/root${dir}` };
}

function kafkaErrorType(err: unknown): string {
  let e = err as { type?: string; cause?: unknown; originalError?: unknown; message?: string } | undefined;
  for (let depth = 0; e && depth < 5; depth++) {
    if (e.type && e.type !== 'UNKNOWN') return e.type;
    e = (e.cause ?? e.originalError) as typeof e;
  }
  return String((err as Error)?.message ?? err);
}

const skip = skipReason();

describe('a real full disk (8 MiB tmpfs): publishers of all three protocols', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'pier-tmpfs-'));
  let holder: ChildProcess | undefined;
  let broker: ChildBroker | undefined;
  /** Clients to close if the test fails half-way (they would keep the process alive). */
  const clients: Array<() => unknown> = [];
  const closing = <T>(client: T, close: (client: T) => unknown): T => {
    clients.push(() => close(client));
    return client;
  };
  after(async () => {
    for (const close of clients) {
      try {
        await Promise.race([close(), new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
      } catch {
        // already closed
      }
    }
    broker?.process.kill('SIGKILL');
    if (broker) await broker.exited;
    holder?.kill('SIGKILL');
    if (holder && holder.exitCode === null) await once(holder, 'exit');
    rmSync(dir, { recursive: true, force: true });
  });

  it('are blocked or refused, never acknowledged beyond what is stored; resume when space returns; nothing acknowledged is lost', {
    timeout: 90_000,
  }, async (t) => {
    const ns = await mountTmpfs(dir);
    holder = ns.holder;
    writeFileSync(join(ns.view, 'ballast'), Buffer.alloc(BALLAST_BYTES, 1));
    const dataDir = join(dir, 'data');
    const start = async () => {
      const child = await spawnBroker(
        dataDir,
        [
          '--kafka-port',
          '0',
          '--sqs-port',
          '0',
          '--http-port',
          '0',
          '--prometheus-port',
          '0',
          '--disk-free-limit',
          '0',
        ],
        ['amqp', 'kafka', 'sqs', 'http', 'prometheus'],
        { wrapper: ns.wrapper },
      );
      let log = '';
      child.process.stderr!.on('data', (chunk) => {
        log += chunk;
      });
      return { child, log: () => log };
    };
    const first = await start();
    broker = first.child;
    const address = (name: string) => broker!.listeners.get(name)!;
    const httpUrl = () => `http://127.0.0.1:${address('http').port}`;
    const health = async () => {
      const res = await fetch(`${httpUrl()}/api/health/checks/local-alarms`, {
        headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` },
      });
      return { status: res.status, body: (await res.json()) as { alarms?: unknown } };
    };
    const metric = async (name: string) => {
      const text = await (await fetch(`http://127.0.0.1:${address('prometheus').port}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith(`${name} `));
      return line === undefined ? undefined : Number(line.split(' ')[1]);
    };

    // ---- the publishers' setup --------------------------------------------------------------
    const amqp = closing(await amqplib.connect(broker.url), (c) => c.close());
    const blockedReasons: string[] = [];
    let onBlocked = () => {};
    amqp.on('blocked', (reason: string) => {
      blockedReasons.push(reason);
      onBlocked();
    });
    const unblocked = new Promise<void>((resolve) => amqp.once('unblocked', () => resolve()));
    const confirmCh = await amqp.createConfirmChannel();
    await confirmCh.assertQueue('full', { durable: true });
    const kafka = new Kafka({
      clientId: 'full-disk',
      brokers: [`127.0.0.1:${address('kafka').port}`],
      logLevel: logLevel.NOTHING,
    });
    const admin = closing(kafka.admin(), (c) => c.disconnect());
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'full', numPartitions: 1 }] });
    const producer = closing(kafka.producer({ retry: { retries: 0 }, allowAutoTopicCreation: false }), (c) =>
      c.disconnect(),
    );
    await producer.connect();
    const sqs = closing(
      new SQSClient({
        endpoint: `http://127.0.0.1:${address('sqs').port}`,
        region: 'us-east-1',
        credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' },
        maxAttempts: 1,
      }),
      (c) => c.destroy(),
    );
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'full' }));

    // ---- fill the disk ----------------------------------------------------------------------
    const amqpConfirmed = new Set<string>();
    let amqpNacked = 0;
    const amqpInFlight = new Set<Promise<void>>();
    const publishAmqp = (id: string) => {
      const confirm = new Promise<void>((resolve) => {
        confirmCh.publish('', 'full', body(id), { persistent: true }, (err) => {
          if (err) amqpNacked++;
          else amqpConfirmed.add(id);
          resolve();
        });
      });
      amqpInFlight.add(confirm);
      void confirm.then(() => amqpInFlight.delete(confirm));
    };
    const blockedOnce = new Promise<void>((resolve) => {
      onBlocked = resolve;
    });
    let alarmSeen = false;
    let onAlarmSeen = () => {};
    const alarmSeenOnce = new Promise<void>((resolve) => {
      onAlarmSeen = () => {
        alarmSeen = true;
        resolve();
      };
    });
    const fillAmqp = async () => {
      for (let n = 0; blockedReasons.length === 0; n++) {
        if (n >= MAX_MESSAGES) throw new Error(`${n} AMQP messages published and never blocked`);
        // A client waiting on its confirms sends nothing, so it is never blocked (as in RabbitMQ):
        // once another protocol has seen the alarm, publish past the window to meet it.
        if (amqpInFlight.size >= 64 && !alarmSeen)
          await Promise.race([...amqpInFlight, blockedOnce, alarmSeenOnce]);
        // Past the window, let the broker's answer (connection.blocked) in between publishes.
        if (alarmSeen) await new Promise((resolve) => setImmediate(resolve));
        if (blockedReasons.length > 0) break;
        publishAmqp(`a${n}`);
      }
    };
    const kafkaAcked = new Set<string>();
    const kafkaRefusals: string[] = [];
    let kafkaN = 0;
    const sendKafka = async (count: number) => {
      const ids = Array.from({ length: count }, () => `k${kafkaN++}`);
      await producer.send({ topic: 'full', acks: -1, messages: ids.map((id) => ({ value: body(id) })) });
      for (const id of ids) kafkaAcked.add(id);
    };
    const fillKafka = async () => {
      while (kafkaRefusals.length === 0) {
        if (kafkaN >= MAX_MESSAGES) throw new Error(`${kafkaN} Kafka records produced and never refused`);
        try {
          await sendKafka(8);
        } catch (err) {
          kafkaRefusals.push(kafkaErrorType(err));
          onAlarmSeen();
        }
      }
    };
    const sqsAcked = new Set<string>();
    const sqsRefusals: Array<{ name: string; status: number | undefined }> = [];
    let sqsN = 0;
    const sendSqs = async () => {
      const id = `s${sqsN++}`;
      await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: body(id).toString() }));
      sqsAcked.add(id);
    };
    const fillSqs = async () => {
      while (sqsRefusals.length === 0) {
        if (sqsN >= MAX_MESSAGES) throw new Error(`${sqsN} SQS messages sent and never refused`);
        try {
          await sendSqs();
        } catch (err) {
          const e = err as Error & { $metadata?: { httpStatusCode?: number } };
          sqsRefusals.push({ name: e.name, status: e.$metadata?.httpStatusCode });
          onAlarmSeen();
        }
      }
    };
    // Some of each first, so that every protocol has acknowledged messages to lose.
    for (let i = 0; i < 20; i++) {
      publishAmqp(`w${i}`);
      await sendSqs();
    }
    await sendKafka(20);
    await Promise.all(amqpInFlight);
    await Promise.all([fillAmqp(), fillKafka(), fillSqs()]);

    // ---- the disk is full -------------------------------------------------------------------
    assert.equal(blockedReasons[0], 'low on disk');
    assert.deepEqual([...new Set(kafkaRefusals)], ['KAFKA_STORAGE_ERROR']);
    assert.deepEqual(sqsRefusals, [{ name: 'ServiceUnavailable', status: 503 }]);
    assert.equal(amqpNacked, 0);
    assert.equal(broker.process.exitCode, null, 'the broker stays up');
    assert.match(first.log(), /disk resource limit alarm set: writing to .* fails \(ENOSPC/);
    const full = await health();
    assert.equal(full.status, 503);
    assert.deepEqual(full.body.alarms, [{ node: 'pier@localhost', resource: 'disk' }]);
    assert.equal(await metric('rabbitmq_alarms_free_disk_space_watermark'), 1);
    assert.equal(await metric('pier_storage_write_failing'), 1);
    // Consumers keep reading: an AMQP consumer on another connection (it does not publish, so it
    // is not blocked) and an SQS receive.
    const reader = closing(await amqplib.connect(broker.url), (c) => c.close());
    const readerCh = await reader.createChannel();
    const got = await readerCh.get('full', { noAck: false });
    assert.ok(got, 'an AMQP consumer reads during the alarm');
    await readerCh.close(); // requeues it
    await reader.close();
    const received = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 1, VisibilityTimeout: 0 }),
    );
    assert.equal(received.Messages?.length, 1, 'an SQS receive works during the alarm');
    const confirmedWhileFull = amqpConfirmed.size;
    const pendingWhileFull = amqpInFlight.size;

    // ---- space returns ----------------------------------------------------------------------
    unlinkSync(join(ns.view, 'ballast'));
    await unblocked;
    await Promise.all(amqpInFlight);
    assert.equal(amqpNacked, 0, 'every AMQP publish held while full is confirmed once space returns');
    for (let i = 0; i < 5; i++) publishAmqp(`r${i}`);
    await Promise.all(amqpInFlight);
    await sendKafka(5);
    await sendSqs();
    assert.equal((await health()).status, 200);
    assert.equal(await metric('rabbitmq_alarms_free_disk_space_watermark'), 0);
    assert.equal(await metric('pier_storage_write_failing'), 0);
    assert.match(first.log(), /disk resource limit alarm cleared/);
    t.diagnostic(
      `acknowledged: amqp ${amqpConfirmed.size} (${confirmedWhileFull} before space returned, ${pendingWhileFull} pending then), kafka ${kafkaAcked.size}, sqs ${sqsAcked.size}; refused: kafka ${kafkaRefusals.length}, sqs ${sqsRefusals.length}`,
    );
    await producer.disconnect();
    await admin.disconnect();
    await amqp.close().catch(() => {});
    sqs.destroy();

    // ---- kill -9, restart, count --------------------------------------------------------------
    broker.process.kill('SIGKILL');
    await broker.exited;
    broker = (await start()).child;

    const amqp2 = closing(await amqplib.connect(broker.url), (c) => c.close());
    const ch2 = await amqp2.createChannel();
    const amqpStored = new Set<string>();
    for (;;) {
      const message = await ch2.get('full', { noAck: true });
      if (!message) break;
      amqpStored.add(idOf(message.content));
    }
    await amqp2.close();
    const amqpLost = [...amqpConfirmed].filter((id) => !amqpStored.has(id));
    assert.deepEqual(amqpLost, [], 'confirmed AMQP messages lost');

    const kafka2 = new Kafka({
      clientId: 'full-disk-check',
      brokers: [`127.0.0.1:${address('kafka').port}`],
      logLevel: logLevel.NOTHING,
    });
    const admin2 = closing(kafka2.admin(), (c) => c.disconnect());
    await admin2.connect();
    const [offsets] = await admin2.fetchTopicOffsets('full');
    await admin2.disconnect();
    const high = Number(offsets!.high);
    const kafkaStored = new Set<string>();
    const consumer = closing(kafka2.consumer({ groupId: 'check', heartbeatInterval: 100 }), (c) =>
      c.disconnect(),
    );
    await consumer.connect();
    await consumer.subscribe({ topic: 'full', fromBeginning: true });
    await new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          kafkaStored.add(idOf(message.value));
          if (Number(message.offset) >= high - 1) resolve();
        },
      });
    });
    await consumer.disconnect();
    const kafkaLost = [...kafkaAcked].filter((id) => !kafkaStored.has(id));
    assert.deepEqual(kafkaLost, [], 'acknowledged Kafka records lost');

    const sqs2 = closing(
      new SQSClient({
        endpoint: `http://127.0.0.1:${address('sqs').port}`,
        region: 'us-east-1',
        credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' },
      }),
      (c) => c.destroy(),
    );
    // The new listener's port: the SDK sends to the queue URL's host.
    const queueUrl = (await sqs2.send(new GetQueueUrlCommand({ QueueName: 'full' }))).QueueUrl;
    const sqsStored = new Set<string>();
    for (;;) {
      const answer = await sqs2.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 600 }),
      );
      if (!answer.Messages?.length) break;
      for (const m of answer.Messages) sqsStored.add(idOf(m.Body));
    }
    sqs2.destroy();
    const sqsLost = [...sqsAcked].filter((id) => !sqsStored.has(id));
    assert.deepEqual(sqsLost, [], 'acknowledged SQS messages lost');
  });
});
