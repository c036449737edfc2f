// A real Prometheus (Debian's /usr/bin/prometheus 2.42) on loopback scrapes Pier's
// /metrics/per-object every second: the queries RabbitMQ's Grafana dashboard "RabbitMQ-Overview"
// (10991) is built on, each joined with rabbitmq_identity_info as the dashboard does, return series
// for a broker under load; and the shipped alert rules (deploy/prometheus/pier-alerts.yml, with
// `for:` shortened to seconds and lower thresholds) fire live: queue depth once its consumer stops,
// Kafka consumer lag once a group's consumer stops and the producer goes on.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type ChannelModel, connect } from 'amqplib';
import kafkajs from 'kafkajs';
import { freeLoopbackPort, startTestBroker, type TestBroker, tempDir } from '../helpers/broker.js';
import { repoRoot } from '../meta/sources.js';

const { Kafka, logLevel } = kafkajs;
const PROMETHEUS = '/usr/bin/prometheus';
const skip = existsSync(PROMETHEUS) ? false : 'prometheus is not installed (apt-get install prometheus)';

/** The dashboard's join: every panel's query is multiplied by this. */
const IDENTITY =
  '* on(instance, job) group_left(rabbitmq_cluster, rabbitmq_node) rabbitmq_identity_info{rabbitmq_cluster=~".+", namespace="", rabbitmq_endpoint="/metrics/per-object"}';

/** Queries of the RabbitMQ-Overview dashboard's panels (the dashboard's shape, Pier's series). */
const DASHBOARD_QUERIES = [
  `sum(rabbitmq_queue_messages_ready ${IDENTITY})`,
  `sum(rabbitmq_queue_messages_unacked ${IDENTITY})`,
  `sum(rate(rabbitmq_global_messages_received_total[60s]) ${IDENTITY})`,
  `sum(rate(rabbitmq_global_messages_routed_total[60s]) ${IDENTITY})`,
  `sum(rate(rabbitmq_global_messages_confirmed_total[60s]) ${IDENTITY})`,
  `sum(rate(rabbitmq_global_messages_delivered_consume_manual_ack_total[60s]) ${IDENTITY})`,
  `sum(rate(rabbitmq_global_messages_acknowledged_total[60s]) ${IDENTITY})`,
  `sum(rate(rabbitmq_global_messages_redelivered_total[60s]) ${IDENTITY})`,
  `sum(rate(rabbitmq_global_messages_unroutable_dropped_total[60s]) ${IDENTITY})`,
  `sum(rate(rabbitmq_global_messages_get_empty_total[60s]) ${IDENTITY})`,
  `sum(rabbitmq_queues ${IDENTITY})`,
  `sum(rabbitmq_connections ${IDENTITY})`,
  `sum(rabbitmq_channels ${IDENTITY})`,
  `sum(rabbitmq_consumers ${IDENTITY})`,
  `sum(rate(rabbitmq_connections_opened_total[60s]) ${IDENTITY})`,
  `sum(rate(rabbitmq_channels_opened_total[60s]) ${IDENTITY})`,
  `sum(rate(rabbitmq_queues_declared_total[60s]) ${IDENTITY})`,
  `sum(rate(rabbitmq_queues_created_total[60s]) ${IDENTITY})`,
  `(rabbitmq_resident_memory_limit_bytes ${IDENTITY}) - (rabbitmq_process_resident_memory_bytes ${IDENTITY})`,
  `rabbitmq_disk_space_available_bytes ${IDENTITY}`,
  `(rabbitmq_process_max_fds ${IDENTITY}) - (rabbitmq_process_open_fds ${IDENTITY})`,
  `rabbitmq_build_info ${IDENTITY}`,
  `rabbitmq_alarms_memory_used_watermark ${IDENTITY}`,
];

let broker: TestBroker;
let prometheus: ChildProcess | undefined;
let prometheusUrl = '';
let dir = '';
let prometheusLog = '';

