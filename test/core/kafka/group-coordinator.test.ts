// The group coordinator's classic rebalance protocol on a ManualClock: joins, syncs, heartbeats,
// leaves, session and rebalance timeouts, static membership, and Kafka's error codes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  advance,
  joinAs,
  joinRequest,
  kit,
  memberIdFor,
  protocols,
  REBALANCE_MS,
  SESSION_MS,
  stableSingle,
  syncAs,
  tick,
  track,
} from './group-test-kit.js';

describe('group coordinator: rebalances', () => {
  it('a first member gets MEMBER_ID_REQUIRED, then leads generation 1 alone', async () => {
    const k = kit();
    const first = await k.groups.join(joinRequest());
    assert.equal(first.error, 'MEMBER_ID_REQUIRED');
    assert.equal(first.memberId, 'client-id1');
    assert.equal(first.generationId, -1);
    assert.equal(k.groups.groupState('g'), 'Empty', 'a pending member id does not start a rebalance');

    const join = joinAs(k, first.memberId);
    await tick();
    assert.equal(join.settled, false, 'held for the initial rebalance delay (0 ms, still a timer)');
    assert.equal(k.groups.groupState('g'), 'PreparingRebalance');
    await advance(k, 0);
    assert.deepEqual(
      { ...join.value, members: join.value.members.map((m) => m.memberId) },
      {
        error: 'NONE',
        memberId: 'client-id1',
        generationId: 1,
        protocolType: 'consumer',
        protocolName: 'range',
        leaderId: 'client-id1',
        members: ['client-id1'],
      },
    );
    assert.deepEqual(join.value.members[0]!.metadata, Buffer.from('meta:range'));
    assert.equal(k.groups.groupState('g'), 'CompletingRebalance');

    const sync = syncAs(k, 'client-id1', 1, [{ memberId: 'client-id1', assignment: Buffer.from('p0') }]);
    await tick();
    assert.equal(sync.value.error, 'NONE');
    assert.deepEqual(sync.value.assignment, Buffer.from('p0'));
    assert.equal(k.groups.groupState('g'), 'Stable');
  });

  it('grows 1 → 2 → 3 members: each join rebalances, followers wait for the leader’s assignment', async () => {
    const k = kit();
    const m1 = await stableSingle(k);

    // Member 2 joins: the group prepares a rebalance and m1 learns it from its heartbeat.
    const id2 = await memberIdFor(k);
    const join2 = joinAs(k, id2);
    await tick();
    assert.equal(join2.settled, false);
    assert.equal(k.groups.groupState('g'), 'PreparingRebalance');
    assert.equal(k.groups.heartbeat('g', m1.memberId, null, 1), 'REBALANCE_IN_PROGRESS');
    const rejoin1 = joinAs(k, m1.memberId);
    await tick();
    assert.equal(rejoin1.value.generationId, 2);
    assert.equal(rejoin1.value.leaderId, m1.memberId);
    assert.deepEqual(
      rejoin1.value.members.map((m) => m.memberId),
      [m1.memberId, id2],
    );
    assert.equal(join2.value.generationId, 2);
    assert.equal(join2.value.leaderId, m1.memberId);
    assert.deepEqual(join2.value.members, [], 'only the leader gets the member list');

    const followerSync = syncAs(k, id2, 2);
    await tick();
    assert.equal(followerSync.settled, false, 'the follower waits for the leader');
    const leaderSync = syncAs(k, m1.memberId, 2, [
      { memberId: m1.memberId, assignment: Buffer.from('p0') },
      { memberId: id2, assignment: Buffer.from('p1') },
    ]);
    await tick();
    assert.deepEqual(leaderSync.value.assignment, Buffer.from('p0'));
    assert.deepEqual(followerSync.value.assignment, Buffer.from('p1'));
    assert.equal(k.groups.groupState('g'), 'Stable');

    // Member 3.
    const id3 = await memberIdFor(k);
    const join3 = joinAs(k, id3);
    assert.equal(k.groups.heartbeat('g', id2, null, 2), 'REBALANCE_IN_PROGRESS');
    const r1 = joinAs(k, m1.memberId);
    const r2 = joinAs(k, id2);
    await tick();
    for (const j of [join3, r1, r2]) assert.equal(j.value.generationId, 3);
    assert.equal(r1.value.members.length, 3);
    const s3 = syncAs(k, id3, 3);
    const s2 = syncAs(k, id2, 3);
    const s1 = syncAs(k, m1.memberId, 3, [{ memberId: id3, assignment: Buffer.from('p2') }]);
    await tick();
    assert.deepEqual(s3.value.assignment, Buffer.from('p2'));
    assert.deepEqual(s2.value.assignment, Buffer.alloc(0), 'members the leader left out get nothing');
    assert.deepEqual(s1.value.assignment, Buffer.alloc(0));
    assert.equal(k.groups.describe('g').members.length, 3);
  });

  it('a member leaving makes the others rejoin; the last one leaving empties the group', async () => {
    const k = kit();
    const m1 = await stableSingle(k);
    const id2 = await memberIdFor(k);
    const j2 = joinAs(k, id2);
    const j1 = joinAs(k, m1.memberId);
    await tick();
    syncAs(k, id2, 2);
    syncAs(k, m1.memberId, 2, []);
    await tick();
    assert.equal(j1.value.generationId, 2);
    assert.equal(j2.value.generationId, 2);

    assert.deepEqual(k.groups.leave('g', [{ memberId: id2, groupInstanceId: null }]), {
      error: 'NONE',
      members: [{ memberId: id2, groupInstanceId: null, error: 'NONE' }],
    });
    assert.equal(k.groups.groupState('g'), 'PreparingRebalance');
    assert.equal(k.groups.heartbeat('g', id2, null, 2), 'UNKNOWN_MEMBER_ID');
    const again = joinAs(k, m1.memberId);
    await tick();
    assert.equal(again.value.generationId, 3);
    assert.deepEqual(
      again.value.members.map((m) => m.memberId),
      [m1.memberId],
    );
    syncAs(k, m1.memberId, 3, []);
    await tick();

    k.groups.leave('g', [{ memberId: m1.memberId, groupInstanceId: null }]);
    // The join phase completes at once with nobody: the group is Empty.
    assert.equal(k.groups.groupState('g'), 'Empty');
    assert.deepEqual(k.groups.describe('g').members, []);
    assert.equal(
      k.groups.leave('g', [{ memberId: m1.memberId, groupInstanceId: null }]).members[0]!.error,
      'UNKNOWN_MEMBER_ID',
    );
  });

  it('a member whose session expires is removed and the group rebalances', async () => {
    const k = kit();
    const m1 = await stableSingle(k);
    const id2 = await memberIdFor(k);
    joinAs(k, id2);
    joinAs(k, m1.memberId);
    await tick();
    syncAs(k, id2, 2);
    syncAs(k, m1.memberId, 2, []);
    await tick();
    assert.equal(k.groups.groupState('g'), 'Stable');

    // m1 heartbeats, m2 falls silent.
    await advance(k, SESSION_MS - 1000);
    assert.equal(k.groups.heartbeat('g', m1.memberId, null, 2), 'NONE');
    await advance(k, 999);
    assert.equal(k.groups.groupState('g'), 'Stable', 'not before the session timeout');
    await advance(k, 1);
    assert.equal(k.groups.groupState('g'), 'PreparingRebalance');
    assert.deepEqual(
      k.groups.describe('g').members.map((m) => m.memberId),
      [m1.memberId],
    );
    assert.equal(k.groups.heartbeat('g', id2, null, 2), 'UNKNOWN_MEMBER_ID');
    assert.equal(k.groups.heartbeat('g', m1.memberId, null, 2), 'REBALANCE_IN_PROGRESS');
  });

  it('the rebalance timeout drops members that did not rejoin; the rest get the new generation', async () => {
    const k = kit();
    const m1 = await stableSingle(k);
    const id2 = await memberIdFor(k);
    joinAs(k, id2);
    joinAs(k, m1.memberId);
    await tick();
    syncAs(k, id2, 2);
    syncAs(k, m1.memberId, 2, []);
    await tick();

    const id3 = await memberIdFor(k);
    const j3 = joinAs(k, id3);
    const j1 = joinAs(k, m1.memberId);
    // m2 keeps heartbeating (alive) but never rejoins.
    for (let t = 0; t < REBALANCE_MS - 5000; t += 5000) {
      await advance(k, 5000);
      assert.equal(k.groups.heartbeat('g', id2, null, 2), 'REBALANCE_IN_PROGRESS');
    }
    assert.equal(j1.settled, false);
    await advance(k, 5000);
    assert.equal(j1.value.generationId, 3);
    assert.equal(j3.value.generationId, 3);
    assert.deepEqual(
      j1.value.members.map((m) => m.memberId),
      [m1.memberId, id3],
    );
    assert.equal(k.groups.heartbeat('g', id2, null, 2), 'UNKNOWN_MEMBER_ID');
  });

  it('a member that never sends SyncGroup is dropped after the rebalance timeout', async () => {
    const k = kit();
    const m1 = await stableSingle(k);
    const id2 = await memberIdFor(k);
    joinAs(k, id2);
    joinAs(k, m1.memberId);
    await tick();
    const s1 = syncAs(k, m1.memberId, 2, []);
    await tick();
    assert.equal(s1.value.error, 'NONE');
    assert.equal(k.groups.groupState('g'), 'Stable');
    // Both stay alive by heartbeats; m2 just never syncs.
    for (let t = 0; t < REBALANCE_MS - 5000; t += 5000) {
      await advance(k, 5000);
      assert.equal(k.groups.heartbeat('g', m1.memberId, null, 2), 'NONE');
      assert.equal(k.groups.heartbeat('g', id2, null, 2), 'NONE');
    }
    assert.equal(k.groups.groupState('g'), 'Stable');
    await advance(k, 5000);
    assert.equal(k.groups.groupState('g'), 'PreparingRebalance');
    assert.deepEqual(
      k.groups.describe('g').members.map((m) => m.memberId),
      [m1.memberId],
    );
  });

  it('an unanswered MEMBER_ID_REQUIRED id holds the join phase until its session timeout', async () => {
    const k = kit();
    const m1 = await stableSingle(k);
    const pending = await memberIdFor(k);
    assert.equal(k.groups.groupState('g'), 'Stable');
    const j1 = joinAs(k, m1.memberId); // the leader rejoining forces a rebalance
    await tick();
    assert.equal(j1.settled, false, 'waits for the pending member');
    await advance(k, SESSION_MS);
    assert.equal(j1.value.generationId, 2);
    assert.equal(j1.value.members.length, 1);
    assert.equal(
      k.groups.leave('g', [{ memberId: pending, groupInstanceId: null }]).members[0]!.error,
      'UNKNOWN_MEMBER_ID',
    );
  });

  it('a new member whose JoinGroup waits 5 minutes is dropped (its client will retry)', async () => {
    const k = kit();
    const m1 = await stableSingle(k, { rebalanceTimeoutMs: 600_000 });
    const id2 = await memberIdFor(k);
    const j2 = joinAs(k, id2);
    // m1 stays alive but does not rejoin: the join phase could last 10 minutes.
    for (let t = 0; t < 300_000; t += 5000) {
      assert.equal(j2.settled, false);
      k.groups.heartbeat('g', m1.memberId, null, 1);
      await advance(k, 5000);
    }
    assert.equal(j2.value.error, 'UNKNOWN_MEMBER_ID');
    assert.deepEqual(
      k.groups.describe('g').members.map((m) => m.memberId),
      [m1.memberId],
    );
  });

  it('shutdown answers waiting JoinGroups with COORDINATOR_NOT_AVAILABLE', async () => {
    const k = kit();
    const m1 = await stableSingle(k);
    const id2 = await memberIdFor(k);
    const j2 = joinAs(k, id2);
    await tick();
    k.groups.close();
    await tick();
    assert.equal(j2.value.error, 'COORDINATOR_NOT_AVAILABLE');
    assert.equal(k.groups.heartbeat('g', m1.memberId, null, 1), 'COORDINATOR_NOT_AVAILABLE');
    assert.equal(k.clock.pendingTimers, 0, 'no timer left behind');
  });

  it('the initial rebalance delay gathers members that arrive while it runs', async () => {
    const k = kit({ initialRebalanceDelayMs: 3000 });
    const id1 = await memberIdFor(k);
    const j1 = joinAs(k, id1);
    await advance(k, 2000);
    const id2 = await memberIdFor(k);
    const j2 = joinAs(k, id2);
    await advance(k, 1000);
    assert.equal(j1.settled, false, 'a member arrived during the delay: it is extended');
    await advance(k, 2999);
    assert.equal(j1.settled, false);
    await advance(k, 1);
    assert.equal(j1.value.generationId, 1);
    assert.equal(j2.value.generationId, 1);
    assert.equal(j1.value.members.length, 2);
  });

  it('a follower rejoining with the same metadata in Stable gets the current generation without a rebalance', async () => {
    const k = kit();
    const m1 = await stableSingle(k);
    const id2 = await memberIdFor(k);
    joinAs(k, id2);
    joinAs(k, m1.memberId);
    await tick();
    syncAs(k, id2, 2);
    syncAs(k, m1.memberId, 2, [{ memberId: id2, assignment: Buffer.from('x') }]);
    await tick();
    const again = joinAs(k, id2);
    await tick();
    assert.equal(again.value.generationId, 2);
    assert.equal(k.groups.groupState('g'), 'Stable');
    const changed = joinAs(k, id2, { protocols: protocols('range', 'roundrobin') });
    await tick();
    assert.equal(changed.settled, false, 'new metadata: rebalance');
    assert.equal(k.groups.groupState('g'), 'PreparingRebalance');
  });

  it('selects the protocol all members support with the most first-choice votes', async () => {
    const k = kit({ initialRebalanceDelayMs: 100 });
    const a = await memberIdFor(k, { protocols: protocols('range', 'roundrobin') });
    const b = await memberIdFor(k, { protocols: protocols('range', 'roundrobin') });
    const c = await memberIdFor(k, { protocols: protocols('roundrobin', 'range', 'sticky') });
    const ja = joinAs(k, a, { protocols: protocols('range', 'roundrobin') });
    joinAs(k, b, { protocols: protocols('range', 'roundrobin') });
    joinAs(k, c, { protocols: protocols('roundrobin', 'range', 'sticky') });
    // Members arrived during the first delay: it runs once more.
    await advance(k, 200);
    assert.equal(ja.value.protocolName, 'range');
    assert.deepEqual(
      ja.value.members[2]!.metadata,
      Buffer.from('meta:range'),
      'metadata of the chosen protocol',
    );

    const k2 = kit({ initialRebalanceDelayMs: 100 });
    const x = await memberIdFor(k2, { protocols: protocols('range', 'roundrobin') });
    const y = await memberIdFor(k2, { protocols: protocols('roundrobin') });
    const jx = joinAs(k2, x, { protocols: protocols('range', 'roundrobin') });
    joinAs(k2, y, { protocols: protocols('roundrobin') });
    await advance(k2, 200);
    assert.equal(jx.value.protocolName, 'roundrobin', 'only roundrobin is common to all');
  });
});

