/**
 * The broker's durable state under one data directory:
 *
 *   <dataDir>/pier.lock              pid of the broker holding the directory
 *   <dataDir>/definitions/           DiskDefinitionsStore
 *   <dataDir>/queues/<hex>/          one QueueLog per durable queue; <hex> = SHA-1 of `vhost\0name`
 *   <dataDir>/queues/<hex>/name.json {vhost, queueName}, for humans and orphan cleanup
 *   <dataDir>/streams/<hex>/         one DiskStreamStore per stream queue (same naming, same name.json)
 *   <dataDir>/sqs/log/               the messages of all SQS queues, one shared log (sqs/disk-sqs-store.ts)
 *   <dataDir>/sqs/<queue id>/dedup/  a FIFO SQS queue's deduplication ids
 *   <dataDir>/transient/<n>/         pages of non-durable queues (emptied at start, never fsync'd)
 */
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import type { FsyncPolicy } from '../core/durability.js';
import { DiskQueueStore } from './amqp/disk-queue-store.js';
import { TransientQueueStorage } from './amqp/transient-queue-store.js';
import { DiskDefinitionsStore } from './disk-definitions-store.js';
import { fsyncDir, GroupCommitter, mkdirDurable } from './group-commit.js';
import { DiskSqsStorage } from './sqs/disk-sqs-store.js';
import { nodeFs, type StorageFs } from './storage-fs.js';
import { DiskStreamStore, type DiskStreamStoreOptions } from './stream/disk-stream-store.js';

export interface StorageOptions {
  dataDir: string;
  fsync: FsyncPolicy;
  fsyncIntervalMs?: number;
  segmentSizeBytes?: number;
  logger?: (line: string) => void;
  /** Per-queue in-memory window of durable and non-durable queues (see DiskQueueStoreOptions). */
  queueWindowMessages?: number;
  queueWindowBytes?: number;
  /** Definitions log records before compaction (default 1000). */
  definitionsCompactAfterRecords?: number;
  /** Stream index spacing (see DiskStreamStoreOptions; tests use small values). */
  streamIndexIntervalBytes?: number;
  /**
   * Called once when storage stops after a failed fdatasync (fail-stop: nothing more is written or
   * acknowledged until a restart). The broker's health check and metrics hook in here.
   */
  onFailure?: (err: Error) => void;
  /** The file system every store goes through (default node:fs; tests pass a simulated one). */
  fs?: StorageFs;
}

const LOCK_FILE = 'pier.lock';
/** Data directories locked by this process (a lock file naming our pid is stale otherwise). */
const lockedByThisProcess = new Set<string>();

export class StorageLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(
      `data directory ${dataDir} is in use by another Pier broker (pid ${pid}); lock file ${join(dataDir, LOCK_FILE)}`,
    );
    this.name = 'StorageLockedError';
  }
}

export class Storage {
  readonly dataDir: string;
  readonly committer: GroupCommitter;
  readonly definitions: DiskDefinitionsStore;
  /** Non-durable queues' pages: a scratch directory emptied at start (amqp/transient-queue-store.ts). */
  readonly transient: TransientQueueStorage;
  private readonly options: StorageOptions;
  private readonly fs: StorageFs;
  private readonly logger: (line: string) => void;
  private readonly queuesDir: string;
  private readonly openStores = new Map<string, DiskQueueStore>();
  private readonly streamsDir: string;
  private readonly openStreams = new Map<string, DiskStreamStore>();
  private sqsStorage: DiskSqsStorage | undefined;
  private closed = false;
  private reportedFailure: Error | undefined;
  private readonly failureListeners: Array<(err: Error) => void> = [];

  private constructor(options: StorageOptions) {
    this.options = options;
    this.dataDir = resolve(options.dataDir);
    this.logger = options.logger ?? ((line) => console.error(line));
    const fs = options.fs ?? nodeFs;
    this.fs = fs;
    mkdirDurable(this.dataDir, fs, options.fsync === 'always');
    acquireLock(fs, this.dataDir);
    try {
      this.queuesDir = join(this.dataDir, 'queues');
      mkdirDurable(this.queuesDir, fs, options.fsync === 'always');
      this.streamsDir = join(this.dataDir, 'streams');
      mkdirDurable(this.streamsDir, fs, options.fsync === 'always');
      this.committer = new GroupCommitter({
        fsync: options.fsync,
        fsyncIntervalMs: options.fsyncIntervalMs,
        onError: (err, path) => this.logger(`storage error: ${path}: ${err.message}`),
        fs,
      });
      this.committer.onFailure((err) => this.reportFailure(err));
      this.transient = new TransientQueueStorage(join(this.dataDir, 'transient'), fs, {
        windowMessages: options.queueWindowMessages,
        windowBytes: options.queueWindowBytes,
        segmentSizeBytes: options.segmentSizeBytes,
        logger: this.logger,
      });
      this.definitions = DiskDefinitionsStore.open(join(this.dataDir, 'definitions'), {
        logger: this.logger,
        sync: options.fsync !== 'never',
        compactAfterRecords: options.definitionsCompactAfterRecords,
        fs,
        onFailure: (err) => this.reportFailure(err),
      });
    } catch (err) {
      releaseLock(this.fs, this.dataDir);
      throw err;
    }
  }

