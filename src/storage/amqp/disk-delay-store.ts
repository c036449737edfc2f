/**
 * Delayed messages on disk: one append-only log per delayed exchange, in
 * `<dataDir>/delayed/<sha1 of vhost\0exchange>/` (`name.json` + `<20-digit id>.seg` segments).
 * Records use the shared framing (record-format.ts) and are written through the GroupCommitter,
 * so a publisher confirm covering a delayed message waits for its record like a queue write.
 *
 *   DELAYED (type 1): f64 LE dueAtMs | message record (message-record.ts)
 *   FIRED   (type 2): f64 LE dueAtMs | f64 LE ref — every message up to (dueAtMs, ref) was routed
 *
 * A message's ref is segmentId * 2^32 + its byte position: it grows with append order, also across
 * restarts (new appends always go to a new segment), which makes (dueAtMs, ref) a total order.
 * Messages fire in that order, so one FIRED mark (a watermark) replaces per-message acks. A mark is
 * appended only after the writes made by routing the messages it covers are durable (a crash may
 * route a message twice, never lose one), and a sealed segment is deleted once every message in it
 * is at or below a durable mark. Each new segment starts with the latest mark, so the newest mark
 * always survives segment deletion.
 *
 * Memory: no bodies are kept. Bodies are read back (one pread, usually) when they fire. Recovery
 * scans the segments once and hands (dueAtMs, ref) pairs to the core's index; transient messages
 * are dropped at restart as RabbitMQ drops transient messages.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { DelayStore } from '../../core/amqp/delay-store.js';
import type { Message } from '../../core/message.js';
import { type AppendFile, type GroupCommitter, mkdirDurable } from '../group-commit.js';
import { decodeMessageRecord, encodeMessageRecord, messageRecordLength } from '../message-record.js';
import { RECORD_HEADER_BYTES, readFully, scanBuffer, scanFile, writeRecordHeader } from '../record-format.js';

export const DELAYED_RECORD_TYPE = 1;
export const FIRED_RECORD_TYPE = 2;
export const DEFAULT_DELAY_SEGMENT_BYTES = 8 * 1024 * 1024;
const SEGMENT_SPAN = 2 ** 32;
const SEGMENT_NAME = /^\d{20}\.seg$/;
const FLAG_PERSISTENT = 1;
/** Read fds kept open for firing (most recently used segments). */
const MAX_READ_FDS = 16;
/** First read of a firing message: enough for most whole records; a larger one takes a second read. */
const READ_BUFFER_BYTES = 2048;

export interface DelayStoreOptions {
  segmentSizeBytes?: number;
  logger?: (line: string) => void;
}

/** (due, ref) order: negative when a < b. */
function compareKeys(aDue: number, aRef: number, bDue: number, bRef: number): number {
  return aDue !== bDue ? aDue - bDue : aRef - bRef;
}

class Segment {
  file: AppendFile | undefined;
  sealedSizeBytes = 0;
  /** Greatest (due, ref) of a message in this segment that still matters. */
  maxDueMs = Number.NEGATIVE_INFINITY;
  maxRef = Number.NEGATIVE_INFINITY;

  constructor(
    readonly id: number,
    readonly path: string,
  ) {}

  get sizeBytes(): number {
    return this.file ? this.file.sizeBytes : this.sealedSizeBytes;
  }

  noteMessage(dueAtMs: number, ref: number): void {
    if (compareKeys(dueAtMs, ref, this.maxDueMs, this.maxRef) > 0) {
      this.maxDueMs = dueAtMs;
      this.maxRef = ref;
    }
  }
}

export class DiskDelayStore implements DelayStore {
  readonly dir: string;
  private readonly committer: GroupCommitter;
  private readonly segmentSizeBytes: number;
  private readonly logger: (line: string) => void;
  private readonly onRelease: () => void;
  private readonly segments = new Map<number, Segment>();
  private active: Segment | undefined;
  private nextSegmentId = 1;
  /** The latest FIRED mark written (staged or durable). */
  private markDueMs = Number.NEGATIVE_INFINITY;
  private markRef = Number.NEGATIVE_INFINITY;
  /** Pending messages found at open, until recover() hands them over. */
  private recovered: { due: Float64Array; refs: Float64Array; count: number } | undefined;
  private readonly readFds = new Map<number, number>();
  private readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  closed = false;

  private constructor(
    dir: string,
    committer: GroupCommitter,
    options: DelayStoreOptions,
    onRelease: () => void,
  ) {
    this.dir = dir;
    this.committer = committer;
    this.segmentSizeBytes = Math.min(
      options.segmentSizeBytes ?? DEFAULT_DELAY_SEGMENT_BYTES,
      SEGMENT_SPAN - 1,
    );
    this.logger = options.logger ?? (() => {});
    this.onRelease = onRelease;
  }

