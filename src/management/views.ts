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

/** A queue's JSON head as text, kept until its policy changes (name, vhost, arguments never do). */
interface CachedHead {
  readonly policy: Queue['policy'];
  readonly text: string;
}

const heads = new WeakMap<Queue, CachedHead>();

/** A number as JSON.stringify writes it. */
const json = (n: number) => (Number.isFinite(n) ? String(n) : 'null');

/** The seven rates queueView's `_details` show, in QUEUE_RATE_FIELDS order (rates.ts). */
const rates = new Float64Array(7);

/**
 * JSON.stringify(queueView(queue, ctx, query)) for a query without `lengths_age`/`msg_rates_age`
 * windows, built as text: the head is cached, the rest written from numbers, so listing 10,000
 * queues makes no object per queue (list-stream.ts; the same bytes, checked by
 * test/management/large-lists.test.ts).
 */
export function queueJson(queue: Queue, ctx: ManagementContext): string {
  let head = heads.get(queue);
  if (head === undefined || head.policy !== queue.policy) {
    head = { policy: queue.policy, text: JSON.stringify(queueHead(queue)).slice(0, -1) };
    heads.set(queue, head);
  }
  const ready = queue.messageCount;
  const unacked = queue.leasedCount;
  const consumers = queue.consumerCount;
  const readyBytes = queue.readyBytes;
  const durable = queue.options.durable;
  ctx.rates.queueRates(queue, rates);
  return (
    `${head.text},"consumers":${consumers},"consumer_utilisation":null,"consumer_capacity":${consumers > 0 ? 1 : 0}` +
    `,"exclusive_consumer_tag":null,"head_message_timestamp":null,"memory":0` +
    `,"messages":${json(ready + unacked)},"messages_details":{"rate":${json(rates[0]!)}}` +
    `,"messages_ready":${json(ready)},"messages_ready_details":{"rate":${json(rates[1]!)}}` +
    `,"messages_unacknowledged":${json(unacked)},"messages_unacknowledged_details":{"rate":${json(rates[2]!)}}` +
    `,"message_stats":{"publish":${json(queue.messagesPublished)},"publish_details":{"rate":${json(rates[3]!)}}` +
    `,"deliver_get":${json(queue.messagesDelivered)},"deliver_get_details":{"rate":${json(rates[4]!)}}` +
    `,"redeliver":${json(queue.messagesRedelivered)},"redeliver_details":{"rate":${json(rates[5]!)}}` +
    `,"ack":${json(queue.messagesAcknowledged)},"ack_details":{"rate":${json(rates[6]!)}}}` +
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
