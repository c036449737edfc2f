/**
 * Share groups (KIP-932) on the wire: ShareGroupHeartbeat, ShareGroupDescribe, ShareFetch and
 * ShareAcknowledge at v0 (Kafka 4.0's early access) and v1 (Kafka 4.1's first stable version), over
 * the core ShareGroupCoordinator and the share sessions. What v1 changed: the client chooses its
 * member id (an empty one is INVALID_REQUEST); ShareFetch names no per-partition byte limit (every
 * partition named joins the session and is fetched) and caps the records acquired by the whole
 * request (MaxRecords), and its answer carries AcquisitionLockTimeoutMs, the group's lock duration.
 *
 * ShareFetch applies the piggy-backed acknowledgements first (answered once stored), then acquires
 * records in each of the session's partitions for the member and returns the stored batches that
 * cover them with the AcquiredRecords ranges (offsets and delivery counts): the client delivers only
 * acquired offsets and acknowledges the others in the batches' range as gaps if it must. With nothing
 * to acquire it long-polls up to MaxWaitMs, woken by new records and by released ones.
 */
import type { Clock } from '../../../core/clock.js';
import type { ShareGroupCoordinator } from '../../../core/kafka/share-groups.js';
import type { AcknowledgementBatch, AcquiredRange } from '../../../core/kafka/share-partition.js';
import type { Topic, TopicPartition } from '../../../core/kafka/topic.js';
import type {
  ShareAcknowledgeRequest,
  ShareAcknowledgeResponse,
  ShareAcknowledgeResponsePartitionData,
  ShareFetchRequest,
  ShareFetchResponse,
  ShareFetchResponsePartitionData,
  ShareGroupDescribeRequest,
  ShareGroupDescribeResponse,
  ShareGroupHeartbeatRequest,
  ShareGroupHeartbeatResponse,
} from '../codec/index.js';
import { API_KEYS } from '../codec/index.js';
import { KafkaError } from '../error-codes.js';
import type { KafkaAnswer, KafkaApi, KafkaCall } from '../kafka-api.js';
import { isEmptyDataBatch } from '../log-cleaner.js';
import { batchLastOffset } from '../record-batch.js';
import {
  SHARE_FINAL_EPOCH,
  SHARE_INITIAL_EPOCH,
  type ShareSession,
  ShareSessionCache,
} from '../share-sessions.js';
import { waitForHighWatermarks } from './fetch-wait.js';
import { clientHost } from './groups.js';

/**
 * Records acquired per ShareFetch: per partition at v0, for the whole request at v1 when the client
 * sends no MaxRecords (the Java client's max.poll.records default).
 */
export const SHARE_FETCH_MAX_RECORDS = 500;
const MAX_BATCHES_PER_PARTITION = 10_000;
const EMPTY = Buffer.alloc(0);

export interface ShareServices {
  readonly shares: ShareGroupCoordinator;
  readonly topics: { getById(id: Buffer | string): Topic | undefined };
  readonly clock: Clock;
  readonly nodeId: number;
  /** One cache for all listeners (shareSessionCache). */
  readonly sessions: ShareSessionCache;
}

/** The share sessions; a closed one releases what its member holds in its partitions. */
export function shareSessionCache(shares: ShareGroupCoordinator): ShareSessionCache {
  return new ShareSessionCache((session) => {
    for (const p of session.partitions.values())
      shares.loadedPartition(session.groupId, p.topicIdHex, p.partition)?.releaseMember(session.memberId);
  });
}

type AckPartitions = Array<{ partitionIndex: number; acknowledgementBatches: AckBatchWire[] }>;
interface AckBatchWire {
  firstOffset: bigint;
  lastOffset: bigint;
  acknowledgeTypes: number[];
}

