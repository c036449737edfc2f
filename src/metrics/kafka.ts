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
