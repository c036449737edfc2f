/**
 * The Kafka topics of the broker: lifecycle (create, auto-create, delete, add partitions), configs,
 * durable definitions and the partition streams. Core only: no sockets or files; streams come from
 * the injected store factory, time from the clock, durability from the group committer's barrier.
 *
 * Topics live in the default vhost '/'. A partition's stream is named `kafka\0<topic>\0<index>` in
 * the store, so it never meets an AMQP stream queue of the same name.
 *
 * Each topic is one 'topic' definition keyed by its name: its id, partition count, config
 * overrides and DeleteRecords offsets; it is rewritten (fsync'd) on every change.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { DefinitionWriter } from '../definitions.js';
import type { DurabilityBarrier } from '../durability.js';
import { Stream } from '../stream/stream.js';
import type { StreamRetention, StreamStoreFactory } from '../stream/stream-store.js';
import { PartitionLog } from './partition-log.js';
import type { Topic, TopicConfig, TopicLookup } from './topic.js';
import { type BrokerTopicDefaults, resolveTopicConfig, validateOverrides } from './topic-config.js';
import { TopicError } from './topic-error.js';

export const KAFKA_VHOST = '/';

/** Kafka's log.retention.check.interval.ms default: how often retention runs on every partition. */
export const DEFAULT_RETENTION_CHECK_INTERVAL_MS = 300_000;

/**
 * Every partition holds open files (its active segment and index), so the total is bounded; the
 * default fits a process's usual 1024-descriptor limit with room for connections.
 */
export const DEFAULT_MAX_PARTITIONS = 1000;

const MAX_TOPIC_NAME_LENGTH = 249;
const LEGAL_TOPIC_NAME = /^[a-zA-Z0-9._-]+$/;
const ZERO_ID = Buffer.alloc(16);

export interface TopicRegistryOptions {
  readonly clock: Clock;
  readonly definitions: DefinitionWriter;
  readonly createStreamStore: StreamStoreFactory;
  readonly durability: DurabilityBarrier;
  /** Kafka's auto.create.topics.enable. */
  readonly autoCreateTopics: boolean;
  /** Kafka's num.partitions: partitions of auto-created topics and of CreateTopics with -1. */
  readonly defaultPartitions: number;
  /** How often retention runs on each partition besides at segment roll (log.retention.check.interval.ms). */
  readonly retentionIntervalMs?: number;
  /** Most partitions over all topics. */
  readonly maxPartitions?: number;
  /** Topic ids (16 random bytes); injectable for tests. */
  readonly newTopicId?: () => Buffer;
  /** Told after a topic is deleted (its consumer groups' committed offsets go too). */
  readonly onTopicDeleted?: (name: string) => void;
  /** Broker-level defaults of topic configs (e.g. compression.type); Kafka's where absent. */
  readonly brokerDefaults?: BrokerTopicDefaults;
}

export interface CreateTopicOptions {
  /** Check everything, change nothing (CreateTopics validateOnly). */
  readonly validateOnly?: boolean;
}

/** What a create (or a validate-only create) settled on. */
export interface TopicSummary {
  readonly name: string;
  /** All zero for a validate-only create. */
  readonly id: Buffer;
  readonly partitionCount: number;
  readonly overrides: ReadonlyMap<string, string>;
}

/** The 'topic' definition stored for each topic. */
interface StoredTopic {
  name: string;
  /** 32 hex digits. */
  id: string;
  partitions: number;
  configs: Record<string, string>;
  /** DeleteRecords offsets by partition index (only those set). */
  logStartOffsets?: Record<string, number>;
}

class TopicState implements Topic {
  partitions: PartitionLog[] = [];
  config: TopicConfig;

  constructor(
    readonly name: string,
    readonly id: Buffer,
    public overrides: ReadonlyMap<string, string>,
    brokerDefaults: BrokerTopicDefaults | undefined,
  ) {
    this.config = resolveTopicConfig(overrides, brokerDefaults);
  }

  get partitionCount(): number {
    return this.partitions.length;
  }
}

