/**
 * Resource alarms, as RabbitMQ's: memory above the high watermark or free disk space below the
 * limit raises an alarm; while any alarm is raised, publishing connections are blocked (the AMQP
 * listener subscribes with onChange). Measured periodically on an unref'd timer; `check()` measures
 * at once (tests inject the measurements and call it instead of sleeping).
 */
import { statfsSync } from 'node:fs';
import { totalmem } from 'node:os';
import { formatBytes, type MemoryWatermark } from './information-units.js';

export type ResourceAlarm = 'memory' | 'disk';

/** What protocol listeners see of the monitor. */
export interface ResourceAlarms {
  /** Alarms raised now; empty when publishing may proceed. */
  readonly active: ReadonlySet<ResourceAlarm>;
  /** Calls `listener` after the set of raised alarms changes; returns an unsubscribe function. */
  onChange(listener: () => void): () => void;
}

/**
 * What protocols that answer each write themselves (Kafka produce, SQS send) see of the disk
 * alarm: while it is raised they refuse writes with their own retriable error instead of blocking.
 */
export interface WriteAvailability {
  /** Why writes are refused now (the disk alarm's reason), undefined while they are accepted. */
  refusal(): string | undefined;
  /** Calls `listener` after any alarm changes; returns an unsubscribe function. */
  onChange(listener: () => void): () => void;
}

export interface ResourceOptions {
  /** Default `{ fraction: 0.4 }` of total memory, as RabbitMQ's vm_memory_high_watermark. */
  memoryHighWatermark?: MemoryWatermark;
  /** Free space the data directory's filesystem must keep. Default 50 MB, as RabbitMQ's disk_free_limit. */
  diskFreeLimitBytes?: number;
  /** Period of the measurements. Default 1000. */
  checkIntervalMs?: number;
  /** Memory in use. Default: the process's resident set size (RabbitMQ's `rss` strategy). */
  memoryUsedBytes?: () => number;
  /** Free bytes for the data directory. Default: statfs of the data directory (blocks available to us). */
  diskFreeBytes?: () => number;
  /** Memory a fractional watermark is taken of. Default: total RAM, or the cgroup limit when lower. */
  totalMemoryBytes?: number;
  /** RabbitMQ's vm_memory_high_watermark_paging_ratio; default MEMORY_PAGING_RATIO. */
  memoryPagingRatio?: number;
}

export const DEFAULT_MEMORY_HIGH_WATERMARK: MemoryWatermark = { fraction: 0.4 };
/**
 * RabbitMQ's vm_memory_high_watermark_paging_ratio (default 0.5): above this fraction of the
 * watermark, queues page messages to disk to stay clear of the alarm (`--memory-paging-ratio`;
 * above 1, as in RabbitMQ, they never page for memory: the alarm comes first).
 */
export const MEMORY_PAGING_RATIO = 0.5;
export const DEFAULT_DISK_FREE_LIMIT_BYTES = 50_000_000;
export const DEFAULT_RESOURCE_CHECK_INTERVAL_MS = 1000;

/** Total RAM, or the container's memory limit when one is set and lower. */
export function availableMemoryBytes(): number {
  const total = totalmem();
  const constrained = (process as { constrainedMemory?: () => number | undefined }).constrainedMemory?.();
  return constrained !== undefined && constrained > 0 && constrained < total ? constrained : total;
}

export class ResourceMonitor implements ResourceAlarms, WriteAvailability {
  readonly memoryLimitBytes: number;
  readonly diskFreeLimitBytes: number;
  readonly checkIntervalMs: number;
  private readonly raised = new Set<ResourceAlarm>();
  private readonly listeners = new Set<() => void>();
  private readonly pagingListeners = new Set<(paging: boolean) => void>();
  /** Memory above MEMORY_PAGING_RATIO of the watermark: queues page to disk (no alarm, nobody blocked). */
  memoryPaging = false;
  private readonly memoryUsedBytes: () => number;
  private readonly diskFreeBytes: () => number;
  private readonly watermark: MemoryWatermark;
  private readonly totalMemoryBytes: number;
  private readonly memoryPagingRatio: number;
  private timer: NodeJS.Timeout | undefined;
  private diskErrorLogged = false;
  private memoryErrorLogged = false;
  /** A store's write is failing with a full disk (ENOSPC, EDQUOT): the disk alarm holds meanwhile. */
  private failingWrite: Error | undefined;
  /** Storage stopped after a failed fdatasync (fail-stop): the disk alarm holds until a restart. */
  storageFailure: Error | undefined;

