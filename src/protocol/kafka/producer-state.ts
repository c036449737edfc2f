/**
 * Idempotent producers, per partition: for each producer id its epoch and its last five batches'
 * sequence and offset ranges, checked by Kafka's rules (ProducerStateManager, ProducerAppendInfo
 * and UnifiedLog.analyzeAndValidateProducerState in apache/kafka, 3.x):
 *
 * - A batch whose epoch and (firstSeq, lastSeq) equal one of the producer's last five batches is a
 *   retry of a batch already written: it is not appended, and the client is answered NONE with the
 *   original batch's base offset (Kafka does so since 0.11; DUPLICATE_SEQUENCE_NUMBER is never sent).
 * - An epoch older than the producer's current one → INVALID_PRODUCER_EPOCH (Kafka ≥ 2.7 answers
 *   this instead of PRODUCER_FENCED to clients).
 * - A newer epoch must start at sequence 0 (else OUT_OF_ORDER_SEQUENCE_NUMBER); it replaces the
 *   producer's batches.
 * - Same epoch: firstSeq must be lastSeq + 1 (wrapping from 2^31-1 to 0), else OUT_OF_ORDER.
 * - A producer id the partition does not know (never wrote here, expired, or its records were
 *   deleted) is accepted with any sequence (KIP-360), as Kafka does.
 *
 * Pure: no I/O; time comes in as arguments. Memory is bounded: an entry is dropped once the
 * producer has not appended for `expirationMs` (Kafka's producer.id.expiration.ms, one day) or,
 * least recently used first, when the partition tracks more than `maxProducers`.
 */
import { KafkaError } from './error-codes.js';

/** Batches remembered per producer for duplicate detection (Kafka's NUM_BATCHES_TO_RETAIN). */
export const PRODUCER_BATCHES_RETAINED = 5;
/** Kafka's producer.id.expiration.ms default: one day. */
export const DEFAULT_PRODUCER_EXPIRATION_MS = 24 * 60 * 60 * 1000;
/** Producers tracked per partition before the least recently used ones are forgotten. */
export const DEFAULT_MAX_PRODUCERS_PER_PARTITION = 100_000;

const MAX_SEQUENCE = 0x7fff_ffff;

export interface ProducerBatch {
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly baseOffset: number;
  readonly lastOffset: number;
  /** The batch's max timestamp (the broker's time for LogAppendTime topics). */
  readonly maxTimestampMs: number;
}

interface ProducerEntry {
  epoch: number;
  /** Oldest first, at most PRODUCER_BATCHES_RETAINED. */
  batches: ProducerBatch[];
  lastAppendMs: number;
}

/** What a producer's batch header says, as the check needs it. */
export interface ProducerBatchHeader {
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  /** recordCount - 1. */
  readonly lastOffsetDelta: number;
}

export type SequenceCheck =
  | { readonly kind: 'append' }
  /** A retry of a batch already in the log: answer with its offsets, append nothing. */
  | { readonly kind: 'duplicate'; readonly batch: ProducerBatch }
  | {
      readonly kind: 'error';
      readonly errorCode:
        | typeof KafkaError.OUT_OF_ORDER_SEQUENCE_NUMBER
        | typeof KafkaError.INVALID_PRODUCER_EPOCH;
      readonly message: string;
    };

const APPEND: SequenceCheck = { kind: 'append' };

/** The sequence of a batch's last record: firstSeq + delta, wrapping past 2^31-1 to 0 (as Kafka). */
export function lastSequence(firstSeq: number, lastOffsetDelta: number): number {
  return firstSeq > MAX_SEQUENCE - lastOffsetDelta
    ? lastOffsetDelta - (MAX_SEQUENCE - firstSeq) - 1
    : firstSeq + lastOffsetDelta;
}

function inSequence(lastSeq: number, nextSeq: number): boolean {
  return nextSeq === lastSeq + 1 || (nextSeq === 0 && lastSeq === MAX_SEQUENCE);
}

export interface PartitionProducerStateOptions {
  readonly expirationMs?: number;
  readonly maxProducers?: number;
}

export class PartitionProducerState {
  /** In least-recently-appended order: an append moves its producer to the end. */
  private readonly producers = new Map<number, ProducerEntry>();
  private readonly expirationMs: number;
  private readonly maxProducers: number;

  constructor(options: PartitionProducerStateOptions = {}) {
    this.expirationMs = options.expirationMs ?? DEFAULT_PRODUCER_EXPIRATION_MS;
    this.maxProducers = options.maxProducers ?? DEFAULT_MAX_PRODUCERS_PER_PARTITION;
  }

  get producerCount(): number {
    return this.producers.size;
  }

  /** The producer's current epoch and remembered batches (tests, diagnostics). */
  describe(producerId: number): { epoch: number; batches: readonly ProducerBatch[] } | undefined {
    const entry = this.producers.get(producerId);
    return entry && { epoch: entry.epoch, batches: entry.batches };
  }

