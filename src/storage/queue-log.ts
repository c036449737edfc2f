/**
 * One durable queue's message log: a directory of segment files `<20-digit id>.seg` holding
 * framed records, each with a companion `<id>.ack` file of fixed-size ack entries. A segment
 * that is no longer written to and whose records are all acked is deleted with its ack file.
 *
 * Ack entry (8 bytes): u32 LE record position in the segment | u32 LE CRC-32C of those 4 bytes.
 * The check makes a zero-filled or torn entry (possible after a crash) harmless: it is ignored.
 *
 * Recovery keeps per segment only the record count and the set of acked positions, never bodies.
 * After open, appends always go to a new segment, so a stale ack entry in an old segment can
 * never match a record written after a truncation.
 */
import { dirname, join } from 'node:path';
import { crc32c } from '../util/crc32c.js';
import { type AppendFile, fsyncDir, type GroupCommitter, mkdirDurable } from './group-commit.js';
import { PositionSet } from './position-set.js';
import {
  READ_CHUNK_BYTES,
  RECORD_HEADER_BYTES,
  readFully,
  recordIntact,
  scanFile,
  writeRecordHeader,
} from './record-format.js';
import type { StorageFs } from './storage-fs.js';

export interface LogLocation {
  readonly segmentId: number;
  /** Byte offset of the record in its segment. */
  readonly position: number;
}

export interface LogRecord extends LogLocation {
  readonly type: number;
  /** Valid only until the next readNext() call (it may point into a reused read buffer). */
  readonly payload: Buffer;
  /** A delivery mark for it was found at recovery: it had been handed to a consumer before. */
  readonly delivered: boolean;
}

export interface QueueLogOptions {
  segmentSizeBytes?: number;
  logger?: (line: string) => void;
  /**
   * Called during recovery for every valid record not acked in its ack file; returning false
   * treats the record as acked (e.g. transient messages, dropped on restart). The payload is only
   * valid during the call.
   */
  recover?: (type: number, payload: Buffer) => boolean;
  readChunkBytes?: number;
}

export const DEFAULT_SEGMENT_SIZE_BYTES = 8 * 1024 * 1024;
/** Record positions in ack files are u32. */
export const MAX_SEGMENT_SIZE_BYTES = 0xffff_ffff;
/** Ack-file entry: u32 record position + u32 CRC-32C of it; XOR DELIVERED_MARK for a delivery mark. */
const ACK_ENTRY_BYTES = 8;
/**
 * Read-ahead of readAt(): records read in log order come from one read per this many bytes, and
 * stores whose readers alternate between places (one shared log, many queues) re-read little.
 */
const PAGE_READ_BYTES = 128 * 1024;
const DELIVERED_MARK = 0xffffffff;
const NO_CHUNK = Buffer.alloc(0);
const SEGMENT_SUFFIX = '.seg';
const ACK_SUFFIX = '.ack';
/**
 * A segment deleted in the background is first renamed to this (same directory, cheap), so the
 * unlink on the libuv pool cannot hit a segment of the same name that a queue declared again
 * meanwhile creates. Leftovers of a crash are removed at recovery.
 */
const DELETED_SUFFIX = '.deleted';

class Segment {
  /** Open for appends only while this is the active segment. */
  data: AppendFile | undefined;
  ackFile: AppendFile | undefined;
  /** Size of a sealed (non-active) segment. */
  sealedSizeBytes = 0;
  recordCount = 0;
  /** Acked or skipped records. */
  ackedCount = 0;
  readonly acked = new PositionSet();
  /** Records marked delivered in the ack file, loaded at recovery only (later marks live in memory). */
  readonly delivered = new Set<number>();

  constructor(
    readonly id: number,
    readonly dataPath: string,
    readonly ackPath: string,
  ) {}

  get sizeBytes(): number {
    return this.data ? this.data.sizeBytes : this.sealedSizeBytes;
  }
}

export function segmentFileName(id: number): string {
  return `${String(id).padStart(20, '0')}${SEGMENT_SUFFIX}`;
}

