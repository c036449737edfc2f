// The group APIs behind the real Kafka listener, over sockets: two members rebalance while each
// connection's held JoinGroup/SyncGroup answers wait, then commit and fetch offsets.
// (kafkajs needs Metadata, Produce and Fetch, which come with the topic APIs.)
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { systemClock } from '../../../src/core/clock.js';
import { GroupCoordinator } from '../../../src/core/kafka/group-coordinator.js';
import { MemoryGroupOffsetStore } from '../../../src/core/kafka/group-offsets.js';
import { buildApiTable } from '../../../src/protocol/kafka/api-table.js';
import { findCoordinatorApis } from '../../../src/protocol/kafka/apis/find-coordinator.js';
import { groupAdminApis } from '../../../src/protocol/kafka/apis/group-admin.js';
import { groupApis } from '../../../src/protocol/kafka/apis/groups.js';
import { offsetApis } from '../../../src/protocol/kafka/apis/offsets.js';
import { DEFAULT_KAFKA_SETTINGS } from '../../../src/protocol/kafka/cluster.js';
import { API_KEYS, type KafkaStruct } from '../../../src/protocol/kafka/codec/index.js';
import { KafkaError } from '../../../src/protocol/kafka/error-codes.js';
import { KafkaServer } from '../../../src/protocol/kafka/server.js';
import { listenOnFreePort } from '../../helpers/broker.js';
import { RawKafkaClient } from './raw-kafka-client.js';

