/**
 * One stream's log on disk: a directory of segment files `<20-digit base offset>.seg`, each holding
 * stream records (stream-record.ts) in offset order, with a sparse index `<base offset>.idx`
 * (stream-index.ts) for seeking by offset and by timestamp. The newest segment takes appends; a
 * segment is closed once the next record would take it past the segment size. Retention deletes
 * whole closed segments, oldest first. There are no ack files: readers keep their own offsets.
 *
 * Appends are staged in the group committer (one write and one fdatasync per turn for every file),
 * so a publisher confirm can wait for the round that covers them. Bodies are not kept in memory
 * beyond a small cache of the newest entries; readers further behind read the segment files.
 *
 * Recovery: the newest segment is scanned whole (CRCs checked, a torn or corrupt tail truncated)
 * and its index rebuilt; older segments keep their index when it fits the file, and only the part
 * after their last index entry is scanned to find where they end.
 */
import { join } from 'node:path';
import type {
  ClosedSegment,
  StreamEntry,
  StreamRetention,
  StreamStore,
} from '../../core/stream/stream-store.js';
import { type AppendFile, fsyncDir, type GroupCommitter, mkdirDurable } from '../group-commit.js';
import { rewriteLog } from '../log-rewrite.js';
import { RECORD_HEADER_BYTES, readFully, recordIntact, scanBuffer, scanFile } from '../record-format.js';
import type { StorageFs } from '../storage-fs.js';
import { SegmentIndex } from './stream-index.js';
import {
  decodeStreamRecord,
  encodeStreamRecord,
  readStreamRecordHeader,
  streamRecordPayloadLength,
} from './stream-record.js';
import { StreamTailCache } from './stream-tail-cache.js';

export interface DiskStreamStoreOptions {
  /** A segment is closed once the next record would take it past this size. */
  readonly segmentSizeBytes: number;
  /** Kafka's segment.ms: the newest segment is closed at an append this long after its first entry. */
  readonly segmentMaxAgeMs?: number | undefined;
  /** Bytes of records between two index entries (default 16 KiB): a seek scans at most about this. */
  readonly indexIntervalBytes?: number;
  /** Newest entries served from memory (default 4096 entries, 4 MiB). */
  readonly tailCacheEntries?: number;
  readonly tailCacheBytes?: number;
  /** Size of the reads that serve readers behind the cache (default 256 KiB). */
  readonly readChunkBytes?: number;
  readonly logger?: (line: string) => void;
  /** Called once when the log is closed or destroyed (Storage tracks its open logs). */
  readonly onRelease?: () => void;
}

export const DEFAULT_INDEX_INTERVAL_BYTES = 16 * 1024;
const DEFAULT_TAIL_CACHE_ENTRIES = 4096;
const DEFAULT_TAIL_CACHE_BYTES = 4 * 1024 * 1024;
const DEFAULT_READ_CHUNK_BYTES = 256 * 1024;
/** Positions in a segment are u32 in the index. */
const MAX_SEGMENT_SIZE_BYTES = 0xffff_ffff;
/** Segment files whose read fds stay open, for readers moving through old segments. */
const MAX_OPEN_READ_FDS = 4;
const SEGMENT_SUFFIX = '.seg';
const INDEX_SUFFIX = '.idx';
/** A compacted segment being written: renamed over the segment once synced (log-rewrite.ts). */
const CLEANED_SUFFIX = '.seg.cleaned';

class Segment {
  /** Open for appends only while this is the newest segment. */
  data: AppendFile | undefined;
  indexFile: AppendFile | undefined;
  /** Size of a segment not open for appends. */
  sealedSizeBytes = 0;
  /** One past the last offset stored in it. */
  nextOffset: number;
  /** First offset of its newest entry, undefined while empty. */
  lastEntryOffset: number | undefined;
  /** Newest timestamp of its entries (0 while empty): retention by age looks at it. */
  maxTimestampMs = 0;
  /** Timestamp of its first entry (segment.ms counts from it); known for the newest segment. */
  firstTimestampMs: number | undefined;
  index = new SegmentIndex();
  lastIndexedPosition = 0;
  /**
   * Records at positions below this were not CRC-checked at recovery (a sealed segment is checked
   * only past its last index entry); readers check them, once: `checkedBytes` is the prefix done.
   */
  uncheckedEnd = 0;
  checkedBytes = 0;

