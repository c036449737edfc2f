// SQS over HTTPS with @aws-sdk/client-sqs (an https agent trusting the dev CA): queue URLs given
// over TLS are https URLs on the TLS port; the management API (and its /metrics) over HTTPS.
import assert from 'node:assert/strict';
import { Agent, request } from 'node:https';
import { after, before, describe, test } from 'node:test';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { makeTestCertificates, type TestCertificates } from './certs.js';

let certs: TestCertificates;
let broker: TestBroker;

before(async () => {
  certs = makeTestCertificates('alice');
  broker = await startTestBroker({
    amqpPort: false,
    sqsPort: 0,
    sqsTlsPort: 0,
    httpPort: 0,
    httpsPort: 0,
    tls: certs.tls(),
  });
});

after(async () => {
  await broker.stop();
  certs.remove();
});

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

describe('SQS over HTTPS', () => {
  test('create, send, receive and delete through the TLS endpoint; queue URLs are https', async () => {
    assert.match(broker.sqsTls!.endpoint, /^https:\/\//);
    const sqs = new SQSClient({
      endpoint: `https://localhost:${broker.sqsTls!.port}`,
      region: 'us-east-1',
      credentials,
      requestHandler: { httpsAgent: new Agent({ ca: certs.ca }) },
    });
    try {
      const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'tls-queue' }));
      assert.equal(QueueUrl, `https://localhost:${broker.sqsTls!.port}/000000000000/tls-queue`);
      await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'over https' }));
      const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 1 }));
      assert.equal(Messages?.[0]?.Body, 'over https');
      await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: Messages![0]!.ReceiptHandle! }));
    } finally {
      sqs.destroy();
    }
  });

  test('the plain listener still gives http URLs', async () => {
    const sqs = new SQSClient({ endpoint: broker.sqs!.endpoint, region: 'us-east-1', credentials });
    try {
      const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'tls-queue' }));
      assert.equal(QueueUrl, `${broker.sqs!.endpoint}/000000000000/tls-queue`);
    } finally {
      sqs.destroy();
    }
  });
});

function httpsGet(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        servername: 'localhost',
        port: broker.https!.port,
        path,
        ca: certs.ca,
        auth: 'guest:guest',
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('management API over HTTPS', () => {
  test('GET /api/overview lists the TLS listeners by RabbitMQ protocol names', async () => {
    assert.match(broker.https!.url, /^https:\/\//);
    const { status, body } = await httpsGet('/api/overview');
    assert.equal(status, 200);
    const overview = JSON.parse(body) as { listeners: Array<{ protocol: string; port: number }> };
    const protocols = overview.listeners.map((l) => l.protocol);
    for (const expected of ['sqs', 'sqs/https', 'http', 'https'])
      assert.ok(protocols.includes(expected), protocols.join());
    assert.equal(overview.listeners.find((l) => l.protocol === 'https')?.port, broker.https!.port);
  });

  test('the Prometheus text is served over HTTPS too', async () => {
    const { status, body } = await httpsGet('/metrics');
    assert.equal(status, 200);
    assert.match(body, /^# (HELP|TYPE) /m);
  });
});
