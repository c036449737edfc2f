/**
 * The share-group offsets APIs of Kafka 4.1 (KIP-932), each at v0: DescribeShareGroupOffsets (90),
 * AlterShareGroupOffsets (91) and DeleteShareGroupOffsets (92), what `kafka-share-groups.sh
 * --describe / --reset-offsets / --delete-offsets` and the Admin client's listShareGroupOffsets,
 * alterShareGroupOffsets and deleteShareGroupOffsets send. A share-partition's "offset" is its start
 * offset: every record before it is acknowledged or archived.
 *
 * As Kafka's group coordinator answers them: Describe gives -1 (no error) for a topic or partition
 * without state, and with no topics named lists every share-partition with state; Alter and Delete
 * need an existing share group without members (GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP as the top-level
 * error) and answer UNKNOWN_TOPIC_OR_PARTITION for topics and partitions that do not exist. Alter
 * creates the share group when it does not exist yet, as Kafka's coordinator does. Both answer once
 * the new state is durable.
 */
import type { ShareGroupCoordinator } from '../../../core/kafka/share-groups.js';
import type { Topic } from '../../../core/kafka/topic.js';
import type {
  AlterShareGroupOffsetsRequest,
  AlterShareGroupOffsetsResponse,
  AlterShareGroupOffsetsResponseTopic,
  DeleteShareGroupOffsetsRequest,
  DeleteShareGroupOffsetsResponse,
  DeleteShareGroupOffsetsResponseTopic,
  DescribeShareGroupOffsetsRequest,
  DescribeShareGroupOffsetsResponse,
  DescribeShareGroupOffsetsResponseGroup,
  DescribeShareGroupOffsetsResponseTopic,
} from '../codec/index.js';
import { API_KEYS } from '../codec/index.js';
import { KafkaError } from '../error-codes.js';
import type { KafkaApi, KafkaCall } from '../kafka-api.js';
import { ZERO_UUID } from './topic-errors.js';

/** Kafka's start offset of a share-partition that has no state. */
const UNINITIALIZED_START_OFFSET = -1n;

export interface ShareOffsetsServices {
  readonly shares: ShareGroupCoordinator;
  readonly topics: { get(name: string): Topic | undefined; getById(id: Buffer | string): Topic | undefined };
}

type GroupError = { errorCode: number; errorMessage: string };

