/**
 * Runtime parameters as RabbitMQ 3.10's management API shows them: /api/parameters (every
 * component but `policy`, so operator policies and vhost limits appear there too),
 * /api/global-parameters, /api/vhost-limits, /api/operator-policies and /api/user-limits. The core
 * (core/amqp/runtime-parameters.ts) validates; a refused value is 400 "Validation failed".
 */
import { BrokerError } from '../core/amqp/errors.js';
import { clearUserLimit, setUserLimit } from '../core/amqp/management.js';
import type { Policy } from '../core/amqp/policies.js';
import {
  clearGlobalParameter,
  clearParameter,
  clearVhostLimit,
  OPERATOR_POLICY_COMPONENT,
  type Parameter,
  setGlobalParameter,
  setParameter,
  setVhostLimit,
  VHOST_LIMITS_COMPONENT,
  VHOST_LIMITS_NAME,
} from '../core/amqp/runtime-parameters.js';
import { visibleVhosts } from './auth.js';
import type { ManagementContext } from './context.js';
import { badRequest, HttpError, objectNotFound } from './errors.js';
import { vhostParam } from './lookup.js';
import { listReply, objectReply } from './query.js';
import {
  type ApiRequest,
  bodyObject,
  CREATED,
  NO_CONTENT,
  optionalInteger,
  requiredString,
} from './request.js';
import { type Route, route } from './router.js';

function parameterView(p: Parameter): Record<string, unknown> {
  return { value: p.value, vhost: p.vhost, component: p.component, name: p.name };
}

/** A write to a vhost that does not exist: RabbitMQ's 404 for parameter writes. */
function vhostForWrite(req: ApiRequest, ctx: ManagementContext, index: number): string {
  const name = req.params[index]!;
  if (!ctx.core.vhosts.has(name)) throw new HttpError(404, 'not_found', 'vhost_not_found');
  return vhostParam(req, ctx, index).name;
}

/** Runs a core change; the core's refusal becomes RabbitMQ's 400 "Validation failed". */
function validated(change: () => void): void {
  try {
    change();
  } catch (error) {
    if (error instanceof BrokerError && error.kind === 'precondition-failed') {
      throw badRequest(`Validation failed\n\n${error.detail}\n`);
    }
    throw error;
  }
}

/** The body's `value` ([{key_missing,value}] when absent). */
function bodyValue(req: ApiRequest): unknown {
  const body = bodyObject(req);
  if (body.value === undefined) throw badRequest('[{key_missing,value}]');
  return body.value;
}

// ---- /api/parameters ---------------------------------------------------------------------

function listParameters(req: ApiRequest, ctx: ManagementContext) {
  const [component, vhost] = req.params;
  const vhosts = vhost !== undefined ? [vhostParam(req, ctx, 1).name] : visibleVhosts(ctx.core, req.user);
  const rows = vhosts.flatMap((v) =>
    ctx.core.parameters.list({ vhost: v, ...(component === undefined ? {} : { component }) }),
  );
  return listReply(rows.map(parameterView), req.query);
}

function namedParameter(req: ApiRequest, ctx: ManagementContext): Parameter {
  const [component, , name] = req.params as [string, string, string];
  const vhost = vhostParam(req, ctx, 1).name;
  const parameter = ctx.core.parameters.get(component, vhost, name);
  if (!parameter) throw objectNotFound();
  return parameter;
}

function putParameter(req: ApiRequest, ctx: ManagementContext) {
  const [component, , name] = req.params as [string, string, string];
  const vhost = vhostForWrite(req, ctx, 1);
  const value = bodyValue(req);
  const existed = ctx.core.parameters.get(component, vhost, name) !== undefined;
  validated(() => setParameter(ctx.core, component, vhost, name, value));
  return existed ? NO_CONTENT : CREATED;
}

// ---- /api/operator-policies --------------------------------------------------------------

function operatorPolicyView(vhost: string, p: Policy): Record<string, unknown> {
  return {
    vhost,
    name: p.name,
    pattern: p.pattern,
    'apply-to': p.applyTo,
    definition: p.definition,
    priority: p.priority,
  };
}

function listOperatorPolicies(req: ApiRequest, ctx: ManagementContext) {
  const vhosts = req.params.length > 0 ? [vhostParam(req, ctx).name] : visibleVhosts(ctx.core, req.user);
  const rows = vhosts.flatMap((v) =>
    ctx.core.vhosts
      .get(v)!
      .operatorPolicies.list()
      .map((p) => operatorPolicyView(v, p)),
  );
  return listReply(rows, req.query);
}

function putOperatorPolicy(req: ApiRequest, ctx: ManagementContext) {
  const vhost = vhostForWrite(req, ctx, 0);
  const name = req.params[1]!;
  const body = bodyObject(req);
  const pattern = requiredString(body, 'pattern');
  if (body.definition === undefined) throw badRequest('[{key_missing,definition}]');
  let priority: number | undefined;
  try {
    priority = optionalInteger(body, 'priority');
  } catch {
    throw badRequest(
      `Validation failed\n\npriority should be a number, actually was ${JSON.stringify(body.priority)}\n`,
    );
  }
  const value = {
    pattern,
    definition: body.definition,
    priority: priority ?? 0,
    'apply-to': body['apply-to'] ?? 'all',
  };
  const existed = ctx.core.parameters.get(OPERATOR_POLICY_COMPONENT, vhost, name) !== undefined;
  validated(() => setParameter(ctx.core, OPERATOR_POLICY_COMPONENT, vhost, name, value));
  return existed ? NO_CONTENT : CREATED;
}

// ---- /api/vhost-limits -------------------------------------------------------------------

