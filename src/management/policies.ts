/** /api/policies: list, show, set (PUT {pattern,definition,priority,apply-to}) and clear. */
import { clearPolicy, listPolicies, setPolicy } from '../core/amqp/management.js';
import type { Policy } from '../core/amqp/policies.js';
import { visibleVhosts } from './auth.js';
import type { ManagementContext } from './context.js';
import { badRequest, objectNotFound } from './errors.js';
import { vhostParam } from './lookup.js';
import { listReply, objectReply } from './query.js';
import {
  type ApiRequest,
  bodyObject,
  CREATED,
  NO_CONTENT,
  optionalInteger,
  optionalString,
  requiredString,
} from './request.js';
import { type Route, route } from './router.js';

export function policyView(policy: Policy): Record<string, unknown> {
  return {
    vhost: policy.vhost,
    name: policy.name,
    pattern: policy.pattern,
    'apply-to': policy.applyTo,
    definition: policy.definition,
    priority: policy.priority,
  };
}

function listFor(req: ApiRequest, ctx: ManagementContext) {
  const vhosts = req.params.length > 0 ? [vhostParam(req, ctx).name] : visibleVhosts(ctx.core, req.user);
  return listReply(vhosts.flatMap((v) => listPolicies(ctx.core, v)).map(policyView), req.query);
}

function putPolicy(req: ApiRequest, ctx: ManagementContext) {
  const vhost = vhostParam(req, ctx);
  const name = req.params[1]!;
  const body = bodyObject(req);
  if (body.definition === null || typeof body.definition !== 'object' || Array.isArray(body.definition)) {
    throw badRequest('definition must be an object');
  }
  const existed = vhost.policies.list().some((p) => p.name === name);
  const applyTo = optionalString(body, 'apply-to');
  const priority = optionalInteger(body, 'priority');
  setPolicy(ctx.core, {
    vhost: vhost.name,
    name,
    pattern: requiredString(body, 'pattern'),
    definition: body.definition,
    ...(applyTo === undefined ? {} : { applyTo }),
    ...(priority === undefined ? {} : { priority }),
  });
  return existed ? NO_CONTENT : CREATED;
}

export const policyRoutes: Route[] = [
  route('GET', '/api/policies', 'policymaker', listFor),
  route('GET', '/api/policies/:vhost', 'policymaker', listFor),
  route('GET', '/api/policies/:vhost/:name', 'policymaker', (req, ctx) => {
    const vhost = vhostParam(req, ctx);
    const policy = vhost.policies.list().find((p) => p.name === req.params[1]);
    if (!policy) throw objectNotFound();
    return objectReply(policyView(policy), req.query);
  }),
  route('PUT', '/api/policies/:vhost/:name', 'policymaker', putPolicy),
  route('DELETE', '/api/policies/:vhost/:name', 'policymaker', (req, ctx) => {
    const vhost = vhostParam(req, ctx);
    if (!vhost.policies.list().some((p) => p.name === req.params[1])) throw objectNotFound();
    clearPolicy(ctx.core, vhost.name, req.params[1]!);
    return NO_CONTENT;
  }),
];
