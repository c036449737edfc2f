/**
 * OffsetCommit v0-8 and OffsetFetch v0-8. Commits name existing partitions (others get
 * UNKNOWN_TOPIC_OR_PARTITION, checked before the group as Kafka does) and are answered once
 * durable. Fetches return -1 and '' for partitions without a committed offset; with `requireStable`
 * (v7+, KIP-447) a partition whose offset an open transaction has staged (TxnOffsetCommit, not yet
 * committed) answers UNSTABLE_OFFSET_COMMIT, and the client retries until the transaction ends.
 */
import type { GroupCoordinator, PartitionOffset } from '../../../core/kafka/group-coordinator.js';
import type { OffsetCommitEntry } from '../../../core/kafka/group-offsets.js';
import type {
  OffsetCommitRequest,
  OffsetCommitResponse,
  OffsetCommitResponsePartition,
  OffsetCommitResponseTopic,
  OffsetFetchRequest,
  OffsetFetchResponse,
  OffsetFetchResponseGroup,
} from '../codec/index.js';
import { API_KEYS } from '../codec/index.js';
import { KafkaError } from '../error-codes.js';
import type { KafkaApi, KafkaCall } from '../kafka-api.js';
import { errorCode } from './groups.js';

export interface OffsetServices {
  readonly groups: GroupCoordinator;
  /** Whether the topic exists with this partition. */
  readonly partitionExists: (topic: string, partition: number) => boolean;
  /** Whether an open transaction has staged an offset for the group's partition. */
  readonly pendingTransactionalOffset?: (groupId: string, topic: string, partition: number) => boolean;
}

export function offsetApis({
  groups,
  partitionExists,
  pendingTransactionalOffset,
}: OffsetServices): KafkaApi[] {
  const unstable = (groupId: string, requireStable: boolean) =>
    requireStable && pendingTransactionalOffset
      ? (topic: string, partition: number) => pendingTransactionalOffset(groupId, topic, partition)
      : undefined;
  return [
    {
      apiKey: API_KEYS.OffsetCommit,
      minVersion: 0,
      maxVersion: 8,
      async handle(call: KafkaCall<OffsetCommitRequest>): Promise<OffsetCommitResponse> {
        const { body, header } = call;
        const version = header.apiVersion;
        const topics: OffsetCommitResponseTopic[] = [];
        const entries: OffsetCommitEntry[] = [];
        const slots: OffsetCommitResponsePartition[] = [];
        for (const topic of body.topics) {
          const partitions: OffsetCommitResponsePartition[] = [];
          topics.push({ name: topic.name, partitions });
          for (const p of topic.partitions) {
            const slot = {
              partitionIndex: p.partitionIndex,
              errorCode: KafkaError.UNKNOWN_TOPIC_OR_PARTITION,
            };
            partitions.push(slot);
            if (!partitionExists(topic.name, p.partitionIndex)) continue;
            slots.push(slot);
            // Only v1 carries a commit time; -1 (the coordinator's "now") for the others.
            const commitTimestampMs = version === 1 ? Number(p.commitTimestamp) : -1;
            entries.push({
              topic: topic.name,
              partition: p.partitionIndex,
              offset: Number(p.committedOffset),
              leaderEpoch: version >= 6 ? p.committedLeaderEpoch : -1,
              metadata: p.committedMetadata ?? '',
              commitTimestampMs,
            });
          }
        }
        if (entries.length > 0) {
          const errors = await groups.commitOffsets({
            groupId: body.groupId,
            // v0 predates group management: every v0 commit is a simple one.
            generationId: version >= 1 ? body.generationIdOrMemberEpoch : -1,
            memberId: version >= 1 ? body.memberId : '',
            groupInstanceId: version >= 7 ? body.groupInstanceId : null,
            entries,
          });
          for (let i = 0; i < slots.length; i++) slots[i]!.errorCode = errorCode(errors[i]!);
        }
        return { throttleTimeMs: 0, topics };
      },
    },
    {
      apiKey: API_KEYS.OffsetFetch,
      minVersion: 0,
      maxVersion: 8,
      handle(call: KafkaCall<OffsetFetchRequest>): OffsetFetchResponse {
        const { body, header } = call;
        const version = header.apiVersion;
        if (version >= 8) {
          return {
            throttleTimeMs: 0,
            topics: [],
            errorCode: KafkaError.NONE,
            groups: body.groups.map((g) =>
              fetchGroup(groups, g.groupId, g.topics, unstable(g.groupId, body.requireStable)),
            ),
          };
        }
        // Topics null ("all committed offsets") exists from v2.
        const topics = version >= 2 ? body.topics : (body.topics ?? []);
        const group = fetchGroup(
          groups,
          body.groupId,
          topics,
          unstable(body.groupId, version >= 7 && body.requireStable),
        );
        return { throttleTimeMs: 0, topics: group.topics, errorCode: group.errorCode, groups: [] };
      },
    },
  ];
}

function fetchGroup(
  groups: GroupCoordinator,
  groupId: string,
  topics: readonly { name: string; partitionIndexes: number[] }[] | null,
  isUnstable?: (topic: string, partition: number) => boolean,
): OffsetFetchResponseGroup {
  const request =
    topics === null ? null : topics.map((t) => ({ topic: t.name, partitions: t.partitionIndexes }));
  const result = groups.fetchOffsets(groupId, request);
  return {
    groupId,
    errorCode: KafkaError.NONE,
    topics: result.map((t) => ({
      name: t.topic,
      partitions: t.partitions.map((p) => {
        const answer = toResponsePartition(p);
        if (isUnstable?.(t.topic, p.partition)) {
          answer.errorCode = KafkaError.UNSTABLE_OFFSET_COMMIT;
          answer.committedOffset = -1n;
        }
        return answer;
      }),
    })),
  };
}

function toResponsePartition(p: PartitionOffset): {
  partitionIndex: number;
  committedOffset: bigint;
  committedLeaderEpoch: number;
  metadata: string;
  errorCode: number;
} {
  return {
    partitionIndex: p.partition,
    committedOffset: BigInt(p.offset),
    committedLeaderEpoch: p.leaderEpoch,
    metadata: p.metadata,
    errorCode: KafkaError.NONE,
  };
}
