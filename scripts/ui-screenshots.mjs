// Screenshots of every page of the web UI into docs/screenshots/*.png (1280 px wide, and a few at
// phone width), from a broker started here with realistic traffic: AMQP queues with ten minutes
// of rate samples (the clock is warped forward 5 s at a time while clients publish and consume),
// Kafka topics and groups, SQS queues with a dead-letter queue.
//   npm run build && node scripts/ui-screenshots.mjs
// Uses Debian's Chromium (/usr/bin/chromium, or PIER_CHROMIUM) through playwright-core.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { connect } from 'amqplib';
import kafkajs from 'kafkajs';
import { startBroker } from '../dist/src/index.js';
import { launchChromium } from '../dist/test/helpers/chromium.js';
import { WarpClock } from '../dist/test/helpers/warp-clock.js';

const OUT = fileURLToPath(new URL('../docs/screenshots/', import.meta.url));
const STEPS = 100; // 5 s samples of history

const dataDir = mkdtempSync(join(tmpdir(), 'pier-screens-'));
// Start in the past so that the warped history ends about now.
const clock = new WarpClock(Date.now() - STEPS * 5000);
const broker = await startBroker({
  dataDir,
  clock,
  amqpPort: 0,
  kafkaPort: 0,
  sqsPort: 0,
  httpPort: 0,
  prometheusPort: false,
  fsync: 'never',
  log: () => {},
  kafka: { groupInitialRebalanceDelayMs: 0 },
});
const base = broker.http.url;
const auth = `Basic ${Buffer.from('guest:guest').toString('base64')}`;
async function api(method, path, body) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: auth, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.status === 204 ? undefined : res.json().catch(() => undefined);
}

