/**
 * Group commit. Log files append through an AppendFile owned by one GroupCommitter. Appends are
 * copied into the file's staging buffer; at the end of the event-loop turn (setImmediate) every
 * dirty file is written with one write syscall, so readers see the data right after. Then, with
 * fsync 'always', each written file is fdatasync'd once (in parallel, on the libuv pool) and the
 * afterDurable callbacks registered before that round fire in registration order. While a sync
 * round is in flight, new writes still go out each turn, but their callbacks wait for the next
 * round, which starts as soon as the current one ends: that is what batches thousands of appends
 * into one fdatasync. The directory of a file created since the last round is fsync'd in the same
 * round, beside the files' fdatasyncs (a new segment every few milliseconds under big messages
 * made that synchronous directory fsync a tenth of the event loop's time).
 *
 * 'interval': callbacks fire after the write; files are fdatasync'd every fsyncIntervalMs.
 * 'never': callbacks fire after the write; the OS decides when data reaches the disk.
 *
 * Errors: a failed write keeps the unwritten bytes staged, reports the error through onError and
 * retries later; callbacks waiting on that data do not fire until it is written. A failed
 * fdatasync is reported and the committer stops firing callbacks for good (after an fsync error
 * the kernel may have dropped the dirty pages, so nothing later can be promised durable).
 */
import { dirname } from 'node:path';
import type { DurabilityBarrier, FsyncPolicy } from '../core/durability.js';
import { nodeFs, STORAGE_FS_CALLS, type StorageFs } from './storage-fs.js';

/** The calls on the committer's hot path; tests override just these to count or fail them. */
export type CommitFs = Pick<StorageFs, 'writeSync' | 'fdatasync' | 'fdatasyncSync'>;

/** fdatasync period of the 'interval' policy. */
export const DEFAULT_FSYNC_INTERVAL_MS = 200;

export interface GroupCommitterOptions {
  fsync: FsyncPolicy;
  fsyncIntervalMs?: number;
  /** Called with write and fsync errors (the broker logs them; they are never thrown into the loop). */
  onError?: (err: Error, path: string) => void;
  /**
   * The file system of every store using this committer (they read it as `committer.fs`); calls
   * not given fall back to node:fs.
   */
  fs?: Partial<StorageFs>;
  /** Delay before retrying a failed write. */
  retryDelayMs?: number;
}

const INITIAL_STAGING_BYTES = 64 * 1024;
/** The staging buffer of a closed file (its own went to the committer's spare). */
const NO_STAGING = Buffer.alloc(0);
/**
 * Staging buffers up to this size are kept for the next turn: touching fresh memory costs page
 * faults (about 3.4 ms per MiB on the development VMs), and a Kafka partition under load stages
 * several MiB per sync round.
 */
const KEEP_STAGING_BYTES = 16 * 1024 * 1024;

/** A file that only grows at its end, written through the committer. */
export class AppendFile {
  /** Bytes already handed to the kernel. */
  writtenBytes: number;
  /** Staged bytes not yet written: staging[0, stagedBytes). */
  staging: Buffer;
  stagedBytes = 0;
  /** In the committer's dirty set (has staged bytes). */
  dirty = false;
  /** Written since the last fdatasync. */
  unsynced = false;
  /** Part of the sync round in flight (its fd must stay open until the round ends). */
  syncInFlight = false;
  closing = false;
  closed = false;

  constructor(
    readonly committer: GroupCommitter,
    readonly path: string,
    readonly fd: number,
    sizeBytes: number,
    /**
     * Nothing waits for this file's durability (ack files: a lost ack only redelivers): its writes
     * do not make 'always' rounds fdatasync it; flush(), the interval timer and shutdown still do.
     */
    readonly lazySync = false,
  ) {
    this.writtenBytes = sizeBytes;
    this.staging = Buffer.allocUnsafe(INITIAL_STAGING_BYTES);
  }

  /** Logical size: written plus staged bytes. */
  get sizeBytes(): number {
    return this.writtenBytes + this.stagedBytes;
  }

