/**
 * Test doubles for the Kafka data path until the topic registry lands: topics whose partitions are
 * core Streams (in memory, or a DiskStreamStore on disk), with a high watermark the test controls, a
 * fake connection session, and a call helper that sends bodies through the real codec both ways.
 */
import type { Clock } from '../../../src/core/clock.js';
import type { Topic, TopicConfig, TopicLookup, TopicPartition } from '../../../src/core/kafka/topic.js';
import { TransactionCoordinator } from '../../../src/core/kafka/transaction-coordinator.js';
import { MemoryTransactionLog } from '../../../src/core/kafka/transaction-log.js';
import { MemoryStreamStore } from '../../../src/core/stream/memory-stream-store.js';
import { Stream } from '../../../src/core/stream/stream.js';
import type { StreamStore } from '../../../src/core/stream/stream-store.js';
import type { KafkaStruct } from '../../../src/protocol/kafka/codec/index.js';
import {
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
} from '../../../src/protocol/kafka/codec/index.js';
import { type KafkaApi, type KafkaSession, NO_RESPONSE } from '../../../src/protocol/kafka/kafka-api.js';
import { type BatchInput, encodeRecordBatch } from '../../../src/protocol/kafka/record-batch-encoder.js';
import { writeMarker } from '../../../src/protocol/kafka/transaction-markers.js';

export const DEFAULT_CONFIG: TopicConfig = {
  retentionMs: 7 * 24 * 3600 * 1000,
  retentionBytes: -1,
  segmentBytes: 1 << 30,
  segmentMs: 604_800_000,
  cleanupPolicy: 'delete',
  maxMessageBytes: 1048588,
  messageTimestampType: 'CreateTime',
  deleteRetentionMs: 86_400_000,
  minCleanableDirtyRatio: 0.5,
  minCompactionLagMs: 0,
  maxCompactionLagMs: Number.MAX_SAFE_INTEGER,
};

/**
 * 'auto': the high watermark follows appends in a microtask (like a fast disk).
 * 'manual': it moves only when the test calls makeDurable() — the durability barrier.
 */
export type Durability = 'auto' | 'manual';

export class FakePartition implements TopicPartition {
  highWatermark: number;
  logStartOffset: number;
  private readonly listeners = new Set<() => void>();

  constructor(
    readonly topic: string,
    readonly index: number,
    readonly stream: Stream,
    private readonly durability: Durability,
    private readonly afterDurable?: (callback: () => void) => void,
  ) {
    this.highWatermark = stream.nextOffset;
    this.logStartOffset = stream.firstOffset;
  }

  append(batch: Buffer, recordCount: number, timestampMs: number): number {
    const offset = this.stream.appendRaw(batch, recordCount, timestampMs);
    const end = this.stream.nextOffset;
    if (this.afterDurable) this.afterDurable(() => this.makeDurable(end));
    else if (this.durability === 'auto') queueMicrotask(() => this.makeDurable(end));
    return offset;
  }

  /** Moves the high watermark to `upTo` (default: everything appended) and tells the watchers. */
  makeDurable(upTo = this.stream.nextOffset): void {
    if (upTo <= this.highWatermark) return;
    this.highWatermark = upTo;
    for (const listener of [...this.listeners]) listener();
  }

  wakeReaders(): void {
    for (const listener of [...this.listeners]) listener();
  }

  watchHighWatermark(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get watcherCount(): number {
    return this.listeners.size;
  }

  deleteRecordsBefore(offset: number): void {
    if (offset > this.highWatermark) throw new RangeError(`${offset} is above the high watermark`);
    this.logStartOffset = Math.max(this.logStartOffset, offset);
  }
}

export interface FakeTopicsOptions {
  readonly durability?: Durability;
  readonly autoCreate?: boolean;
  /** Where partitions keep their batches (default: in memory). */
  readonly openStore?: (topic: string, partition: number) => StreamStore;
  /** A real durability barrier (GroupCommitter.afterDurable): the high watermark follows it. */
  readonly afterDurable?: (callback: () => void) => void;
}

export class FakeTopics implements TopicLookup {
  readonly topics = new Map<string, Topic>();
  constructor(
    private readonly clock: Clock,
    private readonly options: FakeTopicsOptions = {},
  ) {}

  create(name: string, partitionCount = 1, config: Partial<TopicConfig> = {}): Topic {
    const partitions = Array.from({ length: partitionCount }, (_, i) => {
      const store = this.options.openStore?.(name, i) ?? new MemoryStreamStore({ segmentSizeBytes: 1 << 20 });
      const stream = new Stream(`${name}-${i}`, store, this.clock);
      return new FakePartition(name, i, stream, this.options.durability ?? 'auto', this.options.afterDurable);
    });
    const topic: Topic = {
      name,
      id: Buffer.alloc(16, this.topics.size + 1),
      partitions,
      config: { ...DEFAULT_CONFIG, ...config },
      overrides: new Map(),
    };
    this.topics.set(name, topic);
    return topic;
  }

  partition(name: string, index = 0): FakePartition {
    return this.topics.get(name)!.partitions[index] as FakePartition;
  }

  get(name: string): Topic | undefined {
    return this.topics.get(name);
  }

  getById(id: string): Topic | undefined {
    const hex = id.replaceAll('-', '');
    for (const topic of this.topics.values()) if (topic.id.toString('hex') === hex) return topic;
    return undefined;
  }

