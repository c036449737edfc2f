/**
 * Committed offsets of consumer groups: the in-memory table every store keeps, and the store
 * interface the group coordinator writes through. A store applies a change to its table at once
 * (so a later commit or fetch in the same turn sees it) and calls `onDurable` when the change has
 * reached the disk per the fsync policy; OffsetCommit answers only then.
 */

export interface CommittedOffset {
  /** The next offset the group will read (Kafka commits "last processed + 1"). */
  readonly offset: number;
  /** The leader epoch of the record at offset − 1 as the client saw it; -1 when unknown. */
  readonly leaderEpoch: number;
  /** Free text from the client, returned as given ('' for none); at most offsetMetadataMaxBytes. */
  readonly metadata: string;
  readonly commitTimestampMs: number;
}

export interface OffsetCommitEntry extends CommittedOffset {
  readonly topic: string;
  readonly partition: number;
}

/** topic → partition → committed offset. */
export type GroupOffsetMap = Map<string, Map<number, CommittedOffset>>;

/** Where the coordinator keeps committed offsets (memory for tests, storage/kafka/disk-group-offset-store.ts on disk). */
export interface GroupOffsetStore {
  get(groupId: string, topic: string, partition: number): CommittedOffset | undefined;
  /** Every committed offset of a group; undefined when it has none. */
  group(groupId: string): ReadonlyMap<string, ReadonlyMap<number, CommittedOffset>> | undefined;
  /** Ids of every group with at least one committed offset. */
  groupIds(): IterableIterator<string>;
  /** Stores the offsets of one OffsetCommit request as one atomic change. */
  commit(groupId: string, entries: readonly OffsetCommitEntry[], onDurable: () => void): void;
  /** Drops every committed offset of the group (DeleteGroups, offset expiry). */
  deleteGroup(groupId: string, onDurable: () => void): void;
  /** Drops every group's offsets for the topic (the topic was deleted). */
  deleteTopic(topic: string, onDurable: () => void): void;
  /** Drops a group's offsets of the given partitions (OffsetDelete). */
  deleteOffsets(groupId: string, partitions: readonly TopicPartitionRef[], onDurable: () => void): void;
  close(): void;
}

export interface TopicPartitionRef {
  readonly topic: string;
  readonly partition: number;
}

/** The in-memory table behind every store. */
export class OffsetTable {
  readonly groups = new Map<string, GroupOffsetMap>();
  /** Number of committed offsets across all groups (compaction compares the log against it). */
  size = 0;

  get(groupId: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.groups.get(groupId)?.get(topic)?.get(partition);
  }

  set(groupId: string, entry: OffsetCommitEntry): void {
    let topics = this.groups.get(groupId);
    if (!topics) {
      topics = new Map();
      this.groups.set(groupId, topics);
    }
    let partitions = topics.get(entry.topic);
    if (!partitions) {
      partitions = new Map();
      topics.set(entry.topic, partitions);
    }
    if (!partitions.has(entry.partition)) this.size++;
    partitions.set(entry.partition, {
      offset: entry.offset,
      leaderEpoch: entry.leaderEpoch,
      metadata: entry.metadata,
      commitTimestampMs: entry.commitTimestampMs,
    });
  }

  deleteGroup(groupId: string): void {
    const topics = this.groups.get(groupId);
    if (!topics) return;
    for (const partitions of topics.values()) this.size -= partitions.size;
    this.groups.delete(groupId);
  }

  deleteTopic(topic: string): void {
    for (const [groupId, topics] of this.groups) {
      const partitions = topics.get(topic);
      if (!partitions) continue;
      this.size -= partitions.size;
      topics.delete(topic);
      if (topics.size === 0) this.groups.delete(groupId);
    }
  }

  deletePartition(groupId: string, topic: string, partition: number): void {
    const topics = this.groups.get(groupId);
    const partitions = topics?.get(topic);
    if (!topics || !partitions?.delete(partition)) return;
    this.size--;
    if (partitions.size === 0) topics.delete(topic);
    if (topics.size === 0) this.groups.delete(groupId);
  }

  /** Every offset of a group as commit entries (compaction writes these). */
  *entries(groupId: string): IterableIterator<OffsetCommitEntry> {
    const topics = this.groups.get(groupId);
    if (!topics) return;
    for (const [topic, partitions] of topics)
      for (const [partition, committed] of partitions) yield { topic, partition, ...committed };
  }
}

/** A store that forgets everything on restart (in-memory brokers and tests). */
export class MemoryGroupOffsetStore implements GroupOffsetStore {
  private readonly table = new OffsetTable();

  get(groupId: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.table.get(groupId, topic, partition);
  }

  group(groupId: string): GroupOffsetMap | undefined {
    return this.table.groups.get(groupId);
  }

  groupIds(): IterableIterator<string> {
    return this.table.groups.keys();
  }

  commit(groupId: string, entries: readonly OffsetCommitEntry[], onDurable: () => void): void {
    for (const entry of entries) this.table.set(groupId, entry);
    queueMicrotask(onDurable);
  }

  deleteGroup(groupId: string, onDurable: () => void): void {
    this.table.deleteGroup(groupId);
    queueMicrotask(onDurable);
  }

  deleteTopic(topic: string, onDurable: () => void): void {
    this.table.deleteTopic(topic);
    queueMicrotask(onDurable);
  }

  deleteOffsets(groupId: string, partitions: readonly TopicPartitionRef[], onDurable: () => void): void {
    for (const { topic, partition } of partitions) this.table.deletePartition(groupId, topic, partition);
    queueMicrotask(onDurable);
  }

  close(): void {}
}
