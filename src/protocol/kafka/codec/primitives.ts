// Kafka's primitive wire types (https://kafka.apache.org/protocol#protocol_types), big-endian.
// int64 values are bigint everywhere, so offsets, producer ids and timestamps never lose precision;
// every narrower integer is a number. uuid values are lowercase 8-4-4-4-12 hex strings. bytes and
// records are Buffer slices that share memory with the input: no copy on the hot Produce path.
import { KafkaCodecError } from './errors.js';

const UUID_HEX = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** Reads primitives from buf[offset, end); never past end: short input throws KafkaCodecError. */
export class Reader {
  offset: number;
  readonly end: number;

  constructor(
    readonly buf: Buffer,
    offset = 0,
    end = buf.length,
  ) {
    this.offset = offset;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  /** Reserves n bytes and returns where they start. */
  private take(n: number, what: string): number {
    const at = this.offset;
    if (n > this.end - at) {
      throw new KafkaCodecError(`truncated ${what}: needs ${n} bytes at offset ${at}, ${this.end - at} left`);
    }
    this.offset = at + n;
    return at;
  }

  int8(): number {
    return this.buf.readInt8(this.take(1, 'int8'));
  }
  int16(): number {
    return this.buf.readInt16BE(this.take(2, 'int16'));
  }
  int32(): number {
    return this.buf.readInt32BE(this.take(4, 'int32'));
  }
  int64(): bigint {
    return this.buf.readBigInt64BE(this.take(8, 'int64'));
  }
  uint16(): number {
    return this.buf.readUInt16BE(this.take(2, 'uint16'));
  }
  uint32(): number {
    return this.buf.readUInt32BE(this.take(4, 'uint32'));
  }
  float64(): number {
    return this.buf.readDoubleBE(this.take(8, 'float64'));
  }
  bool(): boolean {
    return this.buf[this.take(1, 'boolean')] !== 0;
  }

  /** Unsigned LEB128 of at most 5 bytes, as Kafka's 32-bit unsigned varint. */
  uvarint(): number {
    let value = 0;
    for (let i = 0; i < 5; i++) {
      const byte = this.buf[this.take(1, 'varint')]!;
      value += (byte & 0x7f) * 2 ** (7 * i);
      if ((byte & 0x80) === 0) {
        if (value > 0xffffffff) throw new KafkaCodecError(`varint ${value} does not fit in 32 bits`);
        return value;
      }
    }
    throw new KafkaCodecError(`varint longer than 5 bytes at offset ${this.offset - 5}`);
  }

  /** Zigzag-encoded signed 32-bit varint. */
  varint(): number {
    const n = this.uvarint();
    return (n >>> 1) ^ -(n & 1);
  }

  /** Unsigned LEB128 of at most 10 bytes (64 bits). */
  uvarlong(): bigint {
    let value = 0n;
    for (let i = 0; i < 10; i++) {
      const byte = this.buf[this.take(1, 'varlong')]!;
      value |= BigInt(byte & 0x7f) << BigInt(7 * i);
      if ((byte & 0x80) === 0) {
        if (value > 0xffffffffffffffffn) throw new KafkaCodecError('varlong does not fit in 64 bits');
        return value;
      }
    }
    throw new KafkaCodecError(`varlong longer than 10 bytes at offset ${this.offset - 10}`);
  }

  /** Zigzag-encoded signed 64-bit varint. */
  varlong(): bigint {
    const n = this.uvarlong();
    return (n >> 1n) ^ -(n & 1n);
  }

  uuid(): string {
    const at = this.take(16, 'uuid');
    const hex = this.buf.toString('hex', at, at + 16);
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  /** A length of -1 means null; any other negative length is malformed. */
  private checkedLength(length: number, what: string): number | null {
    if (length === -1) return null;
    if (length < 0) throw new KafkaCodecError(`negative ${what} length ${length}`);
    if (length > this.remaining) {
      throw new KafkaCodecError(`${what} length ${length} exceeds the ${this.remaining} bytes left`);
    }
    return length;
  }

  private text(length: number | null): string | null {
    if (length === null) return null;
    // Kafka caps every string at 32767 bytes, compact ones included.
    if (length > 32767) throw new KafkaCodecError(`string of ${length} bytes exceeds 32767`);
    const at = this.take(length, 'string');
    return this.buf.toString('utf8', at, at + length);
  }

  private slice(length: number | null): Buffer | null {
    if (length === null) return null;
    const at = this.take(length, 'bytes');
    return this.buf.subarray(at, at + length);
  }

  nullableString(): string | null {
    return this.text(this.checkedLength(this.int16(), 'string'));
  }
  string(): string {
    return notNull(this.nullableString(), 'string');
  }
  compactNullableString(): string | null {
    return this.text(this.checkedLength(this.uvarint() - 1, 'compact string'));
  }
  compactString(): string {
    return notNull(this.compactNullableString(), 'compact string');
  }
  nullableBytes(): Buffer | null {
    return this.slice(this.checkedLength(this.int32(), 'bytes'));
  }
  bytes(): Buffer {
    return notNull(this.nullableBytes(), 'bytes');
  }
  compactNullableBytes(): Buffer | null {
    return this.slice(this.checkedLength(this.uvarint() - 1, 'compact bytes'));
  }
  compactBytes(): Buffer {
    return notNull(this.compactNullableBytes(), 'compact bytes');
  }

  /**
   * An array's element count (null for -1). Like Kafka, a count larger than the bytes left is
   * refused before anything is allocated: every element takes at least one byte.
   */
  arrayLength(): number | null {
    return this.checkedLength(this.int32(), 'array');
  }
  compactArrayLength(): number | null {
    return this.checkedLength(this.uvarint() - 1, 'compact array');
  }

  /**
   * A tagged-field section: calls onTag for each field with a reader bounded to its bytes, then
   * moves past it, so a handler that ignores a tag skips it. Like Kafka's parsers, tag order is not
   * checked (writers sort; readers accept any order, and a repeated tag's last value wins).
   */
  taggedFields(onTag: (tag: number, field: Reader) => void): void {
    const count = this.uvarint();
    for (let i = 0; i < count; i++) {
      const tag = this.uvarint();
      const size = this.uvarint();
      const at = this.take(size, `tagged field ${tag}`);
      onTag(tag, new Reader(this.buf, at, at + size));
    }
  }
}

function notNull<T>(value: T | null, what: string): T {
  if (value === null) throw new KafkaCodecError(`null ${what} where a value is required`);
  return value;
}

// Buffers at least this large are referenced by shareLarge() instead of copied (record batches).
const SHARE_MIN_BYTES = 1024;

/**
 * Appends primitives to a growing buffer. Large record batches can be referenced instead of copied
 * (shareLarge): the output is then a list of chunks, for socket.cork()/write or writev.
 */
export class Writer {
  private buf: Buffer;
  /** Write position in the current buffer. */
  private offset = 0;
  /** Completed chunks before the current buffer, and their total size. */
  private chunks: Buffer[] = [];
  private chunkedBytes = 0;

  constructor(initialSizeBytes = 256) {
    this.buf = Buffer.allocUnsafe(initialSizeBytes);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.chunkedBytes + this.offset;
  }

  private room(n: number): number {
    const at = this.offset;
    if (at + n > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, at + n));
      this.buf.copy(grown, 0, 0, at);
      this.buf = grown;
    }
    this.offset = at + n;
    return at;
  }

