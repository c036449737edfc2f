/**
 * A clock that runs in real time and can also jump forward: `warp(ms)` moves now() ahead and
 * fires every timer that falls due, at once. Unlike ManualClock, Kafka group sessions and
 * heartbeats keep working between warps; unlike the system clock, a test (or the screenshot
 * script) gets the management API's 5 s rate samples without waiting 5 s for each.
 */
import type { Clock, TimerHandle } from '../../src/core/clock.js';

interface WarpTimer {
  readonly dueAtMs: number;
  readonly order: number;
  readonly callback: () => void;
  handle: NodeJS.Timeout;
}

export class WarpClock implements Clock {
  private offsetMs: number;
  private readonly timers = new Set<WarpTimer>();
  private nextOrder = 0;

  /** Starts at `startMs` (default: now) and runs at real speed from there. */
  constructor(startMs = Date.now()) {
    this.offsetMs = startMs - Date.now();
  }

  now(): number {
    return Date.now() + this.offsetMs;
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const timer: WarpTimer = {
      dueAtMs: this.now() + Math.max(0, delayMs),
      order: this.nextOrder++,
      callback,
      handle: undefined as unknown as NodeJS.Timeout,
    };
    this.schedule(timer);
    this.timers.add(timer);
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    const timer = handle as WarpTimer;
    clearTimeout(timer.handle);
    this.timers.delete(timer);
  }

  /** Jumps `ms` ahead, firing what falls due in due-time order (and timers those set, if due). */
  warp(ms: number): void {
    this.offsetMs += ms;
    for (;;) {
      const now = this.now();
      let next: WarpTimer | undefined;
      for (const t of this.timers) {
        if (
          t.dueAtMs <= now &&
          (!next || t.dueAtMs < next.dueAtMs || (t.dueAtMs === next.dueAtMs && t.order < next.order))
        )
          next = t;
      }
      if (!next) break;
      this.clearTimeout(next);
      next.callback();
    }
    // The rest are due sooner in real time now.
    for (const t of this.timers) {
      clearTimeout(t.handle);
      this.schedule(t);
    }
  }

  private schedule(timer: WarpTimer): void {
    timer.handle = setTimeout(
      () => {
        if (this.timers.delete(timer)) timer.callback();
      },
      Math.max(0, timer.dueAtMs - this.now()),
    );
    timer.handle.unref();
  }
}
