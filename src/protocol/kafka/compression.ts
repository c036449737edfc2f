/**
 * Kafka's record-batch compression codecs, for the broker's own reads of stored batches (timestamp
 * lookups, peeks): attribute bits 0-2 of a v2 batch name the codec of the records section.
 * - gzip: node:zlib.
 * - snappy: the Java client writes xerial's framing (magic "\x82SNAPPY\0", version, then
 *   length-prefixed raw Snappy blocks); librdkafka writes raw Snappy by default and reads both.
 *   Both are read here, the blocks with snappyjs.
 * - lz4: the LZ4 frame format (KIP-57 fixed the old header checksum), read with lz4js.
 * - zstd: a zstd frame, read with fzstd (node:zlib gains zstd only in Node 22.15).
 * The three packages are small, dependency-free, pure JavaScript: no native build at install.
 * Output is bounded (maxBytes) so a hostile batch cannot make the broker allocate without limit.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { decompress as zstdDecompress } from 'fzstd';
import { decompressBound as lz4Bound, compress as lz4Compress, decompress as lz4Decompress } from 'lz4js';
import { compress as snappyCompress, uncompress as snappyUncompress } from 'snappyjs';
import { zstdFrame } from './zstd-frame.js';

export const CompressionCodec = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;

/** Default bound on one batch's decompressed records: Kafka's default max.message.bytes is 1 MiB. */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 256 * 1024 * 1024;

export class CompressionError extends Error {}

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
/** Magic, then version and minimum compatible version (int32 each). */
const XERIAL_HEADER_BYTES = 16;

/** The records section of a batch compressed with `codec`, decompressed. */
export function decompressRecords(
  codec: number,
  data: Buffer,
  maxBytes = DEFAULT_MAX_DECOMPRESSED_BYTES,
): Buffer {
  try {
    switch (codec) {
      case CompressionCodec.none:
        return data;
      case CompressionCodec.gzip:
        return gunzipSync(data, { maxOutputLength: maxBytes });
      case CompressionCodec.snappy:
        return snappy(data, maxBytes);
      case CompressionCodec.lz4: {
        const bound = lz4Bound(data);
        if (bound > maxBytes) throw new CompressionError(`lz4 frame may decompress to ${bound} bytes`);
        return toBuffer(lz4Decompress(data, bound));
      }
      case CompressionCodec.zstd: {
        const out = toBuffer(zstdDecompress(data));
        if (out.length > maxBytes)
          throw new CompressionError(`zstd frame decompressed to ${out.length} bytes`);
        return out;
      }
      default:
        throw new CompressionError(`unknown compression codec ${codec}`);
    }
  } catch (error) {
    if (error instanceof CompressionError) throw error;
    throw new CompressionError(`cannot decompress a codec ${codec} batch: ${(error as Error).message}`);
  }
}

/**
 * A records section compressed with `codec`, for topics whose compression.type differs from the
 * producer's. Snappy is written raw (as librdkafka writes it; Kafka's readers take raw and xerial),
 * lz4 as an LZ4 frame, zstd as a zstd frame (compressed by node:zlib where it can, stored
 * blocks on older Node.js: see zstd-frame.ts).
 */
export function compressRecords(codec: number, data: Buffer): Buffer {
  switch (codec) {
    case CompressionCodec.none:
      return data;
    case CompressionCodec.gzip:
      return gzipSync(data);
    case CompressionCodec.snappy:
      return toBuffer(snappyCompress(data));
    case CompressionCodec.lz4:
      return toBuffer(lz4Compress(data));
    case CompressionCodec.zstd:
      return zstdFrame(data);
    default:
      throw new CompressionError(`Pier cannot write codec ${codec} batches`);
  }
}

function snappy(data: Buffer, maxBytes: number): Buffer {
  if (data.length < XERIAL_HEADER_BYTES || !data.subarray(0, 8).equals(XERIAL_MAGIC)) {
    return toBuffer(snappyUncompress(data, maxBytes));
  }
  const blocks: Buffer[] = [];
  let total = 0;
  for (let p = XERIAL_HEADER_BYTES; p < data.length; ) {
    if (p + 4 > data.length) throw new CompressionError('xerial snappy: truncated block length');
    const length = data.readInt32BE(p);
    p += 4;
    if (length < 0 || p + length > data.length)
      throw new CompressionError('xerial snappy: block past the end');
    const block = toBuffer(snappyUncompress(data.subarray(p, p + length), maxBytes - total));
    total += block.length;
    blocks.push(block);
    p += length;
  }
  return Buffer.concat(blocks, total);
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
