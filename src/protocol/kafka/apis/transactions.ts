/**
 * The transactional producer's APIs over the transaction coordinator: AddPartitionsToTxn v0-3,
 * AddOffsetsToTxn v0-3, TxnOffsetCommit v0-3 and EndTxn v0-3 (InitProducerId is in
 * init-producer-id.ts). Each answers once its state change is durable (EndTxn: once the markers
 * are). PRODUCER_FENCED (90) is sent as INVALID_PRODUCER_EPOCH to request versions older than the
 * error (KIP-588), as Kafka does: kafkajs 2.2.4 speaks v0-1 of these and knows only the latter.
 */
import type { GroupCoordinator } from '../../../core/kafka/group-coordinator.js';
import type { OffsetCommitEntry } from '../../../core/kafka/group-offsets.js';
import type { TopicLookup } from '../../../core/kafka/topic.js';
import type { TransactionCoordinator, TxnErrorName } from '../../../core/kafka/transaction-coordinator.js';
import type {
  AddOffsetsToTxnRequest,
  AddOffsetsToTxnResponse,
  AddPartitionsToTxnRequest,
  AddPartitionsToTxnResponse,
  EndTxnRequest,
  EndTxnResponse,
  TxnOffsetCommitRequest,
  TxnOffsetCommitResponse,
} from '../codec/index.js';
import { API_KEYS } from '../codec/index.js';
import { KafkaError } from '../error-codes.js';
import type { KafkaApi, KafkaCall } from '../kafka-api.js';
import { errorCode as groupErrorCode } from './groups.js';

export interface TransactionServices {
  readonly transactions: TransactionCoordinator;
  readonly groups: GroupCoordinator;
  readonly topics: TopicLookup;
}

/** The Kafka code for a coordinator error; `legacy`: the request predates PRODUCER_FENCED. */
export function txnErrorCode(name: TxnErrorName, legacy: boolean): number {
  if (name === 'PRODUCER_FENCED' && legacy) return KafkaError.INVALID_PRODUCER_EPOCH;
  return KafkaError[name];
}

export function transactionApis(s: TransactionServices): KafkaApi[] {
  return [
    {
      apiKey: API_KEYS.AddPartitionsToTxn,
      minVersion: 0,
      maxVersion: 3,
      handle: (call: KafkaCall<AddPartitionsToTxnRequest>) => addPartitions(s, call),
    },
    {
      apiKey: API_KEYS.AddOffsetsToTxn,
      minVersion: 0,
      maxVersion: 3,
      async handle(call: KafkaCall<AddOffsetsToTxnRequest>): Promise<AddOffsetsToTxnResponse> {
        const b = call.body;
        const result = await s.transactions.addOffsets(
          b.transactionalId,
          Number(b.producerId),
          b.producerEpoch,
          b.groupId,
        );
        return { throttleTimeMs: 0, errorCode: txnErrorCode(result.error, call.header.apiVersion < 2) };
      },
    },
    {
      apiKey: API_KEYS.TxnOffsetCommit,
      minVersion: 0,
      maxVersion: 3,
      handle: (call: KafkaCall<TxnOffsetCommitRequest>) => txnOffsetCommit(s, call),
    },
    {
      apiKey: API_KEYS.EndTxn,
      minVersion: 0,
      maxVersion: 3,
      async handle(call: KafkaCall<EndTxnRequest>): Promise<EndTxnResponse> {
        const b = call.body;
        const result = await s.transactions.endTransaction(
          b.transactionalId,
          Number(b.producerId),
          b.producerEpoch,
          b.committed,
        );
        return {
          throttleTimeMs: 0,
          errorCode: txnErrorCode(result.error, call.header.apiVersion < 2),
          producerId: -1n,
          producerEpoch: -1,
        };
      },
    },
  ];
}

async function addPartitions(
  s: TransactionServices,
  call: KafkaCall<AddPartitionsToTxnRequest>,
): Promise<AddPartitionsToTxnResponse> {
  const b = call.body;
  const refs = b.v3AndBelowTopics.flatMap((t) =>
    t.partitions.map((partition) => ({ topic: t.name, partition })),
  );
  const result = await s.transactions.addPartitions(
    b.v3AndBelowTransactionalId,
    Number(b.v3AndBelowProducerId),
    b.v3AndBelowProducerEpoch,
    refs,
  );
  const legacy = call.header.apiVersion < 2;
  let i = 0;
  return {
    throttleTimeMs: 0,
    errorCode: KafkaError.NONE,
    resultsByTransaction: [],
    resultsByTopicV3AndBelow: b.v3AndBelowTopics.map((t) => ({
      name: t.name,
      resultsByPartition: t.partitions.map((partitionIndex) => {
        const error = result.partitionErrors?.[i++] ?? result.error;
        return { partitionIndex, partitionErrorCode: txnErrorCode(error, legacy) };
      }),
    })),
  };
}

async function txnOffsetCommit(
  s: TransactionServices,
  call: KafkaCall<TxnOffsetCommitRequest>,
): Promise<TxnOffsetCommitResponse> {
  const b = call.body;
  const version = call.header.apiVersion;
  const answer = (code: (topic: string, partition: number) => number): TxnOffsetCommitResponse => ({
    throttleTimeMs: 0,
    topics: b.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({
        partitionIndex: p.partitionIndex,
        errorCode: code(t.name, p.partitionIndex),
      })),
    })),
  });
  const exists = (topic: string, partition: number) => {
    const found = s.topics.get(topic);
    return found !== undefined && partition >= 0 && partition < found.partitions.length;
  };
  // Checked first, as Kafka's group coordinator does: an unknown partition fails alone.
  const unknown = b.topics.some((t) => t.partitions.some((p) => !exists(t.name, p.partitionIndex)));
  if (unknown) {
    return answer((t, p) =>
      exists(t, p) ? KafkaError.OPERATION_NOT_ATTEMPTED : KafkaError.UNKNOWN_TOPIC_OR_PARTITION,
    );
  }
  if (version >= 3) {
    const groupError = s.groups.checkTransactionalCommitter({
      groupId: b.groupId,
      generationId: b.generationId,
      memberId: b.memberId,
      groupInstanceId: b.groupInstanceId,
    });
    if (groupError !== 'NONE') return answer(() => groupErrorCode(groupError));
  }
  const entries: OffsetCommitEntry[] = b.topics.flatMap((t) =>
    t.partitions.map((p) => ({
      topic: t.name,
      partition: p.partitionIndex,
      offset: Number(p.committedOffset),
      leaderEpoch: version >= 2 ? p.committedLeaderEpoch : -1,
      metadata: p.committedMetadata ?? '',
      commitTimestampMs: -1,
    })),
  );
  const result = await s.transactions.stageOffsets(
    b.transactionalId,
    Number(b.producerId),
    b.producerEpoch,
    b.groupId,
    entries,
  );
  const code = txnErrorCode(result.error, true);
  return answer(() => code);
}
