/**
 * How long a failed attempt waits before the next one. `attempt` is the number of the attempt
 * that just failed (1 for the first).
 */
export type BackoffFunction = (attempt: number, error: unknown) => number;

export type Backoff =
  /** The same wait after every failure. */
  | { readonly type: 'fixed'; readonly delayMs: number }
  /**
   * delayMs × 2^(attempt−1), capped at maxDelayMs, then scaled by a random factor in
   * [1 − jitter, 1] ("equal jitter" for jitter 0.5; full jitter for 1): workers that failed
   * together do not retry together.
   */
  | {
      readonly type: 'exponential';
      readonly delayMs: number;
      readonly maxDelayMs?: number;
      /** 0 (none) to 1; default 0. */
      readonly jitter?: number;
    }
  /** A strategy the Worker names in its `backoffStrategies` option (a function cannot travel in a message). */
  | { readonly type: 'custom'; readonly name: string };

/** The default cap of exponential backoff: one hour. */
export const DEFAULT_MAX_BACKOFF_MS = 3_600_000;

/** The wait before the attempt after `attempt`, in whole ms ≥ 0. */
export function backoffDelayMs(
  backoff: Backoff | undefined,
  attempt: number,
  error: unknown,
  strategies: Readonly<Record<string, BackoffFunction>> = {},
  random: () => number = Math.random,
): number {
  if (!backoff) return 0;
  switch (backoff.type) {
    case 'fixed':
      return wholeMs(backoff.delayMs);
    case 'exponential': {
      const cap = backoff.maxDelayMs ?? DEFAULT_MAX_BACKOFF_MS;
      const base = Math.min(cap, backoff.delayMs * 2 ** Math.max(0, attempt - 1));
      const jitter = Math.min(1, Math.max(0, backoff.jitter ?? 0));
      return wholeMs(base * (1 - jitter * random()));
    }
    case 'custom': {
      const strategy = strategies[backoff.name];
      if (!strategy) {
        throw new Error(
          `backoff strategy '${backoff.name}' is not known to this worker: pass it in the Worker's backoffStrategies option`,
        );
      }
      return wholeMs(strategy(attempt, error));
    }
  }
}

function wholeMs(ms: number): number {
  return Number.isFinite(ms) && ms > 0 ? Math.ceil(ms) : 0;
}

/** Checks a Backoff given by a caller; throws naming the field. */
export function checkBackoff(backoff: Backoff | undefined): void {
  if (!backoff) return;
  if (backoff.type === 'custom') {
    if (typeof backoff.name !== 'string' || backoff.name === '')
      throw new TypeError('backoff.name must name a strategy');
    return;
  }
  if (backoff.type !== 'fixed' && backoff.type !== 'exponential') {
    throw new TypeError(
      `backoff.type must be 'fixed', 'exponential' or 'custom', not '${String((backoff as { type: unknown }).type)}'`,
    );
  }
  if (!(Number.isFinite(backoff.delayMs) && backoff.delayMs >= 0))
    throw new TypeError('backoff.delayMs must be a number of ms ≥ 0');
}
