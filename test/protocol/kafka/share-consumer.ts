/**
 * A small share consumer (KIP-932) over Pier's own Kafka codec and a real socket, standing in for
 * Kafka's Java KafkaShareConsumer (no npm or Debian client has one): it joins with
 * ShareGroupHeartbeat, fetches with ShareFetch (share session epochs 0, 1, 2, …; acknowledgements
 * piggy-backed), acknowledges with ShareAcknowledge, and closes its session (-1) and membership.
 * Records are the batches' records inside the AcquiredRecords ranges, as the Java client delivers.
 * `version` 1 speaks as Kafka 4.1's KafkaShareConsumer does: it picks its own member id (a UUID),
 * and its ShareFetch names partitions without byte limits and caps the records with MaxRecords.
 */
import { randomUUID } from 'node:crypto';

import type { ShareFetchResponse } from '../../../src/protocol/kafka/codec/index.js';
import { API_KEYS } from '../../../src/protocol/kafka/codec/index.js';
import { decodeRecords } from '../../../src/protocol/kafka/record-decoder.js';
import { KafkaWireClient, splitBatches } from '../../helpers/kafka-wire.js';

export const ACCEPT = 1;
export const RELEASE = 2;
export const REJECT = 3;

export interface ShareRecord {
  readonly topicId: string;
  readonly partition: number;
  readonly offset: number;
  readonly value: string | null;
  readonly deliveryCount: number;
}

export interface Ack {
  readonly topicId: string;
  readonly partition: number;
  readonly offset: number;
  readonly type: number;
}

export class ShareConsumer {
  memberId = '';
  memberEpoch = 0;
  /** The next share session epoch to send (0: open a session). */
  sessionEpoch = 0;
  assignment: Array<{ topicId: string; partitions: number[] }> = [];

  private constructor(
    readonly client: KafkaWireClient,
    readonly groupId: string,
    readonly topics: readonly string[],
    /** The version of the four share APIs this consumer sends (0: Kafka 4.0, 1: Kafka 4.1). */
    readonly version: 0 | 1,
  ) {}

  static async join(
    host: string,
    port: number,
    groupId: string,
    topics: readonly string[],
    options: { version?: 0 | 1 } = {},
  ): Promise<ShareConsumer> {
    const client = await KafkaWireClient.connect(host, port, 'share-consumer-test');
    const consumer = new ShareConsumer(client, groupId, topics, options.version ?? 0);
    if (consumer.version >= 1) consumer.memberId = randomUUID();
    const answer = await consumer.heartbeat(0, topics);
    if (answer.errorCode !== 0)
      throw new Error(`ShareGroupHeartbeat: error ${answer.errorCode} ${answer.errorMessage}`);
    return consumer;
  }

  /** One ShareGroupHeartbeat at `epoch` (default: the member's current one). */
  async heartbeat(epoch = this.memberEpoch, subscribed: readonly string[] | null = null) {
    const answer = await this.client.send(API_KEYS.ShareGroupHeartbeat, this.version, {
      groupId: this.groupId,
      memberId: this.memberId,
      memberEpoch: epoch,
      rackId: null,
      subscribedTopicNames: subscribed ? [...subscribed] : null,
    });
    if (answer.errorCode === 0) {
      if (answer.memberId) this.memberId = answer.memberId;
      this.memberEpoch = answer.memberEpoch;
      if (answer.assignment)
        this.assignment = answer.assignment.topicPartitions.map((t) => ({
          topicId: t.topicId.replaceAll('-', ''),
          partitions: t.partitions,
        }));
    }
    return answer;
  }