  constructor(
    readonly baseOffset: number,
    readonly dataPath: string,
    readonly indexPath: string,
  ) {
    this.nextOffset = baseOffset;
  }

  get sizeBytes(): number {
    return this.data ? this.data.sizeBytes : this.sealedSizeBytes;
  }

  get isEmpty(): boolean {
    return this.lastEntryOffset === undefined;
  }
}

/** Called per record; return true to stop. */
type RecordVisitor = (type: number, buf: Buffer, start: number, end: number, position: number) => boolean;

export class DiskStreamStore implements StreamStore {
  readonly dir: string;
  private readonly committer: GroupCommitter;
  private readonly segmentSizeBytes: number;
  private readonly segmentMaxAgeMs: number | undefined;
  private readonly indexIntervalBytes: number;
  private readonly readChunkBytes: number;
  private readonly logger: (line: string) => void;
  private readonly onRelease: (() => void) | undefined;
  private readonly tail: StreamTailCache;
  /** Segments in offset order; the last one takes appends. */
  private segments: Segment[] = [];
  private next = 0;
  private readonly readFds = new Map<Segment, number>();
  /** Damaged records already reported (segment base:position), so each is logged once. */
  private readonly reportedDamage = new Set<string>();
  private closed = false;

  private constructor(dir: string, committer: GroupCommitter, options: DiskStreamStoreOptions) {
    this.dir = dir;
    this.committer = committer;
    this.segmentSizeBytes = Math.min(Math.max(1, options.segmentSizeBytes), MAX_SEGMENT_SIZE_BYTES);
    this.segmentMaxAgeMs = options.segmentMaxAgeMs;
    this.indexIntervalBytes = options.indexIntervalBytes ?? DEFAULT_INDEX_INTERVAL_BYTES;
    this.readChunkBytes = options.readChunkBytes ?? DEFAULT_READ_CHUNK_BYTES;
    this.logger = options.logger ?? (() => {});
    this.onRelease = options.onRelease;
    this.tail = new StreamTailCache(
      options.tailCacheEntries ?? DEFAULT_TAIL_CACHE_ENTRIES,
      options.tailCacheBytes ?? DEFAULT_TAIL_CACHE_BYTES,
    );
  }

  /** Opens (creating if needed) the log in `dir` and recovers it. */
  static open(dir: string, committer: GroupCommitter, options: DiskStreamStoreOptions): DiskStreamStore {
    mkdirDurable(dir, committer.fs, committer.policy === 'always');
    const log = new DiskStreamStore(dir, committer, options);
    log.recover();
    return log;
  }

  // ---- StreamStore ------------------------------------------------------------------------

  get firstOffset(): number {
    return this.segments[0]?.baseOffset ?? this.next;
  }

  get nextOffset(): number {
    return this.next;
  }

  get lastEntryOffset(): number | undefined {
    for (let i = this.segments.length - 1; i >= 0; i--) {
      const last = this.segments[i]!.lastEntryOffset;
      if (last !== undefined) return last;
    }
    return undefined;
  }

