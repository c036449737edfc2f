/**
 * Kafka topic partitions as AMQP stream queues (docs/bridges.md, "A Kafka topic as an AMQP
 * stream"): the StreamViewFactory composition hands the AMQP core. A view reads the partition's own
 * log — the record batches Kafka clients fetch — and appends AMQP publishes to it as record batches
 * through the partition (so the high watermark, durability and kafkajs consumers see them like any
 * produced batch). Conversions: stream-view-codec.ts.
 */
import { preconditionFailed } from '../core/amqp/errors.js';
import type { Arguments } from '../core/amqp/exchange.js';
import {
  type StreamLogView,
  type StreamViewClient,
  type StreamViewFactory,
  type StreamViewOperation,
  StreamViewQueue,
  VIEW_PARTITION_ARGUMENT,
  VIEW_TOPIC_ARGUMENT,
  type ViewMessage,
} from '../core/amqp/stream-view-queue.js';
import type { BrokerCore } from '../core/broker-core.js';
import { type AclAuthorizer, AclOperation, CLUSTER_RESOURCE_NAME, ResourceType } from '../core/kafka/acls.js';
import { isCompacted, type Topic, type TopicPartition } from '../core/kafka/topic.js';
import { TopicError } from '../core/kafka/topic-error.js';
import type { TopicRegistry } from '../core/kafka/topic-registry.js';
import type { TransactionCoordinator } from '../core/kafka/transaction-coordinator.js';
import type { Message } from '../core/message.js';
import type { StreamEntry } from '../core/stream/stream-store.js';
import { recompressForTopic } from '../protocol/kafka/recompress.js';
import { BatchOffset, CRC_START, stampLogAppendTime } from '../protocol/kafka/record-batch.js';
import { type BatchSummary, batchOfAmqpMessage, viewedRecordsOfBatch } from './stream-view-codec.js';

/** What the views need of the Kafka side; attached once it is composed (it is composed after AMQP). */
export interface KafkaViewSources {
  readonly topics: TopicRegistry;
  readonly transactions: TransactionCoordinator;
  /** The AMQP core: a deleted topic's views are deleted with it. */
  readonly core: BrokerCore;
  /** The broker's log: why a publish to a view was refused (the publisher only sees a nack). */
  readonly log?: (line: string) => void;
  /** The Kafka ACLs (`--kafka-acls on`): they govern AMQP clients of a view as `User:<user>`. */
  readonly acls?: AclAuthorizer;
}

/** The Kafka operation each thing an AMQP client does through a view needs, and its CLI name. */
const VIEW_OPERATIONS = {
  read: [AclOperation.READ, 'Read'],
  write: [AclOperation.WRITE, 'Write'],
  declare: [AclOperation.DESCRIBE, 'Describe'],
} as const;

interface ViewTarget {
  readonly topic: string;
  readonly partition: number | undefined;
}

export class KafkaStreamViews implements StreamViewFactory {
  private sources: KafkaViewSources | undefined;

  attach(sources: KafkaViewSources): void {
    this.sources = sources;
  }

  check(vhost: string, queueName: string, args: Arguments): void {
    const fail = failure(vhost, queueName);
    const { topics } = this.kafka(vhost, queueName);
    const target = targetOf(args);
    const topic = topics.get(target.topic);
    if (!topic) {
      if (target.partition !== undefined && target.partition > 0) {
        fail(
          VIEW_PARTITION_ARGUMENT,
          `topic '${target.topic}' does not exist, and a view creates it with one partition: create the topic with ${target.partition + 1} or more partitions first`,
        );
      }
      try {
        topics.create(target.topic, 1, [], { validateOnly: true });
      } catch (error) {
        if (error instanceof TopicError) fail(VIEW_TOPIC_ARGUMENT, error.message);
        throw error;
      }
      return;
    }
    const count = topic.partitions.length;
    if (target.partition === undefined && count > 1) {
      fail(
        VIEW_PARTITION_ARGUMENT,
        `topic '${target.topic}' has ${count} partitions and a stream is one ordered log: name the partition to view (0 to ${count - 1})`,
      );
    }
    if (target.partition !== undefined && target.partition >= count) {
      fail(
        VIEW_PARTITION_ARGUMENT,
        `topic '${target.topic}' has ${count} partition(s): 0 to ${count - 1}, not ${target.partition}`,
      );
    }
  }

