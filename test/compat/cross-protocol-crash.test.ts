// Issue 17's cross-protocol paths with other languages' clients at the ends and the broker
// SIGKILLed in the middle of each: kcat produces → shovel (Kafka topic → SQS queue) → an
// sqs-consumer worker processes every record with its headers as attributes; boto3 sends to a FIFO
// queue → shovel (SQS → AMQP queue) → an amqplib consumer receives each group in order. Nothing is
// lost; duplicates from the crash window are allowed (and counted).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import amqplib from 'amqplib';
import { Consumer } from 'sqs-consumer';
import { type ChildBroker, freeLoopbackPort, runPier, spawnBroker, tempDir } from '../helpers/broker.js';
import { PYTHON, PYTHON_DIR, run } from './helpers.js';

const hasKcat = spawnSync('kcat', ['-V'], { stdio: 'ignore' }).status === 0;
const hasBoto3 = spawnSync(PYTHON, ['-c', 'import boto3'], { stdio: 'ignore' }).status === 0;

/** A child Pier with AMQP, Kafka and SQS on fixed loopback ports, restartable on the same ones. */
async function restartableBroker(dataDir: string) {
  const ports = {
    amqp: await freeLoopbackPort(),
    kafka: await freeLoopbackPort(),
    sqs: await freeLoopbackPort(),
  };
  const start = () =>
    spawnBroker(
      dataDir,
      [
        '--amqp-port',
        String(ports.amqp),
        '--kafka-port',
        String(ports.kafka),
        '--sqs-port',
        String(ports.sqs),
      ],
      ['amqp', 'kafka', 'sqs'],
    );
  return { ports, start };
}

async function shovel(dataDir: string, name: string, definition: object): Promise<void> {
  const r = await runPier(['shovel', 'add', name, JSON.stringify(definition), '--data-dir', dataDir]);
  assert.equal(r.code, 0, r.stderr);
}

