/**
 * One partition's transactions as readers need them: the first offset of each producer's open
 * transaction here (the last stable offset is the lowest of them, or the high watermark) and the
 * aborted transactions' ranges, which a read_committed Fetch lists so clients drop those batches.
 */
import type { AbortedRange } from './transaction-log.js';

export class PartitionTransactions {
  /** producer id → first offset of its open transaction in this partition. */
  private readonly open = new Map<number, number>();
  /** In marker order, so lastOffset ascends. */
  private readonly aborted: AbortedRange[] = [];

  constructor(aborted: readonly AbortedRange[] = []) {
    this.aborted.push(...aborted);
  }

  /** Kafka's LSO: below the first offset of every open transaction and never past `highWatermark`. */
  lastStableOffset(highWatermark: number): number {
    let lso = highWatermark;
    for (const first of this.open.values()) if (first < lso) lso = first;
    return lso;
  }

  /** The first offset of the producer's open transaction here, if any. */
  openFirstOffset(producerId: number): number | undefined {
    return this.open.get(producerId);
  }

  /** A transactional batch was appended at `offset`; the first one opens the transaction here. */
  appended(producerId: number, offset: number): void {
    if (!this.open.has(producerId)) this.open.set(producerId, offset);
  }

  /** Holds the LSO at `firstOffset` until the producer's marker is durable (recovery). */
  hold(producerId: number, firstOffset: number): void {
    const current = this.open.get(producerId);
    if (current === undefined || firstOffset < current) this.open.set(producerId, firstOffset);
  }

  /** The producer's marker is durable: its transaction no longer holds the LSO. */
  completed(producerId: number, aborted: AbortedRange | undefined): void {
    this.open.delete(producerId);
    if (aborted) this.aborted.push(aborted);
  }

  get openProducers(): ReadonlyMap<number, number> {
    return this.open;
  }

  /**
   * Aborted transactions overlapping [fromOffset, toOffset): those a reader of these offsets must
   * filter (Kafka: lastOffset ≥ fetch offset and firstOffset < the end of what is returned).
   */
  abortedBetween(fromOffset: number, toOffset: number): AbortedRange[] {
    let lo = 0;
    let hi = this.aborted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.aborted[mid]!.lastOffset < fromOffset) lo = mid + 1;
      else hi = mid;
    }
    const found: AbortedRange[] = [];
    for (let i = lo; i < this.aborted.length; i++) {
      const range = this.aborted[i]!;
      if (range.firstOffset < toOffset) found.push(range);
    }
    return found;
  }
}
