/** The JSON objects the API shows for queues, exchanges and bindings, with RabbitMQ's field names. */
import type { Binding, Exchange } from '../core/amqp/exchange.js';
import type { Queue } from '../core/amqp/queue.js';
import { StreamQueue } from '../core/amqp/stream-queue.js';
import { type ManagementContext, NODE_NAME } from './context.js';

const rate = () => ({ rate: 0.0 });

/** A queue's fields that change only with its policy: the head of its JSON. */
function queueHead(queue: Queue): Record<string, unknown> {
  return {
    name: queue.name,
    vhost: queue.vhost,
    type: queue instanceof StreamQueue ? 'stream' : 'classic',
    durable: queue.options.durable,
    auto_delete: queue.options.autoDelete,
    exclusive: queue.options.exclusiveOwner !== undefined,
    arguments: queue.options.arguments,
    node: NODE_NAME,
    state: 'running',
    policy: queue.policy?.name || null,
    operator_policy: queue.policy?.operatorPolicy ?? null,
    effective_policy_definition: queue.policy?.definition ?? {},
  };
}

/** A queue's JSON; its depths and message_stats carry `_details` from the samples in `ctx.rates`. */
export function queueView(
  queue: Queue,
  ctx: ManagementContext,
  query: URLSearchParams,
): Record<string, unknown> {
  const ready = queue.messageCount;
  const unacked = queue.leasedCount;
  return {
    ...queueHead(queue),
    consumers: queue.consumerCount,
    consumer_utilisation: null,
    consumer_capacity: queue.consumerCount > 0 ? 1 : 0,
    exclusive_consumer_tag: null,
    idle_since: undefined,
    head_message_timestamp: null,
    memory: 0,
    ...ctx.rates.queueLengthFields(queue, query),
    message_stats: ctx.rates.queueMessageStats(queue, query),
    messages_ram: ready + unacked,
    messages_persistent: queue.options.durable ? ready + unacked : 0,
    message_bytes: queue.readyBytes,
    message_bytes_ready: queue.readyBytes,
    message_bytes_unacknowledged: 0,
    message_bytes_persistent: queue.options.durable ? queue.readyBytes : 0,
    garbage_collection: {},
    reductions: 0,
    reductions_details: rate(),
  };
}

/**
 * A queue's JSON as last written: the head (kept until its policy changes; name, vhost and
 * arguments never do) and the whole text with the numbers it was written from, reused while they
 * are the same (most of 10,000 queues are idle between two listings).
 */
interface CachedJson {
  readonly policy: Queue['policy'];
  readonly head: string;
  readonly numbers: Float64Array;
  /** The rate sampler's generation the rates in `numbers` were read at (rates change only then). */
  ratesGeneration: number;
  /** The queue's statsVersion the counters in `numbers` were read at. */
  statsVersion: number;
  bytes: Buffer;
}

const cachedJson = new WeakMap<Queue, CachedJson>();
const EMPTY = Buffer.alloc(0);

/** Numbers a queue's JSON is written from: its 7 rates (rates.ts QUEUE_FIELDS order), then 8 counters. */
const numbers = new Float64Array(15);
const COUNTERS_AT = 7;

/** A number as JSON.stringify writes it. */
const json = (n: number) => (Number.isFinite(n) ? String(n) : 'null');

/**
 * JSON.stringify(queueView(queue, ctx, query)) as UTF-8, for a query without
 * `lengths_age`/`msg_rates_age` windows, built as text: the head is cached, the rest written from
 * numbers, and the bytes kept while the numbers stay the same, so listing 10,000 queues makes no
 * object per queue and mostly copies bytes (list-stream.ts; the same bytes, checked by
 * test/management/large-lists.test.ts).
 */
export function queueJson(queue: Queue, ctx: ManagementContext): Buffer {
  let cached = cachedJson.get(queue);
  if (cached === undefined || cached.policy !== queue.policy) {
    const head = JSON.stringify(queueHead(queue)).slice(0, -1);
    cached = {
      policy: queue.policy,
      head,
      numbers: new Float64Array(numbers.length).fill(Number.NaN),
      ratesGeneration: Number.NaN,
      statsVersion: Number.NaN,
      bytes: EMPTY,
    };
    cachedJson.set(queue, cached);
  }
  const generation = ctx.rates.sampleGeneration;
  const ratesMoved =
    cached.ratesGeneration !== generation && ctx.rates.queueRatesChangedSince(queue, cached.ratesGeneration);
  cached.ratesGeneration = generation;
  const version = queue.statsVersion;
  // Most of 10,000 queues are idle: neither their rates nor anything else moved since last time,
  // and their numbers are not read at all (each read was a cache miss: ~0.4 µs a queue under load).
  if (!ratesMoved && version === cached.statsVersion) return cached.bytes;
  cached.statsVersion = version;
  if (ratesMoved) {
    ctx.rates.queueRates(queue, numbers);
  } else {
    // A loop, not set(subarray(…)): a subarray is a new typed array per queue, and that was most
    // of a 10,000-queue list's time.
    const last = cached.numbers;
    for (let i = 0; i < COUNTERS_AT; i++) numbers[i] = last[i]!;
  }
  numbers[COUNTERS_AT] = queue.messageCount;
  numbers[COUNTERS_AT + 1] = queue.leasedCount;
  numbers[COUNTERS_AT + 2] = queue.consumerCount;
  numbers[COUNTERS_AT + 3] = queue.readyBytes;
  numbers[COUNTERS_AT + 4] = queue.messagesPublished;
  numbers[COUNTERS_AT + 5] = queue.messagesDelivered;
  numbers[COUNTERS_AT + 6] = queue.messagesRedelivered;
  numbers[COUNTERS_AT + 7] = queue.messagesAcknowledged;
  let same = true;
  for (let i = 0; i < numbers.length && same; i++) same = numbers[i] === cached.numbers[i];
  if (!same) {
    cached.numbers.set(numbers);
    cached.bytes = Buffer.from(writeQueueJson(cached.head, queue.options.durable, numbers), 'utf8');
  }
  return cached.bytes;
}