  /** The full-disk error of a store's write failing now; undefined while writes go through. */
  get diskWriteError(): Error | undefined {
    return this.failingWrite;
  }
  /** The last measurements (for the metrics); undefined before the first, or when it failed. */
  lastMemoryUsedBytes: number | undefined;
  lastDiskFreeBytes: number | undefined;

  constructor(
    private readonly dataDir: string,
    options: ResourceOptions,
    private readonly log: (line: string) => void,
  ) {
    this.watermark = options.memoryHighWatermark ?? DEFAULT_MEMORY_HIGH_WATERMARK;
    this.totalMemoryBytes = options.totalMemoryBytes ?? availableMemoryBytes();
    this.memoryPagingRatio = options.memoryPagingRatio ?? MEMORY_PAGING_RATIO;
    this.memoryLimitBytes =
      'bytes' in this.watermark
        ? this.watermark.bytes
        : Math.floor(this.watermark.fraction * this.totalMemoryBytes);
    this.diskFreeLimitBytes = options.diskFreeLimitBytes ?? DEFAULT_DISK_FREE_LIMIT_BYTES;
    this.checkIntervalMs = options.checkIntervalMs ?? DEFAULT_RESOURCE_CHECK_INTERVAL_MS;
    this.memoryUsedBytes = options.memoryUsedBytes ?? (() => process.memoryUsage.rss());
    this.diskFreeBytes = options.diskFreeBytes ?? (() => statfsFreeBytes(dataDir));
  }

  get active(): ReadonlySet<ResourceAlarm> {
    return this.raised;
  }

