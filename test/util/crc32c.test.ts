import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import {
  crc32c,
  crc32cCombine,
  crc32cPortable,
  NATIVE_MIN_BYTES,
  nativeCrc32c,
} from '../../src/util/crc32c.js';

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

test("the native CRC-32C is installed here and gives the JavaScript one's results", () => {
  // Linux x64 (the CI machine) has a prebuilt binary: if it stopped loading, large records would
  // silently be checksummed ~7x slower.
  if (process.platform === 'linux' && process.arch === 'x64')
    assert.ok(nativeCrc32c, '@node-rs/crc32 loaded');
  const data = Buffer.alloc(3 * NATIVE_MIN_BYTES + 77);
  for (let i = 0; i < data.length; i++) data[i] = (i * 89 + 3) & 0xff;
  // Offsets inside a larger buffer (a pooled slice), lengths either side of the switch, chaining.
  const pooled = Buffer.concat([Buffer.alloc(13, 1), data]).subarray(13);
  for (const start of [0, 1, 5, 8]) {
    for (const length of [
      0,
      1,
      NATIVE_MIN_BYTES - 1,
      NATIVE_MIN_BYTES,
      NATIVE_MIN_BYTES + 9,
      2 * NATIVE_MIN_BYTES,
    ]) {
      const end = start + length;
      const expected = crc32cPortable(data, 0, start, end);
      assert.equal(crc32c(pooled, 0, start, end), expected, `${start}..${end}`);
      assert.equal(crc32c(pooled, 0xdeadbeef, start, end), crc32cPortable(data, 0xdeadbeef, start, end));
    }
  }
  const head = data.subarray(0, 700);
  const tail = data.subarray(700);
  assert.equal(crc32c(tail, crc32c(head)), crc32cPortable(data));
  assert.equal(crc32c(data), slowCrc(data));
});

test('PIER_CRC32C=js makes every call take the JavaScript implementation', () => {
  const script =
    "import('./src/util/crc32c.js').then((m) => console.log(m.nativeCrc32c === undefined, m.crc32c(Buffer.alloc(4096, 7))))";
  const cwd = new URL('../..', import.meta.url).pathname;
  const out = execFileSync(process.execPath, ['-e', script], {
    cwd,
    env: { ...process.env, PIER_CRC32C: 'js' },
    encoding: 'utf8',
  }).trim();
  assert.equal(out, `true ${crc32cPortable(Buffer.alloc(4096, 7))}`);
});
