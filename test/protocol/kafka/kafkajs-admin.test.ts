// kafkajs 2.2.4's admin client against a real broker over a socket: topics, partitions, configs,
// Kafka's errors, and topics surviving a restart.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { startTestBroker, type TestBroker, tempDir } from '../../helpers/broker.js';

const { Kafka, logLevel, ConfigResourceTypes } = kafkajs;

function adminOf(bootstrap: string) {
  return new Kafka({
    clientId: 'pier-test',
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  }).admin();
}

async function topicConfig(admin: kafkajs.Admin, topic: string, name: string): Promise<string | undefined> {
  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: [name] }],
  });
  return resources[0]!.configEntries.find((e) => e.configName === name)?.configValue;
}

describe('kafkajs admin', () => {
  let broker: TestBroker;
  let admin: kafkajs.Admin;
  before(async () => {
    broker = await startTestBroker({ kafkaPort: 0 });
    admin = adminOf(broker.kafka!.bootstrap);
    await admin.connect();
  });
  after(async () => {
    await admin.disconnect();
    await broker.stop();
  });

  it('creates topics with partitions and configs, lists and describes them', async () => {
    assert.equal(
      await admin.createTopics({
        topics: [
          { topic: 'orders', numPartitions: 3, configEntries: [{ name: 'retention.ms', value: '3600000' }] },
        ],
      }),
      true,
    );
    assert.equal(
      await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 3 }] }),
      false,
      'exists',
    );
    assert.ok((await admin.listTopics()).includes('orders'));
    const { topics } = await admin.fetchTopicMetadata({ topics: ['orders'] });
    assert.deepEqual(topics[0]!.partitions.map((p) => [p.partitionId, p.leader, p.replicas, p.isr]).sort(), [
      [0, 0, [0], [0]],
      [1, 0, [0], [0]],
      [2, 0, [0], [0]],
    ]);
    assert.equal(await topicConfig(admin, 'orders', 'retention.ms'), '3600000');
    assert.equal(await topicConfig(admin, 'orders', 'segment.bytes'), '1073741824');
  });

  it("refuses a replication factor above 1 with Kafka's error; accepts and describes compaction", async () => {
    await assert.rejects(
      admin.createTopics({ topics: [{ topic: 'replicated', numPartitions: 1, replicationFactor: 3 }] }),
      (error: { errors?: Array<{ type: string; message: string }> }) => {
        assert.equal(error.errors?.[0]?.type, 'INVALID_REPLICATION_FACTOR');
        return true;
      },
    );
    await admin.createTopics({
      topics: [{ topic: 'compacted', configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }],
    });
    assert.equal(await topicConfig(admin, 'compacted', 'cleanup.policy'), 'compact');
    assert.equal(await topicConfig(admin, 'compacted', 'min.cleanable.dirty.ratio'), '0.5');
    assert.equal(await topicConfig(admin, 'compacted', 'delete.retention.ms'), '86400000');
    assert.ok(!(await admin.listTopics()).includes('replicated'));
  });

  it('adds partitions and refuses to shrink', async () => {
    await admin.createTopics({ topics: [{ topic: 'grow', numPartitions: 2 }] });
    await admin.createPartitions({ topicPartitions: [{ topic: 'grow', count: 4 }] });
    const { topics } = await admin.fetchTopicMetadata({ topics: ['grow'] });
    assert.equal(topics[0]!.partitions.length, 4);
    await assert.rejects(
      admin.createPartitions({ topicPartitions: [{ topic: 'grow', count: 1 }] }),
      /partitions/,
    );
  });

  it('alters configs and sees the change', async () => {
    await admin.createTopics({ topics: [{ topic: 'tuned' }] });
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: 'tuned',
          configEntries: [{ name: 'retention.bytes', value: '1048576' }],
        },
      ],
    });
    assert.equal(await topicConfig(admin, 'tuned', 'retention.bytes'), '1048576');
    assert.equal(broker.topics.get('tuned')!.config.retentionBytes, 1048576);
  });

  it('deletes topics', async () => {
    await admin.createTopics({ topics: [{ topic: 'doomed', numPartitions: 2 }] });
    await admin.deleteTopics({ topics: ['doomed'] });
    assert.ok(!(await admin.listTopics()).includes('doomed'));
    assert.equal(broker.topics.get('doomed'), undefined);
  });
});

describe('kafkajs admin across a restart', () => {
  it('finds the topics, ids, partitions and configs it left', async () => {
    const dataDir = tempDir();
    try {
      let broker = await startTestBroker({ dataDir, amqpPort: false, kafkaPort: 0 });
      let admin = adminOf(broker.kafka!.bootstrap);
      await admin.connect();
      await admin.createTopics({
        topics: [
          { topic: 'kept', numPartitions: 2, configEntries: [{ name: 'max.message.bytes', value: '4096' }] },
        ],
      });
      await admin.createTopics({ topics: [{ topic: 'gone', numPartitions: 1 }] });
      await admin.deleteTopics({ topics: ['gone'] });
      const id = broker.topics.get('kept')!.id.toString('hex');
      await admin.disconnect();
      await broker.close();

      broker = await startTestBroker({ dataDir, amqpPort: false, kafkaPort: 0 });
      admin = adminOf(broker.kafka!.bootstrap);
      await admin.connect();
      assert.deepEqual((await admin.listTopics()).sort(), ['kept']);
      const { topics } = await admin.fetchTopicMetadata({ topics: ['kept'] });
      assert.equal(topics[0]!.partitions.length, 2);
      assert.equal(await topicConfig(admin, 'kept', 'max.message.bytes'), '4096');
      assert.equal(broker.topics.get('kept')!.id.toString('hex'), id);
      await admin.disconnect();
      await broker.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
