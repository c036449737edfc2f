/** SASL with a real client: kafkajs logs in with PLAIN and SCRAM as a Pier user, and is refused with a wrong password. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { addUser } from '../../../src/core/amqp/management.js';
import { startTestBroker, type TestBroker } from '../../helpers/broker.js';

const { Kafka, logLevel } = kafkajs;

describe('kafkajs over SASL', () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startTestBroker({ kafkaPort: 0, kafka: { sasl: true } });
    addUser(broker.core, 'app', 'app-secret');
  });
  after(() => broker.stop());

  const client = (mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512', password: string) =>
    new Kafka({
      clientId: `sasl-${mechanism}`,
      brokers: [broker.kafka!.bootstrap],
      sasl: { mechanism, username: 'app', password } as kafkajs.SASLOptions,
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    });

  for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512'] as const) {
    it(`${mechanism}: produces and reads back as the user`, async () => {
      const kafka = client(mechanism, 'app-secret');
      const producer = kafka.producer();
      await producer.connect();
      const [sent] = await producer.send({ topic: `sasl-${mechanism}`, messages: [{ value: 'hello' }] });
      await producer.disconnect();
      assert.equal(sent!.errorCode, 0);
      const admin = kafka.admin();
      await admin.connect();
      const offsets = await admin.fetchTopicOffsets(`sasl-${mechanism}`);
      await admin.disconnect();
      assert.deepEqual(
        offsets.map((o) => [o.partition, o.high]),
        [[0, '1']],
      );
    });

    it(`${mechanism}: a wrong password is refused with an authentication error`, async () => {
      const admin = client(mechanism, 'wrong').admin();
      await assert.rejects(admin.connect(), (error: Error) => {
        assert.match(`${error.name}: ${error.message}`, /SASL|[Aa]uthentication/);
        return true;
      });
      await admin.disconnect();
    });
  }
});
