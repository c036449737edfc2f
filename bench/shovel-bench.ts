// `npm run bench -- shovel [--messages N] [--size BYTES] [--rabbitmq]`: shovel throughput with
// on-confirm, msgs/s from the shovel's definition to the source queue drained (every message
// confirmed at the destination and acked at the source): local AMQP queue → local Kafka topic, and
// local AMQP queue → a second Pier over amqp://. Both brokers run in this process (fsync always).
// With --rabbitmq (root, Debian's rabbitmq-server): RabbitMQ's own shovel (on-confirm, its default
// prefetch) moving the same messages between two RabbitMQ nodes booted for the run, timed from the
// shovel's definition to the last message at the destination, and in the same run a Pier shovel
// whose dest-uri is one of those RabbitMQ nodes (Pier → RabbitMQ, on-confirm, timed like the Pier
// paths above: until the source queue is drained, every message confirmed by RabbitMQ).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import amqplib from 'amqplib';
import { type Broker, startBroker } from '../src/broker.js';
import { setParameter } from '../src/core/amqp/runtime-parameters.js';
import {
  freePort,
  type RabbitNode,
  rabbitNode,
  rabbitNodesUnavailable,
  startRabbitNode,
  stopRabbitNodes,
} from './rabbitmq-node.js';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '20000' },
    size: { type: 'string', default: '256' },
    rabbitmq: { type: 'boolean', default: false },
  },
});
const messages = Number(values.messages);
const body = Buffer.alloc(Number(values.size), 'x');
const dirs: string[] = [];
const start = (kafka: boolean) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'pier-bench-shovel-'));
  dirs.push(dataDir);
  return startBroker({
    dataDir,
    amqpPort: 0,
    kafkaPort: kafka ? 0 : false,
    sqsPort: false,
    httpPort: false,
    prometheusPort: false,
    fsync: 'always',
    log: () => {},
  });
};

async function fill(url: string, queue: string): Promise<void> {
  const connection = await amqplib.connect(url);
  const channel = await connection.createConfirmChannel();
  await channel.assertQueue(queue, { durable: true });
  for (let i = 0; i < messages; i++) {
    if (!channel.sendToQueue(queue, body, { persistent: true, messageId: `m${i}` })) {
      await new Promise((resolve) => channel.once('drain', resolve));
    }
  }
  await channel.waitForConfirms();
  await connection.close();
}

async function measure(label: string, broker: Broker, value: Record<string, unknown>): Promise<void> {
  const queue = value['src-queue'] as string;
  await fill(broker.amqp!.url, queue);
  const started = performance.now();
  setParameter(broker.core, 'shovel', '/', label, value);
  const q = broker.core.vhosts.get('/')!.queues.get(queue)!;
  while (q.messageCount > 0 || q.leasedCount > 0) await new Promise((resolve) => setTimeout(resolve, 5));
  report(label, (performance.now() - started) / 1000);
}

function report(label: string, seconds: number): void {
  console.log(
    `${label.padEnd(28)} ${messages} msgs x ${body.length} B: ${Math.round(messages / seconds)} msgs/s (${seconds.toFixed(2)} s)`,
  );
}

/** RabbitMQ's shovel between two RabbitMQ nodes booted for the run (dynamic shovel, on-confirm). */
async function measureRabbitShovel(pier: Broker): Promise<void> {
  const unavailable = rabbitNodesUnavailable();
  if (unavailable) {
    console.log(`rabbitmq shovel: skipped (${unavailable})`);
    return;
  }
  const run = Math.random().toString(16).slice(2, 8);
  const baseDir = mkdtempSync(join(tmpdir(), 'pier-bench-rabbit-shovel-'));
  const nodes: RabbitNode[] = [];
  for (const side of ['a', 'b']) {
    nodes.push(
      rabbitNode(`pier-bench-shovel-${run}-${side}@localhost`, {
        amqp: await freePort(),
        http: await freePort(),
        dist: await freePort(),
      }),
    );
  }
  const [a, b] = nodes as [RabbitNode, RabbitNode];
  try {
    console.log('rabbitmq shovel: booting two RabbitMQ nodes ...');
    await Promise.all(
      nodes.map((node) => startRabbitNode(node, baseDir, ['rabbitmq_management', 'rabbitmq_shovel'])),
    );
    await fill(a.amqpUrl, 'bench-r');
    const destination = await amqplib.connect(b.amqpUrl);
    const channel = await destination.createChannel();
    await channel.assertQueue('bench-r', { durable: true });
    const started = performance.now();
    const response = await fetch(`http://127.0.0.1:${a.httpPort}/api/parameters/shovel/%2F/bench-r`, {
      method: 'PUT',
      headers: {
        authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({
        value: {
          'src-protocol': 'amqp091',
          'src-uri': a.amqpUrl,
          'src-queue': 'bench-r',
          'dest-protocol': 'amqp091',
          'dest-uri': b.amqpUrl,
          'dest-queue': 'bench-r',
          'ack-mode': 'on-confirm',
        },
      }),
    });
    if (!response.ok)
      throw new Error(`defining the RabbitMQ shovel: ${response.status} ${await response.text()}`);
    while ((await channel.checkQueue('bench-r')).messageCount < messages) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    report('rabbitmq shovel (2 nodes)', (performance.now() - started) / 1000);
    await channel.assertQueue('bench-p', { durable: true });
    await measure('pier -> rabbitmq over amqp', pier, {
      'src-queue': 'bench-p',
      'dest-uri': b.amqpUrl,
      'dest-queue': 'bench-p',
    });
    const arrived = (await channel.checkQueue('bench-p')).messageCount;
    if (arrived < messages)
      throw new Error(`pier -> rabbitmq: ${arrived} of ${messages} messages at RabbitMQ`);
    await destination.close();
  } finally {
    await stopRabbitNodes(nodes, `pier-bench-shovel-${run}-`);
    rmSync(baseDir, { recursive: true, force: true });
  }
}

const source = await start(true);
const remote = await start(false);
try {
  await measure('amqp-queue -> kafka-topic', source, { 'src-queue': 'bench-a', 'dest-topic': 'bench-a' });
  await measure('amqp-queue -> remote amqp', source, {
    'src-queue': 'bench-b',
    'dest-uri': remote.amqp!.url,
    'dest-queue': 'bench-b',
  });
  if (values.rabbitmq) await measureRabbitShovel(source);
} finally {
  await source.close();
  await remote.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
