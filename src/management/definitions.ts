/** GET/POST /api/definitions[/{vhost}]: export and import in RabbitMQ's format (all or nothing). */
import { exportDefinitions, importDefinitions } from '../core/amqp/rabbit-definitions.js';
import type { ManagementContext } from './context.js';
import { objectNotFound } from './errors.js';
import { JsonObjectStream } from './list-stream.js';
import { type ApiRequest, NO_CONTENT } from './request.js';
import { type Route, route } from './router.js';

function vhostName(req: ApiRequest, ctx: ManagementContext): string | undefined {
  const name = req.params[0];
  if (name !== undefined && !ctx.core.vhosts.has(name)) throw objectNotFound();
  return name;
}

/** Streamed: a broker's queues and bindings are megabytes of JSON (list-stream.ts). */
function exportRoute(req: ApiRequest, ctx: ManagementContext) {
  return new JsonObjectStream(exportDefinitions(ctx.core, vhostName(req, ctx)) as Record<string, unknown>);
}

function importRoute(req: ApiRequest, ctx: ManagementContext) {
  importDefinitions(ctx.core, req.body ?? {}, vhostName(req, ctx));
  return NO_CONTENT;
}

export const definitionRoutes: Route[] = [
  route('GET', '/api/definitions', 'administrator', exportRoute),
  route('POST', '/api/definitions', 'administrator', importRoute),
  route('GET', '/api/definitions/:vhost', 'administrator', exportRoute),
  route('POST', '/api/definitions/:vhost', 'administrator', importRoute),
];
