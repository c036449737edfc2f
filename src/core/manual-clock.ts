import type { Clock, TimerHandle } from './clock.js';

interface ManualTimer {
  readonly dueAtMs: number;
  /** Creation order: timers due at the same time fire in the order they were set. */
  readonly order: number;
  readonly callback: () => void;
  cancelled: boolean;
}

/**
 * A clock that moves only when told to, for exact tests of TTLs, expiries, delays and timeouts:
 * `advance(ms)` runs every timer that falls due, in due-time order, with `now()` set to each
 * timer's due time while it runs.
 */
export class ManualClock implements Clock {
  private nowMs: number;
  private timers: ManualTimer[] = [];
  private nextOrder = 0;

  constructor(startMs = Date.UTC(2026, 0, 1)) {
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs;
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const timer: ManualTimer = {
      dueAtMs: this.nowMs + Math.max(0, delayMs),
      order: this.nextOrder++,
      callback,
      cancelled: false,
    };
    this.timers.push(timer);
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    (handle as ManualTimer).cancelled = true;
  }

  /** Timers set and not yet fired or cleared. */
  get pendingTimers(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  /** Moves time forward by `ms`, firing due timers (including ones they set) in order. */
  advance(ms: number): void {
    const targetMs = this.nowMs + ms;
    for (;;) {
      this.timers = this.timers.filter((t) => !t.cancelled);
      let next: ManualTimer | undefined;
      for (const timer of this.timers) {
        if (timer.dueAtMs > targetMs) continue;
        if (
          !next ||
          timer.dueAtMs < next.dueAtMs ||
          (timer.dueAtMs === next.dueAtMs && timer.order < next.order)
        )
          next = timer;
      }
      if (!next) break;
      next.cancelled = true;
      this.nowMs = Math.max(this.nowMs, next.dueAtMs);
      next.callback();
    }
    this.nowMs = targetMs;
  }

  /** Sets the wall clock to an absolute time (forward only), firing what falls due. */
  advanceTo(timeMs: number): void {
    if (timeMs > this.nowMs) this.advance(timeMs - this.nowMs);
  }
}
