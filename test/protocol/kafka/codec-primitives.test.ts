import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KafkaCodecError } from '../../../src/protocol/kafka/codec/errors.js';
import { Reader, Writer } from '../../../src/protocol/kafka/codec/primitives.js';

const reader = (bytes: number[] | Buffer) => new Reader(Buffer.from(bytes));
const written = (fill: (w: Writer) => void): Buffer => {
  const w = new Writer(1);
  fill(w);
  return Buffer.from(w.finish());
};

test('fixed-width integers round-trip at their limits', () => {
  const bytes = written((w) =>
    w
      .int8(-128)
      .int8(127)
      .int16(-32768)
      .int16(32767)
      .int32(-2147483648)
      .int32(2147483647)
      .int64(-(2n ** 63n))
      .int64(2n ** 63n - 1n)
      .uint16(65535)
      .uint32(4294967295)
      .float64(-1.5)
      .bool(true)
      .bool(false),
  );
  assert.equal(bytes.length, 1 + 1 + 2 + 2 + 4 + 4 + 8 + 8 + 2 + 4 + 8 + 1 + 1);
  const r = new Reader(bytes);
  assert.deepEqual(
    [r.int8(), r.int8(), r.int16(), r.int16(), r.int32(), r.int32(), r.int64(), r.int64()],
    [-128, 127, -32768, 32767, -2147483648, 2147483647, -(2n ** 63n), 2n ** 63n - 1n],
  );
  assert.deepEqual(
    [r.uint16(), r.uint32(), r.float64(), r.bool(), r.bool()],
    [65535, 4294967295, -1.5, true, false],
  );
  assert.equal(r.remaining, 0);
});

test('out-of-range values are refused by the writer with a KafkaCodecError', () => {
  assert.throws(() => new Writer().int8(128), KafkaCodecError);
  assert.throws(() => new Writer().int16(1.5), KafkaCodecError);
  assert.throws(() => new Writer().int32(2 ** 31), KafkaCodecError);
  assert.throws(() => new Writer().int64(2n ** 63n), KafkaCodecError);
  assert.throws(() => new Writer().uint32(-1), KafkaCodecError);
  assert.throws(() => new Writer().uvarint(2 ** 32), KafkaCodecError);
  assert.throws(() => new Writer().uuid('not-a-uuid'), KafkaCodecError);
});

test('unsigned varints use 1 to 5 bytes, known encodings', () => {
  assert.deepEqual([...written((w) => w.uvarint(0))], [0]);
  assert.deepEqual([...written((w) => w.uvarint(127))], [0x7f]);
  assert.deepEqual([...written((w) => w.uvarint(128))], [0x80, 0x01]);
  assert.deepEqual([...written((w) => w.uvarint(300))], [0xac, 0x02]);
  assert.deepEqual([...written((w) => w.uvarint(0xffffffff))], [0xff, 0xff, 0xff, 0xff, 0x0f]);
  assert.equal(reader([0xff, 0xff, 0xff, 0xff, 0x0f]).uvarint(), 0xffffffff);
  // A sixth continuation byte, or a fifth byte carrying more than 32 bits, is malformed.
  assert.throws(() => reader([0xff, 0xff, 0xff, 0xff, 0xff, 0x01]).uvarint(), /longer than 5 bytes/);
  assert.throws(() => reader([0xff, 0xff, 0xff, 0xff, 0x1f]).uvarint(), /32 bits/);
  assert.throws(() => reader([0x80, 0x80]).uvarint(), KafkaCodecError);
});

test('zigzag varints map small negatives to small encodings and round-trip the int32 limits', () => {
  assert.deepEqual([...written((w) => w.varint(0))], [0]);
  assert.deepEqual([...written((w) => w.varint(-1))], [1]);
  assert.deepEqual([...written((w) => w.varint(1))], [2]);
  assert.deepEqual([...written((w) => w.varint(-64))], [0x7f]);
  assert.deepEqual([...written((w) => w.varint(64))], [0x80, 0x01]);
  for (const value of [0, -1, 1, -2147483648, 2147483647, 123456, -123456]) {
    assert.equal(new Reader(written((w) => w.varint(value))).varint(), value);
  }
  assert.deepEqual([...written((w) => w.varint(-2147483648))], [0xff, 0xff, 0xff, 0xff, 0x0f]);
});

