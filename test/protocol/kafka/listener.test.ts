import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { addUser } from '../../../src/core/amqp/management.js';
import { encodeRequest } from '../../../src/protocol/kafka/codec/index.js';
import { startTestBroker, type TestBroker } from '../../helpers/broker.js';
import { RawKafkaClient } from './raw-kafka-client.js';
import { ScramClient } from './scram-client.js';

const API_VERSIONS = 18;
const SASL_HANDSHAKE = 17;
const SASL_AUTHENTICATE = 36;

type ApiVersionsBody = {
  errorCode: number;
  apiKeys: Array<{ apiKey: number; minVersion: number; maxVersion: number }>;
};

describe('Kafka listener without SASL', () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startTestBroker({ kafkaPort: 0 });
  });
  after(() => broker.stop());

  test('ApiVersions answers v0 to v3 with the APIs it serves', async () => {
    const client = await RawKafkaClient.connect(broker.kafka!.port);
    for (let version = 0; version <= 3; version++) {
      const body = await client.request<ApiVersionsBody>(API_VERSIONS, version, {
        clientSoftwareName: 'raw',
        clientSoftwareVersion: '1',
      });
      assert.equal(body.errorCode, 0);
      const apiVersions = body.apiKeys.find((k) => k.apiKey === API_VERSIONS);
      assert.deepEqual(apiVersions, { apiKey: 18, minVersion: 0, maxVersion: 3 });
      assert.ok(body.apiKeys.some((k) => k.apiKey === SASL_HANDSHAKE && k.maxVersion === 1));
    }
    client.close();
  });

  test('a newer ApiVersions version gets UNSUPPORTED_VERSION with a v0 body, and the connection stays', async () => {
    const client = await RawKafkaClient.connect(broker.kafka!.port);
    const correlationId = client.send(API_VERSIONS, 4, {
      clientSoftwareName: 'raw',
      clientSoftwareVersion: '1',
    });
    const frame = await client.nextFrame();
    assert.equal(frame.readInt32BE(0), correlationId);
    assert.equal(frame.readInt16BE(4), 35, 'UNSUPPORTED_VERSION');
    const count = frame.readInt32BE(6);
    const keys = Array.from({ length: count }, (_, i) => frame.readInt16BE(10 + i * 6));
    assert.ok(keys.includes(API_VERSIONS));
    // A client then retries at a version both support.
    const body = await client.request<ApiVersionsBody>(API_VERSIONS, 3, {});
    assert.equal(body.errorCode, 0);
    client.close();
  });

  test('an unknown API key closes the connection; other clients are still served', async () => {
    const bad = await RawKafkaClient.connect(broker.kafka!.port);
    const frame = Buffer.alloc(10);
    frame.writeInt16BE(999, 0);
    frame.writeInt16BE(0, 2);
    frame.writeInt32BE(7, 4);
    frame.writeInt16BE(-1, 8);
    bad.sendFrame(frame);
    await bad.closed;
    const good = await RawKafkaClient.connect(broker.kafka!.port);
    assert.equal((await good.request<ApiVersionsBody>(API_VERSIONS, 0, {})).errorCode, 0);
    good.close();
  });

  test('a request size beyond the limit, a negative size and a truncated body close the connection', async () => {
    for (const bytes of [
      Buffer.from([0x7f, 0xff, 0xff, 0xff]),
      Buffer.from([0xff, 0xff, 0xff, 0xfe]),
      (() => {
        const whole = encodeRequest(
          { apiKey: 18, apiVersion: 3, correlationId: 1, clientId: 'x' },
          {
            clientSoftwareName: 'abcdef',
            clientSoftwareVersion: '1.0',
          },
        );
        const cut = Buffer.from(whole.subarray(0, whole.length - 5));
        cut.writeInt32BE(cut.length - 4, 0);
        return cut;
      })(),
    ]) {
      const client = await RawKafkaClient.connect(broker.kafka!.port);
      client.socket.write(bytes);
      await client.closed;
    }
  });

  test('SaslHandshake on a listener without SASL gets ILLEGAL_SASL_STATE', async () => {
    const client = await RawKafkaClient.connect(broker.kafka!.port);
    const body = await client.request<{ errorCode: number; mechanisms: string[] }>(SASL_HANDSHAKE, 1, {
      mechanism: 'PLAIN',
    });
    assert.equal(body.errorCode, 34);
    assert.deepEqual(body.mechanisms, []);
    client.close();
  });
});

describe('Kafka listener limits', () => {
  test('an idle connection is closed after --kafka-idle-timeout-ms, one beyond --kafka-max-connections at once', async () => {
    const broker = await startTestBroker({ kafkaPort: 0, kafka: { idleTimeoutMs: 300, maxConnections: 2 } });
    try {
      const idle = await RawKafkaClient.connect(broker.kafka!.port);
      const startedAtMs = Date.now();
      await idle.closed;
      assert.ok(Date.now() - startedAtMs >= 250, 'not closed before the timeout');
      // A connection beyond --kafka-max-connections is closed at once.
      const first = await RawKafkaClient.connect(broker.kafka!.port);
      const second = await RawKafkaClient.connect(broker.kafka!.port);
      assert.equal((await first.request<ApiVersionsBody>(API_VERSIONS, 3, {})).errorCode, 0);
      assert.equal((await second.request<ApiVersionsBody>(API_VERSIONS, 3, {})).errorCode, 0);
      const third = await RawKafkaClient.connect(broker.kafka!.port);
      await third.closed;
      first.close();
      second.close();
    } finally {
      await broker.stop();
    }
  });
});

