/**
 * Kafka topics in the core: a topic is a name, a stable id and N partitions, each partition one
 * core Stream whose entries are record batches stored as the client sent them (offsets assigned).
 * This file is the contract between the topic registry (lifecycle, configs, durability of
 * definitions: topic-registry.ts) and the Kafka data path (Produce, Fetch, ListOffsets,
 * DeleteRecords in src/protocol/kafka/apis).
 */
import type { Stream } from '../stream/stream.js';
import type { PayloadTailCrc } from '../stream/stream-store.js';

/** Topic-level configs Pier implements, with Kafka's names in comments and Kafka's defaults. */
export interface TopicConfig {
  /** retention.ms: segments whose newest record is older are deleted; -1 keeps forever. Default 7 days. */
  readonly retentionMs: number;
  /** retention.bytes: per partition; oldest segments go while the partition is larger; -1 = no limit. */
  readonly retentionBytes: number;
  /** segment.bytes: a partition's segment is closed and a new one started beyond this. Default 1 GiB. */
  readonly segmentBytes: number;
  /** segment.ms: a segment is closed at the first append this long after its first record. Default 7 days. */
  readonly segmentMs: number;
  /** cleanup.policy: delete (retention), compact (newest record per key), or both. */
  readonly cleanupPolicy: CleanupPolicy;
  /** max.message.bytes: the largest record batch accepted (log overhead included). Default 1048588. */
  readonly maxMessageBytes: number;
  /** message.timestamp.type: CreateTime keeps the producer's timestamps; LogAppendTime stamps the broker's. */
  readonly messageTimestampType: 'CreateTime' | 'LogAppendTime';
  /** delete.retention.ms: a tombstone is kept this long after its first compaction. Default 1 day. */
  readonly deleteRetentionMs: number;
  /** min.cleanable.dirty.ratio: share of the closed log not yet compacted that starts a compaction. */
  readonly minCleanableDirtyRatio: number;
  /** min.compaction.lag.ms: records younger than this are not compacted. */
  readonly minCompactionLagMs: number;
  /** max.compaction.lag.ms: a closed segment older than this is compacted whatever the dirty ratio. */
  readonly maxCompactionLagMs: number;
  /**
   * compression.type: 'producer' (absent: the same) stores batches as produced; otherwise batches are
   * recompressed to this codec on produce.
   */
  readonly compressionType?: TopicCompression;
}

export type TopicCompression = 'producer' | 'uncompressed' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

export type CleanupPolicy = 'delete' | 'compact' | 'compact,delete';

/** True when the policy includes compaction. */
export function isCompacted(config: TopicConfig): boolean {
  return config.cleanupPolicy !== 'delete';
}

export interface TopicPartition {
  readonly topic: string;
  readonly index: number;
  /** The partition's log: one entry per record batch, covering its records' offsets. */
  readonly stream: Stream;
  /** First offset readable (Kafka's log start offset): ≥ stream.firstOffset; DeleteRecords raises it. */
  readonly logStartOffset: number;
  /**
   * One past the last offset that is durable per the fsync policy (Kafka's high watermark): Fetch
   * returns records below it and ListOffsets 'latest' answers it. Appends beyond it are not yet
   * acknowledged to any producer.
   */
  readonly highWatermark: number;
  /**
   * Appends one validated record batch whose baseOffset the caller already set to
   * `stream.nextOffset` (in the same synchronous step); returns that offset. The high watermark
   * moves past it once the write is durable. `timestampMs` is the batch's max timestamp.
   */
  append(batch: Buffer, recordCount: number, timestampMs: number, batchCrc?: PayloadTailCrc): number;
  /** Calls `listener` whenever the high watermark advances (Fetch long polls); returns an unsubscribe. */
  watchHighWatermark(listener: () => void): () => void;
  /** Wakes the high-watermark watchers without a move (the last stable offset moved: transactions). */
  wakeReaders(): void;
  /** DeleteRecords: raises the log start offset to `offset` (≤ highWatermark), durably. */
  deleteRecordsBefore(offset: number): void;
}

export interface Topic {
  readonly name: string;
  /** Kafka topic id (UUID, 16 bytes): stable for the topic's life, new when re-created. */
  readonly id: Buffer;
  readonly partitions: readonly TopicPartition[];
  readonly config: TopicConfig;
  /** Configs set explicitly on the topic (Kafka names → string values), for DescribeConfigs. */
  readonly overrides: ReadonlyMap<string, string>;
}

/** How the Kafka data path finds topics (implemented by the TopicRegistry). */
export interface TopicLookup {
  get(name: string): Topic | undefined;
  /**
   * The topic, creating it with the default partitions and configs when auto-creation is on (Kafka's
   * auto.create.topics.enable) and the name is valid; undefined otherwise.
   */
  getOrAutoCreate(name: string): Topic | undefined;
}