test('zigzag varlongs round-trip the int64 limits in at most 10 bytes', () => {
  for (const value of [0n, -1n, 1n, -(2n ** 63n), 2n ** 63n - 1n, 1234567890123n, -1234567890123n]) {
    const bytes = written((w) => w.varlong(value));
    assert.ok(bytes.length <= 10);
    const r = new Reader(bytes);
    assert.equal(r.varlong(), value);
    assert.equal(r.remaining, 0);
  }
  assert.equal(written((w) => w.varlong(-(2n ** 63n))).length, 10);
  assert.throws(() => reader(Array(11).fill(0xff)).varlong(), /longer than 10 bytes/);
});

test('strings: null and empty are distinct, in classic and compact form', () => {
  assert.deepEqual([...written((w) => w.nullableString(null))], [0xff, 0xff]);
  assert.deepEqual([...written((w) => w.string(''))], [0, 0]);
  assert.deepEqual([...written((w) => w.compactNullableString(null))], [0]);
  assert.deepEqual([...written((w) => w.compactString(''))], [1]);
  assert.deepEqual([...written((w) => w.compactString('ab'))], [3, 0x61, 0x62]);
  assert.deepEqual([...written((w) => w.string('ab'))], [0, 2, 0x61, 0x62]);
  assert.equal(reader([0xff, 0xff]).nullableString(), null);
  assert.equal(reader([0, 0]).nullableString(), '');
  assert.equal(reader([0]).compactNullableString(), null);
  assert.equal(reader([1]).compactNullableString(), '');
  assert.equal(reader([0, 3, 0xe2, 0x9c, 0x93]).string(), '✓');
  assert.throws(() => reader([0xff, 0xff]).string(), /null string/);
  assert.throws(() => reader([0]).compactString(), /null compact string/);
  assert.throws(() => reader([0xff, 0xfe]).nullableString(), /negative string length/);
  assert.throws(() => new Writer().string(null as unknown as string), KafkaCodecError);
  assert.throws(() => new Writer().string('x'.repeat(32768)), /exceeds 32767/);
  assert.throws(() => new Writer().compactString('x'.repeat(32768)), /exceeds 32767/);
  const long = Buffer.concat([written((w) => w.uvarint(32769)), Buffer.alloc(32768, 0x78)]);
  assert.throws(() => new Reader(long).compactString(), /exceeds 32767/);
  assert.equal(new Reader(written((w) => w.compactString('x'.repeat(32767)))).compactString().length, 32767);
});

test('bytes: null vs empty, lengths beyond the input are refused without a RangeError', () => {
  assert.deepEqual([...written((w) => w.nullableBytes(null))], [0xff, 0xff, 0xff, 0xff]);
  assert.deepEqual([...written((w) => w.compactBytes(Buffer.from([9])))], [2, 9]);
  assert.equal(reader([0xff, 0xff, 0xff, 0xff]).nullableBytes(), null);
  assert.deepEqual(reader([0, 0, 0, 0]).bytes(), Buffer.alloc(0));
  assert.equal(reader([0]).compactNullableBytes(), null);
  assert.deepEqual(reader([1]).compactBytes(), Buffer.alloc(0));
  assert.throws(() => reader([0, 0, 0, 5, 1, 2]).bytes(), /bytes length 5 exceeds the 2 bytes left/);
  assert.throws(() => reader([0x7f, 0xff, 0xff, 0xff]).bytes(), KafkaCodecError);
  assert.throws(() => reader([0xff, 0xff, 0xff, 0xff, 0x0f]).compactBytes(), KafkaCodecError);
});

test('bytes are slices of the input, not copies', () => {
  const input = Buffer.from([0, 0, 0, 2, 7, 8]);
  const value = new Reader(input).bytes();
  input[4] = 99;
  assert.equal(value[0], 99);
});

test('uuids are 8-4-4-4-12 lowercase hex', () => {
  const id = '0123abcd-4567-89ef-0123-456789abcdef';
  const bytes = written((w) => w.uuid(id.toUpperCase()));
  assert.equal(bytes.toString('hex'), id.replace(/-/g, ''));
  assert.equal(new Reader(bytes).uuid(), id);
});

