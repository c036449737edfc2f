/**
 * A bounds-checked reader over one record batch's records: zigzag varints (Kafka's record fields)
 * and nullable byte slices, returned as views of the input (no copies). Every read past `end` or
 * malformed varint throws MalformedRecords, so callers never see a RangeError from Buffer.
 */

/** Thrown by RecordCursor reads; record-batch.ts turns it into a RecordBatchError. */
export class MalformedRecords extends Error {
  override readonly name = 'MalformedRecords';
}

export class RecordCursor {
  constructor(
    readonly buf: Buffer,
    public pos: number,
    public end: number,
  ) {}

  /** Zigzag varint of at most 5 bytes, as Kafka's ByteUtils.readVarint (a signed 32-bit value). */
  varint(): number {
    let raw = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.pos >= this.end) throw new MalformedRecords('record truncated inside a varint');
      const b = this.buf[this.pos++]!;
      raw |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) {
        if (shift === 28 && b > 0x0f) throw new MalformedRecords('varint overflows 32 bits');
        return (raw >>> 1) ^ -(raw & 1);
      }
    }
    throw new MalformedRecords('varint longer than 5 bytes');
  }

  /**
   * Zigzag varlong of at most 10 bytes. Returned as a number: exact up to 2^53, which covers every
   * timestamp delta a client sends (a larger one loses precision, it does not fail).
   */
  varlong(): number {
    let raw = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new MalformedRecords('record truncated inside a varlong');
      const b = this.buf[this.pos++]!;
      raw += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        if (i === 9 && b > 0x01) throw new MalformedRecords('varlong overflows 64 bits');
        // Zigzag: even raw → raw / 2, odd raw → -(raw + 1) / 2.
        return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
      }
      scale *= 128;
    }
    throw new MalformedRecords('varlong longer than 10 bytes');
  }

  int8(): number {
    if (this.pos >= this.end) throw new MalformedRecords('record truncated before its attributes');
    return this.buf.readInt8(this.pos++);
  }

  /** Varint length then bytes; length -1 is null. A view of the input buffer. */
  nullableBytes(what: string): Buffer | null {
    const length = this.varint();
    if (length === -1) return null;
    return this.bytesOfLength(length, what);
  }

  /** Varint length then bytes; null is refused (header keys). */
  bytes(what: string): Buffer {
    return this.bytesOfLength(this.varint(), what);
  }

  /** Advances past a nullable byte field without making a view (validation only). */
  skipNullableBytes(what: string): void {
    const length = this.varint();
    if (length !== -1) this.skip(length, what);
  }

  /** Advances past a non-nullable byte field (header keys). */
  skipBytes(what: string): void {
    this.skip(this.varint(), what);
  }

  private skip(length: number, what: string): void {
    if (length < 0) throw new MalformedRecords(`negative ${what} length ${length}`);
    if (length > this.end - this.pos) throw new MalformedRecords(`${what} runs past the record`);
    this.pos += length;
  }

  private bytesOfLength(length: number, what: string): Buffer {
    if (length < 0) throw new MalformedRecords(`negative ${what} length ${length}`);
    if (length > this.end - this.pos) throw new MalformedRecords(`${what} runs past the record`);
    const start = this.pos;
    this.pos += length;
    return this.buf.subarray(start, this.pos);
  }
}
