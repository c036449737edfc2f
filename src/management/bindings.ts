/**
 * /api/bindings: list (all, per vhost, between two objects), create
 * (POST /api/bindings/{vh}/e/{src}/{q|e}/{dst} {routing_key,arguments}) and delete by properties
 * key (DELETE …/{props}).
 */
import type { Binding, BindingTarget } from '../core/amqp/exchange.js';
import type { Queue } from '../core/amqp/queue.js';
import { visibleVhosts } from './auth.js';
import type { ManagementContext } from './context.js';
import { objectNotFound } from './errors.js';
import { lazyListReply } from './list-stream.js';
import { API_OWNER, exchangeName, requirePermission, vhostParam, vhostsFor } from './lookup.js';
import { listReply, objectReply } from './query.js';
import { type ApiRequest, bodyObject, optionalObject, optionalString } from './request.js';
import { type Route, route } from './router.js';
import { bindingView, defaultBindingView, propertiesKey } from './views.js';

/** A binding of a list: the default exchange's implicit one to a queue, or a declared one. */
type BindingRow = { readonly queue: Queue } | { readonly vhost: string; readonly binding: Binding };

function bindingRowView(row: BindingRow): Record<string, unknown> {
  return 'queue' in row ? defaultBindingView(row.queue) : bindingView(row.vhost, row.binding);
}

const BINDING_KEYS = {
  name: () => '',
  source: (r: BindingRow) => ('queue' in r ? '' : r.binding.source),
  destination: (r: BindingRow) => ('queue' in r ? r.queue.name : r.binding.destination.name),
  vhost: (r: BindingRow) => ('queue' in r ? r.queue.vhost : r.vhost),
};

function list(req: ApiRequest, ctx: ManagementContext) {
  const rows: BindingRow[] = [];
  for (const vhost of vhostsFor(req, ctx, visibleVhosts(ctx.core, req.user))) {
    for (const queue of vhost.queues.values()) rows.push({ queue });
    for (const exchange of vhost.exchanges.values()) {
      for (const binding of exchange.allBindings()) rows.push({ vhost: vhost.name, binding });
    }
  }
  return lazyListReply({ rows, view: bindingRowView, keys: BINDING_KEYS }, req.query);
}

/** The vhost, source exchange and destination named in /api/bindings/{vh}/e/{src}/{q|e}/{dst}. */
function endpoints(req: ApiRequest, ctx: ManagementContext, kind: BindingTarget['kind']) {
  const vhost = vhostParam(req, ctx);
  const source = exchangeName(req.params[1]!);
  const destination: BindingTarget = { kind, name: req.params[2]! };
  const exchange = vhost.exchanges.get(source);
  const exists =
    kind === 'queue' ? vhost.queues.has(destination.name) : vhost.exchanges.has(destination.name);
  if (!exchange || !exists) throw objectNotFound();
  return { vhost, exchange, destination };
}

/** queue.bind / exchange.bind: write on the destination, read on the source (as in AMQP). */
function requireBindPermissions(
  req: ApiRequest,
  ctx: ManagementContext,
  vhost: string,
  source: string,
  destination: BindingTarget,
): void {
  requirePermission(req, ctx, vhost, 'write', destination.kind, destination.name);
  requirePermission(req, ctx, vhost, 'read', 'exchange', source);
}

function between(kind: BindingTarget['kind']) {
  return (req: ApiRequest, ctx: ManagementContext) => {
    const { vhost, exchange, destination } = endpoints(req, ctx, kind);
    const matching = [...exchange.allBindings()].filter(
      (b) => b.destination.kind === kind && b.destination.name === destination.name,
    );
    return listReply(
      matching.map((b) => bindingView(vhost.name, b)),
      req.query,
    );
  };
}

function create(kind: BindingTarget['kind']) {
  return (req: ApiRequest, ctx: ManagementContext) => {
    const { vhost, exchange, destination } = endpoints(req, ctx, kind);
    requireBindPermissions(req, ctx, vhost.name, exchange.name, destination);
    const body = bodyObject(req);
    const routingKey = optionalString(body, 'routing_key') ?? '';
    const args = optionalObject(body, 'arguments') ?? {};
    vhost.bind(exchange.name, destination, routingKey, args, API_OWNER);
    return { status: 201 };
  };
}

function findByKey(req: ApiRequest, ctx: ManagementContext, kind: BindingTarget['kind']) {
  const { vhost, exchange, destination } = endpoints(req, ctx, kind);
  const key = req.params[3]!;
  const binding = [...exchange.allBindings()].find(
    (b) => b.destination.kind === kind && b.destination.name === destination.name && propertiesKey(b) === key,
  );
  if (!binding) throw objectNotFound();
  return { vhost, binding };
}

function show(kind: BindingTarget['kind']) {
  return (req: ApiRequest, ctx: ManagementContext) => {
    const { vhost, binding } = findByKey(req, ctx, kind);
    return objectReply(bindingView(vhost.name, binding), req.query);
  };
}

function remove(kind: BindingTarget['kind']) {
  return (req: ApiRequest, ctx: ManagementContext) => {
    const { vhost, binding } = findByKey(req, ctx, kind);
    requireBindPermissions(req, ctx, vhost.name, binding.source, binding.destination);
    vhost.unbind(binding.source, binding.destination, binding.routingKey, binding.arguments, API_OWNER);
    return { status: 204 };
  };
}

export const bindingRoutes: Route[] = [
  route('GET', '/api/bindings', 'management', list),
  route('GET', '/api/bindings/:vhost', 'management', list),
  route('GET', '/api/bindings/:vhost/e/:source/q/:destination', 'management', between('queue')),
  route('GET', '/api/bindings/:vhost/e/:source/e/:destination', 'management', between('exchange')),
  route('POST', '/api/bindings/:vhost/e/:source/q/:destination', 'management', create('queue')),
  route('POST', '/api/bindings/:vhost/e/:source/e/:destination', 'management', create('exchange')),
  route('GET', '/api/bindings/:vhost/e/:source/q/:destination/:props', 'management', show('queue')),
  route('GET', '/api/bindings/:vhost/e/:source/e/:destination/:props', 'management', show('exchange')),
  route('DELETE', '/api/bindings/:vhost/e/:source/q/:destination/:props', 'management', remove('queue')),
  route('DELETE', '/api/bindings/:vhost/e/:source/e/:destination/:props', 'management', remove('exchange')),
];