describe('group coordinator: static membership (KIP-345)', () => {
  const staticJoin = { groupInstanceId: 'instance-a' };

  it('a static member joins without MEMBER_ID_REQUIRED; restarting, it takes a new id without a rebalance', async () => {
    const k = kit();
    const first = joinAs(k, '', staticJoin);
    await advance(k, 0);
    assert.equal(first.value.error, 'NONE');
    const oldId = first.value.memberId;
    assert.equal(oldId, 'instance-a-id1');
    const sync = track(
      k.groups.sync({
        groupId: 'g',
        generationId: 1,
        memberId: oldId,
        groupInstanceId: 'instance-a',
        protocolType: 'consumer',
        protocolName: 'range',
        assignments: [{ memberId: oldId, assignment: Buffer.from('mine') }],
      }),
    );
    await tick();
    assert.equal(sync.value.error, 'NONE');

    // The process restarts: it has lost its member id but keeps its instance id.
    const rejoin = joinAs(k, '', staticJoin);
    await tick();
    assert.equal(rejoin.settled, true, 'answered at once: no rebalance');
    assert.equal(rejoin.value.error, 'NONE');
    assert.equal(rejoin.value.generationId, 1);
    const newId = rejoin.value.memberId;
    assert.notEqual(newId, oldId);
    assert.equal(rejoin.value.leaderId, oldId, 'the old leader id, so the member does not reassign');
    assert.equal(k.groups.groupState('g'), 'Stable');
    const resync = track(
      k.groups.sync({
        groupId: 'g',
        generationId: 1,
        memberId: newId,
        groupInstanceId: 'instance-a',
        protocolType: null,
        protocolName: null,
        assignments: [],
      }),
    );
    await tick();
    assert.deepEqual(resync.value.assignment, Buffer.from('mine'), 'it keeps its assignment');

    // The old process (a zombie) is fenced.
    assert.equal(k.groups.heartbeat('g', oldId, 'instance-a', 1), 'FENCED_INSTANCE_ID');
    assert.equal(k.groups.heartbeat('g', oldId, null, 1), 'UNKNOWN_MEMBER_ID');
    assert.equal(k.groups.heartbeat('g', newId, 'instance-a', 1), 'NONE');
    assert.equal(
      k.groups.leave('g', [{ memberId: oldId, groupInstanceId: 'instance-a' }]).members[0]!.error,
      'FENCED_INSTANCE_ID',
    );
    const commit = await k.groups.commitOffsets({
      groupId: 'g',
      generationId: 1,
      memberId: oldId,
      groupInstanceId: 'instance-a',
      entries: [
        { topic: 't', partition: 0, offset: 1, leaderEpoch: -1, metadata: '', commitTimestampMs: -1 },
      ],
    });
    assert.deepEqual(commit, ['FENCED_INSTANCE_ID']);
  });

  it('a static member that does not rejoin keeps its place in the next generation', async () => {
    const k2 = kit();
    const s2 = joinAs(k2, '', { ...staticJoin, sessionTimeoutMs: 60_000 });
    await advance(k2, 0);
    const staticId2 = s2.value.memberId;
    syncAs(k2, staticId2, 1, []);
    await tick();
    const dyn = await memberIdFor(k2);
    const jd = joinAs(k2, dyn);
    await advance(k2, REBALANCE_MS);
    assert.equal(jd.value.generationId, 2);
    assert.deepEqual(
      k2.groups.describe('g').members.map((m) => m.memberId),
      [staticId2, dyn],
      'the static member was not removed by the join phase',
    );
    assert.equal(jd.value.leaderId, dyn, 'the leader is a member that rejoined');
  });

  it('a JoinGroup with a stale member id for a known instance id is fenced', async () => {
    const k = kit();
    const s = joinAs(k, '', staticJoin);
    await advance(k, 0);
    const current = s.value.memberId;
    syncAs(k, current, 1, []);
    await tick();
    const zombie = await k.groups.join(
      joinRequest({ memberId: 'instance-a-old', groupInstanceId: 'instance-a' }),
    );
    assert.equal(zombie.error, 'FENCED_INSTANCE_ID');
    const unknown = await k.groups.join(joinRequest({ memberId: 'x', groupInstanceId: 'instance-b' }));
    assert.equal(unknown.error, 'UNKNOWN_MEMBER_ID');
    assert.equal(
      k.groups.heartbeat('g', current, 'instance-a', 1),
      'NONE',
      'the current member is unaffected',
    );
  });

  it('an admin removes a static member by instance id (LeaveGroup with an empty member id)', async () => {
    const k = kit();
    const s = joinAs(k, '', staticJoin);
    await advance(k, 0);
    syncAs(k, s.value.memberId, 1, []);
    await tick();
    const result = k.groups.leave('g', [
      { memberId: '', groupInstanceId: 'instance-a' },
      { memberId: '', groupInstanceId: 'nobody' },
    ]);
    assert.deepEqual(
      result.members.map((m) => m.error),
      ['NONE', 'UNKNOWN_MEMBER_ID'],
    );
    assert.equal(k.groups.groupState('g'), 'Empty');
  });
});

