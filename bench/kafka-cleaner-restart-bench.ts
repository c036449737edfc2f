// The log cleaner after a restart, with its cleaner-offset-checkpoint and without: a compacted
// partition is filled (kafkajs, --records updates over --keys keys, 1 MiB segments) and cleaned by
// the broker; then, on a restarted broker whose own cleaner is idle, one cleaner pass is timed with
// the checkpoint the first broker wrote (nothing dirty: nothing read) and one with no checkpoint
// (everything counts as dirty once: every closed segment read again, as before the checkpoint).
//
//   npm run bench -- kafka-cleaner-restart [--records 200000] [--keys 10000] [--value-bytes 100]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import kafkajs from 'kafkajs';
import { systemClock } from '../src/core/clock.js';
import { type Broker, startBroker } from '../src/index.js';
import { type CleanerCheckpointStore, LogCleaner } from '../src/protocol/kafka/log-cleaner.js';
import { CleanerOffsetCheckpoint } from '../src/storage/kafka/cleaner-offset-checkpoint.js';
import { nodeFs } from '../src/storage/storage-fs.js';
import { machineInfo, machineLine } from './report.js';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '200000' },
    keys: { type: 'string', default: '10000' },
    'value-bytes': { type: 'string', default: '100' },
  },
});
const RECORDS = Number(values.records);
const KEYS = Number(values.keys);
const VALUE = 'x'.repeat(Number(values['value-bytes']));
const TOPIC = 'cleaner-restart';

const dataDir = mkdtempSync(join(tmpdir(), 'pier-bench-cleaner-'));
const start = (cleanerIntervalMs: number) =>
  startBroker({
    dataDir,
    amqpPort: false,
    sqsPort: false,
    httpPort: false,
    prometheusPort: false,
    kafkaPort: 0,
    kafka: { logCleanerIntervalMs: cleanerIntervalMs },
    log: () => {},
  });

function partitionBytes(broker: Broker): { closedSegments: number; closedBytes: number } {
  const stream = broker.topics.get(TOPIC)!.partitions[0]!.stream;
  const closed = stream.closedSegments();
  return { closedSegments: closed.length, closedBytes: closed.reduce((n, s) => n + s.sizeBytes, 0) };
}

async function timedPass(broker: Broker, checkpoint: CleanerCheckpointStore | undefined) {
  const cleaner = new LogCleaner({
    clock: systemClock,
    topics: () => broker.topics.list(),
    lastStableOffset: (p) => p.highWatermark,
    abortedBetween: () => [],
    checkpoint,
  });
  const started = process.hrtime.bigint();
  const result = await cleaner.runOnce();
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  return {
    ms,
    cleanings: cleaner.stats.cleanings,
    maxDirtyPercent: cleaner.stats.maxDirtyPercent,
    ...result,
  };
}

try {
  let broker = await start(50);
  const kafka = new kafkajs.Kafka({
    clientId: 'cleaner-bench',
    brokers: [broker.kafka!.bootstrap],
    logLevel: kafkajs.logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      {
        topic: TOPIC,
        numPartitions: 1,
        configEntries: [
          { name: 'cleanup.policy', value: 'compact' },
          { name: 'segment.bytes', value: String(1 << 20) },
          // Cleaned to the end before the restart, so both timed passes find the same clean log.
          { name: 'min.cleanable.dirty.ratio', value: '0.01' },
        ],
      },
    ],
  });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  for (let i = 0; i < RECORDS; i += 1000) {
    const messages = Array.from({ length: Math.min(1000, RECORDS - i) }, (_, j) => ({
      key: `k${(i + j) % KEYS}`,
      value: VALUE,
    }));
    await producer.send({ topic: TOPIC, acks: -1, messages });
  }
  await producer.disconnect();
  // Until the broker's cleaner has cleaned everything closed (its checkpoint then covers it).
  const checkpointFile = new CleanerOffsetCheckpoint(broker.dataDir, nodeFs, 'always');
  const lastClosedEnd = () =>
    broker.topics.get(TOPIC)!.partitions[0]!.stream.closedSegments().at(-1)!.nextOffset;
  for (let i = 0; i < 1200; i++) {
    const saved = checkpointFile.read().find((e) => e.topic === TOPIC)?.offset;
    if (saved === lastClosedEnd()) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const after = partitionBytes(broker);
  await broker.close();

  broker = await start(1_000_000_000); // its own cleaner never runs
  const withCheckpoint = await timedPass(
    broker,
    new CleanerOffsetCheckpoint(broker.dataDir, nodeFs, 'always'),
  );
  const noCheckpoint = await timedPass(broker, undefined);
  await broker.close();

  console.log(machineLine(machineInfo()));
  console.log(
    `${RECORDS} updates over ${KEYS} keys, ${VALUE.length} B values (the broker cleaned while they came): ` +
      `${after.closedSegments} closed segments, ${(after.closedBytes / 2 ** 20).toFixed(1)} MiB once clean`,
  );
  for (const [name, r] of [
    ['with the checkpoint', withCheckpoint],
    ['without a checkpoint', noCheckpoint],
  ] as const)
    console.log(
      `first pass after restart, ${name}: ${r.ms.toFixed(1)} ms, max dirty ${r.maxDirtyPercent}%, ` +
        `partitions cleaned ${r.cleanings}, segments rewritten ${r.segmentsRewritten}`,
    );
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