  /**
   * Reserves `length` bytes at the end of the file and returns their offset in `this.staging`,
   * which the caller fills in immediately (before any other append to this file).
   */
  reserve(length: number): number {
    if (this.closing) throw new Error(`append to closed file ${this.path}`);
    const failure = this.committer.error;
    if (failure) throw new StorageFailedError(failure);
    const offset = this.stagedBytes;
    const needed = offset + length;
    if (needed > this.staging.length) {
      let size = this.staging.length * 2;
      while (size < needed) size *= 2;
      const grown = this.committer.takeSpareStaging(size) ?? Buffer.allocUnsafe(size);
      this.staging.copy(grown, 0, 0, offset);
      this.staging = grown;
    }
    this.stagedBytes = needed;
    if (!this.dirty) this.committer.markDirty(this);
    return offset;
  }

  /** Appends a copy of `data`; returns the file position it will occupy. */
  append(data: Uint8Array): number {
    const position = this.sizeBytes;
    const offset = this.reserve(data.length);
    this.staging.set(data, offset);
    return position;
  }

  /** Writes staged bytes now (so a reader can see them); the sync round still covers them. */
  writeStaged(): void {
    if (this.stagedBytes > 0) this.committer.writeFile(this);
  }

  /**
   * Writes and fdatasyncs this file now, on the calling thread (for ordering points, not the hot
   * path). A failed fdatasync stops the committer (fail-stop) and throws StorageFailedError.
   */
  syncNow(): void {
    this.committer.syncNow(this);
  }

  /**
   * Stops appending. Staged bytes are still written and synced per the policy; the fd is closed
   * once nothing is pending on it.
   */
  close(): void {
    if (this.closing) return;
    this.closing = true;
    this.committer.release(this);
  }

  /** Closes immediately and drops staged bytes (the file is being deleted). */
  discard(): void {
    this.stagedBytes = 0;
    this.unsynced = false;
    this.closing = true;
    this.committer.release(this);
  }
}

type Callback = () => void;

export class GroupCommitter implements DurabilityBarrier {
  readonly policy: FsyncPolicy;
  readonly fsyncIntervalMs: number;
  /** The file system the stores sharing this committer use for all their calls. */
  readonly fs: StorageFs;
  private readonly onError: (err: Error, path: string) => void;
  private readonly retryDelayMs: number;

  private dirty: AppendFile[] = [];
  /** Directories with files created since their last fsync (fsync 'always' only). */
  private unsyncedDirs = new Set<string>();
  private unsynced = new Set<AppendFile>();
  /** Lazy-sync files written since their last fdatasync (AppendFile.lazySync). */
  private lazyUnsynced = new Set<AppendFile>();
  /** Callbacks registered since the last round took its callbacks. */
  private waiting: Callback[] = [];
  /** flush() resolvers; they always need an fdatasync, whatever the policy. */
  private flushWaiters: Array<(err?: Error) => void> = [];
  private scheduled = false;
  private syncing = false;
  private writeFailed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private intervalTimer: NodeJS.Timeout | undefined;
  private failed: Error | undefined;
  private readonly failureListeners: Array<(err: Error) => void> = [];
  /** The error of the write that is failing now (ENOSPC...), until a later write goes through. */
  private failingWrite: Error | undefined;
  private readonly writeStateListeners: Array<(failing: Error | undefined) => void> = [];
  private closed = false;
  /** Counters for tests and metrics. */
  readonly stats = { writes: 0, syncs: 0, rounds: 0, bytesWritten: 0 };

  constructor(options: GroupCommitterOptions) {
    this.policy = options.fsync;
    this.fsyncIntervalMs = options.fsyncIntervalMs ?? DEFAULT_FSYNC_INTERVAL_MS;
    this.fs = options.fs ? withFallback(options.fs) : nodeFs;
    this.onError = options.onError ?? ((err, path) => console.error(`pier storage: ${path}: ${err.message}`));
    this.retryDelayMs = options.retryDelayMs ?? 1000;
    if (this.policy === 'interval') {
      this.intervalTimer = setInterval(() => this.intervalSync(), this.fsyncIntervalMs);
      this.intervalTimer.unref();
    }
  }

