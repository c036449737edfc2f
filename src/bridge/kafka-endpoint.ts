/**
 * Kafka shovel endpoints through kafkajs, for this Pier's Kafka listener or a remote cluster
 * (kafka://host:port, user:password in the URI for SASL/SCRAM-SHA-256, kafkas:// is not offered).
 * A source is a consumer group whose offsets are committed only after the batch it read was
 * confirmed at the destination; a destination is a producer with acks=all (-1).
 */
import { type Consumer, Kafka, logLevel, type Producer, type SASLOptions } from 'kafkajs';
import { type Delivery, PermanentRefusal, type ShovelDestination, type ShovelSource } from './endpoint.js';
import { type BridgeMessage, fromKafka, type KafkaOutbound, toKafka } from './message-mapping.js';

/** A Kafka source commits its offset after this many confirmed records (and at the end of each batch). */
const COMMIT_EVERY = 100;

export interface KafkaAddress {
  readonly brokers: string[];
  readonly sasl?: { username: string; password: string };
}

/** kafka://[user:password@]host:port[,host:port] → brokers and SASL. */
export function kafkaAddressOf(uri: string): KafkaAddress {
  const url = new URL(uri);
  const hosts = uri
    .replace(/^kafka:\/\/([^@/]*@)?/, '')
    .split('/')[0]!
    .split(',');
  return {
    brokers: hosts,
    ...(url.username
      ? { sasl: { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) } }
      : {}),
  };
}

function client(address: KafkaAddress, clientId: string): Kafka {
  return new Kafka({
    clientId,
    brokers: address.brokers,
    logLevel: logLevel.NOTHING,
    retry: { retries: 2 },
    ...(address.sasl ? { sasl: { mechanism: 'scram-sha-256', ...address.sasl } as SASLOptions } : {}),
  });
}

export class KafkaSource implements ShovelSource {
  private consumer: Consumer | undefined;
  /** Deliveries handed over and not settled: failed on close so no batch waits (or commits) forever. */
  private readonly unsettled = new Set<(error: Error) => void>();

  constructor(
    private readonly address: KafkaAddress,
    private readonly topic: string,
    private readonly group: string,
    /** Commit before sending (no-ack) rather than after the destination confirmed. */
    private readonly commitFirst: boolean,
  ) {}

  async open(deliver: (delivery: Delivery) => void, fail: (error: Error) => void): Promise<void> {
    const consumer = client(this.address, 'pier-shovel').consumer({
      groupId: this.group,
      retry: { retries: 2 },
    });
    this.consumer = consumer;
    consumer.on(consumer.events.CRASH, (event) => fail(event.payload.error));
    await consumer.connect();
    await consumer.subscribe({ topic: this.topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        // Offsets are committed in order, each once every record up to it was confirmed downstream:
        // a chunk's commit waits for its records and for the chunk before it. Committing every
        // COMMIT_EVERY records (not once per fetched batch, which can be thousands of records) keeps
        // the redelivery after a crash to about one chunk in flight.
        let committed: Promise<void> = Promise.resolve();
        let chunk: Promise<void>[] = [];
        const commitChunk = (offset: string) => {
          const records = chunk;
          chunk = [];
          committed = committed
            .then(() => Promise.all(records))
            .then(async () => {
              await this.commit(batch.topic, batch.partition, offset);
              resolveOffset(offset);
            });
        };
        let last: string | undefined;
        for (const record of batch.messages) {
          if (!isRunning() || isStale()) break;
          const offset = record.offset;
          if (this.commitFirst) await this.commit(batch.topic, batch.partition, offset);
          chunk.push(
            new Promise<void>((resolve, reject) => {
              this.unsettled.add(reject);
              deliver({
                message: fromKafka(record),
                sourceId: `kafka/${batch.topic}/${batch.partition}/${offset}`,
                settle: async () => {
                  this.unsettled.delete(reject);
                  resolve();
                },
              });
            }),
          );
          last = offset;
          if (!this.commitFirst && chunk.length >= COMMIT_EVERY) commitChunk(offset);
        }
        if (last !== undefined && !this.commitFirst && chunk.length > 0) commitChunk(last);
        // Both awaited at once, so a failed delivery never leaves the commit chain's rejection unhandled.
        await Promise.all([Promise.all(chunk), committed]);
        await heartbeat();
      },
    });
  }

  private commit(topic: string, partition: number, offset: string): Promise<void> {
    return this.consumer!.commitOffsets([{ topic, partition, offset: (BigInt(offset) + 1n).toString() }]);
  }

  async close(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    for (const reject of this.unsettled) reject(new Error('the shovel stopped'));
    this.unsettled.clear();
    await consumer?.disconnect().catch(() => {});
  }
}

