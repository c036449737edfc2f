// confluent-kafka (Debian's python3-confluent-kafka on librdkafka) against Kafka ACLs over SASL
// PLAIN: a user allowed to write a topic delivers to it; one without ACLs gets
// TOPIC_AUTHORIZATION_FAILED, and its metadata lists only the topics it may Describe.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { addUser } from '../../src/core/amqp/management.js';
import { AclOperation, AclPermission, PatternType, ResourceType } from '../../src/core/kafka/acls.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { runPython } from './helpers.js';
import { pythonModuleMissing } from './kafka-clients.js';

interface Outcome {
  produce: string;
  topics: string[];
}

describe('confluent-kafka with Kafka ACLs', {
  skip: pythonModuleMissing('confluent_kafka', 'python3-confluent-kafka'),
}, () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startTestBroker({ kafkaPort: 0, kafka: { sasl: true, acls: true } });
    addUser(broker.core, 'writer', 'writer-secret');
    addUser(broker.core, 'stranger', 'stranger-secret');
    broker.topics.create('ledger', 1, []);
    broker.topics.create('public', 1, []);
    const acls = broker.kafkaAcls!;
    const allow = (principal: string, resourceName: string, operation: number) =>
      acls.add({
        resourceType: ResourceType.TOPIC,
        resourceName,
        patternType: PatternType.LITERAL,
        principal,
        host: '*',
        operation,
        permission: AclPermission.ALLOW,
      });
    allow('User:writer', 'ledger', AclOperation.WRITE);
    allow('User:*', 'public', AclOperation.DESCRIBE);
  });
  after(() => broker.stop());

  const produce = (user: string) =>
    runPython<Outcome>('confluent_kafka_acl.py', [
      '--bootstrap',
      broker.kafka!.bootstrap,
      '--user',
      user,
      '--password',
      `${user}-secret`,
      '--topic',
      'ledger',
    ]);

  it('the allowed user delivers; the other gets TOPIC_AUTHORIZATION_FAILED and sees only public topics', async () => {
    const writer = await produce('writer');
    assert.equal(writer.produce, 'NO_ERROR');
    assert.deepEqual(writer.topics, ['ledger', 'public']);
    const stranger = await produce('stranger');
    assert.equal(stranger.produce, 'TOPIC_AUTHORIZATION_FAILED');
    assert.deepEqual(stranger.topics, ['public']);
  });
});