  /**
   * Opens (creating if needed) a file for appending at its current end. With fsync 'always' a
   * newly created file's directory is fsync'd, so that the file's existence survives a crash, by
   * the next sync round or syncNow(), before anything written to the file counts as durable (not
   * for a lazy-sync file: see AppendFile.lazySync).
   */
  openFile(path: string, options: { lazySync?: boolean } = {}): AppendFile {
    const lazySync = options.lazySync === true;
    let created = false;
    let fd: number;
    try {
      const { O_RDWR, O_CREAT, O_EXCL } = this.fs.constants;
      fd = this.fs.openSync(path, O_RDWR | O_CREAT | O_EXCL, 0o644);
      created = true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EDQUOT') this.creationFailed(err as Error);
      if (code !== 'EEXIST') throw err;
      fd = this.fs.openSync(path, this.fs.constants.O_RDWR);
    }
    if (created && this.policy === 'always' && !lazySync) this.unsyncedDirs.add(dirname(path));
    const size = created ? 0 : this.fs.fstatSync(fd).size;
    return new AppendFile(this, path, fd, size, lazySync);
  }

  afterDurable(callback: () => void): void {
    this.waiting.push(callback);
    this.schedule();
  }

  /** Writes and fdatasyncs everything appended so far (whatever the policy). */
  flush(): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.flushWaiters.push((err) => (err ? reject(err) : resolve()));
      this.schedule();
    });
  }

  /** Flushes, then stops the interval timer. Files are closed by their owners. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.flush();
    } finally {
      this.closed = true;
      if (this.intervalTimer) clearInterval(this.intervalTimer);
      if (this.retryTimer) clearTimeout(this.retryTimer);
    }
  }

  /** Synchronous variant for shutdown paths that cannot await: write and fdatasync everything now. */
  flushSync(): void {
    this.writeAll();
    this.syncDirsSync();
    for (const file of [...this.unsynced, ...this.lazyUnsynced])
      if (!file.syncInFlight) this.syncFileSync(file);
    if (this.syncing || this.failed) return; // the round in flight fires its callbacks first
    this.fireWaiting();
    const flushWaiters = this.flushWaiters;
    this.flushWaiters = [];
    for (const cb of flushWaiters) cb();
  }

  /** @internal */
  markDirty(file: AppendFile): void {
    file.dirty = true;
    this.dirty.push(file);
    this.schedule();
  }

  /** @internal Writes a file's staged bytes now. Returns false on a write error. */
  writeFile(file: AppendFile): boolean {
    while (file.stagedBytes > 0) {
      let n: number;
      try {
        n = this.fs.writeSync(file.fd, file.staging, 0, file.stagedBytes, file.writtenBytes);
      } catch (err) {
        this.writeFailed = true;
        this.report(err as Error, file.path);
        this.setFailingWrite(err as Error);
        return false;
      }
      this.stats.writes++;
      this.stats.bytesWritten += n;
      file.writtenBytes += n;
      if (n < file.stagedBytes) file.staging.copy(file.staging, 0, n, file.stagedBytes);
      file.stagedBytes -= n;
      file.unsynced = true;
      if (file.lazySync) this.lazyUnsynced.add(file);
      else this.unsynced.add(file);
    }
    if (file.staging.length > KEEP_STAGING_BYTES) file.staging = Buffer.allocUnsafe(INITIAL_STAGING_BYTES);
    return true;
  }

  /** @internal Called by AppendFile.close/discard. */
  release(file: AppendFile): void {
    if (!file.unsynced) this.unsynced.delete(file);
    if (file.stagedBytes > 0) this.writeFile(file);
    if (file.stagedBytes === 0) this.keepSpareStaging(file);
    if (file.lazySync && file.stagedBytes === 0) {
      // Written bytes are the kernel's now; nothing waits for them to reach the disk.
      this.lazyUnsynced.delete(file);
      file.unsynced = false;
    }
    this.maybeCloseFd(file);
  }

  /**
   * A closed file's staging buffer, kept for the next file that outgrows its own: a log rolling to
   * a new segment every few milliseconds (big messages) otherwise grew each new file's buffer from
   * 64 KiB by doubling, copying the staged bytes at every step (5 % of the event loop).
   */
  private spareStaging: Buffer | undefined;

  private keepSpareStaging(file: AppendFile): void {
    const staging = file.staging;
    file.staging = NO_STAGING;
    if (staging.length > INITIAL_STAGING_BYTES && staging.length > (this.spareStaging?.length ?? 0))
      this.spareStaging = staging;
  }

  /** @internal The spare staging buffer if it holds at least `sizeBytes`. */
  takeSpareStaging(sizeBytes: number): Buffer | undefined {
    const spare = this.spareStaging;
    if (spare === undefined || spare.length < sizeBytes) return undefined;
    this.spareStaging = undefined;
    return spare;
  }

  private maybeCloseFd(file: AppendFile): void {
    if (file.closed || !file.closing || file.syncInFlight || file.stagedBytes > 0) return;
    if (file.unsynced && this.policy !== 'never') {
      // Data must still be synced; 'always' rounds and the interval timer pick it up.
      if (this.policy === 'always') this.schedule();
      return;
    }
    this.unsynced.delete(file);
    this.lazyUnsynced.delete(file);
    file.closed = true;
    try {
      this.fs.closeSync(file.fd);
    } catch (err) {
      this.report(err as Error, file.path);
    }
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.endOfTurn());
  }

  /** Writes every dirty file; returns false if any write failed. */
  private writeAll(): boolean {
    const dirty = this.dirty;
    this.dirty = [];
    let ok = true;
    for (const file of dirty) {
      if (file.stagedBytes > 0 && !this.writeFile(file)) {
        ok = false;
        this.dirty.push(file); // stays dirty, retried later
        continue;
      }
      file.dirty = false;
      if (file.closing) this.maybeCloseFd(file);
    }
    return ok;
  }

  private endOfTurn(): void {
    this.scheduled = false;
    if (this.failed) return;
    // While an fdatasync runs, new bytes stay staged: written into the same file they would make
    // the sync chase them (Linux flushes pages dirtied during the call too), which stretched rounds
    // from milliseconds to hundreds under a steady Kafka produce load. The round's end writes them
    // and starts the next round at once.
    if (this.syncing && this.policy === 'always') return;
    this.writeFailed = false;
    if (!this.writeAll()) {
      // Callbacks registered after the failed data must not fire before it is written.
      if (!this.retryTimer) {
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          this.schedule();
        }, this.retryDelayMs);
      }
      return;
    }
    if (this.failingWrite && this.dirty.length === 0) this.setFailingWrite(undefined);
    const needsSyncRound = this.policy === 'always' || this.flushWaiters.length > 0;
    if (this.policy !== 'always') this.fireWaiting();
    if (!needsSyncRound || this.syncing) return;
    if (this.policy === 'always' && this.waiting.length === 0 && this.flushWaiters.length === 0) {
      // Nobody waits: sync anyway so that closing files and future callbacks are not delayed.
      if (this.unsynced.size === 0) return;
    }
    this.startSyncRound();
  }

  private startSyncRound(): void {
    const callbacks = this.policy === 'always' ? this.waiting : [];
    this.waiting = this.policy === 'always' ? [] : this.waiting;
    const flushWaiters = this.flushWaiters;
    this.flushWaiters = [];
    const files = [...this.unsynced];
    this.unsynced.clear();
    // flush() (shutdown, an explicit barrier) covers lazy-sync files too.
    if (flushWaiters.length > 0) {
      for (const file of this.lazyUnsynced) if (!file.syncInFlight) files.push(file);
      this.lazyUnsynced.clear();
    }
    const dirs = [...this.unsyncedDirs];
    this.unsyncedDirs.clear();
    this.stats.rounds++;
    if (files.length === 0 && dirs.length === 0) {
      this.finishRound(callbacks, flushWaiters);
      return;
    }
    this.syncing = true;
    let remaining = files.length + dirs.length;
    let error: Error | undefined;
    const done = (err: Error | null, path: string): void => {
      if (err && !error) {
        error = err;
        this.report(err, path);
      }
      if (--remaining === 0) this.endSyncRound(files, callbacks, flushWaiters, error);
    };
    for (const dir of dirs) this.syncDir(dir, done);
    for (const file of files) {
      file.unsynced = false;
      file.syncInFlight = true;
      this.stats.syncs++;
      this.fs.fdatasync(file.fd, (err) => {
        file.syncInFlight = false;
        done(err, file.path);
      });
    }
  }

  /** fsyncs a directory on the libuv pool; one removed meanwhile has nothing left to make durable. */
  private syncDir(dir: string, done: (err: Error | null, path: string) => void): void {
    let fd: number;
    try {
      fd = this.fs.openSync(dir, 'r');
    } catch (err) {
      const gone = (err as NodeJS.ErrnoException).code === 'ENOENT';
      setImmediate(() => done(gone ? null : (err as Error), dir));
      return;
    }
    this.fs.fsync(fd, (err) => {
      try {
        this.fs.closeSync(fd);
      } catch (closeErr) {
        this.report(closeErr as Error, dir);
      }
      done(err, dir);
    });
  }

  /** The synchronous form of the directory fsyncs a round makes (syncNow, flushSync). */
  private syncDirsSync(): void {
    for (const dir of this.unsyncedDirs) {
      try {
        fsyncDir(dir, this.fs);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        this.report(err as Error, dir);
        this.fail(err as Error);
        return;
      }
    }
    this.unsyncedDirs.clear();
  }

  private endSyncRound(
    files: AppendFile[],
    callbacks: Callback[],
    flushWaiters: Array<(err?: Error) => void>,
    error: Error | undefined,
  ): void {
    this.syncing = false;
    if (error) {
      this.fail(error);
      return;
    }
    for (const f of files) this.maybeCloseFd(f);
    this.finishRound(callbacks, flushWaiters);
    if (
      this.waiting.length > 0 ||
      this.flushWaiters.length > 0 ||
      this.unsynced.size > 0 ||
      this.unsyncedDirs.size > 0 ||
      this.dirty.length > 0
    ) {
      this.schedule();
    }
  }

  private finishRound(callbacks: Callback[], flushWaiters: Array<(err?: Error) => void>): void {
    for (const cb of callbacks) this.invoke(cb);
    for (const cb of flushWaiters) cb();
  }

  private fireWaiting(): void {
    if (this.writeFailed || this.failed) return;
    const callbacks = this.waiting;
    this.waiting = [];
    for (const cb of callbacks) this.invoke(cb);
  }

  private invoke(cb: Callback): void {
    try {
      cb();
    } catch (err) {
      this.report(err as Error, 'afterDurable callback');
    }
  }

  private intervalSync(): void {
    if (this.syncing || this.failed) return;
    for (const file of [...this.unsynced, ...this.lazyUnsynced]) {
      if (file.syncInFlight) continue;
      this.syncFileSync(file);
      if (this.failed) return;
      this.maybeCloseFd(file);
    }
  }

  /** @internal See AppendFile.syncNow. */
  syncNow(file: AppendFile): void {
    if (this.failed) throw new StorageFailedError(this.failed);
    if (file.stagedBytes > 0 && !this.writeFile(file))
      throw new Error(`write to ${file.path} failed; it is retried, but not synced yet`);
    this.syncDirsSync();
    if (this.failed) throw new StorageFailedError(this.failed);
    this.syncFileSync(file);
    if (this.failed) throw new StorageFailedError(this.failed);
  }

  private syncFileSync(file: AppendFile): void {
    try {
      this.stats.syncs++;
      this.fs.fdatasyncSync(file.fd);
      file.unsynced = false;
      this.unsynced.delete(file);
      this.lazyUnsynced.delete(file);
    } catch (err) {
      this.report(err as Error, file.path);
      this.fail(err as Error);
    }
  }

  /**
   * Calls `listener` once when an fdatasync fails (at once if one already has): the committer
   * has then stopped for good (fail-stop, see the file comment). The broker logs it, reports it
   * through its health check and must be restarted to recover from what is on disk.
   */
  onFailure(listener: (err: Error) => void): void {
    if (this.failed) listener(this.failed);
    else this.failureListeners.push(listener);
  }

  /**
   * Calls `listener` with the error when writes start failing (a full disk: ENOSPC, EDQUOT; the
   * bytes stay staged and are retried) and with undefined once every staged byte is written again.
   * The broker raises its disk alarm on it, so publishers are refused before anything is lost.
   */
  onWriteState(listener: (failing: Error | undefined) => void): void {
    this.writeStateListeners.push(listener);
    if (this.failingWrite) listener(this.failingWrite);
  }

  /** The error of the write failing now, undefined while writes go through. */
  get writeError(): Error | undefined {
    return this.failingWrite;
  }

  /**
   * A full disk refused a new file (the append that needed it fails): reported as a failing write,
   * so the disk alarm is raised; a retry turn after retryDelayMs clears it if nothing else is
   * failing, and the next file creation tries again.
   */
  private creationFailed(err: Error): void {
    this.report(err, 'open');
    this.setFailingWrite(err);
    this.retryTimer ??= setTimeout(() => {
      this.retryTimer = undefined;
      this.schedule();
    }, this.retryDelayMs);
  }

  private setFailingWrite(err: Error | undefined): void {
    if ((err === undefined) === (this.failingWrite === undefined)) return;
    this.failingWrite = err;
    for (const listener of this.writeStateListeners) {
      try {
        listener(err);
      } catch {
        // A throwing listener must not stop the committer.
      }
    }
  }

  private fail(err: Error): void {
    if (this.failed) return;
    this.failed = err;
    for (const listener of this.failureListeners) {
      try {
        listener(err);
      } catch {
        // A throwing listener must not stop the others.
      }
    }
    const flushWaiters = this.flushWaiters;
    this.flushWaiters = [];
    // flush() callers learn of the failure through a rejected promise.
    for (const cb of flushWaiters) cb(err);
  }

  private report(err: Error, path: string): void {
    try {
      this.onError(err, path);
    } catch {
      // A throwing error handler must not take the committer down.
    }
  }

  /** The fatal error that stopped the committer, if any. */
  get error(): Error | undefined {
    return this.failed;
  }
}

