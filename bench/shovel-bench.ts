// `npm run bench -- shovel [--messages N] [--size BYTES]`: shovel throughput with on-confirm,
// msgs/s from the shovel's definition to the source queue drained (every message confirmed at
// the destination and acked at the source): local AMQP queue → local Kafka topic, and local AMQP
// queue → a second Pier over amqp://. Both brokers run in this process (fsync always).
// RabbitMQ's own shovel between two RabbitMQ nodes is not measured here yet.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import amqplib from 'amqplib';
import { type Broker, startBroker } from '../src/broker.js';
import { setParameter } from '../src/core/amqp/runtime-parameters.js';

const { values } = parseArgs({
  options: { messages: { type: 'string', default: '20000' }, size: { type: 'string', default: '256' } },
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

async function fill(broker: Broker, queue: string): Promise<void> {
  const connection = await amqplib.connect(broker.amqp!.url);
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
  await fill(broker, queue);
  const started = performance.now();
  setParameter(broker.core, 'shovel', '/', label, value);
  const q = broker.core.vhosts.get('/')!.queues.get(queue)!;
  while (q.messageCount > 0 || q.leasedCount > 0) await new Promise((resolve) => setTimeout(resolve, 5));
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `${label.padEnd(28)} ${messages} msgs x ${body.length} B: ${Math.round(messages / seconds)} msgs/s (${seconds.toFixed(2)} s)`,
  );
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
} finally {
  await source.close();
  await remote.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
