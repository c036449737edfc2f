import { Deque } from '../deque.js';
import type { SqsMessage } from './message.js';

/** Where a message stands in its queue. */
export type SqsEntryState = 'delayed' | 'visible' | 'inflight';

/** A queue's bookkeeping for one message. */
export interface SqsEntry {
  /** Position in the queue's send order; also the entry's name inside receipt handles. */
  readonly key: number;
  readonly message: SqsMessage;
  state: SqsEntryState;
  /** delayed or in flight: when the message becomes visible (epoch ms). */
  visibleAtMs: number;
  /** Counts receives: a receipt handle names one lease, and only the latest one works. */
  lease: number;
  /** When the current lease began (its receive), epoch ms: a lease may last at most 12 hours. */
  leasedAtMs: number;
  /** Standard queues: names the entry's current slot in the visible line (0 = none). */
  visibleMark: number;
}

/**
 * A standard queue's visible messages in the order they became visible. Removal from the middle is
 * lazy (the entry's mark changes, the stale slot is skipped when it reaches the head): a Set would
 * do it eagerly, but iterating a Set from the front after many deletions walks their tombstones,
 * which made every receive O(queue length) on a long queue.
 */
export class VisibleLine {
  private readonly entries = new Deque<SqsEntry>();
  private readonly marks = new Deque<number>();
  private nextMark = 1;

  push(entry: SqsEntry): void {
    entry.visibleMark = this.nextMark++;
    this.entries.push(entry);
    this.marks.push(entry.visibleMark);
  }

  /** Forgets the entry's slot (it was taken, deleted or expired). */
  static unlink(entry: SqsEntry): void {
    entry.visibleMark = 0;
  }

  /** The oldest visible entry, or undefined; stale slots on the way are dropped. */
  peek(): SqsEntry | undefined {
    for (;;) {
      const entry = this.entries.peek();
      if (entry === undefined) return undefined;
      if (entry.visibleMark === this.marks.peek() && entry.state === 'visible') return entry;
      this.entries.shift();
      this.marks.shift();
    }
  }

  /** Takes the oldest visible entry off the line. */
  shift(): SqsEntry | undefined {
    const entry = this.peek();
    if (entry === undefined) return undefined;
    this.entries.shift();
    this.marks.shift();
    entry.visibleMark = 0;
    return entry;
  }

  clear(): void {
    this.entries.clear();
    this.marks.clear();
  }
}

/** The entries of a FIFO group that are not in flight, in send order, with O(1) removal at the head. */
export class EntryRun {
  private items: SqsEntry[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  first(): SqsEntry | undefined {
    return this.items[this.head];
  }

  shift(): SqsEntry | undefined {
    const entry = this.items[this.head];
    if (entry === undefined) return undefined;
    this.items[this.head++] = undefined as unknown as SqsEntry;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return entry;
  }

  /** Inserts in key order (a new message goes at the end; a returning one near the front). */
  insert(entry: SqsEntry): void {
    const index = this.indexFor(entry.key);
    if (index === this.items.length) this.items.push(entry);
    else if (index === this.head && this.head > 0) this.items[--this.head] = entry;
    else this.items.splice(index, 0, entry);
  }

  remove(entry: SqsEntry): boolean {
    const index = this.indexFor(entry.key);
    if (this.items[index] !== entry) return false;
    if (index === this.head) this.shift();
    else this.items.splice(index, 1);
    return true;
  }

  *[Symbol.iterator](): IterableIterator<SqsEntry> {
    for (let i = this.head; i < this.items.length; i++) yield this.items[i]!;
  }

  /** First index whose key is ≥ `key` (binary search over the live part). */
  private indexFor(key: number): number {
    let low = this.head;
    let high = this.items.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.items[mid]!.key < key) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}
