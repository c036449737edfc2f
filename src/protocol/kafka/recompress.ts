/**
 * Topic compression.type (other than `producer`): a produced batch whose codec differs from the
 * topic's is rewritten with the topic's codec before it is stored, as Kafka's LogValidator does —
 * the batch header (producer id, epoch, sequence, offsets delta, timestamps) kept, attributes'
 * codec bits, the length and the CRC rewritten; offsets are assigned afterwards as for any batch.
 */
import type { TopicCompression } from '../../core/kafka/topic.js';
import { CompressionCodec, compressRecords, decompressRecords } from './compression.js';
import { BATCH_HEADER_BYTES, BatchOffset } from './record-batch.js';
import { refreshBatchCrc } from './record-batch-encoder.js';

const CODEC_BITS = 0x07;
const LOG_OVERHEAD_BYTES = 12;

const TARGET_CODECS: Record<Exclude<TopicCompression, 'producer'>, number> = {
  uncompressed: CompressionCodec.none,
  gzip: CompressionCodec.gzip,
  snappy: CompressionCodec.snappy,
  lz4: CompressionCodec.lz4,
  zstd: CompressionCodec.zstd,
};

/**
 * The batch recompressed to the topic's codec, or undefined when it is stored as it is
 * (compression.type producer, or already the topic's codec). Throws CompressionError when the
 * producer's records do not decompress.
 */
export function recompressForTopic(
  batch: Buffer,
  compressionType: TopicCompression | undefined,
): Buffer | undefined {
  if (compressionType === undefined || compressionType === 'producer') return undefined;
  const target = TARGET_CODECS[compressionType];
  const attributes = batch.readInt16BE(BatchOffset.attributes);
  const codec = attributes & CODEC_BITS;
  if (codec === target) return undefined;
  const records = decompressRecords(codec, batch.subarray(BATCH_HEADER_BYTES));
  const out = Buffer.concat([batch.subarray(0, BATCH_HEADER_BYTES), compressRecords(target, records)]);
  out.writeInt16BE((attributes & ~CODEC_BITS) | target, BatchOffset.attributes);
  out.writeInt32BE(out.length - LOG_OVERHEAD_BYTES, BatchOffset.batchLength);
  refreshBatchCrc(out);
  return out;
}