  /** Opens (creating or recovering) the store in `dir`. */
  static open(
    dir: string,
    committer: GroupCommitter,
    options: DelayStoreOptions = {},
    onRelease: () => void = () => {},
  ): DiskDelayStore {
    mkdirDurable(dir, committer.fs, committer.policy === 'always');
    const store = new DiskDelayStore(dir, committer, options, onRelease);
    store.recoverSegments();
    return store;
  }

  // ---- recovery ----------------------------------------------------------------------------

  private recoverSegments(): void {
    const ids = this.committer.fs
      .readdirSync(this.dir)
      .filter((n) => SEGMENT_NAME.test(n))
      .map((n) => Number(n.slice(0, 20)))
      .sort((a, b) => a - b);
    let due: Float64Array<ArrayBuffer> = new Float64Array(1024);
    let refs: Float64Array<ArrayBuffer> = new Float64Array(1024);
    let count = 0;
    for (const id of ids) {
      const segment = new Segment(id, this.segmentPath(id));
      this.segments.set(id, segment);
      this.nextSegmentId = id + 1;
      const base = id * SEGMENT_SPAN;
      segment.sealedSizeBytes = this.scanSegment(segment, (type, buf, start, end, recordStart) => {
        if (end - start < 8) return;
        const dueAtMs = buf.readDoubleLE(start);
        if (type === FIRED_RECORD_TYPE) {
          if (end - start < 16) return;
          const ref = buf.readDoubleLE(start + 8);
          if (compareKeys(dueAtMs, ref, this.markDueMs, this.markRef) > 0) {
            this.markDueMs = dueAtMs;
            this.markRef = ref;
          }
        } else if (type === DELAYED_RECORD_TYPE && end - start > 8) {
          // Transient messages do not survive a restart (as in RabbitMQ).
          if ((buf[start + 8]! & FLAG_PERSISTENT) === 0) return;
          const ref = base + recordStart;
          segment.noteMessage(dueAtMs, ref);
          if (count === due.length) {
            due = grow(due);
            refs = grow(refs);
          }
          due[count] = dueAtMs;
          refs[count] = ref;
          count++;
        }
      });
    }
    // Keep what has not fired: the mark is only known once every segment was read.
    let kept = 0;
    for (let i = 0; i < count; i++) {
      if (compareKeys(due[i]!, refs[i]!, this.markDueMs, this.markRef) > 0) {
        due[kept] = due[i]!;
        refs[kept] = refs[i]!;
        kept++;
      }
    }
    this.recovered = { due, refs, count: kept };
    if (this.segments.size > 0) {
      // Appends go to a new segment that starts with the mark; fired segments are deleted once
      // that copy of the mark is durable.
      this.roll();
      this.committer.afterDurable(() => this.deleteFiredSegments(this.markDueMs, this.markRef));
    }
  }

  /** Scans one segment, truncating a torn or corrupt tail; returns its valid size. */
  private scanSegment(
    segment: Segment,
    visit: (type: number, buf: Buffer, start: number, end: number, recordStart: number) => void,
  ): number {
    const fd = this.committer.fs.openSync(segment.path, 'r+');
    try {
      const size = this.committer.fs.fstatSync(fd).size;
      const result = scanFile(fd, size, visit, undefined, this.committer.fs);
      if (result.validBytes < size) {
        this.logger(
          `delay store ${this.dir}: segment ${segment.id}: ${result.stopReason} record at byte ${result.validBytes}; ` +
            `truncated ${size - result.validBytes} bytes (kept ${result.records} records)`,
        );
        this.committer.fs.ftruncateSync(fd, result.validBytes);
        if (this.committer.policy !== 'never') this.committer.fs.fdatasyncSync(fd);
      }
      return result.validBytes;
    } finally {
      this.committer.fs.closeSync(fd);
    }
  }

  recover(visit: (dueAtMs: number, ref: number) => void): number {
    const recovered = this.recovered;
    this.recovered = undefined;
    if (recovered) for (let i = 0; i < recovered.count; i++) visit(recovered.due[i]!, recovered.refs[i]!);
    return this.markDueMs;
  }

  /** Messages found at open and not yet handed to recover() (for tests). */
  get recoveredCount(): number {
    return this.recovered?.count ?? 0;
  }

  // ---- appends -----------------------------------------------------------------------------

