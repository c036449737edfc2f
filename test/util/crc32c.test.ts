import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32c, crc32cCombine } from '../../src/util/crc32c.js';

/** Bit-at-a-time reference implementation. */
function slowCrc(buf: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of buf) {
    crc ^= b;
    for (let i = 0; i < 8; i++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

test('crc32c standard check value and RFC 3720 vectors', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.equal(crc32c(Buffer.alloc(0)), 0);
  assert.equal(crc32c(Buffer.alloc(32, 0)), 0x8a9136aa);
  assert.equal(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43);
  const inc = Buffer.alloc(32);
  for (let i = 0; i < 32; i++) inc[i] = i;
  assert.equal(crc32c(inc), 0x46dd794e);
  const dec = Buffer.alloc(32);
  for (let i = 0; i < 32; i++) dec[i] = 31 - i;
  assert.equal(crc32c(dec), 0x113fdb5c);
});

test('crc32c matches a bitwise reference for all lengths and offsets, and chains', () => {
  const data = Buffer.alloc(300);
  for (let i = 0; i < data.length; i++) data[i] = (i * 131 + 7) & 0xff;
  for (let start = 0; start < 9; start++) {
    for (let end = start; end <= 100; end++) {
      assert.equal(crc32c(data, 0, start, end), slowCrc(data.subarray(start, end)), `${start}..${end}`);
    }
  }
  const a = data.subarray(0, 123);
  const b = data.subarray(123);
  assert.equal(crc32c(b, crc32c(a)), crc32c(data));
  assert.ok(crc32c(data) >= 0, 'unsigned');
});

test('crc32cCombine gives the CRC of a concatenation from the CRCs of its parts', () => {
  const data = Buffer.alloc(70_000);
  for (let i = 0; i < data.length; i++) data[i] = (i * 197 + 11) & 0xff;
  for (const split of [0, 1, 7, 21, 1000, 65_536, 69_999, 70_000]) {
    const a = data.subarray(0, split);
    const b = data.subarray(split);
    assert.equal(crc32cCombine(crc32c(a), crc32c(b), b.length), crc32c(data), `split at ${split}`);
  }
});
