/**
 * A binary min-heap of (dueAtMs, ref) pairs kept in two Float64Arrays: 16 bytes per entry and no
 * object per entry, so a million pending delayed messages cost about 16 MiB (32 MiB just after a
 * growth) and nothing for the garbage collector to trace. Ordered by due time, then by ref: refs
 * grow with append order, so messages due at the same millisecond come out in publish order.
 * push and pop are O(log n).
 */
const MIN_CAPACITY = 1024;

export class DelayHeap {
  private due = new Float64Array(MIN_CAPACITY);
  private refs = new Float64Array(MIN_CAPACITY);
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Bytes held by the heap's arrays (for metrics and the memory bound). */
  get capacityBytes(): number {
    return this.due.byteLength + this.refs.byteLength;
  }

  /** Due time of the earliest entry; Infinity when empty. */
  get minDueMs(): number {
    return this.count === 0 ? Number.POSITIVE_INFINITY : this.due[0]!;
  }

  get minRef(): number {
    return this.count === 0 ? Number.NaN : this.refs[0]!;
  }

  push(dueAtMs: number, ref: number): void {
    if (this.count === this.due.length) this.resize(this.due.length * 2);
    const due = this.due;
    const refs = this.refs;
    let i = this.count++;
    while (i > 0) {
      const parent = (i - 1) >>> 1;
      const pd = due[parent]!;
      if (pd < dueAtMs || (pd === dueAtMs && refs[parent]! <= ref)) break;
      due[i] = pd;
      refs[i] = refs[parent]!;
      i = parent;
    }
    due[i] = dueAtMs;
    refs[i] = ref;
  }

  /** Removes the earliest entry (read it first with minDueMs / minRef). */
  pop(): void {
    const n = --this.count;
    if (n <= 0) {
      this.count = Math.max(0, n);
      return;
    }
    const due = this.due;
    const refs = this.refs;
    const lastDue = due[n]!;
    const lastRef = refs[n]!;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = child + 1;
      if (
        right < n &&
        (due[right]! < due[child]! || (due[right] === due[child] && refs[right]! < refs[child]!))
      )
        child = right;
      const cd = due[child]!;
      if (lastDue < cd || (lastDue === cd && lastRef <= refs[child]!)) break;
      due[i] = cd;
      refs[i] = refs[child]!;
      i = child;
    }
    due[i] = lastDue;
    refs[i] = lastRef;
    // Give memory back once the heap has drained to a quarter of its capacity.
    if (this.due.length > MIN_CAPACITY && n < this.due.length >>> 2) this.resize(this.due.length >>> 1);
  }

  clear(): void {
    this.count = 0;
    this.resize(MIN_CAPACITY);
  }

  private resize(capacity: number): void {
    const due = new Float64Array(capacity);
    const refs = new Float64Array(capacity);
    due.set(this.due.subarray(0, this.count));
    refs.set(this.refs.subarray(0, this.count));
    this.due = due;
    this.refs = refs;
  }
}
