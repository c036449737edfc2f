// The group API handlers called directly, each request and response going through the codec at
// the version under test: FindCoordinator, JoinGroup/SyncGroup/Heartbeat/LeaveGroup,
// OffsetCommit/OffsetFetch, DescribeGroups/ListGroups/DeleteGroups.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GroupCoordinator } from '../../../src/core/kafka/group-coordinator.js';
import { MemoryGroupOffsetStore } from '../../../src/core/kafka/group-offsets.js';
import { ManualClock } from '../../../src/core/manual-clock.js';
import { findCoordinatorApis } from '../../../src/protocol/kafka/apis/find-coordinator.js';
import { groupAdminApis } from '../../../src/protocol/kafka/apis/group-admin.js';
import { groupApis } from '../../../src/protocol/kafka/apis/groups.js';
import { offsetApis } from '../../../src/protocol/kafka/apis/offsets.js';
import type { KafkaCluster } from '../../../src/protocol/kafka/cluster.js';
import {
  API_KEYS,
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  type KafkaStruct,
} from '../../../src/protocol/kafka/codec/index.js';
import { KafkaError } from '../../../src/protocol/kafka/error-codes.js';
import { type KafkaApi, type KafkaSession, NO_RESPONSE } from '../../../src/protocol/kafka/kafka-api.js';

const cluster: KafkaCluster = {
  nodeId: 0,
  clusterId: 'c',
  advertisedHost: 'localhost',
  advertisedPort: 19092,
};

const session: KafkaSession = {
  id: 1,
  remoteAddress: '127.0.0.1',
  principal: undefined,
  closed: false,
  onClose() {},
  close() {},
};

