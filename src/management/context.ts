/**
 * What the management API reads and acts on, passed in by src/composition/management.ts: the core,
 * and the protocol servers' state as plain interfaces (this folder imports no protocol).
 */
import type { BrokerCore } from '../core/broker-core.js';
import type { DurabilityBarrier } from '../core/durability.js';
import type { GroupCoordinator } from '../core/kafka/group-coordinator.js';
import type { TopicSource } from '../core/kafka/monitoring.js';
import type { TopicPartition } from '../core/kafka/topic.js';
import type { SqsQueueRegistry } from '../core/sqs/registry.js';
import type { MetricsEndpoint } from '../metrics/render.js';
import type { RateSampler } from './rates.js';

/** One open AMQP connection as the API shows it. */
export interface ConnectionView {
  readonly name: string;
  readonly user: string;
  readonly vhost: string;
  readonly peerHost: string;
  readonly peerPort: number;
  readonly host: string;
  readonly port: number;
  readonly channels: number;
  readonly connectedAtMs: number;
  readonly clientProperties: Record<string, unknown>;
  /** Its open channels, read when asked (the view is built per request). */
  readonly channelDetails: () => ChannelView[];
  /** Closes it with 320 CONNECTION_FORCED and `reason`. */
  close(reason: string): void;
}

/** One open AMQP channel as the API shows it. */
export interface ChannelView {
  readonly number: number;
  readonly prefetchCount: number;
  readonly globalPrefetchCount: number;
  readonly unacknowledged: number;
  readonly unconfirmed: number;
  readonly consumerCount: number;
  readonly confirm: boolean;
  readonly transactional: boolean;
  readonly uncommitted: number;
  readonly acksUncommitted: number;
  readonly state: string;
}

/** AMQP basic properties to and from the encoded bytes a Message holds. */
export interface PropertiesCodec {
  encode(properties: Record<string, unknown>): Buffer;
  decode(encoded: Buffer): Record<string, unknown>;
}

export interface ListenerView {
  readonly protocol: string;
  readonly host: string;
  readonly port: number;
}

export interface ManagementContext {
  readonly core: BrokerCore;
  readonly connections: () => Iterable<ConnectionView>;
  readonly properties: PropertiesCodec;
  readonly durability: DurabilityBarrier;
  /** Names of the resource alarms raised now ('memory', 'disk'). */
  readonly alarms: () => Iterable<string>;
  /** The protocol listeners bound now (the API's own included). */
  readonly listeners: () => ListenerView[];
  readonly startedAtMs: number;
  /** Pier's own version, reported beside RabbitMQ's. */
  readonly pierVersion: string;
  /**
   * The Prometheus exposition of an endpoint (`/metrics`, `/metrics/per-object`, `/metrics/detailed`
   * with its `family=`/`vhost=` query), rendered in slices that let the event loop run.
   */
  readonly metrics: (endpoint: MetricsEndpoint, query: URLSearchParams) => Promise<Buffer[]>;
  /** Largest request body; a larger one is refused with 413. */
  readonly maxBodyBytes: number;
  readonly log: (line: string) => void;
  /** Samples of the counters and queue depths, for `*_details` (rates.ts). */
  readonly rates: RateSampler;
  /** Kafka's topics and groups for /api/kafka (absent: those routes answer 404). */
  readonly kafka?: KafkaContext;
  /** SQS's queues for /api/sqs (absent: those routes answer 404). */
  readonly sqs?: SqsContext;
  /** The running shovels for /api/shovels (absent: 404). */
  readonly shovels?: () => ShovelView[];
}

/** A shovel's status as /api/shovels shows it (src/bridge's ShovelStatus, passed in by composition). */
export interface ShovelView {
  readonly vhost: string;
  readonly name: string;
  readonly state: string;
  readonly messagesMoved: number;
  readonly lastError: string | undefined;
  readonly lastErrorAtMs: number | undefined;
  readonly source: string;
  readonly destination: string;
  readonly failuresInRow?: number;
  readonly nextRetryAtMs?: number | undefined;
  readonly messagesRefused?: number;
  readonly messagesDeadLettered?: number;
  readonly deadLetter?: string | undefined;
  readonly lastDeadLetterReason?: string | undefined;
}

/** What /api/kafka reads and acts on. */
export interface KafkaContext {
  readonly topics: TopicSource;
  readonly groups: Pick<
    GroupCoordinator,
    'list' | 'describe' | 'fetchOffsets' | 'commitOffsets' | 'groupState'
  >;
  /** The first offset whose record's timestamp is ≥ `timestampMs` (ListOffsets' answer), undefined when none. */
  readonly offsetForTimestamp: (partition: TopicPartition, timestampMs: number) => number | undefined;
  /** Up to `count` records of the partition from offset `from` (below the high watermark); nothing changes. */
  readonly peekRecords: (partition: TopicPartition, from: number, count: number) => PeekedRecord[];
}

/**
 * One stored Kafka record as the peek shows it; `compressed`: it was stored in a compressed batch
 * (decompressed for the peek; a batch that cannot be is one entry without key or value).
 */
export interface PeekedRecord {
  readonly offset: number;
  readonly timestampMs: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly { readonly key: string; readonly value: Buffer | null }[];
  readonly compressed: boolean;
}

/** What /api/sqs reads and acts on. */
export interface SqsContext {
  readonly registry: SqsQueueRegistry;
  readonly now: () => number;
}

/** The RabbitMQ version Pier reports (as the AMQP side does) and the node name. */
export const RABBITMQ_VERSION = '3.10.8';
export const NODE_NAME = 'pier@localhost';
export const CLUSTER_NAME = 'pier';
