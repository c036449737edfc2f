/**
 * How a job travels: its payload as the JSON body, its id as messageId, its name as type, and its
 * policy and history in headers (the same names over AMQP headers and SQS message attributes).
 */
import { type Backoff, checkBackoff } from './backoff.js';
import type { AttemptRecord } from './job.js';

export const HEADER = {
  /** Attempts that already failed (the handler threw or timed out). */
  failed: 'x-job-failed',
  /** Attempts lost with their worker (a crash, a lost connection, the consumer timeout). */
  lost: 'x-job-lost',
  /** On a job's lease copy (amqp-lease.ts): seen back in the job queue, its worker was lost. */
  leased: 'x-job-leased',
  leaseToken: 'x-job-lease-token',
  attempts: 'x-job-attempts',
  backoff: 'x-job-backoff',
  timeoutMs: 'x-job-timeout',
  addedAtMs: 'x-job-added',
  history: 'x-job-history',
  /** Dead-lettered jobs: why ('attempts-exhausted', 'invalid-payload'). */
  reason: 'x-job-dead-letter-reason',
  error: 'x-job-error',
  /** SQS: not before this time (ms since the epoch), for delays past SQS's 900 s. */
  notBeforeMs: 'x-job-not-before',
  /** The id a caller gave: the broker deduplicates on it (the header Pier's dedup exchange reads). */
  dedup: 'x-deduplication-header',
} as const;

/** Attempt records kept with a job (the newest). */
export const HISTORY_KEPT = 10;
/** Stacks are cut to this many characters in the history. */
const STACK_CHARS = 2_000;

/** A job's policy and history as read from its headers. */
export interface JobMeta {
  readonly failed: number;
  readonly lost: number;
  readonly attempts: number;
  readonly backoff: Backoff | undefined;
  readonly timeoutMs: number | undefined;
  readonly addedAtMs: number;
  readonly history: readonly AttemptRecord[];
}

type HeaderBag = Readonly<Record<string, unknown>> | undefined;

function numberOf(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && value !== '' && Number.isFinite(Number(value))) return Number(value);
  return undefined;
}

function stringOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return undefined;
}

function jsonOf<V>(value: unknown): V | undefined {
  const text = stringOf(value);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as V;
  } catch {
    return undefined;
  }
}

export function readJobMeta(headers: HeaderBag, nowMs: number): JobMeta {
  const backoff = jsonOf<Backoff>(headers?.[HEADER.backoff]);
  let checked: Backoff | undefined;
  try {
    checkBackoff(backoff);
    checked = backoff;
  } catch {
    checked = undefined;
  }
  const history = jsonOf<AttemptRecord[]>(headers?.[HEADER.history]);
  return {
    failed: Math.max(0, Math.trunc(numberOf(headers?.[HEADER.failed]) ?? 0)),
    lost: Math.max(0, Math.trunc(numberOf(headers?.[HEADER.lost]) ?? 0)),
    attempts: Math.max(1, Math.trunc(numberOf(headers?.[HEADER.attempts]) ?? 1)),
    backoff: checked,
    timeoutMs: numberOf(headers?.[HEADER.timeoutMs]),
    addedAtMs: numberOf(headers?.[HEADER.addedAtMs]) ?? nowMs,
    history: Array.isArray(history) ? history : [],
  };
}

/**
 * The headers a new job carries (strings and numbers only, so they fit SQS attributes too). The
 * counters' defaults (no failed attempt, 1 attempt) are left out: readJobMeta reads a missing
 * header as its default, and every header costs an encode on the producer and a decode on the broker.
 */
export function newJobHeaders(options: {
  attempts?: number;
  backoff?: Backoff;
  timeoutMs?: number;
  addedAtMs: number;
}): Record<string, string | number> {
  const headers: Record<string, string | number> = { [HEADER.addedAtMs]: options.addedAtMs };
  if (options.attempts !== undefined && options.attempts !== 1) headers[HEADER.attempts] = options.attempts;
  if (options.backoff) headers[HEADER.backoff] = JSON.stringify(options.backoff);
  if (options.timeoutMs !== undefined) headers[HEADER.timeoutMs] = options.timeoutMs;
  return headers;
}

/** The attempt a delivery of the job is: one after every failed and lost one. */
export function attemptNumber(meta: JobMeta): number {
  return meta.failed + meta.lost + 1;
}

/** The headers of the next attempt after a failure: the counter up, the failure in the history. */
export function failedAttemptHeaders(meta: JobMeta, record: AttemptRecord): Record<string, string | number> {
  const headers = newJobHeaders({
    attempts: meta.attempts,
    backoff: meta.backoff,
    timeoutMs: meta.timeoutMs,
    addedAtMs: meta.addedAtMs,
  });
  headers[HEADER.failed] = meta.failed + 1;
  if (meta.lost > 0) headers[HEADER.lost] = meta.lost;
  headers[HEADER.history] = JSON.stringify(appendHistory(meta.history, record));
  return headers;
}

/** The headers of the next attempt after one was lost with its worker: the lost counter up. */
export function lostAttemptHeaders(meta: JobMeta, record: AttemptRecord): Record<string, string | number> {
  const headers = failedAttemptHeaders(meta, record);
  headers[HEADER.failed] = meta.failed;
  headers[HEADER.lost] = meta.lost + 1;
  return headers;
}

export function appendHistory(history: readonly AttemptRecord[], record: AttemptRecord): AttemptRecord[] {
  const trimmed: AttemptRecord = record.stack
    ? { ...record, stack: record.stack.slice(0, STACK_CHARS) }
    : record;
  return [...history, trimmed].slice(-HISTORY_KEPT);
}
