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
import { QueueRings } from './queue-rings.js';

export const SAMPLE_INTERVAL_MS = 5000;
export const SAMPLE_COUNT = 120;
/** Most points a `?…_age=&…_incr=` window may ask for. */
const MAX_POINTS = 1000;
/** Samples whose rate changes are kept (RateSampler.ratesChangedIn): a list older than that re-reads all. */
const RATE_CHANGES_KEPT = 4;

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

  /**
   * The last two samples of one value as [olderTimestamp, olderValue, newerTimestamp, newerValue]
   * written into `into` (a plain `{rate}` needs no more, and no array of 120 objects per field);
   * false when there are fewer than two.
   */
  lastTwo(name: string, into: Float64Array): boolean {
    const f = this.fields.indexOf(name);
    if (f < 0 || this.length < 2) return false;
    const newer = (this.start + this.length - 1) % this.capacity;
    const older = (this.start + this.length - 2) % this.capacity;
    into[0] = this.timestamps[older]!;
    into[1] = this.values[older * this.fields.length + f]!;
    into[2] = this.timestamps[newer]!;
    into[3] = this.values[newer * this.fields.length + f]!;
    return true;
  }

  /** Timestamp of the newest sample; NaN when empty. */
  newestTimestamp(): number {
    return this.length === 0 ? Number.NaN : this.timestamps[(this.start + this.length - 1) % this.capacity]!;
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

/** What `*_details` read of a ring: a SampleRing, or a queue's row of QueueRings. */
interface Ring {
  lastTwo(name: string, into: Float64Array): boolean;
  newestTimestamp(): number;
  series(name: string): Series;
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

const TOTAL_FIELDS = ['messages', 'messages_ready', 'messages_unacknowledged'] as const;

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

const lastTwoScratch = new Float64Array(4);

/**
 * The rate between the last two samples, summed over rings, without building series: what every
 * list row needs (10,000 queues x 7 fields x 120 samples would be millions of objects). A ring
 * counts when its newest sample is the newest of all (rings are sampled together; a queue created
 * after the last sample has none yet), as the summed series would.
 */
function rateOf(rings: readonly Ring[], name: string): number {
  let newest = Number.NEGATIVE_INFINITY;
  for (const ring of rings) newest = Math.max(newest, ring.newestTimestamp());
  let olderTs = Number.NaN;
  let delta = 0;
  for (const ring of rings) {
    if (ring.newestTimestamp() !== newest || !ring.lastTwo(name, lastTwoScratch)) continue;
    olderTs = lastTwoScratch[0]!;
    delta += lastTwoScratch[3]! - lastTwoScratch[1]!;
  }
  const seconds = (newest - olderTs) / 1000;
  return seconds > 0 ? delta / seconds : 0;
}

/** Adds `X` (the live value) and `X_details` for each name to `into`. */
function addWithDetails(
  into: Record<string, unknown>,
  live: Values,
  rings: readonly Ring[],
  nowMs: number,
  window: SampleWindow | undefined,
): void {
  for (const name in live) {
    into[name] = live[name];
    into[`${name}_details`] =
      window === undefined ? { rate: rateOf(rings, name) } : detailsOf(sumSeries(rings, name), nowMs, window);
  }
}

/** One value's series, summed over several rings at the timestamps they share (all sampled together). */
function sumSeries(rings: readonly Ring[], name: string): Series {
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
  /**
   * Each queue's row of the rings; `generation` marks the last sample that saw the queue (older:
   * deleted), `zeroRates` whether its rates are all 0 now, `statsVersion` the queue's when last
   * sampled (unchanged: its numbers are those of the sample before, copied without reading it).
   */
  private readonly queues = new Map<
    Queue,
    { row: number; generation: number; zeroRates: boolean; statsVersion: number }
  >();
  /**
   * For each of the last RATE_CHANGES_KEPT samples (oldest first), the queues whose rates after it
   * differ from those before it, and queues sampled for the first time. A queue without traffic
   * keeps all-zero rates and is in none: a 10,000-queue list need not re-read the rates of idle
   * queues after every sample, and finds out which those are by a lookup in a small set (the
   * busy queues) rather than in the entry of each queue (a cache miss each).
   */
  private readonly ratesChangedIn: Set<Queue>[] = [];
  private readonly queueRings: QueueRings;
  private readonly vhostTotals = new Map<string, SampleRing>();
  private generation = 0;
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
    this.queueRings = new QueueRings(QUEUE_FIELDS, this.capacity);
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
    this.generation++;
    const changed = new Set<Queue>();
    this.ratesChangedIn.push(changed);
    if (this.ratesChangedIn.length > RATE_CHANGES_KEPT) this.ratesChangedIn.shift();
    const totals: Values = {};
    const rings = this.queueRings;
    rings.begin(timestamp);
    for (const [name, vhost] of this.core.vhosts) {
      totals.messages = totals.messages_ready = totals.messages_unacknowledged = 0;
      for (const queue of vhost.queues.values()) {
        let entry = this.queues.get(queue);
        if (!entry) {
          entry = { row: rings.allocate(), generation: 0, zeroRates: false, statsVersion: Number.NaN };
          this.queues.set(queue, entry);
          changed.add(queue);
        }
        entry.generation = this.generation;
        const row = entry.row;
        const version = queue.statsVersion;
        let zeroRates: boolean;
        if (version === entry.statsVersion) {
          // Nothing happened to the queue since the last sample (most of 10,000 are idle): the
          // same numbers, copied from that sample rather than read again from the queue.
          rings.repeatLast(row);
          zeroRates = true;
        } else {
          entry.statsVersion = version;
          const ready = queue.messageCount;
          const unacked = queue.leasedCount;
          // QUEUE_FIELDS order.
          rings.set(row, 0, ready + unacked);
          rings.set(row, 1, ready);
          rings.set(row, 2, unacked);
          rings.set(row, 3, queue.messagesPublished);
          rings.set(row, 4, queue.messagesDelivered);
          rings.set(row, 5, queue.messagesRedelivered);
          rings.set(row, 6, queue.messagesAcknowledged);
          zeroRates = rings.unchangedInLastSample(row);
        }
        if (!(zeroRates && entry.zeroRates)) changed.add(queue);
        entry.zeroRates = zeroRates;
        totals.messages += rings.last(row, 0);
        totals.messages_ready += rings.last(row, 1);
        totals.messages_unacknowledged += rings.last(row, 2);
      }
      let ring = this.vhostTotals.get(name);
      if (!ring) {
        ring = new SampleRing(TOTAL_FIELDS, this.capacity);
        this.vhostTotals.set(name, ring);
      }
      ring.push(timestamp, totals);
    }
    for (const [queue, entry] of this.queues) {
      if (entry.generation === this.generation) continue;
      this.queues.delete(queue);
      rings.release(entry.row);
    }
    for (const name of this.vhostTotals.keys())
      if (!this.core.vhosts.has(name)) this.vhostTotals.delete(name);
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

  /**
   * /api/overview queue_totals over the given vhosts' queues, with details from the vhosts' summed
   * samples (kept per vhost at sampling time: summing 10,000 queue rings per request would not do).
   */
  queueTotals(vhosts: readonly string[], query: URLSearchParams): Record<string, unknown> {
    const live: Values = { messages: 0, messages_ready: 0, messages_unacknowledged: 0 };
    const rings: SampleRing[] = [];
    for (const name of vhosts) {
      const vhost = this.core.vhosts.get(name);
      if (!vhost) continue;
      for (const queue of vhost.queues.values()) {
        const ready = queue.messageCount;
        const unacked = queue.leasedCount;
        live.messages! += ready + unacked;
        live.messages_ready! += ready;
        live.messages_unacknowledged! += unacked;
      }
      const ring = this.vhostTotals.get(name);
      if (ring) rings.push(ring);
    }
    const out: Record<string, unknown> = {};
    addWithDetails(out, live, rings, this.core.clock.now(), sampleWindow(query, 'lengths'));
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

  /** Changes with every sample taken: queueRates' answers are the same while it is. */
  get sampleGeneration(): number {
    return this.generation;
  }

  /**
   * Whether queueRates' answer for the queue may differ from the one it gave while sampleGeneration
   * was `generation` (NaN: never asked).
   */
  queueRatesChangedSince(queue: Queue, generation: number): boolean {
    if (Number.isNaN(generation)) return true;
    const samplesSince = this.generation - generation;
    if (samplesSince <= 0) return false;
    const kept = this.ratesChangedIn;
    if (samplesSince > kept.length) return true;
    for (let i = kept.length - samplesSince; i < kept.length; i++) if (kept[i]!.has(queue)) return true;
    return false;
  }

  /**
   * The queue's rates between the last two samples, as queueLengthFields and queueMessageStats
   * show them without a window, into `into` in QUEUE_FIELDS order (messages, messages_ready,
   * messages_unacknowledged, publish, deliver_get, redeliver, ack); no object made.
   */
  queueRates(queue: Queue, into: Float64Array): void {
    const entry = this.queues.get(queue);
    if (entry) this.queueRings.rates(entry.row, into);
    else into.fill(0, 0, QUEUE_FIELDS.length);
  }

  private ringsOf(queues: readonly Queue[]): Ring[] {
    const rings: Ring[] = [];
    for (const queue of queues) {
      const entry = this.queues.get(queue);
      if (entry) rings.push(this.queueRings.ring(entry.row));
    }
    return rings;
  }
}
