/**
 * The AMQP side in RabbitMQ's names (rabbitmq_prometheus, RabbitMQ 3.10): queue gauges (summed on
 * /metrics, by {vhost,queue} on /metrics/per-object), object counts, churn counters and the
 * rabbitmq_global_messages_*_total counters with protocol="amqp091".
 */
import type { Exchange } from '../core/amqp/exchange.js';
import type { Queue } from '../core/amqp/queue.js';
import type { AmqpStats } from '../core/stats.js';
import type { ExpositionWriter } from './exposition.js';
import { queueFamily, queueInfoFamily, queueRows } from './queue-series.js';

/** What the AMQP metrics read: the core's vhosts and counters, and the listener's connections. */
export interface AmqpMetricsSource {
  readonly vhosts: ReadonlyMap<
    string,
    { readonly queues: ReadonlyMap<string, Queue>; readonly exchanges: ReadonlyMap<string, Exchange> }
  >;
  readonly stats: AmqpStats;
  /** Open AMQP connections; 0 when the listener is off. */
  connectionCount(): number;
  channelCount(): number;
  /** Non-durable queues' ready messages: in memory, paged to disk, and whether memory pressure is on. */
  paging?(): AmqpPagingState;
}

export interface AmqpPagingState {
  readonly pagedMessages: number;
  readonly pagedBytes: number;
  readonly memoryMessages: number;
  readonly memoryBytes: number;
  readonly underPressure: boolean;
}

const PROTOCOL = { protocol: 'amqp091' } as const;

export type QueueGauge = readonly [name: string, help: string, read: (q: Queue) => number];

export const QUEUE_GAUGES: readonly QueueGauge[] = [
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

export const QUEUE_PUBLISHED: QueueGauge = [
  'rabbitmq_queue_messages_published_total',
  'Total number of messages published to queues (stream queues not counted yet)',
  (q) => q.messagesPublished,
];

/**
 * The AMQP series; a generator that yields between slices of queues (render.ts drives it, at
 * once or letting the event loop run in between).
 */
export function* writeAmqpMetrics(
  out: ExpositionWriter,
  source: AmqpMetricsSource,
  perObject: boolean,
): Generator<void, void, void> {
  const rows = queueRows(source.vhosts, undefined, perObject);
  const queues = rows.queues;
  for (const [name, help, read] of QUEUE_GAUGES) {
    if (perObject) yield* queueFamily(out, name, 'gauge', help, rows, read);
    else out.single(name, 'gauge', help, sumOver(queues, read));
  }
  const [publishedName, publishedHelp, published] = QUEUE_PUBLISHED;
  if (perObject) {
    yield* queueFamily(out, publishedName, 'counter', publishedHelp, rows, published);
    yield* queueInfoFamily(out, 'rabbitmq_queue_info', rows);
  } else out.single(publishedName, 'counter', publishedHelp, sumOver(queues, published));

  const s = source.stats;
  const consumers = sumOver(queues, (q) => q.consumerCount);
  out.single('rabbitmq_queues', 'gauge', 'Queues available', queues.length);
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
  const paging = source.paging?.();
  if (paging) {
    const pagingSeries: readonly [name: string, help: string, value: number][] = [
      [
        'pier_amqp_paged_messages',
        'Ready messages of non-durable queues paged to disk (bodies not in memory)',
        paging.pagedMessages,
      ],
      [
        'pier_amqp_paged_bytes',
        'Body bytes of the ready messages of non-durable queues paged to disk',
        paging.pagedBytes,
      ],
      [
        'pier_amqp_ready_memory_messages',
        'Ready messages of non-durable queues held in memory with their bodies',
        paging.memoryMessages,
      ],
      [
        'pier_amqp_ready_memory_bytes',
        'Body bytes of the ready messages of non-durable queues held in memory',
        paging.memoryBytes,
      ],
      [
        'pier_amqp_memory_paging',
        '1 while memory is above the paging ratio (0.5) of the high watermark: queues page to disk',
        paging.underPressure ? 1 : 0,
      ],
    ];
    for (const [name, help, value] of pagingSeries) out.single(name, 'gauge', help, value);
  }
  out.single('rabbitmq_global_publishers', 'gauge', 'Current number of publishers', s.publishers, PROTOCOL);
  out.single('rabbitmq_global_consumers', 'gauge', 'Current number of consumers', consumers, PROTOCOL);
}

function sumOver(rows: readonly Queue[], read: (q: Queue) => number): number {
  let sum = 0;
  for (const queue of rows) sum += read(queue);
  return sum;
}
