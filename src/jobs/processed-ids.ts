/**
 * Idempotent consumers: the ids of jobs a worker has completed, so a redelivered job (its ack was
 * lost with a connection, or it was added twice where the broker cannot deduplicate) is
 * acknowledged without running its handler again.
 */
export interface HasOptions {
  /**
   * The delivery may have run before (redelivered, a failed or lost attempt before it, an SQS
   * receive count above 1): a store with a lagging replica (StreamProcessedIds) first makes it
   * current, so a completion recorded elsewhere before this delivery is seen. Others ignore it.
   */
  readonly mayHaveRun?: boolean;
}

export interface ProcessedIdStore {
  /** Whether the job completed (within the store's memory). */
  has(jobId: string, options?: HasOptions): boolean | Promise<boolean>;
  /** Records the job as completed (and drops a claim on it). */
  add(jobId: string): void | Promise<void>;
  /**
   * Optional: reserves the job for `ownerId` for `leaseMs`, so two workers holding copies of the same
   * job id do not run it at once. True when the job was free, its claim expired (its owner died) or
   * `ownerId` already holds it (the lease is then extended). A store without claims only keeps
   * workers from re-running completed jobs.
   */
  claim?(jobId: string, ownerId: string, leaseMs: number): boolean | Promise<boolean>;
  /** Optional: gives up `ownerId`'s claim (the attempt failed and the job is retried). */
  release?(jobId: string, ownerId: string): void | Promise<void>;
}

/** Remembered ids by default: 100,000 ids (about 10 MB) for 24 hours. */
export const DEFAULT_PROCESSED_IDS = 100_000;
export const DEFAULT_PROCESSED_TTL_MS = 24 * 3_600_000;

/**
 * In the worker's memory: the newest `maxEntries` ids, each for `ttlMs`. Lost when the process
 * ends, and not shared between workers; pass a shared ProcessedIdStore (a database table, Redis
 * SETNX with a TTL) to close those windows.
 */
export class MemoryProcessedIds implements ProcessedIdStore {
  /** Insertion-ordered: the first entry is the oldest, dropped first. */
  private readonly expiry = new Map<string, number>();
  private readonly claims = new Map<string, { ownerId: string; untilMs: number }>();

  constructor(
    private readonly maxEntries = DEFAULT_PROCESSED_IDS,
    private readonly ttlMs = DEFAULT_PROCESSED_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  has(jobId: string): boolean {
    const until = this.expiry.get(jobId);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.expiry.delete(jobId);
    return false;
  }

  claim(jobId: string, ownerId: string, leaseMs: number): boolean {
    const held = this.claims.get(jobId);
    if (held && held.ownerId !== ownerId && held.untilMs > this.now()) return false;
    this.claims.set(jobId, { ownerId, untilMs: this.now() + leaseMs });
    return true;
  }

  release(jobId: string, ownerId: string): void {
    if (this.claims.get(jobId)?.ownerId === ownerId) this.claims.delete(jobId);
  }

  add(jobId: string): void {
    this.claims.delete(jobId);
    this.expiry.delete(jobId);
    this.expiry.set(jobId, this.now() + this.ttlMs);
    while (this.expiry.size > this.maxEntries) {
      const oldest = this.expiry.keys().next().value as string;
      this.expiry.delete(oldest);
    }
  }

  get size(): number {
    return this.expiry.size;
  }
}
