// CreateTopics v0-7, DeleteTopics v0-6 and CreatePartitions v0-3 through the codec, with Kafka's
// error codes and messages for a one-broker cluster.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatTopicId } from '../../../src/core/kafka/topic-registry.js';
import { KafkaError } from '../../../src/protocol/kafka/error-codes.js';
import { TopicApiHarness } from './topic-api-harness.js';

const CREATE_TOPICS = 19;
const DELETE_TOPICS = 20;
const CREATE_PARTITIONS = 37;
const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

function topic(name: string, fields: Record<string, unknown> = {}) {
  return { name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [], ...fields };
}

describe('CreateTopics', () => {
  it('creates topics at every version; v5+ answers partitions, replication and configs, v7 the id', async () => {
    const h = new TopicApiHarness({ defaultPartitions: 2 });
    for (let v = 0; v <= 7; v++) {
      const answer = await h.call(CREATE_TOPICS, v, {
        topics: [
          topic(`t${v}`, {
            numPartitions: -1,
            replicationFactor: -1,
            configs: [{ name: 'retention.ms', value: '60000' }],
          }),
        ],
        timeoutMs: 1000,
      });
      const [result] = answer.topics;
      assert.equal(result.errorCode, 0, `v${v}: ${result.errorMessage}`);
      assert.equal(h.registry.get(`t${v}`)!.partitions.length, 2);
      assert.equal(h.registry.get(`t${v}`)!.config.retentionMs, 60000);
      if (v >= 5) {
        assert.equal(result.numPartitions, 2);
        assert.equal(result.replicationFactor, 1);
        const retention = result.configs.find((c: { name: string }) => c.name === 'retention.ms');
        assert.deepEqual(retention, {
          name: 'retention.ms',
          value: '60000',
          readOnly: false,
          configSource: 1,
          isSensitive: false,
        });
        const segment = result.configs.find((c: { name: string }) => c.name === 'segment.bytes');
        assert.equal(segment.value, '1073741824');
        assert.equal(segment.configSource, 5);
      }
      assert.equal(result.topicId, v >= 7 ? formatTopicId(h.registry.get(`t${v}`)!.id) : ZERO_UUID);
    }
  });

  it("refuses what Kafka refuses, with Kafka's codes and messages", async () => {
    const h = new TopicApiHarness();
    h.registry.create('exists', 1, []);
    const answer = await h.call(CREATE_TOPICS, 4, {
      topics: [
        topic('exists', { replicationFactor: 3 }),
        topic('rf3', { replicationFactor: 3 }),
        topic('rf0', { replicationFactor: 0 }),
        topic('p0', { numPartitions: 0 }),
        topic('bad name'),
        topic('compact', { configs: [{ name: 'cleanup.policy', value: 'compact' }] }),
        topic('bad-policy', { configs: [{ name: 'cleanup.policy', value: 'compact,shred' }] }),
        topic('unknown-config', { configs: [{ name: 'retention.hours', value: '1' }] }),
        topic('node1', {
          numPartitions: -1,
          replicationFactor: -1,
          assignments: [{ partitionIndex: 0, brokerIds: [1] }],
        }),
        topic('both', { numPartitions: 2, assignments: [{ partitionIndex: 0, brokerIds: [0] }] }),
        topic('gap', {
          numPartitions: -1,
          replicationFactor: -1,
          assignments: [
            { partitionIndex: 0, brokerIds: [0] },
            { partitionIndex: 2, brokerIds: [0] },
          ],
        }),
        topic('twice'),
        topic('twice'),
      ],
      timeoutMs: 1000,
      validateOnly: false,
    });
    const results = Object.fromEntries(
      answer.topics.map((r: Record<string, unknown>) => [r.name, [r.errorCode, r.errorMessage]]),
    );
    assert.deepEqual(results.exists, [KafkaError.TOPIC_ALREADY_EXISTS, "Topic 'exists' already exists."]);
    assert.deepEqual(results.rf3, [
      KafkaError.INVALID_REPLICATION_FACTOR,
      'Replication factor: 3 larger than available brokers: 1.',
    ]);
    assert.equal(results.rf0[0], KafkaError.INVALID_REPLICATION_FACTOR);
    assert.equal(results.p0[0], KafkaError.INVALID_PARTITIONS);
    assert.equal(results['bad name'][0], KafkaError.INVALID_TOPIC_EXCEPTION);
    assert.equal(results.compact[0], KafkaError.NONE, 'cleanup.policy=compact is accepted');
    assert.deepEqual(results['bad-policy'], [
      KafkaError.INVALID_CONFIG,
      'Invalid value compact,shred for configuration cleanup.policy: String must be one of: compact, delete',
    ]);
    assert.deepEqual(results['unknown-config'], [
      KafkaError.INVALID_CONFIG,
      'Unknown topic config name: retention.hours',
    ]);
    assert.equal(results.node1[0], KafkaError.INVALID_REPLICA_ASSIGNMENT);
    assert.equal(results.both[0], KafkaError.INVALID_REQUEST);
    assert.equal(results.gap[0], KafkaError.INVALID_REPLICA_ASSIGNMENT);
    assert.equal(results.twice[0], KafkaError.INVALID_REQUEST);
    assert.equal(answer.topics.length, 12, 'a duplicated name is answered once');
    assert.deepEqual(
      h.registry.list().map((t) => t.name),
      ['compact', 'exists'],
      'only the valid new topic was created',
    );
  });

  it('accepts a manual assignment to this broker, and validate-only creates nothing', async () => {
    const h = new TopicApiHarness();
    const answer = await h.call(CREATE_TOPICS, 7, {
      topics: [
        topic('manual', {
          numPartitions: -1,
          replicationFactor: -1,
          assignments: [
            { partitionIndex: 1, brokerIds: [0] },
            { partitionIndex: 0, brokerIds: [0] },
          ],
        }),
      ],
      timeoutMs: 1000,
    });
    assert.equal(answer.topics[0].errorCode, 0);
    assert.equal(h.registry.get('manual')!.partitions.length, 2);
    const dry = await h.call(CREATE_TOPICS, 7, {
      topics: [topic('dry', { numPartitions: 4 })],
      validateOnly: true,
    });
    assert.equal(dry.topics[0].errorCode, 0);
    assert.equal(dry.topics[0].numPartitions, 4);
    assert.equal(dry.topics[0].topicId, ZERO_UUID);
    assert.equal(h.registry.get('dry'), undefined);
  });
});

