/** Jobs as producers and workers see them, and their options. */
import type { Backoff } from './backoff.js';

export interface JobOptions {
  /**
   * The job's id. Given by the caller, it deduplicates: a second job with the same id added while
   * the broker remembers the first (its dedup window, `dedupWindowMs`) is dropped by the broker
   * (Pier's deduplicating exchange, RabbitMQ with the message-deduplication plugin, SQS FIFO), and
   * a worker that already completed that id acknowledges a redelivery without running it.
   * Without one, a random UUID is used.
   */
  readonly jobId?: string;
  /** Run no earlier than this many ms from now. */
  readonly delayMs?: number;
  /** 0 (lowest) to the queue's maxPriority; higher runs first. AMQP only. */
  readonly priority?: number;
  /** Runs at most this many times (the first run included) before it is dead-lettered. Default 1. */
  readonly attempts?: number;
  readonly backoff?: Backoff;
  /** An attempt that runs longer fails with a TimeoutError (and its AbortSignal fires). */
  readonly timeoutMs?: number;
  /** A job still waiting this long after it was added is dead-lettered (reason 'expired'), not run. */
  readonly ttlMs?: number;
}

/** One entry of a job's attempt history (kept with the job, the last 10). */
export interface AttemptRecord {
  readonly attempt: number;
  readonly error: string;
  readonly stack?: string;
  /** When the attempt failed, ms since the epoch. */
  readonly atMs: number;
}

/** What a worker's handler receives. */
export interface ActiveJob<T> {
  readonly id: string;
  readonly name: string;
  readonly data: T;
  /** The attempt now running, 1 for the first. */
  readonly attempt: number;
  readonly attempts: number;
  readonly addedAtMs: number;
  /** Earlier failed attempts. */
  readonly history: readonly AttemptRecord[];
  /** Aborted when the attempt times out or the worker is closing and gives the job back. */
  readonly signal: AbortSignal;
  /** Publishes a progress event (any JSON value). */
  updateProgress(progress: unknown): Promise<void>;
  /** Pushes back the lease of a long job (SQS visibility timeout; a no-op over AMQP). */
  extendLease(ms: number): Promise<void>;
}

export type JobEventName =
  | 'added'
  | 'active'
  | 'progress'
  | 'completed'
  | 'failed'
  | 'retrying'
  | 'dead-lettered';

/** An event about one job, as published by workers (and `added` by the queue). */
export interface JobEvent {
  readonly event: JobEventName;
  readonly jobId: string;
  readonly name: string;
  readonly attempt: number;
  readonly atMs: number;
  /** completed: the handler's return value (JSON). */
  readonly result?: unknown;
  /** progress: what updateProgress was given. */
  readonly progress?: unknown;
  /** failed, retrying, dead-lettered: the error's message. */
  readonly error?: string;
  /** retrying: the wait before the next attempt. */
  readonly delayMs?: number;
}

/** The outcome a waiting producer gets. */
export class JobFailedError extends Error {
  override readonly name = 'JobFailedError';
  constructor(
    readonly jobId: string,
    readonly reason: string,
  ) {
    super(`job ${jobId} failed for good: ${reason}`);
  }
}

/** An attempt that ran past its timeoutMs. */
export class JobTimeoutError extends Error {
  override readonly name = 'JobTimeoutError';
  constructor(timeoutMs: number) {
    super(`the attempt ran longer than its timeout of ${timeoutMs} ms`);
  }
}

/** What `add` hands back. */
export interface AddedJob<T, R = unknown> {
  readonly id: string;
  readonly name: string;
  readonly data: T;
  readonly options: JobOptions;
  /**
   * Resolves with the handler's return value when a worker completes the job, rejects with
   * JobFailedError when it is dead-lettered. Only events published after the Queue started are seen.
   */
  waitUntilFinished(timeoutMs?: number): Promise<R>;
}

/** A thrown value as a message and stack (handlers may throw anything). */
export function describeError(error: unknown): { message: string; stack?: string } {
  if (error instanceof Error) return { message: error.message || error.name, stack: error.stack };
  try {
    return { message: `non-Error thrown: ${typeof error === 'string' ? error : JSON.stringify(error)}` };
  } catch {
    return { message: `non-Error thrown: ${String(error)}` };
  }
}

export function checkJobOptions(options: JobOptions, maxPriority: number | undefined): void {
  const positiveInt = (value: number | undefined, name: string, min: number) => {
    if (value !== undefined && !(Number.isInteger(value) && value >= min))
      throw new TypeError(`${name} must be an integer ≥ ${min}, not ${value}`);
  };
  positiveInt(options.attempts, 'attempts', 1);
  positiveInt(options.delayMs, 'delayMs', 0);
  positiveInt(options.timeoutMs, 'timeoutMs', 1);
  positiveInt(options.ttlMs, 'ttlMs', 1);
  positiveInt(options.priority, 'priority', 0);
  if (options.priority !== undefined && (maxPriority === undefined || options.priority > maxPriority)) {
    throw new RangeError(
      `priority ${options.priority} needs a queue declared with maxPriority ≥ ${options.priority} (it has ${maxPriority ?? 'none'})`,
    );
  }
  if (options.jobId !== undefined && (typeof options.jobId !== 'string' || options.jobId === ''))
    throw new TypeError('jobId must be a non-empty string');
}
