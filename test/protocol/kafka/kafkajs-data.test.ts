// kafkajs 2.2.4 producing and consuming over a real socket: keyed partitioning, the idempotent
// producer, offsets by timestamp, DeleteRecords, and consumers from the beginning and after a seek.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import type { FetchResponse } from '../../../src/protocol/kafka/codec/index.js';
import { decodeRecords } from '../../../src/protocol/kafka/record-decoder.js';
import { startTestBroker, type TestBroker } from '../../helpers/broker.js';
import { RawKafkaClient } from './raw-kafka-client.js';

const { Kafka, logLevel } = kafkajs;

/** Every record of a partition as [offset, key, value], read with a raw Fetch v11. */
async function readPartition(
  port: number,
  topic: string,
  partition: number,
): Promise<Array<[number, string, string]>> {
  const client = await RawKafkaClient.connect(port);
  try {
    const answer = await client.request<FetchResponse>(1, 11, {
      replicaId: -1,
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 24,
      topics: [{ topic, partitions: [{ partition, fetchOffset: 0n, partitionMaxBytes: 1 << 24 }] }],
    });
    const records = answer.responses[0]!.partitions[0]!.records ?? Buffer.alloc(0);
    const out: Array<[number, string, string]> = [];
    for (let pos = 0; pos < records.length; ) {
      const size = 12 + records.readInt32BE(pos + 8);
      for (const r of decodeRecords(records.subarray(pos, pos + size))) {
        out.push([r.offset, r.key?.toString() ?? '', r.value?.toString() ?? '']);
      }
      pos += size;
    }
    return out;
  } finally {
    client.close();
  }
}

describe('kafkajs data path', () => {
  let broker: TestBroker;
  let kafka: kafkajs.Kafka;
  let admin: kafkajs.Admin;
  let port: number;
  before(async () => {
    broker = await startTestBroker({ kafkaPort: 0 });
    port = broker.kafka!.port;
    kafka = new Kafka({
      clientId: 'pier-data-test',
      brokers: [broker.kafka!.bootstrap],
      logLevel: logLevel.NOTHING,
      retry: { retries: 2 },
    });
    admin = kafka.admin();
    await admin.connect();
  });
  after(async () => {
    await admin.disconnect();
    await broker.stop();
  });

  it('sends records with the same key to the same partition, at dense offsets in send order', async () => {
    await admin.createTopics({ topics: [{ topic: 'keyed', numPartitions: 3 }] });
    const producer = kafka.producer();
    await producer.connect();
    const keys = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'];
    for (let round = 0; round < 2; round++) {
      const results = await producer.send({
        topic: 'keyed',
        acks: -1,
        messages: Array.from({ length: 25 }, (_, i) => ({ key: keys[i % 5]!, value: `m${round * 25 + i}` })),
      });
      assert.ok(results.every((r) => r.errorCode === 0));
    }
    await producer.disconnect();
    const partitionOf = new Map<string, number>();
    let total = 0;
    for (const partition of [0, 1, 2]) {
      const records = await readPartition(port, 'keyed', partition);
      total += records.length;
      assert.deepEqual(
        records.map(([offset]) => offset),
        records.map((_, i) => i),
      );
      const values = records.map(([, , value]) => Number(value.slice(1)));
      assert.deepEqual(
        values,
        [...values].sort((a, b) => a - b),
        'send order kept',
      );
      for (const [, key] of records) {
        assert.equal(partitionOf.get(key) ?? partition, partition, `key ${key} on two partitions`);
        partitionOf.set(key, partition);
      }
    }
    assert.equal(total, 50);
    const offsets = await admin.fetchTopicOffsets('keyed');
    assert.equal(
      offsets.reduce((sum, o) => sum + Number(o.high), 0),
      50,
    );
  });

  it('produces with the idempotent producer: one InitProducerId, dense offsets, no duplicates', async () => {
    await admin.createTopics({ topics: [{ topic: 'idem', numPartitions: 1 }] });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    for (let batch = 0; batch < 5; batch++) {
      const [result] = await producer.send({
        topic: 'idem',
        acks: -1,
        messages: Array.from({ length: 10 }, (_, i) => ({ value: `b${batch}-${i}` })),
      });
      assert.equal(result!.baseOffset, `${batch * 10}`);
    }
    await producer.disconnect();
    const records = await readPartition(port, 'idem', 0);
    assert.deepEqual(
      records.map(([offset, , value]) => [offset, value]),
      Array.from({ length: 50 }, (_, i) => [i, `b${Math.floor(i / 10)}-${i % 10}`]),
    );
    assert.deepEqual(
      (await admin.fetchTopicOffsets('idem')).map((o) => [o.partition, o.low, o.high]),
      [[0, '0', '50']],
    );
  });

  it('finds offsets by timestamp and deletes records (ListOffsets, DeleteRecords)', async () => {
    await admin.createTopics({ topics: [{ topic: 'timed', numPartitions: 1 }] });
    const producer = kafka.producer();
    await producer.connect();
    const t0 = Date.now() - 100_000;
    for (let i = 0; i < 20; i++) {
      await producer.send({ topic: 'timed', messages: [{ value: `s${i}`, timestamp: `${t0 + i * 1000}` }] });
    }
    await producer.disconnect();
    const [at] = await admin.fetchTopicOffsetsByTimestamp('timed', t0 + 7_500);
    assert.equal(at!.offset, '8');
    await admin.deleteTopicRecords({ topic: 'timed', partitions: [{ partition: 0, offset: '5' }] });
    assert.deepEqual(
      (await admin.fetchTopicOffsets('timed')).map((o) => [o.low, o.high]),
      [['5', '20']],
    );
  });

  describe('consumers', () => {
    async function consume(
      topic: string,
      count: number,
      seek?: { partition: number; offset: string },
    ): Promise<kafkajs.EachMessagePayload[]> {
      const consumer = kafka.consumer({ groupId: `g-${topic}`, maxWaitTimeInMs: 100 });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const seen: kafkajs.EachMessagePayload[] = [];
      try {
        await new Promise<void>((resolve, reject) => {
          consumer
            .run({
              eachMessage: async (payload) => {
                seen.push(payload);
                if (seen.length === count) resolve();
              },
            })
            .catch(reject);
          if (seek) consumer.seek({ topic, ...seek });
        });
      } finally {
        await consumer.disconnect();
      }
      return seen;
    }

    it('consumes every record from the beginning', async () => {
      await admin.createTopics({ topics: [{ topic: 'from-start', numPartitions: 2 }] });
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({
        topic: 'from-start',
        messages: Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })),
      });
      await producer.disconnect();
      const seen = await consume('from-start', 30);
      assert.deepEqual(
        seen.map((s) => s.message.value!.toString()).sort(),
        Array.from({ length: 30 }, (_, i) => `v${i}`).sort(),
      );
    });

    it('consumes from the offset it seeks to', async () => {
      await admin.createTopics({ topics: [{ topic: 'seekable', numPartitions: 1 }] });
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({
        topic: 'seekable',
        messages: Array.from({ length: 20 }, (_, i) => ({ value: `s${i}` })),
      });
      await producer.disconnect();
      const seen = await consume('seekable', 5, { partition: 0, offset: '15' });
      assert.deepEqual(
        seen.map((s) => s.message.value!.toString()),
        ['s15', 's16', 's17', 's18', 's19'],
      );
    });
  });
});