  /** A ShareFetch at the session's epoch carrying `acks`; returns the acquired records and the raw answer. */
  async fetch(
    acks: readonly Ack[] = [],
    options: { maxWaitMs?: number; epoch?: number; maxRecords?: number } = {},
  ): Promise<{ records: ShareRecord[]; response: ShareFetchResponse }> {
    const epoch = options.epoch ?? this.sessionEpoch;
    const byPartition = groupAcks(acks);
    const final = epoch === -1;
    const topics = this.assignment.map((t) => ({
      topicId: t.topicId,
      partitions: t.partitions.map((partition) => ({
        partitionIndex: partition,
        partitionMaxBytes: final ? 0 : 1024 * 1024,
        acknowledgementBatches: byPartition.get(`${t.topicId}:${partition}`) ?? [],
      })),
    }));
    const response = await this.client.send(API_KEYS.ShareFetch, this.version, {
      groupId: this.groupId,
      memberId: this.memberId,
      shareSessionEpoch: epoch,
      maxWaitMs: options.maxWaitMs ?? 0,
      minBytes: 1,
      maxBytes: 8 * 1024 * 1024,
      // v1 only (the Java client's max.poll.records and its batch size default to 500).
      maxRecords: options.maxRecords ?? 500,
      batchSize: 500,
      topics,
      forgottenTopicsData: [],
    });
    if (response.errorCode === 0 && options.epoch === undefined) this.sessionEpoch = nextEpoch(epoch);
    const records: ShareRecord[] = [];
    for (const t of response.responses)
      for (const p of t.partitions) {
        const acquired = p.acquiredRecords.map((r) => ({
          first: Number(r.firstOffset),
          last: Number(r.lastOffset),
          deliveryCount: r.deliveryCount,
        }));
        for (const batch of splitBatches(p.records ?? Buffer.alloc(0)))
          for (const record of decodeRecords(batch)) {
            const range = acquired.find((r) => r.first <= record.offset && record.offset <= r.last);
            if (!range) continue;
            records.push({
              topicId: t.topicId.replaceAll('-', ''),
              partition: p.partitionIndex,
              offset: record.offset,
              value: record.value?.toString('utf8') ?? null,
              deliveryCount: range.deliveryCount,
            });
          }
      }
    return { records, response };
  }

  /** ShareAcknowledge at the session's epoch (or the one given). */
  async acknowledge(acks: readonly Ack[], epoch?: number) {
    const sent = epoch ?? this.sessionEpoch;
    const byPartition = groupAcks(acks);
    const topics = new Map<string, Array<{ partitionIndex: number; acknowledgementBatches: AckBatch[] }>>();
    for (const [key, batches] of byPartition) {
      const [topicId, partition] = key.split(':') as [string, string];
      const list = topics.get(topicId) ?? [];
      topics.set(topicId, list);
      list.push({ partitionIndex: Number(partition), acknowledgementBatches: batches });
    }
    const response = await this.client.send(API_KEYS.ShareAcknowledge, this.version, {
      groupId: this.groupId,
      memberId: this.memberId,
      shareSessionEpoch: sent,
      topics: [...topics].map(([topicId, partitions]) => ({ topicId, partitions })),
    });
    if (response.errorCode === 0 && epoch === undefined) this.sessionEpoch = nextEpoch(sent);
    return response;
  }

  /** Closes the share session (releasing what it holds) and leaves the group. */
  async close(): Promise<void> {
    if (this.sessionEpoch !== 0) await this.acknowledge([], -1);
    await this.heartbeat(-1);
    this.client.close();
  }
}

interface AckBatch {
  firstOffset: bigint;
  lastOffset: bigint;
  acknowledgeTypes: number[];
}

function nextEpoch(epoch: number): number {
  return epoch === 0x7fffffff ? 1 : epoch + 1;
}

/** Acks per `topicId:partition`, one batch per offset. */
function groupAcks(acks: readonly Ack[]): Map<string, AckBatch[]> {
  const out = new Map<string, AckBatch[]>();
  for (const a of acks) {
    const key = `${a.topicId}:${a.partition}`;
    const list = out.get(key) ?? [];
    out.set(key, list);
    list.push({ firstOffset: BigInt(a.offset), lastOffset: BigInt(a.offset), acknowledgeTypes: [a.type] });
  }
  return out;
}

/** Acknowledgements of every record with one type. */
export function ackAll(records: readonly ShareRecord[], type: number): Ack[] {
  return records.map((r) => ({ topicId: r.topicId, partition: r.partition, offset: r.offset, type }));
}
