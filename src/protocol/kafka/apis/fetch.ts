/**
 * Fetch v4-17: stored record batches from each partition's fetch offset up to its high watermark,
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
 * Fetch sessions (KIP-227, v7+; fetch-sessions.ts): a full fetch with epoch 0 creates a session
 * over its partitions; later incremental fetches name only the partitions whose position changed
 * (and forgotten_topics_data the ones to drop), and the answer carries only the session's
 * partitions with something new: records, a moved high watermark, last stable offset or log start
 * offset, or an error. Epoch -1 is a full fetch without a session.
 *
 * v13+ name topics by id (unknown ids: UNKNOWN_TOPIC_ID); such sessions are keyed by topic id.
 */
import type { Clock } from '../../../core/clock.js';
import type { Topic, TopicLookup, TopicPartition } from '../../../core/kafka/topic.js';
import { formatTopicId } from '../../../core/kafka/topic-registry.js';
import type { TransactionCoordinator } from '../../../core/kafka/transaction-coordinator.js';
import type { RecycledMemory } from '../../../core/stream/stream-store.js';
import type {
  FetchRequest,
  FetchResponse,
  FetchResponseFetchableTopicResponse,
  FetchResponsePartitionData,
} from '../codec/index.js';
import { KafkaError } from '../error-codes.js';
import { selectFetchBatches } from '../fetch-batches.js';
import {
  type FetchSession,
  FetchSessionCache,
  FINAL_EPOCH,
  INITIAL_EPOCH,
  INVALID_SESSION_ID,
  newSessionPartition,
  nextEpoch,
  type SessionPartition,
} from '../fetch-sessions.js';
import { AFTER_WRITE, type KafkaAnswer, type KafkaApi, type KafkaCall } from '../kafka-api.js';
import { isEmptyDataBatch } from '../log-cleaner.js';
import { batchLastOffset } from '../record-batch.js';
import { waitForHighWatermarks } from './fetch-wait.js';

export const FETCH_KEY = 1;

export interface FetchServices {
  readonly topics: TopicLookup & { getById(id: string): Topic | undefined };
  readonly transactions: Pick<TransactionCoordinator, 'lastStableOffset' | 'abortedBetween'>;
  readonly clock: Clock;
  /** The fetch session cache; one with Kafka's default 1000 slots when not given. */
  readonly sessions?: FetchSessionCache;
}

export function fetchApis(services: FetchServices): KafkaApi[] {
  const sessions = services.sessions ?? new FetchSessionCache({ clock: services.clock });
  return [
    {
      apiKey: FETCH_KEY,
      minVersion: 4,
      maxVersion: 17,
      handle: (call: KafkaCall<FetchRequest>) => fetch(services, sessions, call),
    },
  ];
}

/** Batches read per partition and request, whatever their size (the client fetches again for more). */
const MAX_BATCHES_PER_PARTITION = 10_000;
const EMPTY = Buffer.alloc(0);
const READ_COMMITTED = 1;
/** Fetch v13 names topics by id. */
const TOPIC_IDS_VERSION = 13;

/** One partition read: its answer and the bytes of records in it. */
interface PartitionRead {
  readonly part: SessionPartition;
  readonly topic: Topic | undefined;
  readonly data: FetchResponsePartitionData;
}

interface ReadResult {
  readonly reads: readonly PartitionRead[];
  readonly sizeBytes: number;
  readonly hasError: boolean;
  /** The recycled memory (a tail cache's) the reads' batches view: pinned while the answer is written. */
  readonly recycled: readonly RecycledMemory[];
}

/** How this request is answered: without a session, by creating one, or from one. */
type Context =
  | { readonly kind: 'sessionless' | 'full'; readonly parts: readonly SessionPartition[] }
  | { readonly kind: 'incremental'; readonly session: FetchSession };