function listVhostLimits(req: ApiRequest, ctx: ManagementContext) {
  const vhosts = req.params.length > 0 ? [vhostParam(req, ctx).name] : visibleVhosts(ctx.core, req.user);
  const rows = vhosts.flatMap((v) => {
    const p = ctx.core.parameters.get(VHOST_LIMITS_COMPONENT, v, VHOST_LIMITS_NAME);
    return p ? [{ vhost: v, value: p.value }] : [];
  });
  return listReply(rows, req.query);
}

// ---- /api/user-limits --------------------------------------------------------------------

function listUserLimits(req: ApiRequest, ctx: ManagementContext) {
  const name = req.params[0];
  if (name !== undefined && !ctx.core.users.has(name)) throw objectNotFound();
  const users = [...ctx.core.users.values()].filter((u) => name === undefined || u.name === name);
  const rows = users
    .filter((u) => u.limits && Object.keys(u.limits).length > 0)
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((u) => ({ user: u.name, value: { ...u.limits } }));
  return listReply(rows, req.query);
}

function userForLimits(req: ApiRequest, ctx: ManagementContext): string {
  const name = req.params[0]!;
  if (!ctx.core.users.has(name)) throw objectNotFound();
  return name;
}

export const parameterRoutes: Route[] = [
  route('GET', '/api/parameters', 'policymaker', listParameters),
  route('GET', '/api/parameters/:component', 'policymaker', listParameters),
  route('GET', '/api/parameters/:component/:vhost', 'policymaker', listParameters),
  route('GET', '/api/parameters/:component/:vhost/:name', 'policymaker', (req, ctx) =>
    objectReply(parameterView(namedParameter(req, ctx)), req.query),
  ),
  route('PUT', '/api/parameters/:component/:vhost/:name', 'policymaker', putParameter),
  route('DELETE', '/api/parameters/:component/:vhost/:name', 'policymaker', (req, ctx) => {
    const p = namedParameter(req, ctx);
    clearParameter(ctx.core, p.component, p.vhost, p.name);
    return NO_CONTENT;
  }),

  route('GET', '/api/global-parameters', 'policymaker', (req, ctx) =>
    listReply(
      [...ctx.core.parameters.globals.values()]
        .sort((a, b) => (a.name < b.name ? -1 : 1))
        .map((p) => ({ name: p.name, value: p.value })),
      req.query,
    ),
  ),
  route('GET', '/api/global-parameters/:name', 'policymaker', (req, ctx) => {
    const p = ctx.core.parameters.globals.get(req.params[0]!);
    if (!p) throw objectNotFound();
    return objectReply({ value: p.value, name: p.name }, req.query);
  }),
  route('PUT', '/api/global-parameters/:name', 'administrator', (req, ctx) => {
    const value = bodyValue(req);
    const existed = ctx.core.parameters.globals.has(req.params[0]!);
    validated(() => setGlobalParameter(ctx.core, req.params[0]!, value));
    return existed ? NO_CONTENT : CREATED;
  }),
  route('DELETE', '/api/global-parameters/:name', 'administrator', (req, ctx) => {
    if (!ctx.core.parameters.globals.has(req.params[0]!)) throw objectNotFound();
    clearGlobalParameter(ctx.core, req.params[0]!);
    return NO_CONTENT;
  }),

  route('GET', '/api/operator-policies', 'policymaker', listOperatorPolicies),
  route('GET', '/api/operator-policies/:vhost', 'policymaker', listOperatorPolicies),
  route('GET', '/api/operator-policies/:vhost/:name', 'policymaker', (req, ctx) => {
    const vhost = vhostParam(req, ctx);
    const policy = vhost.operatorPolicies.get(req.params[1]!);
    if (!policy) throw objectNotFound();
    return objectReply(operatorPolicyView(vhost.name, policy), req.query);
  }),
  route('PUT', '/api/operator-policies/:vhost/:name', 'administrator', putOperatorPolicy),
  route('DELETE', '/api/operator-policies/:vhost/:name', 'administrator', (req, ctx) => {
    const vhost = vhostParam(req, ctx);
    if (!vhost.operatorPolicies.get(req.params[1]!)) throw objectNotFound();
    clearParameter(ctx.core, OPERATOR_POLICY_COMPONENT, vhost.name, req.params[1]!);
    return NO_CONTENT;
  }),

  route('GET', '/api/vhost-limits', 'management', listVhostLimits),
  route('GET', '/api/vhost-limits/:vhost', 'management', listVhostLimits),
  route('PUT', '/api/vhost-limits/:vhost/:name', 'administrator', (req, ctx) => {
    const vhost = vhostForWrite(req, ctx, 0);
    const value = bodyValue(req);
    validated(() => setVhostLimit(ctx.core, vhost, req.params[1]!, value));
    return NO_CONTENT;
  }),
  route('DELETE', '/api/vhost-limits/:vhost/:name', 'administrator', (req, ctx) => {
    clearVhostLimit(ctx.core, vhostForWrite(req, ctx, 0), req.params[1]!);
    return NO_CONTENT;
  }),

  route('GET', '/api/user-limits', 'administrator', listUserLimits),
  route('GET', '/api/user-limits/:user', 'administrator', listUserLimits),
  route('PUT', '/api/user-limits/:user/:name', 'administrator', (req, ctx) => {
    const user = userForLimits(req, ctx);
    const value = bodyValue(req);
    validated(() => setUserLimit(ctx.core, user, req.params[1]!, value));
    return NO_CONTENT;
  }),
  route('DELETE', '/api/user-limits/:user/:name', 'administrator', (req, ctx) => {
    clearUserLimit(ctx.core, userForLimits(req, ctx), req.params[1]!);
    return NO_CONTENT;
  }),
];
