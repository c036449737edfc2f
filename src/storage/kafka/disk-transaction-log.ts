/**
 * The transaction log on disk: `<dir>/transactions.log`, records framed as in record-format.ts and
 * appended through the GroupCommitter (one fdatasync round covers them and the partitions' markers
 * written in the same turn). Payloads are JSON, small and rare (a few per transaction):
 *
 *   TXN (1):     a StoredTransaction: the transactional id's whole new state
 *   ABORTED (2): AbortedRange[]: written with the CompleteAbort TXN record of the same change
 *
 * Replaying in order gives each id's newest state and every aborted range. When the log holds
 * many more records than live ids, it is rewritten (one TXN per id, one ABORTED with all ranges):
 * written to `transactions.log.tmp`, synced, renamed over the log, so a crash leaves either.
 * Recovery truncates a torn tail.
 */
import { join } from 'node:path';
import type { AbortedRange, StoredTransaction, TransactionLog } from '../../core/kafka/transaction-log.js';
import { type AppendFile, type GroupCommitter, mkdirDurable } from '../group-commit.js';
import { rewriteLog } from '../log-rewrite.js';
import { encodeRecord, scanFile } from '../record-format.js';
import type { StorageFs } from '../storage-fs.js';

const TXN_RECORD = 1;
const ABORTED_RECORD = 2;
const LOG_NAME = 'transactions.log';
const TMP_NAME = 'transactions.log.tmp';
const DEFAULT_COMPACT_MIN_RECORDS = 10_000;

export interface DiskTransactionLogOptions {
  logger?: (line: string) => void;
  compactMinRecords?: number;
}

export class DiskTransactionLog implements TransactionLog {
  readonly transactions = new Map<string, StoredTransaction>();
  readonly aborted: AbortedRange[] = [];
  private readonly logPath: string;
  /** The committer's file system (node:fs, or a simulated disk in power-cut tests). */
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
    options: DiskTransactionLogOptions = {},
  ): DiskTransactionLog {
    // Durably: a new directory lost in a power cut would take every synced record with it.
    mkdirDurable(dir, committer.fs, committer.policy === 'always');
    return new DiskTransactionLog(
      dir,
      committer,
      options.logger ?? (() => {}),
      options.compactMinRecords ?? DEFAULT_COMPACT_MIN_RECORDS,
    );
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
            if (type === TXN_RECORD) {
              const txn = value as StoredTransaction;
              this.transactions.set(txn.transactionalId, txn);
            } else if (type === ABORTED_RECORD) {
              this.aborted.push(...(value as AbortedRange[]));
            }
            this.records++;
          } catch {
            this.logger(`transactions ${this.dir}: skipped an undecodable record`);
          }
        },
        undefined,
        this.fs,
      );
      if (result.validBytes < size) {
        this.logger(
          `transactions ${this.dir}: ${result.stopReason} record at byte ${result.validBytes}; truncated ${size - result.validBytes} bytes`,
        );
        this.fs.ftruncateSync(fd, result.validBytes);
        if (this.committer.policy !== 'never') this.fs.fdatasyncSync(fd);
      }
    } finally {
      this.fs.closeSync(fd);
    }
  }

  append(txn: StoredTransaction, aborted: readonly AbortedRange[], onDurable: () => void): void {
    if (this.closed) throw new Error(`transaction log ${this.dir} is closed`);
    // The ranges go first: a torn tail can lose the TXN record after them (the state stays
    // Prepare*, completed again at the next start), never keep the TXN record without them.
    if (aborted.length > 0) {
      this.file.append(encodeRecord(ABORTED_RECORD, Buffer.from(JSON.stringify(aborted))));
      this.aborted.push(...aborted);
      this.records++;
    }
    this.file.append(encodeRecord(TXN_RECORD, Buffer.from(JSON.stringify(txn))));
    this.transactions.set(txn.transactionalId, txn);
    this.records++;
    if (this.records > this.compactMinRecords && this.records > 4 * (this.transactions.size + 1))
      this.compact();
    this.committer.afterDurable(onDurable);
  }

  /** Rewrites the log with the live state; on a file-system error the current log is kept. */
  compact(): void {
    const parts: Buffer[] = [];
    if (this.aborted.length > 0)
      parts.push(encodeRecord(ABORTED_RECORD, Buffer.from(JSON.stringify(this.aborted))));
    for (const txn of this.transactions.values())
      parts.push(encodeRecord(TXN_RECORD, Buffer.from(JSON.stringify(txn))));
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
        `transactions ${this.dir}: compaction failed, keeping the current log: ${(err as Error).message}`,
      );
      return;
    }
    this.file.discard();
    this.file = this.committer.openFile(this.logPath);
    this.records = parts.length;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.file.close();
  }
}