  private byte(value: number): void {
    const at = this.room(1);
    this.buf[at] = value;
  }

  /** The bytes written so far as one Buffer (a view when nothing was shared, else a copy). */
  finish(): Buffer {
    const tail = this.buf.subarray(0, this.offset);
    return this.chunks.length === 0 ? tail : Buffer.concat([...this.chunks, tail], this.length);
  }

  /** The bytes written so far as chunks, shared buffers included without copying. */
  finishChunks(): Buffer[] {
    const tail = this.buf.subarray(0, this.offset);
    return tail.length === 0 ? [...this.chunks] : [...this.chunks, tail];
  }

  /** Overwrites an int32 already written, e.g. a size prefix reserved at the start. */
  patchInt32(at: number, value: number): void {
    let start = 0;
    for (const chunk of [...this.chunks, this.buf]) {
      if (at < start + chunk.length) {
        if (at + 4 > start + chunk.length)
          throw new KafkaCodecError(`cannot patch across a shared buffer at ${at}`);
        chunk.writeInt32BE(value, at - start);
        return;
      }
      start += chunk.length;
    }
    throw new KafkaCodecError(`cannot patch at ${at}: only ${this.length} bytes written`);
  }

  /** Appends value by reference when it is large (it must not change until the output is sent). */
  shareLarge(value: Buffer): this {
    if (value.length < SHARE_MIN_BYTES) return this.raw(value);
    if (this.offset > 0) this.chunks.push(this.buf.subarray(0, this.offset));
    this.chunks.push(value);
    this.chunkedBytes += this.offset + value.length;
    this.buf = Buffer.allocUnsafe(256);
    this.offset = 0;
    return this;
  }

  int8(value: number): this {
    const v = checkInt(value, -128, 127, 'int8');
    const at = this.room(1);
    this.buf.writeInt8(v, at);
    return this;
  }
  int16(value: number): this {
    const v = checkInt(value, -32768, 32767, 'int16');
    const at = this.room(2);
    this.buf.writeInt16BE(v, at);
    return this;
  }
  int32(value: number): this {
    const v = checkInt(value, -2147483648, 2147483647, 'int32');
    const at = this.room(4);
    this.buf.writeInt32BE(v, at);
    return this;
  }
  int64(value: bigint): this {
    if (typeof value !== 'bigint' || value < -(2n ** 63n) || value >= 2n ** 63n) {
      throw new KafkaCodecError(`int64 must be a bigint in range, got ${String(value)}`);
    }
    const at = this.room(8);
    this.buf.writeBigInt64BE(value, at);
    return this;
  }
  uint16(value: number): this {
    const v = checkInt(value, 0, 0xffff, 'uint16');
    const at = this.room(2);
    this.buf.writeUInt16BE(v, at);
    return this;
  }
  uint32(value: number): this {
    const v = checkInt(value, 0, 0xffffffff, 'uint32');
    const at = this.room(4);
    this.buf.writeUInt32BE(v, at);
    return this;
  }
  float64(value: number): this {
    if (typeof value !== 'number') throw new KafkaCodecError(`float64 must be a number, got ${typeof value}`);
    const at = this.room(8);
    this.buf.writeDoubleBE(value, at);
    return this;
  }
  bool(value: boolean): this {
    if (typeof value !== 'boolean') throw new KafkaCodecError(`boolean expected, got ${typeof value}`);
    this.byte(value ? 1 : 0);
    return this;
  }

