/**
 * The disk alarm as Kafka and SQS clients see it (AMQP's connection.blocked is in
 * test/protocol/amqp/resource-alarms.test.ts): while free space is below --disk-free-limit,
 * kafkajs gets KAFKA_STORAGE_ERROR (retriable) and the SQS SDK a 503 ServiceUnavailable; both
 * retry and succeed once the alarm clears; consumers keep reading meanwhile. The health checks and
 * metrics report the alarm. A write failing with ENOSPC raises the same alarm without a measurement.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CreateQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import kafkajs from 'kafkajs';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { TEST_KAFKA_SETTINGS } from '../helpers/kafka.js';

const { Kafka, logLevel } = kafkajs;
const LIMIT_BYTES = 1000;

describe('disk alarm: Kafka and SQS writers are refused with retriable errors', () => {
  let broker: TestBroker;
  let diskFreeBytes = 1_000_000;
  const logLines: string[] = [];
  const setDiskFree = (bytes: number) => {
    diskFreeBytes = bytes;
    broker.resources.check();
  };

  before(async () => {
    broker = await startTestBroker({
      amqpPort: false,
      kafkaPort: 0,
      sqsPort: 0,
      httpPort: 0,
      prometheusPort: 0,
      kafka: TEST_KAFKA_SETTINGS,
      log: (line) => logLines.push(line),
      resources: { diskFreeLimitBytes: LIMIT_BYTES, diskFreeBytes: () => diskFreeBytes },
    });
  });
  after(async () => {
    setDiskFree(1_000_000);
    await broker.stop();
  });

  const sqsClient = (maxAttempts: number) =>
    new SQSClient({
      endpoint: broker.sqs!.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' },
      maxAttempts,
    });

  const health = async (path: string) => {
    const res = await fetch(`${broker.http!.url}${path}`, {
      headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` },
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const metric = async (name: string) => {
    const text = await (await fetch(`http://127.0.0.1:${broker.prometheus!.port}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line === undefined ? undefined : Number(line.split(' ')[1]);
  };

  it('Kafka produce: KAFKA_STORAGE_ERROR during the alarm; a retrying producer succeeds after it; consumers read on', async () => {
    const kafka = new Kafka({
      clientId: 'disk-alarm',
      brokers: [broker.kafka!.bootstrap],
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'full', numPartitions: 1 }] });
    const producer = kafka.producer({ retry: { retries: 0 } });
    const retrying = kafka.producer({ retry: { retries: 30, initialRetryTime: 50, maxRetryTime: 200 } });
    const consumer = kafka.consumer({ groupId: 'drain', heartbeatInterval: 100 });
    try {
      await producer.connect();
      await retrying.connect();
      await producer.send({ topic: 'full', acks: -1, messages: [{ value: 'before' }] });

      setDiskFree(LIMIT_BYTES - 1);
      assert.match(logLines.join('\n'), /disk resource limit alarm set/);
      await assert.rejects(
        producer.send({ topic: 'full', acks: -1, messages: [{ value: 'refused' }] }),
        (err: Error) => {
          const cause = (err as { cause?: { type?: string; retriable?: boolean } }).cause ?? err;
          const { type, retriable } = cause as { type?: string; retriable?: boolean };
          assert.equal(type, 'KAFKA_STORAGE_ERROR', String(err));
          assert.equal(retriable, true);
          return true;
        },
      );

      // Consumers keep reading while the alarm is raised.
      const seen: string[] = [];
      let onSeen = () => {};
      await consumer.connect();
      await consumer.subscribe({ topic: 'full', fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          seen.push(String(message.value));
          onSeen();
        },
      });
      const waitSeen = (value: string) =>
        new Promise<void>((resolve) => {
          onSeen = () => seen.includes(value) && resolve();
          onSeen();
        });
      await waitSeen('before');

      // A retrying producer's send is refused until the alarm clears (after two refused attempts
      // here), then goes through.
      let produceRequests = 0;
      retrying.on(retrying.events.REQUEST, ({ payload }) => {
        if (payload.apiName === 'Produce' && ++produceRequests === 2) setDiskFree(1_000_000);
      });
      const [answer] = await retrying.send({ topic: 'full', acks: -1, messages: [{ value: 'after' }] });
      assert.equal(answer!.errorCode, 0);
      assert.ok(produceRequests >= 3, `refused twice, then accepted (${produceRequests} requests)`);
      await waitSeen('after');
      assert.ok(!seen.includes('refused'));
    } finally {
      setDiskFree(1_000_000);
      await consumer.disconnect();
      await producer.disconnect();
      await retrying.disconnect();
      await admin.disconnect();
    }
  });

  it('SQS SendMessage and SendMessageBatch: 503 ServiceUnavailable during the alarm; receives go on; the SDK retries into success', async () => {
    const once = sqsClient(1);
    const retrying = sqsClient(10);
    try {
      const { QueueUrl } = await once.send(new CreateQueueCommand({ QueueName: 'full' }));
      await once.send(new SendMessageCommand({ QueueUrl, MessageBody: 'before' }));
      setDiskFree(LIMIT_BYTES - 1);
      await assert.rejects(
        once.send(new SendMessageCommand({ QueueUrl, MessageBody: 'refused' })),
        (err: Error) => {
          const meta = (err as { $metadata?: { httpStatusCode?: number }; $fault?: string }) ?? {};
          assert.equal(err.name, 'ServiceUnavailable', String(err));
          assert.equal(meta.$metadata?.httpStatusCode, 503);
          assert.equal(meta.$fault, 'server');
          assert.match(err.message, /disk alarm/);
          return true;
        },
      );
      await assert.rejects(
        once.send(new SendMessageBatchCommand({ QueueUrl, Entries: [{ Id: 'a', MessageBody: 'refused' }] })),
        { name: 'ServiceUnavailable' },
      );
      // A consumer keeps receiving.
      const received = await once.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 0 }));
      assert.deepEqual(
        received.Messages?.map((m) => m.Body),
        ['before'],
      );
      // The SDK's retries (with backoff) carry the send over the alarm: it clears after the first attempt.
      let attempts = 0;
      retrying.middlewareStack.add(
        (next) => async (args) => {
          attempts++;
          try {
            return await next(args);
          } finally {
            if (attempts === 1) setDiskFree(1_000_000);
          }
        },
        { step: 'deserialize', name: 'clearDiskAlarmAfterFirstAttempt' },
      );
      const sent = await retrying.send(new SendMessageCommand({ QueueUrl, MessageBody: 'after' }));
      assert.ok(sent.MessageId);
      assert.ok((sent.$metadata.attempts ?? 1) > 1, 'the first attempt was refused');
    } finally {
      setDiskFree(1_000_000);
      once.destroy();
      retrying.destroy();
    }
  });

  it('the health checks and metrics report the disk alarm, raised by the limit or by a write failing with ENOSPC', async () => {
    assert.equal((await health('/api/health/checks/alarms')).status, 200);
    assert.equal(await metric('rabbitmq_alarms_free_disk_space_watermark'), 0);
    setDiskFree(LIMIT_BYTES - 1);
    for (const path of ['/api/health/checks/alarms', '/api/health/checks/local-alarms']) {
      const { status, body } = await health(path);
      assert.equal(status, 503);
      assert.deepEqual(body.alarms, [{ node: 'pier@localhost', resource: 'disk' }]);
    }
    assert.equal(await metric('rabbitmq_alarms_free_disk_space_watermark'), 1);
    setDiskFree(1_000_000);
    assert.equal((await health('/api/health/checks/alarms')).status, 200);

    // A write refused by the file system raises the alarm whatever the last measurement said.
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    broker.resources.diskWriteFailing(enospc);
    assert.equal((await health('/api/health/checks/alarms')).status, 503);
    assert.equal(await metric('rabbitmq_alarms_free_disk_space_watermark'), 1);
    assert.equal(await metric('pier_storage_write_failing'), 1);
    assert.match(logLines.join('\n'), /disk resource limit alarm set: writing to .* fails \(ENOSPC/);
    // Other write errors are not a full disk: they do not touch the alarm.
    broker.resources.diskWriteFailing(Object.assign(new Error('EIO'), { code: 'EIO' }));
    assert.equal(await metric('pier_storage_write_failing'), 1);
    broker.resources.diskWriteFailing(undefined);
    assert.equal((await health('/api/health/checks/alarms')).status, 200);
    assert.equal(await metric('pier_storage_write_failing'), 0);
    assert.equal(await metric('pier_storage_failed'), 0);
  });
});
