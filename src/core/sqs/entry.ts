import { grownArray, grownCapacity } from '../../util/typed-arrays.js';
import type { SqsMessage } from './message.js';

/** Where a message stands in its queue. */
export type SqsEntryState = 'delayed' | 'visible' | 'inflight';

/** Entry states as the table stores them (FREE: the slot holds no message). */
export const FREE = 0;
export const DELAYED = 1;
export const VISIBLE = 2;
export const INFLIGHT = 3;
const STATE_NAMES: readonly SqsEntryState[] = ['delayed', 'delayed', 'visible', 'inflight'];

export function stateName(state: number): SqsEntryState {
  return STATE_NAMES[state]!;
}

/** No slot (end of a list, no storage ref, no group). */
export const NONE = -1;
const MIN_CAPACITY = 64;

/**
 * A queue's index: one slot per live message in parallel typed arrays (struct of arrays) instead
 * of a JS object and a Map entry per message. A deep standard queue costs 61 bytes per message
 * here (plus 8 in its VisibleLine) (RELIABILITY.md has the measured figures) and gives the garbage collector nothing to
 * trace per message; only the content of messages held in memory (the memory window) is an object.
 *
 * A slot is reused after its message leaves, so a message is named by its slot and its `key` (its
 * place in the queue's send order, never reused within a run): receipt handles carry both, and a
 * handle whose slot now holds another key is stale. Live slots form a doubly linked list in send
 * order (retention deletes from its head; peek and purge walk it).
 */
export class SqsEntryTable {
  capacity = 0;
  /** Position in send order; also names the message inside receipt handles. */
  key = new Float64Array(0);
  /** SentTimestamp, epoch ms (retention). */
  sentAtMs = new Float64Array(0);
  /** delayed or in flight: when the message becomes visible (epoch ms). */
  visibleAtMs = new Float64Array(0);
  /** When the current lease began (its receive), epoch ms: a lease may last at most 12 hours. */
  leasedAtMs = new Float64Array(0);
  /** ApproximateFirstReceiveTimestamp, epoch ms; 0 until the first receive. */
  firstReceivedAtMs = new Float64Array(0);
  /**
   * ApproximateReceiveCount; also the lease number: a receipt handle names one lease (the count at
   * its receive), and only the latest one works.
   */
  receiveCount = new Uint32Array(0);
  state = new Uint8Array(0);
  /** Standard queues: names the slot's current place in the visible line (VisibleLine). */
  mark = new Uint32Array(0);
  /** The store's handle for the stored copy (a number the store gave), NONE when not stored. */
  storageRef = new Int32Array(0);
  /** FIFO queues: the message group's number (FifoGroups); standard queues: none (empty). */
  group = new Int32Array(0);
  prev = new Int32Array(0);
  next = new Int32Array(0);
  /**
   * The whole message of the slots whose content is in memory (a durable queue's only while the
   * memory window has room): a Map, so a deep paged-out queue pays nothing per message for it.
   */
  readonly content = new Map<number, SqsMessage>();
  /** Oldest and newest live slots (send order). */
  head = NONE;
  tail = NONE;
  size = 0;
  /** Free slots, linked through `next`. */
  private freeHead = NONE;

  /** `fifo`: slots have a message group. */
  constructor(private readonly fifo: boolean) {}

  /** A slot for a new message with `key`, linked at the end of the send order. */
  alloc(key: number): number {
    if (this.freeHead === NONE) this.grow();
    const slot = this.freeHead;
    this.freeHead = this.next[slot]!;
    this.key[slot] = key;
    this.prev[slot] = this.tail;
    this.next[slot] = NONE;
    if (this.tail === NONE) this.head = slot;
    else this.next[this.tail] = slot;
    this.tail = slot;
    this.size++;
    return slot;
  }

  /** Gives the slot back (its message left the queue). */
  release(slot: number): void {
    const prev = this.prev[slot]!;
    const next = this.next[slot]!;
    if (prev === NONE) this.head = next;
    else this.next[prev] = next;
    if (next === NONE) this.tail = prev;
    else this.prev[next] = prev;
    this.state[slot] = FREE;
    this.content.delete(slot);
    this.key[slot] = -1;
    this.next[slot] = this.freeHead;
    this.freeHead = slot;
    this.size--;
  }

  /** Makes room for `count` slots in all (recovery knows how many messages come: no growth garbage). */
  reserve(count: number): void {
    if (count > this.capacity) this.grow(count);
  }

