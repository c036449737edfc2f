// Share groups (KIP-932) over real sockets: kafkajs produces, a hand-written share consumer over
// Pier's codec (share-consumer.ts; the only share consumer is Java's) joins, fetches, acknowledges.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { API_KEYS } from '../../../src/protocol/kafka/codec/index.js';
import { tempDir } from '../../helpers/broker.js';
import { spawnKafkaBroker, startKafkaTestBroker, uniqueKafkaName } from '../../helpers/kafka.js';
import { KafkaWireClient } from '../../helpers/kafka-wire.js';
import { ACCEPT, ackAll, REJECT, RELEASE, ShareConsumer } from './share-consumer.js';
import { createTopic, produce, setGroupConfigs, shareSuite, values } from './share-test-kit.js';

const { Kafka, logLevel } = kafkajs;

describe('share groups (KIP-932) with a share consumer and kafkajs', () => {
  const suite = shareSuite('share');
  const { setUp } = suite;

  it('advertises the four share APIs in ApiVersions at v0-1', () => {
    for (const key of [76, 77, 78, 79]) assert.equal(suite.admin.brokerMax.get(key), 1, `API key ${key}`);
  });

  it('two consumers split one partition: no record goes to both while locked; every record once', async () => {
    const { topic, group } = await setUp(10);
    const a = await ShareConsumer.join(suite.broker.host, suite.broker.port, group, [topic]);
    const b = await ShareConsumer.join(suite.broker.host, suite.broker.port, group, [topic]);
    assert.notEqual(a.memberId, b.memberId);
    // Every member is assigned the one partition.
    assert.deepEqual(
      a.assignment.map((t) => t.partitions),
      [[0]],
    );
    assert.deepEqual(
      b.assignment.map((t) => t.partitions),
      [[0]],
    );
    const fromA = (await a.fetch()).records;
    assert.deepEqual(
      values(fromA),
      Array.from({ length: 10 }, (_, i) => `v${i}`),
    );
    assert.ok(fromA.every((r) => r.deliveryCount === 1));
    // A holds 0-9: B gets nothing of them, only what is produced next.
    assert.deepEqual((await b.fetch()).records, []);
    await produce(suite.broker.bootstrap, topic, ['v10', 'v11', 'v12']);
    const fromB = (await b.fetch([], { maxWaitMs: 5000 })).records;
    assert.deepEqual(values(fromB), ['v10', 'v11', 'v12']);
    const offsetsA = new Set(fromA.map((r) => r.offset));
    assert.ok(fromB.every((r) => !offsetsA.has(r.offset)));
    // Acknowledged (piggy-backed on A's next fetch, explicitly by B): nothing left for anyone.
    const next = await a.fetch(ackAll(fromA, ACCEPT));
    assert.equal(next.response.responses[0]!.partitions[0]!.acknowledgeErrorCode, 0);
    const ackB = await b.acknowledge(ackAll(fromB, ACCEPT));
    assert.equal(ackB.errorCode, 0);
    assert.equal(ackB.responses[0]!.partitions[0]!.errorCode, 0);
    assert.deepEqual((await a.fetch()).records, []);
    assert.deepEqual((await b.fetch()).records, []);
    await a.close();
    await b.close();
  });

  it("2 members × 4 partitions get two each, as Kafka's simple assignor gives; a leaving member hands its partitions over", async () => {
    const topic = uniqueKafkaName('share4');
    const group = uniqueKafkaName('sg4');
    const kafka = new Kafka({
      clientId: 'share-test',
      brokers: [suite.broker.bootstrap],
      logLevel: logLevel.NOTHING,
    });
    const kafkaAdmin = kafka.admin();
    await kafkaAdmin.connect();
    await kafkaAdmin.createTopics({ topics: [{ topic, numPartitions: 4 }] });
    await kafkaAdmin.disconnect();
    assert.equal(
      (await setGroupConfigs(suite.admin, group, { 'share.auto.offset.reset': 'earliest' })).errorCode,
      0,
    );
    const producer = kafka.producer();
    await producer.connect();
    const sendToEach = async (tag: string) => {
      for (let partition = 0; partition < 4; partition++)
        await producer.send({ topic, acks: -1, messages: [{ partition, value: `${tag}-p${partition}` }] });
    };
    await sendToEach('first');

    const a = await ShareConsumer.join(suite.broker.host, suite.broker.port, group, [topic]);
    assert.equal(a.memberEpoch, 1);
    assert.deepEqual(
      a.assignment.map((t) => t.partitions),
      [[0, 1, 2, 3]],
      'alone: every partition',
    );
    const b = await ShareConsumer.join(suite.broker.host, suite.broker.port, group, [topic]);
    assert.equal(b.memberEpoch, 2, 'the join moved the group epoch');
    assert.deepEqual(
      b.assignment.map((t) => t.partitions),
      [[2, 3]],
      'a keeps its first two (balance, then stickiness), b takes the rest',
    );
    const beat = await a.heartbeat();
    assert.equal(beat.memberEpoch, 2, 'a takes the new epoch at its next heartbeat');
    assert.deepEqual(
      a.assignment.map((t) => t.partitions),
      [[0, 1]],
    );
    const described = await suite.admin.send(API_KEYS.ShareGroupDescribe, 0, {
      groupIds: [group],
      includeAuthorizedOperations: false,
    });
    const d = described.groups[0]!;
    assert.deepEqual([d.groupEpoch, d.assignmentEpoch], [2, 2]);
    assert.deepEqual(
      d.members.map((m) => [m.memberId, m.assignment.topicPartitions[0]!.partitions]),
      [
        [a.memberId, [0, 1]],
        [b.memberId, [2, 3]],
      ],
    );
    // Each reads only its own partitions; together every record once.
    const fromA = (await a.fetch()).records;
    const fromB = (await b.fetch()).records;
    assert.deepEqual(values(fromA).sort(), ['first-p0', 'first-p1']);
    assert.deepEqual(values(fromB).sort(), ['first-p2', 'first-p3']);
    await a.fetch(ackAll(fromA, ACCEPT));

    // b leaves (its locks released with its session): a gets all four partitions at its next heartbeat.
    await b.close();
    const handedOver = await a.heartbeat();
    assert.equal(handedOver.memberEpoch, 3);
    assert.deepEqual(
      a.assignment.map((t) => t.partitions),
      [[0, 1, 2, 3]],
    );
    await sendToEach('second');
    const seen: string[] = [];
    for (let round = 0; round < 10 && seen.length < 4 + 2; round++) {
      const { records } = await a.fetch([], { maxWaitMs: 1000 });
      seen.push(...values(records).filter((v): v is string => v !== null));
      await a.acknowledge(ackAll(records, ACCEPT));
    }
    assert.deepEqual(
      seen.sort(),
      ['first-p2', 'first-p3', 'second-p0', 'second-p1', 'second-p2', 'second-p3'],
      "b's released records and everything new, now read by a",
    );
    await producer.disconnect();
    await a.close();
  });

  it('redelivers a released record with delivery count 2, to the other member', async () => {
    const { topic, group } = await setUp(3);
    const a = await ShareConsumer.join(suite.broker.host, suite.broker.port, group, [topic]);
    const b = await ShareConsumer.join(suite.broker.host, suite.broker.port, group, [topic]);
    const got = (await a.fetch()).records;
    assert.equal(got.length, 3);
    const ack = await a.acknowledge([...ackAll([got[0]!, got[2]!], ACCEPT), ...ackAll([got[1]!], RELEASE)]);
    assert.equal(ack.responses[0]!.partitions[0]!.errorCode, 0);
    const again = (await b.fetch()).records;
    assert.deepEqual(
      again.map((r) => [r.value, r.deliveryCount]),
      [['v1', 2]],
    );
    await a.close();
    await b.close();
  });

  it('a lock that times out (share.record.lock.duration.ms) frees the records; the late ack is refused', async () => {
    const { topic, group } = await setUp(2, { 'share.record.lock.duration.ms': '1000' });
    const a = await ShareConsumer.join(suite.broker.host, suite.broker.port, group, [topic]);
    const b = await ShareConsumer.join(suite.broker.host, suite.broker.port, group, [topic]);
    const held = (await a.fetch()).records;
    assert.equal(held.length, 2);
    // B's long poll is answered when A's lock expires (after 1 s, well within its 20 s wait).
    const redelivered = (await b.fetch([], { maxWaitMs: 20_000 })).records;
    assert.deepEqual(
      redelivered.map((r) => [r.value, r.deliveryCount]),
      [
        ['v0', 2],
        ['v1', 2],
      ],
    );
    const late = await a.acknowledge(ackAll(held, ACCEPT));
    assert.equal(late.responses[0]!.partitions[0]!.errorCode, 121); // INVALID_RECORD_STATE
    await a.close();
    await b.close();
  });

  it('archives a record at share.delivery.count.limit, and a rejected one at once', async () => {
    const { topic, group } = await setUp(2, { 'share.delivery.count.limit': '2' });
    const a = await ShareConsumer.join(suite.broker.host, suite.broker.port, group, [topic]);
    const first = (await a.fetch()).records;
    // v0 rejected: archived. v1 released twice: its second release archives it.
    await a.acknowledge([...ackAll([first[0]!], REJECT), ...ackAll([first[1]!], RELEASE)]);
    const second = (await a.fetch()).records;
    assert.deepEqual(
      second.map((r) => [r.value, r.deliveryCount]),
      [['v1', 2]],
    );
    await a.acknowledge(ackAll(second, RELEASE));
    assert.deepEqual((await a.fetch()).records, []);
    await produce(suite.broker.bootstrap, topic, ['v2']);
    assert.deepEqual(values((await a.fetch([], { maxWaitMs: 5000 })).records), ['v2']);
    await a.close();
  });

  it('share session epochs: SHARE_SESSION_NOT_FOUND, INVALID_SHARE_SESSION_EPOCH, INVALID_REQUEST', async () => {
    const { topic, group } = await setUp(1);
    const a = await ShareConsumer.join(suite.broker.host, suite.broker.port, group, [topic]);
    // No session yet: epoch 1 is not found; ShareAcknowledge cannot open one.
    assert.equal((await a.fetch([], { epoch: 1 })).response.errorCode, 122);
    assert.equal((await a.acknowledge([], 0)).errorCode, 123);
    const got = (await a.fetch()).records; // epoch 0 opens
    assert.equal(got.length, 1);
    assert.equal((await a.fetch([], { epoch: 7 })).response.errorCode, 123);
    // Acknowledgements are not allowed in the opening fetch.
    assert.equal((await a.fetch(ackAll(got, ACCEPT), { epoch: 0 })).response.errorCode, 42);
    // The right epoch still works after the refusals (they did not move it).
    assert.equal((await a.fetch()).response.errorCode, 0);
    // Closing (-1) releases what the session held; the next epoch then finds no session.
    assert.equal((await a.acknowledge([], -1)).errorCode, 0);
    assert.equal((await a.fetch()).response.errorCode, 122);
    a.sessionEpoch = 0;
    assert.deepEqual(
      (await a.fetch()).records.map((r) => [r.value, r.deliveryCount]),
      [['v0', 2]],
    );
    await a.close();
  });

  it('ListGroups shows protocol type share; ShareGroupDescribe; DescribeGroups says Dead; epochs are checked', async () => {
    const { topic, group } = await setUp(0);
    const a = await ShareConsumer.join(suite.broker.host, suite.broker.port, group, [topic]);
    const listed = await suite.admin.send(API_KEYS.ListGroups, 4, { statesFilter: [] });
    const entry = listed.groups.find((g) => g.groupId === group);
    // Protocol type "share" as Kafka's ShareGroup; the GroupType field exists from ListGroups v5 only.
    assert.deepEqual(entry && [entry.protocolType, entry.groupState], ['share', 'Stable']);
    const described = await suite.admin.send(API_KEYS.ShareGroupDescribe, 0, {
      groupIds: [group, 'no-such-share-group'],
      includeAuthorizedOperations: false,
    });
    const [d, missing] = described.groups;
    assert.equal(d!.errorCode, 0);
    assert.equal(d!.groupState, 'Stable');
    assert.equal(d!.assignorName, 'simple');
    assert.deepEqual(
      d!.members.map((m) => [m.memberId, m.memberEpoch, m.subscribedTopicNames]),
      [[a.memberId, a.memberEpoch, [topic]]],
    );
    assert.equal(d!.members[0]!.assignment.topicPartitions[0]!.topicName, topic);
    assert.equal(missing!.errorCode, 69); // GROUP_ID_NOT_FOUND
    const classic = await suite.admin.send(API_KEYS.DescribeGroups, 5, {
      groups: [group],
      includeAuthorizedOperations: false,
    });
    assert.equal(classic.groups[0]!.groupState, 'Dead');
    // A stale member epoch is fenced; an unknown member is refused.
    assert.equal((await a.heartbeat(a.memberEpoch + 5)).errorCode, 110);
    const stranger = await suite.admin.send(API_KEYS.ShareGroupHeartbeat, 0, {
      groupId: group,
      memberId: 'nobody',
      memberEpoch: 3,
      rackId: null,
      subscribedTopicNames: null,
    });
    assert.equal(stranger.errorCode, 25);
    // A classic member cannot join a share group's id.
    const classicJoin = await suite.admin.send(API_KEYS.JoinGroup, 5, {
      groupId: group,
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 10_000,
      memberId: '',
      groupInstanceId: null,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
    });
    assert.equal(classicJoin.errorCode, 23); // INCONSISTENT_GROUP_PROTOCOL
    await a.close();
    const after = await suite.admin.send(API_KEYS.ListGroups, 4, { statesFilter: ['Empty'] });
    assert.ok(after.groups.some((g) => g.groupId === group && g.protocolType === 'share'));
  });

  it("refuses a group config outside Kafka's ranges; DescribeConfigs shows the group's configs", async () => {
    const group = uniqueKafkaName('sg');
    assert.equal(
      (await setGroupConfigs(suite.admin, group, { 'share.delivery.count.limit': '3' })).errorCode,
      0,
    );
    const described = await suite.admin.send(API_KEYS.DescribeConfigs, 4, {
      resources: [{ resourceType: 32, resourceName: group, configurationKeys: null }],
      includeSynonyms: false,
      includeDocumentation: false,
    });
    // Config source 8: DYNAMIC_GROUP_CONFIG; 5: DEFAULT_CONFIG.
    const configs = new Map(described.results[0]!.configs.map((c) => [c.name, [c.value, c.configSource]]));
    assert.deepEqual(configs.get('share.delivery.count.limit'), ['3', 8]);
    assert.deepEqual(configs.get('share.record.lock.duration.ms'), ['30000', 5]);
    assert.deepEqual(configs.get('share.auto.offset.reset'), ['latest', 5]);
    const tooShort = await setGroupConfigs(suite.admin, group, { 'share.record.lock.duration.ms': '10' });
    assert.equal(tooShort.errorCode, 40);
    const unknown = await setGroupConfigs(suite.admin, group, { 'share.no.such.config': '1' });
    assert.equal(unknown.errorCode, 40);
  });
});

