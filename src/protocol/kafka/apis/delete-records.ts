/**
 * DeleteRecords v0-2: raises partitions' log start offsets (records below become unreadable; whole
 * segments below it are dropped by the log). Offset -1 means the high watermark; an offset above
 * the high watermark, or negative, is OFFSET_OUT_OF_RANGE; one below the current log start changes
 * nothing. The answer's lowWatermark is the log start offset afterwards. deleteRecordsBefore
 * stores the new log start durably before it returns, so the answer follows durability.
 * Idempotent producers whose batches all lie below the new start are forgotten, as Kafka does.
 */
import type { TopicLookup, TopicPartition } from '../../../core/kafka/topic.js';
import type { DeleteRecordsRequest, DeleteRecordsResponse } from '../codec/index.js';
import { KafkaError } from '../error-codes.js';
import type { KafkaApi, KafkaCall } from '../kafka-api.js';

export const DELETE_RECORDS_KEY = 21;
const HIGH_WATERMARK = -1;

export interface DeleteRecordsServices {
  readonly topics: TopicLookup;
  readonly producers: { logStartRaised(partition: TopicPartition): void };
}

export function deleteRecordsApis(services: DeleteRecordsServices): KafkaApi[] {
  return [
    {
      apiKey: DELETE_RECORDS_KEY,
      minVersion: 0,
      maxVersion: 2,
      handle: (call: KafkaCall<DeleteRecordsRequest>) => deleteRecords(services, call),
    },
  ];
}

function deleteRecords(
  s: DeleteRecordsServices,
  call: KafkaCall<DeleteRecordsRequest>,
): DeleteRecordsResponse {
  return {
    throttleTimeMs: 0,
    topics: call.body.topics.map((t) => {
      const topic = s.topics.get(t.name);
      return {
        name: t.name,
        partitions: t.partitions.map(({ partitionIndex, offset }) => {
          const partition = topic?.partitions[partitionIndex];
          if (!partition) {
            return { partitionIndex, lowWatermark: -1n, errorCode: KafkaError.UNKNOWN_TOPIC_OR_PARTITION };
          }
          const requested = Number(offset);
          const before = requested === HIGH_WATERMARK ? partition.highWatermark : requested;
          if (before < 0 || before > partition.highWatermark) {
            return { partitionIndex, lowWatermark: -1n, errorCode: KafkaError.OFFSET_OUT_OF_RANGE };
          }
          if (before > partition.logStartOffset) {
            partition.deleteRecordsBefore(before);
            s.producers.logStartRaised(partition);
          }
          return {
            partitionIndex,
            lowWatermark: BigInt(partition.logStartOffset),
            errorCode: KafkaError.NONE,
          };
        }),
      };
    }),
  };
}