describe('group coordinator: errors', () => {
  it('INVALID_SESSION_TIMEOUT outside [min, max] session timeout', async () => {
    const k = kit({ minSessionTimeoutMs: 6000, maxSessionTimeoutMs: 300_000 });
    assert.equal(
      (await k.groups.join(joinRequest({ sessionTimeoutMs: 5999 }))).error,
      'INVALID_SESSION_TIMEOUT',
    );
    assert.equal(
      (await k.groups.join(joinRequest({ sessionTimeoutMs: 300_001 }))).error,
      'INVALID_SESSION_TIMEOUT',
    );
    assert.equal((await k.groups.join(joinRequest({ sessionTimeoutMs: 6000 }))).error, 'MEMBER_ID_REQUIRED');
    assert.equal(
      (await k.groups.join(joinRequest({ sessionTimeoutMs: 300_000 }))).error,
      'MEMBER_ID_REQUIRED',
    );
  });

  it('INCONSISTENT_GROUP_PROTOCOL for another protocol type or no common protocol', async () => {
    const k = kit();
    await stableSingle(k);
    assert.equal(
      (await k.groups.join(joinRequest({ protocolType: 'connect' }))).error,
      'INCONSISTENT_GROUP_PROTOCOL',
    );
    assert.equal(
      (await k.groups.join(joinRequest({ protocols: protocols('sticky') }))).error,
      'INCONSISTENT_GROUP_PROTOCOL',
    );
    assert.equal((await k.groups.join(joinRequest({ protocols: [] }))).error, 'INCONSISTENT_GROUP_PROTOCOL');
    const k2 = kit();
    assert.equal(
      (await k2.groups.join(joinRequest({ protocolType: '' }))).error,
      'INCONSISTENT_GROUP_PROTOCOL',
    );
  });

  it('UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS, INVALID_GROUP_ID', async () => {
    const k = kit();
    assert.equal(
      (await k.groups.join(joinRequest({ groupId: 'nope', memberId: 'ghost' }))).error,
      'UNKNOWN_MEMBER_ID',
    );
    assert.equal((await k.groups.join(joinRequest({ groupId: '' }))).error, 'INVALID_GROUP_ID');
    assert.equal(k.groups.heartbeat('nope', 'ghost', null, 1), 'UNKNOWN_MEMBER_ID');
    assert.equal(k.groups.heartbeat('', 'ghost', null, 1), 'INVALID_GROUP_ID');
    const m1 = await stableSingle(k);
    assert.equal(k.groups.heartbeat('g', 'ghost', null, 1), 'UNKNOWN_MEMBER_ID');
    assert.equal(k.groups.heartbeat('g', m1.memberId, null, 7), 'ILLEGAL_GENERATION');
    const bad = syncAs(k, m1.memberId, 7);
    const ghost = syncAs(k, 'ghost', 1);
    await tick();
    assert.equal(bad.value.error, 'ILLEGAL_GENERATION');
    assert.equal(ghost.value.error, 'UNKNOWN_MEMBER_ID');
    const wrongProtocol = track(
      k.groups.sync({
        groupId: 'g',
        generationId: 1,
        memberId: m1.memberId,
        groupInstanceId: null,
        protocolType: 'consumer',
        protocolName: 'roundrobin',
        assignments: [],
      }),
    );
    await tick();
    assert.equal(wrongProtocol.value.error, 'INCONSISTENT_GROUP_PROTOCOL');

    const id2 = await memberIdFor(k);
    joinAs(k, id2);
    const during = syncAs(k, m1.memberId, 1);
    await tick();
    assert.equal(during.value.error, 'REBALANCE_IN_PROGRESS');
  });

  it('a SyncGroup waiting when a rebalance starts is answered REBALANCE_IN_PROGRESS', async () => {
    const k = kit();
    const m1 = await stableSingle(k);
    const id2 = await memberIdFor(k);
    joinAs(k, id2);
    joinAs(k, m1.memberId);
    await tick();
    const waiting = syncAs(k, id2, 2);
    await tick();
    assert.equal(waiting.settled, false);
    // A third member arrives before the leader syncs.
    const id3 = await memberIdFor(k);
    joinAs(k, id3);
    await tick();
    assert.equal(waiting.value.error, 'REBALANCE_IN_PROGRESS');
  });

  it('GROUP_MAX_SIZE_REACHED beyond group.max.size', async () => {
    const k = kit({ maxGroupSize: 1 });
    await stableSingle(k);
    const full = await k.groups.join(joinRequest());
    assert.equal(full.error, 'GROUP_MAX_SIZE_REACHED');
    assert.equal(full.memberId, '');
    assert.equal(k.groups.groupState('g'), 'Stable');
  });
});

