/**
 * Fetch v4-12: stored record batches from each partition's fetch offset up to its high watermark,
 * sent as stored (never re-encoded), whole batches only. Limits, as Kafka applies them: each
 * partition gets at most partitionMaxBytes and the response at most maxBytes, except that the first
 * batch of the first partition with data is always sent whole (KIP-74), so a consumer is never
 * stuck behind a batch larger than its limits. The first batch may start before the fetch offset;
 * clients skip the records they did not ask for.
 *
 * Long poll: with fewer than minBytes available (and no partition error), the answer waits up to
 * maxWaitMs for any requested partition's high watermark to move (fetch-wait.ts).
 *
 * read_committed (isolation level 1): data only below the partition's last stable offset (the
 * first offset of its oldest open transaction, else the high watermark), with the aborted
 * transactions (producer id, first offset) overlapping what is returned, so clients drop those
 * producers' batches up to their abort markers. read_uncommitted reads up to the high watermark.
 *
 * Fetch sessions (KIP-227) are not cached: a full fetch (sessionEpoch -1 or 0) is answered with
 * sessionId 0, which tells clients to keep sending full fetches — what Kafka does when its session
 * cache has no room. An incremental fetch (epoch > 0) names a session Pier never created →
 * FETCH_SESSION_ID_NOT_FOUND, after which clients fall back to a full fetch.
 */
import type { Clock } from '../../../core/clock.js';
import type { TopicLookup, TopicPartition } from '../../../core/kafka/topic.js';
import type { TransactionCoordinator } from '../../../core/kafka/transaction-coordinator.js';
import type {
  FetchRequest,
  FetchRequestFetchPartition,
  FetchResponse,
  FetchResponseFetchableTopicResponse,
  FetchResponsePartitionData,
} from '../codec/index.js';
import { KafkaError } from '../error-codes.js';
import { selectFetchBatches } from '../fetch-batches.js';
import type { KafkaAnswer, KafkaApi, KafkaCall } from '../kafka-api.js';
import { isEmptyDataBatch } from '../log-cleaner.js';
import { batchLastOffset } from '../record-batch.js';
import { waitForHighWatermarks } from './fetch-wait.js';

export const FETCH_KEY = 1;

export interface FetchServices {
  readonly topics: TopicLookup;
  readonly transactions: Pick<TransactionCoordinator, 'lastStableOffset' | 'abortedBetween'>;
  readonly clock: Clock;
}

export function fetchApis(services: FetchServices): KafkaApi[] {
  return [
    {
      apiKey: FETCH_KEY,
      minVersion: 4,
      maxVersion: 12,
      handle: (call: KafkaCall<FetchRequest>) => fetch(services, call),
    },
  ];
}

/** Batches read per partition and request, whatever their size (the client fetches again for more). */
const MAX_BATCHES_PER_PARTITION = 10_000;
const EMPTY = Buffer.alloc(0);
const READ_COMMITTED = 1;

/** A requested partition, resolved once per request (undefined: unknown topic or partition). */
interface Target {
  readonly request: FetchRequestFetchPartition;
  readonly partition: TopicPartition | undefined;
}

interface ReadResult {
  readonly response: FetchResponse;
  readonly sizeBytes: number;
  readonly hasError: boolean;
}

function fetch(s: FetchServices, call: KafkaCall<FetchRequest>): KafkaAnswer | Promise<KafkaAnswer> {
  const body = call.body;
  if (call.header.apiVersion >= 7 && body.sessionEpoch > 0) {
    return {
      throttleTimeMs: 0,
      errorCode: KafkaError.FETCH_SESSION_ID_NOT_FOUND,
      sessionId: 0,
      responses: [],
    };
  }
  const targets = body.topics.map((t) => {
    const topic = s.topics.get(t.topic);
    return {
      name: t.topic,
      targets: t.partitions.map(
        (request): Target => ({ request, partition: topic?.partitions[request.partition] }),
      ),
    };
  });
  const read = () => readAll(s, targets, body);
  const first = read();
  if (body.maxWaitMs <= 0 || first.sizeBytes >= body.minBytes || first.hasError) return first.response;
  const partitions = new Set<TopicPartition>();
  for (const t of targets) for (const target of t.targets) partitions.add(target.partition!);
  if (partitions.size === 0) return first.response;
  return waitForHighWatermarks({
    partitions,
    clock: s.clock,
    maxWaitMs: body.maxWaitMs,
    session: call.session,
    poll: () => {
      const result = read();
      return result.sizeBytes >= body.minBytes || result.hasError ? result.response : undefined;
    },
    onTimeout: () => read().response,
  });
}