describe('Kafka listener with SASL', () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startTestBroker({ kafkaPort: 0, kafka: { sasl: true } });
    addUser(broker.core, 'alice', 's3cret');
  });
  after(() => broker.stop());

  type AuthBody = { errorCode: number; errorMessage: string | null; authBytes: Buffer };

  async function handshake(client: RawKafkaClient, mechanism: string, version = 1) {
    return client.request<{ errorCode: number; mechanisms: string[] }>(SASL_HANDSHAKE, version, {
      mechanism,
    });
  }

  test('lists PLAIN and SCRAM, refuses an unknown mechanism', async () => {
    const client = await RawKafkaClient.connect(broker.kafka!.port);
    const body = await handshake(client, 'GSSAPI');
    assert.equal(body.errorCode, 33, 'UNSUPPORTED_SASL_MECHANISM');
    assert.deepEqual(body.mechanisms, ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512']);
    client.close();
  });

  test('a request other than ApiVersions before authentication closes the connection', async () => {
    const client = await RawKafkaClient.connect(broker.kafka!.port);
    assert.equal((await client.request<ApiVersionsBody>(API_VERSIONS, 3, {})).errorCode, 0);
    client.send(3, 1, { topics: null });
    await client.closed;
  });

  test('PLAIN through SaslAuthenticate logs in; a wrong password gets SASL_AUTHENTICATION_FAILED and a close', async () => {
    const client = await RawKafkaClient.connect(broker.kafka!.port);
    assert.equal((await handshake(client, 'PLAIN')).errorCode, 0);
    const ok = await client.request<AuthBody>(SASL_AUTHENTICATE, 2, {
      authBytes: Buffer.from('\0alice\0s3cret'),
    });
    assert.equal(ok.errorCode, 0);
    assert.equal((await client.request<ApiVersionsBody>(API_VERSIONS, 3, {})).errorCode, 0);
    client.close();

    const wrong = await RawKafkaClient.connect(broker.kafka!.port);
    assert.equal((await handshake(wrong, 'PLAIN')).errorCode, 0);
    const refused = await wrong.request<AuthBody>(SASL_AUTHENTICATE, 1, {
      authBytes: Buffer.from('\0alice\0nope'),
    });
    assert.equal(refused.errorCode, 58);
    assert.match(refused.errorMessage ?? '', /Authentication failed/);
    await wrong.closed;
  });

  test('PLAIN with bare tokens after SaslHandshake v0 (kafka-python)', async () => {
    const client = await RawKafkaClient.connect(broker.kafka!.port);
    assert.equal((await handshake(client, 'PLAIN', 0)).errorCode, 0);
    client.sendFrame(Buffer.from('\0guest\0guest'));
    assert.equal((await client.nextFrame()).length, 0);
    assert.equal((await client.request<ApiVersionsBody>(API_VERSIONS, 0, {})).errorCode, 0);
    client.close();

    const wrong = await RawKafkaClient.connect(broker.kafka!.port);
    assert.equal((await handshake(wrong, 'PLAIN', 0)).errorCode, 0);
    wrong.sendFrame(Buffer.from('\0guest\0wrong'));
    await wrong.closed;
  });

  for (const [mechanism, digest] of [
    ['SCRAM-SHA-256', 'sha256'],
    ['SCRAM-SHA-512', 'sha512'],
  ] as const) {
    test(`${mechanism} proves both sides; a wrong password fails`, async () => {
      const client = await RawKafkaClient.connect(broker.kafka!.port);
      assert.equal((await handshake(client, mechanism)).errorCode, 0);
      const scram = new ScramClient(digest, 'alice', 's3cret');
      const first = await client.request<AuthBody>(SASL_AUTHENTICATE, 1, { authBytes: scram.first() });
      assert.equal(first.errorCode, 0);
      const final = await client.request<AuthBody>(SASL_AUTHENTICATE, 1, {
        authBytes: scram.final(first.authBytes),
      });
      assert.equal(final.errorCode, 0);
      assert.ok(scram.verify(final.authBytes), 'server signature verifies');
      client.close();

      const wrong = await RawKafkaClient.connect(broker.kafka!.port);
      assert.equal((await handshake(wrong, mechanism)).errorCode, 0);
      const bad = new ScramClient(digest, 'alice', 'guess');
      const challenge = await wrong.request<AuthBody>(SASL_AUTHENTICATE, 1, { authBytes: bad.first() });
      const refused = await wrong.request<AuthBody>(SASL_AUTHENTICATE, 1, {
        authBytes: bad.final(challenge.authBytes),
      });
      assert.equal(refused.errorCode, 58);
      await wrong.closed;
    });
  }
});