describe('group APIs over the Kafka listener', () => {
  let server: KafkaServer;
  let groups: GroupCoordinator;
  let port: number;
  const cluster = { nodeId: 0, clusterId: 'test', advertisedHost: '127.0.0.1', advertisedPort: 0 };

  before(async () => {
    groups = new GroupCoordinator({
      clock: systemClock,
      offsets: new MemoryGroupOffsetStore(),
      config: { initialRebalanceDelayMs: 0 },
    });
    const apis = buildApiTable([
      ...findCoordinatorApis({ cluster }),
      ...groupApis({ groups }),
      ...offsetApis({ groups, partitionExists: (topic, p) => topic === 'events' && p >= 0 && p < 2 }),
      ...groupAdminApis({ groups }),
    ]);
    server = new KafkaServer({ apis, settings: DEFAULT_KAFKA_SETTINGS, saslRequired: false, log: () => {} });
    port = (await listenOnFreePort(server)).port;
    cluster.advertisedPort = port;
  });
  after(async () => {
    groups.close();
    await server.close();
  });

  test('ApiVersions advertises the group APIs at the versions they implement', async () => {
    const client = await RawKafkaClient.connect(port);
    const body = await client.request<{
      apiKeys: { apiKey: number; minVersion: number; maxVersion: number }[];
    }>(API_KEYS.ApiVersions, 3, { clientSoftwareName: 'raw', clientSoftwareVersion: '1' });
    const range = (key: number) => {
      const k = body.apiKeys.find((a) => a.apiKey === key);
      return k && [k.minVersion, k.maxVersion];
    };
    assert.deepEqual(range(API_KEYS.FindCoordinator), [0, 4]);
    assert.deepEqual(range(API_KEYS.JoinGroup), [0, 7]);
    assert.deepEqual(range(API_KEYS.SyncGroup), [0, 5]);
    assert.deepEqual(range(API_KEYS.Heartbeat), [0, 4]);
    assert.deepEqual(range(API_KEYS.LeaveGroup), [0, 4]);
    assert.deepEqual(range(API_KEYS.OffsetCommit), [0, 8]);
    assert.deepEqual(range(API_KEYS.OffsetFetch), [0, 8]);
    assert.deepEqual(range(API_KEYS.DescribeGroups), [0, 5]);
    assert.deepEqual(range(API_KEYS.ListGroups), [0, 5]);
    assert.deepEqual(range(API_KEYS.DeleteGroups), [0, 2]);
    client.close();
  });

  test('two members on two connections rebalance, sync, commit and fetch offsets', async () => {
    const a = await RawKafkaClient.connect(port);
    const b = await RawKafkaClient.connect(port);
    const coordinator = await a.request(API_KEYS.FindCoordinator, 3, { key: 'workers', keyType: 0 });
    assert.deepEqual([coordinator.errorCode, coordinator.host, coordinator.port], [0, '127.0.0.1', port]);

    const join = (client: RawKafkaClient, memberId: string) =>
      client.request(API_KEYS.JoinGroup, 5, {
        groupId: 'workers',
        sessionTimeoutMs: 10_000,
        rebalanceTimeoutMs: 10_000,
        memberId,
        groupInstanceId: null,
        protocolType: 'consumer',
        protocols: [{ name: 'range', metadata: Buffer.from('sub:events') }],
      });
    const sync = (
      client: RawKafkaClient,
      memberId: string,
      generationId: number,
      assignments: KafkaStruct[] = [],
    ) => client.request(API_KEYS.SyncGroup, 3, { groupId: 'workers', generationId, memberId, assignments });

    const idA = (await join(a, '')).memberId as string;
    const joinedA = await join(a, idA);
    assert.equal(joinedA.generationId, 1);
    assert.equal(
      (await sync(a, idA, 1, [{ memberId: idA, assignment: Buffer.from('events-0,1') }])).errorCode,
      0,
    );

    // B joins: its JoinGroup is held on B's connection while A's connection keeps being answered.
    const idB = (await join(b, '')).memberId as string;
    const heldB = join(b, idB);
    const hb = await a.request(API_KEYS.Heartbeat, 3, { groupId: 'workers', generationId: 1, memberId: idA });
    assert.equal(hb.errorCode, KafkaError.REBALANCE_IN_PROGRESS);
    const [rejoinA, joinedB] = await Promise.all([join(a, idA), heldB]);
    assert.equal(rejoinA.generationId, 2);
    assert.equal(joinedB.generationId, 2);
    assert.equal(rejoinA.leader, idA);
    assert.equal((rejoinA.members as KafkaStruct[]).length, 2);

    const followerSync = sync(b, idB, 2);
    const leaderSync = await sync(a, idA, 2, [
      { memberId: idA, assignment: Buffer.from('events-0') },
      { memberId: idB, assignment: Buffer.from('events-1') },
    ]);
    assert.deepEqual(leaderSync.assignment, Buffer.from('events-0'));
    assert.deepEqual((await followerSync).assignment, Buffer.from('events-1'));

    const commit = await b.request(API_KEYS.OffsetCommit, 5, {
      groupId: 'workers',
      generationIdOrMemberEpoch: 2,
      memberId: idB,
      topics: [
        {
          name: 'events',
          partitions: [{ partitionIndex: 1, committedOffset: 120n, committedMetadata: 'b' }],
        },
      ],
    });
    assert.equal(((commit.topics as KafkaStruct[])[0]!.partitions as KafkaStruct[])[0]!.errorCode, 0);
    const fetched = await a.request(API_KEYS.OffsetFetch, 4, {
      groupId: 'workers',
      topics: [{ name: 'events', partitionIndexes: [0, 1] }],
    });
    assert.deepEqual(
      ((fetched.topics as KafkaStruct[])[0]!.partitions as KafkaStruct[]).map((p) => [
        p.committedOffset,
        p.metadata,
      ]),
      [
        [-1n, ''],
        [120n, 'b'],
      ],
    );

    const described = await a.request(API_KEYS.DescribeGroups, 2, { groups: ['workers'] });
    const group = (described.groups as KafkaStruct[])[0]!;
    assert.equal(group.groupState, 'Stable');
    assert.deepEqual(
      (group.members as KafkaStruct[]).map((m) => [m.clientId, m.clientHost]),
      [
        ['raw-test', '/127.0.0.1'],
        ['raw-test', '/127.0.0.1'],
      ],
    );

    for (const [client, id] of [
      [a, idA],
      [b, idB],
    ] as const) {
      const left = await client.request(API_KEYS.LeaveGroup, 3, {
        groupId: 'workers',
        members: [{ memberId: id }],
      });
      assert.equal(left.errorCode, 0);
    }
    const deleted = await a.request(API_KEYS.DeleteGroups, 1, { groupsNames: ['workers'] });
    assert.equal((deleted.results as KafkaStruct[])[0]!.errorCode, 0);
    a.close();
    b.close();
  });
});
