// The share-group admin APIs of Kafka 4.1 over a real socket, as its Admin client and
// kafka-share-groups.sh send them (no Java client here: Pier's codec on a wire client):
// DescribeShareGroupOffsets, AlterShareGroupOffsets, DeleteShareGroupOffsets, ListGroups with a
// types filter and DeleteGroups of share groups — durable across a SIGKILL, and under ACLs.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { API_KEYS } from '../../../src/protocol/kafka/codec/index.js';
import { tempDir } from '../../helpers/broker.js';
import { spawnKafkaBroker, startKafkaTestBroker, uniqueKafkaName } from '../../helpers/kafka.js';
import { KafkaWireClient } from '../../helpers/kafka-wire.js';
import { ACCEPT, ackAll, ShareConsumer } from './share-consumer.js';
import { createTopic, produce, shareSuite, values } from './share-test-kit.js';

const { Kafka, logLevel } = kafkajs;
const ZERO_UUID = '00000000-0000-0000-0000-000000000000';
const E = {
  NONE: 0,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  TOPIC_AUTHORIZATION_FAILED: 29,
  GROUP_AUTHORIZATION_FAILED: 30,
  NON_EMPTY_GROUP: 68,
  GROUP_ID_NOT_FOUND: 69,
};

const describeOffsets = (
  client: KafkaWireClient,
  groupId: string,
  topics: Array<{ topicName: string; partitions: number[] }> | null,
) => client.send(API_KEYS.DescribeShareGroupOffsets, 0, { groups: [{ groupId, topics }] });

/** [topic, partition, start offset, error] rows of a DescribeShareGroupOffsets group. */
function offsetRows(group: {
  topics: Array<{
    topicName: string;
    partitions: Array<{ partitionIndex: number; startOffset: bigint; errorCode: number }>;
  }>;
}) {
  return group.topics.flatMap((t) =>
    t.partitions.map((p) => [t.topicName, p.partitionIndex, Number(p.startOffset), p.errorCode]),
  );
}

const alterOffsets = (
  client: KafkaWireClient,
  groupId: string,
  topics: Array<{ topicName: string; partitions: Array<{ partitionIndex: number; startOffset: bigint }> }>,
) => client.send(API_KEYS.AlterShareGroupOffsets, 0, { groupId, topics });

const deleteOffsets = (client: KafkaWireClient, groupId: string, topicNames: string[]) =>
  client.send(API_KEYS.DeleteShareGroupOffsets, 0, {
    groupId,
    topics: topicNames.map((topicName) => ({ topicName })),
  });

