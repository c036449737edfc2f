/** The JSON objects the API shows for queues, exchanges and bindings, with RabbitMQ's field names. */
import type { Binding, Exchange } from '../core/amqp/exchange.js';
import type { Queue } from '../core/amqp/queue.js';
import { StreamQueue } from '../core/amqp/stream-queue.js';
import { type ManagementContext, NODE_NAME } from './context.js';

const rate = () => ({ rate: 0.0 });

/** A queue's JSON; its depths and message_stats carry `_details` from the samples in `ctx.rates`. */
export function queueView(
  queue: Queue,
  ctx: ManagementContext,
  query: URLSearchParams,
): Record<string, unknown> {
  const ready = queue.messageCount;
  const unacked = queue.leasedCount;
  const exclusive = queue.options.exclusiveOwner !== undefined;
  return {
    name: queue.name,
    vhost: queue.vhost,
    type: queue instanceof StreamQueue ? 'stream' : 'classic',
    durable: queue.options.durable,
    auto_delete: queue.options.autoDelete,
    exclusive,
    arguments: queue.options.arguments,
    node: NODE_NAME,
    state: 'running',
    policy: queue.policy?.name || null,
    operator_policy: queue.policy?.operatorPolicy ?? null,
    effective_policy_definition: queue.policy?.definition ?? {},
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
