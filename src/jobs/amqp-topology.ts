/**
 * The AMQP 0-9-1 objects of one job queue, declared the same way by its Queue and its Workers
 * (declarations must agree or the broker refuses the second with 406), and what the broker can do.
 *
 *   exchange  <prefix><name>          where jobs are added: on Pier (or RabbitMQ with the delayed-message
 *                                     and message-deduplication plugins) an x-delayed-message exchange that
 *                                     also deduplicates on `x-deduplication-header`; otherwise direct
 *   exchange  <prefix><name>.retry    where failed attempts come back after their backoff: delayed, never
 *                                     deduplicating (a retry carries its job's id); absent in fallback mode
 *   queue     <prefix><name>          the jobs; x-max-priority when asked; expired jobs dead-letter to the DLQ
 *   queue     <prefix><name>.dlq      jobs that failed for good, with their error and attempt history
 *   queue     <prefix><name>.wait.<ms>  fallback delays: TTL <ms>, dead-lettering into the job queue,
 *                                     deleted by the broker after a minute unused (x-expires)
 *   exchange  <prefix><name>.events   topic exchange of job events (routing key: the event's name)
 */
import type { Channel, ChannelModel } from 'amqplib';

/** What the broker offers; detected (Pier announces `pier_version`) unless given. */
export interface BrokerFeatures {
  /** The x-delayed-message exchange type (Pier; RabbitMQ's rabbitmq_delayed_message_exchange plugin). */
  readonly delayedExchange: boolean;
  /** Exchange-level deduplication on `x-deduplication-header` (Pier; the rabbitmq-message-deduplication plugin). */
  readonly deduplication: boolean;
}

export interface TopologyOptions {
  /** Prefix of every object's name; default 'jobs.'. */
  readonly prefix?: string;
  /** Priorities 0..maxPriority (x-max-priority, at most 255); none when unset. */
  readonly maxPriority?: number;
  /** How long the broker remembers a jobId to drop duplicates; default 24 h. */
  readonly dedupWindowMs?: number;
  /** How many jobIds it remembers at most; default 100,000. */
  readonly dedupCacheSize?: number;
  /** Override detection, e.g. for RabbitMQ with the plugins installed. */
  readonly features?: BrokerFeatures;
}

export const DEFAULT_DEDUP_WINDOW_MS = 24 * 3_600_000;
export const DEFAULT_DEDUP_CACHE_SIZE = 100_000;
/** A wait queue lives this long after its last use. */
const WAIT_QUEUE_EXPIRES_MS = 60_000;
/** The routing key jobs are bound with. */
export const JOB_ROUTING_KEY = 'job';

export interface Topology {
  readonly queue: string;
  readonly exchange: string;
  readonly retryExchange: string;
  readonly deadLetterQueue: string;
  readonly eventsExchange: string;
  readonly features: BrokerFeatures;
  readonly maxPriority: number | undefined;
  /** The queue a fallback delay of `delayMs` goes through (declared on first use). */
  waitQueue(delayMs: number): string;
}

export function detectFeatures(connection: ChannelModel): BrokerFeatures {
  const isPier = connection.connection.serverProperties.pier_version !== undefined;
  return { delayedExchange: isPier, deduplication: isPier };
}

/**
 * Fallback delays are rounded up to two significant digits (1,234 ms waits 1,300 ms) so jittered
 * backoffs share a few wait queues instead of making one per millisecond value.
 */
export function roundWaitMs(delayMs: number): number {
  if (delayMs < 100) return Math.max(1, Math.ceil(delayMs));
  const scale = 10 ** (Math.floor(Math.log10(delayMs)) - 1);
  return Math.ceil(delayMs / scale) * scale;
}

export function topologyOf(name: string, options: TopologyOptions, features: BrokerFeatures): Topology {
  if (name === '' || /\s/.test(name))
    throw new TypeError(`a job queue name must be non-empty without spaces, not '${name}'`);
  const base = `${options.prefix ?? 'jobs.'}${name}`;
  return {
    queue: base,
    exchange: base,
    retryExchange: `${base}.retry`,
    deadLetterQueue: `${base}.dlq`,
    eventsExchange: `${base}.events`,
    features,
    maxPriority: options.maxPriority,
    waitQueue: (delayMs) => `${base}.wait.${roundWaitMs(delayMs)}`,
  };
}

/** Declares the queue's objects (idempotent: Queue and Workers all call it). */
export async function declareTopology(
  channel: Channel,
  topology: Topology,
  options: TopologyOptions,
): Promise<void> {
  const { features } = topology;
  const dedupArgs = features.deduplication
    ? {
        'x-message-deduplication': true,
        'x-cache-ttl': options.dedupWindowMs ?? DEFAULT_DEDUP_WINDOW_MS,
        'x-cache-size': options.dedupCacheSize ?? DEFAULT_DEDUP_CACHE_SIZE,
      }
    : {};
  if (features.delayedExchange) {
    await channel.assertExchange(topology.exchange, 'x-delayed-message', {
      durable: true,
      arguments: { 'x-delayed-type': 'direct', ...dedupArgs },
    });
    await channel.assertExchange(topology.retryExchange, 'x-delayed-message', {
      durable: true,
      arguments: { 'x-delayed-type': 'direct' },
    });
  } else {
    await channel.assertExchange(topology.exchange, 'direct', { durable: true, arguments: dedupArgs });
  }
  await channel.assertExchange(topology.eventsExchange, 'topic', { durable: true });
  await channel.assertQueue(topology.deadLetterQueue, { durable: true });
  await channel.assertQueue(topology.queue, {
    durable: true,
    deadLetterExchange: '',
    deadLetterRoutingKey: topology.deadLetterQueue,
    ...(options.maxPriority !== undefined ? { maxPriority: options.maxPriority } : {}),
  });
  await channel.bindQueue(topology.queue, topology.exchange, JOB_ROUTING_KEY);
  if (features.delayedExchange)
    await channel.bindQueue(topology.queue, topology.retryExchange, JOB_ROUTING_KEY);
}

/** Declares the fallback wait queue for `delayMs` and returns its name. */
export async function declareWaitQueue(
  channel: Channel,
  topology: Topology,
  delayMs: number,
): Promise<string> {
  const name = topology.waitQueue(delayMs);
  const ttlMs = roundWaitMs(delayMs);
  await channel.assertQueue(name, {
    durable: true,
    messageTtl: ttlMs,
    expires: ttlMs + WAIT_QUEUE_EXPIRES_MS,
    deadLetterExchange: '',
    deadLetterRoutingKey: topology.queue,
  });
  return name;
}