export function shareOffsetsApis({ shares, topics }: ShareOffsetsServices): KafkaApi[] {
  /** Why Alter or Delete cannot change this group, if they cannot. */
  function refuseChange(groupId: string, mayCreate: boolean): GroupError | undefined {
    if (groupId === '')
      return { errorCode: KafkaError.INVALID_GROUP_ID, errorMessage: 'The group id must not be empty.' };
    if (shares.isClassicGroup(groupId))
      return {
        errorCode: KafkaError.GROUP_ID_NOT_FOUND,
        errorMessage: `Group ${groupId} is not a share group.`,
      };
    if (!mayCreate && !shares.isShareGroup(groupId))
      return { errorCode: KafkaError.GROUP_ID_NOT_FOUND, errorMessage: `Group ${groupId} not found.` };
    const members = shares.memberCount(groupId);
    if (members > 0)
      return {
        errorCode: KafkaError.NON_EMPTY_GROUP,
        errorMessage: `The share group ${groupId} has ${members} active member(s); its offsets change only while it is empty (stop its consumers first).`,
      };
    return undefined;
  }

  const describe: KafkaApi = {
    apiKey: API_KEYS.DescribeShareGroupOffsets,
    minVersion: 0,
    maxVersion: 0,
    handle(call: KafkaCall<DescribeShareGroupOffsetsRequest>): DescribeShareGroupOffsetsResponse {
      return {
        throttleTimeMs: 0,
        groups: call.body.groups.map((g): DescribeShareGroupOffsetsResponseGroup => {
          const failed = (errorCode: number, errorMessage: string) => ({
            groupId: g.groupId,
            topics: [],
            errorCode,
            errorMessage,
          });
          if (g.groupId === '') return failed(KafkaError.INVALID_GROUP_ID, 'The group id must not be empty.');
          if (!shares.isShareGroup(g.groupId))
            return failed(
              KafkaError.GROUP_ID_NOT_FOUND,
              shares.isClassicGroup(g.groupId)
                ? `Group ${g.groupId} is not a share group.`
                : `Group ${g.groupId} not found.`,
            );
          const described: DescribeShareGroupOffsetsResponseTopic[] = [];
          if (g.topics === null) {
            for (const [topicIdHex, byPartition] of shares.startOffsets(g.groupId)) {
              const topic = topics.getById(topicIdHex);
              if (!topic) continue; // the topic was deleted: its state means nothing now
              described.push({
                topicName: topic.name,
                topicId: topicIdHex,
                partitions: [...byPartition]
                  .sort(([a], [b]) => a - b)
                  .map(([partitionIndex, start]) => partitionOffset(partitionIndex, BigInt(start))),
              });
            }
          } else {
            for (const t of g.topics) {
              const topic = topics.get(t.topicName);
              const topicIdHex = topic?.id.toString('hex');
              described.push({
                topicName: t.topicName,
                topicId: topicIdHex ?? ZERO_UUID,
                partitions: t.partitions.map((p) => {
                  const start =
                    topicIdHex === undefined ? undefined : shares.startOffset(g.groupId, topicIdHex, p);
                  return partitionOffset(p, start === undefined ? UNINITIALIZED_START_OFFSET : BigInt(start));
                }),
              });
            }
          }
          return { groupId: g.groupId, topics: described, errorCode: KafkaError.NONE, errorMessage: null };
        }),
      };
    },
  };

  const alter: KafkaApi = {
    apiKey: API_KEYS.AlterShareGroupOffsets,
    minVersion: 0,
    maxVersion: 0,
    async handle(call: KafkaCall<AlterShareGroupOffsetsRequest>): Promise<AlterShareGroupOffsetsResponse> {
      const { groupId } = call.body;
      const refused = refuseChange(groupId, true);
      if (refused) return { throttleTimeMs: 0, ...refused, responses: [] };
      const changes: Array<{ topic: Topic; partition: number; startOffset: number }> = [];
      const responses = call.body.topics.map((t): AlterShareGroupOffsetsResponseTopic => {
        const topic = topics.get(t.topicName);
        return {
          topicName: t.topicName,
          topicId: topic ? topic.id.toString('hex') : ZERO_UUID,
          partitions: t.partitions.map((p) => {
            const answer = (errorCode: number, errorMessage: string | null) => ({
              partitionIndex: p.partitionIndex,
              errorCode,
              errorMessage,
            });
            if (!topic)
              return answer(KafkaError.UNKNOWN_TOPIC_OR_PARTITION, `Topic ${t.topicName} does not exist.`);
            if (!topic.partitions[p.partitionIndex])
              return answer(
                KafkaError.UNKNOWN_TOPIC_OR_PARTITION,
                `Topic ${t.topicName} has no partition ${p.partitionIndex}.`,
              );
            if (p.startOffset < 0n)
              return answer(
                KafkaError.INVALID_REQUEST,
                `Start offset ${p.startOffset} is negative: give an offset of the partition's log.`,
              );
            changes.push({ topic, partition: p.partitionIndex, startOffset: Number(p.startOffset) });
            return answer(KafkaError.NONE, null);
          }),
        };
      });
      await shares.alterStartOffsets(groupId, changes);
      return { throttleTimeMs: 0, errorCode: KafkaError.NONE, errorMessage: null, responses };
    },
  };

  const remove: KafkaApi = {
    apiKey: API_KEYS.DeleteShareGroupOffsets,
    minVersion: 0,
    maxVersion: 0,
    async handle(call: KafkaCall<DeleteShareGroupOffsetsRequest>): Promise<DeleteShareGroupOffsetsResponse> {
      const { groupId } = call.body;
      const refused = refuseChange(groupId, false);
      if (refused) return { throttleTimeMs: 0, ...refused, responses: [] };
      const deletions: Promise<void>[] = [];
      const responses = call.body.topics.map((t): DeleteShareGroupOffsetsResponseTopic => {
        const topic = topics.get(t.topicName);
        if (!topic)
          return {
            topicName: t.topicName,
            topicId: ZERO_UUID,
            errorCode: KafkaError.UNKNOWN_TOPIC_OR_PARTITION,
            errorMessage: `Topic ${t.topicName} does not exist.`,
          };
        const topicIdHex = topic.id.toString('hex');
        deletions.push(shares.deleteTopicState(groupId, topicIdHex));
        return {
          topicName: t.topicName,
          topicId: topicIdHex,
          errorCode: KafkaError.NONE,
          errorMessage: null,
        };
      });
      await Promise.all(deletions);
      return { throttleTimeMs: 0, errorCode: KafkaError.NONE, errorMessage: null, responses };
    },
  };

  return [describe, alter, remove];
}

function partitionOffset(partitionIndex: number, startOffset: bigint) {
  return { partitionIndex, startOffset, leaderEpoch: 0, errorCode: KafkaError.NONE, errorMessage: null };
}