  add(message: Message, dueAtMs: number): number {
    if (this.closed) throw new Error(`delay store ${this.dir} is closed`);
    const payloadLength = 8 + messageRecordLength(message, 0);
    const segment = this.segmentFor(RECORD_HEADER_BYTES + payloadLength);
    const file = segment.file!;
    const position = file.sizeBytes;
    const offset = file.reserve(RECORD_HEADER_BYTES + payloadLength);
    const staging = file.staging;
    staging.writeDoubleLE(dueAtMs, offset + RECORD_HEADER_BYTES);
    encodeMessageRecord(staging, offset + RECORD_HEADER_BYTES + 8, message, 0);
    writeRecordHeader(staging, offset, DELAYED_RECORD_TYPE, payloadLength);
    const ref = segment.id * SEGMENT_SPAN + position;
    segment.noteMessage(dueAtMs, ref);
    return ref;
  }

  private segmentFor(totalBytes: number): Segment {
    const active = this.active;
    if (active && (active.sizeBytes === 0 || active.sizeBytes + totalBytes <= this.segmentSizeBytes))
      return active;
    return this.roll();
  }

  /** Starts a new active segment, beginning with the latest mark. */
  private roll(): Segment {
    const old = this.active;
    const id = this.nextSegmentId++;
    const segment = new Segment(id, this.segmentPath(id));
    segment.file = this.committer.openFile(segment.path);
    this.segments.set(segment.id, segment);
    this.active = segment;
    if (old?.file) {
      old.sealedSizeBytes = old.file.sizeBytes;
      old.file.close();
      old.file = undefined;
    }
    if (this.markDueMs !== Number.NEGATIVE_INFINITY) this.appendMark(segment, this.markDueMs, this.markRef);
    return segment;
  }

  private appendMark(segment: Segment, dueAtMs: number, ref: number): void {
    const file = segment.file!;
    const offset = file.reserve(RECORD_HEADER_BYTES + 16);
    file.staging.writeDoubleLE(dueAtMs, offset + RECORD_HEADER_BYTES);
    file.staging.writeDoubleLE(ref, offset + RECORD_HEADER_BYTES + 8);
    writeRecordHeader(file.staging, offset, FIRED_RECORD_TYPE, 16);
  }

  fired(dueAtMs: number, ref: number): void {
    // The mark waits for the writes the routing made; segment deletion waits for the mark.
    this.committer.afterDurable(() => {
      if (this.closed || compareKeys(dueAtMs, ref, this.markDueMs, this.markRef) <= 0) return;
      this.markDueMs = dueAtMs;
      this.markRef = ref;
      const before = this.active;
      const segment = this.segmentFor(RECORD_HEADER_BYTES + 16);
      if (segment === before) this.appendMark(segment, dueAtMs, ref); // a new segment starts with it
      this.committer.afterDurable(() => this.deleteFiredSegments(dueAtMs, ref));
    });
  }