/** Produce errors about the records themselves: sending them again unchanged cannot succeed. */
const PERMANENT_KAFKA_ERRORS = new Set([
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
  'CORRUPT_MESSAGE',
  'INVALID_TIMESTAMP',
  'UNSUPPORTED_FOR_MESSAGE_FORMAT',
]);

/** The Kafka error type and message when `error` (or what it wraps) refuses the records for good. */
export function permanentKafkaError(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  while (queue.length > 0) {
    const e = queue.shift() as
      | { type?: unknown; message?: unknown; cause?: unknown; errors?: unknown }
      | undefined;
    if (e === null || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    if (typeof e.type === 'string' && PERMANENT_KAFKA_ERRORS.has(e.type))
      return `${e.type}: ${String(e.message)}`;
    queue.push(e.cause, (e as { originalError?: unknown }).originalError);
    if (Array.isArray(e.errors)) queue.push(...e.errors);
  }
  return undefined;
}

type Pending = { record: KafkaOutbound; resolve: () => void; reject: (e: Error) => void };

export class KafkaDestination implements ShovelDestination {
  private producer: Producer | undefined;
  private pending: Pending[] = [];
  private flushing: Promise<void> = Promise.resolve();
  private scheduled = false;

  constructor(
    private readonly address: KafkaAddress,
    private readonly topic: string,
    private readonly partition: number | undefined,
    private readonly acks: -1 | 1 | 0,
  ) {}

  async open(fail: (error: Error) => void): Promise<void> {
    const kafka = client(this.address, 'pier-shovel');
    const admin = kafka.admin();
    await admin.connect();
    try {
      const topics = await admin.listTopics();
      if (!topics.includes(this.topic))
        await admin.createTopics({ topics: [{ topic: this.topic }] }).catch(() => {});
    } finally {
      await admin.disconnect();
    }
    const producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 2 } });
    producer.on(producer.events.DISCONNECT, () => fail(new Error('the Kafka destination disconnected')));
    await producer.connect();
    this.producer = producer;
  }

  /** Records of one event-loop turn go in one produce request; requests go one at a time, in order. */
  send(message: BridgeMessage, _stableId: string): Promise<void> {
    const record = toKafka(message);
    if (this.partition !== undefined) record.partition = this.partition;
    return new Promise((resolve, reject) => {
      this.pending.push({ record, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          const batch = this.pending;
          this.pending = [];
          this.flushing = this.flushing.then(() => this.produce(batch));
        });
      }
    });
  }

  private async produce(batch: Pending[]) {
    try {
      await this.produceRecords(batch.map((b) => b.record));
      for (const b of batch) b.resolve();
    } catch (error) {
      const refusal = permanentKafkaError(error);
      if (refusal === undefined) {
        for (const b of batch) b.reject(error as Error);
      } else if (batch.length === 1) {
        batch[0]!.reject(new PermanentRefusal(`the Kafka destination refused the record: ${refusal}`));
      } else {
        // Kafka refuses a whole produce batch for one bad record (or for a total over
        // max.message.bytes): one at a time, only the bad record is refused. Records of other
        // partitions that were written already are written again (at-least-once, same stable id).
        for (const b of batch) await this.produce([b]);
      }
    }
  }

  private async produceRecords(records: KafkaOutbound[]): Promise<void> {
    const producer = this.producer;
    if (!producer) throw new Error('the Kafka destination is not connected');
    await producer.send({ topic: this.topic, acks: this.acks, messages: records });
  }

  async close(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    await producer?.disconnect().catch(() => {});
  }
}
