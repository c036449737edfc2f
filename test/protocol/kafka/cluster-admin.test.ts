// The admin APIs tools call at start-up, over a real socket against a real broker: DescribeCluster,
// DescribeLogDirs, ElectLeaders, DescribeAcls (kafkajs' describeAcls) and OffsetDelete (with a
// kafkajs consumer group holding a subscription, and across a restart).
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { API_KEYS } from '../../../src/protocol/kafka/codec/index.js';
import { KafkaError } from '../../../src/protocol/kafka/error-codes.js';
import { startTestBroker, type TestBroker, tempDir } from '../../helpers/broker.js';
import { RawKafkaClient } from './raw-kafka-client.js';

type Row = Record<string, unknown>;

const dataDir = tempDir();
let broker: TestBroker;
let kafka: Kafka;
let raw: RawKafkaClient;

async function start(): Promise<void> {
  broker = await startTestBroker({ amqpPort: false, kafkaPort: 0, dataDir });
  const { host, port } = broker.kafka!;
  kafka = new Kafka({
    brokers: [`${host}:${port}`],
    clientId: 'cluster-admin-test',
    logLevel: logLevel.NOTHING,
  });
  raw = await RawKafkaClient.connect(port, host);
}

async function stop(): Promise<void> {
  raw.socket.destroy();
  await broker.stop();
}

before(start);
after(async () => {
  await stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function produce(topic: string, count: number): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({
    topic,
    messages: Array.from({ length: count }, (_, i) => ({ key: `k${i}`, value: `value-${i}` })),
  });
  await producer.disconnect();
}

describe('cluster admin APIs', () => {
  before(async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'admin-a', numPartitions: 2 }, { topic: 'admin-b' }] });
    await admin.disconnect();
    await produce('admin-a', 20);
  });

  test('DescribeCluster: this broker, as controller, with the Metadata cluster id', async () => {
    const metadata = await raw.request<Row>(API_KEYS.Metadata, 9, {
      topics: [],
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    });
    const answer = await raw.request<Row>(API_KEYS.DescribeCluster, 1, {
      includeClusterAuthorizedOperations: true,
      endpointType: 1,
    });
    assert.equal(answer.errorCode, KafkaError.NONE);
    assert.equal(answer.clusterId, metadata.clusterId);
    assert.equal(answer.controllerId, 0);
    assert.deepEqual(answer.brokers, [
      { brokerId: 0, host: broker.kafka!.host, port: broker.kafka!.port, rack: null },
    ]);
    assert.equal(
      answer.clusterAuthorizedOperations,
      8096,
      'every CLUSTER operation, as without an authorizer',
    );
    const controllers = await raw.request<Row>(API_KEYS.DescribeCluster, 1, {
      includeClusterAuthorizedOperations: false,
      endpointType: 2,
    });
    assert.equal(controllers.errorCode, KafkaError.UNSUPPORTED_ENDPOINT_TYPE);
  });

  test('DescribeLogDirs: the data directory, its space, and every partition with its size', async () => {
    const answer = await raw.request<Row>(API_KEYS.DescribeLogDirs, 4, { topics: null });
    const [dir] = answer.results as Row[];
    assert.equal(dir!.errorCode, KafkaError.NONE);
    assert.ok(isAbsolute(dir!.logDir as string));
    assert.ok((dir!.totalBytes as bigint) > 0n && (dir!.usableBytes as bigint) > 0n);
    const topics = new Map((dir!.topics as Row[]).map((t) => [t.name, t.partitions as Row[]]));
    const a = topics.get('admin-a')!;
    assert.deepEqual(
      a.map((p) => p.partitionIndex),
      [0, 1],
    );
    const total = a.reduce((sum, p) => sum + (p.partitionSize as bigint), 0n);
    assert.ok(total > 20n * 7n, `20 records take more than their values' bytes (got ${total})`);
    // Asked for one partition of one topic (and an unknown topic): only that partition.
    const one = await raw.request<Row>(API_KEYS.DescribeLogDirs, 1, {
      topics: [
        { topic: 'admin-a', partitions: [1] },
        { topic: 'nowhere', partitions: [0] },
      ],
    });
    const [oneDir] = one.results as Row[];
    assert.deepEqual(
      (oneDir!.topics as Row[]).map((t) => [t.name, (t.partitions as Row[]).map((p) => p.partitionIndex)]),
      [['admin-a', [1]]],
    );
  });

  test('ElectLeaders: never needed on one broker; unknown partitions named', async () => {
    const answer = await raw.request<Row>(API_KEYS.ElectLeaders, 2, {
      electionType: 0,
      topicPartitions: [
        { topic: 'admin-a', partitions: [0, 7] },
        { topic: 'nowhere', partitions: [0] },
      ],
      timeoutMs: 1000,
    });
    assert.equal(answer.errorCode, KafkaError.NONE);
    const results = (answer.replicaElectionResults as Row[]).map((r) => [
      r.topic,
      (r.partitionResult as Row[]).map((p) => [p.partitionId, p.errorCode]),
    ]);
    assert.deepEqual(results, [
      [
        'admin-a',
        [
          [0, KafkaError.ELECTION_NOT_NEEDED],
          [7, KafkaError.UNKNOWN_TOPIC_OR_PARTITION],
        ],
      ],
      ['nowhere', [[0, KafkaError.UNKNOWN_TOPIC_OR_PARTITION]]],
    ]);
    const all = await raw.request<Row>(API_KEYS.ElectLeaders, 2, {
      electionType: 0,
      topicPartitions: null,
      timeoutMs: 1000,
    });
    assert.deepEqual(all.replicaElectionResults, []);
  });

  test('DescribeAcls: kafkajs gets SECURITY_DISABLED, as from a Kafka without an authorizer', async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      await assert.rejects(
        admin.describeAcls({
          resourceType: 1, // ANY
          resourcePatternType: 1, // ANY
          operation: 1,
          permissionType: 1,
        }),
        (error: Error & { type?: string }) => error.type === 'SECURITY_DISABLED',
      );
    } finally {
      await admin.disconnect();
    }
  });
});

