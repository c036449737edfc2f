import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AmqpCodecError,
  decodeTable,
  encodeTable,
  type FieldTable,
  MAX_TABLE_DEPTH,
  TypedValue,
} from '../../../src/protocol/amqp/codec/index.js';

/** Builds a table from raw entries: key, type letter, value bytes. */
function rawTable(...entries: [string, string, Buffer][]): Buffer {
  const body = Buffer.concat(
    entries.map(([k, t, v]) => Buffer.concat([Buffer.from([k.length]), Buffer.from(k), Buffer.from(t), v])),
  );
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}
const bytes = (...b: number[]): Buffer => Buffer.from(b);
const isSyntaxError = (err: unknown): boolean => err instanceof AmqpCodecError && err.replyCode === 502;

describe('AMQP field tables', () => {
  it('decodes every RabbitMQ field type', () => {
    const long = Buffer.alloc(8);
    long.writeBigInt64BE(-5n);
    const hugeLong = Buffer.alloc(8);
    hugeLong.writeBigInt64BE(2n ** 60n);
    const ts = Buffer.alloc(8);
    ts.writeBigUInt64BE(1_700_000_000n);
    const f = Buffer.alloc(4);
    f.writeFloatBE(1.5);
    const d = Buffer.alloc(8);
    d.writeDoubleBE(-2.25);
    const inner = rawTable(['n', 'I', bytes(0, 0, 0, 1)]);
    const arr = Buffer.concat([
      bytes(0, 0, 0, 8),
      Buffer.from('t'),
      bytes(1),
      Buffer.from('S'),
      bytes(0, 0, 0, 1, 0x7a),
    ]);
    const buf = rawTable(
      ['t', 't', bytes(1)],
      ['b', 'b', bytes(0xff)],
      ['B', 'B', bytes(0xff)],
      ['s', 's', bytes(0xff, 0xfe)],
      ['u', 'u', bytes(0xff, 0xfe)],
      ['I', 'I', bytes(0xff, 0xff, 0xff, 0xfe)],
      ['i', 'i', bytes(0xff, 0xff, 0xff, 0xfe)],
      ['l', 'l', long],
      ['L', 'l', hugeLong],
      ['f', 'f', f],
      ['d', 'd', d],
      ['D', 'D', bytes(2, 0, 0, 0x01, 0x2c)],
      ['S', 'S', bytes(0, 0, 0, 2, 0xc3, 0xa9)],
      ['x', 'x', bytes(0, 0, 0, 2, 1, 2)],
      ['T', 'T', ts],
      ['F', 'F', inner],
      ['A', 'A', arr],
      ['V', 'V', bytes()],
    );
    const { value, offset } = decodeTable(buf, 0);
    assert.equal(offset, buf.length);
    assert.deepEqual(value, {
      t: true,
      b: -1,
      B: 255,
      s: -2,
      u: 65534,
      I: -2,
      i: 4294967294,
      l: -5,
      L: 2n ** 60n,
      f: 1.5,
      d: -2.25,
      D: 3,
      S: 'é',
      x: bytes(1, 2),
      T: new Date(1_700_000_000_000),
      F: { n: 1 },
      A: [true, 'z'],
      V: null,
    });
  });

  it('round-trips inferred types', () => {
    const table: FieldTable = {
      str: 'hello ✓',
      yes: true,
      no: false,
      int: -123456,
      bigInt: 2 ** 40,
      double: 3.25,
      big: -(2n ** 62n),
      bin: bytes(0, 1, 2, 255),
      date: new Date(1_600_000_000_000),
      arr: [1, 'a', [null, { x: 'y' }]],
      nested: { deeper: { deepest: [] } },
      nil: null,
      __proto__: 'own property',
    };
    Object.defineProperty(table, '__proto__', { value: 'own property', enumerable: true });
    const decoded = decodeTable(encodeTable(table), 0).value;
    assert.deepEqual(decoded, table);
    assert.equal(Object.getPrototypeOf(decoded), Object.prototype);
  });

  it('infers I for int32, l beyond, d for fractions, V for undefined', () => {
    const typeOf = (v: FieldTable[string]): string => String.fromCharCode(encodeTable({ k: v })[6]);
    assert.equal(typeOf(2 ** 31 - 1), 'I');
    assert.equal(typeOf(-(2 ** 31)), 'I');
    assert.equal(typeOf(2 ** 31), 'l');
    assert.equal(typeOf(0.5), 'd');
    assert.equal(typeOf(2n), 'l');
    assert.equal(typeOf(undefined), 'V');
    assert.equal(typeOf(new Date(0)), 'T');
    assert.equal(typeOf(bytes()), 'x');
    assert.equal(typeOf('s'), 'S');
  });

  it('encodes forced types with TypedValue', () => {
    const cases: [TypedValue, number[]][] = [
      [new TypedValue('l', 5), [0x6c, 0, 0, 0, 0, 0, 0, 0, 5]],
      [new TypedValue('T', 7), [0x54, 0, 0, 0, 0, 0, 0, 0, 7]],
      [new TypedValue('b', -1), [0x62, 0xff]],
      [new TypedValue('B', 200), [0x42, 200]],
      [new TypedValue('s', -2), [0x73, 0xff, 0xfe]],
      [new TypedValue('u', 65535), [0x75, 0xff, 0xff]],
      [new TypedValue('i', 2 ** 32 - 1), [0x69, 0xff, 0xff, 0xff, 0xff]],
      [new TypedValue('f', 1), [0x66, 0x3f, 0x80, 0, 0]],
      [new TypedValue('t', true), [0x74, 1]],
      [new TypedValue('V', null), [0x56]],
      [new TypedValue('x', 'ab'), [0x78, 0, 0, 0, 2, 0x61, 0x62]],
    ];
    for (const [tv, expected] of cases)
      assert.deepEqual(encodeTable({ k: tv }).subarray(6), bytes(...expected));
  });

  it('throws 502 on truncation, unknown types and hostile nesting', () => {
    const good = encodeTable({ a: 'xyz', b: { c: [1, 2] } });
    for (let cut = 0; cut < good.length; cut++) {
      const truncated = Buffer.from(good.subarray(0, cut));
      assert.throws(() => decodeTable(truncated, 0), isSyntaxError, `cut at ${cut}`);
    }
    // A table whose declared length is honest but whose content lies about inner lengths.
    const lying = Buffer.from(good);
    lying.writeUInt32BE(0xffff, 8);
    assert.throws(() => decodeTable(lying, 0), isSyntaxError);
    assert.throws(() => decodeTable(rawTable(['k', 'Z', bytes()]), 0), isSyntaxError);
    let deep: FieldTable = {};
    for (let i = 0; i < MAX_TABLE_DEPTH + 5; i++) deep = { d: deep };
    assert.throws(() => encodeTable(deep), isSyntaxError);
    // Hand-built hostile nesting: 10,000 arrays, each holding the next.
    let nested = bytes(0, 0, 0, 0);
    for (let i = 0; i < 10_000; i++) {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(nested.length + 1);
      nested = Buffer.concat([len, Buffer.from('A'), nested]);
    }
    assert.throws(() => decodeTable(rawTable(['k', 'A', nested.subarray(5)]), 0), isSyntaxError);
  });
});