function fetch(
  s: FetchServices,
  sessions: FetchSessionCache,
  call: KafkaCall<FetchRequest>,
): KafkaAnswer | Promise<KafkaAnswer> {
  const body = call.body;
  const version = call.header.apiVersion;
  const usesTopicIds = version >= TOPIC_IDS_VERSION;
  const topicKey = (t: { topic: string; topicId: string }) => (usesTopicIds ? t.topicId : t.topic);
  const requested = body.topics.flatMap((t) =>
    t.partitions.map((p) => ({
      topicKey: topicKey(t),
      partition: p.partition,
      fetchOffset: Number(p.fetchOffset),
      partitionMaxBytes: p.partitionMaxBytes,
    })),
  );
  const context = sessionContext(sessions, version, usesTopicIds, body, requested, topicKey);
  if (typeof context === 'number') return sessionError(context);

  const parts = context.kind === 'incremental' ? [...context.session.partitions.values()] : context.parts;
  const resolve = topicResolver(s, usesTopicIds);
  const read = () => readAll(s, parts, resolve, usesTopicIds, body, version);
  const answer = (result: ReadResult) => pinned(result, respond(sessions, context, usesTopicIds, result));
  const first = read();
  if (body.maxWaitMs <= 0 || first.sizeBytes >= body.minBytes || first.hasError) return answer(first);
  const partitions = new Set<TopicPartition>();
  for (const r of first.reads) {
    const partition = r.topic?.partitions[r.part.partition];
    if (partition) partitions.add(partition);
  }
  if (partitions.size === 0) return answer(first);
  return waitForHighWatermarks({
    partitions,
    clock: s.clock,
    maxWaitMs: body.maxWaitMs,
    session: call.session,
    poll: () => {
      const result = read();
      return result.sizeBytes >= body.minBytes || result.hasError ? answer(result) : undefined;
    },
    onTimeout: () => answer(read()),
  });
}

/**
 * Kafka's FetchManager.newContext: the session the request's metadata names, or the error code to
 * answer. Full fetches close the session they name; an incremental fetch updates its session and
 * advances the epoch the next request must carry.
 */
function sessionContext(
  sessions: FetchSessionCache,
  version: number,
  usesTopicIds: boolean,
  body: FetchRequest,
  requested: readonly {
    topicKey: string;
    partition: number;
    fetchOffset: number;
    partitionMaxBytes: number;
  }[],
  topicKey: (t: { topic: string; topicId: string }) => string,
): Context | number {
  const full = () => requested.map(newSessionPartition);
  if (version < 7) return { kind: 'sessionless', parts: full() };
  const { sessionId, sessionEpoch } = body;
  if (sessionEpoch === FINAL_EPOCH || sessionEpoch === INITIAL_EPOCH) {
    if (sessionId !== INVALID_SESSION_ID) sessions.remove(sessionId);
    return { kind: sessionEpoch === INITIAL_EPOCH ? 'full' : 'sessionless', parts: full() };
  }
  const session = sessions.get(sessionId);
  if (!session) return KafkaError.FETCH_SESSION_ID_NOT_FOUND;
  if (session.epoch !== sessionEpoch) return KafkaError.INVALID_FETCH_SESSION_EPOCH;
  if (session.usesTopicIds !== usesTopicIds) return KafkaError.FETCH_SESSION_TOPIC_ID_ERROR;
  const forgotten = body.forgottenTopicsData.flatMap((t) =>
    t.partitions.map((partition) => ({ topicKey: topicKey(t), partition })),
  );
  session.update(requested, forgotten);
  if (session.partitions.size === 0) {
    // Kafka drops a session left empty and answers the request without one.
    sessions.remove(session.id);
    return { kind: 'sessionless', parts: [] };
  }
  sessions.touch(session);
  session.epoch = nextEpoch(session.epoch);
  return { kind: 'incremental', session };
}

function sessionError(errorCode: number): FetchResponse {
  return { throttleTimeMs: 0, errorCode, sessionId: INVALID_SESSION_ID, responses: [], nodeEndpoints: [] };
}

function topicResolver(s: FetchServices, usesTopicIds: boolean): (key: string) => Topic | undefined {
  // Looked up on every read: a topic deleted (or re-created under a new id) shows in the next answer.
  return usesTopicIds ? (id) => s.topics.getById(id) : (name) => s.topics.get(name);
}

/**
 * The answer, holding the recycled memory its batches view pinned until the connection has written
 * it (AFTER_WRITE): batches from a tail cache go to the socket without a copy, and the cache takes
 * fresh memory rather than write over them meanwhile. Only an answer pins: a read a long poll
 * drops holds nothing.
 */