export class QueueLog {
  readonly dir: string;
  readonly segmentSizeBytes: number;
  private readonly committer: GroupCommitter;
  private readonly fs: StorageFs;
  private readonly logger: (line: string) => void;
  /** Live segments in increasing id order (Map keeps insertion order; ids only grow). */
  private readonly segments = new Map<number, Segment>();
  private active: Segment | undefined;
  private nextSegmentId = 1;
  // Read cursor: the next record readNext() looks at.
  private cursorSegmentId = 0;
  private cursorPosition = 0;
  private readFd: number | undefined;
  private readFdSegmentId = -1;
  // Read cache: chunk[0, chunkLength) holds bytes [chunkStart, ...) of segment chunkSegmentId.
  private chunk: Buffer;
  private chunkSegmentId = -1;
  private chunkStart = 0;
  private chunkLength = 0;
  /** Set while a readNext() call has handed out payloads that point into `chunk`. */
  private chunkInUse = false;
  private readonly readChunkBytes: number;
  // The append in progress (beginAppend → endAppend).
  private appendFile: AppendFile | undefined;
  private appendOffset = 0;
  private appendType = 0;
  private appendLength = 0;
  private appendPosition = 0;
  private readonly ackScratch = Buffer.alloc(4);
  // Random-access reads (readAt): their own cache, so they never disturb readNext()'s cursor chunk.
  private pageChunk: Buffer | undefined;
  private pageChunkSegmentId = -1;
  private pageChunkStart = 0;
  private pageChunkLength = 0;
  private closed = false;
  /** The log's own directory entry may not be durable yet: fsync the parent before the first segment. */
  private parentDirSyncPending = false;

  private constructor(dir: string, committer: GroupCommitter, options: QueueLogOptions) {
    this.dir = dir;
    this.committer = committer;
    this.fs = committer.fs;
    this.segmentSizeBytes = Math.min(
      options.segmentSizeBytes ?? DEFAULT_SEGMENT_SIZE_BYTES,
      MAX_SEGMENT_SIZE_BYTES,
    );
    this.logger = options.logger ?? (() => {});
    this.readChunkBytes = options.readChunkBytes ?? READ_CHUNK_BYTES;
    // Allocated at the first read: a declared queue that is never read (or read only from memory)
    // costs no 1 MiB buffer, and 10,000 declares do not trigger GCs for external memory.
    this.chunk = NO_CHUNK;
  }

  /** Opens (creating if needed) the log in `dir` and recovers it. */
  static open(dir: string, committer: GroupCommitter, options: QueueLogOptions = {}): QueueLog {
    mkdirDurable(dir, committer.fs, committer.policy === 'always');
    const log = new QueueLog(dir, committer, options);
    log.recover(options.recover);
    // A queue declared without its directory entry synced (Storage.openQueueStore does not fsync at
    // declare) syncs it before its first segment: no message in it is acknowledged before that.
    if (committer.policy === 'always' && log.segments.size === 0) log.parentDirSyncPending = true;
    return log;
  }

  private recover(classify: QueueLogOptions['recover']): void {
    const names = this.fs.readdirSync(this.dir);
    const ids = names
      .filter((n) => n.endsWith(SEGMENT_SUFFIX) && /^\d{20}\.seg$/.test(n))
      .map((n) => Number(n.slice(0, 20)))
      .sort((a, b) => a - b);
    const idSet = new Set(ids);
    for (const n of names) {
      // An ack file whose segment is gone (deleted just before a crash) is garbage.
      if (/^\d{20}\.ack$/.test(n) && !idSet.has(Number(n.slice(0, 20))))
        unlinkQuiet(this.fs, join(this.dir, n));
      else if (n.endsWith(DELETED_SUFFIX)) unlinkQuiet(this.fs, join(this.dir, n));
    }
    for (const id of ids) {
      const seg = this.newSegment(id);
      this.loadAcks(seg);
      this.scanSegment(seg, classify);
      this.nextSegmentId = id + 1;
      if (seg.ackedCount >= seg.recordCount) this.deleteSegment(seg);
    }
    const first = this.segments.values().next().value;
    this.cursorSegmentId = first ? first.id : this.nextSegmentId;
    this.cursorPosition = 0;
  }

