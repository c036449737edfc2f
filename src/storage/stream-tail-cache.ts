import type { StreamEntry } from '../core/stream-store.js';

/**
 * The newest entries of a stream, kept in memory (their bodies are the Buffers they were published
 * with, not copies) so that consumers keeping up with the stream are served without reading the
 * disk. Bounded by entries and bytes; it always holds a suffix of the log.
 */
export class StreamTailCache {
  private entries: StreamEntry[] = [];
  private head = 0;
  private bytes = 0;

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
    this.entries.push(entry);
    this.bytes += entry.payload.length;
    while (this.entries.length - this.head > this.maxEntries || this.bytes > this.maxBytes) this.shift();
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
  }
}
