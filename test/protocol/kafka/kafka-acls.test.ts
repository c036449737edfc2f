/**
 * Kafka ACLs with a real client: kafkajs logs in with SASL PLAIN as Pier users and each API is
 * tried by a principal the ACLs allow and one they refuse. The ACLs themselves are written and read
 * back with kafkajs admin's createAcls/describeAcls/deleteAcls, by a super user.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { addUser } from '../../../src/core/amqp/management.js';
import { AclOperation, AclPermission, PatternType, ResourceType } from '../../../src/core/kafka/acls.js';
import { formatTopicId } from '../../../src/core/kafka/topic-registry.js';
import {
  API_KEYS,
  type DeleteTopicsResponse,
  type MetadataResponse,
} from '../../../src/protocol/kafka/codec/index.js';
import { startTestBroker, type TestBroker } from '../../helpers/broker.js';
import { RawKafkaClient } from './raw-kafka-client.js';

const { Kafka, logLevel } = kafkajs;

const USERS = ['admin', 'alice', 'bob', 'carol', 'mallory'] as const;
type User = (typeof USERS)[number];

interface Acl {
  resourceType: number;
  resourceName: string;
  resourcePatternType?: number;
  principal: string;
  host?: string;
  operation: number;
  permissionType?: number;
}

const kafkaAcl = (a: Acl) =>
  ({
    resourcePatternType: PatternType.LITERAL,
    host: '*',
    permissionType: AclPermission.ALLOW,
    ...a,
  }) as unknown as kafkajs.AclEntry;

/** The kafkajs error type (KafkaJSProtocolError.type) a promise rejects with. */
async function errorType(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    const e = error as {
      type?: string;
      cause?: { type?: string };
      errors?: Array<{ type?: string }>;
      name: string;
      message: string;
    };
    return e.type ?? e.cause?.type ?? e.errors?.[0]?.type ?? `${e.name}: ${e.message}`;
  }
  return 'no error';
}

