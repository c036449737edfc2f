/**
 * Committed offsets of Kafka consumer groups on disk: one append-only log, `<dir>/offsets.log`,
 * records framed as in record-format.ts and appended through the GroupCommitter, so an
 * OffsetCommit is answered only once its record is durable.
 *
 *   COMMIT (1):       u16 LE group length | group | u32 LE count | count × entry
 *     entry:          u16 LE topic length | topic | i32 LE partition | i64 LE offset
 *                     | i32 LE leader epoch | f64 LE commit time (ms) | u32 LE metadata length | metadata
 *   DELETE_GROUP (2): group (UTF-8, the whole payload)
 *   DELETE_TOPIC (3): topic (UTF-8, the whole payload)
 *
 * One OffsetCommit request is one record, so its offsets are stored all or nothing. Replaying the
 * log in order rebuilds the table. When the log holds many more entries than the table, it is
 * rewritten with one COMMIT per group (compaction): written to `offsets.log.tmp`, synced, renamed
 * over the log; a crash leaves the old log or the new one. Recovery truncates a torn tail.
 */
import { join } from 'node:path';
import {
  type CommittedOffset,
  type GroupOffsetMap,
  type GroupOffsetStore,
  type OffsetCommitEntry,
  OffsetTable,
  type TopicPartitionRef,
} from '../../core/kafka/group-offsets.js';
import { type AppendFile, type GroupCommitter, mkdirDurable } from '../group-commit.js';
import { rewriteLog } from '../log-rewrite.js';
import { RECORD_HEADER_BYTES, scanFile, writeRecordHeader } from '../record-format.js';

export const OFFSET_COMMIT_RECORD = 1;
export const DELETE_GROUP_RECORD = 2;
export const DELETE_TOPIC_RECORD = 3;
/** OffsetDelete: the COMMIT layout, of which only the group, topics and partitions are read. */
export const DELETE_OFFSETS_RECORD = 4;

const LOG_NAME = 'offsets.log';
const TMP_NAME = 'offsets.log.tmp';
/** Fixed bytes of one entry besides its topic and metadata strings. */
const ENTRY_FIXED_BYTES = 2 + 4 + 8 + 4 + 8 + 4;

export interface GroupOffsetLogOptions {
  logger?: (line: string) => void;
  /** The log is compacted once it holds more than this many entries and twice the live ones. */
  compactMinEntries?: number;
}

const DEFAULT_COMPACT_MIN_ENTRIES = 100_000;

function commitPayloadBytes(groupId: string, entries: readonly OffsetCommitEntry[]): number {
  let n = 2 + Buffer.byteLength(groupId) + 4;
  for (const e of entries)
    n += ENTRY_FIXED_BYTES + Buffer.byteLength(e.topic) + Buffer.byteLength(e.metadata);
  return n;
}

/** Encodes a COMMIT record at buf[offset, ...); returns the end. */
function encodeCommit(
  buf: Buffer,
  offset: number,
  groupId: string,
  entries: readonly OffsetCommitEntry[],
  type = OFFSET_COMMIT_RECORD,
): number {
  let p = offset + RECORD_HEADER_BYTES;
  p = writeString16(buf, p, groupId);
  buf.writeUInt32LE(entries.length, p);
  p += 4;
  for (const e of entries) {
    p = writeString16(buf, p, e.topic);
    buf.writeInt32LE(e.partition, p);
    buf.writeBigInt64LE(BigInt(e.offset), p + 4);
    buf.writeInt32LE(e.leaderEpoch, p + 12);
    buf.writeDoubleLE(e.commitTimestampMs, p + 16);
    p += 24;
    const len = buf.write(e.metadata, p + 4, 'utf8');
    buf.writeUInt32LE(len, p);
    p += 4 + len;
  }
  writeRecordHeader(buf, offset, type, p - offset - RECORD_HEADER_BYTES);
  return p;
}

function writeString16(buf: Buffer, p: number, s: string): number {
  const len = buf.write(s, p + 2, 'utf8');
  buf.writeUInt16LE(len, p);
  return p + 2 + len;
}

