/**
 * Per-queue series, written cheaply: each queue's `{vhost="…",queue="…"}` is formatted once and
 * cached with the queue object (a queue's vhost and name never change; a deleted queue's entry
 * goes with it), and a family's sample lines are concatenated into one string per slice of rows,
 * no object per sample. Writers are generators that yield between slices so an async renderer
 * can let the event loop run (render.ts).
 */
import type { Queue } from '../core/amqp/queue.js';
import { StreamQueue } from '../core/amqp/stream-queue.js';
import { type ExpositionWriter, labelBytes, type MetricType } from './exposition.js';

/** Rows written between two yields. */
export const ROWS_PER_SLICE = 2000;

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

/** The queues of one scrape with their cached labels, looked up once for all families. */
export interface QueueRows {
  readonly queues: Queue[];
  readonly labels: QueueLabels[];
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
  const rows: QueueRows = { queues: [], labels: [] };
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
export function* queueFamily(
  out: ExpositionWriter,
  name: string,
  type: MetricType,
  help: string,
  rows: QueueRows,
  read: (queue: Queue) => number,
): Generator<void, void, void> {
  out.family(name, type, help);
  const { queues, labels } = rows;
  for (let start = 0; start < queues.length; start += ROWS_PER_SLICE) {
    const end = Math.min(queues.length, start + ROWS_PER_SLICE);
    for (let i = start; i < end; i++) out.sampleBytes(read(queues[i]!), labels[i]!.labels);
    if (end < queues.length) yield;
  }
}

/** rabbitmq_queue_info (value 1, the queue's type and membership as labels). */
export function* queueInfoFamily(
  out: ExpositionWriter,
  name: string,
  rows: QueueRows,
): Generator<void, void, void> {
  out.family(name, 'gauge', 'Queue information (value is always 1)');
  const { labels } = rows;
  for (let start = 0; start < labels.length; start += ROWS_PER_SLICE) {
    const end = Math.min(labels.length, start + ROWS_PER_SLICE);
    for (let i = start; i < end; i++) out.sampleBytes(1, labels[i]!.info);
    if (end < labels.length) yield;
  }
}
