/**
 * A map whose keys are added in ascending order (delivery tags, sequence numbers): a sorted ring
 * of entries, removed mostly from the front.
 *
 * Why not a Map: a Map that takes an entry and drops an older one tens of thousands of times a
 * second reallocates its hash table over and over. A table that lived long enough to be promoted
 * to V8's old space still points at the entries it held when it was replaced, so the young
 * garbage they reference (messages, bodies) survives every scavenge until the next full GC: at
 * 60k deliveries/s a third of all allocation was promoted that way, and scavenge pauses grew to
 * 5–10 ms. Here a removed entry's slot is cleared at once, the ring only grows to the largest
 * number of entries held, and lookups are binary searches over the keys in order.
 */
export class AscendingKeyMap<V> {
  private keys: number[] = new Array(16).fill(0);
  private slotValues: Array<V | undefined> = new Array(16);
  /** Index of the first slot in use (it always holds a live entry when count > 0). */
  private head = 0;
  /** Slots in use from head on, removed ones among them. */
  private span = 0;
  private live = 0;

  get size(): number {
    return this.live;
  }

  /** Adds an entry; `key` must be greater than every key added before it. */
  set(key: number, value: V): void {
    if (this.span > 0 && key <= this.keys[this.slot(this.span - 1)]!)
      throw new RangeError(`AscendingKeyMap: key ${key} is not above the last key`);
    if (this.span === this.keys.length) this.resize(this.live * 2 < this.span ? this.span : this.span * 2);
    const slot = this.slot(this.span);
    this.keys[slot] = key;
    this.slotValues[slot] = value;
    this.span++;
    this.live++;
  }

  get(key: number): V | undefined {
    const index = this.indexOf(key);
    return index < 0 ? undefined : this.slotValues[this.slot(index)];
  }

  has(key: number): boolean {
    return this.indexOf(key) >= 0;
  }

  /** Removes the entry of `key`; returns its value, or undefined when there is none. */
  delete(key: number): V | undefined {
    const index = this.indexOf(key);
    if (index < 0) return undefined;
    const slot = this.slot(index);
    const value = this.slotValues[slot];
    this.slotValues[slot] = undefined;
    this.live--;
    this.trimFront();
    // Removals far from the front leave holes; compact when they outnumber the entries.
    if (this.span > 64 && this.live * 2 < this.span) this.resize(this.keys.length);
    return value;
  }

  /** Removes every entry with a key up to and including `key`, oldest first, and returns their values. */
  deleteUpTo(key: number): V[] {
    const out: V[] = [];
    while (this.span > 0) {
      const slot = this.head;
      if (this.keys[slot]! > key) break;
      const value = this.slotValues[slot];
      if (value !== undefined) {
        out.push(value);
        this.slotValues[slot] = undefined;
        this.live--;
      }
      this.head = (this.head + 1) & (this.keys.length - 1);
      this.span--;
    }
    this.trimFront();
    return out;
  }

  /** The value with the smallest key. */
  first(): V | undefined {
    return this.span === 0 ? undefined : this.slotValues[this.head];
  }

  /** Values in key order. */
  *values(): IterableIterator<V> {
    for (let i = 0; i < this.span; i++) {
      const value = this.slotValues[this.slot(i)];
      if (value !== undefined) yield value;
    }
  }

  /** Removes every entry and returns their values in key order. */
  clear(): V[] {
    const out = [...this.values()];
    this.keys = new Array(16).fill(0);
    this.slotValues = new Array(16);
    this.head = 0;
    this.span = 0;
    this.live = 0;
    return out;
  }

  private slot(index: number): number {
    return (this.head + index) & (this.keys.length - 1);
  }

  /** Index (from head) of the live entry with `key`, or -1. */
  private indexOf(key: number): number {
    let low = 0;
    let high = this.span - 1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      const k = this.keys[this.slot(mid)]!;
      if (k < key) low = mid + 1;
      else if (k > key) high = mid - 1;
      else return this.slotValues[this.slot(mid)] === undefined ? -1 : mid;
    }
    return -1;
  }

  /** Drops removed entries at the front so head always holds a live one. */
  private trimFront(): void {
    while (this.span > 0 && this.slotValues[this.head] === undefined) {
      this.head = (this.head + 1) & (this.keys.length - 1);
      this.span--;
    }
    if (this.span === 0) this.head = 0;
  }

  /** Copies the live entries, in order, to the front of new arrays of `capacity` (a power of two). */
  private resize(capacity: number): void {
    const keys: number[] = new Array(capacity).fill(0);
    const values: Array<V | undefined> = new Array(capacity);
    let n = 0;
    for (let i = 0; i < this.span; i++) {
      const slot = this.slot(i);
      const value = this.slotValues[slot];
      if (value === undefined) continue;
      keys[n] = this.keys[slot]!;
      values[n] = value;
      n++;
    }
    this.keys = keys;
    this.slotValues = values;
    this.head = 0;
    this.span = n;
  }
}