  private newSegment(id: number): Segment {
    const base = String(id).padStart(20, '0');
    const seg = new Segment(id, join(this.dir, base + SEGMENT_SUFFIX), join(this.dir, base + ACK_SUFFIX));
    this.segments.set(id, seg);
    return seg;
  }

  private loadAcks(seg: Segment): void {
    let buf: Buffer;
    try {
      buf = this.fs.readFileSync(seg.ackPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    const whole = buf.length - (buf.length % ACK_ENTRY_BYTES);
    let bad = 0;
    for (let off = 0; off < whole; off += ACK_ENTRY_BYTES) {
      const crc = crc32c(buf, 0, off, off + 4);
      const stored = buf.readUInt32LE(off + 4);
      if (crc === stored) seg.acked.add(buf.readUInt32LE(off));
      else if ((crc ^ DELIVERED_MARK) >>> 0 === stored) seg.delivered.add(buf.readUInt32LE(off));
      else bad++;
    }
    if (whole !== buf.length || bad > 0) {
      this.logger(
        `queue log ${this.dir}: ${seg.ackPath}: ignored ${bad} invalid ack entries and ${buf.length - whole} trailing bytes`,
      );
      // Rewrite only the valid entries so later appends stay aligned.
      if (whole !== buf.length) this.fs.truncateSync(seg.ackPath, whole);
    }
  }

  private scanSegment(seg: Segment, classify: QueueLogOptions['recover']): void {
    const fd = this.fs.openSync(seg.dataPath, 'r+');
    try {
      const size = this.fs.fstatSync(fd).size;
      const validAcks = new Set<number>();
      let ackedOrSkipped = 0;
      const result = scanFile(
        fd,
        size,
        (type, buf, start, end, recordStart) => {
          if (seg.acked.has(recordStart)) {
            validAcks.add(recordStart);
            ackedOrSkipped++;
          } else if (classify && !classify(type, buf.subarray(start, end))) {
            validAcks.add(recordStart);
            ackedOrSkipped++;
          }
        },
        undefined,
        this.fs,
      );
      // Keep only acks that name real records (drops stale entries past a truncated tail).
      seg.acked.clear();
      for (const p of validAcks) seg.acked.add(p);
      seg.recordCount = result.records;
      seg.ackedCount = ackedOrSkipped;
      seg.sealedSizeBytes = result.validBytes;
      if (result.validBytes < size) {
        this.logger(
          `queue log ${this.dir}: segment ${seg.id}: ${result.stopReason} record at byte ${result.validBytes}; ` +
            `truncated ${size - result.validBytes} bytes (kept ${result.records} records)`,
        );
        this.fs.ftruncateSync(fd, result.validBytes);
        if (this.committer.policy !== 'never') this.fs.fdatasyncSync(fd);
      }
    } finally {
      this.fs.closeSync(fd);
    }
  }

  /** Number of segment files currently kept. */
  get segmentCount(): number {
    return this.segments.size;
  }

  /**
   * Sealed segments, oldest first, that still hold unacked records but at most `maxLiveFraction` of
   * their records, skipping the `skipNewest` most recently sealed ones (their records are usually
   * about to be acked). A caller that rewrites the live records elsewhere and acks these lets the
   * files go.
   */
  sparseSegments(maxLiveFraction: number, skipNewest: number): number[] {
    const sparse: number[] = [];
    const newestEligible = (this.active?.id ?? this.nextSegmentId) - 1 - skipNewest;
    for (const seg of this.segments.values()) {
      if (seg === this.active || seg.id > newestEligible) continue;
      const live = seg.recordCount - seg.ackedCount;
      if (live > 0 && live <= seg.recordCount * maxLiveFraction) sparse.push(seg.id);
    }
    return sparse;
  }

  /** Records appended and not acked (including skipped-at-recovery ones as acked). */
  get unackedCount(): number {
    let n = 0;
    for (const seg of this.segments.values()) n += seg.recordCount - seg.ackedCount;
    return n;
  }

  /**
   * Starts an append of a record with a payload of `payloadLength` bytes; the caller writes the
   * payload into `appendBuffer` at the returned offset and then calls endAppend().
   */
  beginAppend(type: number, payloadLength: number): number {
    if (this.closed) throw new Error(`queue log ${this.dir} is closed`);
    const total = RECORD_HEADER_BYTES + payloadLength;
    let seg = this.active;
    if (!seg || (seg.data!.sizeBytes > 0 && seg.data!.sizeBytes + total > this.segmentSizeBytes))
      seg = this.roll();
    const file = seg.data!;
    this.appendPosition = file.sizeBytes;
    this.appendFile = file;
    this.appendType = type;
    this.appendLength = payloadLength;
    this.appendOffset = file.reserve(total);
    return this.appendOffset + RECORD_HEADER_BYTES;
  }

  /** The buffer to write the payload of the append in progress into (valid until endAppend). */
  get appendBuffer(): Buffer {
    return this.appendFile!.staging;
  }

  endAppend(): LogLocation {
    const file = this.appendFile!;
    writeRecordHeader(file.staging, this.appendOffset, this.appendType, this.appendLength);
    this.appendFile = undefined;
    const seg = this.active!;
    seg.recordCount++;
    return { segmentId: seg.id, position: this.appendPosition };
  }

  /** Appends one record; returns its location. */
  append(type: number, payload: Uint8Array): LogLocation {
    const offset = this.beginAppend(type, payload.length);
    this.appendBuffer.set(payload, offset);
    return this.endAppend();
  }

  private roll(): Segment {
    const old = this.active;
    const seg = this.newSegment(this.nextSegmentId);
    try {
      if (this.parentDirSyncPending) {
        fsyncDir(dirname(this.dir), this.fs);
        this.parentDirSyncPending = false;
      }
      seg.data = this.committer.openFile(seg.dataPath);
    } catch (err) {
      // A full disk may refuse the new file (ENOSPC): the append fails, the log stays as it was.
      this.segments.delete(seg.id);
      throw err;
    }
    this.nextSegmentId++;
    this.active = seg;
    if (old) {
      old.sealedSizeBytes = old.data!.sizeBytes;
      old.data!.close();
      old.data = undefined;
      if (old.ackedCount >= old.recordCount) this.deleteSegment(old, true);
    }
    return seg;
  }

  /** Marks the record at `location` as consumed. Returns false if it was already acked or unknown. */
  ack(location: LogLocation): boolean {
    const seg = this.segments.get(location.segmentId);
    if (!seg?.acked.add(location.position)) return false;
    seg.ackedCount++;
    if (seg.ackedCount >= seg.recordCount && seg !== this.active) {
      this.deleteSegment(seg, true);
      return true;
    }
    this.writeAckEntry(seg, location.position, 0);
    return true;
  }

  /**
   * Records that the record at `location` was delivered once (so a restart flags it redelivered).
   * Written with the acks, through the committer; no effect on segment deletion.
   */
  markDelivered(location: LogLocation): void {
    const seg = this.segments.get(location.segmentId);
    if (!seg || seg.acked.has(location.position)) return;
    this.writeAckEntry(seg, location.position, DELIVERED_MARK);
  }

  private writeAckEntry(seg: Segment, position: number, kind: number): void {
    // Acks need no fdatasync of their own: one lost in an OS crash redelivers its message
    // (at-least-once), and nothing is answered only after an ack is on disk.
    if (!seg.ackFile) seg.ackFile = this.committer.openFile(seg.ackPath, { lazySync: true });
    const file = seg.ackFile;
    const off = file.reserve(ACK_ENTRY_BYTES);
    const scratch = this.ackScratch;
    scratch.writeUInt32LE(position, 0);
    file.staging.writeUInt32LE(position, off);
    file.staging.writeUInt32LE((crc32c(scratch) ^ kind) >>> 0, off + 4);
  }

  /**
   * `inBackground`: the data file is renamed and unlinked on the libuv pool (acks and rolls, the
   * hot path: freeing a full segment's blocks took milliseconds of the event loop). Otherwise it
   * is gone when this returns (the queue's directory may be removed next).
   */
  private deleteSegment(seg: Segment, inBackground = false): void {
    this.segments.delete(seg.id);
    seg.data?.discard();
    seg.ackFile?.discard();
    seg.data = undefined;
    seg.ackFile = undefined;
    if (this.readFdSegmentId === seg.id) this.closeReadFd();
    if (this.chunkSegmentId === seg.id) this.chunkSegmentId = -1;
    if (this.pageChunkSegmentId === seg.id) this.pageChunkSegmentId = -1;
    if (inBackground) this.unlinkInBackground(seg.dataPath);
    else unlinkQuiet(this.fs, seg.dataPath);
    unlinkQuiet(this.fs, seg.ackPath);
  }

  private unlinkInBackground(path: string): void {
    const doomed = path + DELETED_SUFFIX;
    try {
      this.fs.renameSync(path, doomed);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    this.fs.unlink(doomed, (err) => {
      if (err && err.code !== 'ENOENT')
        this.logger(
          `queue log ${this.dir}: could not delete ${doomed} (${err.message}); the next start removes it`,
        );
    });
  }

  /** Moves the read cursor past every record appended so far. */
  moveCursorToEnd(): void {
    if (this.active) {
      this.cursorSegmentId = this.active.id;
      this.cursorPosition = this.active.data!.sizeBytes;
    } else {
      this.cursorSegmentId = this.nextSegmentId;
      this.cursorPosition = 0;
    }
  }

  /** The segment holding the cursor (advancing it past deleted segments), or undefined at the end. */
  private cursorSegment(): Segment | undefined {
    const seg = this.segments.get(this.cursorSegmentId);
    if (seg) return seg;
    for (const s of this.segments.values()) {
      if (s.id > this.cursorSegmentId) {
        this.cursorSegmentId = s.id;
        this.cursorPosition = 0;
        return s;
      }
    }
    return undefined;
  }

  /**
   * Returns up to `maxCount` unacked records from the cursor on (at least one if any, then
   * stopping once `maxBytes` of payload is reached) and advances the cursor past them.
   */
  readNext(maxCount: number, maxBytes: number): LogRecord[] {
    const out: LogRecord[] = [];
    let bytes = 0;
    this.chunkInUse = false;
    while (out.length < maxCount && bytes < maxBytes) {
      const seg = this.cursorSegment();
      if (!seg) break;
      const end = seg.sizeBytes;
      if (this.cursorPosition >= end) {
        if (seg === this.active) break;
        this.cursorSegmentId = seg.id + 1;
        this.cursorPosition = 0;
        continue;
      }
      let readable = end;
      if (seg.data) {
        // Appends not yet written by the committer: write them now so the read sees them.
        if (seg.data.writtenBytes < end) seg.data.writeStaged();
        readable = seg.data.writtenBytes;
        if (this.cursorPosition >= readable) break;
      }
      if (!this.loadChunk(seg, readable)) break;
      const chunk = this.chunk;
      let p = this.cursorPosition - this.chunkStart;
      const chunkEnd = this.chunkLength;
      while (p + RECORD_HEADER_BYTES <= chunkEnd) {
        const len = chunk.readUInt32LE(p);
        const total = RECORD_HEADER_BYTES + len;
        if (p + total > chunkEnd) break;
        const position = this.chunkStart + p;
        p += total;
        this.cursorPosition = this.chunkStart + p;
        if (!seg.acked.has(position)) {
          out.push({
            segmentId: seg.id,
            position,
            type: chunk[position - this.chunkStart + 8]!,
            payload: chunk.subarray(p - len, p),
            delivered: seg.delivered.has(position),
          });
          bytes += len;
          this.chunkInUse = true;
          if (out.length >= maxCount || bytes >= maxBytes) break;
        }
      }
    }
    return out;
  }

  /**
   * The payload of the unacked record at `location` (a copy), for stores that keep only where a
   * record is and read it back on demand (SQS paging). Reads `readChunkBytes` ahead and keeps them,
   * so records read in log order cost one read per chunk. Undefined when the record is acked, its
   * segment gone, or it fails its CRC (corruption is never handed out).
   */
  readAt(location: LogLocation): { type: number; payload: Buffer } | undefined {
    const seg = this.segments.get(location.segmentId);
    if (!seg || seg.acked.has(location.position)) return undefined;
    const pos = location.position;
    let readable = seg.sizeBytes;
    if (seg.data) {
      // The record may still be staged in the committer: write it now so the read sees it.
      if (seg.data.writtenBytes < readable) seg.data.writeStaged();
      readable = seg.data.writtenBytes;
    }
    if (pos + RECORD_HEADER_BYTES > readable) return undefined;
    let chunk = this.pageChunk;
    let start = pos - this.pageChunkStart;
    const cached =
      chunk !== undefined &&
      this.pageChunkSegmentId === seg.id &&
      start >= 0 &&
      start + RECORD_HEADER_BYTES <= this.pageChunkLength &&
      start + RECORD_HEADER_BYTES + chunk.readUInt32LE(start) <= this.pageChunkLength;
    if (!cached) {
      chunk ??= Buffer.allocUnsafe(Math.min(this.readChunkBytes, PAGE_READ_BYTES));
      const fd = this.readFdFor(seg);
      let got = readFully(fd, chunk, Math.min(chunk.length, readable - pos), pos, this.fs);
      if (got < RECORD_HEADER_BYTES) return undefined;
      const total = RECORD_HEADER_BYTES + chunk.readUInt32LE(0);
      if (total > got) {
        if (pos + total > readable) return undefined;
        // One record bigger than the chunk: read into its own buffer (the cache keeps its size).
        const big = Buffer.allocUnsafe(total);
        got = readFully(fd, big, total, pos, this.fs);
        if (got < total || !recordIntact(big, 0, total)) return undefined;
        return { type: big[8]!, payload: big.subarray(RECORD_HEADER_BYTES) };
      }
      this.pageChunk = chunk;
      this.pageChunkSegmentId = seg.id;
      this.pageChunkStart = pos;
      this.pageChunkLength = got;
      start = 0;
    }
    chunk = this.pageChunk!;
    const total = RECORD_HEADER_BYTES + chunk.readUInt32LE(start);
    if (!recordIntact(chunk, start, total)) {
      this.logger(`queue log ${this.dir}: segment ${seg.id}: record at byte ${pos} fails its CRC`);
      return undefined;
    }
    return {
      type: chunk[start + 8]!,
      payload: Buffer.from(chunk.subarray(start + RECORD_HEADER_BYTES, start + total)),
    };
  }

  /**
   * Makes the read cache hold at least one whole record at the cursor. Returns false if the
   * segment ends in an incomplete record (cannot happen after recovery unless the file changed).
   */
  private loadChunk(seg: Segment, readable: number): boolean {
    const pos = this.cursorPosition;
    if (this.chunkSegmentId === seg.id && pos >= this.chunkStart) {
      const p = pos - this.chunkStart;
      if (p + RECORD_HEADER_BYTES <= this.chunkLength) {
        const total = RECORD_HEADER_BYTES + this.chunk.readUInt32LE(p);
        if (p + total <= this.chunkLength) return true;
      }
    }
    const fd = this.readFdFor(seg);
    // Payloads already returned by this readNext() call point into the chunk: do not overwrite.
    if (this.chunkInUse || this.chunk.length !== this.readChunkBytes) {
      this.chunk = Buffer.allocUnsafe(this.readChunkBytes);
      this.chunkInUse = false;
    }
    let want = Math.min(this.chunk.length, readable - pos);
    this.chunkSegmentId = -1;
    let got = readFully(fd, this.chunk, want, pos, this.fs);
    if (got >= RECORD_HEADER_BYTES) {
      const total = RECORD_HEADER_BYTES + this.chunk.readUInt32LE(0);
      if (total > got) {
        if (pos + total > readable) return this.corruptTail(seg, pos);
        // One record bigger than the chunk: read it into its own buffer (the cache is reused
        // only for ordinary chunks).
        const big = Buffer.allocUnsafe(total);
        want = total;
        got = readFully(fd, big, want, pos, this.fs);
        if (got < total) return this.corruptTail(seg, pos);
        this.chunk = big;
      }
    } else {
      return this.corruptTail(seg, pos);
    }
    this.chunkSegmentId = seg.id;
    this.chunkStart = pos;
    this.chunkLength = got;
    return true;
  }

  private corruptTail(seg: Segment, pos: number): boolean {
    this.logger(
      `queue log ${this.dir}: segment ${seg.id}: unreadable record at byte ${pos}; skipping the rest`,
    );
    if (seg !== this.active) {
      this.cursorSegmentId = seg.id + 1;
      this.cursorPosition = 0;
      return true;
    }
    return false;
  }

  private readFdFor(seg: Segment): number {
    if (this.readFd !== undefined && this.readFdSegmentId === seg.id) return this.readFd;
    this.closeReadFd();
    this.readFd = this.fs.openSync(seg.dataPath, 'r');
    this.readFdSegmentId = seg.id;
    return this.readFd;
  }

  private closeReadFd(): void {
    if (this.readFd !== undefined) this.fs.closeSync(this.readFd);
    this.readFd = undefined;
    this.readFdSegmentId = -1;
  }

  /**
   * Acks every unacked record from the cursor to the end (queue purge) and leaves the cursor at
   * the end. Whole sealed segments the cursor has not entered are deleted without being read.
   * Returns the number of records acked.
   */
  ackFromCursor(): number {
    let count = 0;
    for (;;) {
      const seg = this.cursorSegment();
      if (!seg) break;
      if (this.cursorPosition === 0 && seg !== this.active) {
        count += seg.recordCount - seg.ackedCount;
        this.deleteSegment(seg);
        continue;
      }
      const recs = this.readNext(65536, 64 * 1024 * 1024);
      if (recs.length === 0) break;
      for (const r of recs) if (this.ack(r)) count++;
    }
    this.moveCursorToEnd();
    return count;
  }

  /**
   * Deletes the sealed segments the read cursor has passed, whatever their acks (a scratch log,
   * whose records are used up by reading them: transient-queue-store.ts).
   */
  discardReadSegments(): void {
    for (const seg of [...this.segments.values()]) {
      if (seg === this.active) return;
      const passed =
        seg.id < this.cursorSegmentId ||
        (seg.id === this.cursorSegmentId && this.cursorPosition >= seg.sizeBytes);
      if (!passed) return;
      this.deleteSegment(seg);
    }
  }

  /** Deletes every segment, the one being written too; the next append starts a new one. */
  discardAll(): void {
    for (const seg of [...this.segments.values()]) this.deleteSegment(seg);
    this.active = undefined;
    this.moveCursorToEnd();
  }

  /** Releases fds. Appended data is still written and synced by the committer per its policy. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.closeReadFd();
    for (const seg of this.segments.values()) {
      seg.data?.close();
      seg.ackFile?.close();
    }
    this.active = undefined;
  }

  /** Closes and deletes every file (the queue is gone). */
  destroy(): void {
    this.closed = true;
    this.closeReadFd();
    for (const seg of [...this.segments.values()]) this.deleteSegment(seg);
    this.active = undefined;
  }
}

function unlinkQuiet(fs: StorageFs, path: string): void {
  try {
    fs.unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
