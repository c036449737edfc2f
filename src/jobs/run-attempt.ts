/**
 * One attempt of a handler: its timeout and abort signal, whatever it throws or returns. Shared by
 * the AMQP and SQS workers.
 */
import { JobTimeoutError } from './job.js';

export type AttemptOutcome<R> = { ok: true; result: R } | { ok: false; error: unknown };

/**
 * Runs `handler` with `controller`'s signal; a timeout aborts the signal and fails the attempt at
 * once (the handler's promise is left to settle on its own: JavaScript cannot stop it).
 */
export async function runAttempt<R>(
  handler: () => Promise<R> | R,
  controller: AbortController,
  timeoutMs: number | undefined,
): Promise<AttemptOutcome<R>> {
  let timer: NodeJS.Timeout | undefined;
  const aborted = new Promise<AttemptOutcome<R>>((resolve) => {
    const onAbort = () => resolve({ ok: false, error: controller.signal.reason });
    if (controller.signal.aborted) onAbort();
    else controller.signal.addEventListener('abort', onAbort, { once: true });
  });
  if (timeoutMs !== undefined) {
    timer = setTimeout(() => controller.abort(new JobTimeoutError(timeoutMs)), timeoutMs);
  }
  const ran = (async (): Promise<AttemptOutcome<R>> => {
    try {
      return { ok: true, result: await handler() };
    } catch (error) {
      return { ok: false, error };
    }
  })();
  try {
    return await Promise.race([ran, aborted]);
  } finally {
    if (timer) clearTimeout(timer);
  }
}
