/**
 * One attempt of a handler: its timeout and abort signal, whatever it throws or returns. Shared by
 * the AMQP and SQS workers.
 */
import { JobTimeoutError } from './job.js';

export type AttemptOutcome<R> = { ok: true; result: R } | { ok: false; error: unknown };

/**
 * Aborts a job's attempt. Its AbortSignal is made only when someone asks for it (the handler reads
 * `job.signal`, a rate limiter waits): an AbortController per job was a tenth of a busy worker's
 * time for handlers that never look at it.
 */
export class AttemptAbort {
  private controller: AbortController | undefined;
  private abortedWith: { reason: unknown } | undefined;
  private listener: ((reason: unknown) => void) | undefined;

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.abortedWith) this.controller.abort(this.abortedWith.reason);
    }
    return this.controller.signal;
  }

  get aborted(): boolean {
    return this.abortedWith !== undefined;
  }

  get reason(): unknown {
    return this.abortedWith?.reason;
  }

  abort(reason: unknown): void {
    if (this.abortedWith) return;
    this.abortedWith = { reason };
    this.controller?.abort(reason);
    this.listener?.(reason);
  }

  /** The one running attempt's hook (runAttempt's); undefined removes it. */
  onAbort(listener: ((reason: unknown) => void) | undefined): void {
    this.listener = listener;
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * Runs `handler` under `abort`; a timeout aborts it and fails the attempt at once (the handler's
 * promise is left to settle on its own: JavaScript cannot stop it). An attempt aborted before it
 * starts does not run the handler.
 */
export function runAttempt<R>(
  handler: () => Promise<R> | R,
  abort: AttemptAbort,
  timeoutMs: number | undefined,
): Promise<AttemptOutcome<R>> {
  if (abort.aborted) return Promise.resolve({ ok: false, error: abort.reason });
  // The timeout counts from the handler's start, its synchronous part included.
  const startedMs = timeoutMs === undefined ? 0 : Date.now();
  let returned: Promise<R> | R;
  try {
    returned = handler();
  } catch (error) {
    return Promise.resolve({ ok: false, error });
  }
  // A handler may abort its own attempt synchronously: that wins, as it would for an async one.
  if (abort.aborted) return Promise.resolve({ ok: false, error: abort.reason });
  // A synchronous handler ended before any timer could fire.
  if (!isThenable(returned)) return Promise.resolve({ ok: true, result: returned });
  return new Promise<AttemptOutcome<R>>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const settle = (outcome: AttemptOutcome<R>) => {
      if (timer) clearTimeout(timer);
      abort.onAbort(undefined);
      resolve(outcome);
    };
    abort.onAbort((reason) => settle({ ok: false, error: reason }));
    if (timeoutMs !== undefined) {
      const leftMs = Math.max(0, timeoutMs - (Date.now() - startedMs));
      timer = setTimeout(() => abort.abort(new JobTimeoutError(timeoutMs)), leftMs);
    }
    (returned as PromiseLike<R>).then(
      (result) => settle({ ok: true, result }),
      (error: unknown) => settle({ ok: false, error }),
    );
  });
}
