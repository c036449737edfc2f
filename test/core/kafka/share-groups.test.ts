// The share group coordinator on a manual clock: member epochs, fencing, session expiry, partitions
// split between members (share-assignor.ts), assignments resent when partitions are added, share.auto.offset.reset.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ShareGroupCoordinator } from '../../../src/core/kafka/share-groups.js';
import { MemoryShareStateStore } from '../../../src/core/kafka/share-state.js';
import type { Topic } from '../../../src/core/kafka/topic.js';
import { ManualClock } from '../../../src/core/manual-clock.js';

function fakeTopic(name: string, partitions: number, highWatermark = 10): Topic {
  return {
    name,
    id: Buffer.alloc(16, name.length),
    partitions: Array.from({ length: partitions }, (_, index) => ({
      index,
      logStartOffset: 2,
      highWatermark,
    })),
  } as unknown as Topic;
}

function setUp() {
  const clock = new ManualClock();
  const topics = new Map<string, Topic>([['orders', fakeTopic('orders', 2)]]);
  const store = new MemoryShareStateStore();
  const shares = new ShareGroupCoordinator({
    clock,
    store,
    topics: {
      get: (name) => topics.get(name),
      getById: () => undefined,
      classicGroupExists: (id) => id === 'classic',
    },
  });
  const join = (memberId = '') =>
    shares.heartbeat({
      groupId: 'g',
      memberId,
      memberEpoch: 0,
      rackId: null,
      subscribedTopicNames: ['orders'],
      clientId: 'c',
      clientHost: '/127.0.0.1',
    });
  const beat = (memberId: string, memberEpoch: number) =>
    shares.heartbeat({
      groupId: 'g',
      memberId,
      memberEpoch,
      rackId: null,
      subscribedTopicNames: null,
      clientId: 'c',
      clientHost: '/127.0.0.1',
    });
  return { clock, topics, store, shares, join, beat };
}

describe('ShareGroupCoordinator', () => {
  it("splits the partitions between members as Kafka's simple assignor; epochs move with membership", () => {
    const { join, beat } = setUp();
    const a = join();
    assert.equal(a.error, 'NONE');
    assert.ok(a.memberId);
    assert.equal(a.memberEpoch, 1);
    assert.deepEqual(
      a.assignment?.map((t) => [t.topicName, t.partitions]),
      [['orders', [0, 1]]],
    );
    const b = join();
    assert.equal(b.memberEpoch, 2);
    assert.deepEqual(
      b.assignment?.map((t) => t.partitions),
      [[1]],
      'the newcomer takes one partition from a',
    );
    // a catches up to the group epoch and is told its smaller assignment.
    const again = beat(a.memberId!, 1);
    assert.equal(again.memberEpoch, 2);
    assert.deepEqual(
      again.assignment?.map((t) => t.partitions),
      [[0]],
    );
    assert.equal(beat(a.memberId!, 2).assignment, null, 'unchanged: not sent again');
    assert.equal(beat(a.memberId!, 1).error, 'FENCED_MEMBER_EPOCH');
    assert.equal(beat('stranger', 2).error, 'UNKNOWN_MEMBER_ID');
    assert.equal(beat(a.memberId!, -1).memberEpoch, -1);
    assert.equal(beat(a.memberId!, 3).error, 'UNKNOWN_MEMBER_ID');
    // b, alone now, gets both partitions with the next epoch.
    const alone = beat(b.memberId!, 2);
    assert.equal(alone.memberEpoch, 3);
    assert.deepEqual(
      alone.assignment?.map((t) => t.partitions),
      [[0, 1]],
    );
  });

  it('resends the assignment when a subscribed topic gains partitions', () => {
    const { join, beat, topics } = setUp();
    const a = join();
    topics.set('orders', fakeTopic('orders', 3));
    const next = beat(a.memberId!, a.memberEpoch);
    assert.equal(next.memberEpoch, a.memberEpoch + 1);
    assert.deepEqual(
      next.assignment?.map((t) => t.partitions),
      [[0, 1, 2]],
    );
  });

  it('removes a member not heard from within share.session.timeout.ms (45 s)', () => {
    const { clock, join, beat, shares } = setUp();
    const a = join();
    clock.advance(44_999);
    assert.equal(beat(a.memberId!, a.memberEpoch).error, 'NONE');
    clock.advance(45_000);
    assert.equal(shares.describe('g').state, 'Empty');
    assert.equal(beat(a.memberId!, a.memberEpoch).error, 'UNKNOWN_MEMBER_ID');
  });

  it('refuses bad first heartbeats and a classic group id, as Kafka', () => {
    const { shares } = setUp();
    const base = { groupId: 'g', memberId: '', rackId: null, clientId: 'c', clientHost: '/h' };
    assert.equal(
      shares.heartbeat({ ...base, memberEpoch: 0, subscribedTopicNames: null }).error,
      'INVALID_REQUEST',
    );
    assert.equal(
      shares.heartbeat({ ...base, memberEpoch: 4, subscribedTopicNames: null }).error,
      'INVALID_REQUEST',
    );
    assert.equal(
      shares.heartbeat({ ...base, memberEpoch: -2, subscribedTopicNames: ['x'] }).error,
      'INVALID_REQUEST',
    );
    assert.equal(
      shares.heartbeat({ ...base, groupId: 'classic', memberEpoch: 0, subscribedTopicNames: ['x'] }).error,
      'GROUP_ID_NOT_FOUND',
    );
  });

  it('starts a new share-partition at the high watermark (latest) or the log start (earliest)', async () => {
    const { shares, topics, store } = setUp();
    const orders = topics.get('orders')!;
    assert.equal(shares.partition('g', orders, 0).startOffset, 10);
    await shares.setGroupConfigs('h', { 'share.auto.offset.reset': 'earliest' });
    assert.equal(shares.partition('h', orders, 0).startOffset, 2);
    assert.equal(store.partitions.size, 2);
    assert.ok(shares.isShareGroup('h'));
    assert.equal(
      shares.validateGroupConfigs({ 'share.auto.offset.reset': 'sometimes' })?.includes('latest'),
      true,
    );
  });
});
