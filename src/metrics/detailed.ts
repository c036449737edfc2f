/**
 * RabbitMQ's `/metrics/detailed` (rabbitmq_prometheus, 3.10): nothing but the identity unless
 * metric groups are asked for with `family=` (repeatable); `vhost=` (repeatable) limits the queue
 * groups (queue_coarse_metrics, queue_consumer_count, queue_metrics) to those vhosts. Series are
 * named `rabbitmq_detailed_*`, the cluster-wide groups (vhost_status, exchange_names,
 * exchange_bindings) `rabbitmq_cluster_*`, so the endpoint can be scraped beside /metrics.
 * Groups Pier has no data for (Erlang, Raft, channel and connection internals, auth attempts)
 * answer nothing, and unknown names are ignored, as RabbitMQ ignores them.
 */
import type { Exchange } from '../core/amqp/exchange.js';
import type { Queue } from '../core/amqp/queue.js';
import type { AmqpMetricsSource } from './amqp.js';
import { type ExpositionWriter, formatLabels } from './exposition.js';
import { type NodeMetricsSource, writeIdentity } from './node.js';
import { queueFamily, queueRows } from './queue-series.js';

const DETAILED = 'rabbitmq_detailed_';
const CLUSTER = 'rabbitmq_cluster_';

/** The metric groups `family=` can name that Pier answers. */
export const DETAILED_FAMILIES = [
  'connection_churn_metrics',
  'node_coarse_metrics',
  'node_metrics',
  'queue_coarse_metrics',
  'queue_consumer_count',
  'queue_metrics',
  'vhost_status',
  'exchange_names',
  'exchange_bindings',
] as const;

export interface DetailedSelection {
  readonly families: ReadonlySet<string>;
  /** Vhosts the queue groups cover; undefined: all. */
  readonly vhosts: ReadonlySet<string> | undefined;
}

/** The selection a query asks for (`family=a&family=b&vhost=v`). */
export function detailedSelection(query: URLSearchParams): DetailedSelection {
  const vhosts = query.getAll('vhost');
  return {
    families: new Set(query.getAll('family')),
    vhosts: vhosts.length > 0 ? new Set(vhosts) : undefined,
  };
}

type QueueSeries = readonly [
  suffix: string,
  type: 'gauge' | 'counter',
  help: string,
  read: (q: Queue) => number,
];

const QUEUE_COARSE: readonly QueueSeries[] = [
  ['queue_messages_ready', 'gauge', 'Messages ready to be delivered to consumers', (q) => q.messageCount],
  [
    'queue_messages_unacked',
    'gauge',
    'Messages delivered to consumers but not yet acknowledged',
    (q) => q.leasedCount,
  ],
  [
    'queue_messages',
    'gauge',
    'Sum of ready and unacknowledged messages - total queue depth',
    (q) => q.messageCount + q.leasedCount,
  ],
];

const QUEUE_CONSUMERS: QueueSeries = [
  'queue_consumers',
  'gauge',
  'Consumers on a queue',
  (q) => q.consumerCount,
];

const QUEUE_METRICS: readonly QueueSeries[] = [
  QUEUE_CONSUMERS,
  ['queue_consumer_capacity', 'gauge', 'Consumer capacity', (q) => (q.consumerCount > 0 ? 1 : 0)],
  [
    'queue_messages_bytes',
    'gauge',
    'Size in bytes of ready and unacknowledged messages (unacknowledged bytes are not counted yet)',
    (q) => q.readyBytes,
  ],
  ['queue_messages_ready_bytes', 'gauge', 'Size in bytes of ready messages', (q) => q.readyBytes],
];