describe('OffsetDelete', () => {
  const group = 'offset-delete-group';

  async function committed(topic: string): Promise<string[]> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [entry] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      return entry!.partitions.sort((a, b) => a.partition - b.partition).map((p) => p.offset);
    } finally {
      await admin.disconnect();
    }
  }

  function offsetDelete(groupId: string, topics: { name: string; partitions: number[] }[]): Promise<Row> {
    return raw.request<Row>(API_KEYS.OffsetDelete, 0, {
      groupId,
      topics: topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((partitionIndex) => ({ partitionIndex })),
      })),
    });
  }

  const partitionErrors = (answer: Row) =>
    (answer.topics as Row[]).map((t) => [t.name, (t.partitions as Row[]).map((p) => p.errorCode)]);

  test('deletes an empty group’s offsets durably; keeps a subscribed topic’s while members read it', async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.setOffsets({
      groupId: group,
      topic: 'admin-a',
      partitions: [
        { partition: 0, offset: '5' },
        { partition: 1, offset: '3' },
      ],
    });
    await admin.setOffsets({ groupId: group, topic: 'admin-b', partitions: [{ partition: 0, offset: '0' }] });
    await admin.disconnect();

    const unknownGroup = await offsetDelete('no-such-group', [{ name: 'admin-a', partitions: [0] }]);
    assert.equal(unknownGroup.errorCode, KafkaError.GROUP_ID_NOT_FOUND);

    const deleted = await offsetDelete(group, [
      { name: 'admin-a', partitions: [1, 9] },
      { name: 'nowhere', partitions: [0] },
    ]);
    assert.equal(deleted.errorCode, KafkaError.NONE);
    assert.deepEqual(partitionErrors(deleted), [
      ['admin-a', [KafkaError.NONE, KafkaError.UNKNOWN_TOPIC_OR_PARTITION]],
      ['nowhere', [KafkaError.UNKNOWN_TOPIC_OR_PARTITION]],
    ]);
    assert.deepEqual(await committed('admin-a'), ['5', '-1']);

    // A member subscribed to admin-a: its offsets stay; admin-b's go.
    const consumer = kafka.consumer({ groupId: group });
    await consumer.connect();
    await consumer.subscribe({ topic: 'admin-a' });
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.run({ eachMessage: async () => {} });
    await joined;
    const whileSubscribed = await offsetDelete(group, [
      { name: 'admin-a', partitions: [0] },
      { name: 'admin-b', partitions: [0] },
    ]);
    await consumer.disconnect();
    assert.equal(whileSubscribed.errorCode, KafkaError.NONE);
    assert.deepEqual(partitionErrors(whileSubscribed), [
      ['admin-a', [KafkaError.GROUP_SUBSCRIBED_TO_TOPIC]],
      ['admin-b', [KafkaError.NONE]],
    ]);
    assert.deepEqual(await committed('admin-b'), ['-1']);

    // The deletions are durable: a restart does not bring the offsets back.
    await stop();
    await start();
    assert.deepEqual(await committed('admin-b'), ['-1']);
    assert.notEqual((await committed('admin-a'))[0], '-1');
    assert.equal((await committed('admin-a'))[1], '-1');
  });
});