describe('share-group offsets and group administration (Kafka 4.1 suite.admin APIs)', () => {
  const suite = shareSuite('sgadm');
  const { setUp } = suite;

  /** A topic of `n` records, a share group reading from the earliest, and a member that settled `settled` of them. */
  async function groupWithState(n: number, settled: number) {
    const { topic, group } = await setUp(n);
    const member = await ShareConsumer.join(suite.broker.host, suite.broker.port, group, [topic], {
      version: 1,
    });
    const got = (await member.fetch([], { maxRecords: settled })).records;
    assert.equal(got.length, settled);
    await member.acknowledge(ackAll(got, ACCEPT));
    return { topic, group, member };
  }

  it('advertises DescribeShareGroupOffsets, AlterShareGroupOffsets and DeleteShareGroupOffsets at v0, ListGroups to v5', () => {
    for (const key of [90, 91, 92]) assert.equal(suite.admin.brokerMax.get(key), 0, `API key ${key}`);
    assert.equal(suite.admin.brokerMax.get(API_KEYS.ListGroups), 5);
  });

  it('DescribeShareGroupOffsets: start offsets; -1 where there is no state; every share-partition when no topics are named', async () => {
    const { topic, group, member } = await groupWithState(5, 3);
    const named = await describeOffsets(suite.admin, group, [{ topicName: topic, partitions: [0, 1] }]);
    const g = named.groups[0]!;
    assert.deepEqual([g.groupId, g.errorCode], [group, E.NONE]);
    // Partition 1 does not exist: no state, -1 as Kafka answers it, no error.
    assert.deepEqual(offsetRows(g), [
      [topic, 0, 3, E.NONE],
      [topic, 1, -1, E.NONE],
    ]);
    assert.notEqual(g.topics[0]!.topicId, ZERO_UUID);
    const all = await describeOffsets(suite.admin, group, null);
    assert.deepEqual(offsetRows(all.groups[0]!), [[topic, 0, 3, E.NONE]]);
    const unknownTopic = await describeOffsets(suite.admin, group, [
      { topicName: 'no-such-topic', partitions: [0] },
    ]);
    assert.deepEqual(offsetRows(unknownTopic.groups[0]!), [['no-such-topic', 0, -1, E.NONE]]);
    assert.equal(unknownTopic.groups[0]!.topics[0]!.topicId, ZERO_UUID);
    const unknownGroup = await describeOffsets(suite.admin, uniqueKafkaName('nosuch'), null);
    assert.equal(unknownGroup.groups[0]!.errorCode, E.GROUP_ID_NOT_FOUND);
    await member.close();
  });

  it('AlterShareGroupOffsets: refused with NON_EMPTY_GROUP while the group has members; afterwards consumers start at the new offset', async () => {
    const { topic, group, member } = await groupWithState(10, 2);
    const busy = await alterOffsets(suite.admin, group, [
      { topicName: topic, partitions: [{ partitionIndex: 0, startOffset: 7n }] },
    ]);
    assert.equal(busy.errorCode, E.NON_EMPTY_GROUP);
    assert.match(busy.errorMessage ?? '', /active member/);
    assert.equal(
      offsetRows((await describeOffsets(suite.admin, group, null)).groups[0]!)[0]![2],
      2,
      'unchanged',
    );
    await member.close();

    const altered = await alterOffsets(suite.admin, group, [
      {
        topicName: topic,
        partitions: [
          { partitionIndex: 0, startOffset: 7n },
          { partitionIndex: 3, startOffset: 0n },
        ],
      },
      { topicName: 'no-such-topic', partitions: [{ partitionIndex: 0, startOffset: 0n }] },
    ]);
    assert.equal(altered.errorCode, E.NONE);
    assert.deepEqual(
      altered.responses.map((t) => [t.topicName, t.partitions.map((p) => [p.partitionIndex, p.errorCode])]),
      [
        [
          topic,
          [
            [0, E.NONE],
            [3, E.UNKNOWN_TOPIC_OR_PARTITION],
          ],
        ],
        ['no-such-topic', [[0, E.UNKNOWN_TOPIC_OR_PARTITION]]],
      ],
    );
    assert.deepEqual(offsetRows((await describeOffsets(suite.admin, group, null)).groups[0]!), [
      [topic, 0, 7, E.NONE],
    ]);
    const next = await ShareConsumer.join(suite.broker.host, suite.broker.port, group, [topic], {
      version: 1,
    });
    assert.deepEqual(values((await next.fetch()).records), ['v7', 'v8', 'v9']);
    await next.close();

    // A classic group's id is not a share group's.
    const kafka = new Kafka({
      clientId: 'share-suite.admin',
      brokers: [suite.broker.bootstrap],
      logLevel: logLevel.NOTHING,
    });
    const classic = uniqueKafkaName('classic');
    const kafkaAdmin = kafka.admin();
    await kafkaAdmin.connect();
    await kafkaAdmin.setOffsets({ groupId: classic, topic, partitions: [{ partition: 0, offset: '1' }] });
    await kafkaAdmin.disconnect();
    const notShare = await alterOffsets(suite.admin, classic, [
      { topicName: topic, partitions: [{ partitionIndex: 0, startOffset: 0n }] },
    ]);
    assert.equal(notShare.errorCode, E.GROUP_ID_NOT_FOUND);
  });

  it('DeleteShareGroupOffsets: NON_EMPTY_GROUP while the group has members; then the topic state is gone and share.auto.offset.reset applies again', async () => {
    const { topic, group, member } = await groupWithState(4, 4);
    const busy = await deleteOffsets(suite.admin, group, [topic]);
    assert.equal(busy.errorCode, E.NON_EMPTY_GROUP);
    await member.close();
    const deleted = await deleteOffsets(suite.admin, group, [topic, 'no-such-topic']);
    assert.equal(deleted.errorCode, E.NONE);
    assert.deepEqual(
      deleted.responses.map((t) => [t.topicName, t.errorCode, t.topicId === ZERO_UUID]),
      [
        [topic, E.NONE, false],
        ['no-such-topic', E.UNKNOWN_TOPIC_OR_PARTITION, true],
      ],
    );
    assert.deepEqual(
      offsetRows(
        (await describeOffsets(suite.admin, group, [{ topicName: topic, partitions: [0] }])).groups[0]!,
      ),
      [[topic, 0, -1, E.NONE]],
    );
    // earliest: a new member reads all four again, first deliveries.
    const again = await ShareConsumer.join(suite.broker.host, suite.broker.port, group, [topic], {
      version: 1,
    });
    const got = (await again.fetch()).records;
    assert.deepEqual(
      got.map((r) => [r.value, r.deliveryCount]),
      [
        ['v0', 1],
        ['v1', 1],
        ['v2', 1],
        ['v3', 1],
      ],
    );
    await again.close();
    const unknownGroup = await deleteOffsets(suite.admin, uniqueKafkaName('nosuch'), [topic]);
    assert.equal(unknownGroup.errorCode, E.GROUP_ID_NOT_FOUND);
  });

  it('ListGroups v5 filters by type: "share" lists share groups only, "classic" leaves them out', async () => {
    const { group, member } = await groupWithState(1, 1);
    const kafka = new Kafka({
      clientId: 'share-suite.admin',
      brokers: [suite.broker.bootstrap],
      logLevel: logLevel.NOTHING,
    });
    const classic = uniqueKafkaName('classic');
    const kafkaAdmin = kafka.admin();
    await kafkaAdmin.connect();
    const topic = uniqueKafkaName('classic-topic');
    await kafkaAdmin.createTopics({ topics: [{ topic }] });
    await kafkaAdmin.setOffsets({ groupId: classic, topic, partitions: [{ partition: 0, offset: '0' }] });
    await kafkaAdmin.disconnect();
    const list = async (typesFilter: string[]) =>
      (await suite.admin.send(API_KEYS.ListGroups, 5, { statesFilter: [], typesFilter })).groups;
    const shareOnly = await list(['share']);
    assert.ok(shareOnly.every((g) => g.groupType === 'share' && g.protocolType === 'share'));
    assert.deepEqual(
      shareOnly.filter((g) => g.groupId === group).map((g) => g.groupState),
      ['Stable'],
    );
    assert.ok(!shareOnly.some((g) => g.groupId === classic));
    const classicOnly = await list(['Classic']); // matched case-insensitively, as Kafka does
    assert.ok(classicOnly.some((g) => g.groupId === classic && g.groupType === 'classic'));
    assert.ok(!classicOnly.some((g) => g.groupId === group));
    const both = (await list([])).map((g) => g.groupId);
    assert.ok(both.includes(group) && both.includes(classic));
    const stateAndType = await suite.admin.send(API_KEYS.ListGroups, 5, {
      statesFilter: ['Empty'],
      typesFilter: ['share'],
    });
    assert.ok(!stateAndType.groups.some((g) => g.groupId === group), 'the group is Stable, not Empty');
    await member.close();
  });

  it('DeleteGroups: NON_EMPTY_GROUP for a share group with members; an empty one is deleted with its state', async () => {
    const { topic, group, member } = await groupWithState(3, 3);
    const deleteGroups = (names: string[]) =>
      suite.admin.send(API_KEYS.DeleteGroups, 2, { groupsNames: names });
    const missing = uniqueKafkaName('nosuch');
    const busy = await deleteGroups([group, missing]);
    assert.deepEqual(
      busy.results.map((r) => [r.groupId, r.errorCode]),
      [
        [group, E.NON_EMPTY_GROUP],
        [missing, E.GROUP_ID_NOT_FOUND],
      ],
    );
    await member.close();
    const deleted = await deleteGroups([group]);
    assert.deepEqual(
      deleted.results.map((r) => [r.groupId, r.errorCode]),
      [[group, E.NONE]],
    );
    const listed = await suite.admin.send(API_KEYS.ListGroups, 5, {
      statesFilter: [],
      typesFilter: ['share'],
    });
    assert.ok(!listed.groups.some((g) => g.groupId === group));
    assert.equal(
      (await describeOffsets(suite.admin, group, null)).groups[0]!.errorCode,
      E.GROUP_ID_NOT_FOUND,
    );
    const described = await suite.admin.send(API_KEYS.ShareGroupDescribe, 1, {
      groupIds: [group],
      includeAuthorizedOperations: false,
    });
    assert.equal(described.groups[0]!.errorCode, E.GROUP_ID_NOT_FOUND);
    // Deleted means a fresh start: the group's configs stay (earliest), so a new member reads all again.
    const fresh = await ShareConsumer.join(suite.broker.host, suite.broker.port, group, [topic], {
      version: 1,
    });
    assert.deepEqual(values((await fresh.fetch()).records), ['v0', 'v1', 'v2']);
    await fresh.close();
  });
});

