/**
 * Writing zstd frames (RFC 8878) for topics with compression.type=zstd. node:zlib compresses zstd
 * from Node 22.15 / 23.8 on and is used there; on older Node.js (Pier supports Node 20) the
 * frame is written with raw (stored) blocks: a valid zstd frame that every decoder reads
 * (librdkafka, the Java client, kafkajs' zstd plugins), but no smaller than its input. The
 * frame header names the content size so decoders can size their output at once.
 */
import * as zlib from 'node:zlib';

const MAGIC = 0xfd2fb528;
/** Single_Segment_flag set, Frame_Content_Size_flag 3 (8 bytes), no checksum, no dictionary. */
const DESCRIPTOR_SINGLE_SEGMENT_FCS8 = (3 << 6) | (1 << 5);
/** Block_Maximum_Size: the smaller of the window size and 128 KiB (RFC 8878 §3.1.1.2.4). */
const MAX_BLOCK_BYTES = 128 * 1024;
const BLOCK_TYPE_RAW = 0;

type ZstdCompress = (data: Buffer) => Buffer;
const nativeZstd = (zlib as unknown as { zstdCompressSync?: ZstdCompress }).zstdCompressSync;

/** Whether this Node.js compresses zstd (true) or stores raw blocks in the frame (false). */
export const ZSTD_COMPRESSES = typeof nativeZstd === 'function';

export function zstdFrame(data: Buffer): Buffer {
  return nativeZstd ? nativeZstd(data) : rawBlockFrame(data);
}

/** A zstd frame holding `data` in raw blocks of at most 128 KiB. */
export function rawBlockFrame(data: Buffer): Buffer {
  const blocks = Math.max(1, Math.ceil(data.length / MAX_BLOCK_BYTES));
  const out = Buffer.allocUnsafe(4 + 1 + 8 + blocks * 3 + data.length);
  let p = out.writeUInt32LE(MAGIC, 0);
  p = out.writeUInt8(DESCRIPTOR_SINGLE_SEGMENT_FCS8, p);
  p = out.writeBigUInt64LE(BigInt(data.length), p);
  for (let i = 0; i < blocks; i++) {
    const start = i * MAX_BLOCK_BYTES;
    const size = Math.min(MAX_BLOCK_BYTES, data.length - start);
    const last = i === blocks - 1 ? 1 : 0;
    out.writeUIntLE(last | (BLOCK_TYPE_RAW << 1) | (size << 3), p, 3);
    p += 3;
    p += data.copy(out, p, start, start + size);
  }
  return out;
}