  /** Every tracked producer with its epoch, newest batch and last append time (DescribeProducers). */
  *active(): IterableIterator<{
    producerId: number;
    epoch: number;
    lastBatch: ProducerBatch | undefined;
    lastAppendMs: number;
  }> {
    for (const [producerId, e] of this.producers)
      yield { producerId, epoch: e.epoch, lastBatch: e.batches.at(-1), lastAppendMs: e.lastAppendMs };
  }

  /** Decides what to do with a batch from an idempotent producer (producerId ≥ 0). */
  check(batch: ProducerBatchHeader, nowMs: number): SequenceCheck {
    const { producerId, producerEpoch: epoch, baseSequence: firstSeq } = batch;
    const entry = this.live(producerId, nowMs);
    if (!entry) return APPEND;
    if (epoch < entry.epoch) {
      return {
        kind: 'error',
        errorCode: KafkaError.INVALID_PRODUCER_EPOCH,
        message: `producer ${producerId} sent epoch ${epoch}, older than its current epoch ${entry.epoch}: a newer instance of this producer has taken over`,
      };
    }
    if (epoch > entry.epoch) {
      if (firstSeq === 0) return APPEND;
      return {
        kind: 'error',
        errorCode: KafkaError.OUT_OF_ORDER_SEQUENCE_NUMBER,
        message: `producer ${producerId} started epoch ${epoch} at sequence ${firstSeq}; a new epoch must start at 0`,
      };
    }
    const lastSeq = lastSequence(firstSeq, batch.lastOffsetDelta);
    for (const known of entry.batches) {
      if (known.firstSeq === firstSeq && known.lastSeq === lastSeq)
        return { kind: 'duplicate', batch: known };
    }
    const currentLastSeq = entry.batches.at(-1)?.lastSeq;
    if (currentLastSeq === undefined || inSequence(currentLastSeq, firstSeq)) return APPEND;
    return {
      kind: 'error',
      errorCode: KafkaError.OUT_OF_ORDER_SEQUENCE_NUMBER,
      message: `producer ${producerId} epoch ${epoch} sent sequence ${firstSeq}, expected ${currentLastSeq === MAX_SEQUENCE ? 0 : currentLastSeq + 1}`,
    };
  }

  /** Records a batch appended at `baseOffset` (after check() said 'append'). */
  record(batch: ProducerBatchHeader, baseOffset: number, maxTimestampMs: number, nowMs: number): void {
    const { producerId, producerEpoch: epoch, baseSequence: firstSeq, lastOffsetDelta } = batch;
    let entry = this.producers.get(producerId);
    if (entry) this.producers.delete(producerId);
    if (!entry || entry.epoch !== epoch) entry = { epoch, batches: [], lastAppendMs: nowMs };
    entry.batches.push({
      firstSeq,
      lastSeq: lastSequence(firstSeq, lastOffsetDelta),
      baseOffset,
      lastOffset: baseOffset + lastOffsetDelta,
      maxTimestampMs,
    });
    if (entry.batches.length > PRODUCER_BATCHES_RETAINED) entry.batches.shift();
    entry.lastAppendMs = nowMs;
    this.producers.set(producerId, entry);
    this.evictOld(nowMs);
  }

  /**
   * Installs a producer's state found in the log at recovery: its epoch and newest batches (oldest
   * first), with `lastAppendMs` the newest batch's timestamp. Producers must be restored oldest
   * append first, so the least-recently-used order holds.
   */
  restore(producerId: number, epoch: number, batches: readonly ProducerBatch[], lastAppendMs: number): void {
    this.producers.delete(producerId);
    this.producers.set(producerId, {
      epoch,
      batches: batches.slice(-PRODUCER_BATCHES_RETAINED),
      lastAppendMs,
    });
  }

  /**
   * Forgets producers whose newest batch lies wholly below `logStartOffset` (DeleteRecords or
   * retention removed it), as Kafka does; their next batch is accepted with any sequence.
   */
  evictBefore(logStartOffset: number): void {
    for (const [id, entry] of this.producers) {
      if ((entry.batches.at(-1)?.lastOffset ?? -1) < logStartOffset) this.producers.delete(id);
    }
  }

  private live(producerId: number, nowMs: number): ProducerEntry | undefined {
    const entry = this.producers.get(producerId);
    if (entry && nowMs - entry.lastAppendMs >= this.expirationMs) {
      this.producers.delete(producerId);
      return undefined;
    }
    return entry;
  }

  /** Drops expired producers from the least recently used end, and any beyond maxProducers. */
  private evictOld(nowMs: number): void {
    for (const [id, entry] of this.producers) {
      if (this.producers.size <= this.maxProducers && nowMs - entry.lastAppendMs < this.expirationMs) return;
      this.producers.delete(id);
    }
  }
}