  refusal(): string | undefined {
    return this.raised.has('disk') ? `disk alarm: ${this.diskMessage(this.lastDiskFreeBytes)}` : undefined;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Calls `listener` when memory use crosses the paging threshold, either way; returns an unsubscribe function. */
  onPagingChange(listener: (paging: boolean) => void): () => void {
    this.pagingListeners.add(listener);
    return () => this.pagingListeners.delete(listener);
  }

  /** Memory above which queues page to disk: the paging ratio of the watermark. */
  get pagingThresholdBytes(): number {
    return Math.floor(this.memoryLimitBytes * this.memoryPagingRatio);
  }

  /** Measures now and keeps measuring every checkIntervalMs. */
  start(): void {
    this.check();
    this.schedule();
  }

  /** One line for the start-up log. */
  describeLimits(): string {
    const watermark =
      'bytes' in this.watermark
        ? formatBytes(this.memoryLimitBytes)
        : `${this.watermark.fraction} of ${formatBytes(this.totalMemoryBytes)} = ${formatBytes(this.memoryLimitBytes)}`;
    return `resource limits: memory high watermark ${watermark}; disk free limit ${this.diskFreeLimitBytes} bytes (${formatBytes(this.diskFreeLimitBytes)}) on ${this.dataDir}`;
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.check();
      this.schedule();
    }, this.checkIntervalMs);
    this.timer.unref();
  }

  /** Measures memory and disk now, raising or clearing alarms; listeners hear of any change. */
  check(): void {
    const memoryBytes = this.measureMemory();
    this.lastMemoryUsedBytes = memoryBytes;
    // As RabbitMQ: the memory alarm is above the watermark, the disk alarm below the limit.
    // Paging first: queues free what they can before publishers are blocked.
    if (memoryBytes !== undefined) this.updatePaging(memoryBytes > this.pagingThresholdBytes, memoryBytes);
    const memoryChanged =
      memoryBytes !== undefined &&
      this.update('memory', memoryBytes > this.memoryLimitBytes, () => this.memoryMessage(memoryBytes));
    let diskChanged = false;
    const freeBytes = this.measureDisk();
    this.lastDiskFreeBytes = freeBytes;
    if (freeBytes !== undefined || this.diskHeld()) diskChanged = this.updateDisk(freeBytes);
    if (memoryChanged || diskChanged) this.notify();
  }

  private updatePaging(paging: boolean, memoryBytes: number): void {
    if (paging === this.memoryPaging) return;
    this.memoryPaging = paging;
    this.log(
      `memory used ${formatBytes(memoryBytes)} is ${paging ? 'above' : 'back below'} the paging threshold ` +
        `${formatBytes(this.pagingThresholdBytes)} (${this.memoryPagingRatio} of the high watermark): ` +
        (paging ? 'queues page messages to disk' : 'queues keep their usual in-memory windows'),
    );
    for (const listener of [...this.pagingListeners]) listener(paging);
  }

  /**
   * A store's write failed for lack of space (`err`), or writes go through again (undefined). The
   * disk alarm is raised at once, whatever the last measurement said (the limit may be 0, or the
   * disk filled between two measurements), so that publishers are refused instead of waiting on
   * confirms that cannot come; it clears when writes go through and free space is above the limit.
   */
  diskWriteFailing(err: Error | undefined): void {
    if (err !== undefined && !isDiskFullError(err)) return;
    this.failingWrite = err;
    if (err === undefined) this.lastDiskFreeBytes = this.measureDisk() ?? this.lastDiskFreeBytes;
    if (this.updateDisk(this.lastDiskFreeBytes, true)) this.notify();
  }

  /** Storage stopped after a failed fdatasync: the disk alarm stays raised until a restart. */
  storageFailed(err: Error): void {
    this.storageFailure ??= err;
    if (this.updateDisk(this.lastDiskFreeBytes)) this.notify();
  }

  /** Whether a failing write or a storage failure holds the disk alarm, whatever the free space. */
  private diskHeld(): boolean {
    return this.failingWrite !== undefined || this.storageFailure !== undefined;
  }

  /** `clearWhenUnknown`: an unmeasured free space clears the alarm (else it leaves it as it is). */
  private updateDisk(freeBytes: number | undefined, clearWhenUnknown = false): boolean {
    const held = this.diskHeld();
    if (freeBytes === undefined && !held && !clearWhenUnknown) return false;
    const raise = held || (freeBytes !== undefined && freeBytes < this.diskFreeLimitBytes);
    return this.update('disk', raise, () => this.diskMessage(freeBytes));
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  private update(alarm: ResourceAlarm, over: boolean, describe: () => string): boolean {
    if (over === this.raised.has(alarm)) return false;
    if (over) this.raised.add(alarm);
    else this.raised.delete(alarm);
    const still = this.raised.size > 0 ? ` (still raised: ${[...this.raised].join(', ')})` : '';
    this.log(
      over
        ? `${alarm} resource limit alarm set: ${describe()}. Publishers are blocked until it clears.`
        : `${alarm} resource limit alarm cleared: ${describe()}.${still ? ` Publishers stay blocked${still}.` : ' Publishers are unblocked.'}`,
    );
    return true;
  }

  private memoryMessage(usedBytes: number): string {
    const limit = `the high watermark ${formatBytes(this.memoryLimitBytes)}`;
    if (usedBytes <= this.memoryLimitBytes) return `memory used ${formatBytes(usedBytes)} is within ${limit}`;
    return `memory used ${formatBytes(usedBytes)} is above ${limit}; consume or purge queued messages, or raise --memory-high-watermark`;
  }

  private diskMessage(freeBytes: number | undefined): string {
    if (this.storageFailure) {
      return `storage stopped after a failed fdatasync (${this.storageFailure.message}); nothing more is written: restart the broker to recover from the disk`;
    }
    if (this.failingWrite) {
      return `writing to ${this.dataDir} fails (${this.failingWrite.message}); staged messages are kept and retried, nothing is acknowledged until written; free disk space`;
    }
    if (freeBytes === undefined) return `free space on ${this.dataDir} cannot be measured`;
    const limit = `the limit ${formatBytes(this.diskFreeLimitBytes)} on ${this.dataDir}`;
    if (freeBytes >= this.diskFreeLimitBytes) return `${formatBytes(freeBytes)} free is within ${limit}`;
    return `${formatBytes(freeBytes)} free is below ${limit}; free disk space (consuming and acking messages deletes queue segments), or lower --disk-free-limit`;
  }

  /**
   * The resident set size, or undefined when it cannot be read: process.memoryUsage.rss() reads
   * /proc/self/stat, which throws EMFILE while every file descriptor is taken (a connection flood
   * past `ulimit -n`); a timer throwing there used to take the broker down.
   */
  private measureMemory(): number | undefined {
    try {
      const used = this.memoryUsedBytes();
      this.memoryErrorLogged = false;
      return used;
    } catch (error) {
      // Leave the memory alarm as it is: a failed measurement says nothing about memory use.
      if (!this.memoryErrorLogged) {
        this.log(`cannot measure memory use: ${(error as Error).message}`);
        this.memoryErrorLogged = true;
      }
      return undefined;
    }
  }

  private measureDisk(): number | undefined {
    try {
      const free = this.diskFreeBytes();
      this.diskErrorLogged = false;
      return free;
    } catch (error) {
      // Leave the disk alarm as it is: a failed measurement says nothing about free space.
      if (!this.diskErrorLogged) {
        this.log(`cannot measure free disk space on ${this.dataDir}: ${(error as Error).message}`);
        this.diskErrorLogged = true;
      }
      return undefined;
    }
  }
}

/** A write that failed because the file system (or the user's quota) is full. */
export function isDiskFullError(err: Error): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

function statfsFreeBytes(dir: string): number {
  const stats = statfsSync(dir);
  return stats.bavail * stats.bsize;
}
