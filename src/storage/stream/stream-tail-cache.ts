import type { StreamEntry } from '../../core/stream/stream-store.js';

/**
 * The newest entries of a stream, kept in memory so that consumers keeping up with the stream are
 * served without reading the disk. Bounded by entries and bytes; it always holds a suffix of the log.
 *
 * An AMQP message entry keeps the Buffer it was published with. A raw entry (a Kafka batch) is
 * copied into memory the cache recycles: two halves of one buffer, filled in turn; starting a half
 * again first evicts the older entries still in it. The caller's bytes are not kept (the Kafka
 * listener reuses a produce request's memory), and no fresh memory is touched per batch, which on
 * this project's VMs costs about 3.4 ms per MiB in page faults.
 */
export class StreamTailCache {
  private entries: StreamEntry[] = [];
  private head = 0;
  private bytes = 0;
  /** The recycled memory for raw entries (allocated on the first one), and where each half's next copy goes. */
  private raw: Buffer | undefined;
  private rawHalf = 0;
  private rawPosition = 0;
  /** Which half each cached raw entry lives in. */
  private readonly rawHalfOf = new WeakMap<StreamEntry, number>();

  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
  ) {}

  /** First offset held, or undefined when empty. */
  get firstOffset(): number | undefined {
    return this.entries[this.head]?.offset;
  }

  push(entry: StreamEntry): void {
    if (this.maxEntries === 0 || entry.payload.length > this.maxBytes) {
      this.clear(); // it must stay a suffix: an entry that does not fit empties it
      return;
    }
    if (entry.message === undefined) {
      const copy = this.copyRaw(entry);
      if (!copy) {
        this.clear();
        return;
      }
      entry = copy;
    }
    this.entries.push(entry);
    this.bytes += entry.payload.length;
    while (this.entries.length - this.head > this.maxEntries || this.bytes > this.maxBytes) this.shift();
  }

  /** Copies a raw entry into the recycled halves; undefined when it is larger than a half. */
  private copyRaw(entry: StreamEntry): StreamEntry | undefined {
    const halfBytes = Math.floor(this.maxBytes / 2);
    const length = entry.payload.length;
    if (length > halfBytes) return undefined;
    this.raw ??= Buffer.allocUnsafeSlow(halfBytes * 2);
    if (this.rawPosition + length > halfBytes) {
      // Start the other half: every entry older than the current half's first goes, whatever it is.
      const next = 1 - this.rawHalf;
      while (this.head < this.entries.length && this.rawHalfOf.get(this.entries[this.head]!) !== this.rawHalf)
        this.shift();
      this.rawHalf = next;
      this.rawPosition = 0;
    }
    const start = this.rawHalf * halfBytes + this.rawPosition;
    entry.payload.copy(this.raw, start);
    this.rawPosition += length;
    const copy: StreamEntry = { ...entry, payload: this.raw.subarray(start, start + length), recycled: true };
    this.rawHalfOf.set(copy, this.rawHalf);
    return copy;
  }

  /** Drops entries that end at or before `offset` (retention removed them). */
  dropBefore(offset: number): void {
    for (;;) {
      const first = this.entries[this.head];
      if (!first || first.offset + first.offsetCount > offset) return;
      this.shift();
    }
  }

  private shift(): void {
    const entry = this.entries[this.head]!;
    this.bytes -= entry.payload.length;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }

  /** Appends to `out` entries from the one covering `offset`, within the limits; returns bytes added. */
  read(offset: number, out: StreamEntry[], maxEntries: number, maxBytes: number, bytesSoFar: number): number {
    const entries = this.entries;
    let lo = this.head;
    let hi = entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const e = entries[mid]!;
      if (e.offset + e.offsetCount <= offset) lo = mid + 1;
      else hi = mid;
    }
    let bytes = bytesSoFar;
    for (let i = lo; i < entries.length && out.length < maxEntries && bytes < maxBytes; i++) {
      out.push(entries[i]!);
      bytes += entries[i]!.payload.length;
    }
    return bytes;
  }

  clear(): void {
    this.entries = [];
    this.head = 0;
    this.bytes = 0;
    this.rawPosition = 0;
  }
}
