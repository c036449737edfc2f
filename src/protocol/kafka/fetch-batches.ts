/**
 * The partition data Fetch returns: stored batches as they are, chosen by offset and size, never
 * re-encoded (the response's records field is these buffers written one after the other).
 */
import { batchLastOffset, type RecordBatchView } from './record-batch.js';

/** The slices of a validated records field, one per batch: what the log stores. */
export function batchSlices(records: Buffer, batches: readonly RecordBatchView[]): Buffer[] {
  return batches.map((b) => records.subarray(b.start, b.end));
}

export interface FetchSelection {
  readonly batches: Buffer[];
  readonly sizeBytes: number;
}

/**
 * From `stored` (whole batches in offset order), the batches from the one holding `fetchOffset` on,
 * up to `maxBytes`. As Kafka does since KIP-74, the first batch is returned even when it is larger
 * than maxBytes if `minOneBatch` (the first partition of a response with data), so a consumer is
 * never stuck behind a big batch; the client then skips the records before fetchOffset.
 */
export function selectFetchBatches(
  stored: readonly Buffer[],
  fetchOffset: number,
  maxBytes: number,
  minOneBatch = true,
): FetchSelection {
  // First batch whose last offset is at or after fetchOffset.
  let lo = 0;
  let hi = stored.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (batchLastOffset(stored[mid]!) < fetchOffset) lo = mid + 1;
    else hi = mid;
  }
  const batches: Buffer[] = [];
  let sizeBytes = 0;
  for (let i = lo; i < stored.length; i++) {
    const batch = stored[i]!;
    if (sizeBytes + batch.length > maxBytes && !(minOneBatch && batches.length === 0)) break;
    batches.push(batch);
    sizeBytes += batch.length;
  }
  return { batches, sizeBytes };
}
