// Kafka ACLs over an SSL listener: the principal Pier derives from the client certificate
// (Kafka's DEFAULT `User:<subject DN>`, or what ssl.principal.mapping.rules make of it) is the one
// ACLs match. kafkajs with a client certificate produces where its principal is allowed and is
// refused elsewhere; the same listener without a certificate (User:ANONYMOUS) is refused.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import kafkajs from 'kafkajs';
import { AclOperation, AclPermission, PatternType, ResourceType } from '../../src/core/kafka/acls.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { TEST_KAFKA_SETTINGS } from '../helpers/kafka.js';
import { makeTestCertificates, type TestCertificates } from './certs.js';

const { Kafka, logLevel } = kafkajs;

let certs: TestCertificates;
before(() => {
  certs = makeTestCertificates('alice');
});
after(() => certs.remove());

/** What a producer sees sending one record: 'ok' or the Kafka error type. */
async function send(broker: TestBroker, topic: string, withCertificate: boolean): Promise<string> {
  const kafka = new Kafka({
    brokers: [`localhost:${broker.kafkaTls!.port}`],
    ssl: withCertificate
      ? { ca: [certs.ca], cert: certs.clientCert, key: certs.clientKey, servername: 'localhost' }
      : { ca: [certs.ca], servername: 'localhost' },
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  });
  const producer = kafka.producer();
  try {
    await producer.connect();
    const [sent] = await producer.send({ topic, messages: [{ value: 'x' }] });
    return sent!.errorCode === 0 ? 'ok' : `error ${sent!.errorCode}`;
  } catch (error) {
    const e = error as { type?: string; cause?: { type?: string }; message: string };
    return e.type ?? e.cause?.type ?? e.message;
  } finally {
    await producer.disconnect();
  }
}

async function aclBroker(principal: string, rules?: string): Promise<TestBroker> {
  const broker = await startTestBroker({
    amqpPort: false,
    kafkaTlsPort: 0,
    kafka: { ...TEST_KAFKA_SETTINGS, acls: true },
    tls: certs.tls({ clientCert: 'optional', ...(rules ? { kafkaPrincipalMappingRules: rules } : {}) }),
  });
  for (const topic of ['cert-topic', 'other']) broker.topics.create(topic, 1, []);
  for (const operation of [AclOperation.WRITE, AclOperation.DESCRIBE])
    broker.kafkaAcls!.add({
      resourceType: ResourceType.TOPIC,
      resourceName: 'cert-topic',
      patternType: PatternType.LITERAL,
      principal,
      host: '*',
      operation,
      permission: AclPermission.ALLOW,
    });
  // Everyone may see 'other', so a refusal there is Produce's, not Metadata's.
  broker.kafkaAcls!.add({
    resourceType: ResourceType.TOPIC,
    resourceName: 'other',
    patternType: PatternType.LITERAL,
    principal: 'User:*',
    host: '*',
    operation: AclOperation.DESCRIBE,
    permission: AclPermission.ALLOW,
  });
  return broker;
}

describe('Kafka ACLs for TLS client-certificate principals', () => {
  test('DEFAULT mapping: ACLs for User:CN=alice,O=Pier development match the certificate', async () => {
    const broker = await aclBroker('User:CN=alice,O=Pier development');
    try {
      assert.equal(await send(broker, 'cert-topic', true), 'ok');
      assert.equal(await send(broker, 'other', true), 'TOPIC_AUTHORIZATION_FAILED');
      assert.equal(await send(broker, 'cert-topic', false), 'TOPIC_AUTHORIZATION_FAILED');
    } finally {
      await broker.stop();
    }
  });

  test('a mapping rule: ACLs for User:alice match the certificate CN=alice', async () => {
    const broker = await aclBroker('User:alice', 'RULE:^CN=(.*?),O=.*$/$1/, DEFAULT');
    try {
      assert.equal(await send(broker, 'cert-topic', true), 'ok');
      assert.equal(await send(broker, 'other', true), 'TOPIC_AUTHORIZATION_FAILED');
      assert.equal(await send(broker, 'cert-topic', false), 'TOPIC_AUTHORIZATION_FAILED');
    } finally {
      await broker.stop();
    }
  });
});