describe('share-group offsets and DeleteGroups across a SIGKILL', () => {
  it('an altered start offset and a deleted group stay so after a restart', async () => {
    const dir = tempDir('pier-share-admin-');
    let child = await spawnKafkaBroker(dir);
    try {
      const topic = uniqueKafkaName('sgkill');
      const kept = uniqueKafkaName('sgkill-kept');
      const dropped = uniqueKafkaName('sgkill-dropped');
      await createTopic(child.bootstrap, topic);
      await produce(child.bootstrap, topic, ['v0', 'v1', 'v2', 'v3', 'v4']);
      let client = await KafkaWireClient.connect(child.host, child.port);
      for (const group of [kept, dropped]) {
        const altered = await alterOffsets(client, group, [
          { topicName: topic, partitions: [{ partitionIndex: 0, startOffset: 3n }] },
        ]);
        assert.equal(altered.responses[0]!.partitions[0]!.errorCode, E.NONE);
      }
      const deleted = await client.send(API_KEYS.DeleteGroups, 2, { groupsNames: [dropped] });
      assert.equal(deleted.results[0]!.errorCode, E.NONE);
      client.close();
      await child.kill();
      child = await spawnKafkaBroker(dir);
      client = await KafkaWireClient.connect(child.host, child.port);
      assert.deepEqual(offsetRows((await describeOffsets(client, kept, null)).groups[0]!), [
        [topic, 0, 3, E.NONE],
      ]);
      assert.equal((await describeOffsets(client, dropped, null)).groups[0]!.errorCode, E.GROUP_ID_NOT_FOUND);
      const listed = await client.send(API_KEYS.ListGroups, 5, { statesFilter: [], typesFilter: ['share'] });
      assert.deepEqual(
        listed.groups.map((g) => g.groupId),
        [kept],
      );
      const member = await ShareConsumer.join(child.host, child.port, kept, [topic], { version: 1 });
      assert.deepEqual(values((await member.fetch()).records), ['v3', 'v4']);
      await member.close();
      client.close();
    } finally {
      await child.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('share-group offsets under Kafka ACLs (--kafka-acls on)', () => {
  it('Describe needs DESCRIBE on group and topic; Alter READ on both; Delete DELETE on the group and READ on the topic', async () => {
    const broker = await startKafkaTestBroker({ kafka: { sasl: false, acls: true } });
    const allow = (resourceType: number, resourceName: string, operation: number) =>
      broker.broker.kafkaAcls!.add({
        resourceType,
        resourceName,
        patternType: 3, // LITERAL
        principal: 'User:ANONYMOUS',
        host: '*',
        operation,
        permission: 3, // ALLOW
      });
    const TOPIC = 2;
    const GROUP = 3;
    const READ = 3;
    const DELETE = 6;
    const DESCRIBE = 8;
    try {
      broker.broker.topics.create('guarded', 1, []);
      const client = await KafkaWireClient.connect(broker.host, broker.port);
      assert.equal(
        (await describeOffsets(client, 'sg-acl', null)).groups[0]!.errorCode,
        E.GROUP_AUTHORIZATION_FAILED,
      );
      const partitions = [{ partitionIndex: 0, startOffset: 0n }];
      assert.equal(
        (await alterOffsets(client, 'sg-acl', [{ topicName: 'guarded', partitions }])).errorCode,
        E.GROUP_AUTHORIZATION_FAILED,
      );
      allow(GROUP, 'sg-acl', READ);
      const noTopic = await alterOffsets(client, 'sg-acl', [{ topicName: 'guarded', partitions }]);
      assert.deepEqual(
        [noTopic.errorCode, noTopic.responses[0]!.partitions[0]!.errorCode],
        [E.NONE, E.TOPIC_AUTHORIZATION_FAILED],
      );
      allow(TOPIC, 'guarded', READ);
      const altered = await alterOffsets(client, 'sg-acl', [{ topicName: 'guarded', partitions }]);
      assert.equal(altered.responses[0]!.partitions[0]!.errorCode, E.NONE);
      // READ implies DESCRIBE in Kafka's ACLs, on the group and on the topic.
      assert.deepEqual(offsetRows((await describeOffsets(client, 'sg-acl', null)).groups[0]!), [
        ['guarded', 0, 0, E.NONE],
      ]);
      // Without DESCRIBE on the topic: named, it is refused; with no topics named, it is left out.
      broker.broker.kafkaAcls!.remove({
        resourceType: TOPIC,
        resourceName: 'guarded',
        patternType: 3,
        principal: null,
        host: null,
        operation: 1, // ANY
        permission: 1, // ANY
      });
      const named = await describeOffsets(client, 'sg-acl', [{ topicName: 'guarded', partitions: [0] }]);
      assert.deepEqual(offsetRows(named.groups[0]!), [['guarded', 0, -1, E.TOPIC_AUTHORIZATION_FAILED]]);
      assert.deepEqual((await describeOffsets(client, 'sg-acl', null)).groups[0]!.topics, []);
      allow(TOPIC, 'guarded', DESCRIBE);
      assert.deepEqual(offsetRows((await describeOffsets(client, 'sg-acl', null)).groups[0]!), [
        ['guarded', 0, 0, E.NONE],
      ]);

      // Delete: DELETE on the group, then READ on the topic (DESCRIBE is not enough).
      assert.equal(
        (await deleteOffsets(client, 'sg-acl', ['guarded'])).errorCode,
        E.GROUP_AUTHORIZATION_FAILED,
      );
      allow(GROUP, 'sg-acl', DELETE);
      const noRead = await deleteOffsets(client, 'sg-acl', ['guarded']);
      assert.deepEqual(
        [noRead.errorCode, noRead.responses[0]!.errorCode],
        [E.NONE, E.TOPIC_AUTHORIZATION_FAILED],
      );
      allow(TOPIC, 'guarded', READ);
      const removed = await deleteOffsets(client, 'sg-acl', ['guarded']);
      assert.deepEqual([removed.errorCode, removed.responses[0]!.errorCode], [E.NONE, E.NONE]);
      client.close();
    } finally {
      await broker.stop();
    }
  });
});