  /** Deletes sealed segments holding nothing after (dueAtMs, ref). */
  private deleteFiredSegments(dueAtMs: number, ref: number): void {
    if (this.closed) return;
    for (const segment of [...this.segments.values()]) {
      if (segment === this.active) continue;
      if (compareKeys(segment.maxDueMs, segment.maxRef, dueAtMs, ref) > 0) continue;
      this.segments.delete(segment.id);
      this.closeReadFd(segment.id);
      try {
        this.committer.fs.unlinkSync(segment.path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
  }

  // ---- reads -------------------------------------------------------------------------------

  take(ref: number): Message | undefined {
    const segmentId = Math.floor(ref / SEGMENT_SPAN);
    const position = ref - segmentId * SEGMENT_SPAN;
    const segment = this.segments.get(segmentId);
    if (!segment) {
      this.logger(`delay store ${this.dir}: message ${ref} is in segment ${segmentId}, which is gone`);
      return undefined;
    }
    // A message can fall due in the turn it was appended, before the committer wrote it.
    if (segment.file && segment.file.writtenBytes < segment.file.sizeBytes) segment.file.writeStaged();
    const fd = segment.file ? segment.file.fd : this.readFd(segment);
    let buf = this.readBuffer;
    let got = readFully(
      fd,
      buf,
      Math.min(buf.length, segment.sizeBytes - position),
      position,
      this.committer.fs,
    );
    if (got >= RECORD_HEADER_BYTES) {
      const total = RECORD_HEADER_BYTES + buf.readUInt32LE(0);
      if (total > got) {
        buf = Buffer.allocUnsafe(total);
        got = readFully(fd, buf, total, position, this.committer.fs);
      }
    }
    // scanBuffer checks the length and CRC of exactly this one record.
    const end = got >= RECORD_HEADER_BYTES ? Math.min(got, RECORD_HEADER_BYTES + buf.readUInt32LE(0)) : got;
    let message: Message | undefined;
    scanBuffer(
      buf,
      (type, record, start, recordEnd) => {
        if (type === DELAYED_RECORD_TYPE)
          message = decodeMessageRecord(record.subarray(start + 8, recordEnd)).message;
      },
      0,
      end,
    );
    if (!message)
      this.logger(`delay store ${this.dir}: unreadable message record at ${segmentId}:${position}`);
    return message;
  }

  private readFd(segment: Segment): number {
    const open = this.readFds.get(segment.id);
    if (open !== undefined) {
      // Most recently used last.
      this.readFds.delete(segment.id);
      this.readFds.set(segment.id, open);
      return open;
    }
    if (this.readFds.size >= MAX_READ_FDS) this.closeReadFd(this.readFds.keys().next().value as number);
    const fd = this.committer.fs.openSync(segment.path, 'r');
    this.readFds.set(segment.id, fd);
    return fd;
  }

  private closeReadFd(segmentId: number): void {
    const fd = this.readFds.get(segmentId);
    if (fd === undefined) return;
    this.readFds.delete(segmentId);
    this.committer.fs.closeSync(fd);
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  /** Segment files kept (for tests and metrics). */
  get segmentCount(): number {
    return this.segments.size;
  }

  private segmentPath(id: number): string {
    return join(this.dir, `${String(id).padStart(20, '0')}.seg`);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const id of [...this.readFds.keys()]) this.closeReadFd(id);
    this.active?.file?.close();
    this.active = undefined;
    this.readBuffer = Buffer.alloc(0);
    this.onRelease();
  }

  destroy(): void {
    const wasClosed = this.closed;
    this.closed = true;
    for (const id of [...this.readFds.keys()]) this.closeReadFd(id);
    this.active?.file?.discard();
    this.active = undefined;
    this.segments.clear();
    this.committer.fs.rmSync(this.dir, { recursive: true, force: true });
    if (!wasClosed) this.onRelease();
  }
}

function grow(array: Float64Array): Float64Array<ArrayBuffer> {
  const bigger = new Float64Array(array.length * 2);
  bigger.set(array);
  return bigger;
}

/** The delay stores of every delayed exchange under `<dataDir>/delayed`. */
export class DelayStorage {
  readonly root: string;
  private readonly open = new Map<string, DiskDelayStore>();

  constructor(
    dataDir: string,
    private readonly committer: GroupCommitter,
    private readonly options: DelayStoreOptions = {},
  ) {
    this.root = join(dataDir, 'delayed');
    mkdirDurable(this.root, this.committer.fs, this.committer.policy === 'always');
  }

  static dirName(vhost: string, exchange: string): string {
    return createHash('sha1').update(`${vhost}\0${exchange}`).digest('hex');
  }

  /**
   * Opens the store of a delayed exchange. A durable exchange's data is recovered; a transient
   * exchange starts empty (anything left from an earlier run is deleted).
   */
  openStore(vhost: string, exchange: string, durable: boolean): DiskDelayStore {
    const name = DelayStorage.dirName(vhost, exchange);
    if (this.open.has(name))
      throw new Error(`delay store of exchange '${exchange}' in vhost '${vhost}' is already open`);
    const dir = join(this.root, name);
    if (!durable) this.committer.fs.rmSync(dir, { recursive: true, force: true });
    const namePath = join(dir, 'name.json');
    if (!this.committer.fs.existsSync(namePath)) {
      mkdirDurable(dir, this.committer.fs, this.committer.policy === 'always');
      this.committer.fs.writeFileSync(namePath, `${JSON.stringify({ vhost, exchange })}\n`);
    }
    const store = DiskDelayStore.open(dir, this.committer, this.options, () => this.open.delete(name));
    this.open.set(name, store);
    return store;
  }

  /** Deletes the data of every delayed exchange whose store is not open (deleted or transient ones). */
  removeOrphans(): void {
    for (const name of this.committer.fs.readdirSync(this.root)) {
      if (this.open.has(name)) continue;
      this.options.logger?.(
        `storage: removing delayed messages of unknown exchange in ${join(this.root, name)}`,
      );
      this.committer.fs.rmSync(join(this.root, name), { recursive: true, force: true });
    }
  }

  /** Closes every open store (broker shutdown; the committer then syncs what they wrote). */
  close(): void {
    for (const store of [...this.open.values()]) store.close();
  }
}
