/**
 * The Kafka side in kafka_exporter's names (danielqsj/kafka_exporter, Grafana dashboard 7589):
 * per-partition offsets of every topic and every consumer group's committed offsets and lag. As
 * kafka_exporter: lag = high watermark − committed offset, or −1 for a partition the group never
 * committed; the sums count committed partitions only.
 */
import { type GroupSource, groupLags, type TopicSource, topicDepths } from '../core/kafka/monitoring.js';
import type { ExpositionWriter } from './exposition.js';

export interface KafkaMetricsSource {
  readonly topics: TopicSource;
  readonly groups: GroupSource;
  /** The log cleaner (protocol/kafka/log-cleaner.ts), when there is one. */
  readonly logCleaner?: { readonly stats: LogCleanerMetrics };
  /** The clock the cleaner's times are on. */
  readonly nowMs?: () => number;
}

/** The cleaner's figures, named after Kafka's kafka.log:type=LogCleanerManager gauges. */
export interface LogCleanerMetrics {
  readonly maxDirtyPercent: number;
  readonly lastRunAtMs: number;
  readonly passes: number;
  readonly cleanings: number;
  readonly segmentsRewritten: number;
  readonly recordsRemoved: number;
}

export function writeKafkaMetrics(out: ExpositionWriter, source: KafkaMetricsSource): void {
  const topics = topicDepths(source.topics);
  const groups = groupLags(source.groups, source.topics);
  out.single('kafka_brokers', 'gauge', 'Number of Brokers in the Kafka Cluster.', 1);
  out.family('kafka_topic_partitions', 'gauge', 'Number of partitions for this Topic');
  for (const t of topics) out.sample(t.partitions.length, { topic: t.name });
  const perPartition: readonly [
    string,
    string,
    (p: (typeof topics)[number]['partitions'][number]) => number,
  ][] = [
    [
      'kafka_topic_partition_current_offset',
      'Current Offset of a Broker at Topic/Partition',
      (p) => p.highWatermark,
    ],
    [
      'kafka_topic_partition_oldest_offset',
      'Oldest Offset of a Broker at Topic/Partition',
      (p) => p.logStartOffset,
    ],
    ['kafka_topic_partition_leader', 'Leader Broker ID of this Topic/Partition', () => 0],
    ['kafka_topic_partition_replicas', 'Number of Replicas for this Topic/Partition', () => 1],
    ['kafka_topic_partition_in_sync_replica', 'Number of In-Sync Replicas for this Topic/Partition', () => 1],
    ['kafka_topic_partition_under_replicated_partition', '1 if Topic/Partition is under Replicated', () => 0],
  ];
  for (const [name, help, read] of perPartition) {
    out.family(name, 'gauge', help);
    for (const t of topics) {
      for (const p of t.partitions) out.sample(read(p), { topic: t.name, partition: p.partition });
    }
  }

  out.family('kafka_consumergroup_members', 'gauge', 'Amount of members in a consumer group');
  for (const g of groups) out.sample(g.memberCount, { consumergroup: g.groupId });
  out.family(
    'kafka_consumergroup_current_offset',
    'gauge',
    'Current Offset of a ConsumerGroup at Topic/Partition',
  );
  for (const g of groups) {
    for (const p of g.partitions) {
      if (p.committedOffset === null) continue;
      out.sample(p.committedOffset, { consumergroup: g.groupId, topic: p.topic, partition: p.partition });
    }
  }
  out.family(
    'kafka_consumergroup_current_offset_sum',
    'gauge',
    'Current Offset of a ConsumerGroup at Topic for all partitions',
  );
  for (const g of groups) {
    for (const [topic, rows] of byTopic(g.partitions)) {
      let sum = 0;
      for (const p of rows) if (p.committedOffset !== null) sum += p.committedOffset;
      out.sample(sum, { consumergroup: g.groupId, topic });
    }
  }
  out.family(
    'kafka_consumergroup_lag',
    'gauge',
    'Current Approximate Lag of a ConsumerGroup at Topic/Partition',
  );
  for (const g of groups) {
    for (const p of g.partitions) {
      if (p.highWatermark === null) continue;
      const lag = p.committedOffset === null ? -1 : Math.max(0, p.highWatermark - p.committedOffset);
      out.sample(lag, { consumergroup: g.groupId, topic: p.topic, partition: p.partition });
    }
  }
  out.family(
    'kafka_consumergroup_lag_sum',
    'gauge',
    'Current Approximate Lag of a ConsumerGroup at Topic for all partitions',
  );
  for (const g of groups) {
    for (const [topic, rows] of byTopic(g.partitions)) {
      let sum = 0;
      for (const p of rows) {
        if (p.committedOffset !== null && p.highWatermark !== null)
          sum += Math.max(0, p.highWatermark - p.committedOffset);
      }
      out.sample(sum, { consumergroup: g.groupId, topic });
    }
  }
  if (source.logCleaner) writeLogCleanerMetrics(out, source.logCleaner.stats, source.nowMs ?? Date.now);
}

/**
 * Kafka's JMX gauges kafka.log:type=LogCleanerManager,name=max-dirty-percent and
 * time-since-last-run-ms under the names the Prometheus JMX exporter's Kafka rules give them, and
 * Pier's own counters of the cleaner's work.
 */
function writeLogCleanerMetrics(out: ExpositionWriter, stats: LogCleanerMetrics, nowMs: () => number): void {
  out.single(
    'kafka_log_logcleanermanager_max_dirty_percent',
    'gauge',
    "Dirty share (%) of the dirtiest compacted partition at the log cleaner's last pass.",
    stats.maxDirtyPercent,
  );
  out.single(
    'kafka_log_logcleanermanager_time_since_last_run_ms',
    'gauge',
    'Milliseconds since the log cleaner last looked at the compacted partitions.',
    Math.max(0, nowMs() - stats.lastRunAtMs),
  );
  out.single('pier_kafka_log_cleaner_passes_total', 'counter', 'Log cleaner passes.', stats.passes);
  out.single(
    'pier_kafka_log_cleaner_cleanings_total',
    'counter',
    'Partitions the log cleaner cleaned (dirty ratio reached, max.compaction.lag.ms or tombstones due).',
    stats.cleanings,
  );
  out.single(
    'pier_kafka_log_cleaner_segments_rewritten_total',
    'counter',
    'Segments the log cleaner rewrote.',
    stats.segmentsRewritten,
  );
  out.single(
    'pier_kafka_log_cleaner_records_removed_total',
    'counter',
    'Records the log cleaner removed.',
    stats.recordsRemoved,
  );
}

function byTopic<P extends { readonly topic: string }>(rows: readonly P[]): Map<string, P[]> {
  const topics = new Map<string, P[]>();
  for (const row of rows) {
    let list = topics.get(row.topic);
    if (!list) {
      list = [];
      topics.set(row.topic, list);
    }
    list.push(row);
  }
  return topics;
}
