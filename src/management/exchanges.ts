/**
 * /api/exchanges: list (all, per vhost), show, declare (PUT), delete (`if-unused`), the bindings
 * from and to one, and POST …/publish replying {routed}.
 */
import type { Exchange } from '../core/amqp/exchange.js';
import type { Message } from '../core/message.js';
import { visibleVhosts } from './auth.js';
import type { ManagementContext } from './context.js';
import { badRequest, forbidden } from './errors.js';
import { lazyListReply } from './list-stream.js';
import { exchangeName, exchangeParam, requirePermission, vhostParam, vhostsFor } from './lookup.js';
import { listReply, objectReply } from './query.js';
import {
  type ApiRequest,
  bodyObject,
  CREATED,
  NO_CONTENT,
  optionalBoolean,
  optionalObject,
  optionalString,
  requiredString,
} from './request.js';
import { type Route, route } from './router.js';
import { bindingView, exchangeView } from './views.js';

const EXCHANGE_KEYS = {
  name: (e: Exchange) => e.name,
  vhost: (e: Exchange) => e.vhost,
  type: (e: Exchange) => e.type,
};

function list(req: ApiRequest, ctx: ManagementContext) {
  const vhosts = vhostsFor(req, ctx, visibleVhosts(ctx.core, req.user));
  const rows: Exchange[] = [];
  for (const vhost of vhosts) for (const exchange of vhost.exchanges.values()) rows.push(exchange);
  return lazyListReply({ rows, view: exchangeView, keys: EXCHANGE_KEYS }, req.query);
}

function declare(req: ApiRequest, ctx: ManagementContext) {
  const vhost = vhostParam(req, ctx);
  const name = exchangeName(req.params[1]!);
  if (name === '') throw forbidden('operation not permitted on the default exchange');
  const body = bodyObject(req);
  requirePermission(req, ctx, vhost.name, 'configure', 'exchange', name);
  const existed = vhost.exchanges.has(name);
  vhost.declareExchange({
    name,
    type: requiredString(body, 'type'),
    passive: false,
    durable: optionalBoolean(body, 'durable') ?? true,
    autoDelete: optionalBoolean(body, 'auto_delete') ?? false,
    internal: optionalBoolean(body, 'internal') ?? false,
    arguments: optionalObject(body, 'arguments') ?? {},
  });
  return existed ? NO_CONTENT : CREATED;
}

function remove(req: ApiRequest, ctx: ManagementContext) {
  const exchange = exchangeParam(req, ctx);
  if (exchange.name === '' || exchange.name.startsWith('amq.')) {
    throw forbidden(`operation not permitted on exchange '${exchange.name || 'amq.default'}'`);
  }
  requirePermission(req, ctx, exchange.vhost, 'configure', 'exchange', exchange.name);
  vhostParam(req, ctx).deleteExchange(exchange.name, req.query.get('if-unused') === 'true');
  return NO_CONTENT;
}

/** The payload as bytes: `string` (UTF-8) or `base64`. */
function payloadBytes(body: Record<string, unknown>): Buffer {
  const payload = requiredString(body, 'payload');
  const encoding = optionalString(body, 'payload_encoding') ?? 'string';
  if (encoding === 'string') return Buffer.from(payload, 'utf8');
  if (encoding === 'base64') return Buffer.from(payload, 'base64');
  throw badRequest(`payload_encoding '${encoding}' must be 'string' or 'base64'`);
}

async function publish(req: ApiRequest, ctx: ManagementContext) {
  const exchange = exchangeParam(req, ctx);
  const vhost = vhostParam(req, ctx);
  requirePermission(req, ctx, vhost.name, 'write', 'exchange', exchange.name);
  const body = bodyObject(req);
  const routingKey = requiredString(body, 'routing_key');
  const payload = payloadBytes(body);
  const given = optionalObject(body, 'properties') ?? {};
  if (given.delivery_mode !== undefined && given.delivery_mode !== 1 && given.delivery_mode !== 2) {
    throw badRequest('properties.delivery_mode must be 1 or 2');
  }
  let properties: Buffer;
  try {
    properties = ctx.properties.encode(given);
  } catch (error) {
    throw badRequest((error as Error).message);
  }
  const expiration = typeof given.expiration === 'string' ? given.expiration : undefined;
  if (expiration !== undefined && !/^\d+$/.test(expiration)) {
    throw badRequest(`invalid expiration '${expiration}'`);
  }
  const message: Message = {
    exchange: exchange.name,
    routingKey,
    properties,
    body: payload,
    bodySizeBytes: payload.length,
    persistent: given.delivery_mode === 2,
    publishedAtMs: ctx.core.clock.now(),
    priority: typeof given.priority === 'number' ? given.priority : 0,
    expirationMs: expiration === undefined ? undefined : Number(expiration),
  };
  const outcome = vhost.publish(exchange, message);
  // Reply once the message is as durable as a publisher confirm would make it.
  if (outcome.needsDisk) await new Promise<void>((resolve) => ctx.durability.afterDurable(resolve));
  return { routed: outcome.routed };
}

function bindingsOf(direction: 'source' | 'destination') {
  return (req: ApiRequest, ctx: ManagementContext) => {
    const exchange = exchangeParam(req, ctx);
    const vhost = vhostParam(req, ctx);
    const bindings =
      direction === 'source'
        ? [...exchange.allBindings()]
        : [...vhost.exchanges.values()].flatMap((e) =>
            [...e.allBindings()].filter(
              (b) => b.destination.kind === 'exchange' && b.destination.name === exchange.name,
            ),
          );
    return listReply(
      bindings.map((b) => bindingView(vhost.name, b)),
      req.query,
    );
  };
}

export const exchangeRoutes: Route[] = [
  route('GET', '/api/exchanges', 'management', list),
  route('GET', '/api/exchanges/:vhost', 'management', list),
  route('GET', '/api/exchanges/:vhost/:name', 'management', (req, ctx) =>
    objectReply(exchangeView(exchangeParam(req, ctx)), req.query),
  ),
  route('PUT', '/api/exchanges/:vhost/:name', 'management', declare),
  route('DELETE', '/api/exchanges/:vhost/:name', 'management', remove),
  route('POST', '/api/exchanges/:vhost/:name/publish', 'management', publish),
  route('GET', '/api/exchanges/:vhost/:name/bindings/source', 'management', bindingsOf('source')),
  route('GET', '/api/exchanges/:vhost/:name/bindings/destination', 'management', bindingsOf('destination')),
];
