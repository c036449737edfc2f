// Queue depth and consumer lag (core/kafka/monitoring.ts) over a topic registry on memory stores
// and a group coordinator on a ManualClock: exact numbers for every edge a dashboard would show.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeConsumerAssignment } from '../../../src/core/kafka/consumer-assignment.js';
import { groupLag, groupLags, topicDepths } from '../../../src/core/kafka/monitoring.js';
import { advance, joinAs, kit, memberIdFor, syncAs, tick } from './group-test-kit.js';
import { TopicHarness } from './topic-harness.js';

/** Appends `batches` batches of `records` records to a partition; durable only after h.fsync(). */
function produce(h: TopicHarness, topic: string, partition: number, batches: number, records: number): void {
  const log = h.registry.get(topic)!.partitions[partition]!;
  for (let i = 0; i < batches; i++) log.append(Buffer.alloc(100, i), records, h.clock.now());
}

/** Kafka's ConsumerProtocolAssignment v0: i16 version, [topic, [i32 partition]], user data. */
function consumerAssignment(topics: Record<string, number[]>): Buffer {
  const parts: Buffer[] = [Buffer.from([0, 0])];
  const int32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    return b;
  };
  parts.push(int32(Object.keys(topics).length));
  for (const [topic, partitions] of Object.entries(topics)) {
    const name = Buffer.from(topic);
    parts.push(Buffer.from([name.length >> 8, name.length & 0xff]), name, int32(partitions.length));
    for (const p of partitions) parts.push(int32(p));
  }
  parts.push(int32(-1)); // null user data
  return Buffer.concat(parts);
}

/** A commit outside group management (generation -1), as an admin's setOffsets does. */
async function commit(
  groups: ReturnType<typeof kit>['groups'],
  groupId: string,
  topic: string,
  offsets: Record<number, number>,
) {
  const errors = await groups.commitOffsets({
    groupId,
    generationId: -1,
    memberId: '',
    groupInstanceId: null,
    entries: Object.entries(offsets).map(([partition, offset]) => ({
      topic,
      partition: Number(partition),
      offset,
      leaderEpoch: -1,
      metadata: '',
      commitTimestampMs: -1,
    })),
  });
  assert.ok(
    errors.every((e) => e === 'NONE'),
    `commit failed: ${errors}`,
  );
}

describe('topic depth', () => {
  it('counts readable records per partition: durable only, from the log start offset', () => {
    const h = new TopicHarness();
    h.registry.create('orders', 2, []);
    h.registry.create('audit', 1, []);
    produce(h, 'orders', 0, 3, 10);
    produce(h, 'orders', 1, 1, 4);
    h.fsync();
    produce(h, 'orders', 1, 1, 6); // not durable yet: past the high watermark
    h.registry.get('orders')!.partitions[0]!.deleteRecordsBefore(12);

    const depths = topicDepths(h.registry);
    assert.deepEqual(
      depths.map((t) => t.name),
      ['audit', 'orders'],
    );
    const orders = depths[1]!;
    assert.deepEqual(
      orders.partitions.map((p) => [p.partition, p.logStartOffset, p.highWatermark, p.records]),
      [
        [0, 12, 30, 18],
        [1, 0, 4, 4],
      ],
    );
    assert.equal(orders.records, 22);
    const streamBytes = h.registry.get('orders')!.partitions.map((p) => p.stream.sizeBytes);
    assert.ok(streamBytes[0]! >= 300 && streamBytes[1]! >= 200, 'every stored batch counts in bytes');
    assert.deepEqual(
      orders.partitions.map((p) => p.sizeBytes),
      streamBytes,
    );
    assert.equal(orders.sizeBytes, streamBytes[0]! + streamBytes[1]!);
    assert.deepEqual(depths[0], {
      name: 'audit',
      records: 0,
      sizeBytes: 0,
      partitions: depths[0]!.partitions,
    });
    assert.equal(depths[0]!.partitions[0]!.records, 0);
  });
});

