/**
 * Transaction markers: the control batch Kafka appends to each partition of a transaction when it
 * ends (attributes: control + transactional; one record whose key is version 0 and the marker type,
 * 0 abort / 1 commit, and whose value is version 0 and the coordinator epoch). Readers take it as
 * the end of the producer's transaction in that partition; consumers never see it as a record.
 */
import type { TopicPartition } from '../../core/kafka/topic.js';
import { encodeRecordBatch } from './record-batch-encoder.js';

/** Pier's only transaction coordinator never moves, so its epoch is always 0. */
const COORDINATOR_EPOCH = 0;

export function encodeMarker(
  producerId: number,
  producerEpoch: number,
  commit: boolean,
  baseOffset: number,
  timestampMs: number,
): Buffer {
  const key = Buffer.alloc(4);
  key.writeInt16BE(0, 0);
  key.writeInt16BE(commit ? 1 : 0, 2);
  const value = Buffer.alloc(6);
  value.writeInt16BE(0, 0);
  value.writeInt32BE(COORDINATOR_EPOCH, 2);
  return encodeRecordBatch({
    records: [{ key, value, timestampMs }],
    baseOffset,
    producerId,
    producerEpoch,
    baseSequence: -1,
    transactional: true,
    control: true,
  });
}

/** Appends the marker at the partition's end; returns its offset. */
export function writeMarker(
  partition: TopicPartition,
  producerId: number,
  producerEpoch: number,
  commit: boolean,
  nowMs: number,
): number {
  const offset = partition.stream.nextOffset;
  const batch = encodeMarker(producerId, producerEpoch, commit, offset, nowMs);
  return partition.append(batch, 1, nowMs);
}
