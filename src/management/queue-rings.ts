/**
 * Every queue's sample ring in one table (rates.ts): the queues are sampled together, so one ring
 * of timestamps serves them all, and each queue's values are a row of a block of 1,024 rows. A
 * ring per queue was two typed arrays per queue: the first sample after 10,000 queues were
 * declared allocated 20,000 off-heap buffers (77 MB) at once and held the event loop for over a
 * second (a CPU profile of `npm run bench -- management`); a block is one allocation for 1,024
 * queues. A block is an array per sample slot (all its rows' values of one sample together),
 * allocated when the slot is first written: a sample writes a few contiguous pages instead of
 * touching a page per queue, and the table's memory grows a slot at a time over the first
 * `capacity` samples instead of all at once (69 MB for 10,000 queues, a burst that still held
 * the loop ~450 ms with the garbage collection it set off). Rows of deleted queues are reused.
 */

/** Rows per block: the unit of allocation. */
const BLOCK_ROWS = 1024;

export class QueueRings {
  /** Block -> sample slot -> the block's rows' values (fields per row) in that slot. */
  private readonly blocks: Array<Array<Float64Array | undefined>> = [];
  /** Each row's first sample number (the sample that first saw its queue). */
  private firstSample = new Float64Array(BLOCK_ROWS);
  private readonly free: number[] = [];
  private rowCount = 0;
  /** Timestamps by sample number modulo capacity. */
  private readonly timestamps: Float64Array;
  /** Samples taken (started) so far: the number of the next. */
  private taken = 0;

  constructor(
    readonly fields: readonly string[],
    readonly capacity: number,
  ) {
    this.timestamps = new Float64Array(capacity);
  }

  /** Starts a sample: rows written with set() until the next begin() belong to it. */
  begin(timestamp: number): void {
    this.timestamps[this.taken % this.capacity] = timestamp;
    this.taken++;
  }

  /** A row for a queue first seen in the sample begun last. */
  allocate(): number {
    const row = this.free.pop() ?? this.rowCount++;
    if (row >= this.blocks.length * BLOCK_ROWS) this.blocks.push([]);
    if (row >= this.firstSample.length) {
      const grown = new Float64Array(this.firstSample.length * 2);
      grown.set(this.firstSample);
      this.firstSample = grown;
    }
    this.firstSample[row] = this.taken - 1;
    return row;
  }

  release(row: number): void {
    this.free.push(row);
  }

  /** A value of the row in the sample begun last. */
  set(row: number, field: number, value: number): void {
    this.newestValues(row)[(row % BLOCK_ROWS) * this.fields.length + field] = value;
  }

  /**
   * The row's values of the sample before, again in the sample begun last (the row must have been
   * written in that one: a queue seen by every sample since its first).
   */
  repeatLast(row: number): void {
    const fields = this.fields.length;
    const from = this.blocks[Math.floor(row / BLOCK_ROWS)]![(this.taken - 2) % this.capacity]!;
    const values = this.newestValues(row);
    const at = (row % BLOCK_ROWS) * fields;
    for (let f = 0; f < fields; f++) values[at + f] = from[at + f]!;
  }

  /** The row's block's values in the sample begun last (the slot allocated when first written). */
  private newestValues(row: number): Float64Array {
    const block = this.blocks[Math.floor(row / BLOCK_ROWS)]!;
    const slot = (this.taken - 1) % this.capacity;
    let values = block[slot];
    if (values === undefined) {
      values = new Float64Array(BLOCK_ROWS * this.fields.length);
      block[slot] = values;
    }
    return values;
  }

  /** A value of the row in the sample begun last (which must have written it). */
  last(row: number, field: number): number {
    return this.value(row, this.taken - 1, field);
  }

  /** Samples the row holds (at most capacity). */
  private lengthOf(row: number): number {
    return Math.min(this.capacity, this.taken - this.firstSample[row]!);
  }

  private value(row: number, sample: number, field: number): number {
    // Only samples the row was written in are read, so their slot exists.
    const values = this.blocks[Math.floor(row / BLOCK_ROWS)]![sample % this.capacity]!;
    return values[(row % BLOCK_ROWS) * this.fields.length + field]!;
  }

  /**
   * Whether every value of the row is the same in its last two samples (all its rates are 0);
   * false with fewer than two.
   */
  unchangedInLastSample(row: number): boolean {
    if (this.lengthOf(row) < 2) return false;
    for (let f = 0; f < this.fields.length; f++)
      if (this.value(row, this.taken - 1, f) !== this.value(row, this.taken - 2, f)) return false;
    return true;
  }

  /** Every value's rate between the row's last two samples into `into` (field order); zeros with fewer. */
  rates(row: number, into: Float64Array): void {
    const fields = this.fields.length;
    if (this.lengthOf(row) < 2) {
      into.fill(0, 0, fields);
      return;
    }
    const newer = this.taken - 1;
    const older = this.taken - 2;
    const seconds =
      (this.timestamps[newer % this.capacity]! - this.timestamps[older % this.capacity]!) / 1000;
    for (let f = 0; f < fields; f++) {
      const delta = this.value(row, newer, f) - this.value(row, older, f);
      into[f] = seconds > 0 ? delta / seconds : 0;
    }
  }

  /** The row as rates.ts reads a ring (for `*_details` of one queue). */
  ring(row: number): RowRing {
    return new RowRing(this, row);
  }

  /** [olderTimestamp, olderValue, newerTimestamp, newerValue] of a field; false with fewer than two. */
  lastTwo(row: number, name: string, into: Float64Array): boolean {
    const f = this.fields.indexOf(name);
    if (f < 0 || this.lengthOf(row) < 2) return false;
    const newer = this.taken - 1;
    const older = this.taken - 2;
    into[0] = this.timestamps[older % this.capacity]!;
    into[1] = this.value(row, older, f);
    into[2] = this.timestamps[newer % this.capacity]!;
    into[3] = this.value(row, newer, f);
    return true;
  }

  newestTimestamp(row: number): number {
    return this.lengthOf(row) === 0 ? Number.NaN : this.timestamps[(this.taken - 1) % this.capacity]!;
  }

  /** One value's samples, oldest first (empty for a name the table does not keep). */
  series(row: number, name: string): Array<{ timestamp: number; value: number }> {
    const f = this.fields.indexOf(name);
    const out: Array<{ timestamp: number; value: number }> = [];
    if (f < 0) return out;
    for (let sample = this.taken - this.lengthOf(row); sample < this.taken; sample++) {
      out.push({ timestamp: this.timestamps[sample % this.capacity]!, value: this.value(row, sample, f) });
    }
    return out;
  }
}

/** One row of the table with a ring's methods. */
export class RowRing {
  constructor(
    private readonly table: QueueRings,
    private readonly row: number,
  ) {}

  lastTwo(name: string, into: Float64Array): boolean {
    return this.table.lastTwo(this.row, name, into);
  }

  newestTimestamp(): number {
    return this.table.newestTimestamp(this.row);
  }

  series(name: string): Array<{ timestamp: number; value: number }> {
    return this.table.series(this.row, name);
  }
}