function readAll(
  s: FetchServices,
  topics: readonly { name: string; targets: readonly Target[] }[],
  body: FetchRequest,
): ReadResult {
  let remainingBytes = Math.max(0, body.maxBytes);
  let sizeBytes = 0;
  let hasError = false;
  let minOneBatch = true;
  const readCommitted = body.isolationLevel === READ_COMMITTED;
  const responses = topics.map(
    (t): FetchResponseFetchableTopicResponse => ({
      topic: t.name,
      topicId: NO_TOPIC_ID,
      partitions: t.targets.map(({ request, partition }) => {
        const index = request.partition;
        if (!partition) {
          hasError = true;
          return errorPartition(index, KafkaError.UNKNOWN_TOPIC_OR_PARTITION);
        }
        const fetchOffset = Number(request.fetchOffset);
        const highWatermark = partition.highWatermark;
        const logStartOffset = partition.logStartOffset;
        if (fetchOffset < logStartOffset || fetchOffset > partition.stream.nextOffset) {
          hasError = true;
          return errorPartition(index, KafkaError.OFFSET_OUT_OF_RANGE);
        }
        const limitBytes = Math.min(request.partitionMaxBytes, remainingBytes);
        const lastStableOffset = s.transactions.lastStableOffset(partition);
        const upTo = readCommitted ? lastStableOffset : highWatermark;
        const batches = readBatches(partition, fetchOffset, upTo, limitBytes, minOneBatch);
        if (batches.sizeBytes > 0) minOneBatch = false;
        remainingBytes = Math.max(0, remainingBytes - batches.sizeBytes);
        sizeBytes += batches.sizeBytes;
        return {
          partitionIndex: index,
          errorCode: KafkaError.NONE,
          highWatermark: BigInt(highWatermark),
          lastStableOffset: BigInt(lastStableOffset),
          logStartOffset: BigInt(logStartOffset),
          divergingEpoch: NO_DIVERGING_EPOCH,
          currentLeader: NO_LEADER,
          snapshotId: NO_SNAPSHOT,
          abortedTransactions: readCommitted
            ? s.transactions
                .abortedBetween(partition, fetchOffset, batches.endOffset)
                .map((a) => ({ producerId: BigInt(a.producerId), firstOffset: BigInt(a.firstOffset) }))
            : null,
          preferredReadReplica: -1,
          records: batches.records,
        };
      }),
    }),
  );
  const response: FetchResponse = {
    throttleTimeMs: 0,
    errorCode: KafkaError.NONE,
    sessionId: 0,
    responses,
    nodeEndpoints: [],
  };
  return { response, sizeBytes, hasError };
}

/**
 * Whole stored batches from the one holding `fetchOffset`, wholly below `upTo` (the high watermark
 * or the last stable offset), within `limitBytes`; `endOffset` is one past the last offset returned.
 */
function readBatches(
  partition: TopicPartition,
  fetchOffset: number,
  upTo: number,
  limitBytes: number,
  minOneBatch: boolean,
): { records: Buffer; sizeBytes: number; endOffset: number } {
  if (fetchOffset >= upTo || (limitBytes <= 0 && !minOneBatch))
    return { records: EMPTY, sizeBytes: 0, endOffset: fetchOffset };
  // readFrom returns at least one entry and may pass the byte limit by one entry; selection trims.
  const entries = partition.stream.readFrom(fetchOffset, MAX_BATCHES_PER_PARTITION, Math.max(1, limitBytes));
  const stored: Buffer[] = [];
  for (const entry of entries) {
    // A batch ends before upTo (the high watermark moves batch by batch; the LSO is a batch's start).
    if (entry.offset >= upTo) break;
    // A batch compaction emptied (kept for its producer's state) has nothing for a consumer.
    if (isEmptyDataBatch(entry.payload)) continue;
    stored.push(entry.payload);
  }
  const { batches, sizeBytes } = selectFetchBatches(stored, fetchOffset, limitBytes, minOneBatch);
  if (batches.length === 0) return { records: EMPTY, sizeBytes: 0, endOffset: fetchOffset };
  const endOffset = batchLastOffset(batches[batches.length - 1]!) + 1;
  // Always a copy: cached batches live in memory the stream recycles as new batches arrive, and the
  // answer may wait in the socket (StreamStore.read).
  return { records: Buffer.concat(batches, sizeBytes), sizeBytes, endOffset };
}

const NO_TOPIC_ID = '00000000-0000-0000-0000-000000000000';
const NO_DIVERGING_EPOCH = { epoch: -1, endOffset: -1n };
const NO_LEADER = { leaderId: -1, leaderEpoch: -1 };
const NO_SNAPSHOT = { endOffset: -1n, epoch: -1 };

/** Kafka's answer for a partition it cannot read: offsets -1, no records. */
function errorPartition(index: number, errorCode: number): FetchResponsePartitionData {
  return {
    partitionIndex: index,
    errorCode,
    highWatermark: -1n,
    lastStableOffset: -1n,
    logStartOffset: -1n,
    divergingEpoch: NO_DIVERGING_EPOCH,
    currentLeader: NO_LEADER,
    snapshotId: NO_SNAPSHOT,
    abortedTransactions: null,
    preferredReadReplica: -1,
    records: EMPTY,
  };
}
