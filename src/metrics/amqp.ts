/**
 * The AMQP side in RabbitMQ's names (rabbitmq_prometheus, RabbitMQ 3.10): queue gauges (summed on
 * /metrics, by {vhost,queue} on /metrics/per-object), object counts, churn counters and the
 * rabbitmq_global_messages_*_total counters with protocol="amqp091".
 */
import type { Queue } from '../core/amqp/queue.js';
import { StreamQueue } from '../core/amqp/stream-queue.js';
import type { AmqpStats } from '../core/stats.js';
import { type ExpositionWriter, formatLabels } from './exposition.js';

/** What the AMQP metrics read: the core's vhosts and counters, and the listener's connections. */
export interface AmqpMetricsSource {
  readonly vhosts: ReadonlyMap<string, { readonly queues: ReadonlyMap<string, Queue> }>;
  readonly stats: AmqpStats;
  /** Open AMQP connections; 0 when the listener is off. */
  connectionCount(): number;
  channelCount(): number;
}

const PROTOCOL = { protocol: 'amqp091' } as const;

interface QueueRow {
  readonly vhost: string;
  readonly queue: Queue;
  /** `{vhost="…",queue="…"}`, formatted once per scrape (per object only). */
  labels: string;
}

const QUEUE_GAUGES: readonly [name: string, help: string, read: (q: Queue) => number][] = [
  ['rabbitmq_queue_messages_ready', 'Messages ready to be delivered to consumers', (q) => q.messageCount],
  [
    'rabbitmq_queue_messages_unacked',
    'Messages delivered to consumers but not yet acknowledged',
    (q) => q.leasedCount,
  ],
  [
    'rabbitmq_queue_messages',
    'Sum of ready and unacknowledged messages',
    (q) => q.messageCount + q.leasedCount,
  ],
  ['rabbitmq_queue_messages_ready_bytes', 'Size in bytes of ready messages', (q) => q.readyBytes],
  [
    'rabbitmq_queue_messages_bytes',
    'Size in bytes of ready messages (unacknowledged bytes are not counted yet)',
    (q) => q.readyBytes,
  ],
  ['rabbitmq_queue_consumers', 'Consumers on a queue', (q) => q.consumerCount],
];

