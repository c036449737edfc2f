// kafkajs 2.2.4 transactions against Pier: the seed's transactional producer configuration sending
// to three partitions with sendOffsets and commit; an aborted transaction hidden from read_committed
// consumers and shown to read_uncommitted ones; a second producer with the same transactional id
// fencing the first.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { runPier } from '../../helpers/broker.js';
import { type KafkaTestBroker, startKafkaTestBroker, uniqueKafkaName } from '../../helpers/kafka.js';

const { Kafka, logLevel } = kafkajs;

describe('kafkajs transactions', () => {
  let broker: KafkaTestBroker;
  let kafka: kafkajs.Kafka;
  let admin: kafkajs.Admin;
  before(async () => {
    broker = await startKafkaTestBroker();
    kafka = new Kafka({
      clientId: 'pier-txn-test',
      brokers: [broker.bootstrap],
      logLevel: logLevel.NOTHING,
      retry: { retries: 5, initialRetryTime: 50 },
    });
    admin = kafka.admin();
    await admin.connect();
  });
  after(async () => {
    await admin.disconnect();
    await broker.stop();
  });

  /** Every value in the topic as a consumer with this isolation sees it, until `expected` arrived. */
  async function readAll(topic: string, readUncommitted: boolean, expected: number): Promise<string[]> {
    const consumer = kafka.consumer({
      groupId: uniqueKafkaName('reader'),
      readUncommitted,
      maxWaitTimeInMs: 100,
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const values: string[] = [];
    await new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          values.push(message.value!.toString());
          if (values.length >= expected) resolve();
        },
      });
    });
    await consumer.disconnect();
    return values;
  }

  it('commits a transaction over three partitions with sendOffsets; the offsets reach the group on commit', async () => {
    const topic = uniqueKafkaName('txn-three');
    const source = uniqueKafkaName('txn-source');
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }, { topic: source }] });
    const groupId = uniqueKafkaName('txn-group');
    // The seed's producer configuration: transactional, idempotent, one request in flight.
    const producer = kafka.producer({
      transactionalId: uniqueKafkaName('seed-txn'),
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    const txn = await producer.transaction();
    await txn.send({
      topic,
      messages: [0, 1, 2].map((partition) => ({ partition, value: `v${partition}` })),
    });
    await txn.sendOffsets({
      consumerGroupId: groupId,
      topics: [{ topic: source, partitions: [{ partition: 0, offset: '42' }] }],
    });
    const before = await admin.fetchOffsets({ groupId, topics: [source] });
    assert.equal(before[0]!.partitions[0]!.offset, '-1', 'offsets are invisible before the commit');
    await txn.commit();
    const after = await admin.fetchOffsets({ groupId, topics: [source] });
    assert.equal(after[0]!.partitions[0]!.offset, '42');
    const values = await readAll(topic, false, 3);
    assert.deepEqual(values.sort(), ['v0', 'v1', 'v2']);
    const offsets = await admin.fetchTopicOffsets(topic);
    // Each partition: the record and the commit marker.
    for (const p of offsets) assert.equal(p.high, '2');
    await producer.disconnect();
  });

  it('hides an aborted transaction from read_committed consumers and shows it to read_uncommitted ones', async () => {
    const topic = uniqueKafkaName('txn-abort');
    await admin.createTopics({ topics: [{ topic }] });
    const transactionalId = uniqueKafkaName('abort-txn');
    const producer = kafka.producer({
      transactionalId,
      maxInFlightRequests: 1,
      idempotent: true,
    });
    await producer.connect();
    const aborted = await producer.transaction();
    await aborted.send({ topic, messages: [{ value: 'aborted-1' }, { value: 'aborted-2' }] });
    // `pier transactions describe` shows the open transaction and its partition.
    const open = await runPier([
      'transactions',
      'describe',
      transactionalId,
      '--json',
      '--data-dir',
      broker.dataDir,
    ]);
    assert.equal(open.code, 0, open.stderr);
    const described = JSON.parse(open.stdout);
    assert.equal(described.state, 'Ongoing');
    assert.deepEqual(described.partitions, [`${topic}-0`]);
    await aborted.abort();
    const committed = await producer.transaction();
    await committed.send({ topic, messages: [{ value: 'committed' }] });
    await committed.commit();
    const listed = await runPier(['transactions', 'list', '--json', '--data-dir', broker.dataDir]);
    assert.equal(listed.code, 0, listed.stderr);
    const row = JSON.parse(listed.stdout).find(
      (t: { transactionalId: string }) => t.transactionalId === transactionalId,
    );
    assert.equal(row?.state, 'CompleteCommit');
    await producer.disconnect();
    assert.deepEqual(await readAll(topic, false, 1), ['committed']);
    assert.deepEqual(await readAll(topic, true, 3), ['aborted-1', 'aborted-2', 'committed']);
  });

  it('fences the first producer when a second one with the same transactional id starts', async () => {
    const topic = uniqueKafkaName('txn-fence');
    await admin.createTopics({ topics: [{ topic }] });
    const transactionalId = uniqueKafkaName('fenced-txn');
    const first = kafka.producer({ transactionalId, maxInFlightRequests: 1, idempotent: true });
    await first.connect();
    const zombie = await first.transaction();
    await zombie.send({ topic, messages: [{ value: 'zombie' }] });
    const second = kafka.producer({ transactionalId, maxInFlightRequests: 1, idempotent: true });
    await second.connect();
    // kafkajs sends InitProducerId when the first transaction begins: this bumps the epoch.
    const txn = await second.transaction();
    await assert.rejects(zombie.commit(), (error: Error & { type?: string }) => {
      assert.match(`${error.name} ${error.type} ${error.message}`, /INVALID_PRODUCER_EPOCH|fenced|epoch/i);
      return true;
    });
    await txn.send({ topic, messages: [{ value: 'second' }] });
    await txn.commit();
    assert.deepEqual(await readAll(topic, false, 1), ['second']);
    await first.disconnect();
    await second.disconnect();
  });
});
