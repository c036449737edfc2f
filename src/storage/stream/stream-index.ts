/**
 * A segment's sparse index, `<base offset>.idx`: one 20-byte entry for the first record and then
 * for the first record at least `intervalBytes` after the previous indexed one:
 *
 *   u32 LE offset low | u32 LE offset high | f64 LE newest timestamp before this record | u32 LE position
 *
 * One file serves both lookups: offsets grow along the file, and so does "newest timestamp
 * before this record", even when the clock stepped back. A reader binary-searches it, then scans
 * forward at most about `intervalBytes` of records. The index is derived data: recovery checks it
 * against the segment and rebuilds it from a scan when it does not fit.
 */
export const INDEX_ENTRY_BYTES = 20;
const TWO_POW_32 = 2 ** 32;

export class SegmentIndex {
  private buf: Buffer;
  private count = 0;

  constructor(initialEntries = 64) {
    this.buf = Buffer.alloc(initialEntries * INDEX_ENTRY_BYTES);
  }

  /** Loads entries from an index file's bytes; returns undefined if they are not a valid index. */
  static fromBytes(bytes: Buffer, baseOffset: number, segmentSizeBytes: number): SegmentIndex | undefined {
    if (bytes.length === 0 || bytes.length % INDEX_ENTRY_BYTES !== 0) return undefined;
    const index = new SegmentIndex(bytes.length / INDEX_ENTRY_BYTES);
    bytes.copy(index.buf);
    index.count = bytes.length / INDEX_ENTRY_BYTES;
    if (index.offsetAt(0) !== baseOffset || index.positionAt(0) !== 0) return undefined;
    for (let i = 1; i < index.count; i++) {
      if (
        index.offsetAt(i) <= index.offsetAt(i - 1) ||
        index.positionAt(i) <= index.positionAt(i - 1) ||
        index.timestampBeforeAt(i) < index.timestampBeforeAt(i - 1)
      )
        return undefined;
    }
    if (index.positionAt(index.count - 1) >= segmentSizeBytes) return undefined;
    return index;
  }

  get length(): number {
    return this.count;
  }

  offsetAt(i: number): number {
    const p = i * INDEX_ENTRY_BYTES;
    return this.buf.readUInt32LE(p) + this.buf.readUInt32LE(p + 4) * TWO_POW_32;
  }

  timestampBeforeAt(i: number): number {
    return this.buf.readDoubleLE(i * INDEX_ENTRY_BYTES + 8);
  }

  positionAt(i: number): number {
    return this.buf.readUInt32LE(i * INDEX_ENTRY_BYTES + 16);
  }

  /** Adds an entry; returns its 20 encoded bytes (for the index file). */
  add(offset: number, timestampBeforeMs: number, position: number): Buffer {
    if ((this.count + 1) * INDEX_ENTRY_BYTES > this.buf.length) {
      const grown = Buffer.alloc(this.buf.length * 2);
      this.buf.copy(grown);
      this.buf = grown;
    }
    const p = this.count * INDEX_ENTRY_BYTES;
    this.buf.writeUInt32LE(offset % TWO_POW_32, p);
    this.buf.writeUInt32LE(Math.floor(offset / TWO_POW_32), p + 4);
    this.buf.writeDoubleLE(timestampBeforeMs, p + 8);
    this.buf.writeUInt32LE(position, p + 16);
    this.count++;
    return this.buf.subarray(p, p + INDEX_ENTRY_BYTES);
  }

  /** Position to scan from for `offset`: that of the last entry at or before it (0 if none). */
  positionForOffset(offset: number): number {
    const i = this.lastIndexWhere((k) => this.offsetAt(k) <= offset);
    return i < 0 ? 0 : this.positionAt(i);
  }

  /**
   * Position to scan from for the first record with a timestamp at or after `timestampMs`: that of
   * the last entry all of whose predecessors are older (0 if none).
   */
  positionForTimestamp(timestampMs: number): number {
    const i = this.lastIndexWhere((k) => this.timestampBeforeAt(k) < timestampMs);
    return i < 0 ? 0 : this.positionAt(i);
  }

  /** Position of the first entry after byte `position`, or undefined (where a reader resumes past damage). */
  positionAfter(position: number): number | undefined {
    const i = this.lastIndexWhere((k) => this.positionAt(k) <= position) + 1;
    return i < this.count ? this.positionAt(i) : undefined;
  }

  /** The index's bytes (for rewriting the file after a rebuild). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.count * INDEX_ENTRY_BYTES);
  }

  /** Largest i with `test(i)` true, for a test that is true on a prefix of the entries; -1 if none. */
  private lastIndexWhere(test: (i: number) => boolean): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (test(mid)) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }
}
