// `npm run bench -- handover-pier [--messages N] [--records N]`: `pier handover sqs` and `pier
// handover kafka` throughput between two in-process Piers (fsync always), the second standing in
// for AWS SQS or a Kafka cluster. SQS: N messages of 256 B over 3 standard queues and one FIFO
// queue (4 groups); Kafka: N records of 256 B over a 3-partition topic and one group. Timed from
// the start of the hand-over to its verified end. Both brokers and the mover share this process,
// so the figures are a floor for a hand-over to a remote cluster.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CreateQueueCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Kafka, logLevel } from 'kafkajs';
import { handoverToKafka } from '../src/bridge/handover/kafka-handover.js';
import { handoverToSqs } from '../src/bridge/handover/sqs-handover.js';
import { type Broker, startBroker } from '../src/broker.js';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '20000' },
    records: { type: 'string', default: '100000' },
  },
});
const messages = Number(values.messages);
const records = Number(values.records);
const body = 'x'.repeat(256);
const dirs: string[] = [];
const start = async (): Promise<Broker> => {
  const dataDir = mkdtempSync(join(tmpdir(), 'pier-bench-handover-'));
  dirs.push(dataDir);
  return startBroker({
    dataDir,
    amqpPort: false,
    kafkaPort: 0,
    sqsPort: 0,
    httpPort: false,
    prometheusPort: false,
    fsync: 'always',
    kafka: { groupInitialRebalanceDelayMs: 0 },
    log: () => {},
  });
};
const pier = await start();
const remote = await start();
const credentials = { accessKeyId: 'bench', secretAccessKey: 'bench' };
const source = new SQSClient({ endpoint: pier.sqs!.endpoint, region: 'us-east-1', credentials });
const target = new SQSClient({ endpoint: remote.sqs!.endpoint, region: 'us-east-1', credentials });
try {
  const names = ['q0', 'q1', 'q2', 'q3.fifo'];
  const urls: string[] = [];
  for (const name of names) {
    const fifo = name.endsWith('.fifo');
    urls.push(
      (
        await source.send(
          new CreateQueueCommand({
            QueueName: name,
            Attributes: fifo ? { FifoQueue: 'true', ContentBasedDeduplication: 'false' } : {},
          }),
        )
      ).QueueUrl!,
    );
  }
  for (let i = 0; i < messages; i += 10) {
    const q = (i / 10) % names.length;
    const fifo = names[q]!.endsWith('.fifo');
    await source.send(
      new SendMessageBatchCommand({
        QueueUrl: urls[q]!,
        Entries: Array.from({ length: 10 }, (_, j) => ({
          Id: `e${j}`,
          MessageBody: body,
          MessageAttributes: { n: { DataType: 'Number', StringValue: String(i + j) } },
          ...(fifo ? { MessageGroupId: `g${j % 4}`, MessageDeduplicationId: `d${i + j}` } : {}),
        })),
      }),
    );
  }
  let started = performance.now();
  const sqs = await handoverToSqs({ source, target, progress: () => {} });
  let seconds = (performance.now() - started) / 1000;
  const moved = sqs.queues.reduce((sum, q) => sum + q.moved, 0);
  console.log(
    `pier handover sqs: ${moved} of ${messages} msgs x 256 B over 3 standard + 1 FIFO queue(s): ${Math.round(moved / seconds)} msgs/s (${seconds.toFixed(2)} s)${sqs.complete ? '' : ' INCOMPLETE'}`,
  );

  const kafkaSource = new Kafka({ brokers: [pier.kafka!.bootstrap], logLevel: logLevel.NOTHING });
  const kafkaTarget = new Kafka({ brokers: [remote.kafka!.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafkaSource.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'bench', numPartitions: 3 }] });
  const producer = kafkaSource.producer();
  await producer.connect();
  for (let i = 0; i < records; i += 3000) {
    await producer.send({
      topic: 'bench',
      messages: Array.from({ length: Math.min(3000, records - i) }, (_, j) => ({
        partition: (i + j) % 3,
        key: `k${i + j}`,
        value: body,
        headers: { n: String(i + j) },
      })),
    });
  }
  await producer.disconnect();
  await admin.setOffsets({
    groupId: 'bench-group',
    topic: 'bench',
    partitions: [0, 1, 2].map((partition) => ({ partition, offset: String(Math.floor(records / 6)) })),
  });
  await admin.disconnect();
  const stateDir = mkdtempSync(join(tmpdir(), 'pier-bench-handover-state-'));
  dirs.push(stateDir);
  started = performance.now();
  const kafka = await handoverToKafka({
    source: kafkaSource,
    target: kafkaTarget,
    statePath: join(stateDir, 'state.json'),
    idleMs: 5000,
    progress: () => {},
  });
  seconds = (performance.now() - started) / 1000;
  const copied = kafka.topics.reduce((sum, t) => sum + t.copied, 0);
  console.log(
    `pier handover kafka: ${copied} of ${records} records x 256 B over 3 partitions, 1 group: ${Math.round(copied / seconds)} records/s (${seconds.toFixed(2)} s)${kafka.complete ? '' : ' INCOMPLETE'}`,
  );
} finally {
  source.destroy();
  target.destroy();
  await pier.close();
  await remote.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}
