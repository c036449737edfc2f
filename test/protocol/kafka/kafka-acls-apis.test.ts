/**
 * The Kafka ACL checks of the APIs kafka-acls.test.ts does not reach, each tried by a principal the
 * ACLs allow and one they refuse, asserting the error the client sees: OffsetCommit per topic
 * (kafka-python, a manually assigned consumer's commit), DeleteGroups, DeleteRecords, AlterConfigs (kafkajs admin), the transaction APIs
 * (AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit, EndTxn through a kafkajs transactional
 * producer), and OffsetDelete / IncrementalAlterConfigs, which no installed client sends (kafkajs,
 * kafka-python 2.0.2 and confluent-kafka 1.7 lack them), over a raw socket.
 * kafkajs logs in with SASL PLAIN as Pier users, and so does the raw socket before its requests.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { addUser } from '../../../src/core/amqp/management.js';
import {
  type AclBinding,
  AclOperation,
  AclPermission,
  PatternType,
  ResourceType,
} from '../../../src/core/kafka/acls.js';
import { API_KEYS, type KafkaStruct } from '../../../src/protocol/kafka/codec/index.js';
import { KafkaError } from '../../../src/protocol/kafka/error-codes.js';
import { runPython } from '../../compat/helpers.js';
import { pythonModuleMissing } from '../../compat/kafka-clients.js';
import { startTestBroker, type TestBroker } from '../../helpers/broker.js';
import { RawKafkaClient } from './raw-kafka-client.js';

const { Kafka, logLevel } = kafkajs;
const { READ, WRITE, DELETE, DESCRIBE } = AclOperation;
const { TOPIC, GROUP, TRANSACTIONAL_ID } = ResourceType;

/** The first Kafka error type (KafkaJSProtocolError.type) anywhere in what a promise rejects with. */
async function errorType(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    const seen = new Set<unknown>();
    const find = (value: unknown): string | undefined => {
      if (value === null || typeof value !== 'object' || seen.has(value)) return undefined;
      seen.add(value);
      const v = value as Record<string, unknown>;
      if (typeof v.type === 'string' && v.type.endsWith('_FAILED')) return v.type;
      for (const key of ['cause', 'originalError', 'error', 'errors', 'groups', 'partitions']) {
        const inner = v[key];
        const found = Array.isArray(inner) ? inner.map(find).find(Boolean) : find(inner);
        if (found) return found;
      }
      return typeof v.type === 'string' ? v.type : undefined;
    };
    const e = error as Error;
    return find(e) ?? `${e.name}: ${e.message}`;
  }
  return 'no error';
}