/** Decodes a COMMIT payload; throws RangeError on a payload that does not fit its lengths. */
function decodeCommit(
  buf: Buffer,
  start: number,
  end: number,
): { groupId: string; entries: OffsetCommitEntry[] } {
  const view = buf.subarray(start, end);
  let p = 0;
  const groupLen = view.readUInt16LE(p);
  const groupId = view.toString('utf8', p + 2, p + 2 + groupLen);
  p += 2 + groupLen;
  const count = view.readUInt32LE(p);
  p += 4;
  const entries: OffsetCommitEntry[] = [];
  for (let i = 0; i < count; i++) {
    const topicLen = view.readUInt16LE(p);
    const topic = view.toString('utf8', p + 2, p + 2 + topicLen);
    p += 2 + topicLen;
    const partition = view.readInt32LE(p);
    const offset = Number(view.readBigInt64LE(p + 4));
    const leaderEpoch = view.readInt32LE(p + 12);
    const commitTimestampMs = view.readDoubleLE(p + 16);
    const metadataLen = view.readUInt32LE(p + 24);
    p += 28;
    if (p + metadataLen > view.length) throw new RangeError('metadata past the end of the record');
    const metadata = view.toString('utf8', p, p + metadataLen);
    p += metadataLen;
    entries.push({ topic, partition, offset, leaderEpoch, commitTimestampMs, metadata });
  }
  return { groupId, entries };
}

export class DiskGroupOffsetStore implements GroupOffsetStore {
  readonly dir: string;
  private readonly logPath: string;
  private readonly table = new OffsetTable();
  private file: AppendFile;
  /** Entries (commit entries and deletions) in the log file: compaction compares it with the table. */
  logEntries = 0;
  private readonly compactMinEntries: number;
  private closed = false;

  private constructor(
    dir: string,
    private readonly committer: GroupCommitter,
    private readonly logger: (line: string) => void,
    compactMinEntries: number,
  ) {
    this.dir = dir;
    this.logPath = join(dir, LOG_NAME);
    this.compactMinEntries = compactMinEntries;
    // A compaction that did not reach its rename: the old log is still complete.
    this.committer.fs.rmSync(join(dir, TMP_NAME), { force: true });
    this.recoverLog();
    this.file = committer.openFile(this.logPath);
  }

  /** Opens (creating or recovering) the offsets log in `dir`. */
  static open(
    dir: string,
    committer: GroupCommitter,
    options: GroupOffsetLogOptions = {},
  ): DiskGroupOffsetStore {
    mkdirDurable(dir, committer.fs, committer.policy === 'always');
    return new DiskGroupOffsetStore(
      dir,
      committer,
      options.logger ?? (() => {}),
      options.compactMinEntries ?? DEFAULT_COMPACT_MIN_ENTRIES,
    );
  }

