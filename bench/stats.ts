// Shared counters, latency histogram and configuration types for the benchmark.

import { setTimeout as delay } from 'node:timers/promises';

export type Workload = 'transient' | 'persistent';
export type ClientKind = 'raw' | 'amqplib';

export interface RunConfig {
  url: string;
  workload: Workload;
  queue: string;
  size: number;
  publishers: number;
  consumers: number;
  prefetch: number;
  /** Consumers ack with multiple=true every this many deliveries. */
  ackEvery: number;
  /** Cap on published - consumed across all publishers (0 = unlimited). */
  maxOutstanding: number;
  /** Cap on unconfirmed publishes per publisher (persistent workload only). */
  confirmWindow: number;
  /** Target publish rate in msgs/s summed over all publishers (0 = as fast as allowed). */
  rate: number;
  /**
   * With a rate: keep to the schedule however far behind the publisher falls (no catch-up cap) and
   * stamp each message with the time it was due, so latency includes any wait to be sent (an
   * open-loop run, free of coordinated omission). Used by the report's latency-at-load runs.
   */
  openLoop?: boolean;
  /** Publish to this exchange with routing key `queue` (default: the default exchange). */
  exchange?: string;
  /** Consumer i consumes consumeQueues[i % length] instead of `queue` (fan-out runs). */
  consumeQueues?: string[];
  /** The caller declared the topology: the runner neither declares nor deletes `queue`. */
  topologyDeclared?: boolean;
}

/**
 * Paces one publisher at `rate` msgs/s: `allowance()` is how many messages it
 * may send now. Unused allowance does not accumulate beyond ~50 ms worth.
 */
export class Pacer {
  private startMs = 0;
  private sent = 0;
  constructor(private readonly rate: number) {}
  get enabled(): boolean {
    return this.rate > 0;
  }
  start(): void {
    this.startMs = performance.now();
    this.sent = 0;
  }
  allowance(): number {
    if (this.rate <= 0) return Number.POSITIVE_INFINITY;
    const due = ((performance.now() - this.startMs) * this.rate) / 1000;
    const burst = Math.max(1, this.rate / 20);
    if (due - this.sent > burst) this.sent = due - burst;
    return Math.floor(due - this.sent);
  }
  sentMessages(n: number): void {
    this.sent += n;
  }
}

/** The send timestamp stored in the first 8 bytes of every body (ns, process.hrtime). */
export function nowNs(): number {
  return Number(process.hrtime.bigint());
}

/**
 * Log-linear latency histogram in microseconds: exact below 256 µs, then 128
 * sub-buckets per power of two (< 0.8 % relative error). Cheap enough to record
 * every message.
 */
export class LatencyHistogram {
  private counts = new Float64Array(256 + 24 * 128);
  count = 0;
  maxUs = 0;
  minUs = Number.POSITIVE_INFINITY;
  sumUs = 0;

  record(ns: number): void {
    let us = Math.floor(ns / 1000);
    if (us < 0) us = 0;
    if (us > 0x7fffffff) us = 0x7fffffff;
    this.count++;
    this.sumUs += us;
    if (us > this.maxUs) this.maxUs = us;
    if (us < this.minUs) this.minUs = us;
    this.counts[LatencyHistogram.index(us)]++;
  }

  private static index(us: number): number {
    if (us < 256) return us;
    const e = 31 - Math.clz32(us); // >= 8
    const sub = (us >>> (e - 7)) & 127;
    return 256 + (e - 8) * 128 + sub;
  }

  private static upperBound(i: number): number {
    if (i < 256) return i;
    const e = Math.floor((i - 256) / 128) + 8;
    const sub = (i - 256) % 128;
    return ((128 + sub + 1) << (e - 7)) - 1;
  }

  /** Percentile in microseconds (upper edge of the bucket, capped at max). */
  percentileUs(p: number): number {
    if (this.count === 0) return Number.NaN;
    const target = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i];
      if (seen >= target) return Math.min(LatencyHistogram.upperBound(i), this.maxUs);
    }
    return this.maxUs;
  }

  /** Adds another histogram's samples (the report sums runners that each had their own). */
  mergeFrom(other: LatencyHistogram): void {
    for (let i = 0; i < this.counts.length; i++) this.counts[i] += other.counts[i];
    this.count += other.count;
    this.sumUs += other.sumUs;
    if (other.maxUs > this.maxUs) this.maxUs = other.maxUs;
    if (other.minUs < this.minUs) this.minUs = other.minUs;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.maxUs = 0;
    this.minUs = Number.POSITIVE_INFINITY;
    this.sumUs = 0;
  }
}

/** Live counters shared between the load generator and the orchestrator. */
export class RunStats {
  published = 0;
  confirmed = 0;
  nacked = 0;
  consumed = 0;
  /** Highest published - consumed seen by a publisher. */
  maxOutstanding = 0;
  blocked = false;
  windowOpen = false;
  windowStartNs = 0;
  /** Messages sent and received inside the measurement window. */
  e2e = 0;
  readonly latency = new LatencyHistogram();
  /** Latency of the messages received since the last progress tick. */
  readonly tickLatency = new LatencyHistogram();
  /** Deliveries each publish makes: 1, or the number of bound queues in a fan-out. */
  copiesPerPublish = 1;

  get outstanding(): number {
    return this.published * this.copiesPerPublish - this.consumed;
  }

  /** Called once per consumed message. */
  onConsumed(sendTs: number, now: number): void {
    this.consumed++;
    if (sendTs > 0) {
      this.tickLatency.record(now - sendTs);
      if (this.windowOpen && sendTs >= this.windowStartNs) {
        this.e2e++;
        this.latency.record(now - sendTs);
      }
    }
  }

  noteOutstanding(): void {
    const o = this.outstanding;
    if (o > this.maxOutstanding) this.maxOutstanding = o;
  }

  openWindow(): void {
    this.windowStartNs = nowNs();
    this.e2e = 0;
    this.latency.reset();
    this.maxOutstanding = this.outstanding;
    this.windowOpen = true;
  }
}

/** A load generator for one run (one workload on one fresh queue). */
export interface LoadRunner {
  /** Connect, declare the queue, start consumers. */
  setup(): Promise<void>;
  /** Start publishing (returns immediately). */
  start(): void;
  /** Stop publishing and consuming. */
  stop(): Promise<void>;
  /** Delete the queue and close every connection; must not throw. */
  teardown(): Promise<void>;
  /** Set when a connection fails mid-run. */
  error: Error | null;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Run `p` but give up after `ms` (resolving to undefined). */
export async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  const ac = new AbortController();
  try {
    return await Promise.race([p, delay(ms, undefined, { signal: ac.signal }).catch(() => undefined)]);
  } finally {
    ac.abort();
  }
}
