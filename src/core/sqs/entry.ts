import { Deque } from '../deque.js';
import type { SqsMessage } from './message.js';

/** Where a message stands in its queue. */
export type SqsEntryState = 'delayed' | 'visible' | 'inflight';

/**
 * A queue's bookkeeping for one message: its index entry. The message's content (`message`) is in
 * memory while the queue's memory window has room or the queue has no store; otherwise it is
 * undefined and read back from the store when needed (receive, dead-lettering, peek).
 */
export interface SqsEntry {
  /** Position in the queue's send order; also the entry's name inside receipt handles. */
  readonly key: number;
  /** The whole message while in memory; undefined when paged out (the store has it). */
  message: SqsMessage | undefined;
  /** The store's handle for the stored copy (opaque to the core), undefined when not stored. */
  storageRef: unknown;
  /** SentTimestamp, epoch ms (retention). */
  readonly sentAtMs: number;
  /** The MessageGroupId (one string per group, shared by its entries), FIFO queues. */
  readonly groupId: string | undefined;
  /** What the content costs in the memory window while in memory. */
  readonly residentBytes: number;
  /** ApproximateReceiveCount. */
  receiveCount: number;
  /** ApproximateFirstReceiveTimestamp, epoch ms; 0 until the first receive. */
  firstReceivedAtMs: number;
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
 * A standard queue's visible messages. New messages queue in the order they became visible; a
 * message whose lease ended (visibility timeout passed, or changed to 0) goes back to its place in
 * send order, ahead of messages sent after it: AWS answers the next receive with the requeued
 * message even when a later one was sent while it was in flight (LocalStack's AWS-validated
 * test_inflight_message_requeue). Removal from the middle is lazy (the entry's mark changes, the
 * stale slot is skipped when it reaches the head): a Set would do it eagerly, but iterating a Set
 * from the front after many deletions walks their tombstones, which made every receive
 * O(queue length) on a long queue.
 */
export class VisibleLine {
  private readonly entries = new Deque<SqsEntry>();
  private readonly marks = new Deque<number>();
  /** Returned messages: a binary min-heap by send order (key), each slot with its mark. */
  private readonly returned: Array<{ entry: SqsEntry; mark: number }> = [];
  private nextMark = 1;

  push(entry: SqsEntry): void {
    entry.visibleMark = this.nextMark++;
    this.entries.push(entry);
    this.marks.push(entry.visibleMark);
  }

  /** A message back from flight: it is next in line before every message sent after it. */
  returnToPlace(entry: SqsEntry): void {
    entry.visibleMark = this.nextMark++;
    const heap = this.returned;
    heap.push({ entry, mark: entry.visibleMark });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.entry.key <= heap[i]!.entry.key) break;
      [heap[parent], heap[i]] = [heap[i]!, heap[parent]!];
      i = parent;
    }
  }

  /** Forgets the entry's slot (it was taken, deleted or expired). */
  static unlink(entry: SqsEntry): void {
    entry.visibleMark = 0;
  }

  /** The next visible entry, or undefined; stale slots on the way are dropped. */
  peek(): SqsEntry | undefined {
    const fresh = this.peekFresh();
    const back = this.peekReturned();
    if (back === undefined) return fresh;
    if (fresh === undefined) return back;
    return back.key < fresh.key ? back : fresh;
  }

  /** Takes the next visible entry off the line. */
  shift(): SqsEntry | undefined {
    const entry = this.peek();
    if (entry === undefined) return undefined;
    if (this.returned.length > 0 && this.returned[0]!.entry === entry) this.popReturned();
    else {
      this.entries.shift();
      this.marks.shift();
    }
    entry.visibleMark = 0;
    return entry;
  }

  clear(): void {
    this.entries.clear();
    this.marks.clear();
    this.returned.length = 0;
  }

  private peekFresh(): SqsEntry | undefined {
    for (;;) {
      const entry = this.entries.peek();
      if (entry === undefined) return undefined;
      if (entry.visibleMark === this.marks.peek() && entry.state === 'visible') return entry;
      this.entries.shift();
      this.marks.shift();
    }
  }

  private peekReturned(): SqsEntry | undefined {
    for (;;) {
      const top = this.returned[0];
      if (top === undefined) return undefined;
      if (top.entry.visibleMark === top.mark && top.entry.state === 'visible') return top.entry;
      this.popReturned();
    }
  }

  private popReturned(): void {
    const heap = this.returned;
    const last = heap.pop();
    if (last === undefined || heap.length === 0) return;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && heap[left]!.entry.key < heap[smallest]!.entry.key) smallest = left;
      if (right < heap.length && heap[right]!.entry.key < heap[smallest]!.entry.key) smallest = right;
      if (smallest === i) return;
      [heap[smallest], heap[i]] = [heap[i]!, heap[smallest]!];
      i = smallest;
    }
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