export function shareApis({ shares, topics, clock, nodeId, sessions }: ShareServices): KafkaApi[] {
  const leader = { leaderId: nodeId, leaderEpoch: 0 };

  /** The share-partition a request names, or the error to answer for it. */
  function findPartition(
    groupId: string,
    topicId: string,
    index: number,
  ): { topic: Topic; log: TopicPartition } | { errorCode: number; errorMessage: string } {
    const topic = topics.getById(topicId);
    if (!topic)
      return { errorCode: KafkaError.UNKNOWN_TOPIC_ID, errorMessage: `Unknown topic id ${topicId}` };
    const log = topic.partitions[index];
    if (!log)
      return {
        errorCode: KafkaError.UNKNOWN_TOPIC_OR_PARTITION,
        errorMessage: `Topic ${topic.name} has no partition ${index}`,
      };
    shares.partition(groupId, topic, index);
    return { topic, log };
  }

  /** Applies one partition's acknowledgements; resolves with its error once the state is stored. */
  function acknowledge(
    groupId: string,
    memberId: string,
    topicId: string,
    index: number,
    batches: readonly AckBatchWire[],
  ): Promise<{ errorCode: number; errorMessage: string | null }> {
    const found = findPartition(groupId, topicId, index);
    if ('errorCode' in found) return Promise.resolve(found);
    const partition = shares.partition(groupId, found.topic, index);
    const converted: AcknowledgementBatch[] = batches.map((b) => ({
      firstOffset: Number(b.firstOffset),
      lastOffset: Number(b.lastOffset),
      acknowledgeTypes: b.acknowledgeTypes,
    }));
    return new Promise((resolve) => {
      const error = partition.acknowledge(memberId, converted, () =>
        resolve({ errorCode: KafkaError.NONE, errorMessage: null }),
      );
      if (error === 'INVALID_RECORD_STATE')
        resolve({
          errorCode: KafkaError.INVALID_RECORD_STATE,
          errorMessage:
            'The record state is invalid: the records are not acquired by this member (lock expired, or never delivered to it).',
        });
      else if (error === 'INVALID_REQUEST')
        resolve({
          errorCode: KafkaError.INVALID_REQUEST,
          errorMessage:
            'Invalid acknowledgement batch: acknowledge types must be 0-3, one for the batch or one per offset.',
        });
    });
  }

  /** Every acknowledged partition of a request, keyed `topicId:partition`. */
  async function acknowledgeAll(
    groupId: string,
    memberId: string,
    topicsAcked: ReadonlyArray<{ topicId: string; partitions: AckPartitions }>,
  ): Promise<Map<string, { errorCode: number; errorMessage: string | null }>> {
    const results = new Map<string, { errorCode: number; errorMessage: string | null }>();
    const pending: Promise<void>[] = [];
    for (const t of topicsAcked)
      for (const p of t.partitions) {
        if (p.acknowledgementBatches.length === 0) continue;
        pending.push(
          acknowledge(groupId, memberId, t.topicId, p.partitionIndex, p.acknowledgementBatches).then((r) => {
            results.set(`${t.topicId}:${p.partitionIndex}`, r);
          }),
        );
      }
    await Promise.all(pending);
    return results;
  }

  const heartbeat: KafkaApi = {
    apiKey: API_KEYS.ShareGroupHeartbeat,
    minVersion: 0,
    maxVersion: 1,
    handle(call: KafkaCall<ShareGroupHeartbeatRequest>): ShareGroupHeartbeatResponse {
      const { body } = call;
      // From v1 the member id is the client's own (a UUID it keeps for its lifetime), as in KIP-1082.
      if (call.header.apiVersion >= 1 && body.memberId === '')
        return {
          throttleTimeMs: 0,
          errorCode: KafkaError.INVALID_REQUEST,
          errorMessage: "MemberId can't be empty.",
          memberId: null,
          memberEpoch: 0,
          heartbeatIntervalMs: 0,
          assignment: null,
        };
      const result = shares.heartbeat({
        groupId: body.groupId,
        memberId: body.memberId,
        memberEpoch: body.memberEpoch,
        rackId: body.rackId,
        subscribedTopicNames: body.subscribedTopicNames,
        clientId: call.header.clientId ?? '',
        clientHost: clientHost(call.session),
      });
      return {
        throttleTimeMs: 0,
        errorCode: KafkaError[result.error],
        errorMessage: result.errorMessage,
        memberId: result.memberId,
        memberEpoch: result.memberEpoch,
        heartbeatIntervalMs: result.heartbeatIntervalMs,
        assignment: result.assignment && {
          topicPartitions: result.assignment.map((t) => ({
            topicId: t.topicId.toString('hex'),
            partitions: [...t.partitions],
          })),
        },
      };
    },
  };

  const describe: KafkaApi = {
    apiKey: API_KEYS.ShareGroupDescribe,
    minVersion: 0,
    maxVersion: 1,
    handle(call: KafkaCall<ShareGroupDescribeRequest>): ShareGroupDescribeResponse {
      return {
        throttleTimeMs: 0,
        groups: call.body.groupIds.map((groupId) => {
          const d = shares.describe(groupId);
          return {
            errorCode: KafkaError[d.error],
            errorMessage: d.errorMessage,
            groupId,
            groupState: d.error === 'NONE' ? d.state : '',
            groupEpoch: d.groupEpoch,
            assignmentEpoch: d.assignmentEpoch,
            assignorName: d.error === 'NONE' ? 'simple' : '',
            members: d.members.map((m) => ({
              memberId: m.memberId,
              rackId: m.rackId,
              memberEpoch: m.memberEpoch,
              clientId: m.clientId,
              clientHost: m.clientHost,
              subscribedTopicNames: [...m.subscribedTopicNames],
              assignment: {
                topicPartitions: m.assignment.map((t) => ({
                  topicId: t.topicId.toString('hex'),
                  topicName: t.topicName,
                  partitions: [...t.partitions],
                })),
              },
            })),
            authorizedOperations: -2147483648,
          };
        }),
      };
    },
  };

  const shareFetch: KafkaApi = {
    apiKey: API_KEYS.ShareFetch,
    minVersion: 0,
    maxVersion: 1,
    async handle(call: KafkaCall<ShareFetchRequest>): Promise<KafkaAnswer> {
      const { body } = call;
      const v1 = call.header.apiVersion >= 1;
      const topLevel = topLevelError;
      if (!namesGroupAndMember(body))
        return topLevel(KafkaError.INVALID_REQUEST, 'ShareFetch needs a group id and a member id');
      const { groupId, memberId } = body;
      const epoch = body.shareSessionEpoch;
      const acksPresent = body.topics.some((t) =>
        t.partitions.some((p) => p.acknowledgementBatches.length > 0),
      );
      // v0 fetches the partitions given a byte limit; v1 every partition named, except in the
      // request closing the session, whose partitions only carry acknowledgements.
      const fetches = (p: { partitionMaxBytes: number }) =>
        v1 ? epoch !== SHARE_FINAL_EPOCH : p.partitionMaxBytes > 0;
      const fetching = body.topics.some((t) => t.partitions.some(fetches));
      let session: ShareSession;
      if (epoch === SHARE_INITIAL_EPOCH) {
        if (acksPresent)
          return topLevel(
            KafkaError.INVALID_REQUEST,
            'Acknowledgements are not allowed in the ShareFetch that opens a share session (epoch 0)',
          );
        session = sessions.open(groupId, memberId, call.session);
      } else {
        if (epoch === SHARE_FINAL_EPOCH && fetching)
          return topLevel(
            KafkaError.INVALID_REQUEST,
            'The ShareFetch that closes a share session (epoch -1) may only acknowledge',
          );
        const used = sessions.use(groupId, memberId, epoch);
        if (used === 'SHARE_SESSION_NOT_FOUND')
          return topLevel(
            KafkaError.SHARE_SESSION_NOT_FOUND,
            `No share session for member ${memberId} of group ${groupId}: open one with epoch 0`,
          );
        if (used === 'INVALID_SHARE_SESSION_EPOCH')
          return topLevel(
            KafkaError.INVALID_SHARE_SESSION_EPOCH,
            `Share session epoch ${epoch} is not the expected one; open a new session with epoch 0`,
          );
        session = used;
      }
      for (const t of body.topics)
        for (const p of t.partitions) if (fetches(p)) session.add(hex(t.topicId), p.partitionIndex);
      for (const f of body.forgottenTopicsData)
        for (const p of f.partitions) session.forget(hex(f.topicId), p);

      const ackResults = await acknowledgeAll(
        groupId,
        memberId,
        body.topics.map((t) => ({ topicId: hex(t.topicId), partitions: t.partitions })),
      );
      if (epoch === SHARE_FINAL_EPOCH) {
        sessions.close(session);
        return answer(ackResults, new Map(), false);
      }

      const partitions = [...session.partitions.values()];
      const requestMaxRecords = body.maxRecords > 0 ? body.maxRecords : SHARE_FETCH_MAX_RECORDS;
      const acquire = (): Map<string, ShareFetchResponsePartitionData> => {
        const out = new Map<string, ShareFetchResponsePartitionData>();
        // v1: one budget for the whole request; v0: the default per partition.
        let budget = requestMaxRecords;
        for (const p of partitions) {
          if (v1 && budget <= 0) break;
          const found = findPartition(groupId, p.topicIdHex, p.partition);
          if ('errorCode' in found) {
            out.set(
              `${p.topicIdHex}:${p.partition}`,
              partitionData(p.partition, found.errorCode, found.errorMessage),
            );
            continue;
          }
          const share = shares.partition(groupId, found.topic, p.partition);
          const ranges = share.acquire(
            memberId,
            v1 ? budget : SHARE_FETCH_MAX_RECORDS,
            found.log.logStartOffset,
            found.log.highWatermark,
          );
          if (ranges.length === 0) continue;
          for (const r of ranges) budget -= r.lastOffset - r.firstOffset + 1;
          out.set(`${p.topicIdHex}:${p.partition}`, {
            ...partitionData(p.partition, KafkaError.NONE, null),
            records: readCovering(found.log, ranges),
            acquiredRecords: ranges.map((r) => ({
              firstOffset: BigInt(r.firstOffset),
              lastOffset: BigInt(r.lastOffset),
              deliveryCount: r.deliveryCount,
            })),
          });
        }
        return out;
      };
      const initial = epoch === SHARE_INITIAL_EPOCH;
      const first = acquire();
      if (first.size > 0 || body.maxWaitMs <= 0 || partitions.length === 0)
        return answer(ackResults, first, initial);
      // Woken by new records, and by records another member released or whose lock expired.
      const logs: Array<Pick<TopicPartition, 'watchHighWatermark'>> = [];
      for (const p of partitions) {
        const found = findPartition(groupId, p.topicIdHex, p.partition);
        if ('errorCode' in found) continue;
        const share = shares.partition(groupId, found.topic, p.partition);
        logs.push(found.log, { watchHighWatermark: (listener) => share.watchAvailable(listener) });
      }
      return waitForHighWatermarks({
        partitions: logs,
        clock,
        maxWaitMs: body.maxWaitMs,
        session: call.session,
        poll: () => {
          const got = acquire();
          return got.size > 0 ? answer(ackResults, got, initial) : undefined;
        },
        onTimeout: () => answer(ackResults, acquire(), initial),
      });

      /** The response: partitions with records, errors or acknowledgement results (all of them when the session is new). */
      function answer(
        acks: ReadonlyMap<string, { errorCode: number; errorMessage: string | null }>,
        fetched: ReadonlyMap<string, ShareFetchResponsePartitionData>,
        everyPartition: boolean,
      ): ShareFetchResponse {
        const byTopic = new Map<string, ShareFetchResponsePartitionData[]>();
        const keys = new Set([...fetched.keys(), ...acks.keys()]);
        if (everyPartition) for (const p of session.partitions.keys()) keys.add(p);
        for (const key of keys) {
          const [topicIdHex, index] = splitKey(key);
          const data = fetched.get(key) ?? partitionData(index, KafkaError.NONE, null);
          const ack = acks.get(key);
          const entry = ack
            ? { ...data, acknowledgeErrorCode: ack.errorCode, acknowledgeErrorMessage: ack.errorMessage }
            : data;
          const list = byTopic.get(topicIdHex) ?? [];
          byTopic.set(topicIdHex, list);
          list.push(entry);
        }
        return {
          throttleTimeMs: 0,
          errorCode: KafkaError.NONE,
          errorMessage: null,
          acquisitionLockTimeoutMs: shares.lockDurationMs(groupId),
          responses: [...byTopic].map(([topicId, parts]) => ({ topicId, partitions: parts })),
          nodeEndpoints: [],
        };
      }
    },
  };

  const shareAcknowledge: KafkaApi = {
    apiKey: API_KEYS.ShareAcknowledge,
    minVersion: 0,
    maxVersion: 1,
    async handle(call: KafkaCall<ShareAcknowledgeRequest>): Promise<ShareAcknowledgeResponse> {
      const { body } = call;
      const topLevel = topLevelError;
      if (!namesGroupAndMember(body))
        return topLevel(KafkaError.INVALID_REQUEST, 'ShareAcknowledge needs a group id and a member id');
      const epoch = body.shareSessionEpoch;
      // A share session is opened by ShareFetch only.
      if (epoch === SHARE_INITIAL_EPOCH)
        return topLevel(
          KafkaError.INVALID_SHARE_SESSION_EPOCH,
          'ShareAcknowledge cannot open a share session (epoch 0); send ShareFetch first',
        );
      const used = sessions.use(body.groupId, body.memberId, epoch);
      if (used === 'SHARE_SESSION_NOT_FOUND')
        return topLevel(
          KafkaError.SHARE_SESSION_NOT_FOUND,
          `No share session for member ${body.memberId} of group ${body.groupId}`,
        );
      if (used === 'INVALID_SHARE_SESSION_EPOCH')
        return topLevel(
          KafkaError.INVALID_SHARE_SESSION_EPOCH,
          `Share session epoch ${epoch} is not the expected one`,
        );
      const results = await acknowledgeAll(
        body.groupId,
        body.memberId,
        body.topics.map((t) => ({ topicId: hex(t.topicId), partitions: t.partitions })),
      );
      if (epoch === SHARE_FINAL_EPOCH) sessions.close(used);
      const byTopic = new Map<string, ShareAcknowledgeResponsePartitionData[]>();
      for (const [key, r] of results) {
        const [topicIdHex, index] = splitKey(key);
        const list = byTopic.get(topicIdHex) ?? [];
        byTopic.set(topicIdHex, list);
        list.push({
          partitionIndex: index,
          errorCode: r.errorCode,
          errorMessage: r.errorMessage,
          currentLeader: leader,
        });
      }
      return {
        throttleTimeMs: 0,
        errorCode: KafkaError.NONE,
        errorMessage: null,
        responses: [...byTopic].map(([topicId, partitions]) => ({ topicId, partitions })),
        nodeEndpoints: [],
      };
    },
  };

  function partitionData(
    index: number,
    errorCode: number,
    errorMessage: string | null,
  ): ShareFetchResponsePartitionData {
    return {
      partitionIndex: index,
      errorCode,
      errorMessage,
      acknowledgeErrorCode: KafkaError.NONE,
      acknowledgeErrorMessage: null,
      currentLeader: leader,
      records: EMPTY,
      acquiredRecords: [],
    };
  }

  return [heartbeat, describe, shareFetch, shareAcknowledge];
}

