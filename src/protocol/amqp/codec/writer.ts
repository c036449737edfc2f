const INITIAL_SIZE_BYTES = 256;

/**
 * Growable output buffer for the encoders that are not on the hot path. Encoding is synchronous
 * and small, so a doubling buffer beats a separate size-computing pass; `finish()` returns a view
 * (no copy), and small allocations come from Node's shared pool.
 */
export class Writer {
  buf: Buffer;
  offset = 0;

  constructor(sizeBytes = INITIAL_SIZE_BYTES) {
    this.buf = Buffer.allocUnsafe(sizeBytes);
  }

  ensure(n: number): void {
    if (this.offset + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.offset + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.offset);
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.offset++] = v;
  }
  u16(v: number): void {
    this.ensure(2);
    this.offset = this.buf.writeUInt16BE(v, this.offset);
  }
  u32(v: number): void {
    this.ensure(4);
    this.offset = this.buf.writeUInt32BE(v, this.offset);
  }
  u64(v: number | bigint): void {
    this.ensure(8);
    this.offset = this.buf.writeBigUInt64BE(BigInt(v), this.offset);
  }

  shortstr(s: string): void {
    const len = Buffer.byteLength(s);
    if (len > 255) throw new RangeError(`shortstr longer than 255 bytes: ${s.slice(0, 40)}...`);
    this.ensure(1 + len);
    this.buf[this.offset++] = len;
    this.offset += this.buf.write(s, this.offset, 'utf8');
  }

  longstr(s: string | Buffer): void {
    if (typeof s === 'string') {
      const len = Buffer.byteLength(s);
      this.ensure(4 + len);
      this.offset = this.buf.writeUInt32BE(len, this.offset);
      this.offset += this.buf.write(s, this.offset, 'utf8');
    } else {
      this.ensure(4 + s.length);
      this.offset = this.buf.writeUInt32BE(s.length, this.offset);
      this.offset += s.copy(this.buf, this.offset);
    }
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.offset);
  }
}
