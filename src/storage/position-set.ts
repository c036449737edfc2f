/**
 * A set of record positions in one segment (the acked ones), built for positions that mostly
 * arrive in ascending order: those go to a sorted Uint32Array (4 bytes each, outside the JS heap,
 * nothing for the garbage collector to trace or copy); the few that arrive below the largest so
 * far (acks out of order) go to a small Set.
 *
 * Why not a Set alone: a segment's acked Set grows to hundreds of thousands of entries and lives
 * until the segment is deleted, so its ever-larger hash tables were promoted to V8's old space at
 * the rate of acks: a third of what a persistent 16 B workload promoted, and the cause of its
 * full GCs.
 */
export class PositionSet {
  private sorted = new Uint32Array(64);
  private sortedCount = 0;
  private outOfOrder: Set<number> | undefined;

  get size(): number {
    return this.sortedCount + (this.outOfOrder?.size ?? 0);
  }

  /** Adds `position` (a byte offset below 2^32); returns false when it was already there. */
  add(position: number): boolean {
    const n = this.sortedCount;
    if (n === 0 || position > this.sorted[n - 1]!) {
      if (n === this.sorted.length) {
        const grown = new Uint32Array(n * 2);
        grown.set(this.sorted);
        this.sorted = grown;
      }
      this.sorted[n] = position;
      this.sortedCount = n + 1;
      return true;
    }
    if (this.inSorted(position)) return false;
    this.outOfOrder ??= new Set();
    const before = this.outOfOrder.size;
    this.outOfOrder.add(position);
    return this.outOfOrder.size !== before;
  }

  has(position: number): boolean {
    return this.inSorted(position) || (this.outOfOrder?.has(position) ?? false);
  }

  clear(): void {
    this.sorted = new Uint32Array(64);
    this.sortedCount = 0;
    this.outOfOrder = undefined;
  }

  private inSorted(position: number): boolean {
    const sorted = this.sorted;
    let low = 0;
    let high = this.sortedCount - 1;
    if (high < 0 || position > sorted[high]! || position < sorted[0]!) return false;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      const value = sorted[mid]!;
      if (value < position) low = mid + 1;
      else if (value > position) high = mid - 1;
      else return true;
    }
    return false;
  }
}