/** The stored batches holding the acquired offsets (whole batches, as stored). */
function readCovering(log: TopicPartition, ranges: readonly AcquiredRange[]): Buffer {
  const first = ranges[0]!.firstOffset;
  const last = ranges[ranges.length - 1]!.lastOffset;
  const out: Buffer[] = [];
  let offset = first;
  while (offset <= last) {
    const entries = log.stream.readFrom(offset, MAX_BATCHES_PER_PARTITION);
    if (entries.length === 0) break;
    for (const entry of entries) {
      const batchLast = batchLastOffset(entry.payload);
      offset = batchLast + 1;
      if (batchLast < first) continue;
      if (entry.offset > last) break;
      if (!isEmptyDataBatch(entry.payload) && coversAny(ranges, entry.offset, batchLast))
        out.push(entry.payload);
    }
    if (entries[entries.length - 1]!.offset > last) break;
  }
  // A copy: stream buffers are recycled while the answer may wait in the socket.
  return Buffer.concat(out);
}

function coversAny(ranges: readonly AcquiredRange[], from: number, to: number): boolean {
  return ranges.some((r) => r.firstOffset <= to && r.lastOffset >= from);
}

/** The codec's uuid form → 32 hex digits. */
function hex(topicId: string): string {
  return topicId.replaceAll('-', '').toLowerCase();
}

function splitKey(key: string): [string, number] {
  const at = key.lastIndexOf(':');
  return [key.slice(0, at), Number(key.slice(at + 1))];
}

/** A ShareFetch or ShareAcknowledge answer refused as a whole (the two have the same top level). */
function topLevelError(errorCode: number, errorMessage: string) {
  return { throttleTimeMs: 0, errorCode, errorMessage, responses: [], nodeEndpoints: [] };
}

/** Both share requests name their group and member; Kafka refuses one without either. */
function namesGroupAndMember<T extends { groupId: string | null; memberId: string | null }>(
  body: T,
): body is T & { groupId: string; memberId: string } {
  return body.groupId !== null && body.groupId !== '' && body.memberId !== null && body.memberId !== '';
}