/** Kafka's topic name rules (org.apache.kafka.common.internals.Topic.validate). */
export function validateTopicName(name: string): void {
  if (name.length === 0)
    throw new TopicError('INVALID_TOPIC_EXCEPTION', "Topic name is illegal, it can't be empty");
  if (name === '.' || name === '..')
    throw new TopicError('INVALID_TOPIC_EXCEPTION', 'Topic name cannot be "." or ".."');
  if (name.length > MAX_TOPIC_NAME_LENGTH)
    throw new TopicError(
      'INVALID_TOPIC_EXCEPTION',
      `Topic name is illegal, it can't be longer than ${MAX_TOPIC_NAME_LENGTH} characters, topic name: ${name}`,
    );
  if (!LEGAL_TOPIC_NAME.test(name))
    throw new TopicError(
      'INVALID_TOPIC_EXCEPTION',
      `Topic name "${name}" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'`,
    );
}

export function isValidTopicName(name: string): boolean {
  return (
    name.length > 0 &&
    name.length <= MAX_TOPIC_NAME_LENGTH &&
    name !== '.' &&
    name !== '..' &&
    LEGAL_TOPIC_NAME.test(name)
  );
}

/** Kafka refuses names that differ from an existing one only by '.' versus '_' (metric names clash). */
function collisionKey(name: string): string {
  return name.replaceAll('.', '_');
}

/** A Kafka-style random topic id: never all-zero or the reserved metadata id 0…01. */
function randomTopicId(): Buffer {
  for (;;) {
    const id = Buffer.from(randomUUID().replaceAll('-', ''), 'hex');
    if (id.compare(ZERO_ID) !== 0 && !(id.readBigUInt64BE(0) === 0n && id.readBigUInt64BE(8) === 1n))
      return id;
  }
}

function retentionOf(config: TopicConfig): StreamRetention {
  // cleanup.policy=compact alone: no segment is deleted for age or size (Kafka's rule).
  if (!config.cleanupPolicy.includes('delete')) return {};
  return {
    maxAgeMs: config.retentionMs < 0 ? undefined : config.retentionMs,
    maxBytes: config.retentionBytes < 0 ? undefined : config.retentionBytes,
  };
}

export class TopicRegistry implements TopicLookup {
  private readonly topics = new Map<string, TopicState>();
  private readonly byId = new Map<string, TopicState>();
  private readonly byCollisionKey = new Map<string, TopicState>();
  private partitionTotal = 0;
  private readonly retentionIntervalMs: number;
  readonly maxPartitions: number;
  private readonly newTopicId: () => Buffer;
  private closed = false;

  constructor(private readonly options: TopicRegistryOptions) {
    this.retentionIntervalMs = options.retentionIntervalMs ?? DEFAULT_RETENTION_CHECK_INTERVAL_MS;
    this.maxPartitions = options.maxPartitions ?? DEFAULT_MAX_PARTITIONS;
    this.newTopicId = options.newTopicId ?? randomTopicId;
  }

  get autoCreateTopics(): boolean {
    return this.options.autoCreateTopics;
  }

  get defaultPartitions(): number {
    return this.options.defaultPartitions;
  }

  /** Broker-level defaults of topic configs (DescribeConfigs shows them as the broker's). */
  get brokerDefaults(): BrokerTopicDefaults {
    return this.options.brokerDefaults ?? new Map();
  }

  get retentionCheckIntervalMs(): number {
    return this.retentionIntervalMs;
  }

  get(name: string): Topic | undefined {
    return this.topics.get(name);
  }

  /** By topic id: 16 bytes, or the codec's 32-hex-digit form (hyphens allowed). */
  getById(id: Buffer | string): Topic | undefined {
    const key = typeof id === 'string' ? id.replaceAll('-', '').toLowerCase() : id.toString('hex');
    return this.byId.get(key);
  }

