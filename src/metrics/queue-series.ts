/**
 * Per-queue series, written cheaply: each queue's `{vhost="…",queue="…"}` is formatted once and
 * cached with the queue object (a queue's vhost and name never change; a deleted queue's entry
 * goes with it), and a family's samples are written in slices of rows whose bytes are kept for
 * the next scrape: a slice whose queues and values are unchanged (most of 10,000 queues are idle
 * between two scrapes) is shared as it is, not written again, so a scrape mostly reads values.
 * Writers are generators that yield between slices so an async renderer can let the event loop
 * run (render.ts).
 */
import type { Queue } from '../core/amqp/queue.js';
import { StreamQueue } from '../core/amqp/stream-queue.js';
import { type ExpositionWriter, labelBytes, type MetricType } from './exposition.js';

/** Rows in a slice: the unit of caching and of work between two yields. */
export const ROWS_PER_SLICE = 500;

interface QueueLabels {
  /** `{vhost="…",queue="…"}` as UTF-8 */
  readonly labels: Uint8Array;
  /** `{vhost="…",queue="…",queue_type="…",membership="leader"}` for rabbitmq_queue_info. */
  readonly info: Uint8Array;
}

const cache = new WeakMap<Queue, QueueLabels>();

export function queueLabels(queue: Queue): QueueLabels {
  let labels = cache.get(queue);
  if (labels === undefined) {
    labels = {
      labels: labelBytes({ vhost: queue.vhost, queue: queue.name }),
      info: labelBytes({
        vhost: queue.vhost,
        queue: queue.name,
        queue_type: queue instanceof StreamQueue ? 'stream' : 'classic',
        membership: 'leader',
      }),
    };
    cache.set(queue, labels);
  }
  return labels;
}

/** A slice of a family as last written: its queues, their values and the bytes. */
interface CachedSlice {
  readonly queues: Queue[];
  readonly values: Float64Array;
  readonly bytes: Buffer;
}

/**
 * Each broker's cached slices by family name, kept with its vhosts map. A slice is reused only
 * when the same queues in the same order have the same values, so sharing a name (as
 * `/metrics/detailed` with different `vhost=` filters does) costs a rewrite, never a wrong line.
 */
const slicesOf = new WeakMap<object, Map<string, CachedSlice[]>>();

/** The queues of one scrape with their cached labels, looked up once for all families. */
export interface QueueRows {
  readonly queues: Queue[];
  readonly labels: QueueLabels[];
  /** The family's cached slices. */
  readonly slices: (family: string) => CachedSlice[];
}

/**
 * Every queue of the vhosts (all, or those `vhostFilter` accepts), in the maps' order; with their
 * labels unless only sums are written.
 */
export function queueRows(
  vhosts: ReadonlyMap<string, { readonly queues: ReadonlyMap<string, Queue> }>,
  vhostFilter?: (vhost: string) => boolean,
  withLabels = true,
): QueueRows {
  let byFamily = slicesOf.get(vhosts);
  if (byFamily === undefined) {
    byFamily = new Map();
    slicesOf.set(vhosts, byFamily);
  }
  const families = byFamily;
  const slices = (family: string) => {
    let cached = families.get(family);
    if (cached === undefined) {
      cached = [];
      families.set(family, cached);
    }
    return cached;
  };
  const rows: QueueRows = { queues: [], labels: [], slices };
  for (const [name, { queues }] of vhosts) {
    if (vhostFilter && !vhostFilter(name)) continue;
    for (const queue of queues.values()) {
      rows.queues.push(queue);
      if (withLabels) rows.labels.push(queueLabels(queue));
    }
  }
  return rows;
}

/** One family with a sample per queue, `{vhost,queue}`-labelled. */
export function queueFamily(
  out: ExpositionWriter,
  name: string,
  type: MetricType,
  help: string,
  rows: QueueRows,
  read: (queue: Queue) => number,
): Generator<void, void, void> {
  out.family(name, type, help);
  return cachedSlices(out, name, rows, read, false);
}

const ONE = () => 1;

/** rabbitmq_queue_info (value 1, the queue's type and membership as labels). */
export function queueInfoFamily(
  out: ExpositionWriter,
  name: string,
  rows: QueueRows,
): Generator<void, void, void> {
  out.family(name, 'gauge', 'Queue information (value is always 1)');
  return cachedSlices(out, name, rows, ONE, true);
}

/** The family's samples, slice by slice: shared from the last scrape where unchanged, else written. */
function* cachedSlices(
  out: ExpositionWriter,
  family: string,
  rows: QueueRows,
  read: (queue: Queue) => number,
  info: boolean,
): Generator<void, void, void> {
  const { queues, labels } = rows;
  const slices = rows.slices(family);
  let index = 0;
  for (let start = 0; start < queues.length; start += ROWS_PER_SLICE, index++) {
    const end = Math.min(queues.length, start + ROWS_PER_SLICE);
    const cached = slices[index];
    if (cached !== undefined && unchanged(cached, queues, start, end, read)) {
      out.shared(cached.bytes);
      continue;
    }
    const values = new Float64Array(end - start);
    out.beginPiece();
    for (let i = start; i < end; i++) {
      const value = read(queues[i]!);
      values[i - start] = value;
      const label = labels[i]!;
      out.sampleBytes(value, info ? label.info : label.labels);
    }
    slices[index] = { queues: queues.slice(start, end), values, bytes: out.endPiece() };
    if (end < queues.length) yield;
  }
  slices.length = index;
}

function unchanged(
  cached: CachedSlice,
  queues: readonly Queue[],
  start: number,
  end: number,
  read: (queue: Queue) => number,
): boolean {
  if (cached.queues.length !== end - start) return false;
  const values = cached.values;
  for (let i = start; i < end; i++) {
    const queue = queues[i]!;
    if (cached.queues[i - start] !== queue || values[i - start] !== read(queue)) return false;
  }
  return true;
}