  get sizeBytes(): number {
    let size = 0;
    for (const segment of this.segments) size += segment.sizeBytes;
    return size;
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  append(entry: StreamEntry): void {
    if (this.closed) throw new Error(`stream log ${this.dir} is closed`);
    if (entry.offset !== this.next)
      throw new Error(`append at offset ${entry.offset}, expected ${this.next}`);
    const payloadLength = streamRecordPayloadLength(entry);
    const total = RECORD_HEADER_BYTES + payloadLength;
    let seg = this.segments.at(-1);
    if (
      !seg ||
      (seg.sizeBytes > 0 && seg.sizeBytes + total > this.segmentSizeBytes) ||
      (this.segmentMaxAgeMs !== undefined &&
        seg.firstTimestampMs !== undefined &&
        entry.timestampMs - seg.firstTimestampMs >= this.segmentMaxAgeMs)
    )
      seg = this.roll();
    if (!seg.data) this.openForAppend(seg);
    const file = seg.data!;
    const position = file.sizeBytes;
    const at = file.reserve(total); // may replace file.staging: read it only afterwards
    encodeStreamRecord(file.staging, at, entry, payloadLength);
    if (seg.index.length === 0 || position - seg.lastIndexedPosition >= this.indexIntervalBytes) {
      seg.indexFile!.append(seg.index.add(entry.offset, seg.maxTimestampMs, position));
      seg.lastIndexedPosition = position;
    }
    seg.maxTimestampMs = Math.max(seg.maxTimestampMs, entry.timestampMs);
    seg.firstTimestampMs ??= entry.timestampMs;
    seg.lastEntryOffset = entry.offset;
    seg.nextOffset = entry.offset + entry.offsetCount;
    this.next = seg.nextOffset;
    this.tail.push(entry);
  }

  read(offset: number, maxEntries: number, maxBytes: number): StreamEntry[] {
    const out: StreamEntry[] = [];
    let want = Math.max(offset, this.firstOffset);
    let bytes = 0;
    const full = () => out.length >= maxEntries || bytes >= maxBytes;
    // The newest entries come from memory; only what lies before them is read from disk.
    const cachedFrom = this.tail.firstOffset ?? this.next;
    for (let i = this.segmentIndexFor(want); i < this.segments.length && want < cachedFrom && !full(); i++) {
      const seg = this.segments[i]!;
      if (seg.nextOffset <= want) continue;
      this.forEachRecord(seg, seg.index.positionForOffset(want), (type, buf, start, end) => {
        const header = readStreamRecordHeader(buf, start, end);
        if (!header || header.offset >= cachedFrom) return true;
        if (header.offset + header.offsetCount <= want) return false;
        const entry = decodeStreamRecord(type, buf, start, end);
        out.push(entry);
        bytes += entry.payload.length;
        want = entry.offset + entry.offsetCount;
        return full();
      });
    }
    if (!full() && cachedFrom < this.next) {
      this.tail.read(Math.max(want, cachedFrom), out, maxEntries, maxBytes, bytes);
    }
    return out;
  }

  offsetForTimestamp(timestampMs: number): number {
    for (const seg of this.segments) {
      if (seg.isEmpty || seg.maxTimestampMs < timestampMs) continue;
      let found: number | undefined;
      this.forEachRecord(seg, seg.index.positionForTimestamp(timestampMs), (_type, buf, start, end) => {
        const header = readStreamRecordHeader(buf, start, end);
        if (!header) return true;
        if (header.timestampMs < timestampMs) return false;
        found = header.offset;
        return true;
      });
      if (found !== undefined) return found;
    }
    return this.next;
  }

  closedSegments(): ClosedSegment[] {
    const out: ClosedSegment[] = [];
    for (let i = 0; i < this.segments.length - 1; i++) {
      const seg = this.segments[i]!;
      out.push({
        baseOffset: seg.baseOffset,
        nextOffset: seg.nextOffset,
        sizeBytes: seg.sizeBytes,
        maxTimestampMs: seg.maxTimestampMs,
      });
    }
    return out;
  }

  /**
   * Compaction's rewrite of a closed segment: the new records go to `<base>.seg.cleaned`, synced,
   * renamed over `<base>.seg`, the directory synced (log-rewrite.ts). The index is removed first
   * and written after: recovery rebuilds a missing one from whichever segment file it finds, so a
   * crash anywhere leaves the old segment or the new one, each with a matching index.
   */
  rewriteSegment(baseOffset: number, entries: readonly StreamEntry[]): void {
    if (this.closed) throw new Error(`stream log ${this.dir} is closed`);
    const at = this.segments.findIndex((s) => s.baseOffset === baseOffset);
    if (at < 0 || at === this.segments.length - 1)
      throw new Error(`stream log ${this.dir}: no closed segment starts at offset ${baseOffset}`);
    const seg = this.segments[at]!;
    let expected = seg.baseOffset;
    let total = 0;
    for (const entry of entries) {
      if (entry.offset !== expected || entry.offsetCount < 1)
        throw new Error(
          `stream log ${this.dir}: compacted entries of segment ${baseOffset} must tile its offsets ` +
            `(entry at ${entry.offset}, expected ${expected})`,
        );
      expected = entry.offset + entry.offsetCount;
      total += RECORD_HEADER_BYTES + streamRecordPayloadLength(entry);
    }
    if (expected !== seg.nextOffset || entries.length === 0)
      throw new Error(
        `stream log ${this.dir}: compacted entries of segment ${baseOffset} end at ${expected}, ` +
          `the segment at ${seg.nextOffset}`,
      );
    const bytes = Buffer.allocUnsafe(total);
    const index = new SegmentIndex();
    let position = 0;
    let lastIndexed = 0;
    let maxTimestampMs = 0;
    for (const entry of entries) {
      const payloadLength = streamRecordPayloadLength(entry);
      encodeStreamRecord(bytes, position, entry, payloadLength);
      if (index.length === 0 || position - lastIndexed >= this.indexIntervalBytes) {
        index.add(entry.offset, maxTimestampMs, position);
        lastIndexed = position;
      }
      maxTimestampMs = Math.max(maxTimestampMs, entry.timestampMs);
      position += RECORD_HEADER_BYTES + payloadLength;
    }
    const fs = this.committer.fs;
    const fd = this.readFds.get(seg);
    if (fd !== undefined) fs.closeSync(fd);
    this.readFds.delete(seg);
    if (this.committer.policy !== 'never') this.syncClosedSegments();
    unlinkQuiet(fs, seg.indexPath);
    rewriteLog(
      seg.dataPath,
      seg.dataPath.slice(0, -SEGMENT_SUFFIX.length) + CLEANED_SUFFIX,
      bytes,
      this.committer.policy,
      fs,
    );
    fs.writeFileSync(seg.indexPath, index.bytes());
    seg.index = index;
    seg.lastIndexedPosition = lastIndexed;
    seg.sealedSizeBytes = total;
    seg.maxTimestampMs = maxTimestampMs;
    seg.lastEntryOffset = entries.at(-1)!.offset;
    // Cached copies of the old entries would hide the compaction from readers.
    this.tail.dropBefore(seg.nextOffset);
  }

  /**
   * Syncs the data of every closed segment, oldest first (the one about to be rewritten too: if the
   * rename is lost in a crash, its old file is what recovery finds). The rewrite syncs files and the
   * directory, which can make newer segment files' names durable; their predecessors' data must be
   * durable first, or a crash could leave a closed segment with lost writes in its middle that
   * recovery, trusting its index, would not see (only the newest segment is scanned whole).
   * Segments already synced cost an fdatasync with nothing to write.
   */
  private syncClosedSegments(): void {
    const fs = this.committer.fs;
    for (let i = 0; i < this.segments.length - 1; i++) {
      const fd = fs.openSync(this.segments[i]!.dataPath, 'r');
      try {
        fs.fdatasyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }
  }

  applyRetention(nowMs: number, retention: StreamRetention): number {
    if (this.closed) return 0;
    let size = this.sizeBytes;
    let dropped = 0;
    while (this.segments.length > 1) {
      const oldest = this.segments[0]!;
      const tooBig = retention.maxBytes !== undefined && size > retention.maxBytes;
      const tooOld = retention.maxAgeMs !== undefined && oldest.maxTimestampMs < nowMs - retention.maxAgeMs;
      if (!tooBig && !tooOld) break;
      size -= oldest.sizeBytes;
      this.segments.shift();
      this.deleteSegmentFiles(oldest);
      dropped++;
    }
    if (dropped > 0) this.tail.dropBefore(this.firstOffset);
    return dropped;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onRelease?.();
    for (const seg of this.segments) {
      seg.data?.close();
      seg.indexFile?.close();
      seg.data = undefined;
      seg.indexFile = undefined;
    }
    this.closeReadFds();
    this.tail.clear();
  }

  destroy(): void {
    if (!this.closed) this.onRelease?.();
    this.closed = true;
    for (const seg of this.segments) {
      seg.data?.discard();
      seg.indexFile?.discard();
    }
    this.segments = [];
    this.closeReadFds();
    this.tail.clear();
    this.committer.fs.rmSync(this.dir, { recursive: true, force: true });
  }

  // ---- appending ----------------------------------------------------------------------------

  /** Closes the newest segment for appends and starts a new one at the next offset. */
  private roll(): Segment {
    const old = this.segments.at(-1);
    if (old?.data) {
      // A power cut may write back a file's pages in any order, so a sealed segment whose tail
      // was still unsynced could come back with a hole before records that did reach the disk.
      // Recovery trusts a sealed segment's index and scans only past its last entry (startup
      // stays fast), so it would not see the hole: offsets a reader can never cross (power-cut
      // seed 208). Syncing the segment before its successor exists keeps every sealed one whole;
      // under 'always' that is at most one turn's appends.
      if (this.committer.policy !== 'never') {
        old.data.syncNow();
        old.indexFile?.syncNow();
      }
      old.sealedSizeBytes = old.data.sizeBytes;
      old.data.close();
      old.indexFile?.close();
      old.data = undefined;
      old.indexFile = undefined;
    }
    const seg = this.newSegment(this.next);
    this.segments.push(seg);
    this.openForAppend(seg);
    return seg;
  }

  private openForAppend(seg: Segment): void {
    seg.data = this.committer.openFile(seg.dataPath);
    seg.indexFile = this.committer.openFile(seg.indexPath);
  }

  private newSegment(baseOffset: number): Segment {
    const name = String(baseOffset).padStart(20, '0');
    return new Segment(
      baseOffset,
      join(this.dir, name + SEGMENT_SUFFIX),
      join(this.dir, name + INDEX_SUFFIX),
    );
  }

  // ---- reading ------------------------------------------------------------------------------

  /** Index of the segment that holds `offset` (the last one starting at or before it; 0 if none). */
  private segmentIndexFor(offset: number): number {
    let lo = 0;
    let hi = this.segments.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.segments[mid]!.baseOffset <= offset) lo = mid + 1;
      else hi = mid;
    }
    return Math.max(0, lo - 1);
  }