function writeQueueJson(head: string, durable: boolean, n: Float64Array): string {
  const ready = n[COUNTERS_AT]!;
  const unacked = n[COUNTERS_AT + 1]!;
  const consumers = n[COUNTERS_AT + 2]!;
  const readyBytes = n[COUNTERS_AT + 3]!;
  return (
    `${head},"consumers":${json(consumers)},"consumer_utilisation":null,"consumer_capacity":${consumers > 0 ? 1 : 0}` +
    `,"exclusive_consumer_tag":null,"head_message_timestamp":null,"memory":0` +
    `,"messages":${json(ready + unacked)},"messages_details":{"rate":${json(n[0]!)}}` +
    `,"messages_ready":${json(ready)},"messages_ready_details":{"rate":${json(n[1]!)}}` +
    `,"messages_unacknowledged":${json(unacked)},"messages_unacknowledged_details":{"rate":${json(n[2]!)}}` +
    `,"message_stats":{"publish":${json(n[COUNTERS_AT + 4]!)},"publish_details":{"rate":${json(n[3]!)}}` +
    `,"deliver_get":${json(n[COUNTERS_AT + 5]!)},"deliver_get_details":{"rate":${json(n[4]!)}}` +
    `,"redeliver":${json(n[COUNTERS_AT + 6]!)},"redeliver_details":{"rate":${json(n[5]!)}}` +
    `,"ack":${json(n[COUNTERS_AT + 7]!)},"ack_details":{"rate":${json(n[6]!)}}}` +
    `,"messages_ram":${json(ready + unacked)},"messages_persistent":${json(durable ? ready + unacked : 0)}` +
    `,"message_bytes":${json(readyBytes)},"message_bytes_ready":${json(readyBytes)}` +
    `,"message_bytes_unacknowledged":0,"message_bytes_persistent":${json(durable ? readyBytes : 0)}` +
    `,"garbage_collection":{},"reductions":0,"reductions_details":{"rate":0}}`
  );
}

export function exchangeView(exchange: Exchange): Record<string, unknown> {
  return {
    name: exchange.name,
    vhost: exchange.vhost,
    type: exchange.type,
    durable: exchange.options.durable,
    auto_delete: exchange.options.autoDelete,
    internal: exchange.options.internal,
    arguments: exchange.options.arguments,
    policy: exchange.policy?.name ?? null,
    user_who_performed_action: 'rmq-internal',
  };
}

/** RabbitMQ's properties_key: `~` without arguments, else the routing key with a hash of them. */
export function propertiesKey(binding: Binding): string {
  const args = Object.keys(binding.arguments).length;
  if (binding.routingKey === '' && args === 0) return '~';
  const key = encodeURIComponent(binding.routingKey);
  if (args === 0) return binding.routingKey === '' ? '~' : key;
  return `${key}~${hashArgs(binding.arguments)}`;
}

function hashArgs(args: Record<string, unknown>): string {
  const text = JSON.stringify(Object.entries(args).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619) >>> 0;
  return h.toString(36);
}

export function bindingView(vhost: string, binding: Binding): Record<string, unknown> {
  return {
    source: binding.source,
    vhost,
    destination: binding.destination.name,
    destination_type: binding.destination.kind,
    routing_key: binding.routingKey,
    arguments: binding.arguments,
    properties_key: propertiesKey(binding),
  };
}

/** The default exchange's implicit binding to every queue, as RabbitMQ lists it. */
export function defaultBindingView(queue: Queue): Record<string, unknown> {
  return {
    source: '',
    vhost: queue.vhost,
    destination: queue.name,
    destination_type: 'queue',
    routing_key: queue.name,
    arguments: {},
    properties_key: encodeURIComponent(queue.name),
  };
}

/** A consumer of `queue` as /api/consumers and a queue's consumer_details show it. */
export function consumerView(queue: Queue, consumer: Queue['consumers'][number]): Record<string, unknown> {
  return {
    consumer_tag: consumer.tag,
    exclusive: consumer.exclusive,
    priority: consumer.priority,
    ack_required: true,
    active: true,
    activity_status: 'up',
    arguments: {},
    queue: { name: queue.name, vhost: queue.vhost },
  };
}