  /** The error that stopped storage (a failed fdatasync), or undefined while it is healthy. */
  get failure(): Error | undefined {
    return this.committer.error ?? this.definitions.failure;
  }

  /**
   * Calls `listener` once when storage stops after a failed fdatasync (message stores or
   * definitions), at once if it already has: the broker raises its disk alarm and health check.
   */
  onFailure(listener: (err: Error) => void): void {
    if (this.reportedFailure) listener(this.reportedFailure);
    else this.failureListeners.push(listener);
  }

  private reportFailure(err: Error): void {
    if (this.reportedFailure) return;
    this.reportedFailure = err;
    for (const listener of this.failureListeners) {
      try {
        listener(err);
      } catch {
        // a throwing listener must not hide the failure
      }
    }
    this.logger(
      `storage FAILED: fdatasync error (${err.message}); no further message writes are accepted and nothing ` +
        'after the last successful sync is acknowledged. Restart the broker to recover from the disk.',
    );
    try {
      this.options.onFailure?.(err);
    } catch {
      // a throwing hook must not hide the failure
    }
  }

  static open(options: StorageOptions): Storage {
    return new Storage(options);
  }

  /** Directory name for a queue: collision-free and safe whatever the vhost and name contain. */
  static queueDirName(vhost: string, queueName: string): string {
    return createHash('sha1').update(`${vhost}\0${queueName}`).digest('hex');
  }

  queueDir(vhost: string, queueName: string): string {
    return join(this.queuesDir, Storage.queueDirName(vhost, queueName));
  }

  /** Opens (creating or recovering) a durable queue's store. */
  openQueueStore(vhost: string, queueName: string): DiskQueueStore {
    if (this.closed) throw new Error('storage is closed');
    const dirName = Storage.queueDirName(vhost, queueName);
    if (this.openStores.has(dirName))
      throw new Error(`queue store for '${queueName}' in vhost '${vhost}' is already open`);
    const dir = join(this.queuesDir, dirName);
    const namePath = join(dir, 'name.json');
    if (!this.fs.existsSync(namePath)) {
      this.fs.mkdirSync(dir, { recursive: true });
      this.fs.writeFileSync(namePath, `${JSON.stringify({ vhost, queueName })}\n`);
      // Not synced here (3 ms a declare): the queue log fsyncs this directory's parent before its
      // first segment, i.e. before any message in it can be acknowledged.
    }
    const store = DiskQueueStore.open(dir, this.committer, {
      segmentSizeBytes: this.options.segmentSizeBytes,
      windowMessages: this.options.queueWindowMessages,
      windowBytes: this.options.queueWindowBytes,
      logger: this.logger,
      onRelease: () => this.openStores.delete(dirName),
    });
    this.openStores.set(dirName, store);
    return store;
  }

  /** Deletes a queue's data (closing its store if open). */
  deleteQueueData(vhost: string, queueName: string): void {
    const dirName = Storage.queueDirName(vhost, queueName);
    const store = this.openStores.get(dirName);
    if (store) store.destroy();
    else this.fs.rmSync(join(this.queuesDir, dirName), { recursive: true, force: true });
  }

  /** Deletes the data of every queue not in `keep` (queues deleted while their data lingered). */
  removeOrphanQueueData(keep: Array<{ vhost: string; queueName: string }>): void {
    const wanted = new Set(keep.map((q) => Storage.queueDirName(q.vhost, q.queueName)));
    for (const name of this.fs.readdirSync(this.queuesDir)) {
      if (wanted.has(name) || this.openStores.has(name)) continue;
      this.logger(
        `storage: removing data of unknown queue ${describeQueueDir(this.fs, join(this.queuesDir, name))}`,
      );
      this.fs.rmSync(join(this.queuesDir, name), { recursive: true, force: true });
    }
  }