  /** Whether a handle's slot and key still name a live message. */
  holds(slot: number, key: number): boolean {
    return slot >= 0 && slot < this.capacity && this.state[slot] !== FREE && this.key[slot] === key;
  }

  /** Bytes of the index arrays (for the memory bound and tests). */
  get capacityBytes(): number {
    return this.capacity * (5 * 8 + 4 * (this.fifo ? 6 : 5) + 1);
  }

  private grow(minCapacity = 0): void {
    const old = this.capacity;
    const capacity = grownCapacity(old, minCapacity, MIN_CAPACITY);
    this.key = grownArray(this.key, capacity);
    this.sentAtMs = grownArray(this.sentAtMs, capacity);
    this.visibleAtMs = grownArray(this.visibleAtMs, capacity);
    this.leasedAtMs = grownArray(this.leasedAtMs, capacity);
    this.firstReceivedAtMs = grownArray(this.firstReceivedAtMs, capacity);
    this.receiveCount = grownArray(this.receiveCount, capacity);
    this.mark = grownArray(this.mark, capacity);
    this.storageRef = grownArray(this.storageRef, capacity);
    if (this.fifo) this.group = grownArray(this.group, capacity);
    this.prev = grownArray(this.prev, capacity);
    this.next = grownArray(this.next, capacity);
    this.state = grownArray(this.state, capacity);
    // New slots join the free list in increasing order.
    for (let slot = capacity - 1; slot >= old; slot--) {
      this.next[slot] = this.freeHead;
      this.key[slot] = -1;
      this.freeHead = slot;
    }
    this.capacity = capacity;
  }
}

/** A ring of (slot, mark) pairs in two typed arrays: O(1) push and shift, 8 bytes per item. */
class SlotRing {
  private slots = new Int32Array(16);
  private marks = new Uint32Array(16);
  private head = 0;
  length = 0;

  push(slot: number, mark: number): void {
    if (this.length === this.slots.length) this.grow();
    const i = (this.head + this.length) & (this.slots.length - 1);
    this.slots[i] = slot;
    this.marks[i] = mark;
    this.length++;
  }

  get headSlot(): number {
    return this.slots[this.head]!;
  }

  get headMark(): number {
    return this.marks[this.head]!;
  }

  shift(): void {
    this.head = (this.head + 1) & (this.slots.length - 1);
    this.length--;
    if (this.length === 0) this.head = 0;
    else if (this.slots.length > 1024 && this.length * 8 < this.slots.length) this.shrink();
  }

  clear(): void {
    this.slots = new Int32Array(16);
    this.marks = new Uint32Array(16);
    this.head = 0;
    this.length = 0;
  }

  private grow(): void {
    this.resize(this.slots.length * 2);
  }

  private shrink(): void {
    this.resize(this.slots.length / 4);
  }

  private resize(capacity: number): void {
    const slots = new Int32Array(capacity);
    const marks = new Uint32Array(capacity);
    const mask = this.slots.length - 1;
    for (let i = 0; i < this.length; i++) {
      slots[i] = this.slots[(this.head + i) & mask]!;
      marks[i] = this.marks[(this.head + i) & mask]!;
    }
    this.slots = slots;
    this.marks = marks;
    this.head = 0;
  }
}

/**
 * A standard queue's visible messages. New messages queue in the order they became visible; a
 * message whose lease ended (visibility timeout passed, or changed to 0) goes back to its place in
 * send order, ahead of messages sent after it: AWS answers the next receive with the requeued
 * message even when a later one was sent while it was in flight (LocalStack's AWS-validated
 * test_inflight_message_requeue). Removal from the middle is lazy: the slot's mark changes and the
 * stale item is skipped when it reaches the head (marks count per slot, so an item left behind by
 * a message whose slot was reused never matches the new message's mark).
 */
export class VisibleLine {
  private readonly fresh = new SlotRing();
  /** Returned messages: a binary min-heap by send order (key), each item with its slot's mark. */
  private heapKeys: number[] = [];
  private heapSlots: number[] = [];
  private heapMarks: number[] = [];

  constructor(private readonly table: SqsEntryTable) {}

  push(slot: number): void {
    this.fresh.push(slot, this.bumpMark(slot));
  }