describe('Kafka ACLs per API: allowed and refused principals', () => {
  let broker: TestBroker;
  const acl = (principal: string, resourceType: number, resourceName: string, operation: number) =>
    ({
      resourceType,
      resourceName,
      patternType: PatternType.LITERAL,
      principal: `User:${principal}`,
      host: '*',
      operation,
      permission: AclPermission.ALLOW,
    }) satisfies AclBinding;
  const allow = (principal: string, resourceType: number, resourceName: string, operation: number) =>
    broker.kafkaAcls!.add(acl(principal, resourceType, resourceName, operation));
  const deny = (principal: string, resourceType: number, resourceName: string, operation: number) =>
    broker.kafkaAcls!.add({
      ...acl(principal, resourceType, resourceName, operation),
      permission: AclPermission.DENY,
    });
  const client = (user: string) =>
    new Kafka({
      clientId: `acl-${user}`,
      brokers: [broker.kafka!.bootstrap],
      sasl: { mechanism: 'plain', username: user, password: `${user}-secret` },
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    });
  const opened: Array<{ disconnect(): Promise<void> }> = [];
  const adminOf = async (user: string) => {
    const admin = client(user).admin();
    await admin.connect();
    opened.push(admin);
    return admin;
  };
  const rawAs = async (user: string) => {
    const raw = await RawKafkaClient.connect(broker.kafka!.port);
    await raw.request(API_KEYS.SaslHandshake, 1, { mechanism: 'PLAIN' });
    const token = Buffer.from(`\0${user}\0${user}-secret`);
    const answer = await raw.request<KafkaStruct>(API_KEYS.SaslAuthenticate, 2, { authBytes: token });
    assert.equal(answer.errorCode, 0, `SASL PLAIN as ${user}`);
    opened.push({ disconnect: async () => raw.close() });
    return raw;
  };
  const produce = async (topic: string, count: number) => {
    const producer = client('admin').producer();
    await producer.connect();
    await producer.send({ topic, messages: Array.from({ length: count }, (_, i) => ({ value: `m${i}` })) });
    await producer.disconnect();
  };

  before(async () => {
    broker = await startTestBroker({
      kafkaPort: 0,
      kafka: { sasl: true, acls: true, superUsers: ['User:admin'], groupInitialRebalanceDelayMs: 0 },
    });
    for (const user of ['admin', 'alice', 'mallory']) addUser(broker.core, user, `${user}-secret`);
    for (const name of ['mine', 'theirs', 'records', 'txn-out']) broker.topics.create(name, 1, []);
    await produce('records', 10);
    // alice: her group, topic 'mine' in full; 'theirs' she may only see.
    allow('alice', GROUP, 'g-alice', READ);
    allow('alice', GROUP, 'g-alice', DELETE);
    allow('alice', TOPIC, 'mine', AclOperation.ALL);
    allow('alice', TOPIC, 'theirs', DESCRIBE);
    allow('alice', TOPIC, 'records', DELETE);
    allow('alice', TOPIC, 'txn-out', WRITE);
    allow('alice', TRANSACTIONAL_ID, 'tx-alice', WRITE);
    // mallory may see every topic named here and use group g-mallory, nothing more.
    for (const topic of ['mine', 'records']) allow('mallory', TOPIC, topic, DESCRIBE);
    allow('mallory', GROUP, 'g-mallory', READ);
    // ...and may find alice's group (DESCRIBE), so DeleteGroups itself is what refuses her.
    allow('mallory', GROUP, 'g-alice', DESCRIBE);
  });
  after(async () => {
    for (const o of opened) await o.disconnect().catch(() => {});
    await broker.stop();
  });

  it('OffsetCommit (kafka-python): READ on the group, then READ on each topic', {
    skip: pythonModuleMissing('kafka', 'python3-kafka'),
  }, async () => {
    const commit = async (user: string, group: string, topic: string, offset: number) =>
      (
        await runPython<{ commit: string }>('kafka_python_commit.py', [
          ...['--bootstrap', broker.kafka!.bootstrap, '--user', user, '--password', `${user}-secret`],
          ...['--group', group, '--topic', topic, '--offset', String(offset)],
        ])
      ).commit;
    assert.equal(await commit('alice', 'g-alice', 'mine', 1), 'NO_ERROR');
    assert.equal(await commit('alice', 'g-alice', 'theirs', 1), 'TopicAuthorizationFailedError');
    // mallory may use her group but not read 'mine'.
    assert.equal(await commit('mallory', 'g-mallory', 'mine', 1), 'TopicAuthorizationFailedError');
    const alice = await adminOf('alice');
    await alice.fetchTopicMetadata({ topics: ['mine'] });
    const [committed] = await alice.fetchOffsets({ groupId: 'g-alice', topics: ['mine'] });
    assert.equal(committed!.partitions[0]!.offset, '1');
    // Kafka refuses the whole commit with GROUP_AUTHORIZATION_FAILED when the group is not allowed
    // (on the wire: clients stop earlier, at FindCoordinator, with the same error).
    const raw = await rawAs('mallory');
    const answer = await raw.request<KafkaStruct>(API_KEYS.OffsetCommit, 8, {
      groupId: 'g-alice',
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      topics: [
        {
          name: 'mine',
          partitions: [
            { partitionIndex: 0, committedOffset: 2n, committedLeaderEpoch: -1, committedMetadata: '' },
          ],
        },
      ],
    });
    const [topic] = answer.topics as KafkaStruct[];
    assert.equal((topic!.partitions as KafkaStruct[])[0]!.errorCode, KafkaError.GROUP_AUTHORIZATION_FAILED);
    const [still] = await alice.fetchOffsets({ groupId: 'g-alice', topics: ['mine'] });
    assert.equal(still!.partitions[0]!.offset, '1', 'the refused commit changed nothing');
  });

  it('OffsetDelete: DELETE on the group, READ on each topic (raw: no installed client sends it)', async () => {
    const alice = await rawAs('alice');
    const offsetDelete = (client: RawKafkaClient, groupId: string, topic: string) =>
      client.request<KafkaStruct>(API_KEYS.OffsetDelete, 0, {
        groupId,
        topics: [{ name: topic, partitions: [{ partitionIndex: 0 }] }],
      });
    const refusedTopic = await offsetDelete(alice, 'g-alice', 'theirs');
    assert.equal(refusedTopic.errorCode, KafkaError.NONE);
    const [t] = refusedTopic.topics as KafkaStruct[];
    assert.equal((t!.partitions as KafkaStruct[])[0]!.errorCode, KafkaError.TOPIC_AUTHORIZATION_FAILED);
    const allowed = await offsetDelete(alice, 'g-alice', 'mine');
    assert.equal(allowed.errorCode, KafkaError.NONE);
    const [m] = allowed.topics as KafkaStruct[];
    assert.equal((m!.partitions as KafkaStruct[])[0]!.errorCode, KafkaError.NONE);
    const mallory = await rawAs('mallory');
    assert.equal(
      (await offsetDelete(mallory, 'g-mallory', 'mine')).errorCode,
      KafkaError.GROUP_AUTHORIZATION_FAILED,
    );
  });

  it('DeleteGroups: DELETE on each group', async () => {
    const mallory = await adminOf('mallory');
    assert.equal(await errorType(mallory.deleteGroups(['g-alice'])), 'GROUP_AUTHORIZATION_FAILED');
    const alice = await adminOf('alice');
    const [deleted] = await alice.deleteGroups(['g-alice']);
    assert.equal(deleted!.errorCode, 0);
  });

  it('DeleteRecords: DELETE on the topic', async () => {
    const mallory = await adminOf('mallory');
    await mallory.fetchTopicMetadata({ topics: ['records'] });
    assert.equal(
      await errorType(
        mallory.deleteTopicRecords({ topic: 'records', partitions: [{ partition: 0, offset: '5' }] }),
      ),
      'TOPIC_AUTHORIZATION_FAILED',
    );
    const admin = await adminOf('admin');
    const low = async () => (await admin.fetchTopicOffsets('records'))[0]!.low;
    assert.equal(await low(), '0', 'the refused request deleted nothing');
    const alice = await adminOf('alice');
    await alice.fetchTopicMetadata({ topics: ['records'] });
    await alice.deleteTopicRecords({ topic: 'records', partitions: [{ partition: 0, offset: '5' }] });
    assert.equal(await low(), '5');
  });

  it('AlterConfigs (kafkajs) and IncrementalAlterConfigs (raw): ALTER_CONFIGS on the topic', async () => {
    const setRetention = (admin: kafkajs.Admin, topic: string) =>
      admin.alterConfigs({
        validateOnly: false,
        resources: [
          {
            type: kafkajs.ConfigResourceTypes.TOPIC,
            name: topic,
            configEntries: [{ name: 'retention.ms', value: '3600000' }],
          },
        ],
      });
    const alice = await adminOf('alice');
    await setRetention(alice, 'mine');
    const mallory = await adminOf('mallory');
    assert.equal(await errorType(setRetention(mallory, 'mine')), 'TOPIC_AUTHORIZATION_FAILED');

    const incremental = async (user: string, topic: string) => {
      const raw = await rawAs(user);
      const answer = await raw.request<KafkaStruct>(API_KEYS.IncrementalAlterConfigs, 1, {
        resources: [
          {
            resourceType: 2,
            resourceName: topic,
            configs: [{ name: 'retention.ms', configOperation: 0, value: '7200000' }],
          },
        ],
        validateOnly: false,
      });
      return (answer.responses as KafkaStruct[])[0]!.errorCode;
    };
    assert.equal(await incremental('mallory', 'mine'), KafkaError.TOPIC_AUTHORIZATION_FAILED);
    assert.equal(await incremental('alice', 'mine'), KafkaError.NONE);
    assert.equal(await incremental('alice', 'theirs'), KafkaError.TOPIC_AUTHORIZATION_FAILED);
    // A broker config needs ALTER_CONFIGS on the cluster.
    assert.equal(
      await errorType(
        alice.alterConfigs({
          validateOnly: false,
          resources: [
            {
              type: kafkajs.ConfigResourceTypes.BROKER,
              name: '0',
              configEntries: [{ name: 'log.retention.ms', value: '1' }],
            },
          ],
        }),
      ),
      'CLUSTER_AUTHORIZATION_FAILED',
    );
  });

  describe('transactions (kafkajs transactional producer)', () => {
    const transactional = async (user: string, transactionalId: string) => {
      const producer = client(user).producer({
        transactionalId,
        idempotent: true,
        maxInFlightRequests: 1,
        retry: { retries: 1 },
      });
      await producer.connect();
      opened.push(producer);
      return producer;
    };

    it('AddPartitionsToTxn: WRITE on the topic, else TOPIC_AUTHORIZATION_FAILED', async () => {
      const producer = await transactional('alice', 'tx-alice');
      const ok = await producer.transaction();
      await ok.send({ topic: 'txn-out', messages: [{ value: 'in' }] });
      await ok.commit();
      const refused = await producer.transaction();
      assert.equal(
        await errorType(refused.send({ topic: 'theirs', messages: [{ value: 'no' }] })),
        'TOPIC_AUTHORIZATION_FAILED',
      );
      await refused.abort().catch(() => {});
    });

    it('AddOffsetsToTxn: READ on the group, else GROUP_AUTHORIZATION_FAILED', async () => {
      const producer = await transactional('alice', 'tx-alice');
      const txn = await producer.transaction();
      await txn.send({ topic: 'txn-out', messages: [{ value: 'with offsets' }] });
      assert.equal(
        await errorType(
          txn.sendOffsets({
            consumerGroupId: 'g-mallory',
            topics: [{ topic: 'mine', partitions: [{ partition: 0, offset: '1' }] }],
          }),
        ),
        'GROUP_AUTHORIZATION_FAILED',
      );
      await txn.abort().catch(() => {});
    });

    it('TxnOffsetCommit: READ on each topic, else TOPIC_AUTHORIZATION_FAILED; allowed ones commit', async () => {
      const producer = await transactional('alice', 'tx-alice');
      const refused = await producer.transaction();
      await refused.send({ topic: 'txn-out', messages: [{ value: 'x' }] });
      assert.equal(
        await errorType(
          refused.sendOffsets({
            consumerGroupId: 'g-alice',
            topics: [{ topic: 'theirs', partitions: [{ partition: 0, offset: '1' }] }],
          }),
        ),
        'TOPIC_AUTHORIZATION_FAILED',
      );
      await refused.abort().catch(() => {});
      const allowed = await producer.transaction();
      await allowed.send({ topic: 'txn-out', messages: [{ value: 'y' }] });
      await allowed.sendOffsets({
        consumerGroupId: 'g-alice',
        topics: [{ topic: 'mine', partitions: [{ partition: 0, offset: '3' }] }],
      });
      await allowed.commit();
      const admin = await adminOf('alice');
      await admin.fetchTopicMetadata({ topics: ['mine'] });
      const [committed] = await admin.fetchOffsets({ groupId: 'g-alice', topics: ['mine'] });
      assert.equal(committed!.partitions[0]!.offset, '3');
    });

    it('AddPartitionsToTxn and EndTxn: TRANSACTIONAL_ID_AUTHORIZATION_FAILED once WRITE on the id is gone', async () => {
      allow('alice', TRANSACTIONAL_ID, 'tx-alice-2', WRITE);
      const second = await transactional('alice', 'tx-alice-2');
      const adding = await second.transaction();
      await adding.send({ topic: 'txn-out', messages: [{ value: 'first partition' }] });
      deny('alice', TRANSACTIONAL_ID, 'tx-alice-2', WRITE);
      // A new partition in the transaction: AddPartitionsToTxn is refused.
      assert.equal(
        await errorType(adding.send({ topic: 'mine', messages: [{ value: 'no' }] })),
        'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
      );

      const producer = await transactional('alice', 'tx-alice');
      const txn = await producer.transaction();
      await txn.send({ topic: 'txn-out', messages: [{ value: 'z' }] });
      deny('alice', TRANSACTIONAL_ID, 'tx-alice', WRITE);
      assert.equal(await errorType(txn.commit()), 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED');
      // A producer without WRITE on the id never gets one (kafkajs first inits an idempotent
      // producer id at connect, which WRITE on some topic allows).
      allow('mallory', TOPIC, 'records', WRITE);
      const mallory = client('mallory').producer({
        transactionalId: 'tx-alice',
        idempotent: true,
        maxInFlightRequests: 1,
        retry: { retries: 1 },
      });
      opened.push(mallory);
      await mallory.connect();
      // FindCoordinator already refuses the id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED), which
      // kafkajs reports as not finding the coordinator.
      assert.match(
        await errorType(mallory.transaction()),
        /TRANSACTIONAL_ID_AUTHORIZATION_FAILED|KafkaJSGroupCoordinatorNotFound/,
      );
    });
  });
});
