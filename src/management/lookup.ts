/** Finding a vhost, queue or exchange named in a path: 404 "Object Not Found" as RabbitMQ. */
import type { Exchange } from '../core/amqp/exchange.js';
import type { Permission, ResourceKind } from '../core/amqp/permissions.js';
import type { Queue } from '../core/amqp/queue.js';
import type { VirtualHost } from '../core/amqp/vhost.js';
import { requireVhostAccess } from './auth.js';
import type { ManagementContext } from './context.js';
import { objectNotFound } from './errors.js';
import type { ApiRequest } from './request.js';

/** The owner the API declares and deletes with: not a connection, so exclusive queues refuse it. */
export const API_OWNER: unknown = Object.freeze({ api: 'management' });

export function vhostParam(req: ApiRequest, ctx: ManagementContext, index = 0): VirtualHost {
  const name = req.params[index]!;
  const vhost = ctx.core.vhosts.get(name);
  if (!vhost) throw objectNotFound();
  requireVhostAccess(ctx.core, req.user, name);
  return vhost;
}

export function queueParam(req: ApiRequest, ctx: ManagementContext): Queue {
  const queue = vhostParam(req, ctx).queues.get(req.params[1]!);
  if (!queue) throw objectNotFound();
  return queue;
}

/** `amq.default` names the default exchange '' in the API. */
export function exchangeName(name: string): string {
  return name === 'amq.default' ? '' : name;
}

export function exchangeParam(req: ApiRequest, ctx: ManagementContext): Exchange {
  const exchange = vhostParam(req, ctx).exchanges.get(exchangeName(req.params[1]!));
  if (!exchange) throw objectNotFound();
  return exchange;
}

/**
 * The caller's configure/write/read permission on a queue or exchange, as an AMQP client of that
 * user would need (RabbitMQ's management API acts with the caller's permissions): 403 otherwise.
 */
export function requirePermission(
  req: ApiRequest,
  ctx: ManagementContext,
  vhost: string,
  permission: Permission,
  kind: ResourceKind,
  name: string,
): void {
  ctx.core.permissions.check(req.user.name, vhost, permission, kind, name);
}

/** Vhosts a list covers: the one in the path, or every vhost the caller sees. */
export function vhostsFor(req: ApiRequest, ctx: ManagementContext, names: readonly string[]): VirtualHost[] {
  if (req.params.length > 0) return [vhostParam(req, ctx)];
  return names.map((n) => ctx.core.vhosts.get(n)).filter((v): v is VirtualHost => v !== undefined);
}
