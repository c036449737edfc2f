// Brute-force login throttling across the protocols (--login-max-failures): failed logins from one
// address over AMQP, Kafka SASL, SQS SigV4 and the HTTP API count together; once locked out, even
// correct credentials are refused (with a reason that says so) until the lockout ends. Loopback is
// exempt by default, so these tests opt in with --login-throttle-loopback.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import amqplib from 'amqplib';
import kafkajs from 'kafkajs';
import { addUser } from '../../src/core/amqp/management.js';
import { ManualClock } from '../../src/core/manual-clock.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';

const { Kafka, logLevel } = kafkajs;
const KEY = { accessKeyId: 'AKIDTHROTTLE', secretAccessKey: 'throttle-secret' };
const LOCKOUT_MS = 30_000;

const amqpUrl = (broker: TestBroker, password: string) =>
  `amqp://guest:${password}@127.0.0.1:${broker.amqp!.port}`;

async function amqpLogin(broker: TestBroker, password: string): Promise<void> {
  const connection = await amqplib.connect(amqpUrl(broker, password));
  await connection.close();
}

async function kafkaLogin(broker: TestBroker, password: string): Promise<void> {
  const admin = new Kafka({
    clientId: 'throttle',
    brokers: [broker.kafka!.bootstrap],
    sasl: { mechanism: 'scram-sha-256', username: 'app', password },
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  }).admin();
  try {
    await admin.connect();
  } finally {
    await admin.disconnect();
  }
}

async function sqsCall(broker: TestBroker, secretAccessKey: string): Promise<void> {
  const sqs = new SQSClient({
    endpoint: broker.sqs!.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: KEY.accessKeyId, secretAccessKey },
    maxAttempts: 1,
  });
  try {
    await sqs.send(new ListQueuesCommand({}));
  } finally {
    sqs.destroy();
  }
}

async function httpStatus(broker: TestBroker, password: string): Promise<{ status: number; reason: string }> {
  const response = await fetch(`${broker.http!.url}/api/whoami`, {
    headers: { authorization: `Basic ${Buffer.from(`guest:${password}`).toString('base64')}` },
  });
  const body = (await response.json()) as { reason?: string };
  return { status: response.status, reason: body.reason ?? '' };
}

describe('login throttling (opted in for loopback)', () => {
  let broker: TestBroker;
  let clock: ManualClock;
  const logs: string[] = [];

  before(async () => {
    clock = new ManualClock(Date.now());
    broker = await startTestBroker({
      clock,
      kafkaPort: 0,
      kafka: { sasl: true },
      sqsPort: 0,
      sqs: { accessKeys: [KEY] },
      httpPort: 0,
      login: { maxFailures: 4, lockoutMs: LOCKOUT_MS, includeLoopback: true },
      log: (line) => logs.push(line),
    });
    addUser(broker.core, 'app', 'app-secret');
  });
  after(() => broker.stop());

  it('failures over every protocol count together; then correct credentials are refused until the lockout ends', async () => {
    await assert.rejects(amqpLogin(broker, 'wrong'), /ACCESS.REFUSED/);
    await assert.rejects(kafkaLogin(broker, 'wrong'), /SASL|[Aa]uthentication/);
    await assert.rejects(sqsCall(broker, 'wrong-secret'), { name: 'SignatureDoesNotMatch' });
    assert.equal((await httpStatus(broker, 'wrong')).status, 401);

    // The fourth failure locked 127.0.0.1 out: the right credentials do not help now.
    await assert.rejects(amqpLogin(broker, 'guest'), /too many failed logins from 127\.0\.0\.1/);
    await assert.rejects(kafkaLogin(broker, 'app-secret'), /too many failed logins/);
    await assert.rejects(sqsCall(broker, KEY.secretAccessKey), (error: Error) => {
      assert.equal(error.name, 'ThrottlingException');
      assert.match(error.message, /too many failed logins/);
      return true;
    });
    const locked = await httpStatus(broker, 'guest');
    assert.equal(locked.status, 401);
    assert.match(locked.reason, /too many failed logins from 127\.0\.0\.1; try again in 30 s/);

    clock.advance(LOCKOUT_MS);
    await amqpLogin(broker, 'guest');
    await kafkaLogin(broker, 'app-secret');
    await sqsCall(broker, KEY.secretAccessKey);
    assert.equal((await httpStatus(broker, 'guest')).status, 200);
  });

  it('credentials and message bodies never reach the log', async () => {
    const connection = await amqplib.connect(amqpUrl(broker, 'guest'));
    const channel = await connection.createConfirmChannel();
    await channel.assertQueue('quiet', { durable: true });
    channel.sendToQueue('quiet', Buffer.from('body-that-must-not-be-logged'), { persistent: true });
    await channel.waitForConfirms();
    await connection.close();
    assert.ok(logs.length > 0, 'the refusals above were logged');
    const secrets = ['app-secret', 'wrong-secret', KEY.secretAccessKey, 'body-that-must-not-be-logged'];
    const basic = Buffer.from('guest:guest').toString('base64');
    for (const line of logs) {
      for (const secret of [...secrets, basic]) assert.ok(!line.includes(secret), `logged: ${line}`);
    }
  });
});

describe('login throttling defaults', () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startTestBroker({ httpPort: 0 });
  });
  after(() => broker.stop());

  it('loopback clients are never locked out by default', async () => {
    for (let i = 0; i < 15; i++) await assert.rejects(amqpLogin(broker, 'wrong'), /ACCESS.REFUSED/);
    await amqpLogin(broker, 'guest');
    assert.equal((await httpStatus(broker, 'guest')).status, 200);
  });
});
