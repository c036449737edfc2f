/**
 * Durable definitions (vhosts, users, exchanges, queues, bindings, policies...): a small log of
 * put/delete records in `<dir>/definitions.log`, replayed on top of a snapshot `<dir>/snapshot`.
 * Both files use the shared record framing; a record's payload is JSON.
 *
 * Every put/delete is written and fdatasync'd before it returns: definitions change rarely, and a
 * declare-ok must not be sent for a definition a crash could forget. Once the log holds more than
 * `compactAfterRecords` records, the current state is written to `snapshot.tmp`, fsync'd, renamed
 * over `snapshot`, the directory fsync'd, and the log emptied. A crash between the rename and the
 * truncation only replays idempotent records twice.
 */
import { join } from 'node:path';
import type { DefinitionEntry, DefinitionKind } from '../core/definitions.js';
import { fsyncDir, mkdirDurable, StorageFailedError } from './group-commit.js';
import { encodeRecord, scanFile } from './record-format.js';
import { nodeFs, type StorageFs } from './storage-fs.js';

const PUT = 1;
const DELETE = 2;
const LOG_FILE = 'definitions.log';
const SNAPSHOT_FILE = 'snapshot';
const SNAPSHOT_TMP = 'snapshot.tmp';

export interface DiskDefinitionsStoreOptions {
  compactAfterRecords?: number;
  logger?: (line: string) => void;
  /** fdatasync each write (default true; false only for fsync 'never' setups and tests). */
  sync?: boolean;
  /** The file system (tests substitute a simulated one). */
  fs?: StorageFs;
  /** Called once when a failed sync stops the store (the broker's health check and metric). */
  onFailure?: (err: Error) => void;
}

export class DiskDefinitionsStore {
  readonly dir: string;
  private readonly state = new Map<string, DefinitionEntry>();
  private readonly compactAfterRecords: number;
  private readonly logger: (line: string) => void;
  private readonly sync: boolean;
  private readonly fs: StorageFs;
  private readonly onFailure: ((err: Error) => void) | undefined;
  private fd: number;
  private logSizeBytes: number;
  private logRecords: number;
  private closed = false;
  /** Nesting depth of deferSyncs(): while above 0, writes are not synced one by one. */
  private deferDepth = 0;
  /** Written under deferSyncs() and not synced since. */
  private unsynced = false;
  /** Set by a failed fdatasync: no write is accepted after it (fail-stop, never a retried sync). */
  failure: Error | undefined;

  private constructor(dir: string, options: DiskDefinitionsStoreOptions) {
    this.dir = dir;
    this.compactAfterRecords = options.compactAfterRecords ?? 1000;
    this.logger = options.logger ?? (() => {});
    this.sync = options.sync ?? true;
    this.fs = options.fs ?? nodeFs;
    this.onFailure = options.onFailure;
    mkdirDurable(dir, this.fs, this.sync);
    unlinkQuiet(this.fs, join(dir, SNAPSHOT_TMP));
    this.load(join(dir, SNAPSHOT_FILE), false);
    const logPath = join(dir, LOG_FILE);
    const existed = this.fs.existsSync(logPath);
    this.fd = this.fs.openSync(logPath, this.fs.constants.O_RDWR | this.fs.constants.O_CREAT, 0o644);
    if (!existed && this.sync) fsyncDir(dir, this.fs);
    const { validBytes, records } = this.replay(this.fd, logPath, true);
    this.logSizeBytes = validBytes;
    this.logRecords = records;
  }

  static open(dir: string, options: DiskDefinitionsStoreOptions = {}): DiskDefinitionsStore {
    return new DiskDefinitionsStore(dir, options);
  }