describe('Kafka ACLs over kafkajs (SASL PLAIN)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'pier-kafka-acls-'));
  let broker: TestBroker;
  const start = async () => {
    broker = await startTestBroker({
      dataDir,
      kafkaPort: 0,
      kafka: { sasl: true, acls: true, superUsers: ['User:admin'], groupInitialRebalanceDelayMs: 0 },
    });
  };
  const client = (user: User) =>
    new Kafka({
      clientId: `acl-${user}`,
      brokers: [broker.kafka!.bootstrap],
      sasl: { mechanism: 'plain', username: user, password: `${user}-secret` },
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    });
  const admins: kafkajs.Admin[] = [];
  const adminOf = async (user: User) => {
    const admin = client(user).admin();
    await admin.connect();
    admins.push(admin);
    return admin;
  };
  const send = async (user: User, topic: string, options: kafkajs.ProducerConfig = {}) => {
    const producer = client(user).producer({ allowAutoTopicCreation: true, ...options });
    try {
      await producer.connect();
      return await producer.send({ topic, messages: [{ value: `from ${user}` }] });
    } finally {
      await producer.disconnect();
    }
  };

  before(async () => {
    await start();
    for (const user of USERS) addUser(broker.core, user, `${user}-secret`);
    const admin = await adminOf('admin');
    await admin.createTopics({
      topics: ['orders', 'secret', 'other', 'team-a.existing'].map((topic) => ({ topic })),
    });
    const { TOPIC, GROUP } = ResourceType;
    const { READ, WRITE, ALL, DESCRIBE } = AclOperation;
    await admin.createAcls({
      acl: [
        // alice: produce and consume 'orders' with group g-alice; everything under 'team-a.'.
        { resourceType: TOPIC, resourceName: 'orders', principal: 'User:alice', operation: WRITE },
        { resourceType: TOPIC, resourceName: 'orders', principal: 'User:alice', operation: READ },
        { resourceType: GROUP, resourceName: 'g-alice', principal: 'User:alice', operation: READ },
        {
          resourceType: TOPIC,
          resourceName: 'team-a.',
          resourcePatternType: PatternType.PREFIXED,
          principal: 'User:alice',
          operation: ALL,
        },
        // carol may see 'orders' (READ implies DESCRIBE) but not write it.
        { resourceType: TOPIC, resourceName: 'orders', principal: 'User:carol', operation: READ },
        // bob may write every topic but 'secret' (wildcard allow, literal deny).
        { resourceType: TOPIC, resourceName: '*', principal: 'User:bob', operation: WRITE },
        {
          resourceType: TOPIC,
          resourceName: 'secret',
          principal: 'User:bob',
          operation: ALL,
          permissionType: AclPermission.DENY,
        },
        // bob may use group g-bob (but may not READ any topic); alice may find tx-alice's coordinator.
        { resourceType: GROUP, resourceName: 'g-bob', principal: 'User:bob', operation: READ },
        {
          resourceType: ResourceType.TRANSACTIONAL_ID,
          resourceName: 'tx-alice',
          principal: 'User:alice',
          operation: DESCRIBE,
        },
        // everyone may describe 'other'.
        { resourceType: TOPIC, resourceName: 'other', principal: 'User:*', operation: DESCRIBE },
      ].map(kafkaAcl),
    });
  });
  after(async () => {
    for (const admin of admins) await admin.disconnect().catch(() => {});
    await broker.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('Produce: WRITE on the topic is needed; DESCRIBE alone gets TOPIC_AUTHORIZATION_FAILED', async () => {
    const [sent] = await send('alice', 'orders');
    assert.equal(sent!.errorCode, 0);
    assert.equal(await errorType(send('carol', 'orders')), 'TOPIC_AUTHORIZATION_FAILED');
    assert.equal(await errorType(send('mallory', 'orders')), 'TOPIC_AUTHORIZATION_FAILED');
  });

  it('deny beats allow: bob writes any topic through the wildcard, but not the one he is denied', async () => {
    const [sent] = await send('bob', 'other');
    assert.equal(sent!.errorCode, 0);
    assert.equal(await errorType(send('bob', 'secret')), 'TOPIC_AUTHORIZATION_FAILED');
  });

  it('prefixed ACLs: alice auto-creates and writes topics under her prefix only', async () => {
    const [sent] = await send('alice', 'team-a.new');
    assert.equal(sent!.errorCode, 0);
    assert.equal(await errorType(send('alice', 'team-b.new')), 'TOPIC_AUTHORIZATION_FAILED');
    const admin = await adminOf('admin');
    const topics = await admin.listTopics();
    assert.ok(topics.includes('team-a.new'));
    assert.ok(!topics.includes('team-b.new'), 'a refused auto-create creates nothing');
  });

  it('Metadata: topics a principal may not describe are left out, and refused when named', async () => {
    const alice = await adminOf('alice');
    const visible = (await alice.listTopics()).sort();
    assert.deepEqual(visible, ['orders', 'other', 'team-a.existing', 'team-a.new']);
    assert.equal(
      await errorType(alice.fetchTopicMetadata({ topics: ['secret'] })),
      'TOPIC_AUTHORIZATION_FAILED',
    );
    const mallory = await adminOf('mallory');
    assert.deepEqual(await mallory.listTopics(), ['other']);
  });

  it('a super user sees and may do everything', async () => {
    const admin = await adminOf('admin');
    const topics = await admin.listTopics();
    for (const topic of ['orders', 'secret', 'other']) assert.ok(topics.includes(topic), topic);
    await admin.createTopics({ topics: [{ topic: 'admin-made' }] });
    await admin.deleteTopics({ topics: ['admin-made'] });
  });

  it('Fetch and groups: READ on the topic and on the group', async () => {
    const consume = async (user: User, groupId: string) => {
      const consumer = client(user).consumer({ groupId, retry: { retries: 0 } });
      try {
        await consumer.connect();
        await consumer.subscribe({ topic: 'orders', fromBeginning: true });
        const first = new Promise<string>((resolve, reject) => {
          consumer.on(consumer.events.CRASH, (event) => reject(event.payload.error));
          consumer.run({ eachMessage: async ({ message }) => resolve(String(message.value)) }).catch(reject);
        });
        return await first;
      } finally {
        await consumer.disconnect();
      }
    };
    assert.equal(await consume('alice', 'g-alice'), 'from alice');
    // mallory may not even see 'orders'.
    assert.equal(await errorType(consume('mallory', 'g-alice')), 'TOPIC_AUTHORIZATION_FAILED');
    // carol may read 'orders' but has no group: FindCoordinator refuses it (GROUP_AUTHORIZATION_FAILED),
    // which kafkajs reports as not finding the coordinator.
    assert.match(
      await errorType(consume('carol', 'g-carol')),
      /GROUP_AUTHORIZATION_FAILED|KafkaJSGroupCoordinatorNotFound/,
    );
    // bob has his group and sees 'orders' (WRITE implies DESCRIBE) but may not READ it: Fetch refuses.
    assert.equal(await errorType(consume('bob', 'g-bob')), 'TOPIC_AUTHORIZATION_FAILED');
  });

  it("OffsetFetch: DESCRIBE on the group (the offsets alice's consumer committed)", async () => {
    const alice = await adminOf('alice');
    // A fresh kafkajs admin knows no brokers until it has read metadata once.
    await alice.fetchTopicMetadata({ topics: ['orders'] });
    const offsets = await alice.fetchOffsets({ groupId: 'g-alice', topics: ['orders'] });
    assert.equal(offsets[0]!.topic, 'orders');
    assert.ok(Number(offsets[0]!.partitions[0]!.offset) >= 1, 'the consumer committed its position');
    const carol = await adminOf('carol');
    await carol.fetchTopicMetadata({ topics: ['orders'] });
    assert.match(
      await errorType(carol.fetchOffsets({ groupId: 'g-alice', topics: ['orders'] })),
      /GROUP_AUTHORIZATION_FAILED|KafkaJSGroupCoordinatorNotFound/,
    );
  });

  it('CreateTopics / DeleteTopics / CreatePartitions / DescribeConfigs per topic', async () => {
    const alice = await adminOf('alice');
    assert.equal(
      await errorType(alice.createTopics({ topics: [{ topic: 'not-hers' }] })),
      'TOPIC_AUTHORIZATION_FAILED',
    );
    assert.equal(await alice.createTopics({ topics: [{ topic: 'team-a.made' }] }), true);
    assert.equal(await errorType(alice.deleteTopics({ topics: ['orders'] })), 'TOPIC_AUTHORIZATION_FAILED');
    await alice.deleteTopics({ topics: ['team-a.made'] });
    assert.equal(
      await errorType(alice.createPartitions({ topicPartitions: [{ topic: 'orders', count: 2 }] })),
      'TOPIC_AUTHORIZATION_FAILED',
    );
    const described = await alice.describeConfigs({
      resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: 'team-a.existing' }],
      includeSynonyms: false,
    });
    assert.equal(described.resources[0]!.errorCode, 0);
    assert.equal(
      await errorType(
        alice.describeConfigs({
          resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: 'secret' }],
          includeSynonyms: false,
        }),
      ),
      'TOPIC_AUTHORIZATION_FAILED',
    );
  });

  it('ListGroups shows only the groups a principal may describe; DescribeGroups refuses the others', async () => {
    const admin = await adminOf('admin');
    const all = (await admin.listGroups()).groups.map((g) => g.groupId);
    assert.ok(all.includes('g-alice'));
    const mallory = await adminOf('mallory');
    assert.deepEqual((await mallory.listGroups()).groups, []);
    // FindCoordinator already refuses the group (GROUP_AUTHORIZATION_FAILED), which kafkajs reports
    // as not finding the coordinator.
    const described = await errorType(mallory.describeGroups(['g-alice']));
    assert.match(described, /GROUP_AUTHORIZATION_FAILED|KafkaJSGroupCoordinatorNotFound/);
  });

  it('InitProducerId: an idempotent producer needs WRITE on some topic; a transactional one its id', async () => {
    const [sent] = await send('alice', 'orders', {
      idempotent: true,
      maxInFlightRequests: 1,
      retry: { retries: 1 },
    });
    assert.equal(sent!.errorCode, 0);
    assert.equal(
      await errorType(
        send('mallory', 'other', { idempotent: true, maxInFlightRequests: 1, retry: { retries: 1 } }),
      ),
      'CLUSTER_AUTHORIZATION_FAILED',
    );
    const producer = client('alice').producer({
      transactionalId: 'tx-alice',
      maxInFlightRequests: 1,
      idempotent: true,
      retry: { retries: 1 },
    });
    await producer.connect().catch(() => {});
    assert.equal(await errorType(producer.transaction()), 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED');
    await producer.disconnect();
  });

  it('ACL APIs need ALTER/DESCRIBE on the cluster', async () => {
    const alice = await adminOf('alice');
    const filter = {
      resourceType: ResourceType.ANY,
      resourcePatternType: PatternType.ANY,
      operation: AclOperation.ANY,
      permissionType: AclPermission.ANY,
    } as unknown as kafkajs.AclFilter;
    assert.equal(await errorType(alice.describeAcls(filter)), 'CLUSTER_AUTHORIZATION_FAILED');
    assert.equal(
      await errorType(
        alice.createAcls({
          acl: [
            kafkaAcl({
              resourceType: ResourceType.TOPIC,
              resourceName: 'secret',
              principal: 'User:alice',
              operation: AclOperation.READ,
            }),
          ],
        }),
      ),
      'CLUSTER_AUTHORIZATION_FAILED',
    );
  });

  it('describeAcls / deleteAcls round trip; the ACLs survive a restart', async () => {
    const admin = await adminOf('admin');
    const bobs = await admin.describeAcls({
      resourceType: ResourceType.ANY,
      resourcePatternType: PatternType.ANY,
      principal: 'User:bob',
      operation: AclOperation.ANY,
      permissionType: AclPermission.ANY,
    } as unknown as kafkajs.AclFilter);
    const flattened = bobs.resources.flatMap((r) =>
      r.acls.map((a) => `${r.resourceName}:${a.operation}:${a.permissionType}`),
    );
    assert.deepEqual(flattened.sort(), [
      `*:${AclOperation.WRITE}:${AclPermission.ALLOW}`,
      `g-bob:${AclOperation.READ}:${AclPermission.ALLOW}`,
      `secret:${AclOperation.ALL}:${AclPermission.DENY}`,
    ]);
    // MATCH: every pattern that applies to 'team-a.existing'.
    const matching = await admin.describeAcls({
      resourceType: ResourceType.TOPIC,
      resourceName: 'team-a.existing',
      resourcePatternType: PatternType.MATCH,
      operation: AclOperation.ANY,
      permissionType: AclPermission.ANY,
    } as unknown as kafkajs.AclFilter);
    assert.deepEqual(matching.resources.map((r) => r.resourceName).sort(), ['*', 'team-a.']);

    for (const a of admins.splice(0)) await a.disconnect();
    await broker.close();
    await start();
    const after = await adminOf('admin');
    const restored = await after.describeAcls({
      resourceType: ResourceType.ANY,
      resourcePatternType: PatternType.ANY,
      operation: AclOperation.ANY,
      permissionType: AclPermission.ANY,
    } as unknown as kafkajs.AclFilter);
    assert.equal(restored.resources.flatMap((r) => r.acls).length, 10);
    const [sent] = await send('alice', 'orders');
    assert.equal(sent!.errorCode, 0);

    const deleted = await after.deleteAcls({
      filters: [
        {
          resourceType: ResourceType.TOPIC,
          resourceName: 'orders',
          resourcePatternType: PatternType.LITERAL,
          principal: 'User:alice',
          operation: AclOperation.WRITE,
          permissionType: AclPermission.ALLOW,
        } as unknown as kafkajs.AclFilter,
      ],
    });
    assert.equal(deleted.filterResponses[0]!.matchingAcls.length, 1);
    assert.equal(await errorType(send('alice', 'orders')), 'TOPIC_AUTHORIZATION_FAILED');
  });
});

