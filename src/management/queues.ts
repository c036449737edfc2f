/**
 * /api/queues: list (all, per vhost), show, declare (PUT), delete (`if-empty`, `if-unused`),
 * purge (DELETE …/contents), POST …/get with RabbitMQ's ackmodes, POST …/peek (non-destructive, as
 * proposed for LavinMQ) and a queue's bindings.
 */
import type { Queue } from '../core/amqp/queue.js';
import { StreamQueue } from '../core/amqp/stream-queue.js';
import type { QueuedMessage } from '../core/message.js';
import { visibleVhosts } from './auth.js';
import type { ManagementContext } from './context.js';
import { badRequest } from './errors.js';
import { lazyListReply } from './list-stream.js';
import { API_OWNER, queueParam, requirePermission, vhostParam, vhostsFor } from './lookup.js';
import { listReply, objectReply } from './query.js';
import { sampleWindow } from './rates.js';
import {
  type ApiRequest,
  bodyObject,
  CREATED,
  NO_CONTENT,
  optionalBoolean,
  optionalInteger,
  optionalObject,
  optionalString,
} from './request.js';
import { type Route, route } from './router.js';
import { bindingView, consumerView, defaultBindingView, queueJson, queueView } from './views.js';

/** Queue fields sort= and name= read without building the view (same values as queueView's). */
const QUEUE_KEYS = {
  name: (q: Queue) => q.name,
  vhost: (q: Queue) => q.vhost,
  type: (q: Queue) => (q instanceof StreamQueue ? 'stream' : 'classic'),
  durable: (q: Queue) => q.options.durable,
  auto_delete: (q: Queue) => q.options.autoDelete,
  exclusive: (q: Queue) => q.options.exclusiveOwner !== undefined,
  consumers: (q: Queue) => q.consumerCount,
  messages: (q: Queue) => q.messageCount + q.leasedCount,
  messages_ready: (q: Queue) => q.messageCount,
  messages_unacknowledged: (q: Queue) => q.leasedCount,
  message_bytes: (q: Queue) => q.readyBytes,
  policy: (q: Queue) => q.policy?.name ?? null,
};

/** Pages build only their rows' views; a full list streams (list-stream.ts). */
function list(req: ApiRequest, ctx: ManagementContext) {
  const vhosts = vhostsFor(req, ctx, visibleVhosts(ctx.core, req.user));
  const rows: Queue[] = [];
  for (const vhost of vhosts) for (const queue of vhost.queues.values()) rows.push(queue);
  // Without sample windows a row's JSON is written as text (queueJson), the same bytes as its view.
  const windowed = sampleWindow(req.query, 'lengths') || sampleWindow(req.query, 'msg_rates');
  return lazyListReply(
    {
      rows,
      view: (q) => queueView(q, ctx, req.query),
      keys: QUEUE_KEYS,
      json: windowed ? undefined : (q) => queueJson(q, ctx),
    },
    req.query,
  );
}

function show(req: ApiRequest, ctx: ManagementContext) {
  const queue = queueParam(req, ctx);
  const view = queueView(queue, ctx, req.query);
  const consumerDetails = queue.consumers.map((c) => consumerView(queue, c));
  return objectReply({ ...view, consumer_details: consumerDetails, deliveries: [], incoming: [] }, req.query);
}

function declare(req: ApiRequest, ctx: ManagementContext) {
  const vhost = vhostParam(req, ctx);
  const name = req.params[1]!;
  const body = bodyObject(req);
  requirePermission(req, ctx, vhost.name, 'configure', 'queue', name);
  const existed = vhost.queues.has(name);
  vhost.declareQueue({
    name,
    passive: false,
    durable: optionalBoolean(body, 'durable') ?? true,
    exclusive: false,
    autoDelete: optionalBoolean(body, 'auto_delete') ?? false,
    arguments: optionalObject(body, 'arguments') ?? {},
    owner: API_OWNER,
  });
  return existed ? NO_CONTENT : CREATED;
}

function remove(req: ApiRequest, ctx: ManagementContext) {
  const queue = queueParam(req, ctx);
  requirePermission(req, ctx, queue.vhost, 'configure', 'queue', queue.name);
  vhostParam(req, ctx).deleteQueue(
    queue.name,
    API_OWNER,
    req.query.get('if-unused') === 'true',
    req.query.get('if-empty') === 'true',
  );
  return NO_CONTENT;
}

function purge(req: ApiRequest, ctx: ManagementContext) {
  const queue = queueParam(req, ctx);
  requirePermission(req, ctx, queue.vhost, 'read', 'queue', queue.name);
  queue.purge();
  return NO_CONTENT;
}

const ACKMODES = [
  'ack_requeue_true',
  'ack_requeue_false',
  'reject_requeue_true',
  'reject_requeue_false',
] as const;
type AckMode = (typeof ACKMODES)[number];

