/**
 * Kafka ACLs shape what a principal is told it may do and which transactions it sees:
 * - the "authorized operations" bit sets of Metadata (v8+), DescribeGroups (v3+) and
 *   DescribeCluster carry one bit per operation the ACLs allow (implied DESCRIBE included, DENY
 *   removing), INT32_MIN when not asked for; the cluster's are 0 without DESCRIBE on it, as in Kafka;
 * - ListTransactions lists only the transactional ids the principal may DESCRIBE.
 * The client is User:ANONYMOUS on a loopback listener without SASL. kafka-python's admin client
 * asks DescribeGroups v3 for its operations (but cannot decode them); no installed client sends
 * Metadata v8+ or DescribeCluster with the flags, so the bits are read over a raw socket. kafkajs
 * runs the transactions.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import {
  type AclBinding,
  AclOperation,
  AclPermission,
  AUTHORIZED_OPERATIONS_OMITTED,
  CLUSTER_RESOURCE_NAME,
  operationBits,
  PatternType,
  ResourceType,
} from '../../../src/core/kafka/acls.js';
import {
  API_KEYS,
  type KafkaStruct,
  type MetadataResponse,
} from '../../../src/protocol/kafka/codec/index.js';
import { KafkaError } from '../../../src/protocol/kafka/error-codes.js';
import { runPython } from '../../compat/helpers.js';
import { pythonModuleMissing } from '../../compat/kafka-clients.js';
import { startTestBroker, type TestBroker } from '../../helpers/broker.js';
import { RawKafkaClient } from './raw-kafka-client.js';

const { Kafka, logLevel } = kafkajs;
const {
  READ,
  WRITE,
  CREATE,
  DELETE,
  ALTER,
  DESCRIBE,
  DESCRIBE_CONFIGS,
  ALTER_CONFIGS,
  ALL,
  IDEMPOTENT_WRITE,
} = AclOperation;
const { TOPIC, GROUP, CLUSTER, TRANSACTIONAL_ID } = ResourceType;
const ME = 'User:ANONYMOUS';

describe('Kafka ACLs: authorized operations and ListTransactions', () => {
  let broker: TestBroker;
  let raw: RawKafkaClient;
  const acl = (
    resourceType: number,
    resourceName: string,
    operation: number,
    permission: number = AclPermission.ALLOW,
    patternType: number = PatternType.LITERAL,
  ): AclBinding => ({
    resourceType,
    resourceName,
    patternType,
    principal: ME,
    host: '*',
    operation,
    permission,
  });
  const allow = (resourceType: number, name: string, operation: number, pattern?: number) =>
    broker.kafkaAcls!.add(acl(resourceType, name, operation, AclPermission.ALLOW, pattern));
  const deny = (resourceType: number, name: string, operation: number) =>
    broker.kafkaAcls!.add(acl(resourceType, name, operation, AclPermission.DENY));
  const metadata = (version: number, topics: string[] | null, cluster = true) =>
    raw.request<MetadataResponse>(API_KEYS.Metadata, version, {
      topics: topics?.map((name) => ({ name, topicId: '00000000-0000-0000-0000-000000000000' })) ?? null,
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: cluster,
      includeTopicAuthorizedOperations: true,
    });
  const operationsOf = (response: MetadataResponse) =>
    Object.fromEntries(response.topics.map((t) => [t.name, t.topicAuthorizedOperations]));

  before(async () => {
    broker = await startTestBroker({
      kafkaPort: 0,
      kafka: { sasl: false, acls: true, groupInitialRebalanceDelayMs: 0 },
    });
    for (const name of ['readable', 'everything', 'hidden']) broker.topics.create(name, 1, []);
    allow(TOPIC, 'readable', READ);
    allow(TOPIC, 'every', ALL, PatternType.PREFIXED);
    deny(TOPIC, 'everything', WRITE);
    allow(GROUP, 'g-read', READ);
    allow(GROUP, 'g-', DELETE, PatternType.PREFIXED);
    raw = await RawKafkaClient.connect(broker.kafka!.port);
  });
  after(async () => {
    raw.close();
    await broker.stop();
  });

  it('Metadata v8-v12: each topic carries the operations the ACLs allow on it; refused ones INT32_MIN', async () => {
    for (const version of [8, 10, 12]) {
      const named = await metadata(version, ['readable', 'everything', 'hidden'], version <= 10);
      const ops = operationsOf(named);
      // READ implies DESCRIBE.
      assert.equal(ops.readable, operationBits([READ, DESCRIBE]), `v${version} readable`);
      // ALL grants every topic operation but the denied WRITE.
      assert.equal(
        ops.everything,
        operationBits([READ, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS]),
        `v${version} everything`,
      );
      const hidden = named.topics.find((t) => t.name === 'hidden')!;
      assert.equal(hidden.errorCode, KafkaError.TOPIC_AUTHORIZATION_FAILED);
      assert.equal(hidden.topicAuthorizedOperations, AUTHORIZED_OPERATIONS_OMITTED);
      const all = await metadata(version, null, false);
      assert.deepEqual(operationsOf(all), { readable: ops.readable, everything: ops.everything });
    }
    // Not asked for: INT32_MIN.
    const unasked = await raw.request<MetadataResponse>(API_KEYS.Metadata, 9, {
      topics: null,
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    assert.ok(unasked.topics.length > 0);
    for (const t of unasked.topics) assert.equal(t.topicAuthorizedOperations, AUTHORIZED_OPERATIONS_OMITTED);
    assert.equal(unasked.clusterAuthorizedOperations, AUTHORIZED_OPERATIONS_OMITTED);
  });

  it('Metadata v8-10 and DescribeCluster: 0 without DESCRIBE on the cluster, else the allowed bits', async () => {
    const describeCluster = () =>
      raw.request<KafkaStruct>(API_KEYS.DescribeCluster, 1, {
        includeClusterAuthorizedOperations: true,
        endpointType: 1,
      });
    allow(CLUSTER, CLUSTER_RESOURCE_NAME, IDEMPOTENT_WRITE);
    assert.equal((await metadata(8, [])).clusterAuthorizedOperations, 0);
    const refused = await describeCluster();
    // Answered to every principal (brokers and all), as Kafka answers it.
    assert.equal(refused.errorCode, KafkaError.NONE);
    assert.equal((refused.brokers as unknown[]).length, 1);
    assert.equal(refused.clusterAuthorizedOperations, 0);

    allow(CLUSTER, CLUSTER_RESOURCE_NAME, ALTER);
    const expected = operationBits([ALTER, DESCRIBE, IDEMPOTENT_WRITE]);
    assert.equal((await metadata(10, [])).clusterAuthorizedOperations, expected);
    assert.equal((await describeCluster()).clusterAuthorizedOperations, expected);
    const unasked = await raw.request<KafkaStruct>(API_KEYS.DescribeCluster, 0, {
      includeClusterAuthorizedOperations: false,
    });
    assert.equal(unasked.clusterAuthorizedOperations, AUTHORIZED_OPERATIONS_OMITTED);
  });

  it('DescribeGroups v3-5: the operations on each described group; refused groups INT32_MIN', async () => {
    for (const version of [3, 5]) {
      const response = await raw.request<KafkaStruct>(API_KEYS.DescribeGroups, version, {
        groups: ['g-read', 'g-other', 'x-hidden'],
        includeAuthorizedOperations: true,
      });
      const byGroup = Object.fromEntries(
        (response.groups as KafkaStruct[]).map((g) => [g.groupId, [g.errorCode, g.authorizedOperations]]),
      );
      assert.deepEqual(byGroup, {
        'g-read': [KafkaError.NONE, operationBits([READ, DESCRIBE, DELETE])],
        // DELETE implies DESCRIBE, which is what DescribeGroups needs.
        'g-other': [KafkaError.NONE, operationBits([DESCRIBE, DELETE])],
        'x-hidden': [KafkaError.GROUP_AUTHORIZATION_FAILED, AUTHORIZED_OPERATIONS_OMITTED],
      });
    }
  });

  // kafka-python 2.0.2 sends DescribeGroups v3 with the flag but reads the answer with its v2
  // schema (DescribeGroupsRequest_v3.RESPONSE_TYPE), so it reports the bits as None: this shows a
  // real client's v3 request is answered and decoded, allowed and refused, not the bits themselves.
  it('kafka-python describe_consumer_groups(include_authorized_operations=True): allowed and refused', {
    skip: pythonModuleMissing('kafka', 'python3-kafka'),
  }, async () => {
    // kafka-python's admin client reads Metadata (DESCRIBE on some topic) and finds the coordinator.
    const { groups } = await runPython<{ groups: Record<string, number | string> }>(
      'kafka_python_group_ops.py',
      ['--bootstrap', broker.kafka!.bootstrap, '--group', 'g-read', '--group', 'x-hidden'],
    );
    assert.equal(groups['g-read'], null);
    assert.equal(groups['x-hidden'], 'GroupAuthorizationFailedError');
  });

  it('ListTransactions lists only the transactional ids the principal may DESCRIBE', async () => {
    allow(TRANSACTIONAL_ID, 'tx-', WRITE, PatternType.PREFIXED);
    allow(TOPIC, 'readable', WRITE);
    const kafka = new Kafka({ brokers: [broker.kafka!.bootstrap], logLevel: logLevel.NOTHING });
    for (const transactionalId of ['tx-seen', 'tx-hidden']) {
      const producer = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      const transaction = await producer.transaction();
      await transaction.send({ topic: 'readable', messages: [{ value: transactionalId }] });
      await transaction.commit();
      await producer.disconnect();
    }
    const list = async () =>
      (
        (
          await raw.request<KafkaStruct>(API_KEYS.ListTransactions, 1, {
            stateFilters: [],
            producerIdFilters: [],
            durationFilter: -1n,
          })
        ).transactionStates as KafkaStruct[]
      )
        .map((t) => t.transactionalId)
        .sort();
    // WRITE implies DESCRIBE: both are listed, with no DESCRIBE on the cluster.
    assert.deepEqual(await list(), ['tx-hidden', 'tx-seen']);
    deny(TRANSACTIONAL_ID, 'tx-hidden', DESCRIBE);
    assert.deepEqual(await list(), ['tx-seen']);
  });
});