  /**
   * Reads the records of `seg` from `position` on, in chunks of its own (so payload slices handed
   * out stay valid), calling `visit` until it returns true or the segment ends. A record that
   * cannot be read (the file changed under us) is logged and ends the scan.
   */
  private forEachRecord(seg: Segment, position: number, visit: RecordVisitor): void {
    let end = seg.sizeBytes;
    if (seg.data) {
      // Appends still staged in the committer: write them so the read sees them.
      if (seg.data.writtenBytes < end) seg.data.writeStaged();
      end = seg.data.writtenBytes;
    }
    const fd = this.readFd(seg);
    let pos = position;
    let chunkBytes = this.readChunkBytes;
    while (pos + RECORD_HEADER_BYTES <= end) {
      const want = Math.min(chunkBytes, end - pos);
      const buf = Buffer.allocUnsafe(want);
      const got = readFully(fd, buf, want, pos, this.committer.fs);
      let p = 0;
      let damagedAt: number | undefined;
      while (p + RECORD_HEADER_BYTES <= got) {
        const total = RECORD_HEADER_BYTES + buf.readUInt32LE(p);
        if (p + total > got) break;
        // Recovery checks sealed segments only past their last index entry (fast startup): bit rot
        // before it is caught here, so a damaged record is never served. Sequential readers check
        // each such record once per process (catching up costs one CRC pass, not one per reader).
        const at = pos + p;
        if (at < seg.uncheckedEnd && at >= seg.checkedBytes) {
          if (!recordIntact(buf, p, total)) {
            damagedAt = at;
            break;
          }
          if (at === seg.checkedBytes) seg.checkedBytes = at + total;
        }
        let stop: boolean;
        try {
          stop = visit(buf[p + 8]!, buf, p + RECORD_HEADER_BYTES, p + total, pos + p);
        } catch (err) {
          this.logger(
            `stream log ${this.dir}: unreadable record at byte ${pos + p} of ${seg.dataPath}: ${err}`,
          );
          return;
        }
        p += total;
        if (stop) return;
      }
      if (damagedAt === undefined && p === 0) {
        // One record larger than the chunk: read it whole next time round.
        const total = got >= RECORD_HEADER_BYTES ? RECORD_HEADER_BYTES + buf.readUInt32LE(0) : 0;
        if (total > want && pos + total <= end) {
          chunkBytes = total;
          continue;
        }
        damagedAt = pos; // a length that does not fit the segment
      }
      if (damagedAt !== undefined) {
        const resume = this.skipDamage(seg, damagedAt);
        if (resume === undefined) return;
        pos = resume;
        chunkBytes = this.readChunkBytes;
        continue;
      }
      chunkBytes = this.readChunkBytes;
      pos += p;
    }
  }