  private load(path: string, truncate: boolean): void {
    let fd: number;
    try {
      fd = this.fs.openSync(path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    try {
      this.replay(fd, path, truncate);
    } finally {
      this.fs.closeSync(fd);
    }
  }

  private replay(fd: number, path: string, truncate: boolean): { validBytes: number; records: number } {
    const size = this.fs.fstatSync(fd).size;
    const result = scanFile(
      fd,
      size,
      (type, buf, start, end) => {
        let entry: { kind: DefinitionKind; key: string; value?: unknown };
        try {
          entry = JSON.parse(buf.toString('utf8', start, end));
        } catch {
          this.logger(`definitions: ${path}: undecodable record skipped`);
          return;
        }
        const k = mapKey(entry.kind, entry.key);
        if (type === PUT) this.state.set(k, { kind: entry.kind, key: entry.key, value: entry.value });
        else if (type === DELETE) this.state.delete(k);
      },
      undefined,
      this.fs,
    );
    if (result.validBytes < size) {
      this.logger(
        `definitions: ${path}: ${result.stopReason} record at byte ${result.validBytes}; ` +
          `ignored ${size - result.validBytes} trailing bytes`,
      );
      if (truncate) {
        this.fs.ftruncateSync(fd, result.validBytes);
        if (this.sync) this.fs.fdatasyncSync(fd);
      }
    }
    return result;
  }

  /** Stores `value` (JSON-serialisable) under kind/key; durable when this returns. */
  put(kind: DefinitionKind, key: string, value: unknown): void {
    const json = JSON.stringify({ kind, key, value });
    // Parse back so entries() returns exactly what recovery would (no shared mutable objects).
    const stored = JSON.parse(json) as { value: unknown };
    this.write(PUT, json);
    this.state.set(mapKey(kind, key), { kind, key, value: stored.value });
    this.maybeCompact();
  }

  /** Removes kind/key (no-op if absent); durable when this returns. */
  delete(kind: DefinitionKind, key: string): void {
    if (!this.state.has(mapKey(kind, key))) return;
    this.write(DELETE, JSON.stringify({ kind, key }));
    this.state.delete(mapKey(kind, key));
    this.maybeCompact();
  }

  get(kind: DefinitionKind, key: string): unknown {
    return this.state.get(mapKey(kind, key))?.value;
  }

  /** The current definitions, in first-put order (a re-put keeps the original position). */
  entries(): DefinitionEntry[] {
    return [...this.state.values()].map((e) => ({
      kind: e.kind,
      key: e.key,
      value: structuredClone(e.value),
    }));
  }

  private write(type: number, json: string): void {
    if (this.closed) throw new Error('definitions store is closed');
    if (this.failure) throw new StorageFailedError(this.failure);
    const record = encodeRecord(type, Buffer.from(json, 'utf8'));
    let done = 0;
    while (done < record.length) {
      done += this.fs.writeSync(this.fd, record, done, record.length - done, this.logSizeBytes + done);
    }
    this.logSizeBytes += record.length;
    if (this.sync && this.deferDepth > 0) this.unsynced = true;
    else if (this.sync) this.syncLog();
    this.logRecords++;
  }

  private syncLog(): void {
    this.unsynced = false;
    this.syncOrFail(() => this.fs.fdatasyncSync(this.fd));
  }

  /**
   * Runs `fn` with the changes it makes written but not yet synced: the caller promises not to
   * acknowledge them before syncDeferred(). The AMQP listener wraps each socket read in this and
   * syncs before it writes its answers, so the declares of one event-loop turn (many channels and
   * connections) share one fdatasync instead of one each.
   */
  deferSyncs<T>(fn: () => T): T {
    this.deferDepth++;
    try {
      return fn();
    } finally {
      this.deferDepth--;
    }
  }

  /** Makes every change written under deferSyncs() durable; throws StorageFailedError if it cannot. */
  syncDeferred(): void {
    if (this.failure) throw new StorageFailedError(this.failure);
    if (this.unsynced && !this.closed) this.syncLog();
  }

  /** Runs a sync; on failure the store stops for good (what it covered is not acknowledged). */
  private syncOrFail(sync: () => void): void {
    try {
      sync();
    } catch (err) {
      this.failure = err as Error;
      this.logger(
        `definitions: ${this.dir}: sync failed (${(err as Error).message}); no further definition changes are accepted until restart`,
      );
      try {
        this.onFailure?.(err as Error);
      } catch {
        // a throwing hook must not hide the failure
      }
      throw new StorageFailedError(err as Error);
    }
  }

  private maybeCompact(): void {
    if (this.logRecords > this.compactAfterRecords) this.compact();
  }

  /** Writes the current state as a snapshot and empties the log. */
  compact(): void {
    if (this.failure) throw new StorageFailedError(this.failure);
    const tmp = join(this.dir, SNAPSHOT_TMP);
    let fd: number;
    try {
      fd = this.writeSnapshot(tmp);
    } catch (err) {
      // A full disk (ENOSPC) while writing the snapshot harms nothing: the log still holds every
      // change. Only a failed sync is fatal (fsyncgate); this compaction is retried after the
      // next change.
      unlinkQuiet(this.fs, tmp);
      this.logger(
        `definitions: ${this.dir}: compaction skipped (${(err as Error).message}); the log is kept`,
      );
      return;
    }
    this.syncOrFail(() => this.compactNow(tmp, fd));
  }

  /** Writes the snapshot to `tmp`; returns its open fd (closed on failure). */
  private writeSnapshot(tmp: string): number {
    const parts: Buffer[] = [];
    for (const e of this.state.values()) {
      parts.push(
        encodeRecord(PUT, Buffer.from(JSON.stringify({ kind: e.kind, key: e.key, value: e.value }), 'utf8')),
      );
    }
    const fd = this.fs.openSync(tmp, 'w');
    try {
      const data = Buffer.concat(parts);
      let done = 0;
      while (done < data.length) done += this.fs.writeSync(fd, data, done, data.length - done, done);
    } catch (err) {
      this.fs.closeSync(fd);
      throw err;
    }
    return fd;
  }

  private compactNow(tmp: string, fd: number): void {
    try {
      this.fs.fsyncSync(fd);
    } finally {
      this.fs.closeSync(fd);
    }
    this.fs.renameSync(tmp, join(this.dir, SNAPSHOT_FILE));
    fsyncDir(this.dir, this.fs);
    this.fs.ftruncateSync(this.fd, 0);
    this.fs.fsyncSync(this.fd);
    this.logSizeBytes = 0;
    this.logRecords = 0;
  }

  close(): void {
    if (this.closed) return;
    if (this.unsynced && !this.failure) this.syncLog();
    this.closed = true;
    this.fs.closeSync(this.fd);
  }
}

function mapKey(kind: string, key: string): string {
  return `${kind}\0${key}`;
}

function unlinkQuiet(fs: StorageFs, path: string): void {
  try {
    fs.unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