export function* writeDetailedMetrics(
  out: ExpositionWriter,
  node: NodeMetricsSource,
  amqp: AmqpMetricsSource,
  selection: DetailedSelection,
): Generator<void, void, void> {
  const { families, vhosts } = selection;
  const s = amqp.stats;
  if (families.has('connection_churn_metrics')) {
    const churn: readonly [string, string, number][] = [
      ['connections_opened_total', 'Total number of connections opened', s.connectionsOpened],
      ['connections_closed_total', 'Total number of connections closed or terminated', s.connectionsClosed],
      ['channels_opened_total', 'Total number of channels opened', s.channelsOpened],
      ['channels_closed_total', 'Total number of channels closed', s.channelsClosed],
      ['queues_declared_total', 'Total number of queues declared', s.queuesDeclared],
      ['queues_created_total', 'Total number of queues created', s.queuesCreated],
      ['queues_deleted_total', 'Total number of queues deleted', s.queuesDeleted],
    ];
    for (const [suffix, help, value] of churn) out.single(DETAILED + suffix, 'counter', help, value);
  }
  if (families.has('node_coarse_metrics')) {
    const p = node.process();
    if (p.openFds !== undefined)
      out.single(`${DETAILED}process_open_fds`, 'gauge', 'Open file descriptors', p.openFds);
    out.single(
      `${DETAILED}process_resident_memory_bytes`,
      'gauge',
      'Memory used in bytes',
      p.residentMemoryBytes,
    );
    const diskFree = node.resources().diskFreeBytes;
    if (diskFree !== undefined)
      out.single(`${DETAILED}disk_space_available_bytes`, 'gauge', 'Disk space available in bytes', diskFree);
  }
  if (families.has('node_metrics')) {
    const p = node.process();
    const r = node.resources();
    if (p.maxFds !== undefined)
      out.single(`${DETAILED}process_max_fds`, 'gauge', 'Open file descriptors limit', p.maxFds);
    out.single(
      `${DETAILED}resident_memory_limit_bytes`,
      'gauge',
      'Memory high watermark in bytes',
      r.memoryLimitBytes,
    );
    out.single(
      `${DETAILED}disk_space_available_limit_bytes`,
      'gauge',
      'Free disk space low watermark in bytes',
      r.diskFreeLimitBytes,
    );
    out.single(`${DETAILED}erlang_uptime_seconds`, 'gauge', 'Node uptime', node.uptimeSeconds());
  }

  const queueGroups: QueueSeries[] = [];
  if (families.has('queue_coarse_metrics')) queueGroups.push(...QUEUE_COARSE);
  // queue_consumer_count is a subset of queue_metrics: with both, its series come once.
  if (families.has('queue_metrics')) queueGroups.push(...QUEUE_METRICS);
  else if (families.has('queue_consumer_count')) queueGroups.push(QUEUE_CONSUMERS);
  if (queueGroups.length > 0) {
    const rows = queueRows(amqp.vhosts, vhosts && ((name) => vhosts.has(name)));
    for (const [suffix, type, help, read] of queueGroups) {
      yield* queueFamily(out, DETAILED + suffix, type, help, rows, read);
    }
  }

  if (families.has('vhost_status')) {
    out.family(`${CLUSTER}vhost_status`, 'gauge', 'Whether a given vhost is running');
    for (const name of amqp.vhosts.keys()) out.sample(1, { vhost: name });
  }
  const listed = families.has('exchange_names') || families.has('exchange_bindings');
  const exchanges: Exchange[] = [];
  if (listed) {
    for (const vhost of amqp.vhosts.values()) {
      for (const exchange of vhost.exchanges.values()) {
        if (exchange.name !== '' && !exchange.options.internal) exchanges.push(exchange);
      }
    }
  }
  const exchangeLabels = (e: Exchange) => formatLabels({ vhost: e.vhost, exchange: e.name, type: e.type });
  if (families.has('exchange_bindings')) {
    out.family(
      `${CLUSTER}exchange_bindings`,
      'gauge',
      'Number of bindings for an exchange. This value is cluster-wide.',
    );
    for (const e of exchanges) out.sampleLabelled(e.bindingCount, exchangeLabels(e));
  }
  if (families.has('exchange_names')) {
    out.family(
      `${CLUSTER}exchange_name`,
      'gauge',
      'Enumerates exchanges without any additional info. This value is cluster-wide. A cheaper alternative to `exchange_bindings`',
    );
    for (const e of exchanges) out.sampleLabelled(1, exchangeLabels(e));
  }
  writeIdentity(out, node, '/metrics/detailed');
}
