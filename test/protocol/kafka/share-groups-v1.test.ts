// The share APIs at v1, as Kafka 4.1's KafkaShareConsumer speaks them (no Java client here: the
// hand-written share consumer in share-consumer.ts at version 1, over a real socket), next to v0
// members of the same group as a Kafka 4.0 client would be.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { API_KEYS } from '../../../src/protocol/kafka/codec/index.js';
import { ACCEPT, ackAll, RELEASE, ShareConsumer } from './share-consumer.js';
import { shareSuite, values } from './share-test-kit.js';

describe('share groups at v1 (Kafka 4.1)', () => {
  const suite = shareSuite('sharev1');
  const { setUp } = suite;

  it('ShareGroupHeartbeat v1 keeps the member id the client chose, and refuses an empty one', async () => {
    const { topic, group } = await setUp(0);
    const memberId = randomUUID();
    const joined = await suite.admin.send(API_KEYS.ShareGroupHeartbeat, 1, {
      groupId: group,
      memberId,
      memberEpoch: 0,
      rackId: null,
      subscribedTopicNames: [topic],
    });
    assert.equal(joined.errorCode, 0, joined.errorMessage ?? '');
    assert.equal(joined.memberId, memberId);
    assert.equal(joined.memberEpoch, 1);
    assert.equal(joined.assignment?.topicPartitions[0]?.partitions.join(), '0');
    const empty = await suite.admin.send(API_KEYS.ShareGroupHeartbeat, 1, {
      groupId: group,
      memberId: '',
      memberEpoch: 0,
      rackId: null,
      subscribedTopicNames: [topic],
    });
    assert.deepEqual([empty.errorCode, empty.errorMessage], [42, "MemberId can't be empty."]);
    const left = await suite.admin.send(API_KEYS.ShareGroupHeartbeat, 1, {
      groupId: group,
      memberId,
      memberEpoch: -1,
      rackId: null,
      subscribedTopicNames: null,
    });
    assert.deepEqual([left.errorCode, left.memberEpoch], [0, -1]);
  });

  it('ShareFetch v1: AcquisitionLockTimeoutMs is the group lock duration; MaxRecords caps the whole request', async () => {
    const { topic, group } = await setUp(10, { 'share.record.lock.duration.ms': '15000' });
    const a = await ShareConsumer.join(suite.broker.host, suite.broker.port, group, [topic], { version: 1 });
    const first = await a.fetch([], { maxRecords: 4 });
    assert.equal(first.response.errorCode, 0);
    assert.equal(first.response.acquisitionLockTimeoutMs, 15_000);
    assert.deepEqual(values(first.records), ['v0', 'v1', 'v2', 'v3']);
    assert.deepEqual(
      first.response.responses[0]!.partitions[0]!.acquiredRecords.map((r) => [
        Number(r.firstOffset),
        Number(r.lastOffset),
        r.deliveryCount,
      ]),
      [[0, 3, 1]],
    );
    // Acknowledgements piggy-backed on the next v1 fetch; the rest comes in the cap's steps.
    const second = await a.fetch(ackAll(first.records, ACCEPT), { maxRecords: 4 });
    assert.equal(second.response.responses[0]!.partitions[0]!.acknowledgeErrorCode, 0);
    assert.deepEqual(values(second.records), ['v4', 'v5', 'v6', 'v7']);
    const third = await a.fetch(ackAll(second.records, ACCEPT));
    assert.deepEqual(values(third.records), ['v8', 'v9']);
    // ShareAcknowledge v1 releases one; the session closed with epoch -1 (v1) answers cleanly.
    const ack = await a.acknowledge([
      ...ackAll([third.records[0]!], ACCEPT),
      ...ackAll([third.records[1]!], RELEASE),
    ]);
    assert.deepEqual([ack.errorCode, ack.responses[0]!.partitions[0]!.errorCode], [0, 0]);
    const again = await a.fetch();
    assert.deepEqual(
      again.records.map((r) => [r.value, r.deliveryCount]),
      [['v9', 2]],
    );
    const closing = await a.acknowledge(ackAll(again.records, ACCEPT), -1);
    assert.deepEqual([closing.errorCode, closing.responses[0]!.partitions[0]!.errorCode], [0, 0]);
    await a.heartbeat(-1);
    a.client.close();
  });

  it('a v0 member (Kafka 4.0) and a v1 member (Kafka 4.1) share one group and split its records', async () => {
    const { topic, group } = await setUp(6);
    const old = await ShareConsumer.join(suite.broker.host, suite.broker.port, group, [topic], {
      version: 0,
    });
    const current = await ShareConsumer.join(suite.broker.host, suite.broker.port, group, [topic], {
      version: 1,
    });
    const fromOld = await old.fetch([], { maxRecords: 3 }); // v0 ignores MaxRecords: it takes all 6
    assert.deepEqual(values(fromOld.records), ['v0', 'v1', 'v2', 'v3', 'v4', 'v5']);
    assert.deepEqual((await current.fetch()).records, []);
    // The v0 member releases three; the v1 member gets them, redelivered.
    await old.acknowledge([
      ...ackAll(fromOld.records.slice(0, 3), RELEASE),
      ...ackAll(fromOld.records.slice(3), ACCEPT),
    ]);
    const redelivered = await current.fetch([], { maxWaitMs: 5000 });
    assert.deepEqual(
      redelivered.records.map((r) => [r.value, r.deliveryCount]),
      [
        ['v0', 2],
        ['v1', 2],
        ['v2', 2],
      ],
    );
    const described = await suite.admin.send(API_KEYS.ShareGroupDescribe, 1, {
      groupIds: [group],
      includeAuthorizedOperations: false,
    });
    assert.deepEqual(
      described.groups[0]!.members.map((m) => m.memberId).sort(),
      [old.memberId, current.memberId].sort(),
    );
    await current.acknowledge(ackAll(redelivered.records, ACCEPT));
    await old.close();
    await current.close();
  });

  it('the ShareFetch v1 that closes the session (epoch -1) only acknowledges', async () => {
    const { topic, group } = await setUp(2);
    const a = await ShareConsumer.join(suite.broker.host, suite.broker.port, group, [topic], { version: 1 });
    const got = await a.fetch();
    assert.equal(got.records.length, 2);
    const closing = await a.fetch(ackAll(got.records, ACCEPT), { epoch: -1 });
    assert.equal(closing.response.errorCode, 0);
    assert.equal(closing.response.responses[0]!.partitions[0]!.acknowledgeErrorCode, 0);
    assert.deepEqual(closing.records, []);
    // The session is gone; a new one finds nothing left (both were accepted).
    a.sessionEpoch = 0;
    assert.deepEqual((await a.fetch()).records, []);
    await a.close();
  });
});
