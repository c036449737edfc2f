/**
 * Produce v0-9 (v0-2 carry the old message formats, up-converted to one v2 batch first:
 * legacy-message-set.ts, which also says why v0 is answered): validates each partition's record batch, assigns its offsets in place and appends
 * it in the same synchronous step, then answers once every appended batch is durable (the
 * partition's high watermark covers it) — for acks=1 as for acks=-1, since Pier's only replica is
 * its disk. acks=0 gets no answer; if a partition failed, the connection is closed instead, as
 * Kafka does, so the client notices and refreshes its metadata.
 *
 * Transactional batches must come from the current epoch of a transactional producer whose ongoing
 * transaction holds the partition (AddPartitionsToTxn first; KIP-890's verification), else
 * INVALID_PRODUCER_EPOCH / INVALID_TXN_STATE; the coordinator then tracks the transaction's first
 * offset in the partition, which holds its last stable offset until the marker.
 */
import type { Clock } from '../../../core/clock.js';
import { isCompacted, type Topic, type TopicLookup, type TopicPartition } from '../../../core/kafka/topic.js';
import type { TransactionCoordinator } from '../../../core/kafka/transaction-coordinator.js';
import type { WriteAvailability } from '../../../resources/resource-monitor.js';
import type {
  ProduceRequest,
  ProduceRequestPartitionProduceData,
  ProduceResponse,
  ProduceResponsePartitionProduceResponse,
} from '../codec/index.js';
import { keylessRecords } from '../compacted-keys.js';
import { KafkaError } from '../error-codes.js';
import {
  type KafkaAnswer,
  type KafkaApi,
  type KafkaCall,
  type KafkaSession,
  NO_RESPONSE,
} from '../kafka-api.js';
import { upConvertMessageSet } from '../legacy-message-set.js';
import type { PartitionProducerState } from '../producer-state.js';
import { recompressForTopic } from '../recompress.js';
import {
  assignBaseOffset,
  BatchOffset,
  CRC_START,
  stampLogAppendTime,
  validateRecordBatches,
} from '../record-batch.js';
import { untilSessionCloses } from '../session-close.js';

export const PRODUCE_KEY = 0;

export interface ProduceServices {
  readonly topics: TopicLookup;
  readonly transactions: Pick<TransactionCoordinator, 'checkTransactionalAppend' | 'transactionalAppended'>;
  readonly producers: { stateFor(partition: TopicPartition): PartitionProducerState };
  readonly clock: Clock;
  /**
   * The disk alarm. While it is raised (free space below --disk-free-limit, a write failing with
   * ENOSPC, or storage stopped after a failed fdatasync) produce is answered KAFKA_STORAGE_ERROR,
   * which producers retry, as Kafka answers when its log directory fails; batches still waiting to
   * become durable when it is raised are answered so too (they stay appended, as in Kafka).
   */
  readonly writes?: WriteAvailability;
}

export function produceApis(services: ProduceServices): KafkaApi[] {
  return [
    {
      apiKey: PRODUCE_KEY,
      minVersion: 0,
      maxVersion: 9,
      releasesRequestBytes: true,
      handle: (call: KafkaCall<ProduceRequest>) => produce(services, call),
    },
  ];
}

type PartitionResponse = ProduceResponsePartitionProduceResponse;

/** A partition response waiting for the high watermark to reach `requiredHighWatermark`. */
interface DurableWait {
  readonly partition: TopicPartition;
  readonly requiredHighWatermark: number;
  readonly response: PartitionResponse;
}

const EMPTY = Buffer.alloc(0);

function produce(s: ProduceServices, call: KafkaCall<ProduceRequest>): KafkaAnswer | Promise<KafkaAnswer> {
  const { body, session } = call;
  const version = call.header.apiVersion;
  const refusal = refuseRequest(body);
  const nowMs = s.clock.now();
  const waits: DurableWait[] = [];
  let firstFailure: string | undefined;
  const response: ProduceResponse = {
    throttleTimeMs: 0,
    nodeEndpoints: [],
    responses: body.topicData.map((topicData) => {
      const topic = refusal ? undefined : s.topics.getOrAutoCreate(topicData.name);
      return {
        name: topicData.name,
        partitionResponses: topicData.partitionData.map((data) => {
          const answer = refusal
            ? failed(data.index, refusal.code, refusal.message)
            : topic
              ? appendPartition(s, topic, data, version, nowMs, waits)
              : failed(
                  data.index,
                  KafkaError.UNKNOWN_TOPIC_OR_PARTITION,
                  `topic '${topicData.name}' does not exist; create it first (auto-creation is off or the name is invalid)`,
                );
          if (answer.errorCode !== KafkaError.NONE)
            firstFailure ??= `${topicData.name}-${data.index}: ${answer.errorMessage}`;
          return answer;
        }),
      };
    }),
  };
  if (body.acks === 0) {
    if (firstFailure !== undefined) session.close(`Produce with acks=0 failed for ${firstFailure}`);
    return NO_RESPONSE;
  }
  return whenDurable(waits, s, body.timeoutMs, session, response);
}