  open(vhost: string, queueName: string, args: Arguments): StreamLogView {
    const fail = failure(vhost, queueName);
    const { topics, transactions } = this.kafka(vhost, queueName);
    const target = targetOf(args);
    const index = target.partition ?? 0;
    let topic = topics.get(target.topic);
    if (!topic) {
      // Declared now (check() passed), or recovered after the topic went in a crash window.
      try {
        topics.create(target.topic, index + 1, []);
      } catch (error) {
        if (error instanceof TopicError) fail(VIEW_TOPIC_ARGUMENT, error.message);
        throw error;
      }
      topic = topics.get(target.topic)!;
    }
    const partition = topic.partitions[index];
    if (!partition) {
      fail(VIEW_PARTITION_ARGUMENT, `topic '${target.topic}' has no partition ${index}`);
    }
    const log = this.sources?.log;
    return new KafkaPartitionView(
      topics,
      transactions,
      topic,
      partition,
      `${vhost}/${queueName}`,
      queueName,
      log,
    );
  }

  /** The topic was deleted (DeleteTopics): its views go too, their consumers cancelled. */
  topicDeleted(name: string): void {
    const core = this.sources?.core;
    if (!core) return;
    for (const queue of [...core.allQueues()]) {
      if (!(queue instanceof StreamViewQueue)) continue;
      if (!(queue.view instanceof KafkaPartitionView) || queue.view.topicName !== name) continue;
      core.vhosts.get(queue.vhost)?.removeQueue(queue);
    }
  }

  refusal(client: StreamViewClient, args: Arguments, operation: StreamViewOperation): string | undefined {
    const acls = this.sources?.acls;
    if (!acls) return undefined;
    const topic = targetOf(args).topic;
    const principal = `User:${client.user}`;
    const allows = (op: number, resourceType: number, resourceName: string) =>
      acls.authorize({ principal, host: client.host, operation: op, resourceType, resourceName });
    // A view over a missing topic creates it: Kafka's CREATE on the cluster or on the topic.
    if (operation === 'declare' && !this.sources!.topics.get(topic)) {
      if (allows(AclOperation.CREATE, ResourceType.CLUSTER, CLUSTER_RESOURCE_NAME)) return undefined;
      if (allows(AclOperation.CREATE, ResourceType.TOPIC, topic)) return undefined;
      return refusalText(client, topic, 'Create');
    }
    const [code, name] = VIEW_OPERATIONS[operation];
    return allows(code, ResourceType.TOPIC, topic) ? undefined : refusalText(client, topic, name);
  }

  private kafka(vhost: string, queueName: string): KafkaViewSources {
    if (this.sources) return this.sources;
    return failure(vhost, queueName)(VIEW_TOPIC_ARGUMENT, 'the Kafka side of this broker is not composed');
  }
}

function refusalText(client: StreamViewClient, topic: string, operation: string): string {
  return (
    `access to Kafka topic '${topic}' refused for user '${client.user}': the Kafka ACLs (--kafka-acls on) ` +
    `do not allow ${operation} to User:${client.user}; add one, e.g. kafka-acls.sh --add ` +
    `--allow-principal User:${client.user} --operation ${operation} --topic ${topic}`
  );
}

function targetOf(args: Arguments): ViewTarget {
  const partition = args[VIEW_PARTITION_ARGUMENT];
  return {
    topic: String(args[VIEW_TOPIC_ARGUMENT]),
    partition: partition === undefined ? undefined : Number(partition),
  };
}

function failure(vhost: string, queueName: string) {
  return (argument: string, reason: string): never => {
    throw preconditionFailed(
      `invalid arg '${argument}' for queue '${queueName}' in vhost '${vhost}': ${reason}`,
    );
  };
}