  // ---- streams ------------------------------------------------------------------------------

  /** Opens (creating or recovering) a stream queue's log. */
  openStreamStore(
    vhost: string,
    streamName: string,
    options: Pick<DiskStreamStoreOptions, 'segmentSizeBytes' | 'segmentMaxAgeMs'>,
  ): DiskStreamStore {
    if (this.closed) throw new Error('storage is closed');
    const dirName = Storage.queueDirName(vhost, streamName);
    if (this.openStreams.has(dirName))
      throw new Error(`stream '${streamName}' in vhost '${vhost}' is already open`);
    const dir = join(this.streamsDir, dirName);
    const namePath = join(dir, 'name.json');
    if (!this.fs.existsSync(namePath)) {
      this.fs.mkdirSync(dir, { recursive: true });
      this.fs.writeFileSync(namePath, `${JSON.stringify({ vhost, queueName: streamName })}\n`);
      if (this.options.fsync === 'always') fsyncDir(this.streamsDir, this.fs);
    }
    const log = DiskStreamStore.open(dir, this.committer, {
      segmentSizeBytes: options.segmentSizeBytes,
      segmentMaxAgeMs: options.segmentMaxAgeMs,
      indexIntervalBytes: this.options.streamIndexIntervalBytes,
      logger: this.logger,
      onRelease: () => this.openStreams.delete(dirName),
    });
    this.openStreams.set(dirName, log);
    return log;
  }

  /** Deletes the data of every stream not in `keep` (streams deleted while their data lingered). */
  removeOrphanStreamData(keep: Array<{ vhost: string; queueName: string }>): void {
    const wanted = new Set(keep.map((q) => Storage.queueDirName(q.vhost, q.queueName)));
    for (const name of this.fs.readdirSync(this.streamsDir)) {
      if (wanted.has(name) || this.openStreams.has(name)) continue;
      this.logger(
        `storage: removing data of unknown stream ${describeQueueDir(this.fs, join(this.streamsDir, name))}`,
      );
      this.fs.rmSync(join(this.streamsDir, name), { recursive: true, force: true });
    }
  }

  // ---- SQS ----------------------------------------------------------------------------------

  /** The SQS queues' stores (created on first use). */
  get sqs(): DiskSqsStorage {
    if (this.closed) throw new Error('storage is closed');
    this.sqsStorage ??= new DiskSqsStorage(this.dataDir, this.committer, {
      segmentSizeBytes: this.options.segmentSizeBytes,
      logger: this.logger,
    });
    return this.sqsStorage;
  }

  /** Closes every open queue store and the definitions, syncs everything, releases the lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const store of [...this.openStores.values()]) store.close();
    for (const log of [...this.openStreams.values()]) log.close();
    this.sqsStorage?.close();
    this.transient.close();
    try {
      await this.committer.close();
    } finally {
      this.definitions.close();
      releaseLock(this.fs, this.dataDir);
    }
  }
}

function describeQueueDir(fs: StorageFs, dir: string): string {
  try {
    const { vhost, queueName } = JSON.parse(fs.readFileSync(join(dir, 'name.json')).toString('utf8'));
    return `'${queueName}' in vhost '${vhost}' (${dir})`;
  } catch {
    return dir;
  }
}

function acquireLock(fs: StorageFs, dataDir: string): void {
  const path = join(dataDir, LOCK_FILE);
  if (lockedByThisProcess.has(dataDir)) throw new StorageLockedError(dataDir, process.pid);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = fs.openSync(path, 'wx');
      const pid = Buffer.from(`${process.pid}\n`);
      fs.writeSync(fd, pid, 0, pid.length, 0);
      fs.closeSync(fd);
      lockedByThisProcess.add(dataDir);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const pid = Number.parseInt(readQuiet(fs, path), 10);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) {
      throw new StorageLockedError(dataDir, pid);
    }
    // Stale: the holder is gone (or the file was left by this process's earlier life / a copy).
    try {
      fs.unlinkSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  throw new Error(`could not acquire lock ${path}`);
}

function releaseLock(fs: StorageFs, dataDir: string): void {
  lockedByThisProcess.delete(dataDir);
  try {
    fs.unlinkSync(join(dataDir, LOCK_FILE));
  } catch {
    // already gone
  }
}

function readQuiet(fs: StorageFs, path: string): string {
  try {
    return fs.readFileSync(path).toString('utf8');
  } catch {
    return '';
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
