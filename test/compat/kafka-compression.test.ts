// librdkafka's codecs (confluent-kafka on Debian's librdkafka 2.0.2) against Pier: ten records sent as
// one gzip, snappy, lz4 or zstd batch each — librdkafka before 2.11.1 compresses with the first
// three only when the broker answers Produce v0 — ListOffsets by timestamp (offsets_for_times) names
// the exact record inside the compressed batch, the records read back intact, and the management
// API's peek decodes the compressed batch. And kafka-python producing the old message format
// (Produce v2, magic 1, plain and gzip), up-converted as Kafka 3.x does.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { type KafkaTestBroker, startKafkaTestBroker } from '../helpers/kafka.js';
import { apiClient } from '../management/api-client.js';
import { runPython } from './helpers.js';
import { pythonModuleMissing } from './kafka-clients.js';

const CODECS = ['gzip', 'snappy', 'lz4', 'zstd'] as const;
const BASE = 1_700_000_000_000;
const skip = pythonModuleMissing('confluent_kafka', 'python3-confluent-kafka');

let broker: KafkaTestBroker;
before(async () => {
  if (!skip) broker = await startKafkaTestBroker({ httpPort: 0 });
});
after(async () => {
  await broker?.stop();
});

interface CodecResult {
  offset: number;
  values: string[];
  timestamps: number[];
}

test('confluent-kafka: ListOffsets by timestamp finds the exact record inside gzip, snappy, lz4 and zstd batches; peek decodes them', {
  skip,
  timeout: 120_000,
}, async () => {
  const prefix = `codecs-${process.pid}`;
  const results = await runPython<Record<string, CodecResult>>(
    'confluent_kafka_codecs.py',
    [broker.bootstrap, prefix],
    90_000,
  );
  const expectedValues = Array.from({ length: 10 }, (_, i) => `value-${i}`);
  const api = apiClient(broker.broker.http!.url);
  for (const codec of CODECS) {
    const r = results[codec]!;
    assert.equal(r.offset, 5, `${codec}: the first record at or after BASE+4500 is the sixth`);
    assert.deepEqual(r.values, expectedValues, codec);
    assert.deepEqual(
      r.timestamps,
      expectedValues.map((_, i) => BASE + i * 1000),
      codec,
    );
    const peeked = await api('POST', `/api/kafka/topics/${prefix}-${codec}/partitions/0/peek`, {
      offset: 3,
      count: 2,
    });
    assert.equal(peeked.status, 200);
    const rows = peeked.body as { offset: number; compressed: boolean; value: string }[];
    assert.deepEqual(
      rows.map((row) => [row.offset, row.compressed, row.value.split(' ')[0]]),
      [
        [3, true, 'value-3'],
        [4, true, 'value-4'],
      ],
      `${codec}: peek decodes the compressed batch`,
    );
  }
});

test('kafka-python as a Kafka 0.10.1 client: Produce v2 with message format v1, plain and gzip, read back by kafkajs', {
  skip: pythonModuleMissing('kafka', 'python3-kafka'),
  timeout: 90_000,
}, async () => {
  const topic = `legacy-${process.pid}`;
  const result = await runPython<{ offsets: [string, number][] }>(
    'kafka_python_legacy.py',
    [broker.bootstrap, topic],
    60_000,
  );
  assert.deepEqual(
    result.offsets.map(([, offset]) => offset),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
  const kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `legacy-reader-${process.pid}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen: string[] = [];
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        eachMessage: async ({ message }) => {
          seen.push(`${message.key} ${message.value} ${message.timestamp}`);
          if (seen.length === 10) resolve();
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  assert.deepEqual(
    seen,
    ['none', 'gzip'].flatMap((c) =>
      [0, 1, 2, 3, 4].map((i) => `k${i} legacy-${c}-${i} ${1_600_000_000_000 + i}`),
    ),
  );
});
