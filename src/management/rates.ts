/**
 * Server-side rate samples for the management API, as RabbitMQ's `*_details`: a ring of samples
 * (120 at 5 s by default) of the broker's message counters and of each queue's depths and
 * counters, taken on the core's clock. `rate` is the change per second between the last two
 * samples; with `?lengths_age=&lengths_incr=` (queue depths) or `?msg_rates_age=&msg_rates_incr=`
 * (message counters) a detail also carries `samples[{sample,timestamp}]` (newest first), `avg` and
 * `avg_rate` over that window, as rabbit_mgmt_stats does.
 */

import type { Queue } from '../core/amqp/queue.js';
import type { BrokerCore } from '../core/broker-core.js';
import type { TimerHandle } from '../core/clock.js';
import type { AmqpStats } from '../core/stats.js';
import { badRequest } from './errors.js';

export const SAMPLE_INTERVAL_MS = 5000;
export const SAMPLE_COUNT = 120;
/** Most points a `?…_age=&…_incr=` window may ask for. */
const MAX_POINTS = 1000;

type Values = Record<string, number>;

type Series = Array<{ timestamp: number; value: number }>;

/**
 * A fixed-size ring of samples of named values, in typed arrays (no object per sample: a broker
 * with many queues keeps one ring per queue).
 */
class SampleRing {
  private readonly timestamps: Float64Array;
  private readonly values: Float64Array;
  /** Index of the oldest sample. */
  private start = 0;
  private length = 0;

  constructor(
    private readonly fields: readonly string[],
    private readonly capacity: number,
  ) {
    this.timestamps = new Float64Array(capacity);
    this.values = new Float64Array(capacity * fields.length);
  }

  push(timestamp: number, values: Values): void {
    const slot = (this.start + this.length) % this.capacity;
    if (this.length < this.capacity) this.length++;
    else this.start = (this.start + 1) % this.capacity;
    this.timestamps[slot] = timestamp;
    const base = slot * this.fields.length;
    for (let f = 0; f < this.fields.length; f++) this.values[base + f] = values[this.fields[f]!] ?? 0;
  }

  /** One value's samples, oldest first (empty for a name the ring does not keep). */
  series(name: string): Series {
    const f = this.fields.indexOf(name);
    const out: Series = [];
    if (f < 0) return out;
    for (let i = 0; i < this.length; i++) {
      const slot = (this.start + i) % this.capacity;
      out.push({ timestamp: this.timestamps[slot]!, value: this.values[slot * this.fields.length + f]! });
    }
    return out;
  }
}

const GLOBAL_FIELDS = [
  'publish',
  'confirm',
  'return_unroutable',
  'drop_unroutable',
  'deliver',
  'deliver_no_ack',
  'get',
  'get_no_ack',
  'get_empty',
  'deliver_get',
  'redeliver',
  'ack',
] as const;

const QUEUE_FIELDS = [
  'messages',
  'messages_ready',
  'messages_unacknowledged',
  'publish',
  'deliver_get',
  'redeliver',
  'ack',
] as const;

/** The broker's message counters under RabbitMQ's message_stats names. */
export function globalMessageCounters(stats: AmqpStats): Values {
  const deliveries =
    stats.deliveredConsumeManualAck +
    stats.deliveredConsumeAutoAck +
    stats.deliveredGetManualAck +
    stats.deliveredGetAutoAck;
  return {
    publish: stats.messagesReceived,
    confirm: stats.messagesConfirmed,
    return_unroutable: stats.messagesUnroutableReturned,
    drop_unroutable: stats.messagesUnroutableDropped,
    deliver: stats.deliveredConsumeManualAck,
    deliver_no_ack: stats.deliveredConsumeAutoAck,
    get: stats.deliveredGetManualAck,
    get_no_ack: stats.deliveredGetAutoAck,
    get_empty: stats.getEmpty,
    deliver_get: deliveries,
    redeliver: stats.redelivered,
    ack: stats.acknowledged,
  };
}

/** A queue's message counters under RabbitMQ's message_stats names. */
export function queueMessageCounters(queue: Queue): Values {
  return {
    publish: queue.messagesPublished,
    deliver_get: queue.messagesDelivered,
    redeliver: queue.messagesRedelivered,
    ack: queue.messagesAcknowledged,
  };
}

