/**
 * Queue depth and consumer lag for Kafka topics, computed from the topic registry and the group
 * coordinator as they are now (pure: no I/O, no clock). `pier topics list` and `pier groups
 * list|describe` print these through the control socket.
 *
 * Depth of a partition: the offsets a consumer can still read, high watermark − log start offset
 * (records not yet durable are not counted, as Kafka counts nothing past the high watermark).
 * Lag of a group on a partition: the readable records at or after its committed offset,
 * high watermark − max(committed, log start): records retention or DeleteRecords removed are not
 * counted. A partition the group reads but never committed has lag high watermark − log start and
 * `committedOffset: null` (where it starts depends on the client's auto.offset.reset).
 */
import { decodeConsumerAssignment } from './consumer-assignment.js';
import type { GroupState } from './consumer-group.js';
import type { GroupCoordinator } from './group-coordinator.js';
import type { Topic } from './topic.js';

export interface PartitionDepth {
  readonly partition: number;
  readonly logStartOffset: number;
  readonly highWatermark: number;
  /** highWatermark − logStartOffset. */
  readonly records: number;
  /** Bytes the partition's log holds on disk (DeleteRecords frees whole segments only). */
  readonly sizeBytes: number;
}

export interface TopicDepth {
  readonly name: string;
  readonly records: number;
  readonly sizeBytes: number;
  readonly partitions: readonly PartitionDepth[];
}

export interface PartitionLag {
  readonly topic: string;
  readonly partition: number;
  /** null: the group has no committed offset for this partition. */
  readonly committedOffset: number | null;
  /** null (with highWatermark and lag): the partition does not exist (any more). */
  readonly logStartOffset: number | null;
  readonly highWatermark: number | null;
  readonly lag: number | null;
  /** The member assigned this partition (consumer groups while Stable); null when none is. */
  readonly memberId: string | null;
  readonly clientId: string | null;
  readonly clientHost: string | null;
}

export interface GroupLag {
  readonly groupId: string;
  readonly state: GroupState;
  /** '' for a group that only commits offsets (no group management). */
  readonly protocolType: string;
  /** The chosen assignor ('range', 'RoundRobinAssigner', ...) while Stable; '' otherwise. */
  readonly protocol: string;
  readonly memberCount: number;
  /** Sum of the partitions' lags. */
  readonly lag: number;
  readonly partitions: readonly PartitionLag[];
}

/** What monitoring reads of the topic registry. */
export interface TopicSource {
  list(): readonly Topic[];
  get(name: string): Topic | undefined;
}

/** What monitoring reads of the group coordinator. */
export type GroupSource = Pick<GroupCoordinator, 'list' | 'describe' | 'fetchOffsets'>;

/** Every topic with its partitions' depth, by name. */
export function topicDepths(topics: TopicSource): TopicDepth[] {
  return [...topics.list()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map(topicDepth);
}

export function topicDepth(topic: Topic): TopicDepth {
  const partitions = topic.partitions.map((p) => ({
    partition: p.index,
    logStartOffset: p.logStartOffset,
    highWatermark: p.highWatermark,
    records: Math.max(0, p.highWatermark - p.logStartOffset),
    sizeBytes: p.stream.sizeBytes,
  }));
  return {
    name: topic.name,
    records: partitions.reduce((sum, p) => sum + p.records, 0),
    sizeBytes: partitions.reduce((sum, p) => sum + p.sizeBytes, 0),
    partitions,
  };
}

/** Every group the coordinator knows (members or committed offsets), with its lag, by group id. */
export function groupLags(groups: GroupSource, topics: TopicSource): GroupLag[] {
  return groups
    .list()
    .map((g) => g.groupId)
    .sort()
    .map((groupId) => groupLag(groups, topics, groupId)!);
}

/**
 * One group's lag on every partition of every topic it has committed offsets for or is assigned:
 * a partition of such a topic that the group never committed is shown too (its records are
 * unconsumed). Undefined when the group does not exist.
 */
export function groupLag(groups: GroupSource, topics: TopicSource, groupId: string): GroupLag | undefined {
  const description = groups.describe(groupId);
  if (description.state === 'Dead') return undefined;

  const committed = new Map<string, Map<number, number>>();
  for (const { topic, partitions } of groups.fetchOffsets(groupId, null)) {
    const byPartition = new Map<number, number>();
    for (const p of partitions) if (p.offset >= 0) byPartition.set(p.partition, p.offset);
    committed.set(topic, byPartition);
  }

  // topic → partition → the member reading it.
  const owners = new Map<string, Map<number, (typeof description.members)[number]>>();
  if (description.protocolType === 'consumer') {
    for (const member of description.members) {
      for (const { topic, partitions } of decodeConsumerAssignment(member.assignment) ?? []) {
        let byPartition = owners.get(topic);
        if (!byPartition) {
          byPartition = new Map();
          owners.set(topic, byPartition);
        }
        for (const partition of partitions) byPartition.set(partition, member);
      }
    }
  }

  const rows: PartitionLag[] = [];
  const topicNames = [...new Set([...committed.keys(), ...owners.keys()])].sort();
  for (const name of topicNames) {
    const topic = topics.get(name);
    const indexes = new Set<number>([
      ...(topic?.partitions.map((p) => p.index) ?? []),
      ...(committed.get(name)?.keys() ?? []),
      ...(owners.get(name)?.keys() ?? []),
    ]);
    for (const index of [...indexes].sort((a, b) => a - b)) {
      const partition = topic?.partitions[index];
      const committedOffset = committed.get(name)?.get(index) ?? null;
      const owner = owners.get(name)?.get(index);
      let lag: number | null = null;
      if (partition) {
        const from = Math.max(committedOffset ?? 0, partition.logStartOffset);
        lag = Math.max(0, partition.highWatermark - from);
      }
      rows.push({
        topic: name,
        partition: index,
        committedOffset,
        logStartOffset: partition?.logStartOffset ?? null,
        highWatermark: partition?.highWatermark ?? null,
        lag,
        memberId: owner?.memberId ?? null,
        clientId: owner?.clientId ?? null,
        clientHost: owner?.clientHost ?? null,
      });
    }
  }
  return {
    groupId,
    state: description.state,
    protocolType: description.protocolType,
    protocol: description.protocolName,
    memberCount: description.members.length,
    lag: rows.reduce((sum, r) => sum + (r.lag ?? 0), 0),
    partitions: rows,
  };
}
