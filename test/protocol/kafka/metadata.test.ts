// Metadata v0-12 through the codec: brokers, cluster id, topics by name and by id, auto-creation
// rules per version, and authorized operations.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatTopicId } from '../../../src/core/kafka/topic-registry.js';
import {
  AUTHORIZED_OPERATIONS_OMITTED,
  CLUSTER_OPERATIONS,
  TOPIC_OPERATIONS,
} from '../../../src/protocol/kafka/apis/metadata.js';
import { KafkaError } from '../../../src/protocol/kafka/error-codes.js';
import { TopicApiHarness } from './topic-api-harness.js';

const METADATA = 3;
const ZERO_UUID = '00000000-0000-0000-0000-000000000000';
const named = (...names: string[]) => names.map((name) => ({ name, topicId: ZERO_UUID }));

describe('Metadata', () => {
  it('describes the one broker and every topic at every version', async () => {
    const h = new TopicApiHarness();
    h.registry.create('b', 2, []);
    h.registry.create('a', 1, []);
    for (let v = 0; v <= 12; v++) {
      const all = await h.call(METADATA, v, { topics: v === 0 ? [] : null });
      assert.deepEqual(all.brokers, [{ nodeId: 0, host: 'broker.test', port: 19092, rack: null }], `v${v}`);
      assert.equal(all.clusterId, v >= 2 ? 'pier-test-cluster-0000' : null, `v${v}`);
      assert.equal(all.controllerId, v >= 1 ? 0 : -1, `v${v}`);
      assert.deepEqual(
        all.topics.map((t: { name: string }) => t.name),
        ['a', 'b'],
        `v${v}`,
      );
      const b = all.topics[1];
      assert.equal(b.errorCode, 0);
      assert.equal(b.isInternal, false);
      assert.equal(b.topicId, v >= 10 ? formatTopicId(h.registry.get('b')!.id) : ZERO_UUID, `v${v}`);
      assert.deepEqual(
        b.partitions.map((p: Record<string, unknown>) => [
          p.partitionIndex,
          p.leaderId,
          p.replicaNodes,
          p.isrNodes,
        ]),
        [
          [0, 0, [0], [0]],
          [1, 0, [0], [0]],
        ],
      );
      if (v >= 7) assert.equal(b.partitions[0].leaderEpoch, 0);
      if (v >= 8) {
        assert.equal(b.topicAuthorizedOperations, AUTHORIZED_OPERATIONS_OMITTED);
        if (v <= 10) assert.equal(all.clusterAuthorizedOperations, AUTHORIZED_OPERATIONS_OMITTED);
      }
      if (v >= 1)
        assert.deepEqual((await h.call(METADATA, v, { topics: [] })).topics, [], `v${v}: [] is none`);
    }
  });

  it('auto-creates a missing topic: always at v0-3, at v4+ only when the request allows it', async () => {
    const h = new TopicApiHarness({ defaultPartitions: 3 });
    const v1 = await h.call(METADATA, 1, { topics: named('old-client') });
    assert.equal(v1.topics[0].errorCode, KafkaError.NONE);
    assert.equal(v1.topics[0].partitions.length, 3);
    const refused = await h.call(METADATA, 9, { topics: named('no-auto'), allowAutoTopicCreation: false });
    assert.equal(refused.topics[0].errorCode, KafkaError.UNKNOWN_TOPIC_OR_PARTITION);
    assert.equal(h.registry.get('no-auto'), undefined);
    const allowed = await h.call(METADATA, 9, {
      topics: named('auto', 'auto'),
      allowAutoTopicCreation: true,
    });
    assert.equal(allowed.topics.length, 1, 'a name asked twice is answered once');
    assert.equal(allowed.topics[0].partitions.length, 3);
    const bad = await h.call(METADATA, 9, { topics: named('bad name'), allowAutoTopicCreation: true });
    assert.equal(bad.topics[0].errorCode, KafkaError.INVALID_TOPIC_EXCEPTION);
  });

  it('does not auto-create when the broker forbids it', async () => {
    const h = new TopicApiHarness({ autoCreateTopics: false });
    const answer = await h.call(METADATA, 0, { topics: named('t') });
    assert.equal(answer.topics[0].errorCode, KafkaError.UNKNOWN_TOPIC_OR_PARTITION);
    assert.deepEqual(answer.topics[0].partitions, []);
    assert.equal(h.registry.list().length, 0);
  });

  it('finds topics by id from v12, and answers UNKNOWN_TOPIC_ID for an unknown one', async () => {
    const h = new TopicApiHarness();
    const id = formatTopicId(h.registry.create('by-id', 1, []).id);
    const unknown = '11111111-2222-3333-4444-555555555555';
    const answer = await h.call(METADATA, 12, {
      topics: [
        { name: null, topicId: id },
        { name: null, topicId: unknown },
      ],
    });
    assert.deepEqual(
      answer.topics.map((t: Record<string, unknown>) => [t.name, t.topicId, t.errorCode]),
      [
        ['by-id', id, 0],
        [null, unknown, KafkaError.UNKNOWN_TOPIC_ID],
      ],
    );
    const v10 = await h.call(METADATA, 10, { topics: [{ name: null, topicId: id }] });
    assert.equal(v10.topics[0].errorCode, KafkaError.INVALID_REQUEST);
  });

  it('reports authorized operations when asked (no ACLs: everything allowed)', async () => {
    const h = new TopicApiHarness();
    h.registry.create('t', 1, []);
    const answer = await h.call(METADATA, 10, {
      topics: null,
      includeClusterAuthorizedOperations: true,
      includeTopicAuthorizedOperations: true,
    });
    assert.equal(answer.topics[0].topicAuthorizedOperations, TOPIC_OPERATIONS);
    assert.equal(answer.clusterAuthorizedOperations, CLUSTER_OPERATIONS);
    // READ(3) WRITE(4) CREATE(5) DELETE(6) ALTER(7) DESCRIBE(8) DESCRIBE_CONFIGS(10) ALTER_CONFIGS(11)
    assert.equal(TOPIC_OPERATIONS, 0b1101_1111_1000);
  });
});