  uvarint(value: number): this {
    let v = checkInt(value, 0, 0xffffffff, 'unsigned varint');
    while (v >= 0x80) {
      this.byte((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    this.byte(v);
    return this;
  }
  varint(value: number): this {
    checkInt(value, -2147483648, 2147483647, 'varint');
    return this.uvarint(((value << 1) ^ (value >> 31)) >>> 0);
  }
  uvarlong(value: bigint): this {
    if (typeof value !== 'bigint' || value < 0n || value > 0xffffffffffffffffn) {
      throw new KafkaCodecError(`unsigned varlong out of range: ${String(value)}`);
    }
    let v = value;
    while (v >= 0x80n) {
      this.byte(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.byte(Number(v));
    return this;
  }
  varlong(value: bigint): this {
    if (typeof value !== 'bigint' || value < -(2n ** 63n) || value >= 2n ** 63n) {
      throw new KafkaCodecError(`varlong out of range: ${String(value)}`);
    }
    return this.uvarlong(BigInt.asUintN(64, (value << 1n) ^ (value >> 63n)));
  }

  uuid(value: string): this {
    if (typeof value !== 'string' || !UUID_HEX.test(value)) {
      throw new KafkaCodecError(`uuid must be 32 hex digits (hyphens optional), got ${String(value)}`);
    }
    const at = this.room(16);
    this.buf.write(value.replace(/-/g, ''), at, 16, 'hex');
    return this;
  }

  private text(value: string | null, compact: boolean, nullable: boolean): this {
    if (value === null) {
      if (!nullable) throw new KafkaCodecError('null string where a value is required');
      return compact ? this.uvarint(0) : this.int16(-1);
    }
    if (typeof value !== 'string') throw new KafkaCodecError(`string expected, got ${typeof value}`);
    const length = Buffer.byteLength(value, 'utf8');
    if (length > 32767) throw new KafkaCodecError(`string of ${length} bytes exceeds 32767`);
    if (compact) this.uvarint(length + 1);
    else this.int16(length);
    const at = this.room(length);
    this.buf.write(value, at, length, 'utf8');
    return this;
  }
  string(value: string): this {
    return this.text(value, false, false);
  }
  nullableString(value: string | null): this {
    return this.text(value, false, true);
  }
  compactString(value: string): this {
    return this.text(value, true, false);
  }
  compactNullableString(value: string | null): this {
    return this.text(value, true, true);
  }

  private blob(value: Buffer | null, compact: boolean, nullable: boolean, share = false): this {
    if (value === null) {
      if (!nullable) throw new KafkaCodecError('null bytes where a value is required');
      return compact ? this.uvarint(0) : this.int32(-1);
    }
    if (!Buffer.isBuffer(value)) throw new KafkaCodecError(`Buffer expected, got ${typeof value}`);
    if (compact) this.uvarint(value.length + 1);
    else this.int32(value.length);
    return share ? this.shareLarge(value) : this.raw(value);
  }
  /** A records field (nullable bytes): large record batches are shared, not copied. */
  records(value: Buffer | readonly Buffer[] | null, compact: boolean): this {
    if (!Array.isArray(value)) return this.blob(value as Buffer | null, compact, true, true);
    // A list of stored batches (Fetch): one length, then each batch shared, never concatenated.
    let length = 0;
    for (const batch of value) length += batch.length;
    if (compact) this.uvarint(length + 1);
    else this.int32(length);
    for (const batch of value) this.shareLarge(batch);
    return this;
  }
  bytes(value: Buffer): this {
    return this.blob(value, false, false);
  }
  nullableBytes(value: Buffer | null): this {
    return this.blob(value, false, true);
  }
  compactBytes(value: Buffer): this {
    return this.blob(value, true, false);
  }
  compactNullableBytes(value: Buffer | null): this {
    return this.blob(value, true, true);
  }

  /** Bytes with no length prefix. */
  raw(value: Buffer): this {
    const at = this.room(value.length);
    value.copy(this.buf, at);
    return this;
  }

  /** An array's element count; null writes -1 (or 0 when compact). */
  arrayLength(count: number | null, compact: boolean): this {
    if (count === null) return compact ? this.uvarint(0) : this.int32(-1);
    return compact ? this.uvarint(count + 1) : this.int32(count);
  }
}

function checkInt(value: number, min: number, max: number, what: string): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new KafkaCodecError(`${what} must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}
