// `npm run bench -- stream-view [--messages N] [--size BYTES]`: a Kafka topic seen as an AMQP stream
// queue (x-kafka-topic) next to a plain stream queue, in one in-process Pier (fsync always):
// amqplib publishes with confirms (msgs/s from the first publish to the last confirm), then an
// amqplib stream consumer reads everything from `first` (prefetch 1000, msgs/s to the last
// delivery). For the view, the consumer decodes Kafka record batches; a third row reads records
// kafkajs produced in batches of 1000 (gzip) through the view.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import amqplib from 'amqplib';
import { CompressionTypes, Kafka, logLevel } from 'kafkajs';
import { startBroker } from '../src/broker.js';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '20000' },
    size: { type: 'string', default: '256' },
  },
});
const messages = Number(values.messages);
const body = Buffer.alloc(Number(values.size), 'x');
const dataDir = mkdtempSync(join(tmpdir(), 'pier-bench-view-'));
const broker = await startBroker({
  dataDir,
  amqpPort: 0,
  kafkaPort: 0,
  sqsPort: false,
  httpPort: false,
  prometheusPort: false,
  fsync: 'always',
  log: () => {},
});
const connection = await amqplib.connect(broker.amqp!.url);

async function publish(queue: string, args: Record<string, unknown>): Promise<number> {
  const channel = await connection.createConfirmChannel();
  await channel.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'stream', ...args } });
  const started = performance.now();
  for (let i = 0; i < messages; i++) {
    if (!channel.sendToQueue(queue, body, { headers: { i } })) {
      await new Promise((resolve) => channel.once('drain', resolve));
    }
  }
  await channel.waitForConfirms();
  const ms = performance.now() - started;
  await channel.close();
  return ms;
}

async function consume(queue: string, count: number): Promise<number> {
  const channel = await connection.createChannel();
  await channel.prefetch(1000);
  const started = performance.now();
  let seen = 0;
  await new Promise<void>((resolve) => {
    void channel.consume(
      queue,
      (message) => {
        if (!message) return;
        channel.ack(message);
        if (++seen === count) resolve();
      },
      { arguments: { 'x-stream-offset': 'first' } },
    );
  });
  const ms = performance.now() - started;
  await channel.close();
  return ms;
}

const rate = (count: number, ms: number) => Math.round((count * 1000) / ms);
const rows: string[] = [];
const plainPublish = await publish('plain-stream', {});
const viewPublish = await publish('topic-view', { 'x-kafka-topic': 'bench-view' });
rows.push(
  `publish, confirms     plain stream ${rate(messages, plainPublish)} msgs/s   view ${rate(messages, viewPublish)} msgs/s`,
);
const plainRead = await consume('plain-stream', messages);
const viewRead = await consume('topic-view', messages);
rows.push(
  `consume from first    plain stream ${rate(messages, plainRead)} msgs/s   view ${rate(messages, viewRead)} msgs/s`,
);

const kafka = new Kafka({ brokers: [broker.kafka!.bootstrap], logLevel: logLevel.NOTHING });
const producer = kafka.producer();
await producer.connect();
for (let sent = 0; sent < messages; sent += 1000) {
  await producer.send({
    topic: 'bench-produced',
    compression: CompressionTypes.GZIP,
    messages: Array.from({ length: Math.min(1000, messages - sent) }, (_, i) => ({
      key: `k${sent + i}`,
      value: body,
      headers: { i: String(sent + i) },
    })),
  });
}
await producer.disconnect();
const setup = await connection.createChannel();
await setup.assertQueue('produced-view', {
  durable: true,
  arguments: { 'x-queue-type': 'stream', 'x-kafka-topic': 'bench-produced' },
});
await setup.close();
const producedRead = await consume('produced-view', messages);
rows.push(`consume kafkajs gzip batches of 1000 through the view: ${rate(messages, producedRead)} msgs/s`);

console.log(`stream view: ${messages} messages of ${body.length} bytes, fsync always`);
for (const row of rows) console.log(`  ${row}`);
await connection.close();
await broker.close();
rmSync(dataDir, { recursive: true, force: true });