  /**
   * A record that fails its CRC (or whose length does not fit): readers resume at the next index
   * entry of the segment, or at the next segment; the offsets in between are lost (logged loudly,
   * once per place). Returns the position to resume at, or undefined for the segment's end.
   */
  private skipDamage(seg: Segment, position: number): number | undefined {
    const resume = seg.index.positionAfter(position);
    const key = `${seg.baseOffset}:${position}`;
    if (!this.reportedDamage.has(key)) {
      this.reportedDamage.add(key);
      this.logger(
        `stream log ${this.dir}: CORRUPT record at byte ${position} of ${seg.dataPath} (checksum mismatch); ` +
          `never served: readers skip to ${resume === undefined ? 'the next segment' : `byte ${resume}`}, the offsets in between are lost`,
      );
    }
    return resume;
  }

  private readFd(seg: Segment): number {
    let fd = this.readFds.get(seg);
    if (fd !== undefined) return fd;
    if (this.readFds.size >= MAX_OPEN_READ_FDS) {
      const [oldest, oldestFd] = this.readFds.entries().next().value as [Segment, number];
      this.readFds.delete(oldest);
      this.committer.fs.closeSync(oldestFd);
    }
    fd = this.committer.fs.openSync(seg.dataPath, 'r');
    this.readFds.set(seg, fd);
    return fd;
  }

