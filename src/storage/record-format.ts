/**
 * Record framing shared by every storage log:
 *
 *   u32 LE payload length | u32 LE CRC-32C over (type byte + payload) | u8 type | payload
 *
 * A scanner walks records and stops at the first one that is incomplete (torn write) or whose
 * CRC does not match (corruption); everything before it is the valid prefix and recovery
 * truncates the file there.
 */
import { crc32c } from '../util/crc32c.js';
import { nodeFs, type StorageFs } from './storage-fs.js';

export const RECORD_HEADER_BYTES = 9;
/** Upper bound on one record's payload; a larger length field means a corrupt header. */
export const MAX_RECORD_PAYLOAD_BYTES = 512 * 1024 * 1024;

/** Encodes one record into a new Buffer. */
export function encodeRecord(type: number, payload: Uint8Array): Buffer {
  const buf = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payload.length);
  buf.set(payload, RECORD_HEADER_BYTES);
  writeRecordHeader(buf, 0, type, payload.length);
  return buf;
}

/**
 * Fills in the header of a record whose payload is already at `buf[offset + 9, offset + 9 + len)`
 * (lets callers encode payloads in place, without an intermediate Buffer).
 */
export function writeRecordHeader(buf: Buffer, offset: number, type: number, payloadLength: number): void {
  buf.writeUInt32LE(payloadLength, offset);
  buf[offset + 8] = type;
  const crc = crc32c(buf, 0, offset + 8, offset + RECORD_HEADER_BYTES + payloadLength);
  buf.writeUInt32LE(crc, offset + 4);
}

export type RecordVisitor = (
  type: number,
  buf: Buffer,
  payloadStart: number,
  payloadEnd: number,
  recordStart: number,
) => void;

export interface ScanResult {
  /** Bytes from the start of the scanned range that hold complete, valid records. */
  validBytes: number;
  records: number;
  /** Why the scan stopped before the end, or undefined when the whole range is valid. */
  stopReason?: 'torn' | 'corrupt';
}

/**
 * Scans `buf[start, end)` and calls `visit` for each valid record. Never throws on bad data.
 * Stops at the first incomplete record ('torn') or CRC mismatch / impossible length ('corrupt').
 */
export function scanBuffer(buf: Buffer, visit?: RecordVisitor, start = 0, end = buf.length): ScanResult {
  let pos = start;
  let records = 0;
  let stopReason: ScanResult['stopReason'];
  while (pos < end) {
    const check = checkRecordAt(buf, pos, end);
    if (check < 0) {
      stopReason = check === TORN ? 'torn' : 'corrupt';
      break;
    }
    visit?.(buf[pos + 8]!, buf, pos + RECORD_HEADER_BYTES, pos + check, pos);
    pos += check;
    records++;
  }
  return { validBytes: pos - start, records, stopReason };
}

const TORN = -1;
const CORRUPT = -2;

/** Returns the total length of the valid record at `pos`, or TORN / CORRUPT. */
function checkRecordAt(buf: Buffer, pos: number, end: number): number {
  if (end - pos < RECORD_HEADER_BYTES) return TORN;
  const len = buf.readUInt32LE(pos);
  if (len > MAX_RECORD_PAYLOAD_BYTES) return CORRUPT;
  const total = RECORD_HEADER_BYTES + len;
  if (end - pos < total) return TORN;
  if (crc32c(buf, 0, pos + 8, pos + total) !== buf.readUInt32LE(pos + 4)) return CORRUPT;
  return total;
}

/** True when the record of `total` bytes at `buf[pos]` matches its CRC (read paths check it too). */
export function recordIntact(buf: Buffer, pos: number, total: number): boolean {
  return crc32c(buf, 0, pos + 8, pos + total) === buf.readUInt32LE(pos + 4);
}

/** Default read size for sequential scans and reads of log files. */
export const READ_CHUNK_BYTES = 1024 * 1024;

/**
 * Scans the file behind `fd` from offset 0 to `fileSize`, reading in large chunks; a record that
 * spans chunks is re-read whole. Payload buffers passed to `visit` are only valid during the call.
 */
export function scanFile(
  fd: number,
  fileSize: number,
  visit?: RecordVisitor,
  chunkBytes = READ_CHUNK_BYTES,
  fsys: StorageFs = nodeFs,
): ScanResult {
  let chunk = Buffer.allocUnsafe(chunkBytes);
  let filePos = 0;
  let records = 0;
  let size = fileSize;
  while (filePos < size) {
    const want = Math.min(chunk.length, size - filePos);
    const got = readFully(fd, chunk, want, filePos, fsys);
    if (got < want) size = filePos + got; // the file is shorter than we were told
    // scanBuffer reports positions within the chunk; the visitor needs file positions (acks name them).
    const chunkFilePos = filePos;
    const res = scanBuffer(
      chunk,
      visit &&
        ((type, buf, start, end, recordStart) => visit(type, buf, start, end, chunkFilePos + recordStart)),
      0,
      got,
    );
    records += res.records;
    filePos += res.validBytes;
    if (res.stopReason === 'corrupt') return { validBytes: filePos, records, stopReason: 'corrupt' };
    if (res.stopReason !== 'torn') continue;
    // The record at filePos is incomplete in this chunk: a torn tail, or just cut by the chunk.
    if (filePos + RECORD_HEADER_BYTES > size) return { validBytes: filePos, records, stopReason: 'torn' };
    if (got - res.validBytes >= RECORD_HEADER_BYTES) {
      const need = RECORD_HEADER_BYTES + chunk.readUInt32LE(res.validBytes);
      if (filePos + need > size) return { validBytes: filePos, records, stopReason: 'torn' };
      if (need > chunk.length) chunk = Buffer.allocUnsafe(need);
    }
    // Re-read from filePos: the whole record now fits in the chunk.
  }
  return { validBytes: filePos, records };
}

/** readSync until `length` bytes are read or EOF; returns the count read. */
export function readFully(
  fd: number,
  buf: Buffer,
  length: number,
  position: number,
  fsys: StorageFs = nodeFs,
): number {
  let done = 0;
  while (done < length) {
    const n = fsys.readSync(fd, buf, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}