/** A queue's depths under RabbitMQ's names. */
export function queueLengths(queue: Queue): Values {
  const ready = queue.messageCount;
  const unacked = queue.leasedCount;
  return { messages: ready + unacked, messages_ready: ready, messages_unacknowledged: unacked };
}

/** A `?…_age=&…_incr=` window in milliseconds, or undefined for just `{rate}`. */
export interface SampleWindow {
  readonly ageMs: number;
  readonly incrMs: number;
}

/** The window asked for by `{prefix}_age` and `{prefix}_incr` (seconds), e.g. `lengths`, `msg_rates`. */
export function sampleWindow(query: URLSearchParams, prefix: string): SampleWindow | undefined {
  const age = query.get(`${prefix}_age`);
  const incr = query.get(`${prefix}_incr`);
  if (age === null && incr === null) return undefined;
  const ageS = Number(age);
  const incrS = Number(incr);
  if (!Number.isInteger(ageS) || !Number.isInteger(incrS) || ageS < 0 || incrS <= 0)
    throw badRequest(`${prefix}_age and ${prefix}_incr must be whole seconds, ${prefix}_incr above 0`);
  if (ageS / incrS > MAX_POINTS)
    throw badRequest(`${prefix}_age / ${prefix}_incr must be at most ${MAX_POINTS}`);
  return { ageMs: ageS * 1000, incrMs: incrS * 1000 };
}

/** What the API adds beside a value `X` as `X_details`. */
export interface Details {
  rate: number;
  samples?: Array<{ sample: number; timestamp: number }>;
  avg?: number;
  avg_rate?: number;
}

/** One value's details from its series (oldest first). */
function detailsOf(
  series: ReadonlyArray<{ timestamp: number; value: number }>,
  nowMs: number,
  window: SampleWindow | undefined,
): Details {
  const n = series.length;
  let rate = 0;
  if (n >= 2) {
    const last = series[n - 1]!;
    const before = series[n - 2]!;
    const seconds = (last.timestamp - before.timestamp) / 1000;
    if (seconds > 0) rate = (last.value - before.value) / seconds;
  }
  const details: Details = { rate };
  if (window === undefined) return details;
  // Points at multiples of incr, newest first, back to now − age; each takes the last sample at or
  // before its time (points before the first sample are left out).
  const samples: Array<{ sample: number; timestamp: number }> = [];
  const newest = Math.floor(nowMs / window.incrMs) * window.incrMs;
  let index = n - 1;
  for (let t = newest; t >= nowMs - window.ageMs; t -= window.incrMs) {
    while (index >= 0 && series[index]!.timestamp > t) index--;
    if (index < 0) break;
    samples.push({ sample: series[index]!.value, timestamp: t });
  }
  details.samples = samples;
  details.avg = samples.length === 0 ? 0 : samples.reduce((sum, s) => sum + s.sample, 0) / samples.length;
  const first = samples[0];
  const last = samples[samples.length - 1];
  details.avg_rate =
    first && last && first.timestamp > last.timestamp
      ? (first.sample - last.sample) / ((first.timestamp - last.timestamp) / 1000)
      : 0;
  return details;
}

/** Adds `X` (the live value) and `X_details` for each name to `into`. */
function addWithDetails(
  into: Record<string, unknown>,
  live: Values,
  rings: readonly SampleRing[],
  nowMs: number,
  window: SampleWindow | undefined,
): void {
  for (const [name, value] of Object.entries(live)) {
    into[name] = value;
    into[`${name}_details`] = detailsOf(sumSeries(rings, name), nowMs, window);
  }
}

/** One value's series, summed over several rings at the timestamps they share (all sampled together). */
function sumSeries(rings: readonly SampleRing[], name: string): Series {
  if (rings.length === 0) return [];
  if (rings.length === 1) return rings[0]!.series(name);
  const sums = new Map<number, number>();
  for (const ring of rings) {
    for (const s of ring.series(name)) sums.set(s.timestamp, (sums.get(s.timestamp) ?? 0) + s.value);
  }
  return [...sums.entries()].sort(([a], [b]) => a - b).map(([timestamp, value]) => ({ timestamp, value }));
}

/** Kafka consumer groups' total lag now, by group id (sampled beside the queues when Kafka is on). */
export type GroupLagSource = () => ReadonlyMap<string, number>;

export interface RateSamplerOptions {
  readonly intervalMs?: number;
  readonly capacity?: number;
}

