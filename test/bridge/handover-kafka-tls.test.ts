// `pier handover kafka --ssl --sasl` against a target that speaks only SASL_SSL (a second Pier with
// a TLS listener, SCRAM users and no plaintext Kafka port, standing in for a secured cluster): the
// records arrive, readable there by a kafkajs consumer with the same credentials; a wrong password
// is refused with exit 1 and a message naming the authentication. The target's certificate is
// trusted the way an operator trusts a private CA: NODE_EXTRA_CA_CERTS.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { addUser } from '../../src/core/amqp/management.js';
import { runPier, startTestBroker, type TestBroker, tempDir } from '../helpers/broker.js';
import { TEST_KAFKA_SETTINGS } from '../helpers/kafka.js';
import { makeTestCertificates, type TestCertificates } from '../tls/certs.js';

const { Kafka, logLevel } = kafkajs;

describe('pier handover kafka to a SASL_SSL target', () => {
  let certs: TestCertificates;
  let pier: TestBroker;
  let secured: TestBroker;
  const state = join(tempDir('pier-handover-kafka-tls-'), 'state.json');

  before(async () => {
    certs = makeTestCertificates('alice');
    pier = await startTestBroker({ kafkaPort: 0, kafka: TEST_KAFKA_SETTINGS });
    secured = await startTestBroker({
      amqpPort: false,
      kafkaTlsPort: 0,
      kafka: { ...TEST_KAFKA_SETTINGS, sasl: true },
      tls: certs.tls(),
    });
    addUser(secured.core, 'mover', 'mover-secret');
  });
  after(async () => {
    await pier?.stop();
    await secured?.stop();
    certs?.remove();
  });

  const handover = (password: string) =>
    runPier(
      [
        'handover',
        'kafka',
        '--bootstrap',
        `localhost:${secured.kafkaTls!.port}`,
        '--from',
        pier.kafka!.bootstrap,
        '--state',
        state,
        '--idle',
        '3',
        '--ssl',
        '--sasl',
        `scram-sha-256:mover:${password}`,
      ],
      { env: { NODE_EXTRA_CA_CERTS: certs.caFile }, timeoutMs: 120_000 },
    );

  it('copies the records over TLS with SCRAM; a consumer with the same credentials reads them there', async () => {
    const source = new Kafka({ brokers: [pier.kafka!.bootstrap], logLevel: logLevel.NOTHING });
    const producer = source.producer();
    await producer.connect();
    const values = Array.from({ length: 300 }, (_, i) => `secured ${i}`);
    await producer.send({
      topic: 'payments',
      messages: values.map((value, i) => ({ key: `k${i % 7}`, value, headers: { seq: String(i) } })),
    });
    await producer.disconnect();

    const wrong = await handover('not-the-password');
    assert.equal(wrong.code, 1, wrong.stderr);
    assert.match(wrong.stderr, /SASL|authenticat/i);

    const run = await handover('mover-secret');
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);

    const target = new Kafka({
      brokers: [`localhost:${secured.kafkaTls!.port}`],
      ssl: { ca: [certs.ca], servername: 'localhost' },
      sasl: { mechanism: 'scram-sha-256', username: 'mover', password: 'mover-secret' },
      logLevel: logLevel.NOTHING,
    });
    const consumer = target.consumer({ groupId: 'check' });
    await consumer.connect();
    await consumer.subscribe({ topic: 'payments', fromBeginning: true });
    const read: { value: string; seq: string }[] = [];
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ message }) => {
            read.push({ value: message.value!.toString(), seq: message.headers!.seq!.toString() });
            if (read.length === values.length) resolve();
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();
    assert.deepEqual(
      read.map((r) => r.value),
      values,
    );
    assert.deepEqual(
      read.map((r) => Number(r.seq)),
      values.map((_, i) => i),
    );
  });
});
