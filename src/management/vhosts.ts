/** /api/vhosts: list, show, create (PUT) and delete, through core/amqp/management.ts. */
import { addVhost, deleteVhost, setPermissions } from '../core/amqp/management.js';
import { requireVhostAccess, visibleVhosts } from './auth.js';
import type { ManagementContext } from './context.js';
import { objectNotFound } from './errors.js';
import { listReply, objectReply } from './query.js';
import { type ApiRequest, bodyObject, CREATED, NO_CONTENT } from './request.js';
import { type Route, route } from './router.js';

function vhostView(ctx: ManagementContext, name: string): Record<string, unknown> {
  const vhost = ctx.core.vhosts.get(name)!;
  let ready = 0;
  let unacked = 0;
  for (const q of vhost.queues.values()) {
    ready += q.messageCount;
    unacked += q.leasedCount;
  }
  return {
    name,
    description: '',
    tags: [],
    default_queue_type: 'classic',
    metadata: { description: '', tags: [] },
    tracing: false,
    cluster_state: { 'pier@localhost': 'running' },
    messages: ready + unacked,
    messages_details: { rate: 0.0 },
    messages_ready: ready,
    messages_ready_details: { rate: 0.0 },
    messages_unacknowledged: unacked,
    messages_unacknowledged_details: { rate: 0.0 },
  };
}

function show(req: ApiRequest, ctx: ManagementContext) {
  const name = req.params[0]!;
  if (!ctx.core.vhosts.has(name)) throw objectNotFound();
  requireVhostAccess(ctx.core, req.user, name);
  return objectReply(vhostView(ctx, name), req.query);
}

export const vhostRoutes: Route[] = [
  route('GET', '/api/vhosts', 'management', (req, ctx) =>
    listReply(
      visibleVhosts(ctx.core, req.user).map((n) => vhostView(ctx, n)),
      req.query,
    ),
  ),
  route('GET', '/api/vhosts/:vhost', 'management', show),
  route('PUT', '/api/vhosts/:vhost', 'administrator', (req, ctx) => {
    bodyObject(req);
    const name = req.params[0]!;
    const existed = ctx.core.vhosts.has(name);
    addVhost(ctx.core, name);
    // As RabbitMQ's management API: the user creating a vhost gets full permissions in it.
    if (!existed)
      setPermissions(ctx.core, {
        user: req.user.name,
        vhost: name,
        configure: '.*',
        write: '.*',
        read: '.*',
      });
    return existed ? NO_CONTENT : CREATED;
  }),
  route('DELETE', '/api/vhosts/:vhost', 'administrator', (req, ctx) => {
    if (!ctx.core.vhosts.has(req.params[0]!)) throw objectNotFound();
    deleteVhost(ctx.core, req.params[0]!);
    return NO_CONTENT;
  }),
];