describe('group coordinator: offset commits', () => {
  const entry = (partition: number, offset: number, metadata = '') => ({
    topic: 't',
    partition,
    offset,
    leaderEpoch: 3,
    metadata,
    commitTimestampMs: -1,
  });

  it('a simple commit (generation -1) creates an Empty group whose offsets OffsetFetch returns', async () => {
    const k = kit();
    const errors = await k.groups.commitOffsets({
      groupId: 'simple',
      generationId: -1,
      memberId: '',
      groupInstanceId: null,
      entries: [entry(0, 42, 'hello'), entry(1, 7)],
    });
    assert.deepEqual(errors, ['NONE', 'NONE']);
    assert.equal(k.groups.groupState('simple'), 'Empty');
    assert.deepEqual(k.groups.fetchOffsets('simple', [{ topic: 't', partitions: [0, 1, 2] }]), [
      {
        topic: 't',
        partitions: [
          { partition: 0, offset: 42, leaderEpoch: 3, metadata: 'hello' },
          { partition: 1, offset: 7, leaderEpoch: 3, metadata: '' },
          { partition: 2, offset: -1, leaderEpoch: -1, metadata: '' },
        ],
      },
    ]);
    assert.equal(k.groups.fetchOffsets('simple', null)[0]!.partitions.length, 2);
    assert.deepEqual(k.groups.fetchOffsets('unknown', null), []);
    assert.deepEqual(k.groups.committedOffsets(), [
      { groupId: 'simple', topic: 't', partition: 0, offset: 42 },
      { groupId: 'simple', topic: 't', partition: 1, offset: 7 },
    ]);
    assert.equal(k.offsets.get('simple', 't', 0)!.commitTimestampMs, k.clock.now());
  });

  it('checks the committer against the group: generation, membership, rebalance', async () => {
    const k = kit();
    const commit = (generationId: number, memberId: string, groupId = 'g') =>
      k.groups.commitOffsets({
        groupId,
        generationId,
        memberId,
        groupInstanceId: null,
        entries: [entry(0, 1)],
      });
    assert.deepEqual(await commit(3, 'm', 'missing'), ['ILLEGAL_GENERATION']);
    const m1 = await stableSingle(k);
    assert.deepEqual(await commit(1, m1.memberId), ['NONE']);
    assert.deepEqual(await commit(2, m1.memberId), ['ILLEGAL_GENERATION']);
    assert.deepEqual(await commit(1, 'ghost'), ['UNKNOWN_MEMBER_ID']);
    assert.deepEqual(
      await commit(-1, ''),
      ['UNKNOWN_MEMBER_ID'],
      'only members commit to a group with members',
    );

    const id2 = await memberIdFor(k);
    joinAs(k, id2);
    assert.deepEqual(await commit(1, m1.memberId), ['NONE'], 'allowed while preparing a rebalance');
    joinAs(k, m1.memberId);
    await tick();
    assert.equal(k.groups.groupState('g'), 'CompletingRebalance');
    assert.deepEqual(await commit(2, m1.memberId), ['REBALANCE_IN_PROGRESS']);
  });

  it('OFFSET_METADATA_TOO_LARGE past offset.metadata.max.bytes; other partitions are stored', async () => {
    const k = kit({ offsetMetadataMaxBytes: 10 });
    const errors = await k.groups.commitOffsets({
      groupId: 's',
      generationId: -1,
      memberId: '',
      groupInstanceId: null,
      entries: [entry(0, 5, 'x'.repeat(11)), entry(1, 6, 'x'.repeat(10))],
    });
    assert.deepEqual(errors, ['OFFSET_METADATA_TOO_LARGE', 'NONE']);
    assert.equal(k.offsets.get('s', 't', 0), undefined);
    assert.equal(k.offsets.get('s', 't', 1)!.offset, 6);
  });

  it('a deleted topic’s offsets go from every group', async () => {
    const k = kit();
    for (const groupId of ['a', 'b'])
      await k.groups.commitOffsets({
        groupId,
        generationId: -1,
        memberId: '',
        groupInstanceId: null,
        entries: [entry(0, 1), { ...entry(0, 2), topic: 'other' }],
      });
    await k.groups.deleteTopicOffsets('t');
    assert.deepEqual(
      k.groups.committedOffsets().map((r) => `${r.groupId}/${r.topic}`),
      ['a/other', 'b/other'],
    );
  });
});