before(async () => {
  if (skip) return;
  broker = await startTestBroker({
    prometheusPort: 0,
    kafkaPort: 0,
    kafka: { groupInitialRebalanceDelayMs: 0 },
  });
  dir = tempDir('pier-prometheus-');
  const shipped = readFileSync(join(repoRoot(), 'deploy', 'prometheus', 'pier-alerts.yml'), 'utf8');
  const rules = shipped
    .replace(/for: \d+m/g, 'for: 2s')
    .replace('rabbitmq_queue_messages_ready > 10000', 'rabbitmq_queue_messages_ready > 50')
    .replace('kafka_consumergroup_lag_sum > 10000', 'kafka_consumergroup_lag_sum > 50');
  assert.equal((rules.match(/for: 2s/g) ?? []).length, 9);
  writeFileSync(join(dir, 'rules.yml'), rules);
  writeFileSync(
    join(dir, 'prometheus.yml'),
    [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'rule_files:',
      '  - rules.yml',
      'scrape_configs:',
      '  - job_name: pier',
      '    metrics_path: /metrics/per-object',
      '    static_configs:',
      `      - targets: ['127.0.0.1:${broker.prometheus!.port}']`,
      '',
    ].join('\n'),
  );
  mkdirSync(join(dir, 'data'));
  const port = await freeLoopbackPort();
  prometheusUrl = `http://127.0.0.1:${port}`;
  prometheus = spawn(
    PROMETHEUS,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  prometheus.stderr!.on('data', (chunk) => {
    if (prometheusLog.length < 20_000) prometheusLog += chunk;
  });
  await waitFor('Prometheus ready', async () => (await fetch(`${prometheusUrl}/-/ready`)).ok);
});

after(async () => {
  if (prometheus && prometheus.exitCode === null) {
    const exited = new Promise((resolve) => prometheus!.once('exit', resolve));
    prometheus.kill('SIGTERM');
    await exited;
  }
  await broker?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; prometheus log:\n${prometheusLog}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(expr: string): Promise<Sample[]> {
  const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await response.json()) as { status: string; data?: { result: Sample[] }; error?: string };
  assert.equal(body.status, 'success', `${expr}: ${body.error}`);
  return body.data!.result;
}

async function firing(alertname: string): Promise<Record<string, string>[]> {
  const response = await fetch(`${prometheusUrl}/api/v1/alerts`);
  const body = (await response.json()) as {
    data: { alerts: { labels: Record<string, string>; state: string }[] };
  };
  return body.data.alerts
    .filter((a) => a.labels.alertname === alertname && a.state === 'firing')
    .map((a) => a.labels);
}

test('Prometheus scrapes Pier and every RabbitMQ-Overview query returns series under load', {
  skip,
}, async () => {
  let connection: ChannelModel | undefined;
  try {
    connection = await connect(broker.url);
    const channel = await connection.createConfirmChannel();
    await channel.assertQueue('load', { durable: false });
    await channel.consume('load', (m) => m && channel.ack(m));
    const publishing = setInterval(() => {
      for (let i = 0; i < 20; i++) channel.sendToQueue('load', Buffer.from('x'));
    }, 50);
    try {
      await waitFor('the Pier target up', async () => {
        const up = await query('up{job="pier"}');
        return up.length === 1 && up[0]!.value[1] === '1';
      });
      // rate() needs two scrapes with traffic between them.
      await waitFor('a publish rate', async () => {
        const [rate] = await query(`sum(rate(rabbitmq_global_messages_received_total[60s]) ${IDENTITY})`);
        return rate !== undefined && Number(rate.value[1]) > 0;
      });
      for (const expr of DASHBOARD_QUERIES) {
        const result = await query(expr);
        assert.ok(result.length > 0, `no series for ${expr}`);
        for (const sample of result) assert.ok(Number.isFinite(Number(sample.value[1])), expr);
      }
      const [build] = await query(`rabbitmq_build_info ${IDENTITY}`);
      assert.match(build!.metric.rabbitmq_node!, /^pier@/);
      const [connections] = await query(`sum(rabbitmq_connections ${IDENTITY})`);
      assert.equal(connections!.value[1], '1');
    } finally {
      clearInterval(publishing);
    }
  } finally {
    await connection?.close();
  }
});

test('the depth alert fires once a queue consumer stops; the lag alert once a group consumer stops', {
  skip,
}, async () => {
  const connection = await connect(broker.url);
  const kafka = new Kafka({
    clientId: 'pier-alerts',
    brokers: [broker.kafka!.bootstrap],
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  const producer = kafka.producer();
  let consumer: kafkajs.Consumer | undefined;
  try {
    const channel = await connection.createChannel();
    await channel.assertQueue('orders', { durable: false });
    const { consumerTag } = await channel.consume('orders', (m) => m && channel.ack(m));
    for (let i = 0; i < 100; i++) channel.sendToQueue('orders', Buffer.from('x'));
    await waitFor(
      'the consumer to drain orders',
      async () => (await channel.checkQueue('orders')).messageCount === 0,
    );
    await new Promise((resolve) => setTimeout(resolve, 3000));
    assert.deepEqual(await firing('PierQueueDepthHigh'), [], 'no alert while the consumer keeps up');

    // The consumer stops; publishing goes on.
    await channel.cancel(consumerTag);
    for (let i = 0; i < 100; i++) channel.sendToQueue('orders', Buffer.from('x'));
    await waitFor('PierQueueDepthHigh firing', async () => (await firing('PierQueueDepthHigh')).length > 0);
    const [alert] = await firing('PierQueueDepthHigh');
    assert.equal(alert!.queue, 'orders');
    assert.equal(alert!.vhost, '/');
    await waitFor('PierQueueWithoutConsumers firing', async () =>
      (await firing('PierQueueWithoutConsumers')).some((a) => a.queue === 'orders'),
    );

    // A consumer group keeps up, then its consumer stops while the producer goes on.
    await admin.connect();
    await producer.connect();
    await admin.createTopics({ topics: [{ topic: 'clicks', numPartitions: 1 }] });
    const send = (count: number) =>
      producer.send({
        topic: 'clicks',
        acks: -1,
        messages: Array.from({ length: count }, () => ({ value: 'c' })),
      });
    await send(20);
    consumer = kafka.consumer({ groupId: 'reports', maxWaitTimeInMs: 50 });
    let seen = 0;
    await consumer.connect();
    await consumer.subscribe({ topic: 'clicks', fromBeginning: true });
    await consumer.run({
      autoCommitInterval: 100,
      eachMessage: async () => {
        seen++;
      },
    });
    await waitFor('the group to consume and commit', async () => {
      const [lag] = await query('kafka_consumergroup_lag_sum{consumergroup="reports",topic="clicks"}');
      return seen >= 20 && lag !== undefined && lag.value[1] === '0';
    });
    await new Promise((resolve) => setTimeout(resolve, 3000));
    assert.deepEqual(await firing('PierKafkaConsumerLagHigh'), [], 'no lag alert while the group keeps up');
    await consumer.disconnect();
    consumer = undefined;
    await send(100);
    await waitFor('PierKafkaConsumerLagHigh firing', async () =>
      (await firing('PierKafkaConsumerLagHigh')).some(
        (a) => a.consumergroup === 'reports' && a.topic === 'clicks',
      ),
    );
    const [members] = await query('kafka_consumergroup_members{consumergroup="reports"}');
    assert.equal(members!.value[1], '0');
  } finally {
    await consumer?.disconnect();
    await producer.disconnect();
    await admin.disconnect();
    await connection.close();
  }
});
