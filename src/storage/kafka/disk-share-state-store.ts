/**
 * Share groups' durable state on disk: `<dir>/share-state.log`, records framed as in
 * record-format.ts and appended through the GroupCommitter. Payloads are JSON:
 *
 *   PARTITION (1): { k: share-partition key, s: its whole new snapshot }
 *   CONFIG (2):    { g: group id, c: its whole config overrides }
 *   DELETE (3):    { ks: share-partition keys } — all gone at once (a group or a topic's state)
 *
 * Replaying in order gives each key's newest value. A snapshot holds only the in-flight window
 * (at most group.share.partition.max.record.locks offsets, run-length coded), so records stay small.
 * When the log holds many more records than live keys it is rewritten (one record per key) to a
 * temporary file, synced and renamed over the log, so a crash leaves either. A torn tail is truncated.
 */
import { join } from 'node:path';
import type { SharePartitionSnapshot } from '../../core/kafka/share-partition.js';
import type { ShareStateStore } from '../../core/kafka/share-state.js';
import { type AppendFile, type GroupCommitter, mkdirDurable } from '../group-commit.js';
import { rewriteLog } from '../log-rewrite.js';
import { encodeRecord, scanFile } from '../record-format.js';
import type { StorageFs } from '../storage-fs.js';

const PARTITION_RECORD = 1;
const CONFIG_RECORD = 2;
const DELETE_RECORD = 3;
const LOG_NAME = 'share-state.log';
const TMP_NAME = 'share-state.log.tmp';
const DEFAULT_COMPACT_MIN_RECORDS = 10_000;

export class DiskShareStateStore implements ShareStateStore {
  readonly partitions = new Map<string, SharePartitionSnapshot>();
  readonly groupConfigs = new Map<string, Readonly<Record<string, string>>>();
  private readonly logPath: string;
  private readonly fs: StorageFs;
  private file: AppendFile;
  private records = 0;
  private closed = false;

  private constructor(
    readonly dir: string,
    private readonly committer: GroupCommitter,
    private readonly logger: (line: string) => void,
    private readonly compactMinRecords: number,
  ) {
    this.logPath = join(dir, LOG_NAME);
    this.fs = committer.fs;
    this.fs.rmSync(join(dir, TMP_NAME), { force: true });
    this.recover();
    this.file = committer.openFile(this.logPath);
  }

  static open(
    dir: string,
    committer: GroupCommitter,
    options: { logger?: (line: string) => void; compactMinRecords?: number } = {},
  ): DiskShareStateStore {
    mkdirDurable(dir, committer.fs, committer.policy === 'always');
    return new DiskShareStateStore(
      dir,
      committer,
      options.logger ?? (() => {}),
      options.compactMinRecords ?? DEFAULT_COMPACT_MIN_RECORDS,
    );
  }

  writePartition(key: string, snapshot: SharePartitionSnapshot, onDurable: () => void): void {
    this.partitions.set(key, snapshot);
    this.append(PARTITION_RECORD, { k: key, s: snapshot }, onDurable);
  }

  deletePartitions(keys: readonly string[], onDurable: () => void): void {
    for (const key of keys) this.partitions.delete(key);
    this.append(DELETE_RECORD, { ks: keys }, onDurable);
  }

  writeGroupConfigs(groupId: string, configs: Readonly<Record<string, string>>, onDurable: () => void): void {
    this.groupConfigs.set(groupId, configs);
    this.append(CONFIG_RECORD, { g: groupId, c: configs }, onDurable);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.file.close();
  }

  private append(type: number, value: unknown, onDurable: () => void): void {
    if (this.closed) throw new Error(`share state store ${this.dir} is closed`);
    this.file.append(encodeRecord(type, Buffer.from(JSON.stringify(value))));
    this.records++;
    const live = this.partitions.size + this.groupConfigs.size;
    if (this.records > this.compactMinRecords && this.records > 4 * (live + 1)) this.compact();
    this.committer.afterDurable(onDurable);
  }

  private compact(): void {
    const parts: Buffer[] = [];
    for (const [g, c] of this.groupConfigs)
      parts.push(encodeRecord(CONFIG_RECORD, Buffer.from(JSON.stringify({ g, c }))));
    for (const [k, s] of this.partitions)
      parts.push(encodeRecord(PARTITION_RECORD, Buffer.from(JSON.stringify({ k, s }))));
    try {
      rewriteLog(
        this.logPath,
        join(this.dir, TMP_NAME),
        Buffer.concat(parts),
        this.committer.policy,
        this.fs,
      );
    } catch (err) {
      this.logger(
        `share state ${this.dir}: compaction failed, keeping the current log: ${(err as Error).message}`,
      );
      return;
    }
    this.file.discard();
    this.file = this.committer.openFile(this.logPath);
    this.records = parts.length;
  }

  private recover(): void {
    let fd: number;
    try {
      fd = this.fs.openSync(this.logPath, 'r+');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    try {
      const size = this.fs.fstatSync(fd).size;
      const result = scanFile(
        fd,
        size,
        (type, buf, start, end) => {
          try {
            const value = JSON.parse(buf.toString('utf8', start, end));
            if (type === PARTITION_RECORD) this.partitions.set(value.k, value.s as SharePartitionSnapshot);
            else if (type === CONFIG_RECORD) this.groupConfigs.set(value.g, value.c);
            else if (type === DELETE_RECORD)
              for (const key of value.ks as string[]) this.partitions.delete(key);
            this.records++;
          } catch {
            this.logger(`share state ${this.dir}: skipped an undecodable record`);
          }
        },
        undefined,
        this.fs,
      );
      if (result.validBytes < size) {
        this.logger(
          `share state ${this.dir}: ${result.stopReason} record at byte ${result.validBytes}; truncated ${size - result.validBytes} bytes`,
        );
        this.fs.ftruncateSync(fd, result.validBytes);
        if (this.committer.policy !== 'never') this.fs.fdatasyncSync(fd);
      }
    } finally {
      this.fs.closeSync(fd);
    }
  }
}