test('array lengths: null, empty, compact offsets, and counts larger than the input', () => {
  assert.deepEqual([...written((w) => w.arrayLength(null, false))], [0xff, 0xff, 0xff, 0xff]);
  assert.deepEqual([...written((w) => w.arrayLength(0, true))], [1]);
  assert.deepEqual([...written((w) => w.arrayLength(null, true))], [0]);
  assert.equal(reader([0xff, 0xff, 0xff, 0xff]).arrayLength(), null);
  assert.equal(reader([0, 0, 0, 0]).arrayLength(), 0);
  assert.equal(reader([0]).compactArrayLength(), null);
  assert.equal(reader([3, 0, 0]).compactArrayLength(), 2);
  assert.throws(() => reader([0x7f, 0xff, 0xff, 0xff]).arrayLength(), /array length 2147483647 exceeds/);
  assert.throws(() => reader([0xfe, 0xff, 0xff, 0xff]).arrayLength(), /negative array length/);
});

test('tagged fields: each handler gets a bounded reader, unknown tags are skipped', () => {
  const bytes = written((w) =>
    w.uvarint(2).uvarint(1).uvarint(2).int16(7).uvarint(5).uvarint(1).int8(1).int8(42),
  );
  const r = new Reader(bytes);
  const seen: number[] = [];
  r.taggedFields((tag, field) => {
    if (tag === 1) seen.push(field.int16());
  });
  assert.deepEqual(seen, [7]);
  assert.equal(r.int8(), 42);
  const order: number[] = [];
  reader([2, 5, 0, 1, 0]).taggedFields((tag) => order.push(tag));
  assert.deepEqual(order, [5, 1], 'any order is read, as Kafka does');
  assert.throws(() => reader([1, 0, 9, 1]).taggedFields(() => {}), /truncated tagged field 0/);
  // A handler cannot read past its field's bytes.
  assert.throws(() => reader([1, 0, 1, 5, 6, 6, 6]).taggedFields((_t, f) => f.int32()), KafkaCodecError);
});

test('every read on empty input throws KafkaCodecError, never RangeError', () => {
  const reads: Array<(r: Reader) => unknown> = [
    (r) => r.int8(),
    (r) => r.int16(),
    (r) => r.int32(),
    (r) => r.int64(),
    (r) => r.uint16(),
    (r) => r.uint32(),
    (r) => r.float64(),
    (r) => r.bool(),
    (r) => r.uvarint(),
    (r) => r.varint(),
    (r) => r.varlong(),
    (r) => r.uuid(),
    (r) => r.string(),
    (r) => r.compactString(),
    (r) => r.bytes(),
    (r) => r.compactBytes(),
    (r) => r.arrayLength(),
    (r) => r.compactArrayLength(),
    (r) => r.taggedFields(() => {}),
  ];
  for (const read of reads) {
    assert.throws(() => read(reader([])), KafkaCodecError);
    assert.throws(() => read(new Reader(Buffer.from([0, 0, 0, 0, 0]), 4, 4)), KafkaCodecError);
  }
});

test('large shared buffers become their own chunk; finish() and patchInt32 see through the chunks', () => {
  const big = Buffer.alloc(2048, 7);
  const w = new Writer(8)
    .int32(0)
    .shareLarge(big)
    .int16(5)
    .shareLarge(Buffer.from([1, 2]));
  assert.equal(w.length, 4 + 2048 + 2 + 2);
  w.patchInt32(0, w.length - 4);
  const chunks = w.finishChunks();
  assert.equal(chunks.length, 3);
  assert.equal(chunks[1], big, 'the shared buffer itself, not a copy');
  const whole = w.finish();
  assert.deepEqual(Buffer.concat(chunks), whole);
  assert.equal(whole.readInt32BE(0), 2052);
  assert.deepEqual([...whole.subarray(2052)], [0, 5, 1, 2]);
  assert.throws(() => w.patchInt32(2050, 1), /across a shared buffer/);
  assert.throws(() => w.patchInt32(9999, 1), /only 2056 bytes written/);
});