function pinned(result: ReadResult, response: FetchResponse): KafkaAnswer {
  const recycled = result.recycled;
  if (recycled.length === 0) return response;
  for (const memory of recycled) memory.pin();
  // respond() made the response for this answer alone: the key goes on it, no copy.
  (response as FetchResponse & { [AFTER_WRITE]?: () => void })[AFTER_WRITE] = () => {
    for (const memory of recycled) memory.unpin();
  };
  return response;
}

/** The answer for a read: every partition (sessionless, full), or the changed ones (incremental). */
function respond(
  sessions: FetchSessionCache,
  context: Context,
  usesTopicIds: boolean,
  result: ReadResult,
): FetchResponse {
  let sessionId = INVALID_SESSION_ID;
  let answered: readonly PartitionRead[] = result.reads;
  if (context.kind === 'full') {
    for (const r of result.reads) remember(r);
    sessionId = sessions.create(usesTopicIds, context.parts)?.id ?? INVALID_SESSION_ID;
  } else if (context.kind === 'incremental') {
    const { session } = context;
    sessionId = session.id;
    answered = result.reads.filter((r) => {
      if (!remember(r)) return false;
      session.moveToEnd(r.part);
      return true;
    });
  }
  return {
    throttleTimeMs: 0,
    errorCode: KafkaError.NONE,
    sessionId,
    responses: groupByTopic(answered, usesTopicIds),
    nodeEndpoints: [],
  };
}

/**
 * Records what the client is told about a partition; true when there is something to tell (Kafka's
 * CachedPartition.maybeUpdateResponseData: records, a moved high watermark or log start offset, an
 * error). The last stable offset is compared too: a read_committed consumer needs it to move.
 */
function remember({ part, data }: PartitionRead): boolean {
  const highWatermark = Number(data.highWatermark);
  const lastStableOffset = Number(data.lastStableOffset);
  const logStartOffset = Number(data.logStartOffset);
  let changed = (data.records?.length ?? 0) > 0;
  if (part.highWatermark !== highWatermark || part.lastStableOffset !== lastStableOffset) changed = true;
  if (part.logStartOffset !== logStartOffset) changed = true;
  part.highWatermark = highWatermark;
  part.lastStableOffset = lastStableOffset;
  part.logStartOffset = logStartOffset;
  if (data.errorCode !== KafkaError.NONE) {
    // Sent again once the error is gone.
    part.highWatermark = -1;
    changed = true;
  }
  return changed;
}

/** Consecutive partitions of one topic form one topic entry, as Kafka builds its answer. */
function groupByTopic(
  reads: readonly PartitionRead[],
  usesTopicIds: boolean,
): FetchResponseFetchableTopicResponse[] {
  const out: FetchResponseFetchableTopicResponse[] = [];
  let last: { key: string; entry: FetchResponseFetchableTopicResponse } | undefined;
  for (const r of reads) {
    if (last?.key !== r.part.topicKey) {
      const entry = {
        topic: usesTopicIds ? (r.topic?.name ?? '') : r.part.topicKey,
        topicId: usesTopicIds ? r.part.topicKey : r.topic ? formatTopicId(r.topic.id) : NO_TOPIC_ID,
        partitions: [],
      };
      out.push(entry);
      last = { key: r.part.topicKey, entry };
    }
    last.entry.partitions.push(r.data);
  }
  return out;
}

