/**
 * Repeatable jobs: a schedule (every N ms, or a cron expression) that adds a job at each slot.
 * The schedule runs in the process that called repeat() (a timer); each slot's job gets the id
 * `repeat:<key>:<slot ms>`, so several producers running the same schedule add each slot once
 * where the broker deduplicates jobIds (Pier, SQS FIFO), and workers run it once in any case
 * (their processed-id memory).
 */
import { parseCron } from './cron.js';

export type RepeatSchedule =
  /** Slots at multiples of everyMs since the epoch (so every producer agrees on them). */
  | { readonly everyMs: number }
  /** A five-field cron expression, in UTC. */
  | { readonly cron: string };

export interface RepeatHandle {
  readonly key: string;
  /** When the next job will be added (ms since the epoch). */
  readonly nextAtMs: number;
  stop(): void;
}

/** Runs `schedule`, calling `addAt(slotMs, jobId)` at each slot until stopped. */
export function startRepeat(
  key: string,
  schedule: RepeatSchedule,
  addAt: (slotMs: number, jobId: string) => Promise<unknown>,
  onError: (error: unknown) => void,
): RepeatHandle {
  let nextOf: (afterMs: number) => number;
  if ('cron' in schedule) {
    const cron = parseCron(schedule.cron);
    nextOf = (afterMs) => cron.next(afterMs);
  } else {
    const every = schedule.everyMs;
    if (!(Number.isInteger(every) && every >= 1))
      throw new RangeError(`everyMs must be an integer ≥ 1, not ${every}`);
    nextOf = (afterMs) => (Math.floor(afterMs / every) + 1) * every;
  }
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const handle = {
    key,
    nextAtMs: nextOf(Date.now()),
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
  const arm = () => {
    if (stopped) return;
    // Timers wait at most 2^31-1 ms: a far slot re-arms on the way.
    const waitMs = Math.min(2 ** 31 - 1, Math.max(0, handle.nextAtMs - Date.now()));
    timer = setTimeout(fire, waitMs);
    timer.unref();
  };
  const fire = () => {
    if (stopped) return;
    const slot = handle.nextAtMs;
    if (Date.now() < slot) return arm();
    handle.nextAtMs = nextOf(Math.max(slot, Date.now()));
    addAt(slot, `repeat:${key}:${slot}`).catch(onError);
    arm();
  };
  arm();
  return handle;
}