  /** A message back from flight: it is next in line before every message sent after it. */
  returnToPlace(slot: number): void {
    const mark = this.bumpMark(slot);
    const keys = this.heapKeys;
    const slots = this.heapSlots;
    const marks = this.heapMarks;
    const key = this.table.key[slot]!;
    let i = keys.length;
    keys.push(key);
    slots.push(slot);
    marks.push(mark);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (keys[parent]! <= key) break;
      keys[i] = keys[parent]!;
      slots[i] = slots[parent]!;
      marks[i] = marks[parent]!;
      i = parent;
    }
    keys[i] = key;
    slots[i] = slot;
    marks[i] = mark;
  }

  /** Forgets the slot's place (it was taken, deleted or expired). */
  unlink(slot: number): void {
    this.bumpMark(slot);
  }

  /** The next visible slot, or NONE; stale items on the way are dropped. */
  peek(): number {
    const fresh = this.peekFresh();
    const back = this.peekReturned();
    if (back === NONE) return fresh;
    if (fresh === NONE) return back;
    return this.table.key[back]! < this.table.key[fresh]! ? back : fresh;
  }

  /** Takes the next visible slot off the line. */
  shift(): number {
    const slot = this.peek();
    if (slot === NONE) return NONE;
    if (
      this.heapSlots.length > 0 &&
      this.heapSlots[0] === slot &&
      this.heapMarks[0] === this.table.mark[slot]
    )
      this.popReturned();
    else this.fresh.shift();
    this.bumpMark(slot);
    return slot;
  }

  clear(): void {
    this.fresh.clear();
    this.heapKeys = [];
    this.heapSlots = [];
    this.heapMarks = [];
  }

  private bumpMark(slot: number): number {
    const mark = (this.table.mark[slot]! + 1) >>> 0;
    this.table.mark[slot] = mark;
    return mark;
  }

  private isCurrent(slot: number, mark: number): boolean {
    return this.table.mark[slot] === mark && this.table.state[slot] === VISIBLE;
  }

  private peekFresh(): number {
    const fresh = this.fresh;
    while (fresh.length > 0) {
      const slot = fresh.headSlot;
      if (this.isCurrent(slot, fresh.headMark)) return slot;
      fresh.shift();
    }
    return NONE;
  }

  private peekReturned(): number {
    while (this.heapSlots.length > 0) {
      const slot = this.heapSlots[0]!;
      if (this.isCurrent(slot, this.heapMarks[0]!)) return slot;
      this.popReturned();
    }
    return NONE;
  }

  private popReturned(): void {
    const keys = this.heapKeys;
    const slots = this.heapSlots;
    const marks = this.heapMarks;
    const lastKey = keys.pop()!;
    const lastSlot = slots.pop()!;
    const lastMark = marks.pop()!;
    const n = keys.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && keys[right]! < keys[left]! ? right : left;
      if (keys[child]! >= lastKey) break;
      keys[i] = keys[child]!;
      slots[i] = slots[child]!;
      marks[i] = marks[child]!;
      i = child;
    }
    keys[i] = lastKey;
    slots[i] = lastSlot;
    marks[i] = lastMark;
  }
}

/** The slots of a FIFO group that are not in flight, in send order, with O(1) removal at the head. */
export class EntryRun {
  private items: number[] = [];
  private head = 0;

  constructor(private readonly table: SqsEntryTable) {}

  get length(): number {
    return this.items.length - this.head;
  }

  /** The first slot, or NONE. */
  first(): number {
    return this.head < this.items.length ? this.items[this.head]! : NONE;
  }

  shift(): number {
    if (this.head >= this.items.length) return NONE;
    const slot = this.items[this.head++]!;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    } else if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    }
    return slot;
  }

  /** Inserts in key order (a new message goes at the end; a returning one near the front). */
  insert(slot: number): void {
    const index = this.indexFor(this.table.key[slot]!);
    if (index === this.items.length) this.items.push(slot);
    else if (index === this.head && this.head > 0) this.items[--this.head] = slot;
    else this.items.splice(index, 0, slot);
  }

  remove(slot: number): boolean {
    const index = this.indexFor(this.table.key[slot]!);
    if (this.items[index] !== slot) return false;
    if (index === this.head) this.shift();
    else this.items.splice(index, 1);
    return true;
  }

  /** First index whose key is ≥ `key` (binary search over the live part). */
  private indexFor(key: number): number {
    const keys = this.table.key;
    let low = this.head;
    let high = this.items.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (keys[this.items[mid]!]! < key) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}