  private recoverLog(): void {
    let fd: number;
    try {
      fd = this.committer.fs.openSync(this.logPath, 'r+');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    try {
      const size = this.committer.fs.fstatSync(fd).size;
      let undecodable = 0;
      const result = scanFile(
        fd,
        size,
        (type, buf, start, end) => {
          try {
            this.replay(type, buf, start, end);
          } catch {
            // CRC-valid but not decodable (a bug, not a torn write): skip it rather than lose the rest.
            undecodable++;
          }
        },
        undefined,
        this.committer.fs,
      );
      if (undecodable > 0)
        this.logger(`group offsets ${this.dir}: skipped ${undecodable} undecodable records`);
      if (result.validBytes < size) {
        this.logger(
          `group offsets ${this.dir}: ${result.stopReason} record at byte ${result.validBytes}; ` +
            `truncated ${size - result.validBytes} bytes (kept ${result.records} records)`,
        );
        this.committer.fs.ftruncateSync(fd, result.validBytes);
        if (this.committer.policy !== 'never') this.committer.fs.fdatasyncSync(fd);
      }
    } finally {
      this.committer.fs.closeSync(fd);
    }
  }

  private replay(type: number, buf: Buffer, start: number, end: number): void {
    switch (type) {
      case OFFSET_COMMIT_RECORD: {
        const { groupId, entries } = decodeCommit(buf, start, end);
        for (const entry of entries) this.table.set(groupId, entry);
        this.logEntries += entries.length;
        return;
      }
      case DELETE_GROUP_RECORD:
        this.table.deleteGroup(buf.toString('utf8', start, end));
        this.logEntries++;
        return;
      case DELETE_TOPIC_RECORD:
        this.table.deleteTopic(buf.toString('utf8', start, end));
        this.logEntries++;
        return;
      case DELETE_OFFSETS_RECORD: {
        const { groupId, entries } = decodeCommit(buf, start, end);
        for (const e of entries) this.table.deletePartition(groupId, e.topic, e.partition);
        this.logEntries += entries.length;
        return;
      }
      default:
        throw new Error(`unknown record type ${type}`);
    }
  }

  get(groupId: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.table.get(groupId, topic, partition);
  }

  group(groupId: string): GroupOffsetMap | undefined {
    return this.table.groups.get(groupId);
  }

  groupIds(): IterableIterator<string> {
    return this.table.groups.keys();
  }

  /** Number of committed offsets held. */
  get size(): number {
    return this.table.size;
  }

  commit(groupId: string, entries: readonly OffsetCommitEntry[], onDurable: () => void): void {
    this.assertOpen();
    const length = RECORD_HEADER_BYTES + commitPayloadBytes(groupId, entries);
    const offset = this.file.reserve(length);
    encodeCommit(this.file.staging, offset, groupId, entries);
    for (const entry of entries) this.table.set(groupId, entry);
    this.logEntries += entries.length;
    this.afterAppend(onDurable);
  }

  deleteGroup(groupId: string, onDurable: () => void): void {
    this.assertOpen();
    if (!this.table.groups.has(groupId)) {
      queueMicrotask(onDurable);
      return;
    }
    this.appendString(DELETE_GROUP_RECORD, groupId);
    this.table.deleteGroup(groupId);
    this.afterAppend(onDurable);
  }

  deleteTopic(topic: string, onDurable: () => void): void {
    this.assertOpen();
    this.appendString(DELETE_TOPIC_RECORD, topic);
    this.table.deleteTopic(topic);
    this.afterAppend(onDurable);
  }

  deleteOffsets(groupId: string, partitions: readonly TopicPartitionRef[], onDurable: () => void): void {
    this.assertOpen();
    const entries = partitions.map(({ topic, partition }) => ({
      topic,
      partition,
      offset: -1,
      leaderEpoch: -1,
      metadata: '',
      commitTimestampMs: 0,
    }));
    const offset = this.file.reserve(RECORD_HEADER_BYTES + commitPayloadBytes(groupId, entries));
    encodeCommit(this.file.staging, offset, groupId, entries, DELETE_OFFSETS_RECORD);
    for (const e of entries) this.table.deletePartition(groupId, e.topic, e.partition);
    this.logEntries += entries.length;
    this.afterAppend(onDurable);
  }

  private appendString(type: number, value: string): void {
    const payloadBytes = Buffer.byteLength(value);
    const offset = this.file.reserve(RECORD_HEADER_BYTES + payloadBytes);
    this.file.staging.write(value, offset + RECORD_HEADER_BYTES, 'utf8');
    writeRecordHeader(this.file.staging, offset, type, payloadBytes);
    this.logEntries++;
  }

  private afterAppend(onDurable: () => void): void {
    if (this.logEntries > this.compactMinEntries && this.logEntries > 2 * this.table.size) this.compact();
    this.committer.afterDurable(onDurable);
  }

  /**
   * Rewrites the log with the live offsets, one COMMIT per group. Synchronous: it runs once per
   * (log entries − live entries) appends. The new log is synced before the rename, so callbacks
   * waiting on appends it replaces may fire with the next round. On a file-system error the
   * current log is kept (it still holds everything) and appends go on.
   */
  compact(): void {
    this.assertOpen();
    const groups: { groupId: string; entries: OffsetCommitEntry[] }[] = [];
    let total = 0;
    for (const groupId of this.table.groups.keys()) {
      const entries = [...this.table.entries(groupId)];
      groups.push({ groupId, entries });
      total += RECORD_HEADER_BYTES + commitPayloadBytes(groupId, entries);
    }
    const buf = Buffer.allocUnsafe(total);
    let p = 0;
    for (const g of groups) p = encodeCommit(buf, p, g.groupId, g.entries);
    try {
      rewriteLog(
        this.logPath,
        join(this.dir, TMP_NAME),
        buf.subarray(0, p),
        this.committer.policy,
        this.committer.fs,
      );
    } catch (err) {
      this.logger(
        `group offsets ${this.dir}: compaction failed, keeping the current log: ${(err as Error).message}`,
      );
      return;
    }
    // Staged appends to the old log are dropped: the new log holds their effect.
    this.file.discard();
    this.file = this.committer.openFile(this.logPath);
    this.logEntries = this.table.size;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`group offsets store ${this.dir} is closed`);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.file.close();
  }
}