/** Waits (polling a cheap local condition every 20 ms) until check() holds or timeoutMs passes. */
async function until(what: string, check: () => boolean, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function killAndRestart(broker: ChildBroker, start: () => Promise<ChildBroker>): Promise<ChildBroker> {
  broker.process.kill('SIGKILL');
  await broker.exited;
  return start();
}

test('kcat → Kafka topic → shovel → SQS → sqs-consumer, the broker SIGKILLed mid-way: every record processed with its headers', {
  skip: hasKcat ? false : 'kcat is not installed (apt-get install kcat)',
}, async (t) => {
  const dataDir = tempDir();
  const { ports, start } = await restartableBroker(dataDir);
  let broker = await start();
  const sqs = new SQSClient({
    endpoint: `http://127.0.0.1:${ports.sqs}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 10,
  });
  const COUNT = 2000;
  const seen = new Map<string, number>();
  let withHeader = 0;
  const worker = Consumer.create({
    queueUrl: `http://127.0.0.1:${ports.sqs}/000000000000/events`,
    sqs,
    batchSize: 10,
    waitTimeSeconds: 1,
    pollingWaitTimeMs: 10,
    messageAttributeNames: ['All'],
    handleMessage: async (message) => {
      seen.set(message.Body!, (seen.get(message.Body!) ?? 0) + 1);
      if (message.MessageAttributes?.source?.StringValue === 'kcat') withHeader++;
      return message;
    },
  });
  worker.on('error', () => undefined);
  try {
    await sqs.send(new CreateQueueCommand({ QueueName: 'events' }));
    const lines = Array.from({ length: COUNT }, (_, i) => `key-${i % 7}:event ${i}`);
    const produced = await run(
      'kcat',
      [
        '-P',
        '-b',
        `127.0.0.1:${ports.kafka}`,
        '-t',
        'events',
        '-K',
        ':',
        '-H',
        'source=kcat',
        '-X',
        'acks=all',
      ],
      { input: `${lines.join('\n')}\n`, timeoutMs: 60_000 },
    );
    assert.equal(produced.code, 0, produced.stderr);
    await shovel(dataDir, 'events-to-sqs', { 'src-topic': 'events', 'dest-sqs-queue': 'events' });
    worker.start();
    await until('a quarter of the records at the worker', () => seen.size >= COUNT / 4);
    broker = await killAndRestart(broker, start);
    await until(`all ${COUNT} records at the worker`, () => seen.size >= COUNT);
    const missing = lines.map((line) => line.slice(line.indexOf(':') + 1)).filter((body) => !seen.has(body));
    assert.deepEqual(missing, []);
    assert.ok(withHeader >= COUNT, `${withHeader} of the deliveries carried kcat's header as an attribute`);
    const duplicates = [...seen.values()].reduce((sum, n) => sum + n - 1, 0);
    t.diagnostic(`${duplicates} duplicate(s) after the SIGKILL`);
  } finally {
    worker.stop({ abort: true });
    sqs.destroy();
    broker.process.kill('SIGKILL');
    await broker.exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('boto3 → SQS FIFO → shovel → AMQP queue → amqplib, the broker SIGKILLed mid-way: each group in order, none lost', {
  skip: hasBoto3 ? false : 'python3-boto3 is not installed',
}, async (t) => {
  const dataDir = tempDir();
  const { ports, start } = await restartableBroker(dataDir);
  let broker = await start();
  const COUNT = 400;
  const GROUPS = 4;
  const arrivals = new Map<number, number[]>();
  let total = 0;
  let connection: amqplib.ChannelModel | undefined;
  const consume = async () => {
    connection = await amqplib.connect(broker.url);
    connection.on('error', () => undefined);
    const channel = await connection.createChannel();
    await channel.prefetch(20);
    await channel.consume('jobs', (m) => {
      if (m === null) return;
      const [, group, n] = m.content.toString().split(' ');
      const list = arrivals.get(Number(group)) ?? [];
      list.push(Number(n));
      arrivals.set(Number(group), list);
      total++;
      channel.ack(m);
    });
  };
  try {
    const sqs = new SQSClient({
      endpoint: `http://127.0.0.1:${ports.sqs}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({ QueueName: 'jobs.fifo', Attributes: { FifoQueue: 'true' } }),
    );
    sqs.destroy();
    const sent = await run(
      PYTHON,
      [
        join(PYTHON_DIR, 'sqs_fifo_send.py'),
        `http://127.0.0.1:${ports.sqs}`,
        QueueUrl!,
        String(COUNT),
        String(GROUPS),
      ],
      { timeoutMs: 120_000 },
    );
    assert.equal(sent.code, 0, sent.stderr);
    const setup = await amqplib.connect(broker.url);
    await (await setup.createChannel()).assertQueue('jobs', { durable: true });
    await setup.close();
    await shovel(dataDir, 'jobs-to-amqp', { 'src-sqs-queue': 'jobs.fifo', 'dest-queue': 'jobs' });
    await consume();
    await until('a quarter of the jobs at the consumer', () => total >= COUNT / 4);
    broker = await killAndRestart(broker, start);
    await consume();
    const distinct = () => [...arrivals.values()].reduce((sum, list) => sum + new Set(list).size, 0);
    await until(`all ${COUNT} jobs at the consumer`, () => distinct() >= COUNT);
    for (let group = 0; group < GROUPS; group++) {
      const firsts = [...new Set(arrivals.get(group))];
      const expected = Array.from({ length: COUNT / GROUPS }, (_, i) => i * GROUPS + group);
      assert.deepEqual(firsts, expected, `group ${group}: every job, first arrivals in send order`);
    }
    t.diagnostic(`${total - COUNT} duplicate delivery(ies) after the SIGKILL`);
  } finally {
    await connection?.close().catch(() => undefined);
    broker.process.kill('SIGKILL');
    await broker.exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
});