function readAll(
  s: FetchServices,
  parts: readonly SessionPartition[],
  resolve: (key: string) => Topic | undefined,
  usesTopicIds: boolean,
  body: FetchRequest,
  version: number,
): ReadResult {
  let remainingBytes = Math.max(0, body.maxBytes);
  let sizeBytes = 0;
  let hasError = false;
  let minOneBatch = true;
  const recycled: RecycledMemory[] = [];
  const readCommitted = body.isolationLevel === READ_COMMITTED;
  const topics = new Map<string, Topic | undefined>();
  const reads = parts.map((part): PartitionRead => {
    let topic = topics.get(part.topicKey);
    if (topic === undefined && !topics.has(part.topicKey)) {
      topic = resolve(part.topicKey);
      topics.set(part.topicKey, topic);
    }
    const index = part.partition;
    const partition = topic?.partitions[index];
    if (!partition) {
      hasError = true;
      const unknownId = usesTopicIds && topic === undefined;
      const errorCode = unknownId ? KafkaError.UNKNOWN_TOPIC_ID : KafkaError.UNKNOWN_TOPIC_OR_PARTITION;
      return { part, topic, data: errorPartition(index, errorCode) };
    }
    // As Kafka: a zstd topic is not served below Fetch v10, whose clients may not read zstd.
    if (version < ZSTD_FETCH_VERSION && topic!.config.compressionType === 'zstd') {
      hasError = true;
      return { part, topic, data: errorPartition(index, KafkaError.UNSUPPORTED_COMPRESSION_TYPE) };
    }
    const fetchOffset = part.fetchOffset;
    const highWatermark = partition.highWatermark;
    const logStartOffset = partition.logStartOffset;
    if (fetchOffset < logStartOffset || fetchOffset > partition.stream.nextOffset) {
      hasError = true;
      return { part, topic, data: errorPartition(index, KafkaError.OFFSET_OUT_OF_RANGE) };
    }
    const limitBytes = Math.min(part.partitionMaxBytes, remainingBytes);
    const lastStableOffset = s.transactions.lastStableOffset(partition);
    const upTo = readCommitted ? lastStableOffset : highWatermark;
    const batches = readBatches(partition, fetchOffset, upTo, limitBytes, minOneBatch, recycled);
    if (batches.sizeBytes > 0) minOneBatch = false;
    remainingBytes = Math.max(0, remainingBytes - batches.sizeBytes);
    sizeBytes += batches.sizeBytes;
    const data: FetchResponsePartitionData = {
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
      // The codec's writer takes a list of batches for a records field (Writer.records).
      records: batches.records as Buffer,
    };
    return { part, topic, data };
  });
  return { reads, sizeBytes, hasError, recycled };
}

/**
 * Whole stored batches from the one holding `fetchOffset`, wholly below `upTo` (the high watermark
 * or the last stable offset), within `limitBytes`; `endOffset` is one past the last offset returned.
 * The recycled memory any of them views is added to `recycled` (the answer pins it).
 */
function readBatches(
  partition: TopicPartition,
  fetchOffset: number,
  upTo: number,
  limitBytes: number,
  minOneBatch: boolean,
  recycled: RecycledMemory[],
): { records: Buffer | Buffer[]; sizeBytes: number; endOffset: number } {
  if (fetchOffset >= upTo || (limitBytes <= 0 && !minOneBatch))
    return { records: EMPTY, sizeBytes: 0, endOffset: fetchOffset };
  // readFrom returns at least one entry and may pass the byte limit by one entry; selection trims.
  const entries = partition.stream.readFrom(fetchOffset, MAX_BATCHES_PER_PARTITION, Math.max(1, limitBytes));
  const stored: Buffer[] = [];
  let lastRecycled: RecycledMemory | undefined;
  for (const entry of entries) {
    // A batch ends before upTo (the high watermark moves batch by batch; the LSO is a batch's start).
    if (entry.offset >= upTo) break;
    // A batch compaction emptied (kept for its producer's state) has nothing for a consumer.
    if (isEmptyDataBatch(entry.payload)) continue;
    stored.push(entry.payload);
    // Consecutive entries mostly share one half: listed once per run (a half listed twice is pinned twice, unpinned twice).
    if (entry.recycled && entry.recycled !== lastRecycled) {
      lastRecycled = entry.recycled;
      recycled.push(entry.recycled);
    }
  }
  const { batches, sizeBytes } = selectFetchBatches(stored, fetchOffset, limitBytes, minOneBatch);
  if (batches.length === 0) return { records: EMPTY, sizeBytes: 0, endOffset: fetchOffset };
  const endOffset = batchLastOffset(batches[batches.length - 1]!) + 1;
  // Sent as they are, as a list the response writer shares (no copy): disk reads are fresh memory,
  // and the tail cache's recycled memory is pinned by the answer until written (pinned()).
  return { records: batches.length === 1 ? batches[0]! : batches, sizeBytes, endOffset };
}

/** The first Fetch version whose clients read zstd batches (KIP-110). */
const ZSTD_FETCH_VERSION = 10;

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
