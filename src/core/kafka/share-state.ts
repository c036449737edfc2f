/**
 * Where share groups keep what must survive a restart (Kafka's __share_group_state and the group
 * configs): each share-partition's snapshot and each share group's config overrides. A store
 * applies a change to its tables at once and calls `onDurable` once it reached the disk per the
 * fsync policy (storage/kafka/disk-share-state-store.ts); the memory store is for core tests.
 */
import type { SharePartitionSnapshot } from './share-partition.js';

/** The key of a share-partition: group, topic id (hex) and partition. */
export function sharePartitionKey(groupId: string, topicIdHex: string, partition: number): string {
  return `${groupId}\0${topicIdHex}\0${partition}`;
}

/** The parts of a share-partition key. */
export function parseSharePartitionKey(key: string): {
  groupId: string;
  topicIdHex: string;
  partition: number;
} {
  const [groupId, topicIdHex, partition] = key.split('\0') as [string, string, string];
  return { groupId, topicIdHex, partition: Number(partition) };
}

export interface ShareStateStore {
  readonly partitions: ReadonlyMap<string, SharePartitionSnapshot>;
  /** Group id → its config overrides (Kafka's names: share.record.lock.duration.ms, …). */
  readonly groupConfigs: ReadonlyMap<string, Readonly<Record<string, string>>>;
  writePartition(key: string, snapshot: SharePartitionSnapshot, onDurable: () => void): void;
  /** Forgets these share-partitions at once, in one record (DeleteGroups, DeleteShareGroupOffsets). */
  deletePartitions(keys: readonly string[], onDurable: () => void): void;
  writeGroupConfigs(groupId: string, configs: Readonly<Record<string, string>>, onDurable: () => void): void;
  close(): void;
}

export class MemoryShareStateStore implements ShareStateStore {
  readonly partitions = new Map<string, SharePartitionSnapshot>();
  readonly groupConfigs = new Map<string, Readonly<Record<string, string>>>();

  writePartition(key: string, snapshot: SharePartitionSnapshot, onDurable: () => void): void {
    this.partitions.set(key, snapshot);
    queueMicrotask(onDurable);
  }

  deletePartitions(keys: readonly string[], onDurable: () => void): void {
    for (const key of keys) this.partitions.delete(key);
    queueMicrotask(onDurable);
  }

  writeGroupConfigs(groupId: string, configs: Readonly<Record<string, string>>, onDurable: () => void): void {
    this.groupConfigs.set(groupId, configs);
    queueMicrotask(onDurable);
  }

  close(): void {}
}
