/**
 * RabbitMQ's shovel status routes (rabbitmq_shovel_management): /api/shovels and
 * /api/shovels/{vhost}. Rows carry RabbitMQ's fields (name, vhost, type, state, reason when
 * terminated, src_uri, dest_uri) and Pier's extras (messages_moved, last_error, the back-off's
 * failures_in_row and next_retry_at, messages_refused and messages_dead_lettered). Shovels are
 * defined through /api/parameters/shovel (parameters.ts); composition passes the status in.
 */
import { visibleVhosts } from './auth.js';
import type { ManagementContext } from './context.js';
import { objectNotFound } from './errors.js';
import { vhostParam } from './lookup.js';
import { listReply } from './query.js';
import type { ApiRequest } from './request.js';
import { type Route, route } from './router.js';

function list(req: ApiRequest, ctx: ManagementContext) {
  if (!ctx.shovels) throw objectNotFound();
  const vhosts = new Set(
    req.params.length > 0 ? [vhostParam(req, ctx).name] : visibleVhosts(ctx.core, req.user),
  );
  const rows = ctx
    .shovels()
    .filter((s) => vhosts.has(s.vhost))
    .map((s) => ({
      node: 'pier@localhost',
      timestamp: new Date().toISOString().replace('T', ' ').slice(0, 19),
      name: s.name,
      vhost: s.vhost,
      type: 'dynamic',
      state: s.state,
      ...(s.state === 'terminated' && s.lastError ? { reason: s.lastError } : {}),
      src_uri: s.source,
      dest_uri: s.destination,
      src_protocol: 'amqp091',
      dest_protocol: 'amqp091',
      messages_moved: s.messagesMoved,
      last_error: s.lastError ?? null,
      last_error_at: s.lastErrorAtMs === undefined ? null : new Date(s.lastErrorAtMs).toISOString(),
      failures_in_row: s.failuresInRow ?? 0,
      next_retry_at: s.nextRetryAtMs === undefined ? null : new Date(s.nextRetryAtMs).toISOString(),
      messages_refused: s.messagesRefused ?? 0,
      messages_dead_lettered: s.messagesDeadLettered ?? 0,
      dead_letter: s.deadLetter ?? null,
      last_dead_letter_reason: s.lastDeadLetterReason ?? null,
    }));
  return listReply(rows, req.query);
}

export const shovelRoutes: Route[] = [
  route('GET', '/api/shovels', 'management', list),
  route('GET', '/api/shovels/:vhost', 'management', list),
];