function storageRefused(s: ProduceServices, topic: Topic, index: number): PartitionResponse | undefined {
  const refusal = s.writes?.refusal();
  if (refusal === undefined) return undefined;
  return failed(
    index,
    KafkaError.KAFKA_STORAGE_ERROR,
    `${topic.name}-${index} is not writable now (${refusal}); retry later`,
  );
}

function refuseRequest(body: ProduceRequest): { code: number; message: string } | undefined {
  if (body.acks !== 0 && body.acks !== 1 && body.acks !== -1) {
    return { code: KafkaError.INVALID_REQUIRED_ACKS, message: `acks must be 0, 1 or -1, not ${body.acks}` };
  }
  return undefined;
}

function failed(index: number, errorCode: number, message: string): PartitionResponse {
  return {
    index,
    errorCode,
    baseOffset: -1n,
    logAppendTimeMs: -1n,
    logStartOffset: -1n,
    recordErrors: [],
    errorMessage: message,
    currentLeader: { leaderId: -1, leaderEpoch: -1 },
  };
}

function succeeded(
  index: number,
  baseOffset: number,
  logAppendTimeMs: number,
  logStartOffset: number,
): PartitionResponse {
  return {
    index,
    errorCode: KafkaError.NONE,
    baseOffset: BigInt(baseOffset),
    logAppendTimeMs: BigInt(logAppendTimeMs),
    logStartOffset: BigInt(logStartOffset),
    recordErrors: [],
    errorMessage: null,
    currentLeader: { leaderId: -1, leaderEpoch: -1 },
  };
}

function appendPartition(
  s: ProduceServices,
  topic: Topic,
  data: ProduceRequestPartitionProduceData,
  version: number,
  nowMs: number,
  waits: DurableWait[],
): PartitionResponse {
  const partition = topic.partitions[data.index];
  if (!partition) {
    return failed(
      data.index,
      KafkaError.UNKNOWN_TOPIC_OR_PARTITION,
      `topic '${topic.name}' has ${topic.partitions.length} partition(s); partition ${data.index} does not exist`,
    );
  }
  // Before the duplicate check: a retried idempotent batch is answered only once it is durable.
  const refused = storageRefused(s, topic, data.index);
  if (refused) return refused;
  let records = data.records ?? EMPTY;
  if (version < 3 && records.length > 0) {
    const converted = upConvertMessageSet(records);
    if (!Buffer.isBuffer(converted)) return failed(data.index, converted.errorCode, converted.message);
    records = converted;
  }
  const validation = validateRecordBatches(records, {
    maxMessageBytes: topic.config.maxMessageBytes,
    produceVersion: version,
  });
  if (!validation.ok) return failed(data.index, validation.error.errorCode, validation.error.message);
  // From Produce v3 a partition carries exactly one batch (validation enforces it).
  const batch = validation.batches[0]!;
  if (batch.transactional) {
    if (batch.producerId < 0) {
      return failed(
        data.index,
        KafkaError.INVALID_RECORD,
        'a transactional batch must carry its producer id',
      );
    }
    const refusal = s.transactions.checkTransactionalAppend(partition, batch.producerId, batch.producerEpoch);
    if (refusal) return failed(data.index, KafkaError[refusal.error], refusal.message);
  }
  if (isCompacted(topic.config)) {
    let keyless: ReturnType<typeof keylessRecords>;
    try {
      keyless = keylessRecords(records.subarray(batch.start, batch.end), topic.name, data.index);
    } catch (err) {
      // A compressed section that does not decompress: its keys cannot be checked.
      return failed(data.index, KafkaError.CORRUPT_MESSAGE, `the batch's records cannot be read: ${err}`);
    }
    if (keyless.length > 0) {
      const refused = failed(data.index, KafkaError.INVALID_RECORD, keyless[0]!.message);
      return {
        ...refused,
        recordErrors: keyless.map((k) => ({ batchIndex: k.batchIndex, batchIndexErrorMessage: k.message })),
      };
    }
  }
  let { start, end } = batch;
  if (topic.config.compressionType !== undefined && topic.config.compressionType !== 'producer') {
    let recompressed: Buffer | undefined;
    try {
      recompressed = recompressForTopic(records.subarray(start, end), topic.config.compressionType);
    } catch (err) {
      return failed(data.index, KafkaError.CORRUPT_MESSAGE, `the batch's records cannot be read: ${err}`);
    }
    if (recompressed) {
      if (recompressed.length > topic.config.maxMessageBytes)
        return failed(
          data.index,
          KafkaError.MESSAGE_TOO_LARGE,
          `the batch recompressed to the topic's compression.type ${topic.config.compressionType} is ${recompressed.length} bytes, over max.message.bytes ${topic.config.maxMessageBytes}`,
        );
      records = recompressed;
      start = 0;
      end = recompressed.length;
    }
  }
  const logAppendTime = topic.config.messageTimestampType === 'LogAppendTime';
  let producers: PartitionProducerState | undefined;
  if (batch.producerId >= 0) {
    producers = s.producers.stateFor(partition);
    const check = producers.check(batch, nowMs);
    if (check.kind === 'error') return failed(data.index, check.errorCode, check.message);
    if (check.kind === 'duplicate') {
      const original = check.batch;
      const response = succeeded(
        data.index,
        original.baseOffset,
        logAppendTime ? original.maxTimestampMs : -1,
        partition.logStartOffset,
      );
      waits.push({ partition, requiredHighWatermark: original.lastOffset + 1, response });
      return response;
    }
  }
  let maxTimestampMs = batch.maxTimestampMs;
  if (logAppendTime) {
    stampLogAppendTime(records, start, end, nowMs);
    maxTimestampMs = nowMs;
  }
  const baseOffset = partition.stream.nextOffset;
  assignBaseOffset(records, start, baseOffset);
  try {
    // The store copies the batch: the listener reuses this request's memory for the next one.
    const stored = records.subarray(start, end);
    // The batch's own CRC (checked above) lets storage frame it without a second pass over the bytes.
    const batchCrc = { from: CRC_START, crc: stored.readUInt32BE(BatchOffset.crc) };
    partition.append(stored, batch.recordCount, maxTimestampMs, batchCrc);
  } catch (err) {
    return failed(
      data.index,
      KafkaError.KAFKA_STORAGE_ERROR,
      `could not append to ${topic.name}-${data.index}: ${(err as Error).message}`,
    );
  }
  producers?.record(batch, baseOffset, maxTimestampMs, nowMs);
  if (batch.transactional) s.transactions.transactionalAppended(partition, batch.producerId, baseOffset);
  const response = succeeded(data.index, baseOffset, logAppendTime ? nowMs : -1, partition.logStartOffset);
  waits.push({ partition, requiredHighWatermark: baseOffset + batch.lastOffsetDelta + 1, response });
  return response;
}

