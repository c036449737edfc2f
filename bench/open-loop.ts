// The report's latency-at-load runs: which rates to run at, and an open-loop send schedule.
//
// A closed-loop publisher that falls behind sends later and stamps the later time, so the broker's
// stalls vanish from the latency it measures ("coordinated omission"). The open-loop schedule keeps
// the intended time of every message: message k is due at start + k / rate whatever happened, and
// the publisher stamps that time, so a stall shows up as latency of every message it delayed.
// Pure: the caller passes the clock (nanoseconds on any monotonic base).

/** The fractions of a workload's measured maximum rate that the report measures latency at. */
export const LOAD_FRACTIONS: readonly number[] = [0.25, 0.5, 0.9];

/** Target rates (msgs/s, rounded, at least 1) for each fraction of `maxRate`; none when there is no maximum. */
export function loadRates(
  maxRate: number | null,
  fractions: readonly number[] = LOAD_FRACTIONS,
): { fraction: number; rate: number }[] {
  if (maxRate === null || !Number.isFinite(maxRate) || maxRate <= 0) return [];
  return fractions.map((fraction) => ({ fraction, rate: Math.max(1, Math.round(maxRate * fraction)) }));
}

export class OpenLoopSchedule {
  private startNs = 0;
  private taken = 0;
  readonly intervalNs: number;

  constructor(readonly ratePerS: number) {
    if (!(ratePerS > 0)) throw new Error(`open-loop rate must be > 0 msgs/s, got ${ratePerS}`);
    this.intervalNs = 1e9 / ratePerS;
  }

  start(nowNs: number): void {
    this.startNs = nowNs;
    this.taken = 0;
  }

  /** Messages due by `nowNs` and not yet taken (never capped: an open loop does not forgive lag). */
  due(nowNs: number): number {
    const dueTotal = Math.floor(((nowNs - this.startNs) * this.ratePerS) / 1e9) + 1;
    return Math.max(0, dueTotal - this.taken);
  }

  /** When the next message not yet taken is (or was) due. */
  nextDueNs(): number {
    return this.startNs + this.taken * this.intervalNs;
  }

  /** Takes the next `n` messages; returns when the first was due (the i-th: first + i × intervalNs). */
  take(n: number): number {
    const firstDueNs = this.startNs + this.taken * this.intervalNs;
    this.taken += n;
    return firstDueNs;
  }

  /** Messages taken so far. */
  get sent(): number {
    return this.taken;
  }
}
