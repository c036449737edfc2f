// /api/kafka and /api/sqs over real HTTP against an in-process broker, with kafkajs and the AWS SDK
// making the traffic: topic offsets, group lag as kafka_exporter computes it, an offset reset refused
// while the group has members and applied once it is empty (a new consumer resumes there), SQS depth,
// a peek that changes nothing, purge, and re-drive of a dead-letter queue to its source.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import kafkajs from 'kafkajs';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { TEST_KAFKA_SETTINGS } from '../helpers/kafka.js';
import { type ApiCall, apiClient } from './api-client.js';

const { Kafka, logLevel } = kafkajs;
type Row = Record<string, unknown>;

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('management API: Kafka and SQS', () => {
  let broker: TestBroker;
  let api: ApiCall;

  before(async () => {
    broker = await startTestBroker({
      amqpPort: false,
      httpPort: 0,
      kafkaPort: 0,
      sqsPort: 0,
      kafka: TEST_KAFKA_SETTINGS,
    });
    api = apiClient(broker.http!.url);
    assert.equal((await api('PUT', '/api/users/mon', { password: 'pw', tags: 'monitoring' })).status, 201);
    assert.equal((await api('PUT', '/api/users/mgr', { password: 'pw', tags: 'management' })).status, 201);
  });
  after(async () => {
    await broker.stop();
  });

  it('Kafka: offsets, lag, reset refused with live members, applied once empty, consumer resumes there', async () => {
    // Recent timestamps: records from 1970 would be deleted by the 7-day retention as soon as
    // segment.ms rolls their segment (as Kafka does).
    const T0 = Math.floor(Date.now() / 1000) * 1000 - 60_000;
    const kafka = new Kafka({
      clientId: 'mgmt-test',
      brokers: [broker.kafka!.bootstrap],
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    const producer = kafka.producer();
    await admin.connect();
    await producer.connect();
    const consumer = kafka.consumer({ groupId: 'g1', heartbeatInterval: 100 });
    try {
      await admin.createTopics({ topics: [{ topic: 'mt', numPartitions: 2 }] });
      await producer.send({
        topic: 'mt',
        acks: -1,
        messages: [
          ...Array.from({ length: 10 }, (_, i) => ({ partition: 0, value: `a${i}` })),
          ...Array.from({ length: 4 }, (_, i) => ({
            partition: 1,
            value: `b${i}`,
            timestamp: `${T0 + (i + 1) * 1000}`,
          })),
        ],
      });

      const topics = (await api('GET', '/api/kafka/topics')).body as Row[];
      assert.deepEqual(
        topics.map((t) => t.name),
        ['mt'],
      );
      const topic = (await api('GET', '/api/kafka/topics/mt')).body as Row;
      assert.equal(topic.partition_count, 2);
      assert.equal(topic.records, 14);
      assert.equal((topic.config as Row)['retention.ms'], 604_800_000);
      assert.deepEqual(
        (topic.partitions as Row[]).map((p) => [p.partition, p.log_start_offset, p.log_end_offset]),
        [
          [0, 0, 10],
          [1, 0, 4],
        ],
      );
      assert.equal((await api('GET', '/api/kafka/topics/nope')).status, 404);

      // Peek reads records without a group: keys, values and headers as text, timestamps as sent.
      await producer.send({
        topic: 'mt',
        acks: -1,
        messages: [{ partition: 1, key: 'k', value: Buffer.from([0xff, 0x00]), headers: { h: 'v' } }],
      });
      const peeked = await api('POST', '/api/kafka/topics/mt/partitions/1/peek', { offset: 2, count: 5 });
      assert.equal(peeked.status, 200, JSON.stringify(peeked.body));
      const records = peeked.body as Row[];
      assert.deepEqual(
        records.map((r) => [r.offset, r.value, r.value_encoding, r.timestamp]),
        [
          [2, 'b2', 'string', T0 + 3000],
          [3, 'b3', 'string', T0 + 4000],
          [4, '/wA=', 'base64', records[2]!.timestamp],
        ],
      );
      assert.equal(records[2]!.key, 'k');
      assert.deepEqual(records[2]!.headers, [{ key: 'h', value: 'v', value_encoding: 'string' }]);
      const firstTwo = (await api('POST', '/api/kafka/topics/mt/partitions/0/peek', { count: 2 }))
        .body as Row[];
      assert.deepEqual(
        firstTwo.map((r) => [r.offset, r.value]),
        [
          [0, 'a0'],
          [1, 'a1'],
        ],
      );
      assert.equal((await api('POST', '/api/kafka/topics/mt/partitions/0/peek', { offset: 11 })).status, 400);
      assert.equal((await api('POST', '/api/kafka/topics/mt/partitions/7/peek', {})).status, 404);

      let seen = 0;
      await consumer.connect();
      await consumer.subscribe({ topic: 'mt', fromBeginning: true });
      await consumer.run({
        eachMessage: async () => {
          seen++;
        },
      });
      await until('the group to commit everything', async () => {
        const g = (await api('GET', '/api/kafka/groups/g1')).body as Row;
        const committed = ((g.partitions as Row[] | undefined) ?? []).map((p) => p.committed_offset);
        return seen === 15 && committed.join() === '10,5' ? g : undefined;
      });
      consumer.pause([{ topic: 'mt' }]);
      await producer.send({
        topic: 'mt',
        acks: -1,
        messages: [0, 1, 2].map((i) => ({ partition: 0, value: `c${i}` })),
      });

      const group = (await api('GET', '/api/kafka/groups/g1')).body as Row;
      assert.equal(group.state, 'Stable');
      assert.equal(group.member_count, 1);
      const members = group.members as Row[];
      assert.equal(members.length, 1);
      assert.deepEqual(members[0]!.assignment, [{ topic: 'mt', partitions: [0, 1] }]);
      assert.deepEqual(
        (group.partitions as Row[]).map((p) => [p.partition, p.committed_offset, p.log_end_offset, p.lag]),
        [
          [0, 10, 13, 3],
          [1, 5, 5, 0],
        ],
      );
      assert.equal(group.lag, 3);
      const listed = (await api('GET', '/api/kafka/groups')).body as Row[];
      assert.deepEqual(
        listed.map((g) => [g.group_id, g.lag]),
        [['g1', 3]],
      );

      // Refused while the consumer is a member, as kafka-consumer-groups --reset-offsets.
      const refused = await api('POST', '/api/kafka/groups/g1/reset-offsets', {
        topic: 'mt',
        to: 'earliest',
      });
      assert.equal(refused.status, 409);
      assert.equal(
        (refused.body as Row).reason,
        "Assignments can only be reset if the group 'g1' is inactive, but the current state is Stable.",
      );
      // Monitoring users read but may not reset.
      const mon = apiClient(broker.http!.url, 'mon', 'pw');
      assert.equal((await mon('GET', '/api/kafka/groups/g1')).status, 200);
      assert.equal(
        (await mon('POST', '/api/kafka/groups/g1/reset-offsets', { topic: 'mt', to: 'latest' })).status,
        403,
      );
      // Plain management users see nothing of Kafka.
      assert.equal((await apiClient(broker.http!.url, 'mgr', 'pw')('GET', '/api/kafka/topics')).status, 403);

      await consumer.disconnect();
      const empty = (await api('GET', '/api/kafka/groups/g1')).body as Row;
      assert.equal(empty.state, 'Empty');
      assert.equal(empty.member_count, 0);

      const bad = await api('POST', '/api/kafka/groups/g1/reset-offsets', { topic: 'mt', to: 'offset' });
      assert.equal(bad.status, 400);
      const byOffset = await api('POST', '/api/kafka/groups/g1/reset-offsets', {
        topic: 'mt',
        partitions: [0],
        to: 'offset',
        offset: 5,
      });
      assert.equal(byOffset.status, 200);
      assert.deepEqual((byOffset.body as Row).partitions, [{ partition: 0, offset: 5 }]);
      const byTime = await api('POST', '/api/kafka/groups/g1/reset-offsets', {
        topic: 'mt',
        partitions: [1],
        to: 'timestamp',
        timestamp: T0 + 2500,
      });
      assert.deepEqual((byTime.body as Row).partitions, [{ partition: 1, offset: 2 }]);
      const reset = (await api('GET', '/api/kafka/groups/g1')).body as Row;
      assert.deepEqual(
        (reset.partitions as Row[]).map((p) => [p.partition, p.committed_offset, p.lag]),
        [
          [0, 5, 8],
          [1, 2, 3],
        ],
      );
      // The reset is an OffsetCommit: a new member of the group resumes from it.
      const resumed = kafka.consumer({ groupId: 'g1', heartbeatInterval: 100 });
      const firstOffsets = new Map<number, string>();
      let count = 0;
      await resumed.connect();
      try {
        await resumed.subscribe({ topic: 'mt', fromBeginning: true });
        await resumed.run({
          eachMessage: async ({ partition, message }) => {
            if (!firstOffsets.has(partition)) firstOffsets.set(partition, message.offset);
            count++;
          },
        });
        await until('the resumed consumer to read 11 records', async () => (count >= 11 ? true : undefined));
        assert.equal(firstOffsets.get(0), '5');
        assert.equal(firstOffsets.get(1), '2');
        assert.equal(count, 11);
      } finally {
        await resumed.disconnect();
      }
      assert.equal((await api('GET', '/api/kafka/groups/nope')).status, 404);
    } finally {
      await consumer.disconnect().catch(() => {});
      await producer.disconnect();
      await admin.disconnect();
    }
  });

  it('SQS: depth, a peek that changes nothing, purge, re-drive of a DLQ to its source', async () => {
    const sqs = new SQSClient({
      endpoint: broker.sqs!.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' },
    });
    try {
      const create = async (name: string, attributes: Record<string, string> = {}) =>
        (await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }))).QueueUrl!;
      const peekUrl = await create('peekq');
      await sqs.send(new SendMessageCommand({ QueueUrl: peekUrl, MessageBody: 'a' }));
      await sqs.send(new SendMessageCommand({ QueueUrl: peekUrl, MessageBody: 'b', DelaySeconds: 60 }));
      const taken = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: peekUrl, MaxNumberOfMessages: 1, VisibilityTimeout: 60 }),
      );
      assert.equal(taken.Messages?.[0]?.Body, 'a');
      await sqs.send(new SendMessageCommand({ QueueUrl: peekUrl, MessageBody: 'c' }));

      const shown = (await api('GET', '/api/sqs/queues/peekq')).body as Row;
      assert.deepEqual(
        [shown.messages_visible, shown.messages_in_flight, shown.messages_delayed, shown.messages],
        [1, 1, 1, 3],
      );
      assert.equal((shown.attributes as Row).VisibilityTimeout, 30);
      for (let i = 0; i < 2; i++) {
        const peeked = await api('POST', '/api/sqs/queues/peekq/peek', { count: 10 });
        assert.equal(peeked.status, 200);
        assert.deepEqual(
          (peeked.body as Row[]).map((m) => [m.body, m.state, m.receive_count]),
          [
            ['a', 'inflight', 1],
            ['b', 'delayed', 0],
            ['c', 'visible', 0],
          ],
        );
      }
      // Nothing was received or hidden by the peeks.
      const { Attributes = {} } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: peekUrl, AttributeNames: ['All'] }),
      );
      assert.equal(Attributes.ApproximateNumberOfMessages, '1');
      assert.equal(Attributes.ApproximateNumberOfMessagesNotVisible, '1');
      assert.equal(Attributes.ApproximateNumberOfMessagesDelayed, '1');
      const c = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: peekUrl,
          MessageSystemAttributeNames: ['ApproximateReceiveCount'],
        }),
      );
      assert.equal(c.Messages?.[0]?.Body, 'c');
      assert.equal(c.Messages?.[0]?.Attributes?.ApproximateReceiveCount, '1');

      const mon = apiClient(broker.http!.url, 'mon', 'pw');
      assert.equal((await mon('POST', '/api/sqs/queues/peekq/peek', {})).status, 200);
      assert.equal((await mon('DELETE', '/api/sqs/queues/peekq/contents')).status, 403);
      // A management user with configure permission in vhost '/' may purge, without reading rights.
      const mgr = apiClient(broker.http!.url, 'mgr', 'pw');
      assert.equal((await mgr('DELETE', '/api/sqs/queues/peekq/contents')).status, 403);
      const grant = { configure: '^peekq$', write: '', read: '' };
      assert.equal((await api('PUT', '/api/permissions/%2F/mgr', grant)).status, 201);
      assert.equal((await mgr('GET', '/api/sqs/queues/peekq')).status, 403);
      assert.equal((await mgr('DELETE', '/api/sqs/queues/peekq/contents')).status, 204);
      assert.equal(((await api('GET', '/api/sqs/queues/peekq')).body as Row).messages, 0);
      assert.equal((await api('DELETE', '/api/sqs/queues/peekq/contents')).status, 409);
      assert.equal((await api('GET', '/api/sqs/queues/nope')).status, 404);

      // Two messages received twice with maxReceiveCount 1 land in the DLQ.
      const dlqUrl = await create('dlq');
      const dlqArn = (
        await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }))
      ).Attributes!.QueueArn!;
      const srcUrl = await create('src', {
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 1 }),
      });
      for (const body of ['x', 'y'])
        await sqs.send(new SendMessageCommand({ QueueUrl: srcUrl, MessageBody: body }));
      for (let i = 0; i < 3; i++) {
        await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: srcUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }),
        );
      }
      const dlq = (await api('GET', '/api/sqs/queues/dlq')).body as Row;
      assert.equal(dlq.messages_visible, 2);
      assert.deepEqual(dlq.dead_letter_sources, ['src']);
      const src = (await api('GET', '/api/sqs/queues/src')).body as Row;
      assert.equal(src.dead_letter_queue, 'dlq');
      assert.equal(src.messages, 0);
      const listed = (await api('GET', '/api/sqs/queues')).body as Row[];
      assert.deepEqual(
        listed.map((q) => q.name),
        ['dlq', 'peekq', 'src'],
      );

      const notDlq = await api('POST', '/api/sqs/queues/src/redrive', {});
      assert.equal(notDlq.status, 400);
      assert.match((notDlq.body as Row).reason as string, /not a dead-letter queue/);
      const started = await api('POST', '/api/sqs/queues/dlq/redrive', { max_messages_per_second: 1 });
      assert.equal(started.status, 201);
      assert.equal((started.body as Row).status, 'RUNNING');
      const again = await api('POST', '/api/sqs/queues/dlq/redrive', {});
      assert.equal(again.status, 409);
      assert.match((again.body as Row).reason as string, /already a task running/);
      await until('the re-drive to finish', async () => {
        const q = (await api('GET', '/api/sqs/queues/src')).body as Row;
        return q.messages_visible === 2 ? q : undefined;
      });
      assert.equal(((await api('GET', '/api/sqs/queues/dlq')).body as Row).messages, 0);
      const tasks = (await api('GET', '/api/sqs/queues/dlq/redrive')).body as Row[];
      assert.equal(tasks[0]!.status, 'COMPLETED');
      assert.equal(tasks[0]!.messages_moved, 2);
      const back = await sqs.send(new ReceiveMessageCommand({ QueueUrl: srcUrl, MaxNumberOfMessages: 10 }));
      assert.deepEqual((back.Messages ?? []).map((m) => m.Body).sort(), ['x', 'y']);
    } finally {
      sqs.destroy();
    }
  });
});
