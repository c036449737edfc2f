/**
 * Shovels inside one Pier, with the real clients at both ends: amqplib → (AMQP queue → Kafka
 * topic) → a kafkajs consumer group; Kafka → SQS → an sqs-consumer worker; an SQS FIFO queue →
 * AMQP in group order. Plus the bad input: refused definitions name the field, an unreachable
 * destination shows its error and the source keeps the message.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import amqplib from 'amqplib';
import { Kafka, logLevel } from 'kafkajs';
import { Consumer } from 'sqs-consumer';
import { setParameter } from '../../src/core/amqp/runtime-parameters.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';

describe('shovels between AMQP, Kafka and SQS inside one Pier', () => {
  let broker: TestBroker;
  let sqs: SQSClient;
  let kafka: Kafka;
  let api: (method: string, path: string, body?: unknown) => Promise<{ status: number; json: unknown }>;

  before(async () => {
    broker = await startTestBroker({
      kafkaPort: 0,
      sqsPort: 0,
      httpPort: 0,
      log: (line) => {
        if (process.env.SHOVEL_DEBUG && line.includes('shovel')) console.error(line);
      },
    });
    sqs = new SQSClient({
      endpoint: broker.sqs!.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    kafka = new Kafka({ brokers: [broker.kafka!.bootstrap], logLevel: logLevel.NOTHING });
    api = async (method, path, body) => {
      const response = await fetch(`${broker.http!.url}${path}`, {
        method,
        headers: {
          authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}`,
          'content-type': 'application/json',
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      return { status: response.status, json: text ? JSON.parse(text) : undefined };
    };
  });
  after(async () => {
    sqs.destroy();
    await broker.stop();
  });

  const shovelStatus = async (name: string) => {
    const { json } = await api('GET', '/api/shovels/%2F');
    return (json as Array<Record<string, unknown>>).find((s) => s.name === name);
  };
  const until = async (what: string, check: () => Promise<boolean>) => {
    for (let i = 0; i < 1200; i++) {
      if (await check()) return;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const { json } = await api('GET', '/api/shovels');
    assert.fail(`timed out waiting for ${what}; shovels: ${JSON.stringify(json)}`);
  };

  test('amqplib publishes → shovel (AMQP queue → Kafka topic, on-confirm) → a kafkajs group reads with headers', async () => {
    const put = await api('PUT', '/api/parameters/shovel/%2F/orders-to-kafka', {
      value: { 'src-queue': 'orders', 'dest-topic': 'orders', 'ack-mode': 'on-confirm' },
    });
    assert.equal(put.status, 201);
    const connection = await amqplib.connect(broker.url);
    const channel = await connection.createConfirmChannel();
    await channel.assertQueue('orders', { durable: true });
    for (let i = 0; i < 20; i++) {
      channel.sendToQueue('orders', Buffer.from(`order ${i}`), {
        messageId: `o-${i}`,
        contentType: 'text/plain',
        headers: { region: 'eu', attempt: i },
        persistent: true,
      });
    }
    await channel.waitForConfirms();
    const consumer = kafka.consumer({ groupId: 'analytics' });
    await consumer.connect();
    await consumer.subscribe({ topic: 'orders', fromBeginning: true });
    const seen: Array<{ value: string; headers: Record<string, string> }> = [];
    const done = new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          const headers = Object.fromEntries(
            Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]),
          );
          seen.push({ value: message.value!.toString(), headers });
          if (seen.length === 20) resolve();
        },
      });
    });
    await done;
    await consumer.disconnect();
    assert.deepEqual(
      seen.map((s) => s.value).sort(),
      Array.from({ length: 20 }, (_, i) => `order ${i}`).sort(),
    );
    const first = seen.find((s) => s.value === 'order 3')!;
    assert.equal(first.headers.region, 'eu');
    assert.equal(first.headers.attempt, '3');
    assert.equal(first.headers['message-id'], 'o-3');
    assert.equal(first.headers['content-type'], 'text/plain');
    assert.equal(first.headers['x-shovel-message-id'], '//orders-to-kafka/amqp/o-3');
    // on-confirm: the source queue is empty once everything was confirmed downstream.
    await until(
      'the source queue to drain',
      async () => (await channel.checkQueue('orders')).messageCount === 0,
    );
    const status = await shovelStatus('orders-to-kafka');
    assert.equal(status?.state, 'running');
    assert.equal(status?.messages_moved, 20);
    await connection.close();
  });

  test('Kafka → shovel → SQS queue → an sqs-consumer worker processes with attributes', async () => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'events' }));
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: 'events',
      messages: [0, 1, 2].map((i) => ({
        key: `user-${i}`,
        value: `event ${i}`,
        headers: { source: 'kafka' },
      })),
    });
    await producer.disconnect();
    setParameter(broker.core, 'shovel', '/', 'events-to-sqs', {
      'src-topic': 'events',
      'dest-sqs-queue': 'events',
    });
    const received: Array<{ body: string; source?: string; id?: string }> = [];
    const worker = Consumer.create({
      queueUrl: QueueUrl!,
      sqs,
      messageAttributeNames: ['All'],
      waitTimeSeconds: 1,
      handleMessage: async (message) => {
        received.push({
          body: message.Body!,
          source: message.MessageAttributes?.source?.StringValue,
          id: message.MessageAttributes?.['x-shovel-message-id']?.StringValue,
        });
        return message;
      },
    });
    worker.start();
    await until('three SQS messages', async () => received.length >= 3);
    worker.stop({ abort: true });
    assert.deepEqual(received.map((r) => r.body).sort(), ['event 0', 'event 1', 'event 2']);
    assert.ok(received.every((r) => r.source === 'kafka'));
    assert.ok(received.every((r) => r.id?.startsWith('//events-to-sqs/kafka/events/0/')));
  });

  test('SQS FIFO → shovel → AMQP: an amqplib consumer receives each group in order', async () => {
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({
        QueueName: 'jobs.fifo',
        Attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'true' },
      }),
    );
    for (let i = 0; i < 10; i++) {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl,
          MessageBody: `job ${i % 2 === 0 ? 'a' : 'b'} ${i}`,
          MessageGroupId: i % 2 === 0 ? 'a' : 'b',
          MessageAttributes: { n: { DataType: 'Number', StringValue: String(i) } },
        }),
      );
    }
    setParameter(broker.core, 'shovel', '/', 'jobs-to-amqp', {
      'src-sqs-queue': 'jobs.fifo',
      'dest-queue': 'jobs',
    });
    const connection = await amqplib.connect(broker.url);
    const channel = await connection.createChannel();
    await channel.assertQueue('jobs', { durable: true });
    const got: Array<{ body: string; group: unknown; n: unknown }> = [];
    await channel.consume('jobs', (m) => {
      got.push({
        body: m!.content.toString(),
        group: m!.properties.headers?.['x-message-key'],
        n: m!.properties.headers?.n,
      });
      channel.ack(m!);
    });
    await until('ten AMQP deliveries', async () => got.length >= 10);
    for (const group of ['a', 'b']) {
      const ns = got.filter((g) => g.group === group).map((g) => g.n);
      assert.deepEqual(
        ns,
        [...ns].sort((x, y) => Number(x) - Number(y)),
        `group ${group} in order`,
      );
      assert.equal(ns.length, 5);
    }
    assert.equal(typeof got[0]!.n, 'number', 'an SQS Number attribute arrives as an AMQP number');
    await until('the FIFO source to drain', async () => {
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      return (
        Attributes?.ApproximateNumberOfMessages === '0' &&
        Attributes?.ApproximateNumberOfMessagesNotVisible === '0'
      );
    });
    await connection.close();
  });

  test('invalid definitions are refused with the field named', async () => {
    const bad = await api('PUT', '/api/parameters/shovel/%2F/bad', {
      value: { 'src-queue': 'a', 'dest-topic': 'b', 'ack-mode': 'sometimes' },
    });
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(bad.json), /ack-mode/);
    const none = await api('PUT', '/api/parameters/shovel/%2F/bad', { value: { 'src-queue': 'a' } });
    assert.match(JSON.stringify(none.json), /dest-queue/);
    const typo = await api('PUT', '/api/parameters/shovel/%2F/bad', {
      value: { 'src-queue': 'a', 'dest-queue': 'b', 'dest-ur': 'x' },
    });
    assert.match(JSON.stringify(typo.json), /dest-ur/);
    const scheme = await api('PUT', '/api/parameters/shovel/%2F/bad', {
      value: { 'src-queue': 'a', 'dest-topic': 'b', 'dest-uri': 'amqp://h' },
    });
    assert.match(JSON.stringify(scheme.json), /dest-uri/);
  });

  test('an unreachable destination: the shovel shows the error, retries, and the source keeps the message', async () => {
    const connection = await amqplib.connect(broker.url);
    const channel = await connection.createConfirmChannel();
    await channel.assertQueue('stuck', { durable: true });
    channel.sendToQueue('stuck', Buffer.from('keep me'), { persistent: true });
    await channel.waitForConfirms();
    // Port 1 on loopback refuses connections.
    setParameter(broker.core, 'shovel', '/', 'to-nowhere', {
      'src-queue': 'stuck',
      'dest-uri': 'amqp://guest:guest@127.0.0.1:1',
      'dest-queue': 'x',
      'reconnect-delay': 0.05,
    });
    await until(
      'the error to show',
      async () => typeof (await shovelStatus('to-nowhere'))?.last_error === 'string',
    );
    const status = await shovelStatus('to-nowhere');
    assert.notEqual(status?.state, 'running');
    assert.match(String(status?.last_error), /ECONNREFUSED|connect/);
    assert.equal((await channel.checkQueue('stuck')).messageCount, 1);
    await api('DELETE', '/api/parameters/shovel/%2F/to-nowhere');
    assert.equal(await shovelStatus('to-nowhere'), undefined);
    await connection.close();
  });
});