describe('DeleteTopics', () => {
  it('deletes by name at v0-5 and by name or id at v6', async () => {
    const h = new TopicApiHarness();
    for (let v = 0; v <= 5; v++) {
      h.registry.create(`t${v}`, 1, []);
      const answer = await h.call(DELETE_TOPICS, v, { topicNames: [`t${v}`, 'missing'], timeoutMs: 1000 });
      assert.deepEqual(
        answer.responses.map((r: Record<string, unknown>) => [r.name, r.errorCode]),
        [
          [`t${v}`, 0],
          ['missing', KafkaError.UNKNOWN_TOPIC_OR_PARTITION],
        ],
        `v${v}`,
      );
      assert.equal(h.registry.get(`t${v}`), undefined);
    }
    const id = formatTopicId(h.registry.create('by-id', 1, []).id);
    h.registry.create('by-name', 1, []);
    const answer = await h.call(DELETE_TOPICS, 6, {
      topics: [
        { name: null, topicId: id },
        { name: 'by-name', topicId: ZERO_UUID },
        { name: null, topicId: '11111111-2222-3333-4444-555555555555' },
        { name: 'x', topicId: id },
      ],
      timeoutMs: 1000,
    });
    assert.deepEqual(
      answer.responses.map((r: Record<string, unknown>) => [r.name, r.errorCode]),
      [
        ['by-id', 0],
        ['by-name', 0],
        [null, KafkaError.UNKNOWN_TOPIC_ID],
        ['x', KafkaError.INVALID_REQUEST],
      ],
    );
    assert.equal(h.registry.list().length, 0);
  });
});

describe('CreatePartitions', () => {
  it('grows a topic, refuses shrinking, unknown topics and foreign assignments; validate-only changes nothing', async () => {
    const h = new TopicApiHarness();
    h.registry.create('t', 3, []);
    for (let v = 0; v <= 3; v++) {
      const answer = await h.call(CREATE_PARTITIONS, v, {
        topics: [
          { name: 't', count: 2, assignments: null },
          { name: 'missing', count: 2, assignments: null },
        ],
        timeoutMs: 1000,
        validateOnly: false,
      });
      assert.deepEqual(
        answer.results.map((r: Record<string, unknown>) => [r.name, r.errorCode, r.errorMessage]),
        [
          [
            't',
            KafkaError.INVALID_PARTITIONS,
            'Topic currently has 3 partitions, which is higher than the requested 2.',
          ],
          ['missing', KafkaError.UNKNOWN_TOPIC_OR_PARTITION, "The topic 'missing' does not exist."],
        ],
      );
    }
    const dry = await h.call(CREATE_PARTITIONS, 3, {
      topics: [{ name: 't', count: 5, assignments: null }],
      validateOnly: true,
    });
    assert.equal(dry.results[0].errorCode, 0);
    assert.equal(h.registry.get('t')!.partitions.length, 3);
    const foreign = await h.call(CREATE_PARTITIONS, 1, {
      topics: [{ name: 't', count: 4, assignments: [{ brokerIds: [2] }] }],
    });
    assert.equal(foreign.results[0].errorCode, KafkaError.INVALID_REPLICA_ASSIGNMENT);
    const short = await h.call(CREATE_PARTITIONS, 1, {
      topics: [{ name: 't', count: 5, assignments: [{ brokerIds: [0] }] }],
    });
    assert.equal(short.results[0].errorCode, KafkaError.INVALID_REPLICA_ASSIGNMENT);
    const grown = await h.call(CREATE_PARTITIONS, 2, {
      topics: [{ name: 't', count: 5, assignments: [{ brokerIds: [0] }, { brokerIds: [0] }] }],
    });
    assert.equal(grown.results[0].errorCode, 0);
    assert.equal(h.registry.get('t')!.partitions.length, 5);
  });
});
