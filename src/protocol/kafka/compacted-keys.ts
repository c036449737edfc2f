/**
 * Kafka's rule for compacted topics (LogValidator.validateKey): every record needs a key, since
 * compaction keeps the newest record per key. A keyless record is refused with INVALID_RECORD,
 * naming the record (KIP-467 record_errors: its index in the batch) and with Kafka's message.
 */
import { decodeRecords } from './record-decoder.js';

export interface KeylessRecord {
  /** Index of the record in its batch (Produce's record_errors batch_index). */
  readonly batchIndex: number;
  readonly message: string;
}

/** The records of `batch` that carry no key (an empty list when all are keyed). */
export function keylessRecords(batch: Buffer, topic: string, partition: number): KeylessRecord[] {
  const out: KeylessRecord[] = [];
  let i = 0;
  for (const record of decodeRecords(batch)) {
    if (record.key === null)
      out.push({
        batchIndex: i,
        message: `Compacted topic cannot accept message without key in topic partition ${topic}-${partition}.`,
      });
    i++;
  }
  return out;
}