try {
  // Users, vhosts, permissions, a policy.
  await api('PUT', '/api/vhosts/staging', { description: 'Staging services' });
  await api('PUT', '/api/users/ops', { password: 'ops', tags: 'monitoring' });
  await api('PUT', '/api/users/orders-svc', { password: 'pw', tags: '' });
  await api('PUT', '/api/permissions/%2F/orders-svc', {
    configure: '^orders\\.',
    write: '^orders',
    read: '^orders\\.',
  });
  await api('PUT', '/api/permissions/staging/guest', { configure: '.*', write: '.*', read: '.*' });
  await api('PUT', '/api/policies/%2F/orders-limits', {
    pattern: '^orders\\.',
    'apply-to': 'queues',
    priority: 1,
    definition: { 'max-length': 100000, 'dead-letter-exchange': 'dlx' },
  });

  // AMQP: exchanges, queues, bindings, clients.
  const publisherConn = await connect(broker.amqp.url, {
    clientProperties: { connection_name: 'orders-api' },
  });
  const consumerConn = await connect(broker.amqp.url, {
    clientProperties: { connection_name: 'billing-worker' },
  });
  const pub = await publisherConn.createConfirmChannel();
  const sub = await consumerConn.createChannel();
  await pub.assertExchange('orders', 'topic', { durable: true });
  await pub.assertExchange('dlx', 'fanout', { durable: true });
  await pub.assertExchange('notifications', 'fanout', { durable: true });
  const queues = [
    'orders.created',
    'orders.shipped',
    'orders.dead',
    'billing.invoices',
    'email.outbox',
    'sms.outbox',
    'audit.log',
  ];
  for (const q of queues) await pub.assertQueue(q, { durable: true });
  await pub.bindQueue('orders.created', 'orders', 'order.created.#');
  await pub.bindQueue('orders.shipped', 'orders', 'order.shipped.#');
  await pub.bindQueue('billing.invoices', 'orders', 'order.*.paid');
  await pub.bindQueue('orders.dead', 'dlx', '');
  await pub.bindQueue('email.outbox', 'notifications', '');
  await pub.bindQueue('sms.outbox', 'notifications', '');
  for (let i = 0; i < 40; i++)
    await pub.assertQueue(`tenant-${String(i).padStart(3, '0')}.events`, { durable: true });
  await sub.prefetch(50);
  // The orders.created consumer stalls for a while (its prefetch fills, messages wait unacked).
  let consuming = true;
  const held = [];
  await sub.consume('orders.created', (m) => {
    if (!m) return;
    if (consuming) sub.ack(m);
    else held.push(m);
  });
  await sub.consume('email.outbox', (m) => m && sub.ack(m));

  // Kafka: topics and a group that stopped consuming (its lag grows with every step below).
  const kafka = new kafkajs.Kafka({
    clientId: 'screens',
    brokers: [broker.kafka.bootstrap],
    logLevel: kafkajs.logLevel.NOTHING,
  });
  const admin = kafka.admin();
  const producer = kafka.producer();
  await admin.connect();
  await producer.connect();
  await admin.createTopics({
    topics: [
      { topic: 'clickstream', numPartitions: 3 },
      { topic: 'audit', numPartitions: 1 },
    ],
  });
  const produce = async (n) => {
    await producer.send({
      topic: 'clickstream',
      acks: -1,
      messages: Array.from({ length: n }, (_, i) => ({
        key: `user-${i % 17}`,
        value: JSON.stringify({ page: `/p/${i}`, ms: i * 3 }),
      })),
    });
  };
  await produce(600);
  await producer.send({
    topic: 'audit',
    acks: -1,
    messages: [{ value: 'login ops' }, { value: 'policy orders-limits set' }],
  });
  await admin.setOffsets({
    groupId: 'reporting',
    topic: 'clickstream',
    partitions: [0, 1, 2].map((partition) => ({ partition, offset: '40' })),
  });
  // Ten minutes of traffic, warped: a wave of orders, a consumer that falls behind and catches up.
  for (let step = 0; step < STEPS; step++) {
    const wave = Math.round(30 + 25 * Math.sin(step / 8) + (step > 55 && step < 75 ? 60 : 0));
    for (let i = 0; i < wave; i++) {
      pub.publish(
        'orders',
        i % 5 === 0 ? 'order.us.paid' : 'order.created.eu',
        Buffer.from(JSON.stringify({ id: step * 1000 + i, total: (i * 7.3).toFixed(2) })),
        {
          persistent: true,
          contentType: 'application/json',
        },
      );
    }
    if (step % 3 === 0)
      pub.publish('orders', 'order.shipped.eu', Buffer.from(`{"id":${step}}`), { persistent: true });
    if (step % 2 === 0)
      pub.publish('notifications', '', Buffer.from(`Your order ${step} is on its way`), { persistent: true });
    if (step % 10 === 0)
      pub.publish('dlx', '', Buffer.from(`{"id":${step},"error":"card declined"}`), { persistent: true });
    await pub.waitForConfirms();
    if (step % 4 === 0) await produce(10 + (step % 7));
    consuming = step < 50 || step > 78;
    if (consuming) for (const m of held.splice(0)) sub.ack(m);
    await new Promise((r) => setTimeout(r, 20));
    clock.warp(5000);
  }
  consuming = true;

  const consumer = kafka.consumer({ groupId: 'analytics', heartbeatInterval: 500 });
  await consumer.connect();
  await consumer.subscribe({ topic: 'clickstream', fromBeginning: true });
  let seen = 0;
  await consumer.run({
    eachMessage: async () => {
      seen++;
      if (seen > 300) await new Promise((r) => setTimeout(r, 30));
    },
  });

  // SQS: a queue with a dead-letter queue holding failed messages.
  const sqs = new SQSClient({
    endpoint: broker.sqs.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' },
  });
  const dlqUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'payments-dlq' }))).QueueUrl;
  const dlqArn = (
    await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }))
  ).Attributes.QueueArn;
  const payUrl = (
    await sqs.send(
      new CreateQueueCommand({
        QueueName: 'payments',
        Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 1 }) },
      }),
    )
  ).QueueUrl;
  await sqs.send(
    new CreateQueueCommand({
      QueueName: 'jobs.fifo',
      Attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'true' },
    }),
  );
  for (let i = 0; i < 4; i++)
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: payUrl,
        MessageBody: JSON.stringify({ payment: i, amount: 10 + i }),
      }),
    );
  for (let i = 0; i < 2; i++)
    await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: payUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }),
    );
  for (let i = 0; i < 25; i++)
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: payUrl,
        MessageBody: JSON.stringify({ payment: 100 + i }),
        DelaySeconds: i < 5 ? 60 : 0,
      }),
    );
  await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: payUrl, MaxNumberOfMessages: 3, VisibilityTimeout: 120 }),
  );

  // Screenshots.
  mkdirSync(OUT, { recursive: true });
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
  await page.addInitScript(() => localStorage.setItem('pier.refreshMs', '1000'));
  await page.goto(`${base}/`);
  await page.screenshot({ path: join(OUT, 'login.png') });
  await page.getByLabel('Username').fill('guest');
  await page.getByLabel('Password').fill('guest');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
  await page.waitForTimeout(1500);
  const shots = [
    ['overview', '', 'Overview'],
    ['connections', 'connections', 'Connections'],
    ['channels', 'channels', 'Channels'],
    ['exchanges', 'exchanges', 'Exchanges'],
    ['exchange', 'exchanges/%2F/orders', 'Exchange orders'],
    ['queues', 'queues', 'Queues'],
    ['queue', 'queues/%2F/billing.invoices', 'Queue billing.invoices'],
    ['kafka-topics', 'kafka/topics', 'Kafka topics'],
    ['kafka-topic', 'kafka/topics/clickstream', 'Topic clickstream'],
    ['kafka-groups', 'kafka/groups', 'Kafka consumer groups'],
    ['kafka-group', 'kafka/groups/reporting', 'Group reporting'],
    ['sqs-queues', 'sqs', 'SQS queues'],
    ['sqs-queue', 'sqs/payments-dlq', 'SQS queue payments-dlq'],
    ['users', 'admin/users', 'Users'],
    ['permissions', 'admin/permissions', 'Permissions'],
    ['policies', 'admin/policies', 'Policies'],
    ['definitions', 'admin/definitions', 'Definitions'],
  ];
  for (const [file, hash, heading] of shots) {
    await page.goto(`${base}/#/${hash}`);
    await page.getByRole('heading', { level: 1, name: heading }).waitFor();
    if (file === 'queue') {
      const form = page.locator('form.read-form');
      await form.getByLabel('Count').fill('2');
      await form.getByRole('button', { name: 'Show messages' }).click();
      await page.locator('.messages .message').nth(1).waitFor();
    }
    if (file === 'sqs-queue') {
      await page.getByRole('button', { name: 'Peek messages' }).click();
      await page.locator('.messages .message').first().waitFor();
    }
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(OUT, `${file}.png`), fullPage: file !== 'queues' });
    console.log(`docs/screenshots/${file}.png`);
  }
  await page.setViewportSize({ width: 390, height: 844 });
  for (const [file, hash, heading] of [
    ['phone-overview', '', 'Overview'],
    ['phone-queues', 'queues', 'Queues'],
  ]) {
    await page.goto(`${base}/#/${hash}`);
    await page.getByRole('heading', { level: 1, name: heading }).waitFor();
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(OUT, `${file}.png`), fullPage: file !== 'phone-queues' });
    console.log(`docs/screenshots/${file}.png`);
  }
  await browser.close();
  await consumer.disconnect();
  await producer.disconnect();
  await admin.disconnect();
  sqs.destroy();
  await publisherConn.close();
  await consumerConn.close();
} finally {
  await broker.close();
  rmSync(dataDir, { recursive: true, force: true });
}