/** Samples the counters on the core's clock and answers `*_details` from the samples kept. */
export class RateSampler {
  private readonly intervalMs: number;
  private readonly capacity: number;
  private readonly global: SampleRing;
  private readonly queues = new Map<Queue, SampleRing>();
  private readonly groups = new Map<string, SampleRing>();
  private groupLag: GroupLagSource | undefined;
  private timer: TimerHandle | undefined;

  constructor(
    private readonly core: BrokerCore,
    options: RateSamplerOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? SAMPLE_INTERVAL_MS;
    this.capacity = options.capacity ?? SAMPLE_COUNT;
    this.global = new SampleRing(GLOBAL_FIELDS, this.capacity);
  }

  /** Takes a sample now and then every interval until stop(). */
  start(): void {
    if (this.timer !== undefined) return;
    this.sample();
    this.schedule();
  }

  stop(): void {
    if (this.timer !== undefined) this.core.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    this.timer = this.core.clock.setTimeout(() => {
      this.sample();
      this.schedule();
    }, this.intervalMs);
  }

  /** Records one sample of every counter and queue (deleted queues are forgotten). */
  sample(): void {
    const timestamp = this.core.clock.now();
    this.global.push(timestamp, globalMessageCounters(this.core.stats));
    const seen = new Set<Queue>();
    for (const queue of this.core.allQueues()) {
      seen.add(queue);
      let ring = this.queues.get(queue);
      if (!ring) {
        ring = new SampleRing(QUEUE_FIELDS, this.capacity);
        this.queues.set(queue, ring);
      }
      ring.push(timestamp, { ...queueLengths(queue), ...queueMessageCounters(queue) });
    }
    for (const queue of this.queues.keys()) if (!seen.has(queue)) this.queues.delete(queue);
    if (this.groupLag) {
      const lags = this.groupLag();
      for (const [groupId, lag] of lags) {
        let ring = this.groups.get(groupId);
        if (!ring) {
          ring = new SampleRing(['lag'], this.capacity);
          this.groups.set(groupId, ring);
        }
        ring.push(timestamp, { lag });
      }
      for (const groupId of this.groups.keys()) if (!lags.has(groupId)) this.groups.delete(groupId);
    }
  }

  /** Also samples Kafka groups' lag (set by composition when Kafka is on). */
  sampleGroupLag(source: GroupLagSource): void {
    this.groupLag = source;
  }

  /** A Kafka group's lag history as `lag_details` ({rate}, with samples for `lengths_age`/`lengths_incr`). */
  groupLagDetails(groupId: string, query: URLSearchParams): Details {
    return detailsOf(
      this.groups.get(groupId)?.series('lag') ?? [],
      this.core.clock.now(),
      sampleWindow(query, 'lengths'),
    );
  }

  /** /api/overview message_stats: the broker's counters with details. */
  overviewMessageStats(query: URLSearchParams): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const window = sampleWindow(query, 'msg_rates');
    addWithDetails(out, globalMessageCounters(this.core.stats), [this.global], this.core.clock.now(), window);
    return out;
  }

  /** /api/overview queue_totals over the given queues, with details from their summed samples. */
  queueTotals(queues: readonly Queue[], query: URLSearchParams): Record<string, unknown> {
    const live: Values = { messages: 0, messages_ready: 0, messages_unacknowledged: 0 };
    for (const queue of queues) {
      for (const [name, value] of Object.entries(queueLengths(queue))) live[name] = live[name]! + value;
    }
    const out: Record<string, unknown> = {};
    addWithDetails(out, live, this.ringsOf(queues), this.core.clock.now(), sampleWindow(query, 'lengths'));
    return out;
  }

  /** A queue's depths with details (merged into its view). */
  queueLengthFields(queue: Queue, query: URLSearchParams): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    addWithDetails(
      out,
      queueLengths(queue),
      this.ringsOf([queue]),
      this.core.clock.now(),
      sampleWindow(query, 'lengths'),
    );
    return out;
  }

  /** A queue's message_stats with details. */
  queueMessageStats(queue: Queue, query: URLSearchParams): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    addWithDetails(
      out,
      queueMessageCounters(queue),
      this.ringsOf([queue]),
      this.core.clock.now(),
      sampleWindow(query, 'msg_rates'),
    );
    return out;
  }

  private ringsOf(queues: readonly Queue[]): SampleRing[] {
    const rings: SampleRing[] = [];
    for (const queue of queues) {
      const ring = this.queues.get(queue);
      if (ring) rings.push(ring);
    }
    return rings;
  }
}