/**
 * Answers once every partition's high watermark covers its appended batch. After `timeoutMs`
 * (when positive) the partitions still waiting answer REQUEST_TIMED_OUT; their batches stay
 * appended, as in Kafka. A timeout of 0 or less waits without limit (Kafka, whose single replica
 * acknowledges at append, would answer at once; failing would surprise). A closed connection drops
 * the answer.
 */
function whenDurable(
  waits: readonly DurableWait[],
  s: ProduceServices,
  timeoutMs: number,
  session: KafkaSession,
  response: ProduceResponse,
): KafkaAnswer | Promise<KafkaAnswer> {
  const covered = (w: DurableWait) => w.partition.highWatermark >= w.requiredHighWatermark;
  const pending = waits.filter((w) => !covered(w));
  if (pending.length === 0) return response;
  if (session.closed) return NO_RESPONSE;
  return new Promise<KafkaAnswer>((resolve) => {
    let done = false;
    const finish = (answer: KafkaAnswer) => {
      if (done) return;
      done = true;
      for (const unwatch of unwatchers) unwatch();
      if (timer !== undefined) s.clock.clearTimeout(timer);
      stopClose();
      stopAlarm?.();
      resolve(answer);
    };
    const check = () => {
      if (pending.every(covered)) finish(response);
    };
    const unwatchers = [...new Set(pending.map((w) => w.partition))].map((p) => p.watchHighWatermark(check));
    const answerUncovered = (errorCode: number, message: string) => {
      for (const w of pending) {
        if (covered(w)) continue;
        w.response.errorCode = errorCode;
        w.response.baseOffset = -1n;
        w.response.logAppendTimeMs = -1n;
        w.response.logStartOffset = -1n;
        w.response.errorMessage = message;
      }
      finish(response);
    };
    // The disk filled while the batches waited: answer now rather than at the timeout.
    const stopAlarm = s.writes?.onChange(() => {
      const refusal = s.writes?.refusal();
      if (refusal !== undefined && !done) {
        answerUncovered(
          KafkaError.KAFKA_STORAGE_ERROR,
          `the batch was appended but cannot be made durable now (${refusal}); retry later`,
        );
      }
    });
    const timer =
      timeoutMs > 0
        ? s.clock.setTimeout(() => {
            answerUncovered(
              KafkaError.REQUEST_TIMED_OUT,
              `the batch was appended but not made durable within timeoutMs ${timeoutMs}`,
            );
          }, timeoutMs)
        : undefined;
    const stopClose = untilSessionCloses(session, () => finish(NO_RESPONSE));
  });
}