describe('share-partition state across a SIGKILL', () => {
  it('keeps acknowledged records settled and redelivers the locked ones with their delivery counts', async () => {
    const dir = tempDir('pier-share-');
    let child = await spawnKafkaBroker(dir);
    try {
      const topic = uniqueKafkaName('share');
      const group = uniqueKafkaName('sg');
      await createTopic(child.bootstrap, topic);
      const admin = await KafkaWireClient.connect(child.host, child.port);
      assert.equal(
        (await setGroupConfigs(admin, group, { 'share.auto.offset.reset': 'earliest' })).errorCode,
        0,
      );
      admin.close();
      await produce(child.bootstrap, topic, ['v0', 'v1', 'v2', 'v3', 'v4', 'v5']);
      const a = await ShareConsumer.join(child.host, child.port, group, [topic]);
      const got = (await a.fetch()).records;
      assert.equal(got.length, 6);
      // Answered once stored: v0, v1 accepted; v2 released; v3..v5 still locked by a.
      const ack = await a.acknowledge([...ackAll(got.slice(0, 2), ACCEPT), ...ackAll([got[2]!], RELEASE)]);
      assert.equal(ack.responses[0]!.partitions[0]!.errorCode, 0);
      await child.kill();
      child = await spawnKafkaBroker(dir);
      const b = await ShareConsumer.join(child.host, child.port, group, [topic]);
      const after = (await b.fetch()).records;
      assert.deepEqual(
        after.map((r) => [r.value, r.deliveryCount]),
        [
          ['v2', 2],
          ['v3', 2],
          ['v4', 2],
          ['v5', 2],
        ],
      );
      await b.close();
    } finally {
      await child.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('share groups under Kafka ACLs (--kafka-acls on)', () => {
  it('needs READ on the group for heartbeat and fetch, READ on the topic to fetch, ALTER_CONFIGS on the group', async () => {
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
    const GROUP = 3;
    const TOPIC = 2;
    const READ = 3;
    try {
      broker.broker.topics.create('guarded', 1, []);
      const client = await KafkaWireClient.connect(broker.host, broker.port);
      const join = () =>
        client.send(API_KEYS.ShareGroupHeartbeat, 0, {
          groupId: 'sg-acl',
          memberId: '',
          memberEpoch: 0,
          rackId: null,
          subscribedTopicNames: ['guarded'],
        });
      assert.equal((await join()).errorCode, 30); // GROUP_AUTHORIZATION_FAILED
      assert.equal(
        (await setGroupConfigs(client, 'sg-acl', { 'share.auto.offset.reset': 'earliest' })).errorCode,
        30,
      );
      allow(GROUP, 'sg-acl', READ);
      const joined = await join();
      assert.equal(joined.errorCode, 0);
      const topicId = joined.assignment!.topicPartitions[0]!.topicId;
      const fetch = () =>
        client.send(API_KEYS.ShareFetch, 0, {
          groupId: 'sg-acl',
          memberId: joined.memberId!,
          shareSessionEpoch: 0,
          maxWaitMs: 0,
          minBytes: 1,
          maxBytes: 1 << 20,
          topics: [
            {
              topicId,
              partitions: [{ partitionIndex: 0, partitionMaxBytes: 1 << 20, acknowledgementBatches: [] }],
            },
          ],
          forgottenTopicsData: [],
        });
      assert.equal((await fetch()).errorCode, 29); // TOPIC_AUTHORIZATION_FAILED
      allow(TOPIC, 'guarded', READ);
      assert.equal((await fetch()).errorCode, 0);
      client.close();
    } finally {
      await broker.stop();
    }
  });
});