export function writeAmqpMetrics(out: ExpositionWriter, source: AmqpMetricsSource, perObject: boolean): void {
  const rows: QueueRow[] = [];
  for (const [vhost, { queues }] of source.vhosts) {
    for (const queue of queues.values()) rows.push({ vhost, queue, labels: '' });
  }
  if (perObject) {
    rows.sort((a, b) => compare(a.vhost, b.vhost) || compare(a.queue.name, b.queue.name));
    for (const row of rows) row.labels = formatLabels({ vhost: row.vhost, queue: row.queue.name });
  }

  for (const [name, help, read] of QUEUE_GAUGES) {
    out.family(name, 'gauge', help);
    if (perObject) for (const { queue, labels } of rows) out.sampleLabelled(read(queue), labels);
    else {
      let sum = 0;
      for (const { queue } of rows) sum += read(queue);
      out.sample(sum);
    }
  }
  out.family(
    'rabbitmq_queue_messages_published_total',
    'counter',
    'Total number of messages published to queues (stream queues not counted yet)',
  );
  if (perObject) {
    for (const { queue, labels } of rows) out.sampleLabelled(queue.messagesPublished, labels);
  } else {
    let sum = 0;
    for (const { queue } of rows) sum += queue.messagesPublished;
    out.sample(sum);
  }
  if (perObject) {
    out.family('rabbitmq_queue_info', 'gauge', 'Queue information (value is always 1)');
    for (const { vhost, queue } of rows) {
      out.sample(1, {
        vhost,
        queue: queue.name,
        queue_type: queue instanceof StreamQueue ? 'stream' : 'classic',
        membership: 'leader',
      });
    }
  }

  const s = source.stats;
  let consumers = 0;
  for (const { queue } of rows) consumers += queue.consumerCount;
  out.single('rabbitmq_queues', 'gauge', 'Queues available', rows.length);
  out.single(
    'rabbitmq_queues_declared_total',
    'counter',
    'Total number of queues declared',
    s.queuesDeclared,
  );
  out.single('rabbitmq_queues_created_total', 'counter', 'Total number of queues created', s.queuesCreated);
  out.single('rabbitmq_queues_deleted_total', 'counter', 'Total number of queues deleted', s.queuesDeleted);
  out.single('rabbitmq_connections', 'gauge', 'Connections currently open', source.connectionCount());
  out.single(
    'rabbitmq_connections_opened_total',
    'counter',
    'Total number of connections opened',
    s.connectionsOpened,
  );
  out.single(
    'rabbitmq_connections_closed_total',
    'counter',
    'Total number of connections closed or terminated',
    s.connectionsClosed,
  );
  out.single('rabbitmq_channels', 'gauge', 'Channels currently open', source.channelCount());
  out.single(
    'rabbitmq_channels_opened_total',
    'counter',
    'Total number of channels opened',
    s.channelsOpened,
  );
  out.single(
    'rabbitmq_channels_closed_total',
    'counter',
    'Total number of channels closed',
    s.channelsClosed,
  );
  out.single('rabbitmq_consumers', 'gauge', 'Consumers currently connected', consumers);

  const global: readonly [suffix: string, help: string, value: number][] = [
    ['received', 'Total number of messages received from publishers', s.messagesReceived],
    [
      'received_confirm',
      'Total number of messages received from publishers expecting confirmations',
      s.messagesReceivedConfirm,
    ],
    ['routed', 'Total number of messages routed to queues or streams', s.messagesRouted],
    [
      'unroutable_dropped',
      'Total number of messages published as non-mandatory into an exchange and dropped as unroutable',
      s.messagesUnroutableDropped,
    ],
    [
      'unroutable_returned',
      'Total number of messages published as mandatory into an exchange and returned to the publisher as unroutable',
      s.messagesUnroutableReturned,
    ],
    ['confirmed', 'Total number of messages confirmed to publishers', s.messagesConfirmed],
    [
      'delivered',
      'Total number of messages delivered to consumers',
      s.deliveredConsumeAutoAck +
        s.deliveredConsumeManualAck +
        s.deliveredGetAutoAck +
        s.deliveredGetManualAck,
    ],
    [
      'delivered_consume_manual_ack',
      'Total number of messages delivered to consumers using basic.consume with manual acknowledgment',
      s.deliveredConsumeManualAck,
    ],
    [
      'delivered_consume_auto_ack',
      'Total number of messages delivered to consumers using basic.consume with automatic acknowledgment',
      s.deliveredConsumeAutoAck,
    ],
    [
      'delivered_get_manual_ack',
      'Total number of messages delivered to consumers using basic.get with manual acknowledgment',
      s.deliveredGetManualAck,
    ],
    [
      'delivered_get_auto_ack',
      'Total number of messages delivered to consumers using basic.get with automatic acknowledgment',
      s.deliveredGetAutoAck,
    ],
    ['get_empty', 'Total number of times basic.get operations fetched no message', s.getEmpty],
    ['redelivered', 'Total number of messages redelivered to consumers', s.redelivered],
    ['acknowledged', 'Total number of messages acknowledged by consumers', s.acknowledged],
    [
      'dead_lettered_rejected',
      'Total number of messages dead-lettered due to basic.reject or basic.nack',
      s.deadLetteredRejected,
    ],
    [
      'dead_lettered_expired',
      'Total number of messages dead-lettered due to message TTL exceeded',
      s.deadLetteredExpired,
    ],
    [
      'dead_lettered_maxlen',
      'Total number of messages dead-lettered due to overflow drop-head',
      s.deadLetteredMaxlen,
    ],
  ];
  for (const [suffix, help, value] of global) {
    out.single(`rabbitmq_global_messages_${suffix}_total`, 'counter', help, value, PROTOCOL);
  }
  out.single('rabbitmq_global_consumers', 'gauge', 'Current number of consumers', consumers, PROTOCOL);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
