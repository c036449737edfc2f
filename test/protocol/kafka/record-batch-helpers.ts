/** Helpers for record batch tests: a legacy (magic 0/1) message and small byte edits. */
import { refreshBatchCrc } from '../../../src/protocol/kafka/record-batch-encoder.js';

/** A magic 0 or 1 message set entry (offset, size, crc, magic, attributes, [timestamp], key, value). */
export function legacyMessage(magic: 0 | 1, value: string): Buffer {
  const v = Buffer.from(value);
  const body = Buffer.alloc(4 + 1 + 1 + (magic === 1 ? 8 : 0) + 4 + 4 + v.length);
  let p = 4; // the CRC (CRC-32, not checked by a v2-only broker) is left zero
  body.writeInt8(magic, p++);
  body.writeInt8(0, p++);
  if (magic === 1) p = body.writeBigInt64BE(1700000000000n, p);
  p = body.writeInt32BE(-1, p); // null key
  p = body.writeInt32BE(v.length, p);
  v.copy(body, p);
  const head = Buffer.alloc(12);
  head.writeInt32BE(body.length, 8);
  return Buffer.concat([head, body]);
}

/** Copies `batch`, lets `edit` change it, then recomputes the CRC so the edit reaches later checks. */
export function edited(batch: Buffer, edit: (b: Buffer) => void): Buffer {
  const copy = Buffer.from(batch);
  edit(copy);
  refreshBatchCrc(copy);
  return copy;
}