/**
 * Thrown by appends once the committer has failed: after a failed fdatasync the kernel may have
 * dropped the dirty pages, so nothing more can be promised durable until the broker restarts and
 * recovers from what the disk holds (a retried fsync could "succeed" without the lost data).
 */
export class StorageFailedError extends Error {
  constructor(override readonly cause: Error) {
    super(
      `storage is stopped after a failed fdatasync (${cause.message}); nothing more is written or acknowledged: restart the broker to recover from disk`,
    );
    this.name = 'StorageFailedError';
  }
}

/** `fs`'s calls (own or inherited, bound to it), node:fs for the ones it lacks. */
function withFallback(fs: Partial<StorageFs>): StorageFs {
  const merged: Record<string, unknown> = { constants: fs.constants ?? nodeFs.constants };
  for (const key of STORAGE_FS_CALLS) {
    const own = fs[key];
    merged[key] = typeof own === 'function' ? own.bind(fs) : nodeFs[key];
  }
  return merged as unknown as StorageFs;
}

/** fsyncs a directory so that entries created, renamed or removed in it survive a crash. */
export function fsyncDir(path: string, fsys: StorageFs = nodeFs): void {
  const fd = fsys.openSync(path, 'r');
  try {
    fsys.fsyncSync(fd);
  } finally {
    fsys.closeSync(fd);
  }
}

/**
 * mkdir -p, and (when `sync`) fsyncs the parent of every directory it created, top down: without
 * that a power cut can forget a new store's directory, and every file later made durable in it.
 */
export function mkdirDurable(path: string, fsys: StorageFs, sync: boolean): void {
  const created: string[] = [];
  for (let p = path; !fsys.existsSync(p); p = dirname(p)) {
    created.unshift(p);
    if (dirname(p) === p) break;
  }
  if (created.length === 0) return;
  fsys.mkdirSync(path, { recursive: true });
  if (sync) for (const dir of created) fsyncDir(dirname(dir), fsys);
}
