/**
 * Deduplication ids of durable deduplicating exchanges: one small append-only log per exchange,
 * `<dataDir>/dedup/<sha1 of vhost\0exchange>/ids.log` (plus `name.json`). Records use the shared
 * framing (record-format.ts) and are appended through the GroupCommitter, so an id is durable in
 * the same group commit as the messages routed in its turn, before their publisher confirms.
 *
 *   ID (type 1): f64 LE expiresAtMs (0 = never) | id (UTF-8, the rest of the payload)
 *
 * Replaying the log oldest first into the exchange's cache (same size bound, expired ids skipped)
 * rebuilds what the cache held. The log only grows until the exchange rewrites it with the live
 * ids (compaction): the new log is written to `ids.log.tmp`, synced and renamed over the old one,
 * so a crash leaves either the old log or the new one, never a mix. Recovery truncates a torn tail.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { DedupStore, StoredDedupId } from '../core/dedup-store.js';
import { type AppendFile, fsyncDir, type GroupCommitter, mkdirDurable } from './group-commit.js';
import { rewriteLog } from './log-rewrite.js';
import { RECORD_HEADER_BYTES, scanFile, writeRecordHeader } from './record-format.js';

export const DEDUP_ID_RECORD_TYPE = 1;
const LOG_NAME = 'ids.log';
const TMP_NAME = 'ids.log.tmp';

export interface DedupStoreOptions {
  logger?: (line: string) => void;
}

function recordLength(id: StoredDedupId): number {
  return RECORD_HEADER_BYTES + 8 + Buffer.byteLength(id.key);
}

/** Encodes one ID record at buf[offset, offset + recordLength(id)); returns the end. */
function encodeIdRecord(buf: Buffer, offset: number, id: StoredDedupId): number {
  const payload = offset + RECORD_HEADER_BYTES;
  buf.writeDoubleLE(id.expiresAtMs, payload);
  const keyBytes = id.key.length === 0 ? 0 : buf.write(id.key, payload + 8, 'utf8');
  writeRecordHeader(buf, offset, DEDUP_ID_RECORD_TYPE, 8 + keyBytes);
  return payload + 8 + keyBytes;
}

export class DiskDedupStore implements DedupStore {
  readonly dir: string;
  private readonly logPath: string;
  private file: AppendFile;
  private recovered: StoredDedupId[] = [];
  recordCount = 0;
  private closed = false;

  private constructor(
    dir: string,
    private readonly committer: GroupCommitter,
    private readonly logger: (line: string) => void,
    private readonly onRelease: () => void,
  ) {
    this.dir = dir;
    this.logPath = join(dir, LOG_NAME);
    // A rewrite that did not reach its rename: the old log is still complete.
    this.committer.fs.rmSync(join(dir, TMP_NAME), { force: true });
    this.recoverLog();
    this.file = committer.openFile(this.logPath);
  }

