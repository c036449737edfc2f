// The Prometheus listener over real HTTP, with real client traffic: amqplib (RabbitMQ's names and
// counters), kafkajs (kafka_exporter's names: offsets, committed offsets, lag) and the AWS SDK for
// SQS (gauges and counters mirroring CloudWatch's AWS/SQS), on a broker started with
// prometheusPort: 0.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { connect } from 'amqplib';
import kafkajs from 'kafkajs';
import { ManualClock } from '../../src/index.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { scrape, value } from './scrape.js';

const { Kafka, logLevel } = kafkajs;

describe('the Prometheus listener', () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startTestBroker({
      prometheusPort: 0,
      kafkaPort: 0,
      kafka: { groupInitialRebalanceDelayMs: 0 },
    });
  });
  after(async () => {
    await broker.stop();
  });

  test('answers /metrics and /metrics/per-object in the text format 0.0.4, 404 elsewhere, 405 for POST', async () => {
    assert.ok(broker.prometheus);
    assert.equal(broker.prometheus.url, `http://127.0.0.1:${broker.prometheus.port}/metrics`);
    for (const path of ['/metrics', '/metrics/per-object']) {
      const s = await scrape(`http://127.0.0.1:${broker.prometheus.port}${path}`);
      assert.equal(s.status, 200);
      assert.equal(s.contentType, 'text/plain; version=0.0.4; charset=utf-8');
      assert.match(s.text, /^# HELP rabbitmq_identity_info /);
      assert.equal(s.types.get('rabbitmq_queue_messages_ready'), 'gauge');
      assert.equal(s.types.get('rabbitmq_global_messages_received_total'), 'counter');
      const identity = [...s.samples.keys()].find((k) => k.startsWith('rabbitmq_identity_info{'));
      assert.ok(identity);
      assert.match(identity, /rabbitmq_node="pier@[^"]+",rabbitmq_cluster="pier@[^"]+"/);
      assert.match(identity, /rabbitmq_cluster_permanent_id="pier-cluster-id-[\w-]+"/);
      assert.ok(identity.includes(`rabbitmq_endpoint="${path}"`), identity);
      assert.ok(
        [...s.samples.keys()].some((k) => k.startsWith('rabbitmq_build_info{rabbitmq_version="0.1.0"')),
      );
      assert.ok(value(s, 'rabbitmq_process_resident_memory_bytes') > 0);
      assert.ok(value(s, 'rabbitmq_process_open_fds') > 0);
      assert.ok(value(s, 'rabbitmq_process_max_fds') >= value(s, 'rabbitmq_process_open_fds'));
      assert.ok(value(s, 'rabbitmq_resident_memory_limit_bytes') > 0);
      assert.ok(value(s, 'rabbitmq_disk_space_available_bytes') > 0);
      assert.equal(value(s, 'rabbitmq_disk_space_available_limit_bytes'), 50_000_000);
      assert.equal(value(s, 'rabbitmq_alarms_memory_used_watermark'), 0);
      assert.equal(value(s, 'rabbitmq_alarms_free_disk_space_watermark'), 0);
      assert.equal(value(s, 'kafka_brokers'), 1);
    }
    const missing = await fetch(`http://127.0.0.1:${broker.prometheus.port}/api/overview`);
    assert.equal(missing.status, 404);
    await missing.text();
    const post = await fetch(broker.prometheus.url, { method: 'POST' });
    assert.equal(post.status, 405);
    await post.text();
    assert.equal(broker.renderMetrics('/metrics/per-object').includes('rabbitmq_queue_info'), true);
  });

  test('AMQP traffic through amqplib moves the queue gauges and RabbitMQ global counters', async () => {
    const base = (await scrape(broker.prometheus!.url)).samples;
    const before = (name: string) => base.get(name) ?? 0;
    const connection = await connect(broker.url);
    try {
      const channel = await connection.createConfirmChannel();
      await channel.assertQueue('metrics-q', { durable: false });
      await channel.assertQueue('metrics-q', { durable: false });
      for (let i = 0; i < 5; i++) channel.sendToQueue('metrics-q', Buffer.from(`m${i}`));
      channel.publish('amq.direct', 'nowhere', Buffer.from('x'));
      await channel.waitForConfirms();

      let s = await scrape(`${broker.prometheus!.url}/per-object`);
      const q = '{vhost="/",queue="metrics-q"}';
      assert.equal(value(s, `rabbitmq_queue_messages_ready${q}`), 5);
      assert.equal(value(s, `rabbitmq_queue_messages${q}`), 5);
      assert.equal(value(s, `rabbitmq_queue_messages_ready_bytes${q}`), 10);
      assert.equal(value(s, `rabbitmq_queue_messages_published_total${q}`), 5);
      assert.equal(s.types.get('rabbitmq_queue_messages_published_total'), 'counter');
      assert.equal(
        value(s, `rabbitmq_queue_info{vhost="/",queue="metrics-q",queue_type="classic",membership="leader"}`),
        1,
      );
      assert.equal(value(s, 'rabbitmq_connections'), 1);
      assert.equal(value(s, 'rabbitmq_channels'), 1);
      const g = (name: string) => value(s, `rabbitmq_global_messages_${name}_total{protocol="amqp091"}`);
      assert.equal(g('received') - before('rabbitmq_global_messages_received_total{protocol="amqp091"}'), 6);
      assert.equal(g('received_confirm'), 6);
      assert.equal(g('routed'), 5);
      assert.equal(g('unroutable_dropped'), 1);
      assert.equal(g('confirmed'), 6);
      assert.equal(value(s, 'rabbitmq_queues_declared_total') - before('rabbitmq_queues_declared_total'), 2);
      assert.equal(value(s, 'rabbitmq_queues_created_total') - before('rabbitmq_queues_created_total'), 1);

      // Two deliveries to a consumer, one acked, one requeued and redelivered by basic.get; an empty get.
      const consumerChannel = await connection.createChannel();
      await consumerChannel.prefetch(2);
      const delivered: import('amqplib').ConsumeMessage[] = [];
      const { consumerTag } = await consumerChannel.consume('metrics-q', (m) => {
        if (m) delivered.push(m);
      });
      while (delivered.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
      s = await scrape(`${broker.prometheus!.url}/per-object`);
      assert.equal(value(s, `rabbitmq_queue_messages_ready${q}`), 3);
      assert.equal(value(s, `rabbitmq_queue_messages_unacked${q}`), 2);
      assert.equal(value(s, `rabbitmq_queue_messages${q}`), 5);
      assert.equal(value(s, `rabbitmq_queue_consumers${q}`), 1);
      assert.equal(value(s, 'rabbitmq_consumers'), 1);
      assert.equal(value(s, 'rabbitmq_channels'), 2);
      // Cancelled first: an ack would otherwise free prefetch room for a third delivery.
      await consumerChannel.cancel(consumerTag);
      consumerChannel.ack(delivered[0]!);
      consumerChannel.nack(delivered[1]!, false, true);
      await consumerChannel.close();
      const got = await channel.get('metrics-q', { noAck: true });
      assert.ok(got);
      assert.equal(got.fields.redelivered, true);
      await channel.get('metrics-q', { noAck: true });
      await channel.get('metrics-q', { noAck: false }).then((m) => m && channel.ack(m));
      await channel.purgeQueue('metrics-q');
      assert.equal(await channel.get('metrics-q'), false);

      s = await scrape(broker.prometheus!.url);
      assert.equal(g('delivered_consume_manual_ack'), 2);
      assert.equal(g('delivered_get_auto_ack'), 2);
      assert.equal(g('delivered_get_manual_ack'), 1);
      assert.equal(g('delivered'), 5);
      assert.equal(g('redelivered'), 1);
      assert.equal(g('acknowledged'), 2);
      assert.equal(g('get_empty'), 1);
      // Aggregated: the queue gauges are sums without labels.
      assert.equal(value(s, 'rabbitmq_queue_messages_ready'), 0);
      assert.equal(value(s, 'rabbitmq_queues'), 1);
      assert.equal(value(s, 'rabbitmq_channels_opened_total') - before('rabbitmq_channels_opened_total'), 2);
      assert.equal(value(s, 'rabbitmq_channels_closed_total') - before('rabbitmq_channels_closed_total'), 1);
      assert.ok(![...s.samples.keys()].some((k) => k.includes('queue="metrics-q"')));
      await channel.deleteQueue('metrics-q');
    } finally {
      await connection.close();
    }
    const s = await scrape(broker.prometheus!.url);
    assert.equal(value(s, 'rabbitmq_queues_deleted_total') - before('rabbitmq_queues_deleted_total'), 1);
    assert.equal(value(s, 'rabbitmq_queues'), 0);
    assert.equal(
      value(s, 'rabbitmq_connections_opened_total') - before('rabbitmq_connections_opened_total'),
      1,
    );
    // The close is seen once the socket is gone.
    for (let i = 0; i < 100; i++) {
      const now = await scrape(broker.prometheus!.url);
      if (value(now, 'rabbitmq_connections') === 0) {
        assert.equal(
          value(now, 'rabbitmq_connections_closed_total') - before('rabbitmq_connections_closed_total'),
          1,
        );
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.fail('rabbitmq_connections stayed above 0');
  });

  test('Dead-lettered messages are counted by reason', async () => {
    const connection = await connect(broker.url);
    try {
      const channel = await connection.createChannel();
      await channel.assertExchange('metrics-dlx', 'fanout', { durable: false });
      await channel.assertQueue('metrics-dead', { durable: false });
      await channel.bindQueue('metrics-dead', 'metrics-dlx', '');
      await channel.assertQueue('metrics-src', { durable: false, deadLetterExchange: 'metrics-dlx' });
      channel.sendToQueue('metrics-src', Buffer.from('a'));
      const m = await getOne(channel, 'metrics-src');
      channel.reject(m, false);
      channel.sendToQueue('metrics-src', Buffer.from('b'), { expiration: '0' });
      for (let i = 0; i < 100; i++) {
        const s = await scrape(broker.prometheus!.url);
        if (value(s, 'rabbitmq_global_messages_dead_lettered_expired_total{protocol="amqp091"}') === 1) {
          assert.equal(
            value(s, 'rabbitmq_global_messages_dead_lettered_rejected_total{protocol="amqp091"}'),
            1,
          );
          const per = await scrape(`${broker.prometheus!.url}/per-object`);
          assert.equal(value(per, 'rabbitmq_queue_messages_ready{vhost="/",queue="metrics-dead"}'), 2);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.fail('the expired message was not dead-lettered');
    } finally {
      await connection.close();
    }
  });

  test("Kafka traffic through kafkajs shows kafka_exporter's offsets, committed offsets and lag", async () => {
    const kafka = new Kafka({
      clientId: 'pier-metrics',
      brokers: [broker.kafka!.bootstrap],
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    const producer = kafka.producer();
    await admin.connect();
    await producer.connect();
    try {
      await admin.createTopics({ topics: [{ topic: 'metrics-t', numPartitions: 2 }] });
      await producer.send({
        topic: 'metrics-t',
        acks: -1,
        messages: Array.from({ length: 10 }, (_, i) => ({ partition: i < 7 ? 0 : 1, value: `v${i}` })),
      });
      await admin.setOffsets({
        groupId: 'metrics-g',
        topic: 'metrics-t',
        partitions: [{ partition: 0, offset: '4' }],
      });
      const s = await scrape(broker.prometheus!.url);
      assert.equal(value(s, 'kafka_topic_partitions{topic="metrics-t"}'), 2);
      assert.equal(value(s, 'kafka_topic_partition_current_offset{topic="metrics-t",partition="0"}'), 7);
      assert.equal(value(s, 'kafka_topic_partition_current_offset{topic="metrics-t",partition="1"}'), 3);
      assert.equal(value(s, 'kafka_topic_partition_oldest_offset{topic="metrics-t",partition="0"}'), 0);
      const group = '{consumergroup="metrics-g",topic="metrics-t"';
      assert.equal(value(s, `kafka_consumergroup_current_offset${group},partition="0"}`), 4);
      assert.equal(s.samples.has(`kafka_consumergroup_current_offset${group},partition="1"}`), false);
      assert.equal(value(s, `kafka_consumergroup_lag${group},partition="0"}`), 3);
      // As kafka_exporter: -1 for a partition the group never committed; the sum leaves it out.
      assert.equal(value(s, `kafka_consumergroup_lag${group},partition="1"}`), -1);
      assert.equal(value(s, `kafka_consumergroup_lag_sum${group}}`), 3);
      assert.equal(value(s, `kafka_consumergroup_current_offset_sum${group}}`), 4);
      assert.equal(value(s, 'kafka_consumergroup_members{consumergroup="metrics-g"}'), 0);
      assert.equal(s.types.get('kafka_consumergroup_lag'), 'gauge');
    } finally {
      await producer.disconnect();
      await admin.disconnect();
    }
  });
});

test('SQS traffic through the AWS SDK shows gauges and counters mirroring CloudWatch', async () => {
  const clock = new ManualClock(Date.now());
  const broker = await startTestBroker({ amqpPort: false, sqsPort: 0, prometheusPort: 0, clock });
  const sqs = new SQSClient({
    endpoint: broker.sqs!.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' },
  });
  try {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'metrics-sqs' }));
    for (let i = 0; i < 3; i++) await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: `m${i}` }));
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'later', DelaySeconds: 60 }));
    clock.advance(30_000);
    const { Messages } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 1, VisibilityTimeout: 300 }),
    );
    assert.equal(Messages?.length, 1);
    await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: Messages![0]!.ReceiptHandle }));
    const { QueueUrl: emptyUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'metrics-empty' }));
    await sqs.send(new ReceiveMessageCommand({ QueueUrl: emptyUrl, WaitTimeSeconds: 0 }));
    await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 1, VisibilityTimeout: 300 }));

    const s = await scrape(broker.prometheus!.url);
    const q = '{queue="metrics-sqs",region="us-east-1"}';
    assert.equal(value(s, 'pier_sqs_queues'), 2);
    assert.equal(value(s, `pier_sqs_approximate_number_of_messages_visible${q}`), 1);
    assert.equal(value(s, `pier_sqs_approximate_number_of_messages_not_visible${q}`), 1);
    assert.equal(value(s, `pier_sqs_approximate_number_of_messages_delayed${q}`), 1);
    assert.equal(value(s, `pier_sqs_approximate_age_of_oldest_message_seconds${q}`), 30);
    assert.equal(value(s, `pier_sqs_number_of_messages_sent_total${q}`), 4);
    assert.equal(value(s, `pier_sqs_number_of_messages_received_total${q}`), 2);
    assert.equal(value(s, `pier_sqs_number_of_messages_deleted_total${q}`), 1);
    assert.equal(value(s, `pier_sqs_number_of_empty_receives_total${q}`), 0);
    assert.equal(
      value(s, 'pier_sqs_number_of_empty_receives_total{queue="metrics-empty",region="us-east-1"}'),
      1,
    );
    assert.equal(
      value(
        s,
        'pier_sqs_approximate_age_of_oldest_message_seconds{queue="metrics-empty",region="us-east-1"}',
      ),
      0,
    );
    assert.equal(s.types.get('pier_sqs_number_of_messages_sent_total'), 'counter');
  } finally {
    sqs.destroy();
    await broker.stop();
  }
});

async function getOne(
  channel: import('amqplib').Channel,
  queue: string,
): Promise<import('amqplib').GetMessage> {
  for (let i = 0; i < 100; i++) {
    const m = await channel.get(queue);
    if (m) return m;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`no message in ${queue}`);
}
