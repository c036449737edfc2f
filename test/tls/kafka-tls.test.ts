// Kafka over TLS with kafkajs: SSL (trusting the dev CA), SASL_SSL (SASL on), the TLS port
// advertised to clients that bootstrap on it, and the SSL principal from a client certificate
// (Kafka's DEFAULT `User:CN=...` and a RULE: mapping).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import kafkajs from 'kafkajs';
import { addUser } from '../../src/core/amqp/management.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { TEST_KAFKA_SETTINGS } from '../helpers/kafka.js';
import { makeTestCertificates, type TestCertificates } from './certs.js';

const { Kafka, logLevel } = kafkajs;

let certs: TestCertificates;

before(() => {
  certs = makeTestCertificates('alice');
});

after(() => certs.remove());

async function produceAndCount(kafka: kafkajs.Kafka, topic: string): Promise<string> {
  const producer = kafka.producer();
  await producer.connect();
  const [sent] = await producer.send({ topic, messages: [{ value: 'a' }, { value: 'b' }] });
  await producer.disconnect();
  assert.equal(sent!.errorCode, 0);
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets[0]!.high;
  } finally {
    await admin.disconnect();
  }
}

describe('Kafka SSL (no SASL on loopback)', () => {
  let broker: TestBroker;
  const logs: string[] = [];

  before(async () => {
    broker = await startTestBroker({
      amqpPort: false,
      kafkaPort: 0,
      kafkaTlsPort: 0,
      kafka: TEST_KAFKA_SETTINGS,
      tls: certs.tls({ clientCert: 'optional' }),
      log: (line) => logs.push(line),
    });
  });

  after(() => broker.stop());

  test('kafkajs with ssl produces and reads offsets; Metadata names the TLS port to TLS clients', async () => {
    const kafka = new Kafka({
      brokers: [`localhost:${broker.kafkaTls!.port}`],
      ssl: { ca: [certs.ca], servername: 'localhost' },
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    });
    assert.equal(await produceAndCount(kafka, 'tls-ssl'), '2');
    const admin = kafka.admin();
    await admin.connect();
    try {
      const cluster = await admin.describeCluster();
      assert.deepEqual(
        cluster.brokers.map((b) => b.port),
        [broker.kafkaTls!.port],
      );
    } finally {
      await admin.disconnect();
    }
  });

  test('plain clients are still told the plain port', async () => {
    const admin = new Kafka({ brokers: [broker.kafka!.bootstrap], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const cluster = await admin.describeCluster();
      assert.deepEqual(
        cluster.brokers.map((b) => b.port),
        [broker.kafka!.port],
      );
    } finally {
      await admin.disconnect();
    }
  });

  test('a client certificate gives the principal User:<subject DN> (DEFAULT rule)', async () => {
    const kafka = new Kafka({
      brokers: [`localhost:${broker.kafkaTls!.port}`],
      ssl: { ca: [certs.ca], cert: certs.clientCert, key: certs.clientKey, servername: 'localhost' },
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    });
    assert.equal(await produceAndCount(kafka, 'tls-mtls'), '2');
    assert.ok(
      logs.some((line) => line.endsWith('is User:CN=alice,O=Pier development (TLS client certificate)')),
      logs.join('\n'),
    );
  });
});

describe('Kafka SSL principal mapping rules', () => {
  test('RULE:^CN=(.*?),O=.*$/$1/U maps the DN to its CN in upper case', async () => {
    const logs: string[] = [];
    const broker = await startTestBroker({
      amqpPort: false,
      kafkaTlsPort: 0,
      kafka: TEST_KAFKA_SETTINGS,
      tls: certs.tls({
        clientCert: 'required',
        kafkaPrincipalMappingRules:
          'RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/, RULE:^CN=(.*?),O=.*$/$1/U, DEFAULT',
      }),
      log: (line) => logs.push(line),
    });
    try {
      const kafka = new Kafka({
        brokers: [`localhost:${broker.kafkaTls!.port}`],
        ssl: { ca: [certs.ca], cert: certs.clientCert, key: certs.clientKey, servername: 'localhost' },
        logLevel: logLevel.NOTHING,
        retry: { retries: 0 },
      });
      assert.equal(await produceAndCount(kafka, 'tls-rule'), '2');
      assert.ok(
        logs.some((line) => line.endsWith('is User:ALICE (TLS client certificate)')),
        logs.join('\n'),
      );
    } finally {
      await broker.stop();
    }
  });

  test('rules that do not parse stop the start with the reason', async () => {
    await assert.rejects(
      startTestBroker({
        amqpPort: false,
        kafkaTlsPort: 0,
        tls: certs.tls({ kafkaPrincipalMappingRules: 'RULE:^CN=(.*$/$1/' }),
      }),
      /ssl.principal.mapping.rules: bad pattern/,
    );
  });
});

describe('Kafka SASL_SSL', () => {
  let broker: TestBroker;

  before(async () => {
    broker = await startTestBroker({
      amqpPort: false,
      kafkaTlsPort: 0,
      kafka: { ...TEST_KAFKA_SETTINGS, sasl: true },
      tls: certs.tls(),
    });
    addUser(broker.core, 'app', 'app-secret');
  });

  after(() => broker.stop());

  test('kafkajs with ssl and SASL SCRAM-SHA-256 produces as the user', async () => {
    const kafka = new Kafka({
      brokers: [`localhost:${broker.kafkaTls!.port}`],
      ssl: { ca: [certs.ca], servername: 'localhost' },
      sasl: { mechanism: 'scram-sha-256', username: 'app', password: 'app-secret' },
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    });
    assert.equal(await produceAndCount(kafka, 'tls-sasl-ssl'), '2');
  });

  test('without SASL the TLS connection is refused anything else', async () => {
    const kafka = new Kafka({
      brokers: [`localhost:${broker.kafkaTls!.port}`],
      ssl: { ca: [certs.ca], servername: 'localhost' },
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    });
    const admin = kafka.admin();
    await assert.rejects(admin.connect().then(() => admin.listTopics()));
    await admin.disconnect();
  });
});

describe('Kafka TLS beyond loopback', () => {
  test('without SASL it needs required client certificates', async () => {
    await assert.rejects(
      startTestBroker({
        host: '0.0.0.0',
        plaintext: 'loopback-only',
        amqpPort: false,
        kafkaTlsPort: 0,
        kafka: { sasl: false },
        tls: certs.tls(),
      }),
      /TLS listener on 0\.0\.0\.0 is beyond loopback and would accept anyone; .*--tls-client-cert required/,
    );
    const broker = await startTestBroker({
      host: '0.0.0.0',
      plaintext: 'loopback-only',
      amqpPort: false,
      kafkaTlsPort: 0,
      kafka: { sasl: false },
      tls: certs.tls({ clientCert: 'required' }),
    });
    await broker.stop();
  });
});
