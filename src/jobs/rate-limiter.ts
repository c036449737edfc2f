/**
 * A worker's rate limit: at most `max` job starts in any window of `durationMs` (a sliding log of
 * start times). Per worker process; several workers share a limit by dividing it.
 */
export interface RateLimit {
  readonly max: number;
  readonly durationMs: number;
}

export class RateLimiter {
  private readonly starts: number[] = [];

  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number = Date.now,
  ) {
    if (!(Number.isInteger(limit.max) && limit.max > 0))
      throw new TypeError('limiter.max must be an integer > 0');
    if (!(limit.durationMs > 0)) throw new TypeError('limiter.durationMs must be > 0');
  }

  /** Resolves when a job may start, and counts that start. */
  async acquire(signal?: AbortSignal): Promise<void> {
    for (;;) {
      const now = this.now();
      while (this.starts.length > 0 && this.starts[0]! <= now - this.limit.durationMs) this.starts.shift();
      if (this.starts.length < this.limit.max) {
        this.starts.push(now);
        return;
      }
      if (signal?.aborted) throw signal.reason;
      const waitMs = this.starts[0]! + this.limit.durationMs - now;
      await new Promise((resolve) => setTimeout(resolve, Math.max(1, waitMs)));
    }
  }
}