  private closeReadFds(): void {
    for (const fd of this.readFds.values()) this.committer.fs.closeSync(fd);
    this.readFds.clear();
  }

  private deleteSegmentFiles(seg: Segment): void {
    seg.data?.discard();
    seg.indexFile?.discard();
    seg.data = undefined;
    seg.indexFile = undefined;
    const fd = this.readFds.get(seg);
    if (fd !== undefined) this.committer.fs.closeSync(fd);
    this.readFds.delete(seg);
    unlinkQuiet(this.committer.fs, seg.dataPath);
    unlinkQuiet(this.committer.fs, seg.indexPath);
  }

  // ---- recovery -----------------------------------------------------------------------------

  private recover(): void {
    const names = this.committer.fs.readdirSync(this.dir);
    const bases = names
      .filter((n) => /^\d{20}\.seg$/.test(n))
      .map((n) => Number(n.slice(0, 20)))
      .sort((a, b) => a - b);
    const baseSet = new Set(bases);
    for (const n of names) {
      // A compaction interrupted before its rename: the segment itself is intact.
      if (n.endsWith(CLEANED_SUFFIX)) unlinkQuiet(this.committer.fs, join(this.dir, n));
      // An index whose segment is gone (deleted just before a crash) is garbage.
      if (/^\d{20}\.idx$/.test(n) && !baseSet.has(Number(n.slice(0, 20))))
        unlinkQuiet(this.committer.fs, join(this.dir, n));
    }
    for (let i = 0; i < bases.length; i++) {
      const prev = this.segments.at(-1);
      if (prev && bases[i]! > prev.nextOffset) {
        // The previous segment lost its tail in a crash (power loss drops unsynced writes) but a
        // later segment file survived: a gap readers could never cross. Nothing past the gap was
        // acknowledged (a sync round covering a later segment also covers the earlier one's
        // tail), so the log ends where the damage starts.
        this.logger(
          `stream log ${this.dir}: offsets ${prev.nextOffset} to ${bases[i]! - 1} lost in a crash; ` +
            `dropping the ${bases.length - i} segment(s) after them (never acknowledged)`,
        );
        for (const base of bases.slice(i)) this.deleteSegmentFiles(this.newSegment(base));
        // Durably: offsets past the gap are handed out again, and must not meet the old files.
        if (this.committer.policy !== 'never') fsyncDir(this.dir, this.committer.fs);
        break;
      }
      const seg = this.newSegment(bases[i]!);
      const newest = i === bases.length - 1;
      if (newest || !this.loadIndex(seg)) this.rebuildIndex(seg);
      if (seg.isEmpty && !newest) {
        // Nothing valid in it: drop it (the newest is kept: its name holds the next offset).
        this.deleteSegmentFiles(seg);
        continue;
      }
      this.segments.push(seg);
    }
    this.next = this.segments.at(-1)?.nextOffset ?? 0;
  }