/** Takes up to `count` messages, then requeues, acknowledges or rejects them all (as RabbitMQ does). */
function get(req: ApiRequest, ctx: ManagementContext) {
  const queue = queueParam(req, ctx);
  requirePermission(req, ctx, queue.vhost, 'read', 'queue', queue.name);
  const body = bodyObject(req);
  const count = optionalInteger(body, 'count') ?? 1;
  if (count < 1) throw badRequest('count must be at least 1');
  const ackmode = (optionalString(body, 'ackmode') ?? optionalString(body, 'ack_mode')) as
    | AckMode
    | undefined;
  if (ackmode === undefined) throw badRequest('[{key_missing,ackmode}]');
  if (!ACKMODES.includes(ackmode))
    throw badRequest(`ackmode '${ackmode}' is not one of ${ACKMODES.join(', ')}`);
  const { encoding, truncate } = payloadOptions(body);
  const taken: QueuedMessage[] = [];
  const replies: Record<string, unknown>[] = [];
  while (taken.length < count) {
    const queued = queue.get();
    if (!queued) break;
    taken.push(queued);
    replies.push(messageReply(queue, queued, ctx, encoding, truncate));
  }
  for (const queued of taken) {
    if (ackmode === 'ack_requeue_false') queue.settle(queued);
    else if (ackmode === 'reject_requeue_false') queue.reject(queued);
    else queue.release(queued);
  }
  return replies;
}

function payloadOptions(body: Record<string, unknown>): { encoding: string; truncate: number | undefined } {
  const encoding = optionalString(body, 'encoding') ?? 'auto';
  if (encoding !== 'auto' && encoding !== 'base64')
    throw badRequest(`encoding '${encoding}' must be auto or base64`);
  const truncate = optionalInteger(body, 'truncate');
  if (truncate !== undefined && truncate < 0) throw badRequest('truncate must not be negative');
  return { encoding, truncate };
}

/** Most messages one peek returns. */
const MAX_PEEK = 1000;

/**
 * Up to `count` ready messages in delivery order, left in place: the same objects as …/get, with
 * `redelivered` as the next delivery will show it and `message_count` the ready messages after it.
 */
function peek(req: ApiRequest, ctx: ManagementContext) {
  const queue = queueParam(req, ctx);
  requirePermission(req, ctx, queue.vhost, 'read', 'queue', queue.name);
  if (queue instanceof StreamQueue)
    throw badRequest('peek is for classic queues; read a stream with an offset');
  const body = bodyObject(req);
  const count = optionalInteger(body, 'count') ?? 1;
  if (count < 1 || count > MAX_PEEK) throw badRequest(`count must be from 1 to ${MAX_PEEK}`);
  const { encoding, truncate } = payloadOptions(body);
  const ready = queue.messageCount;
  return queue.peekReady(count).map((queued, index) => ({
    ...messageReply(queue, queued, ctx, encoding, truncate),
    redelivered: queued.deliveryCount > 0,
    message_count: ready - index - 1,
  }));
}

function messageReply(
  queue: Queue,
  queued: QueuedMessage,
  ctx: ManagementContext,
  encoding: string,
  truncate: number | undefined,
): Record<string, unknown> {
  const { message } = queued;
  const full = message.body ?? Buffer.alloc(0);
  const bytes = truncate === undefined ? full : full.subarray(0, truncate);
  const asText = encoding === 'auto' ? utf8Text(bytes) : undefined;
  return {
    payload_bytes: full.length,
    redelivered: queued.deliveryCount > 1,
    exchange: message.exchange,
    routing_key: message.routingKey,
    message_count: queue.messageCount,
    properties: ctx.properties.decode(message.properties),
    payload: asText ?? bytes.toString('base64'),
    payload_encoding: asText === undefined ? 'base64' : 'string',
  };
}

/** The bytes as text when they are valid UTF-8, as RabbitMQ's `auto` encoding. */
function utf8Text(bytes: Buffer): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

function bindings(req: ApiRequest, ctx: ManagementContext) {
  const queue = queueParam(req, ctx);
  const vhost = vhostParam(req, ctx);
  const views = [defaultBindingView(queue)];
  for (const exchange of vhost.exchanges.values()) {
    for (const b of exchange.allBindings()) {
      if (b.destination.kind === 'queue' && b.destination.name === queue.name)
        views.push(bindingView(vhost.name, b));
    }
  }
  return listReply(views, req.query);
}

export const queueRoutes: Route[] = [
  route('GET', '/api/queues', 'management', list),
  route('GET', '/api/queues/:vhost', 'management', list),
  route('GET', '/api/queues/:vhost/:name', 'management', show),
  route('PUT', '/api/queues/:vhost/:name', 'management', declare),
  route('DELETE', '/api/queues/:vhost/:name', 'management', remove),
  route('DELETE', '/api/queues/:vhost/:name/contents', 'management', purge),
  route('POST', '/api/queues/:vhost/:name/get', 'management', get),
  route('POST', '/api/queues/:vhost/:name/peek', 'management', peek),
  route('GET', '/api/queues/:vhost/:name/bindings', 'management', bindings),
];