class KafkaPartitionView implements StreamLogView {
  readonly description: string;

  constructor(
    private readonly topics: TopicRegistry,
    private readonly transactions: TransactionCoordinator,
    private readonly topic: Topic,
    private readonly partition: TopicPartition,
    /** vhost/queue, for log lines. */
    private readonly queuePath: string,
    private readonly queueName: string,
    private readonly log: ((line: string) => void) | undefined,
  ) {
    this.description = `Kafka topic '${topic.name}' partition ${partition.index}`;
  }

  get topicName(): string {
    return this.topic.name;
  }

  get stream() {
    return this.partition.stream;
  }

  get firstOffset(): number {
    return this.partition.logStartOffset;
  }

  /** read_committed: durable (the high watermark) and below every open transaction. */
  get readableEnd(): number {
    return this.transactions.lastStableOffset(this.partition);
  }

  get isGone(): boolean {
    return this.topics.get(this.topic.name)?.partitions[this.partition.index] !== this.partition;
  }

  /** Refused publishes: the first is logged, then every 1,000th (a refusing view must not flood the log). */
  private refusals = 0;

  append(message: Message): string | undefined {
    const refusal = this.tryAppend(message);
    if (refusal !== undefined && this.refusals++ % 1000 === 0) {
      this.log?.(`stream view ${this.queuePath}: publish refused (${this.refusals} so far): ${refusal}`);
    }
    return refusal;
  }

  private tryAppend(message: Message): string | undefined {
    if (this.isGone) return `${this.description} was deleted`;
    if (message.body === null) return 'the message body is not in memory';
    const config = this.topic.config;
    const built = batchOfAmqpMessage(
      {
        exchange: message.exchange,
        routingKey: message.routingKey,
        properties: message.properties,
        body: message.body,
        publishedAtMs: message.publishedAtMs,
      },
      this.partition.stream.nextOffset,
    );
    let batch = built.batch;
    if (isCompacted(config) && !built.keyed) {
      return `${this.description} is compacted and the message has no key: publish through an exchange (the routing key is the key) or set the x-message-key header`;
    }
    const recompressed = recompressForTopic(batch, config.compressionType);
    if (recompressed) batch = recompressed;
    if (batch.length > config.maxMessageBytes) {
      return `the record is ${batch.length} bytes, over ${this.description}'s max.message.bytes ${config.maxMessageBytes}`;
    }
    let timestampMs = Number(batch.readBigInt64BE(BatchOffset.maxTimestamp));
    if (config.messageTimestampType === 'LogAppendTime') {
      timestampMs = message.publishedAtMs;
      stampLogAppendTime(batch, 0, batch.length, timestampMs);
    }
    try {
      this.partition.append(batch, 1, timestampMs, {
        from: CRC_START,
        crc: batch.readUInt32BE(BatchOffset.crc),
      });
    } catch (error) {
      return `could not append to ${this.description}: ${(error as Error).message}`;
    }
    return undefined;
  }

  messagesOf(entry: StreamEntry): ViewMessage[] {
    return viewedRecordsOfBatch(entry.payload, this.queueName, (summary) => this.isAborted(summary)).map(
      ({ offset, message }) => ({
        offset,
        message: {
          exchange: '',
          routingKey: message.routingKey,
          properties: message.properties,
          body: message.body,
          bodySizeBytes: message.body.length,
          persistent: true,
          publishedAtMs: message.timestampMs,
          priority: 0,
        },
      }),
    );
  }

  /** Kafka's aborted ranges: the producer's records from its first offset to the abort marker. */
  private isAborted(summary: BatchSummary): boolean {
    const at = summary.baseOffset;
    return this.transactions
      .abortedBetween(this.partition, at, at + 1)
      .some(
        (range) =>
          range.producerId === summary.producerId && range.firstOffset <= at && at <= range.lastOffset,
      );
  }

  watch(listener: () => void): () => void {
    return this.partition.watchHighWatermark(listener);
  }
}
