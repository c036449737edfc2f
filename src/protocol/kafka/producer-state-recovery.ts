/**
 * Rebuilds a partition's idempotent-producer state from its log after a restart, by reading the
 * headers of the stored batches (producerId @43, epoch @51, baseSequence @53, lastOffsetDelta @23).
 *
 * Bound: only the newest part of the log is read — windows of offsets taken backwards from the end,
 * each twice as wide as the last, until at least `scanBudgetBytes` (default 64 MiB) of batches were
 * read or the log start is reached. A producer whose newest batch is older than that is forgotten;
 * its next batch is then accepted with any sequence (Kafka's rule for unknown producers, KIP-360),
 * so only a retry of a batch that old could be written twice. Nothing is persisted besides the log.
 */
import type { TopicPartition } from '../../core/kafka/topic.js';
import {
  lastSequence,
  type PartitionProducerState,
  PRODUCER_BATCHES_RETAINED,
  type ProducerBatch,
} from './producer-state.js';
import { ATTR_CONTROL, BATCH_HEADER_BYTES, BatchOffset } from './record-batch.js';

export const DEFAULT_PRODUCER_SCAN_BUDGET_BYTES = 64 * 1024 * 1024;
const FIRST_WINDOW_OFFSETS = 4096;
const READ_ENTRIES = 1024;
const READ_BYTES = 1024 * 1024;

interface Found {
  epoch: number;
  /** Newest first while scanning backwards. */
  batches: ProducerBatch[];
  /** An older epoch was met: earlier batches belong to it and do not count. */
  complete: boolean;
}

/** Reads the partition's newest batches into `state` (which should be empty). */
export function recoverProducerState(
  partition: TopicPartition,
  state: PartitionProducerState,
  nowMs: number,
  scanBudgetBytes = DEFAULT_PRODUCER_SCAN_BUDGET_BYTES,
): void {
  const stream = partition.stream;
  const lower = Math.max(partition.logStartOffset, stream.firstOffset);
  const found = new Map<number, Found>();
  let end = stream.nextOffset;
  let width = FIRST_WINDOW_OFFSETS;
  let scannedBytes = 0;
  while (end > lower && scannedBytes < scanBudgetBytes) {
    const start = Math.max(lower, end - width);
    const windowBatches: ProducerBatchInLog[] = [];
    scannedBytes += readWindow(partition, start, end, windowBatches);
    for (let i = windowBatches.length - 1; i >= 0; i--) mergeOlder(found, windowBatches[i]!);
    end = start;
    width *= 2;
  }
  // Restore least recently appended first, so the state's eviction order matches the log. Expiry
  // counts from now: client timestamps in the batches may be far off the broker's clock.
  const byAge = [...found.entries()].sort(
    (a, b) => a[1].batches[0]!.lastOffset - b[1].batches[0]!.lastOffset,
  );
  for (const [producerId, f] of byAge) state.restore(producerId, f.epoch, f.batches.reverse(), nowMs);
}

interface ProducerBatchInLog extends ProducerBatch {
  readonly producerId: number;
  readonly epoch: number;
}

/** Appends the idempotent batches starting in [start, end) to `out`, in offset order; returns bytes read. */
function readWindow(
  partition: TopicPartition,
  start: number,
  end: number,
  out: ProducerBatchInLog[],
): number {
  let bytes = 0;
  let offset = start;
  while (offset < end) {
    const entries = partition.stream.readFrom(offset, READ_ENTRIES, READ_BYTES);
    if (entries.length === 0) break;
    for (const entry of entries) {
      if (entry.offset >= end) return bytes;
      offset = entry.offset + entry.offsetCount;
      if (entry.offset < start) continue; // belongs to the older window
      bytes += entry.payload.length;
      const batch = readProducerBatch(entry.payload, entry.timestampMs);
      if (batch) out.push(batch);
    }
  }
  return bytes;
}

function readProducerBatch(payload: Buffer, timestampMs: number): ProducerBatchInLog | undefined {
  if (payload.length < BATCH_HEADER_BYTES || payload[BatchOffset.magic] !== 2) return undefined;
  // Transaction markers carry the producer's id but no sequence.
  if (payload.readInt16BE(BatchOffset.attributes) & ATTR_CONTROL) return undefined;
  const producerId = Number(payload.readBigInt64BE(BatchOffset.producerId));
  if (producerId < 0) return undefined;
  const baseOffset = Number(payload.readBigInt64BE(BatchOffset.baseOffset));
  const delta = payload.readInt32BE(BatchOffset.lastOffsetDelta);
  const firstSeq = payload.readInt32BE(BatchOffset.baseSequence);
  return {
    producerId,
    epoch: payload.readInt16BE(BatchOffset.producerEpoch),
    firstSeq,
    lastSeq: lastSequence(firstSeq, delta),
    baseOffset,
    lastOffset: baseOffset + delta,
    maxTimestampMs: timestampMs,
  };
}

/** Adds a batch older than every batch merged so far. */
function mergeOlder(found: Map<number, Found>, batch: ProducerBatchInLog): void {
  const { producerId, epoch, ...meta } = batch;
  const f = found.get(producerId);
  if (!f) {
    found.set(producerId, { epoch, batches: [meta], complete: false });
    return;
  }
  if (f.complete) return;
  if (epoch !== f.epoch || f.batches.length >= PRODUCER_BATCHES_RETAINED) {
    f.complete = true;
    return;
  }
  f.batches.push(meta);
}
