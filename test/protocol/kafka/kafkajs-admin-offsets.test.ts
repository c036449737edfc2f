// kafkajs 2.2.4's admin client on offsets and consumer groups, against a real broker over a socket:
// topic offsets (by timestamp too), DeleteRecords, committed offsets of a consuming group,
// describe/list/delete groups, setOffsets/resetOffsets followed by a consumer resuming exactly
// there, and (with the raw client: kafkajs has no groupInstanceId) static membership across a restart.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { API_KEYS, type KafkaStruct } from '../../../src/protocol/kafka/codec/index.js';
import { KafkaError } from '../../../src/protocol/kafka/error-codes.js';
import { startTestBroker, type TestBroker } from '../../helpers/broker.js';
import { RawKafkaClient } from './raw-kafka-client.js';

const { Kafka, logLevel, AssignerProtocol } = kafkajs;

interface Running {
  readonly consumer: kafkajs.Consumer;
  /** [partition, offset, value] of every record handed to eachMessage, in order. */
  readonly seen: Array<[number, number, string]>;
}

describe('kafkajs admin: offsets and consumer groups', () => {
  let broker: TestBroker;
  let kafka: kafkajs.Kafka;
  let admin: kafkajs.Admin;
  const running = new Set<kafkajs.Consumer>();

  before(async () => {
    broker = await startTestBroker({ kafkaPort: 0, kafka: { groupInitialRebalanceDelayMs: 0 } });
    kafka = new Kafka({
      clientId: 'pier-admin-offsets',
      brokers: [broker.kafka!.bootstrap],
      logLevel: logLevel.NOTHING,
      retry: { retries: 2 },
    });
    admin = kafka.admin();
    await admin.connect();
  });
  after(async () => {
    for (const consumer of running) await consumer.disconnect();
    await admin.disconnect();
    await broker.stop();
  });

  async function produce(topic: string, messages: kafkajs.Message[]): Promise<void> {
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, acks: -1, messages });
    await producer.disconnect();
  }

  /**
   * Runs a consumer in `groupId` until it has received `count` records and its commits cover
   * `commitsTo` records in total (sum of committed offsets − the offsets it started from).
   */
  async function consume(
    groupId: string,
    topic: string,
    count: number,
    options: { fromBeginning?: boolean; commitsTo?: number } = {},
  ): Promise<Running> {
    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 50 });
    running.add(consumer);
    const seen: Array<[number, number, string]> = [];
    const committed = new Map<number, number>();
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: options.fromBeginning ?? true });
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        const total = [...committed.values()].reduce((sum, o) => sum + o, 0);
        if (seen.length >= count && (options.commitsTo === undefined || total >= options.commitsTo))
          resolve();
      };
      consumer.on(consumer.events.COMMIT_OFFSETS, ({ payload }) => {
        for (const t of payload.topics)
          for (const p of t.partitions) committed.set(Number(p.partition), Number(p.offset));
        check();
      });
      consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            seen.push([partition, Number(message.offset), message.value!.toString()]);
            check();
          },
        })
        .catch(reject);
    });
    return { consumer, seen };
  }

  async function stop(consumer: kafkajs.Consumer): Promise<void> {
    await consumer.disconnect();
    running.delete(consumer);
  }

  it('fetchTopicOffsets, fetchTopicOffsetsByTimestamp and deleteTopicRecords', async () => {
    await admin.createTopics({ topics: [{ topic: 'timeline', numPartitions: 2 }] });
    const baseMs = 1_700_000_000_000;
    await produce(
      'timeline',
      Array.from({ length: 5 }, (_, i) => ({
        partition: 0,
        value: `t${i}`,
        timestamp: `${baseMs + i * 1000}`,
      })),
    );
    const byPartition = <T extends { partition: number }>(rows: T[]): T[] =>
      [...rows].sort((a, b) => a.partition - b.partition);

    assert.deepEqual(byPartition(await admin.fetchTopicOffsets('timeline')), [
      { partition: 0, offset: '5', high: '5', low: '0' },
      { partition: 1, offset: '0', high: '0', low: '0' },
    ]);
    // The first offset whose timestamp is at or after the one asked for.
    assert.deepEqual(byPartition(await admin.fetchTopicOffsetsByTimestamp('timeline', baseMs + 2000)), [
      { partition: 0, offset: '2' },
      { partition: 1, offset: '0' },
    ]);
    assert.equal(
      byPartition(await admin.fetchTopicOffsetsByTimestamp('timeline', baseMs + 2500))[0]!.offset,
      '3',
    );
    // Later than every record: Kafka answers -1 and kafkajs falls back to the high watermark.
    assert.equal(
      byPartition(await admin.fetchTopicOffsetsByTimestamp('timeline', baseMs + 60_000))[0]!.offset,
      '5',
    );

    await admin.deleteTopicRecords({ topic: 'timeline', partitions: [{ partition: 0, offset: '3' }] });
    assert.deepEqual(byPartition(await admin.fetchTopicOffsets('timeline'))[0], {
      partition: 0,
      offset: '5',
      high: '5',
      low: '3',
    });
    // '-1' deletes everything up to the high watermark.
    await admin.deleteTopicRecords({ topic: 'timeline', partitions: [{ partition: 0, offset: '-1' }] });
    assert.equal(byPartition(await admin.fetchTopicOffsets('timeline'))[0]!.low, '5');
  });

  it('a consuming group: committed offsets, describeGroups while running and once empty, listGroups', async () => {
    await admin.createTopics({ topics: [{ topic: 'work', numPartitions: 2 }] });
    await produce(
      'work',
      Array.from({ length: 10 }, (_, i) => ({ partition: i % 2, value: `w${i}` })),
    );
    const { consumer, seen } = await consume('workers', 'work', 10, { commitsTo: 10 });
    assert.equal(seen.length, 10);

    const committed = await admin.fetchOffsets({ groupId: 'workers', topics: ['work'] });
    assert.deepEqual(
      committed.map((t) => ({
        topic: t.topic,
        partitions: [...t.partitions].sort((a, b) => a.partition - b.partition),
      })),
      [
        {
          topic: 'work',
          partitions: [
            { partition: 0, offset: '5', metadata: null },
            { partition: 1, offset: '5', metadata: null },
          ],
        },
      ],
    );

    const [stable] = (await admin.describeGroups(['workers'])).groups;
    assert.equal(stable!.state, 'Stable');
    assert.equal(stable!.protocolType, 'consumer');
    assert.equal(stable!.protocol, 'RoundRobinAssigner');
    assert.equal(stable!.members.length, 1);
    const member = stable!.members[0]!;
    assert.equal(member.clientId, 'pier-admin-offsets');
    assert.match(member.clientHost, /127\.0\.0\.1/);
    const assignment = AssignerProtocol.MemberAssignment.decode(member.memberAssignment);
    assert.deepEqual(
      [...assignment!.assignment.work!].sort(),
      [0, 1],
      'the one member reads both partitions',
    );
    assert.deepEqual(AssignerProtocol.MemberMetadata.decode(member.memberMetadata)!.topics, ['work']);

    assert.deepEqual(
      (await admin.listGroups()).groups.filter((g) => g.groupId === 'workers'),
      [{ groupId: 'workers', protocolType: 'consumer' }],
    );

    await stop(consumer);
    const [empty] = (await admin.describeGroups(['workers'])).groups;
    assert.deepEqual(
      { state: empty!.state, members: empty!.members, protocol: empty!.protocol },
      { state: 'Empty', members: [], protocol: '' },
    );
    assert.deepEqual(
      (await admin.listGroups()).groups.filter((g) => g.groupId === 'workers'),
      [{ groupId: 'workers', protocolType: 'consumer' }],
      'an empty group with offsets is still listed',
    );
    const [unknown] = (await admin.describeGroups(['never-seen'])).groups;
    assert.equal(unknown!.state, 'Dead');
  });

  it('setOffsets on an empty group: a consumer of that group resumes exactly there', async () => {
    await admin.createTopics({ topics: [{ topic: 'replay', numPartitions: 2 }] });
    await produce(
      'replay',
      Array.from({ length: 12 }, (_, i) => ({ partition: i % 2, value: `r${i}` })),
    );
    await admin.setOffsets({
      groupId: 'replayers',
      topic: 'replay',
      partitions: [
        { partition: 0, offset: '4' },
        { partition: 1, offset: '1' },
      ],
    });
    const committed = (await admin.fetchOffsets({ groupId: 'replayers', topics: ['replay'] }))[0]!;
    assert.deepEqual(
      [...committed.partitions].sort((a, b) => a.partition - b.partition).map((p) => p.offset),
      ['4', '1'],
    );
    // fromBeginning would start at 0 without a committed offset: it must not win over the commit.
    const { consumer, seen } = await consume('replayers', 'replay', 2 + 5);
    await stop(consumer);
    const firstOf = (partition: number) => seen.find(([p]) => p === partition)?.[1];
    assert.equal(firstOf(0), 4);
    assert.equal(firstOf(1), 1);
    assert.equal(seen.length, 7, 'nothing before the set offsets was delivered');
  });

  it('resetOffsets earliest and latest on an empty group', async () => {
    await admin.createTopics({ topics: [{ topic: 'rewind', numPartitions: 1 }] });
    await produce(
      'rewind',
      Array.from({ length: 6 }, (_, i) => ({ value: `x${i}` })),
    );
    // kafkajs deletes records only on partitions whose leader it has looked up.
    assert.equal((await admin.fetchTopicOffsets('rewind'))[0]!.high, '6');
    await admin.deleteTopicRecords({ topic: 'rewind', partitions: [{ partition: 0, offset: '2' }] });
    const first = await consume('rewinders', 'rewind', 4, { commitsTo: 6 });
    await stop(first.consumer);
    const committed = async () =>
      (await admin.fetchOffsets({ groupId: 'rewinders', topics: ['rewind'] }))[0]!.partitions[0]!.offset;
    assert.equal(await committed(), '6');

    // kafkajs commits Kafka's sentinel (-2 earliest, -1 latest), which Kafka stores as given
    // (kafkajs issue #192); resolveOffsets turns it into the partition's offset and commits that.
    await admin.resetOffsets({ groupId: 'rewinders', topic: 'rewind', earliest: true });
    assert.equal(await committed(), '-2');
    const [resolved] = await admin.fetchOffsets({
      groupId: 'rewinders',
      topics: ['rewind'],
      resolveOffsets: true,
    });
    assert.equal(
      resolved!.partitions[0]!.offset,
      '2',
      'earliest is the log start offset (2 after DeleteRecords)',
    );
    assert.equal(await committed(), '2');
    const again = await consume('rewinders', 'rewind', 4, { fromBeginning: false, commitsTo: 6 });
    await stop(again.consumer);
    assert.deepEqual(
      again.seen.map(([, offset]) => offset),
      [2, 3, 4, 5],
      'resumed at the committed offset, not at the latest',
    );

    await admin.setOffsets({
      groupId: 'rewinders',
      topic: 'rewind',
      partitions: [{ partition: 0, offset: '3' }],
    });
    assert.equal(await committed(), '3');
    await admin.resetOffsets({ groupId: 'rewinders', topic: 'rewind', earliest: false });
    assert.equal(await committed(), '-1');
    const latest = kafka.consumer({ groupId: 'rewinders', maxWaitTimeInMs: 50 });
    running.add(latest);
    await latest.connect();
    await latest.subscribe({ topic: 'rewind', fromBeginning: false });
    const seen: Array<[number, string]> = [];
    const received = new Promise<void>((resolve, reject) => {
      latest
        .run({
          eachMessage: async ({ message }) => {
            seen.push([Number(message.offset), message.value!.toString()]);
            resolve();
          },
        })
        .catch(reject);
    });
    // After its first fetch the consumer has resolved where it starts.
    await new Promise<void>((resolve) => latest.on(latest.events.FETCH, () => resolve()));
    await produce('rewind', [{ value: 'after-reset' }]);
    await received;
    assert.deepEqual(seen, [[6, 'after-reset']], 'latest: only records produced afterwards, not 3..5');
    await stop(latest);
  });

  it('deleteGroups: NON_EMPTY_GROUP while a member is in, then deleted with its offsets', async () => {
    await admin.createTopics({ topics: [{ topic: 'doomed', numPartitions: 2 }] });
    await produce(
      'doomed',
      Array.from({ length: 4 }, (_, i) => ({ partition: i % 2, value: `d${i}` })),
    );
    const { consumer } = await consume('doomed-group', 'doomed', 4, { commitsTo: 4 });

    await assert.rejects(admin.deleteGroups(['doomed-group']), (error: kafkajs.KafkaJSDeleteGroupsError) => {
      assert.equal(error.name, 'KafkaJSDeleteGroupsError');
      assert.deepEqual(
        error.groups.map((g) => [g.groupId, g.errorCode, g.error?.type]),
        [['doomed-group', KafkaError.NON_EMPTY_GROUP, 'NON_EMPTY_GROUP']],
      );
      return true;
    });
    assert.equal((await admin.describeGroups(['doomed-group'])).groups[0]!.state, 'Stable');

    await stop(consumer);
    assert.deepEqual(await admin.deleteGroups(['doomed-group']), [{ groupId: 'doomed-group', errorCode: 0 }]);
    const offsets = (await admin.fetchOffsets({ groupId: 'doomed-group', topics: ['doomed'] }))[0]!;
    assert.deepEqual(
      offsets.partitions.map((p) => p.offset),
      ['-1', '-1'],
    );
    assert.equal((await admin.describeGroups(['doomed-group'])).groups[0]!.state, 'Dead');
    assert.ok(!(await admin.listGroups()).groups.some((g) => g.groupId === 'doomed-group'));
    await assert.rejects(admin.deleteGroups(['doomed-group']), (error: kafkajs.KafkaJSDeleteGroupsError) => {
      assert.equal(error.groups[0]!.errorCode, KafkaError.GROUP_ID_NOT_FOUND);
      return true;
    });
  });

  it('a static member (JoinGroup v5 with groupInstanceId) restarts and keeps its assignment without a rebalance', async () => {
    const port = broker.kafka!.port;
    const join = (client: RawKafkaClient, memberId: string) =>
      client.request(API_KEYS.JoinGroup, 5, {
        groupId: 'statics',
        sessionTimeoutMs: 30_000,
        rebalanceTimeoutMs: 30_000,
        memberId,
        groupInstanceId: 'pod-0',
        protocolType: 'consumer',
        protocols: [{ name: 'range', metadata: Buffer.from('subscription') }],
      });
    const sync = (
      client: RawKafkaClient,
      memberId: string,
      generationId: number,
      assignments: KafkaStruct[],
    ) =>
      client.request(API_KEYS.SyncGroup, 3, {
        groupId: 'statics',
        generationId,
        memberId,
        groupInstanceId: 'pod-0',
        assignments,
      });
    const heartbeat = (client: RawKafkaClient, memberId: string, generationId: number) =>
      client.request(API_KEYS.Heartbeat, 3, {
        groupId: 'statics',
        generationId,
        memberId,
        groupInstanceId: 'pod-0',
      });

    const before = await RawKafkaClient.connect(port);
    const joined = await join(before, '');
    assert.equal(joined.errorCode, 0, 'a static member needs no MEMBER_ID_REQUIRED round');
    const oldId = joined.memberId as string;
    assert.equal(joined.leader, oldId);
    const generation = joined.generationId as number;
    const mine = Buffer.from('partitions 0-3');
    assert.deepEqual(
      (await sync(before, oldId, generation, [{ memberId: oldId, assignment: mine }])).assignment,
      mine,
    );
    // The process dies without a LeaveGroup (static members do not send one).
    before.close();
    await before.closed;

    const after = await RawKafkaClient.connect(port);
    const rejoined = await join(after, '');
    assert.equal(rejoined.errorCode, 0);
    const newId = rejoined.memberId as string;
    assert.notEqual(newId, oldId, 'a new member id for the new process');
    assert.equal(rejoined.generationId, generation, 'no rebalance: same generation');
    const resynced = await sync(after, newId, generation, []);
    assert.equal(resynced.errorCode, 0);
    assert.deepEqual(resynced.assignment, mine, 'the assignment it had before the restart');
    assert.equal((await heartbeat(after, newId, generation)).errorCode, 0);
    const [described] = (await admin.describeGroups(['statics'])).groups;
    assert.equal(described!.state, 'Stable');
    assert.deepEqual(
      described!.members.map((m) => m.memberId),
      [newId],
    );

    // The old process, come back as a zombie, is fenced.
    const zombie = await RawKafkaClient.connect(port);
    assert.equal((await heartbeat(zombie, oldId, generation)).errorCode, KafkaError.FENCED_INSTANCE_ID);
    zombie.close();
    after.close();
  });
});