describe('group coordinator: describe, list, delete, expiry', () => {
  it('describes members with metadata and assignment once Stable; lists with a states filter', async () => {
    const k = kit();
    const m1 = await stableSingle(k);
    const d = k.groups.describe('g');
    assert.equal(d.state, 'Stable');
    assert.equal(d.protocolType, 'consumer');
    assert.equal(d.protocolName, 'range');
    assert.deepEqual(d.members, [
      {
        memberId: m1.memberId,
        groupInstanceId: null,
        clientId: 'client',
        clientHost: '/127.0.0.1',
        metadata: Buffer.from('meta:range'),
        assignment: Buffer.from(`a:${m1.memberId}`),
      },
    ]);
    assert.deepEqual(k.groups.describe('nope'), {
      groupId: 'nope',
      error: 'NONE',
      state: 'Dead',
      protocolType: '',
      protocolName: '',
      members: [],
    });
    await k.groups.commitOffsets({
      groupId: 'simple',
      generationId: -1,
      memberId: '',
      groupInstanceId: null,
      entries: [
        { topic: 't', partition: 0, offset: 1, leaderEpoch: -1, metadata: '', commitTimestampMs: -1 },
      ],
    });
    assert.deepEqual(k.groups.list(), [
      { groupId: 'g', protocolType: 'consumer', state: 'Stable' },
      { groupId: 'simple', protocolType: '', state: 'Empty' },
    ]);
    assert.deepEqual(
      k.groups.list(['empty']).map((g) => g.groupId),
      ['simple'],
    );
    assert.deepEqual(
      k.groups.list(['STABLE', 'Dead']).map((g) => g.groupId),
      ['g'],
    );

    // While rebalancing, members are listed without metadata or assignment.
    const id2 = await memberIdFor(k);
    joinAs(k, id2);
    const preparing = k.groups.describe('g');
    assert.equal(preparing.state, 'PreparingRebalance');
    assert.equal(preparing.protocolName, '');
    assert.deepEqual(preparing.members[0]!.assignment, Buffer.alloc(0));
  });

  it('deletes only empty groups, with their offsets: NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND', async () => {
    const k = kit();
    await stableSingle(k);
    await k.groups.commitOffsets({
      groupId: 'simple',
      generationId: -1,
      memberId: '',
      groupInstanceId: null,
      entries: [
        { topic: 't', partition: 0, offset: 1, leaderEpoch: -1, metadata: '', commitTimestampMs: -1 },
      ],
    });
    assert.deepEqual(await k.groups.deleteGroups(['g', 'simple', 'nope', 'simple']), [
      { groupId: 'g', error: 'NON_EMPTY_GROUP' },
      { groupId: 'simple', error: 'NONE' },
      { groupId: 'nope', error: 'GROUP_ID_NOT_FOUND' },
    ]);
    assert.equal(k.offsets.group('simple'), undefined);
    assert.equal(k.groups.describe('simple').state, 'Dead');
    assert.deepEqual(await k.groups.deleteGroups(['simple']), [
      { groupId: 'simple', error: 'GROUP_ID_NOT_FOUND' },
    ]);
  });

  it('expires an empty group’s offsets after the retention time, and forgets empty groups without offsets', async () => {
    const k = kit({ offsetsRetentionMs: 60_000, offsetsRetentionCheckIntervalMs: 10_000 });
    const m1 = await stableSingle(k);
    await k.groups.commitOffsets({
      groupId: 'g',
      generationId: 1,
      memberId: m1.memberId,
      groupInstanceId: null,
      entries: [
        { topic: 't', partition: 0, offset: 1, leaderEpoch: -1, metadata: '', commitTimestampMs: -1 },
      ],
    });
    // A commit with no entries still creates the (simple) group, which has no offsets.
    await k.groups.commitOffsets({
      groupId: 'simple',
      generationId: -1,
      memberId: '',
      groupInstanceId: null,
      entries: [],
    });
    assert.equal(k.groups.groupState('simple'), 'Empty');
    k.groups.leave('g', [{ memberId: m1.memberId, groupInstanceId: null }]);
    assert.equal(k.groups.groupState('g'), 'Empty');
    await advance(k, 10_000);
    assert.equal(k.groups.groupState('simple'), undefined, 'no offsets: forgotten at the first check');
    await advance(k, 40_000);
    assert.equal(k.groups.groupState('g'), 'Empty', 'not yet: empty for 50 s');
    await advance(k, 10_000);
    assert.equal(k.groups.groupState('g'), undefined);
    assert.equal(k.offsets.group('g'), undefined);
  });
});