  /** Opens (creating or recovering) the store in `dir`. */
  static open(
    dir: string,
    committer: GroupCommitter,
    options: DedupStoreOptions = {},
    onRelease: () => void = () => {},
  ): DiskDedupStore {
    mkdirDurable(dir, committer.fs, committer.policy === 'always');
    return new DiskDedupStore(dir, committer, options.logger ?? (() => {}), onRelease);
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
      const result = scanFile(
        fd,
        size,
        (type, buf, start, end) => {
          if (type !== DEDUP_ID_RECORD_TYPE || end - start < 8) return;
          this.recovered.push({
            expiresAtMs: buf.readDoubleLE(start),
            key: buf.toString('utf8', start + 8, end),
          });
        },
        undefined,
        this.committer.fs,
      );
      this.recordCount = result.records;
      if (result.validBytes < size) {
        this.logger(
          `dedup store ${this.dir}: ${result.stopReason} record at byte ${result.validBytes}; ` +
            `truncated ${size - result.validBytes} bytes (kept ${result.records} ids)`,
        );
        this.committer.fs.ftruncateSync(fd, result.validBytes);
        if (this.committer.policy !== 'never') this.committer.fs.fdatasyncSync(fd);
      }
    } finally {
      this.committer.fs.closeSync(fd);
    }
  }

  recover(): StoredDedupId[] {
    const recovered = this.recovered;
    this.recovered = [];
    return recovered;
  }

  add(id: StoredDedupId): void {
    if (this.closed) throw new Error(`dedup store ${this.dir} is closed`);
    const offset = this.file.reserve(recordLength(id));
    encodeIdRecord(this.file.staging, offset, id);
    this.recordCount++;
  }

  /**
   * Writes `live` to a new log, synced, and renames it over the current one. Synchronous: it runs
   * once per (log size − live ids) appends, and one buffer of the live ids is written at once.
   * On a file-system error the current log is kept (it still holds every id) and appends go on.
   */
  rewrite(live: Iterable<StoredDedupId>): void {
    if (this.closed) throw new Error(`dedup store ${this.dir} is closed`);
    const ids = [...live];
    let total = 0;
    for (const id of ids) total += recordLength(id);
    const buf = Buffer.allocUnsafe(total);
    let p = 0;
    for (const id of ids) p = encodeIdRecord(buf, p, id);
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
        `dedup store ${this.dir}: compaction failed, keeping the current log: ${(err as Error).message}`,
      );
      return;
    }
    // Staged appends to the old log are dropped: every live id is in the new one.
    this.file.discard();
    this.file = this.committer.openFile(this.logPath);
    this.recordCount = ids.length;
  }

  destroy(): void {
    const wasClosed = this.closed;
    this.closed = true;
    this.recovered = [];
    this.file.discard();
    this.committer.fs.rmSync(this.dir, { recursive: true, force: true });
    if (!wasClosed) this.onRelease();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.recovered = [];
    this.file.close();
    this.onRelease();
  }
}

/** The dedup stores of every durable deduplicating exchange under `<dataDir>/dedup`. */
export class DedupStorage {
  readonly root: string;
  private readonly open = new Map<string, DiskDedupStore>();

  constructor(
    dataDir: string,
    private readonly committer: GroupCommitter,
    private readonly options: DedupStoreOptions = {},
  ) {
    this.root = join(dataDir, 'dedup');
    mkdirDurable(this.root, this.committer.fs, this.committer.policy === 'always');
  }

  static dirName(vhost: string, exchange: string): string {
    return createHash('sha1').update(`${vhost}\0${exchange}`).digest('hex');
  }

  /** Opens (recovering) the id log of a durable deduplicating exchange. */
  openStore(vhost: string, exchange: string): DiskDedupStore {
    const name = DedupStorage.dirName(vhost, exchange);
    if (this.open.has(name))
      throw new Error(`dedup store of exchange '${exchange}' in vhost '${vhost}' is already open`);
    const dir = join(this.root, name);
    const namePath = join(dir, 'name.json');
    if (!this.committer.fs.existsSync(namePath)) {
      mkdirDurable(dir, this.committer.fs, this.committer.policy === 'always');
      this.committer.fs.writeFileSync(namePath, `${JSON.stringify({ vhost, exchange })}\n`);
      if (this.committer.policy === 'always') fsyncDir(this.root, this.committer.fs);
    }
    const store = DiskDedupStore.open(dir, this.committer, this.options, () => this.open.delete(name));
    this.open.set(name, store);
    return store;
  }

  /** Deletes the ids of every exchange whose store is not open (deleted or no longer deduplicating). */
  removeOrphans(): void {
    for (const name of this.committer.fs.readdirSync(this.root)) {
      if (this.open.has(name)) continue;
      this.options.logger?.(`storage: removing dedup ids of unknown exchange in ${join(this.root, name)}`);
      this.committer.fs.rmSync(join(this.root, name), { recursive: true, force: true });
    }
  }

  /** Closes every open store (broker shutdown; the committer then syncs what they wrote). */
  close(): void {
    for (const store of [...this.open.values()]) store.close();
  }
}
