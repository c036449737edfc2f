/**
 * OffsetDelete v0: drops a group's committed offsets for some partitions (kafka-consumer-groups
 * --delete-offsets). Partitions that do not exist answer UNKNOWN_TOPIC_OR_PARTITION, as Kafka checks
 * them before the group; the group's own rules (GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP,
 * GROUP_SUBSCRIBED_TO_TOPIC) are the coordinator's (GroupCoordinator.deleteOffsets). Answered once
 * the deletion is durable.
 */
import type { GroupCoordinator } from '../../../core/kafka/group-coordinator.js';
import type { TopicPartitionRef } from '../../../core/kafka/group-offsets.js';
import type { OffsetDeleteRequest, OffsetDeleteResponse } from '../codec/index.js';
import { API_KEYS } from '../codec/index.js';
import { KafkaError } from '../error-codes.js';
import type { KafkaApi, KafkaCall } from '../kafka-api.js';
import { errorCode } from './groups.js';

export interface OffsetDeleteServices {
  readonly groups: Pick<GroupCoordinator, 'deleteOffsets'>;
  readonly partitionExists: (topic: string, partition: number) => boolean;
}

export function offsetDeleteApis({ groups, partitionExists }: OffsetDeleteServices): KafkaApi[] {
  return [
    {
      apiKey: API_KEYS.OffsetDelete,
      minVersion: 0,
      maxVersion: 0,
      async handle(call: KafkaCall<OffsetDeleteRequest>): Promise<OffsetDeleteResponse> {
        const { groupId, topics } = call.body;
        const existing: TopicPartitionRef[] = [];
        for (const t of topics)
          for (const p of t.partitions)
            if (partitionExists(t.name, p.partitionIndex))
              existing.push({ topic: t.name, partition: p.partitionIndex });
        const result = await groups.deleteOffsets(groupId, existing);
        if (result.error !== 'NONE') {
          return { errorCode: errorCode(result.error), throttleTimeMs: 0, topics: [] };
        }
        let next = 0;
        return {
          errorCode: KafkaError.NONE,
          throttleTimeMs: 0,
          topics: topics.map((t) => ({
            name: t.name,
            partitions: t.partitions.map((p) => ({
              partitionIndex: p.partitionIndex,
              errorCode: partitionExists(t.name, p.partitionIndex)
                ? errorCode(result.partitionErrors[next++]!)
                : KafkaError.UNKNOWN_TOPIC_OR_PARTITION,
            })),
          })),
        };
      },
    },
  ];
}