  /** All topics, by name. */
  list(): Topic[] {
    return [...this.topics.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  getOrAutoCreate(name: string): Topic | undefined {
    const found = this.topics.get(name);
    if (found || !this.options.autoCreateTopics || !isValidTopicName(name)) return found;
    try {
      return this.autoCreate(name);
    } catch (error) {
      if (error instanceof TopicError) return undefined;
      throw error;
    }
  }

  /**
   * Creates `name` with the defaults as auto-creation does, whatever the auto-create setting (the
   * caller checked it); throws TopicError when the name is invalid, collides or a limit is reached.
   */
  autoCreate(name: string): Topic {
    this.create(name, this.options.defaultPartitions, []);
    return this.topics.get(name)!;
  }

  /**
   * Creates a topic (CreateTopics). Throws TopicError: INVALID_TOPIC_EXCEPTION (name),
   * TOPIC_ALREADY_EXISTS, INVALID_PARTITIONS, INVALID_CONFIG or INVALID_REQUEST (configs).
   */
  create(
    name: string,
    partitionCount: number,
    configs: Iterable<{ readonly name: string; readonly value: string | null }>,
    options: CreateTopicOptions = {},
  ): TopicSummary {
    this.checkOpen();
    validateTopicName(name);
    if (this.topics.has(name))
      throw new TopicError('TOPIC_ALREADY_EXISTS', `Topic '${name}' already exists.`);
    const colliding = this.byCollisionKey.get(collisionKey(name));
    if (colliding)
      throw new TopicError(
        'INVALID_TOPIC_EXCEPTION',
        `Topic '${name}' collides with existing topic: ${colliding.name}`,
      );
    if (!Number.isInteger(partitionCount) || partitionCount < 1)
      throw new TopicError(
        'INVALID_PARTITIONS',
        'Number of partitions was set to an invalid non-positive value.',
      );
    this.checkPartitionLimit(partitionCount);
    const overrides = validateOverrides(configs);
    if (options.validateOnly) return { name, id: ZERO_ID, partitionCount, overrides };

    const topic = new TopicState(name, this.newTopicId(), overrides, this.options.brokerDefaults);
    this.register(topic);
    try {
      this.openPartitions(topic, partitionCount, new Map());
      this.persist(topic);
    } catch (error) {
      // A store that cannot be opened (disk full, too many files) leaves no half-made topic.
      this.unregister(topic);
      for (const partition of topic.partitions) partition.destroy();
      throw error;
    }
    return topic;
  }

  /** Deletes a topic by name or id, destroying its data. Throws TopicError when unknown. */
  delete(nameOrId: string | Buffer): Topic {
    this.checkOpen();
    const topic =
      typeof nameOrId === 'string' ? this.topics.get(nameOrId) : this.byId.get(nameOrId.toString('hex'));
    if (!topic) {
      if (typeof nameOrId === 'string')
        throw new TopicError(
          'UNKNOWN_TOPIC_OR_PARTITION',
          `This server does not host this topic: ${nameOrId}`,
        );
      throw new TopicError(
        'UNKNOWN_TOPIC_ID',
        `This server does not host this topic ID: ${nameOrId.toString('hex')}`,
      );
    }
    // The definition goes first: a crash halfway leaves orphan stream data (removed at start-up),
    // never a topic whose data is half gone.
    this.options.definitions.delete('topic', topic.name);
    this.unregister(topic);
    for (const partition of topic.partitions) partition.destroy();
    this.options.onTopicDeleted?.(topic.name);
    return topic;
  }

  /** CreatePartitions: grows the topic to `newTotal` partitions; Kafka never shrinks one. */
  addPartitions(name: string, newTotal: number, options: CreateTopicOptions = {}): void {
    this.checkOpen();
    const topic = this.requireTopic(name);
    const current = topic.partitions.length;
    if (newTotal < current)
      throw new TopicError(
        'INVALID_PARTITIONS',
        `Topic currently has ${current} partitions, which is higher than the requested ${newTotal}.`,
      );
    if (newTotal === current)
      throw new TopicError('INVALID_PARTITIONS', `Topic already has ${current} partitions.`);
    if (!Number.isInteger(newTotal))
      throw new TopicError('INVALID_PARTITIONS', `Invalid partition count ${newTotal}.`);
    this.checkPartitionLimit(newTotal - current);
    if (options.validateOnly) return;
    this.openPartitions(topic, newTotal, new Map());
    this.persist(topic);
  }

  /**
   * Replaces the topic's config overrides (AlterConfigs; IncrementalAlterConfigs computes the new
   * set). Retention changes apply at once; segment.bytes applies to partitions opened afterwards.
   */
  alterConfigs(
    name: string,
    configs: Iterable<{ readonly name: string; readonly value: string | null }>,
    options: CreateTopicOptions = {},
  ): void {
    this.checkOpen();
    const topic = this.requireTopic(name);
    const overrides = validateOverrides(configs);
    if (options.validateOnly) return;
    topic.overrides = overrides;
    topic.config = resolveTopicConfig(overrides, this.options.brokerDefaults);
    this.persist(topic);
    const retention = retentionOf(topic.config);
    for (const partition of topic.partitions) partition.stream.setRetention(retention);
  }

  /** Re-opens the topics stored in the definitions log (start-up); their data is recovered by the stores. */
  restore(entries: readonly { kind: string; key: string; value: unknown }[]): void {
    for (const entry of entries) {
      if (entry.kind !== 'topic') continue;
      const stored = entry.value as StoredTopic;
      const topic = new TopicState(
        stored.name,
        Buffer.from(stored.id, 'hex'),
        new Map(Object.entries(stored.configs)),
        this.options.brokerDefaults,
      );
      this.register(topic);
      const logStarts = new Map(Object.entries(stored.logStartOffsets ?? {}).map(([k, v]) => [Number(k), v]));
      this.openPartitions(topic, stored.partitions, logStarts);
    }
  }

  /** The stream names of every partition, for storage's orphan clean-up (keep these). */
  streamKeepList(): Array<{ vhost: string; queueName: string }> {
    const keep: Array<{ vhost: string; queueName: string }> = [];
    for (const topic of this.topics.values())
      for (const p of topic.partitions)
        keep.push({ vhost: KAFKA_VHOST, queueName: partitionStreamName(topic.name, p.index) });
    return keep;
  }

  /** Total partitions over all topics. */
  get partitionCount(): number {
    return this.partitionTotal;
  }

  /** Shutdown: stops retention timers and closes the partition stores, keeping their data. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const topic of this.topics.values()) for (const p of topic.partitions) p.close();
  }

  private register(topic: TopicState): void {
    this.topics.set(topic.name, topic);
    this.byId.set(topic.id.toString('hex'), topic);
    this.byCollisionKey.set(collisionKey(topic.name), topic);
  }

  private unregister(topic: TopicState): void {
    this.topics.delete(topic.name);
    this.byId.delete(topic.id.toString('hex'));
    this.byCollisionKey.delete(collisionKey(topic.name));
    this.partitionTotal -= topic.partitions.length;
  }

  private openPartitions(topic: TopicState, total: number, logStarts: ReadonlyMap<number, number>): void {
    const { segmentBytes, segmentMs } = topic.config;
    const retention = retentionOf(topic.config);
    for (let index = topic.partitions.length; index < total; index++) {
      const store = this.options.createStreamStore(KAFKA_VHOST, partitionStreamName(topic.name, index), {
        segmentSizeBytes: segmentBytes,
        segmentMaxAgeMs: segmentMs,
      });
      const stream = new Stream(`${topic.name}-${index}`, store, this.options.clock, {
        retention,
        retentionIntervalMs: this.retentionIntervalMs,
      });
      topic.partitions.push(
        new PartitionLog(topic.name, index, stream, this.options.durability, logStarts.get(index) ?? 0, () =>
          this.persist(topic),
        ),
      );
      this.partitionTotal++;
    }
  }

  private persist(topic: TopicState): void {
    const logStartOffsets: Record<string, number> = {};
    for (const p of topic.partitions)
      if (p.deleteRecordsOffset > 0) logStartOffsets[p.index] = p.deleteRecordsOffset;
    const stored: StoredTopic = {
      name: topic.name,
      id: topic.id.toString('hex'),
      partitions: topic.partitions.length,
      configs: Object.fromEntries(topic.overrides),
      logStartOffsets,
    };
    this.options.definitions.put('topic', topic.name, stored);
  }

  private requireTopic(name: string): TopicState {
    const topic = this.topics.get(name);
    if (!topic) throw new TopicError('UNKNOWN_TOPIC_OR_PARTITION', `The topic '${name}' does not exist.`);
    return topic;
  }

  private checkPartitionLimit(adding: number): void {
    if (this.partitionTotal + adding > this.maxPartitions)
      throw new TopicError(
        'INVALID_PARTITIONS',
        `Pier holds at most ${this.maxPartitions} partitions over all topics; ${this.partitionTotal} exist and ${adding} more were requested. Delete topics or raise the broker's partition limit.`,
      );
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('the topic registry is closed');
  }
}

/** The stream store name of a partition (a topic name never holds '\0', so none can clash). */
export function partitionStreamName(topic: string, index: number): string {
  return `kafka\0${topic}\0${index}`;
}

/** The codec's uuid form (8-4-4-4-12 lowercase hex) of a topic id. */
export function formatTopicId(id: Buffer): string {
  const h = id.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
