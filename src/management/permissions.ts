/**
 * /api/permissions: list, show, set (PUT {configure,write,read}) and clear; /api/topic-permissions
 * the same with {exchange,write,read} per topic exchange.
 */
import {
  clearPermissions,
  clearTopicPermissions,
  setPermissions,
  setTopicPermission,
} from '../core/amqp/management.js';
import type { ManagementContext } from './context.js';
import { badRequest, objectNotFound } from './errors.js';
import { listReply, objectReply } from './query.js';
import { type ApiRequest, bodyObject, CREATED, NO_CONTENT, requiredString } from './request.js';
import { type Route, route } from './router.js';

function userAndVhost(req: ApiRequest, ctx: ManagementContext): { vhost: string; user: string } {
  const [vhost, user] = req.params as [string, string];
  if (!ctx.core.vhosts.has(vhost) || !ctx.core.users.has(user)) throw objectNotFound();
  return { vhost, user };
}

export const permissionRoutes: Route[] = [
  route('GET', '/api/permissions', 'administrator', (req, ctx) =>
    listReply(
      ctx.core.permissions.list().map((p) => ({ ...p })),
      req.query,
    ),
  ),
  route('GET', '/api/vhosts/:vhost/permissions', 'administrator', (req, ctx) => {
    if (!ctx.core.vhosts.has(req.params[0]!)) throw objectNotFound();
    return listReply(
      ctx.core.permissions.list({ vhost: req.params[0]! }).map((p) => ({ ...p })),
      req.query,
    );
  }),
  route('GET', '/api/permissions/:vhost/:user', 'administrator', (req, ctx) => {
    const { vhost, user } = userAndVhost(req, ctx);
    const entry = ctx.core.permissions.list({ user, vhost })[0];
    if (!entry) throw objectNotFound();
    return objectReply({ ...entry }, req.query);
  }),
  route('PUT', '/api/permissions/:vhost/:user', 'administrator', (req, ctx) => {
    const { vhost, user } = userAndVhost(req, ctx);
    const body = bodyObject(req);
    const existed = ctx.core.permissions.get(user, vhost) !== undefined;
    setPermissions(ctx.core, {
      user,
      vhost,
      configure: requiredString(body, 'configure'),
      write: requiredString(body, 'write'),
      read: requiredString(body, 'read'),
    });
    return existed ? NO_CONTENT : CREATED;
  }),
  route('GET', '/api/topic-permissions', 'administrator', (req, ctx) =>
    listReply(
      ctx.core.topicPermissions.list().map((p) => ({ ...p })),
      req.query,
    ),
  ),
  route('GET', '/api/vhosts/:vhost/topic-permissions', 'administrator', (req, ctx) => {
    if (!ctx.core.vhosts.has(req.params[0]!)) throw objectNotFound();
    return listReply(
      ctx.core.topicPermissions.list({ vhost: req.params[0]! }).map((p) => ({ ...p })),
      req.query,
    );
  }),
  route('GET', '/api/topic-permissions/:vhost/:user', 'administrator', (req, ctx) => {
    const { vhost, user } = userAndVhost(req, ctx);
    const entries = ctx.core.topicPermissions.list({ user, vhost });
    if (entries.length === 0) throw objectNotFound();
    return listReply(
      entries.map((p) => ({ ...p })),
      req.query,
    );
  }),
  route('PUT', '/api/topic-permissions/:vhost/:user', 'administrator', (req, ctx) => {
    const [vhost, user] = req.params as [string, string];
    if (!ctx.core.vhosts.has(vhost) || !ctx.core.users.has(user)) throw badRequest('vhost_or_user_not_found');
    const body = bodyObject(req);
    const exchange = requiredString(body, 'exchange');
    const write = requiredString(body, 'write');
    const read = requiredString(body, 'read');
    const existed = ctx.core.topicPermissions.list({ user, vhost }).some((p) => p.exchange === exchange);
    setTopicPermission(ctx.core, { user, vhost, exchange, write, read });
    return existed ? NO_CONTENT : CREATED;
  }),
  route('DELETE', '/api/topic-permissions/:vhost/:user', 'administrator', (req, ctx) => {
    const { vhost, user } = userAndVhost(req, ctx);
    const exchange = req.query.get('exchange') ?? undefined;
    if (clearTopicPermissions(ctx.core, user, vhost, exchange) === 0) throw objectNotFound();
    return NO_CONTENT;
  }),
  route('DELETE', '/api/permissions/:vhost/:user', 'administrator', (req, ctx) => {
    const { vhost, user } = userAndVhost(req, ctx);
    if (!ctx.core.permissions.get(user, vhost)) throw objectNotFound();
    clearPermissions(ctx.core, user, vhost);
    return NO_CONTENT;
  }),
];