describe('Kafka ACLs off', () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startTestBroker({ kafkaPort: 0 });
  });
  after(() => broker.stop());

  it('DescribeAcls answers SECURITY_DISABLED and every client may do anything', async () => {
    const kafka = new Kafka({
      brokers: [broker.kafka!.bootstrap],
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    });
    const admin = kafka.admin();
    await admin.connect();
    try {
      const type = await errorType(
        admin.describeAcls({
          resourceType: ResourceType.ANY,
          resourcePatternType: PatternType.ANY,
          operation: AclOperation.ANY,
          permissionType: AclPermission.ANY,
        } as unknown as kafkajs.AclFilter),
      );
      assert.equal(type, 'SECURITY_DISABLED');
      assert.equal(await admin.createTopics({ topics: [{ topic: 'open' }] }), true);
    } finally {
      await admin.disconnect();
    }
  });
});

describe('Kafka ACLs on the wire: old Metadata and topics named by id', () => {
  let broker: TestBroker;
  let client: RawKafkaClient;
  before(async () => {
    // Loopback without SASL: the client is User:ANONYMOUS.
    broker = await startTestBroker({ kafkaPort: 0, kafka: { sasl: false, acls: true } });
    broker.topics.create('seen', 1, []);
    broker.topics.create('hidden', 1, []);
    broker.kafkaAcls!.add({
      resourceType: ResourceType.TOPIC,
      resourceName: 'seen',
      patternType: PatternType.LITERAL,
      principal: 'User:ANONYMOUS',
      host: '*',
      operation: AclOperation.DESCRIBE,
      permission: AclPermission.ALLOW,
    });
    client = await RawKafkaClient.connect(broker.kafka!.port);
  });
  after(async () => {
    client.close();
    await broker.stop();
  });

  it('Metadata v0 with an empty list (all topics) leaves out the topics it may not describe', async () => {
    const response = await client.request<MetadataResponse>(API_KEYS.Metadata, 0, { topics: [] });
    assert.deepEqual(
      response.topics.map((t) => t.name),
      ['seen'],
    );
  });

  it('DeleteTopics v6 by topic id is checked against the topic it names', async () => {
    const topicId = formatTopicId(broker.topics.get('hidden')!.id);
    const response = await client.request<DeleteTopicsResponse>(API_KEYS.DeleteTopics, 6, {
      topics: [{ name: null, topicId }],
      timeoutMs: 1000,
    });
    assert.equal(response.responses[0]!.errorCode, 29);
    assert.ok(broker.topics.get('hidden'), 'the topic is still there');
  });
});
