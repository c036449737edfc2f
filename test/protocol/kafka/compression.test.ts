// Kafka's four codecs as the broker reads them (compression.ts), the zstd frames it writes,, and record decoding of compressed
// batches: gzip, raw and xerial-framed snappy, lz4 frames, zstd (a fixture made by the zstd CLI);
// output bounds and damaged payloads.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { compress as lz4Compress } from 'lz4js';
import { compress as snappyCompress } from 'snappyjs';
import {
  CompressionCodec,
  CompressionError,
  compressRecords,
  decompressRecords,
} from '../../../src/protocol/kafka/compression.js';
import { encodeRecordBatch, encodeRecordsSection } from '../../../src/protocol/kafka/record-batch-encoder.js';
import { MalformedRecords } from '../../../src/protocol/kafka/record-cursor.js';
import { decodeRecords } from '../../../src/protocol/kafka/record-decoder.js';
import { rawBlockFrame } from '../../../src/protocol/kafka/zstd-frame.js';

const hasZstdCli = spawnSync('zstd', ['--version'], { stdio: 'ignore' }).status === 0;

const records = [
  { key: 'k0', value: 'first', timestampMs: 11000, headers: [{ key: 'h', value: 'v' }] },
  { key: 'k1', value: 'second', timestampMs: 12000 },
];
const section = encodeRecordsSection([
  { value: 'r0', timestampMs: 11000 },
  { value: 'r1', timestampMs: 12000 },
]);
/** `section` compressed by the zstd CLI (node:zlib has no zstd before Node 22.15). */
const ZSTD_SECTION = Buffer.from('KLUv/QRYmQAAEAAAAAEEcjAAEgDQDwIBBHIxAC2HOj0=', 'base64');

/** xerial's snappy framing, as the Java client writes it: header, then length-prefixed blocks. */
function xerial(data: Buffer, blockBytes: number): Buffer {
  const parts = [Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1])];
  for (let p = 0; p < data.length; p += blockBytes) {
    const block = Buffer.from(snappyCompress(data.subarray(p, p + blockBytes)));
    const length = Buffer.alloc(4);
    length.writeInt32BE(block.length);
    parts.push(length, block);
  }
  return Buffer.concat(parts);
}

describe('decompressRecords', () => {
  it('reads every codec Kafka clients write', () => {
    assert.deepEqual(decompressRecords(CompressionCodec.gzip, gzipSync(section)), section);
    assert.deepEqual(
      decompressRecords(CompressionCodec.snappy, Buffer.from(snappyCompress(section))),
      section,
    );
    assert.deepEqual(decompressRecords(CompressionCodec.snappy, xerial(section, 7)), section);
    assert.deepEqual(decompressRecords(CompressionCodec.lz4, Buffer.from(lz4Compress(section))), section);
    assert.deepEqual(decompressRecords(CompressionCodec.zstd, ZSTD_SECTION), section);
  });

  it('refuses damaged payloads, unknown codecs and output over the bound', () => {
    for (const codec of [1, 2, 3, 4]) {
      assert.throws(() => decompressRecords(codec, Buffer.from('not compressed at all')), CompressionError);
    }
    assert.throws(() => decompressRecords(5, section), CompressionError);
    const big = Buffer.alloc(100_000, 7);
    assert.throws(() => decompressRecords(CompressionCodec.gzip, gzipSync(big), 1000), CompressionError);
    assert.throws(
      () => decompressRecords(CompressionCodec.snappy, Buffer.from(snappyCompress(big)), 1000),
      CompressionError,
    );
  });
});

describe('decodeRecords on compressed batches', () => {
  const sectionOf = encodeRecordsSection(records);
  const compressors = {
    gzip: (b: Buffer) => gzipSync(b),
    snappy: (b: Buffer) => xerial(b, 16),
    lz4: (b: Buffer) => Buffer.from(lz4Compress(b)),
  } as const;
  for (const [codec, compress] of Object.entries(compressors)) {
    it(`yields the records of a ${codec} batch with offsets, timestamps, keys and headers`, () => {
      const batch = encodeRecordBatch({
        baseOffset: 40,
        records,
        compression: codec as keyof typeof compressors,
        encodedRecords: compress(sectionOf),
      });
      const decoded = [...decodeRecords(batch)];
      assert.deepEqual(
        decoded.map((r) => [r.offset, r.timestampMs, r.key?.toString(), r.value?.toString()]),
        [
          [40, 11000, 'k0', 'first'],
          [41, 12000, 'k1', 'second'],
        ],
      );
      assert.equal(decoded[0]!.headers[0]!.value?.toString(), 'v');
    });
  }

  it('reports a batch whose payload does not decompress as malformed', () => {
    const batch = encodeRecordBatch({ records, compression: 'lz4', encodedRecords: Buffer.from('opaque') });
    assert.throws(() => [...decodeRecords(batch)], MalformedRecords);
  });
});

test('zstd frames Pier writes (stored blocks on Node 20, node:zlib where it has zstd) read back byte-exact', () => {
  for (const size of [0, 1, 1000, 128 * 1024, 128 * 1024 + 1, 300_000]) {
    const data = Buffer.alloc(size);
    for (let i = 0; i < size; i++) data[i] = (i * 7919) % 251;
    for (const frame of [rawBlockFrame(data), compressRecords(CompressionCodec.zstd, data)]) {
      assert.deepEqual(decompressRecords(CompressionCodec.zstd, frame), data, `${size} bytes`);
    }
  }
});

test('the zstd CLI reads a stored-block frame Pier wrote', {
  skip: hasZstdCli ? false : 'no zstd CLI',
}, () => {
  const data = Buffer.from('a record section '.repeat(20_000));
  const out = spawnSync('zstd', ['-d', '-c', '-q'], { input: rawBlockFrame(data) });
  assert.equal(out.status, 0, out.stderr.toString());
  assert.deepEqual(out.stdout, data);
});