  getOrAutoCreate(name: string): Topic | undefined {
    return this.topics.get(name) ?? (this.options.autoCreate ? this.create(name) : undefined);
  }

  close(): void {
    for (const topic of this.topics.values()) for (const p of topic.partitions) p.stream.close();
  }
}

export class FakeSession implements KafkaSession {
  readonly id = 1;
  readonly remoteAddress = '127.0.0.1:50000';
  readonly principal = undefined;
  closed = false;
  closeReason: string | undefined;
  private readonly listeners: Array<() => void> = [];

  onClose(listener: () => void): void {
    this.listeners.push(listener);
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.closeReason = reason;
    for (const listener of this.listeners) listener();
  }

  get closeListenerCount(): number {
    return this.listeners.length;
  }
}

let correlationId = 0;

/**
 * Sends `body` to the API as a real client would: encoded as a request frame at `version`, decoded
 * again (so absent fields take their defaults and records are frame slices); the answer is encoded
 * and decoded too, so the test sees what goes on the wire. NO_RESPONSE comes back as is.
 */
export async function call<Response = KafkaStruct>(
  apis: readonly KafkaApi[],
  apiKey: number,
  version: number,
  body: KafkaStruct,
  session: KafkaSession = new FakeSession(),
): Promise<Response | typeof NO_RESPONSE> {
  return settle<Response>(start(apis, apiKey, version, body, session), apiKey, version);
}

/** Like call(), but returns the pending promise of the handler so the test can act before it settles. */
export function start(
  apis: readonly KafkaApi[],
  apiKey: number,
  version: number,
  body: KafkaStruct,
  session: KafkaSession = new FakeSession(),
): { answer: Promise<KafkaStruct | typeof NO_RESPONSE>; settled: () => boolean } {
  const api = apis.find((a) => a.apiKey === apiKey);
  if (!api) throw new Error(`no API ${apiKey}`);
  if (version < api.minVersion || version > api.maxVersion) throw new Error(`v${version} not served`);
  const header = { apiKey, apiVersion: version, correlationId: ++correlationId, clientId: 'test' };
  const frame = encodeRequest(header, body);
  const request = decodeRequest(frame.subarray(4));
  let settled = false;
  const answer = Promise.resolve(api.handle({ header: request.header, body: request.body, session })).then(
    (a) => {
      settled = true;
      return a;
    },
  );
  return { answer, settled: () => settled };
}

export async function settle<Response = KafkaStruct>(
  pending: { answer: Promise<KafkaStruct | typeof NO_RESPONSE> },
  apiKey: number,
  version: number,
): Promise<Response | typeof NO_RESPONSE> {
  const answer = await pending.answer;
  if (answer === NO_RESPONSE) return NO_RESPONSE;
  const frame = encodeResponse(apiKey, version, 7, answer);
  return decodeResponse(apiKey, version, frame.subarray(4)).body as Response;
}

/** Lets queued microtasks and promise callbacks run. */
export async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
  await new Promise((resolve) => setImmediate(resolve));
}

/** A batch of `count` records with values `${prefix}-${i}`. */
export function batchOf(count: number, prefix = 'v', input: Partial<BatchInput> = {}): Buffer {
  return encodeRecordBatch({
    records: Array.from({ length: count }, (_, i) => ({ key: `k${i}`, value: `${prefix}-${i}` })),
    baseTimestampMs: 1_700_000_000_000,
    ...input,
  });
}

/** A Produce body for one partition. */
export function produceBody(
  topic: string,
  partition: number,
  records: Buffer | null,
  options: { acks?: number; timeoutMs?: number; transactionalId?: string | null } = {},
): KafkaStruct {
  return {
    transactionalId: options.transactionalId ?? null,
    acks: options.acks ?? -1,
    timeoutMs: options.timeoutMs ?? 30_000,
    topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
  };
}

/** A Fetch body for one partition. */
export function fetchBody(
  topic: string,
  partition: number,
  fetchOffset: number,
  options: {
    maxWaitMs?: number;
    minBytes?: number;
    maxBytes?: number;
    partitionMaxBytes?: number;
    sessionId?: number;
    sessionEpoch?: number;
  } = {},
): KafkaStruct {
  return {
    replicaId: -1,
    maxWaitMs: options.maxWaitMs ?? 0,
    minBytes: options.minBytes ?? 1,
    maxBytes: options.maxBytes ?? 50 * 1024 * 1024,
    isolationLevel: 0,
    sessionId: options.sessionId ?? 0,
    sessionEpoch: options.sessionEpoch ?? -1,
    topics: [
      {
        topic,
        partitions: [
          {
            partition,
            fetchOffset: BigInt(fetchOffset),
            partitionMaxBytes: options.partitionMaxBytes ?? 1024 * 1024,
            currentLeaderEpoch: -1,
            logStartOffset: -1n,
          },
        ],
      },
    ],
    forgottenTopicsData: [],
  };
}

/** A transaction coordinator over the fake topics, in memory (for APIs that need one). */
export function testTransactions(topics: TopicLookup, clock: Clock): TransactionCoordinator {
  let nextId = 1_000_000;
  return new TransactionCoordinator({
    clock,
    log: new MemoryTransactionLog(),
    topics,
    durability: { afterDurable: (callback) => queueMicrotask(callback) },
    nextProducerId: () => nextId++,
    writeMarker,
    commitOffsets: () => {},
  });
}
