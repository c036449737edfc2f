/**
 * ListOffsets v0-7: the offset for a timestamp, per partition.
 * - -1 (latest): the high watermark; -2 (earliest): the log start offset; both with timestamp -1.
 * - -3 (max timestamp, v7): the record with the largest timestamp, and that timestamp.
 * - t ≥ 0: the first record whose timestamp is ≥ t, and its timestamp; offset -1 and timestamp -1
 *   when there is none. The batch is the first whose max timestamp is ≥ t (the stream's timestamp
 *   index); inside it, the first record with timestamp ≥ t, the batch decompressed when it is
 *   compressed, as Kafka does.
 * - v0 answers oldStyleOffsets: [high watermark] for latest, [log start] for earliest, [the offset]
 *   for a timestamp (Kafka lists segment start offsets there; clients use the first element only).
 * isolationLevel 1 (read_committed): latest is the last stable offset, as Kafka answers.
 */
import type { TopicLookup, TopicPartition } from '../../../core/kafka/topic.js';
import type {
  ListOffsetsRequest,
  ListOffsetsRequestListOffsetsPartition,
  ListOffsetsResponse,
  ListOffsetsResponseListOffsetsPartitionResponse,
} from '../codec/index.js';
import { KafkaError } from '../error-codes.js';
import type { KafkaApi, KafkaCall } from '../kafka-api.js';
import { findMaxTimestamp, findOffsetForTimestamp } from '../offset-search.js';

export const LIST_OFFSETS_KEY = 2;
export const LATEST_TIMESTAMP = -1;
export const EARLIEST_TIMESTAMP = -2;
export const MAX_TIMESTAMP = -3;

export interface ListOffsetsServices {
  readonly topics: TopicLookup;
  readonly transactions?: { lastStableOffset(partition: TopicPartition): number };
}

export function listOffsetsApis(services: ListOffsetsServices): KafkaApi[] {
  return [
    {
      apiKey: LIST_OFFSETS_KEY,
      minVersion: 0,
      maxVersion: 7,
      handle: (call: KafkaCall<ListOffsetsRequest>) => listOffsets(services, call),
    },
  ];
}

type PartitionResponse = ListOffsetsResponseListOffsetsPartitionResponse;

function listOffsets(s: ListOffsetsServices, call: KafkaCall<ListOffsetsRequest>): ListOffsetsResponse {
  const version = call.header.apiVersion;
  return {
    throttleTimeMs: 0,
    topics: call.body.topics.map((t) => {
      const topic = s.topics.get(t.name);
      return {
        name: t.name,
        partitions: t.partitions.map((request) => {
          const partition = topic?.partitions[request.partitionIndex];
          if (!partition)
            return answer(request.partitionIndex, KafkaError.UNKNOWN_TOPIC_OR_PARTITION, -1, -1, []);
          const latest =
            version >= 2 && call.body.isolationLevel === 1 && s.transactions
              ? s.transactions.lastStableOffset(partition)
              : partition.highWatermark;
          return lookup(partition, request, version, latest);
        }),
      };
    }),
  };
}

function answer(
  index: number,
  errorCode: number,
  offset: number,
  timestampMs: number,
  old: bigint[],
): PartitionResponse {
  return {
    partitionIndex: index,
    errorCode,
    oldStyleOffsets: old,
    timestamp: BigInt(timestampMs),
    offset: BigInt(offset),
    leaderEpoch: -1,
  };
}

function lookup(
  partition: TopicPartition,
  request: ListOffsetsRequestListOffsetsPartition,
  version: number,
  latest: number,
): PartitionResponse {
  const index = request.partitionIndex;
  const target = Number(request.timestamp);
  const found = offsetFor(partition, target, latest);
  if (version === 0) {
    const offsets = request.maxNumOffsets > 0 && found.offset >= 0 ? [BigInt(found.offset)] : [];
    return answer(index, KafkaError.NONE, -1, -1, offsets);
  }
  if (target === MAX_TIMESTAMP && version < 7) {
    return answer(index, KafkaError.UNSUPPORTED_VERSION, -1, -1, []);
  }
  return answer(index, KafkaError.NONE, found.offset, found.timestampMs, []);
}

function offsetFor(
  partition: TopicPartition,
  target: number,
  latest: number,
): { offset: number; timestampMs: number } {
  if (target === LATEST_TIMESTAMP) return { offset: latest, timestampMs: -1 };
  if (target === EARLIEST_TIMESTAMP) return { offset: partition.logStartOffset, timestampMs: -1 };
  if (target === MAX_TIMESTAMP) return findMaxTimestamp(partition) ?? { offset: -1, timestampMs: -1 };
  return findOffsetForTimestamp(partition, target) ?? { offset: -1, timestampMs: -1 };
}
