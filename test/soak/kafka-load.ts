/**
 * The soak's Kafka part (kafkajs): an idempotent producer (acks=all) sending numbered records to a
 * 3-partition topic, and a consumer group whose members join and leave during the cycle (each
 * change a rebalance), committing offsets as they go. Checked: every acknowledged record is in
 * the log exactly once, each partition's records are in send order, consumers see each partition
 * in order, and a committed offset that was acknowledged is never found lower after a restart.
 */
import { type Admin, type Consumer, Kafka, logLevel, type Producer } from 'kafkajs';
import { fetchPartition, KafkaWireClient } from '../helpers/kafka-wire.js';
import { Ledger, pause } from './ledger.js';
import type { ProtocolLoad, SoakAddress } from './soak-types.js';

const TOPIC = 'soak-kafka';
const GROUP = 'soak-group';
const PARTITIONS = 3;

export class KafkaLoad implements ProtocolLoad {
  readonly name = 'kafka';
  private readonly log = new Ledger('kafka log (idempotent, per-partition order, no duplicates)', true);
  private readonly consumed = new Ledger('kafka group consumption (per-partition order)');
  private readonly nextSeq = Array.from({ length: PARTITIONS }, () => 0);
  /** Per partition, the highest commit the broker acknowledged. */
  private readonly committed = Array.from({ length: PARTITIONS }, () => -1);
  private clients: Array<Producer | Consumer | Admin> = [];
  /** Per partition, where the last drain stopped and the last sequence number it read. */
  private readonly drainedTo = Array.from({ length: PARTITIONS }, () => 0);
  private readonly lastSeq = Array.from({ length: PARTITIONS }, () => -1);
  commitRegressions = 0;

  constructor(
    private readonly random: () => number,
    private readonly ratePerSecond: number,
  ) {}

  ledgers(): Ledger[] {
    return [this.log, this.consumed];
  }

  private kafka(address: SoakAddress): Kafka {
    return new Kafka({
      clientId: 'pier-soak',
      brokers: [address.kafkaBootstrap],
      logLevel: logLevel.NOTHING,
      connectionTimeout: 2000,
      requestTimeout: 5000,
      retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 200 },
    });
  }

  async run(address: SoakAddress, signal: AbortSignal): Promise<void> {
    const kafka = this.kafka(address);
    const admin = kafka.admin();
    this.clients.push(admin);
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }], waitForLeaders: true });
    // What the restarted broker says the group committed: never below an acknowledged commit.
    const offsets = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
    for (const { partition, offset } of offsets[0]?.partitions ?? []) {
      if (Number(offset) < this.committed[partition]!) {
        this.commitRegressions++;
        this.log.problem(
          `partition ${partition}: committed offset ${offset} after restart, below the acknowledged ${this.committed[partition]}`,
        );
      }
    }
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    this.clients.push(producer);
    await producer.connect();
    if (signal.aborted) {
      await producer.disconnect().catch(() => {});
      await admin.disconnect().catch(() => {});
      return;
    }
    void this.produce(producer, signal);
    void this.groupMembers(kafka, signal);
  }

  private async produce(producer: Producer, signal: AbortSignal): Promise<void> {
    const perBatch = 5;
    const gapMs = (1000 * perBatch) / this.ratePerSecond;
    while (!signal.aborted) {
      const partition = Math.floor(this.random() * PARTITIONS);
      const values = Array.from({ length: perBatch }, () => `${partition}:${this.nextSeq[partition]!++}`);
      try {
        await producer.send({
          topic: TOPIC,
          acks: -1,
          messages: values.map((value) => ({ partition, value })),
        });
        for (const value of values) this.log.acknowledged(value);
      } catch {
        if (signal.aborted) return;
        await pause(50, signal);
      }
      await pause(gapMs, signal);
    }
  }

  /** Two members, then one leaves and another joins at random moments: rebalances under load. */
  private async groupMembers(kafka: Kafka, signal: AbortSignal): Promise<void> {
    const first = await this.member(kafka, signal).catch(() => undefined);
    const second = await this.member(kafka, signal).catch(() => undefined);
    await pause(100 + this.random() * 400, signal);
    if (signal.aborted) return;
    await (this.random() < 0.5 ? first : second)?.disconnect().catch(() => {});
    await pause(100 + this.random() * 400, signal);
    if (!signal.aborted) await this.member(kafka, signal).catch(() => undefined);
  }

  private async member(kafka: Kafka, signal: AbortSignal): Promise<Consumer> {
    const consumer = kafka.consumer({
      groupId: GROUP,
      sessionTimeout: 6000,
      rebalanceTimeout: 2000,
      heartbeatInterval: 300,
      maxWaitTimeInMs: 100,
      // A member that fails (its broker was killed) stays down: kafkajs would restart it forever.
      retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 200, restartOnFailure: async () => false },
    });
    this.clients.push(consumer);
    // A commit counts as acknowledged only when kafkajs reports the broker's answer: commitOffsets
    // returns quietly without committing once the consumer is stopping (a member leaving).
    consumer.on(consumer.events.COMMIT_OFFSETS, (event) => {
      for (const topic of event.payload.topics) {
        for (const { partition, offset } of topic.partitions) {
          const p = Number(partition);
          this.committed[p] = Math.max(this.committed[p]!, Number(offset));
        }
      }
    });
    await consumer.connect();
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        const value = message.value?.toString() ?? '';
        this.consumed.delivered(value, { key: `p${partition}`, seq: Number(value.split(':')[1]) });
        this.consumed.finished(value);
        const next = Number(message.offset) + 1;
        if (next % 10 === 0)
          await consumer.commitOffsets([{ topic: TOPIC, partition, offset: String(next) }]);
      },
    });
    return consumer;
  }

  async close(): Promise<void> {
    for (const client of this.clients.splice(0)) await client.disconnect().catch(() => {});
  }

  /**
   * Reads every partition from where the last drain stopped: each acknowledged record exactly once, in send order
   * (acknowledged or not, one producer's records only go forward). Consumption is settled too:
   * records the group never reached are not lost from the log, so they count as finished here.
   */
  async drain(address: SoakAddress): Promise<void> {
    const [host, port] = address.kafkaBootstrap.split(':');
    const client = await KafkaWireClient.connect(host!, Number(port));
    try {
      for (let partition = 0; partition < PARTITIONS; partition++) {
        const { records, highWatermark } = await fetchPartition(
          client,
          TOPIC,
          partition,
          this.drainedTo[partition],
        );
        this.drainedTo[partition] = Math.max(this.drainedTo[partition]!, highWatermark);
        let last = this.lastSeq[partition]!;
        for (const record of records) {
          const value = record.value ?? '';
          const seq = Number(value.split(':')[1]);
          if (!this.log.delivered(value)) continue;
          this.log.finished(value);
          if (seq <= last) {
            this.log.reordered++;
            this.log.problem(`partition ${partition}: ${value} at offset ${record.offset} after seq ${last}`);
          }
          last = Math.max(last, seq);
          this.consumed.finished(value);
        }
        this.lastSeq[partition] = last;
      }
      this.log.settleLost('read every partition from offset 0 after the last restart');
      this.consumed.settleLost('settled against the log');
    } finally {
      client.close();
    }
  }
}