describe('consumer lag', () => {
  it('is high watermark − committed; partitions never committed count from the log start, flagged', async () => {
    const h = new TopicHarness();
    const k = kit();
    h.registry.create('orders', 4, []);
    produce(h, 'orders', 0, 1, 50);
    produce(h, 'orders', 1, 1, 20);
    produce(h, 'orders', 2, 1, 7);
    produce(h, 'orders', 3, 1, 9);
    h.fsync();
    h.registry.get('orders')!.partitions[3]!.deleteRecordsBefore(5);
    // p0 partly read, p1 committed past the end (lag 0, never negative), p2 never committed,
    // p3 committed below the log start offset (deleted records are not lag).
    await commit(k.groups, 'billing', 'orders', { 0: 30, 1: 25, 3: 2 });

    const lag = groupLag(k.groups, h.registry, 'billing')!;
    assert.deepEqual(
      lag.partitions.map((p) => [p.partition, p.committedOffset, p.logStartOffset, p.highWatermark, p.lag]),
      [
        [0, 30, 0, 50, 20],
        [1, 25, 0, 20, 0],
        [2, null, 0, 7, 7],
        [3, 2, 5, 9, 4],
      ],
    );
    assert.deepEqual(
      { state: lag.state, members: lag.memberCount, protocolType: lag.protocolType, lag: lag.lag },
      { state: 'Empty', members: 0, protocolType: '', lag: 31 },
    );
    assert.ok(lag.partitions.every((p) => p.memberId === null));

    produce(h, 'orders', 0, 1, 5);
    h.fsync();
    assert.equal(groupLag(k.groups, h.registry, 'billing')!.lag, 36, 'new records raise the lag at once');
    assert.equal(groupLag(k.groups, h.registry, 'nobody'), undefined);
  });

  it('lists every group by id with its total lag', async () => {
    const h = new TopicHarness();
    const k = kit();
    h.registry.create('a', 1, []);
    h.registry.create('b', 1, []);
    produce(h, 'a', 0, 1, 10);
    produce(h, 'b', 0, 1, 3);
    h.fsync();
    await commit(k.groups, 'zeta', 'a', { 0: 10 });
    await commit(k.groups, 'alpha', 'a', { 0: 4 });
    await commit(k.groups, 'alpha', 'b', { 0: 0 });
    assert.deepEqual(
      groupLags(k.groups, h.registry).map((g) => [g.groupId, g.lag, g.partitions.length]),
      [
        ['alpha', 9, 2],
        ['zeta', 0, 1],
      ],
    );
  });

  it('shows which member reads each partition of a Stable consumer group, committed or not', async () => {
    const h = new TopicHarness();
    const k = kit();
    h.registry.create('events', 2, []);
    h.registry.create('clicks', 1, []);
    produce(h, 'events', 0, 1, 8);
    produce(h, 'events', 1, 1, 3);
    produce(h, 'clicks', 0, 1, 2);
    h.fsync();

    const id = await memberIdFor(k, { clientId: 'worker-1', clientHost: '/10.0.0.7' });
    const join = joinAs(k, id, { clientId: 'worker-1', clientHost: '/10.0.0.7' });
    await advance(k, 0);
    const assignment = consumerAssignment({ events: [0, 1], clicks: [0] });
    syncAs(k, id, join.value.generationId, [{ memberId: id, assignment }]);
    await tick();
    await k.groups.commitOffsets({
      groupId: 'g',
      generationId: join.value.generationId,
      memberId: id,
      groupInstanceId: null,
      entries: [
        { topic: 'events', partition: 0, offset: 6, leaderEpoch: -1, metadata: '', commitTimestampMs: -1 },
      ],
    });

    const lag = groupLag(k.groups, h.registry, 'g')!;
    assert.deepEqual(
      { state: lag.state, members: lag.memberCount, protocol: lag.protocol, lag: lag.lag },
      { state: 'Stable', members: 1, protocol: 'range', lag: 7 },
    );
    assert.deepEqual(
      lag.partitions.map((p) => [p.topic, p.partition, p.committedOffset, p.lag, p.memberId, p.clientId]),
      [
        ['clicks', 0, null, 2, id, 'worker-1'],
        ['events', 0, 6, 2, id, 'worker-1'],
        ['events', 1, null, 3, id, 'worker-1'],
      ],
    );
    assert.equal(lag.partitions[0]!.clientHost, '/10.0.0.7');
  });

  it('a committed partition of a deleted topic has no high watermark and no lag', async () => {
    const h = new TopicHarness();
    const k = kit();
    h.registry.create('gone', 1, []);
    await commit(k.groups, 'g', 'gone', { 0: 3 });
    h.registry.delete('gone'); // the broker also drops the offsets; monitoring must not depend on it
    const lag = groupLag(k.groups, h.registry, 'g')!;
    assert.deepEqual(lag.partitions, [
      {
        topic: 'gone',
        partition: 0,
        committedOffset: 3,
        logStartOffset: null,
        highWatermark: null,
        lag: null,
        memberId: null,
        clientId: null,
        clientHost: null,
      },
    ]);
    assert.equal(lag.lag, 0);
  });
});

describe('consumer protocol assignment', () => {
  it('reads topics and partitions, and refuses truncated or foreign bytes', () => {
    const bytes = consumerAssignment({ events: [0, 2], clicks: [1] });
    assert.deepEqual(decodeConsumerAssignment(bytes), [
      { topic: 'events', partitions: [0, 2] },
      { topic: 'clicks', partitions: [1] },
    ]);
    for (let end = 0; end < bytes.length - 4; end++)
      assert.equal(decodeConsumerAssignment(bytes.subarray(0, end)), undefined, `cut at ${end}`);
    assert.equal(decodeConsumerAssignment(Buffer.from('events-0,1')), undefined);
    assert.equal(decodeConsumerAssignment(Buffer.from([0, 0, 0x7f, 0xff, 0xff, 0xff])), undefined);
  });
});