function setup() {
  const clock = new ManualClock();
  const groups = new GroupCoordinator({
    clock,
    offsets: new MemoryGroupOffsetStore(),
    config: { initialRebalanceDelayMs: 0 },
  });
  const topics = new Map([['orders', 2]]);
  const apis = [
    ...findCoordinatorApis({ cluster }),
    ...groupApis({ groups }),
    ...offsetApis({ groups, partitionExists: (t, p) => p >= 0 && p < (topics.get(t) ?? 0) }),
    ...groupAdminApis({ groups }),
  ];
  const byKey = new Map<number, KafkaApi>(apis.map((a) => [a.apiKey, a]));
  let correlationId = 0;
  /** Sends `body` as a request of `apiKey`/`version` through the codec; returns the decoded response. */
  async function call(apiKey: number, version: number, body: KafkaStruct): Promise<KafkaStruct> {
    const frame = encodeRequest(
      { apiKey, apiVersion: version, correlationId: ++correlationId, clientId: 'app' },
      body,
    );
    const request = decodeRequest(frame.subarray(4));
    const api = byKey.get(apiKey)!;
    assert.ok(version >= api.minVersion && version <= api.maxVersion, `version ${version} is advertised`);
    const answer = await api.handle({ header: request.header, body: request.body, session });
    assert.notEqual(answer, NO_RESPONSE);
    const encoded = encodeResponse(apiKey, version, request.header.correlationId, answer as KafkaStruct);
    return decodeResponse(apiKey, version, encoded.subarray(4)).body;
  }
  return { clock, groups, call };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
const consumerProtocols = [{ name: 'range', metadata: Buffer.from([0, 1, 2]) }];

describe('FindCoordinator', () => {
  it('answers this node for groups at v0-3, and per key at v4', async () => {
    const { call } = setup();
    for (const version of [0, 1, 2, 3]) {
      const r = await call(API_KEYS.FindCoordinator, version, { key: 'g', keyType: 0 });
      assert.equal(r.errorCode, 0);
      assert.equal(r.nodeId, 0);
      assert.equal(r.host, 'localhost');
      assert.equal(r.port, 19092);
    }
    const r4 = await call(API_KEYS.FindCoordinator, 4, { keyType: 0, coordinatorKeys: ['a', 'b'] });
    assert.deepEqual(
      (r4.coordinators as KafkaStruct[]).map((c) => [c.key, c.nodeId, c.host, c.port, c.errorCode]),
      [
        ['a', 0, 'localhost', 19092, 0],
        ['b', 0, 'localhost', 19092, 0],
      ],
    );
  });

  it('answers transaction coordinator lookups with this node, refuses unknown key types', async () => {
    const { call } = setup();
    const r = await call(API_KEYS.FindCoordinator, 2, { key: 'tx-1', keyType: 1 });
    assert.equal(r.errorCode, KafkaError.NONE);
    assert.equal(r.nodeId, 0);
    const r4 = await call(API_KEYS.FindCoordinator, 4, { keyType: 1, coordinatorKeys: ['tx-1'] });
    assert.equal((r4.coordinators as KafkaStruct[])[0]!.errorCode, KafkaError.NONE);
    const unknown = await call(API_KEYS.FindCoordinator, 2, { key: 'x', keyType: 7 });
    assert.equal(unknown.errorCode, KafkaError.INVALID_REQUEST);
  });
});

describe('JoinGroup, SyncGroup, Heartbeat, LeaveGroup', () => {
  it('runs a one-member group at the versions kafkajs uses (Join 5, Sync 3, Heartbeat 3, Leave 3)', async () => {
    const { call, clock } = setup();
    const joinBody = {
      groupId: 'g',
      sessionTimeoutMs: 30000,
      rebalanceTimeoutMs: 60000,
      memberId: '',
      groupInstanceId: null,
      protocolType: 'consumer',
      protocols: consumerProtocols,
    };
    const first = await call(API_KEYS.JoinGroup, 5, joinBody);
    assert.equal(first.errorCode, KafkaError.MEMBER_ID_REQUIRED);
    const memberId = first.memberId as string;
    assert.match(memberId, /^app-[0-9a-f-]{36}$/);

    const pending = call(API_KEYS.JoinGroup, 5, { ...joinBody, memberId });
    await tick();
    clock.advance(0);
    const joined = await pending;
    assert.equal(joined.errorCode, 0);
    assert.equal(joined.generationId, 1);
    assert.equal(joined.protocolName, 'range');
    assert.equal(joined.leader, memberId);
    assert.deepEqual(joined.members, [{ memberId, groupInstanceId: null, metadata: Buffer.from([0, 1, 2]) }]);

    const synced = await call(API_KEYS.SyncGroup, 3, {
      groupId: 'g',
      generationId: 1,
      memberId,
      groupInstanceId: null,
      assignments: [{ memberId, assignment: Buffer.from('assigned') }],
    });
    assert.equal(synced.errorCode, 0);
    assert.deepEqual(synced.assignment, Buffer.from('assigned'));

    const hb = await call(API_KEYS.Heartbeat, 3, {
      groupId: 'g',
      generationId: 1,
      memberId,
      groupInstanceId: null,
    });
    assert.equal(hb.errorCode, 0);
    const staleHb = await call(API_KEYS.Heartbeat, 3, { groupId: 'g', generationId: 0, memberId });
    assert.equal(staleHb.errorCode, KafkaError.ILLEGAL_GENERATION);

    const left = await call(API_KEYS.LeaveGroup, 3, {
      groupId: 'g',
      members: [
        { memberId, groupInstanceId: null },
        { memberId: 'ghost', groupInstanceId: null },
      ],
    });
    assert.equal(left.errorCode, 0);
    assert.deepEqual(
      (left.members as KafkaStruct[]).map((m) => [m.memberId, m.errorCode]),
      [
        [memberId, 0],
        ['ghost', KafkaError.UNKNOWN_MEMBER_ID],
      ],
    );
  });

  it('JoinGroup below v4 admits a new member at once; v0 uses the session timeout as rebalance timeout', async () => {
    const { call, clock, groups } = setup();
    const pending = call(API_KEYS.JoinGroup, 0, {
      groupId: 'old',
      sessionTimeoutMs: 10000,
      memberId: '',
      protocolType: 'consumer',
      protocols: consumerProtocols,
    });
    await tick();
    clock.advance(0);
    const joined = await pending;
    assert.equal(joined.errorCode, 0);
    assert.equal(joined.generationId, 1);
    const memberId = joined.memberId as string;
    const sync = await call(API_KEYS.SyncGroup, 0, {
      groupId: 'old',
      generationId: 1,
      memberId,
      assignments: [{ memberId, assignment: Buffer.from('x') }],
    });
    assert.equal(sync.errorCode, 0);
    // A second v2 member (kafka-python) joins; the first never rejoins: the join phase lasts the
    // longest rebalance timeout, the first member's (10 s, its session timeout), not the second's 6 s.
    const second = call(API_KEYS.JoinGroup, 2, {
      groupId: 'old',
      sessionTimeoutMs: 6000,
      rebalanceTimeoutMs: 6000,
      memberId: '',
      protocolType: 'consumer',
      protocols: consumerProtocols,
    });
    await tick();
    clock.advance(6000);
    assert.equal(groups.groupState('old'), 'PreparingRebalance');
    clock.advance(4000);
    const r = await second;
    assert.equal(r.generationId, 2);
    assert.equal(r.protocolName, 'range');
    // v0-2 LeaveGroup reports the member's error as the response's.
    const leave = await call(API_KEYS.LeaveGroup, 1, { groupId: 'old', memberId });
    assert.equal(leave.errorCode, KafkaError.UNKNOWN_MEMBER_ID);
  });

  it('JoinGroup errors keep the version’s nullability (protocol name "" before v7, null from v7)', async () => {
    const { call } = setup();
    const bad = {
      groupId: 'g',
      sessionTimeoutMs: 1,
      rebalanceTimeoutMs: 1,
      memberId: '',
      protocolType: 'consumer',
      protocols: consumerProtocols,
    };
    const v6 = await call(API_KEYS.JoinGroup, 6, bad);
    assert.equal(v6.errorCode, KafkaError.INVALID_SESSION_TIMEOUT);
    assert.equal(v6.protocolName, '');
    const v7 = await call(API_KEYS.JoinGroup, 7, bad);
    assert.equal(v7.errorCode, KafkaError.INVALID_SESSION_TIMEOUT);
    assert.equal(v7.protocolName, null);
    assert.equal(v7.protocolType, null);
  });

  it('SyncGroup v5 requires the protocol type and name, and returns them', async () => {
    const { call, clock } = setup();
    const joinBody = {
      groupId: 'g',
      sessionTimeoutMs: 30000,
      rebalanceTimeoutMs: 60000,
      memberId: '',
      groupInstanceId: 'static-1',
      protocolType: 'consumer',
      protocols: consumerProtocols,
    };
    const pending = call(API_KEYS.JoinGroup, 7, joinBody);
    await tick();
    clock.advance(0);
    const joined = await pending;
    assert.equal(joined.errorCode, 0, 'a static member needs no MEMBER_ID_REQUIRED round');
    assert.equal(joined.protocolType, 'consumer');
    const memberId = joined.memberId as string;
    const base = { groupId: 'g', generationId: 1, memberId, groupInstanceId: 'static-1', assignments: [] };
    const missing = await call(API_KEYS.SyncGroup, 5, { ...base, protocolType: null, protocolName: 'range' });
    assert.equal(missing.errorCode, KafkaError.INCONSISTENT_GROUP_PROTOCOL);
    const wrong = await call(API_KEYS.SyncGroup, 5, {
      ...base,
      protocolType: 'consumer',
      protocolName: 'sticky',
    });
    assert.equal(wrong.errorCode, KafkaError.INCONSISTENT_GROUP_PROTOCOL);
    const ok = await call(API_KEYS.SyncGroup, 5, {
      ...base,
      protocolType: 'consumer',
      protocolName: 'range',
    });
    assert.equal(ok.errorCode, 0);
    assert.equal(ok.protocolType, 'consumer');
    assert.equal(ok.protocolName, 'range');
    const fenced = await call(API_KEYS.Heartbeat, 4, {
      groupId: 'g',
      generationId: 1,
      memberId: 'old',
      groupInstanceId: 'static-1',
    });
    assert.equal(fenced.errorCode, KafkaError.FENCED_INSTANCE_ID);
  });
});

describe('OffsetCommit and OffsetFetch', () => {
  it('commits with metadata and leader epoch, UNKNOWN_TOPIC_OR_PARTITION for what does not exist', async () => {
    const { call } = setup();
    const commit = await call(API_KEYS.OffsetCommit, 8, {
      groupId: 'app',
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      topics: [
        {
          name: 'orders',
          partitions: [
            {
              partitionIndex: 0,
              committedOffset: 15n,
              committedLeaderEpoch: 4,
              committedMetadata: 'cursor=abc',
            },
            { partitionIndex: 5, committedOffset: 1n },
          ],
        },
        { name: 'nope', partitions: [{ partitionIndex: 0, committedOffset: 1n }] },
      ],
    });
    assert.deepEqual(commit.topics, [
      {
        name: 'orders',
        partitions: [
          { partitionIndex: 0, errorCode: 0 },
          { partitionIndex: 5, errorCode: KafkaError.UNKNOWN_TOPIC_OR_PARTITION },
        ],
      },
      { name: 'nope', partitions: [{ partitionIndex: 0, errorCode: KafkaError.UNKNOWN_TOPIC_OR_PARTITION }] },
    ]);

    // v1 (kafka-python, librdkafka): no leader epoch in the response.
    const v1 = await call(API_KEYS.OffsetFetch, 1, {
      groupId: 'app',
      topics: [{ name: 'orders', partitionIndexes: [0, 1] }],
    });
    assert.deepEqual(v1.topics, [
      {
        name: 'orders',
        partitions: [
          {
            partitionIndex: 0,
            committedOffset: 15n,
            committedLeaderEpoch: -1,
            metadata: 'cursor=abc',
            errorCode: 0,
          },
          { partitionIndex: 1, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode: 0 },
        ],
      },
    ]);
    // v5+: the leader epoch; v2+ topics null = everything committed.
    const v7 = await call(API_KEYS.OffsetFetch, 7, { groupId: 'app', topics: null, requireStable: true });
    assert.equal(v7.errorCode, 0);
    assert.deepEqual(v7.topics, [
      {
        name: 'orders',
        partitions: [
          {
            partitionIndex: 0,
            committedOffset: 15n,
            committedLeaderEpoch: 4,
            metadata: 'cursor=abc',
            errorCode: 0,
          },
        ],
      },
    ]);
    // v8: several groups at once.
    const v8 = await call(API_KEYS.OffsetFetch, 8, {
      groups: [
        { groupId: 'app', topics: null },
        { groupId: 'other', topics: [{ name: 'orders', partitionIndexes: [0] }] },
      ],
    });
    const groups = v8.groups as KafkaStruct[];
    assert.equal(
      ((groups[0]!.topics as KafkaStruct[])[0]!.partitions as KafkaStruct[])[0]!.committedOffset,
      15n,
    );
    assert.equal(
      ((groups[1]!.topics as KafkaStruct[])[0]!.partitions as KafkaStruct[])[0]!.committedOffset,
      -1n,
    );
  });

  it('OffsetCommit v2 (kafka-python) from a member checks its generation; v0 commits simply', async () => {
    const { call, clock } = setup();
    const joinBody = {
      groupId: 'g',
      sessionTimeoutMs: 30000,
      rebalanceTimeoutMs: 30000,
      memberId: '',
      protocolType: 'consumer',
      protocols: consumerProtocols,
    };
    const pending = call(API_KEYS.JoinGroup, 2, joinBody);
    await tick();
    clock.advance(0);
    const joined = await pending;
    const memberId = joined.memberId as string;
    await call(API_KEYS.SyncGroup, 1, { groupId: 'g', generationId: 1, memberId, assignments: [] });
    const commit = (generationIdOrMemberEpoch: number, member: string) =>
      call(API_KEYS.OffsetCommit, 2, {
        groupId: 'g',
        generationIdOrMemberEpoch,
        memberId: member,
        retentionTimeMs: -1n,
        topics: [
          {
            name: 'orders',
            partitions: [{ partitionIndex: 1, committedOffset: 3n, committedMetadata: null }],
          },
        ],
      });
    const code = (r: KafkaStruct) =>
      ((r.topics as KafkaStruct[])[0]!.partitions as KafkaStruct[])[0]!.errorCode;
    assert.equal(code(await commit(1, memberId)), 0);
    assert.equal(code(await commit(2, memberId)), KafkaError.ILLEGAL_GENERATION);
    assert.equal(code(await commit(1, 'ghost')), KafkaError.UNKNOWN_MEMBER_ID);
    const v0 = await call(API_KEYS.OffsetCommit, 0, {
      groupId: 'simple',
      topics: [
        { name: 'orders', partitions: [{ partitionIndex: 0, committedOffset: 9n, committedMetadata: 'm' }] },
      ],
    });
    assert.equal(code(v0), 0);
    const fetched = await call(API_KEYS.OffsetFetch, 0, {
      groupId: 'simple',
      topics: [{ name: 'orders', partitionIndexes: [0] }],
    });
    assert.equal(((fetched.topics as KafkaStruct[])[0]!.partitions as KafkaStruct[])[0]!.committedOffset, 9n);
  });
});

describe('DescribeGroups, ListGroups, DeleteGroups', () => {
  it('describes, lists (with a states filter at v4) and deletes groups', async () => {
    const { call, clock } = setup();
    const pending = call(API_KEYS.JoinGroup, 5, {
      groupId: 'live',
      sessionTimeoutMs: 30000,
      rebalanceTimeoutMs: 30000,
      memberId: '',
      groupInstanceId: 'pod-0',
      protocolType: 'consumer',
      protocols: consumerProtocols,
    });
    await tick();
    clock.advance(0);
    const memberId = (await pending).memberId as string;
    await call(API_KEYS.SyncGroup, 3, {
      groupId: 'live',
      generationId: 1,
      memberId,
      groupInstanceId: 'pod-0',
      assignments: [{ memberId, assignment: Buffer.from('a') }],
    });
    await call(API_KEYS.OffsetCommit, 5, {
      groupId: 'idle',
      generationIdOrMemberEpoch: -1,
      memberId: '',
      topics: [
        { name: 'orders', partitions: [{ partitionIndex: 0, committedOffset: 1n, committedMetadata: '' }] },
      ],
    });

    const d5 = await call(API_KEYS.DescribeGroups, 5, {
      groups: ['live', 'missing'],
      includeAuthorizedOperations: false,
    });
    const [live, missing] = d5.groups as KafkaStruct[];
    assert.equal(live!.groupState, 'Stable');
    assert.equal(live!.protocolType, 'consumer');
    assert.equal(live!.protocolData, 'range');
    assert.deepEqual(live!.members, [
      {
        memberId,
        groupInstanceId: 'pod-0',
        clientId: 'app',
        clientHost: '/127.0.0.1',
        memberMetadata: Buffer.from([0, 1, 2]),
        memberAssignment: Buffer.from('a'),
      },
    ]);
    assert.equal(live!.authorizedOperations, -2147483648);
    assert.equal(missing!.errorCode, 0);
    assert.equal(missing!.groupState, 'Dead');
    const d0 = await call(API_KEYS.DescribeGroups, 0, { groups: ['live'] });
    assert.equal((d0.groups as KafkaStruct[])[0]!.groupState, 'Stable');

    const l0 = await call(API_KEYS.ListGroups, 0, {});
    assert.deepEqual(
      (l0.groups as KafkaStruct[]).map((g) => [g.groupId, g.protocolType]),
      [
        ['live', 'consumer'],
        ['idle', ''],
      ],
    );
    const l4 = await call(API_KEYS.ListGroups, 4, { statesFilter: ['Empty'] });
    assert.deepEqual(
      (l4.groups as KafkaStruct[]).map((g) => [g.groupId, g.groupState]),
      [['idle', 'Empty']],
    );

    const del = await call(API_KEYS.DeleteGroups, 2, { groupsNames: ['live', 'idle', 'missing'] });
    assert.deepEqual(
      (del.results as KafkaStruct[]).map((r) => [r.groupId, r.errorCode]),
      [
        ['live', KafkaError.NON_EMPTY_GROUP],
        ['idle', 0],
        ['missing', KafkaError.GROUP_ID_NOT_FOUND],
      ],
    );
    const after = await call(API_KEYS.OffsetFetch, 3, { groupId: 'idle', topics: null });
    assert.deepEqual(after.topics, []);
  });
});
