/**
 * The producer's side of results: outcomes of the jobs it added, from the events workers publish,
 * kept until someone asks (waitUntilFinished) — an outcome may arrive before the caller asks.
 */
import { JobFailedError } from './job.js';

type Outcome = { ok: true; result: unknown } | { ok: false; reason: string };

interface Tracked {
  outcome?: Outcome;
  waiters: Array<(outcome: Outcome) => void>;
}

/** Jobs tracked at most (the oldest are forgotten first). */
export const TRACKED_JOBS = 100_000;

export class FinishedJobs {
  private readonly jobs = new Map<string, Tracked>();

  constructor(private readonly limit = TRACKED_JOBS) {}

  track(jobId: string): void {
    if (this.jobs.has(jobId)) return;
    this.jobs.set(jobId, { waiters: [] });
    while (this.jobs.size > this.limit) this.jobs.delete(this.jobs.keys().next().value as string);
  }

  settle(jobId: string, outcome: Outcome): void {
    const entry = this.jobs.get(jobId);
    if (!entry || entry.outcome) return;
    if (entry.waiters.length > 0) {
      this.jobs.delete(jobId);
      for (const waiter of entry.waiters) waiter(outcome);
    } else {
      entry.outcome = outcome;
    }
  }

  wait<R>(jobId: string, timeoutMs: number | undefined): Promise<R> {
    const entry = this.jobs.get(jobId);
    if (!entry) {
      return Promise.reject(
        new Error(
          `job ${jobId} is not tracked by this queue: it was added elsewhere, or its outcome was already taken`,
        ),
      );
    }
    const unwrap = (outcome: Outcome): R => {
      if (outcome.ok) return outcome.result as R;
      throw new JobFailedError(jobId, outcome.reason);
    };
    if (entry.outcome) {
      this.jobs.delete(jobId);
      try {
        return Promise.resolve(unwrap(entry.outcome));
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return new Promise<R>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter = (outcome: Outcome) => {
        if (timer) clearTimeout(timer);
        try {
          resolve(unwrap(outcome));
        } catch (error) {
          reject(error);
        }
      };
      entry.waiters.push(waiter);
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          entry.waiters = entry.waiters.filter((w) => w !== waiter);
          reject(new Error(`job ${jobId} did not finish within ${timeoutMs} ms`));
        }, timeoutMs);
      }
    });
  }

  /** Rejects every waiter (the queue is closing). */
  abandon(reason: string): void {
    for (const [jobId, entry] of this.jobs) {
      for (const waiter of entry.waiters) waiter({ ok: false, reason });
      this.jobs.delete(jobId);
    }
  }
}