  /**
   * Loads a closed segment's index if it fits the file, and scans the records after its last
   * entry to find where the segment ends. Returns false when the segment needs a full rebuild.
   */
  private loadIndex(seg: Segment): boolean {
    let bytes: Buffer;
    let size: number;
    try {
      bytes = this.committer.fs.readFileSync(seg.indexPath);
      size = this.committer.fs.statSync(seg.dataPath).size;
    } catch {
      return false;
    }
    const index = SegmentIndex.fromBytes(bytes, seg.baseOffset, size);
    if (!index) return false;
    const last = index.length - 1;
    const from = index.positionAt(last);
    const fd = this.committer.fs.openSync(seg.dataPath, 'r');
    let buf: Buffer;
    try {
      buf = Buffer.allocUnsafe(size - from);
      if (readFully(fd, buf, buf.length, from, this.committer.fs) !== buf.length) return false;
    } finally {
      this.committer.fs.closeSync(fd);
    }
    let maxTimestampMs = index.timestampBeforeAt(last);
    let expected = index.offsetAt(last);
    let ok = true;
    const result = scanBuffer(buf, (_type, b, start, end) => {
      const header = readStreamRecordHeader(b, start, end);
      if (!ok || !header || header.offset !== expected) {
        ok = false;
        return;
      }
      seg.lastEntryOffset = header.offset;
      expected = header.offset + header.offsetCount;
      maxTimestampMs = Math.max(maxTimestampMs, header.timestampMs);
    });
    if (!ok || result.stopReason !== undefined || result.records === 0) {
      seg.lastEntryOffset = undefined;
      return false;
    }
    seg.index = index;
    seg.lastIndexedPosition = from;
    seg.uncheckedEnd = from;
    seg.nextOffset = expected;
    seg.maxTimestampMs = maxTimestampMs;
    seg.sealedSizeBytes = size;
    return true;
  }

  /** Scans a segment whole, truncates a torn or corrupt tail, and rewrites its index. */
  private rebuildIndex(seg: Segment): void {
    const fd = this.committer.fs.openSync(seg.dataPath, 'r+');
    try {
      const size = this.committer.fs.fstatSync(fd).size;
      const index = new SegmentIndex();
      let expected = seg.baseOffset;
      let lastIndexed = 0;
      let maxTimestampMs = 0;
      let badAt: number | undefined;
      const result = scanFile(
        fd,
        size,
        (_type, buf, start, end, position) => {
          if (badAt !== undefined) return;
          const header = readStreamRecordHeader(buf, start, end);
          // Offsets run on without gaps inside a segment; anything else is damage.
          if (!header || header.offset !== expected) {
            badAt = position;
            return;
          }
          if (index.length === 0 || position - lastIndexed >= this.indexIntervalBytes) {
            index.add(header.offset, maxTimestampMs, position);
            lastIndexed = position;
          }
          seg.lastEntryOffset = header.offset;
          seg.firstTimestampMs ??= header.timestampMs;
          expected = header.offset + header.offsetCount;
          maxTimestampMs = Math.max(maxTimestampMs, header.timestampMs);
        },
        undefined,
        this.committer.fs,
      );
      const validBytes = badAt ?? result.validBytes;
      if (validBytes < size) {
        const why = badAt !== undefined ? 'out-of-sequence' : result.stopReason;
        this.logger(
          `stream log ${this.dir}: segment ${seg.baseOffset}: ${why} record at byte ${validBytes}; ` +
            `truncated ${size - validBytes} bytes (kept offsets ${seg.baseOffset} to ${expected - 1})`,
        );
        this.committer.fs.ftruncateSync(fd, validBytes);
        if (this.committer.policy !== 'never') this.committer.fs.fdatasyncSync(fd);
      }
      seg.index = index;
      seg.lastIndexedPosition = lastIndexed;
      seg.nextOffset = expected;
      seg.maxTimestampMs = maxTimestampMs;
      seg.sealedSizeBytes = validBytes;
      // The index is derived: written plainly, rebuilt again if a crash leaves it short.
      this.committer.fs.writeFileSync(seg.indexPath, index.bytes());
    } finally {
      this.committer.fs.closeSync(fd);
    }
  }
}

function unlinkQuiet(fs: StorageFs, path: string): void {
  try {
    fs.unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
