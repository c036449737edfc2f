/**
 * /api/health/checks/* (200 {"status":"ok"} or 503 {"status":"failed","reason"}) and the legacy
 * /api/aliveness-test/{vhost}, which declares, publishes to and reads from a test queue.
 */
import type { ManagementContext } from './context.js';
import { badRequest } from './errors.js';
import { API_OWNER, vhostParam } from './lookup.js';
import type { ApiRequest } from './request.js';
import { type Route, route } from './router.js';

const ok = (extra: Record<string, unknown> = {}) => ({ status: 200, body: { status: 'ok', ...extra } });
const failed = (reason: string, extra: Record<string, unknown> = {}) => ({
  status: 503,
  body: { status: 'failed', reason, ...extra },
});

function alarms(_req: ApiRequest, ctx: ManagementContext) {
  const raised = [...ctx.alarms()];
  if (raised.length === 0) return ok();
  return failed('resource alarm(s) in effect in the cluster', {
    alarms: raised.map((resource) => ({ node: 'pier@localhost', resource })),
  });
}

function portListener(req: ApiRequest, ctx: ManagementContext) {
  const raw = req.params[0]!;
  if (!/^\d+$/.test(raw)) throw badRequest(`port '${raw}' is not an integer`);
  const port = Number(raw);
  const listener = ctx.listeners().find((l) => l.port === port);
  if (!listener) {
    return failed(`No active listener on port ${port}`, {
      missing: port,
      ports: ctx.listeners().map((l) => l.port),
    });
  }
  return ok({ port });
}

/** RabbitMQ's protocol names and aliases, mapped onto Pier's listeners. */
const PROTOCOL_ALIASES: Record<string, string> = {
  amqp: 'amqp',
  amqp091: 'amqp',
  'amqp0-9-1': 'amqp',
  'amqp0.9.1': 'amqp',
  http: 'http',
  management: 'http',
  kafka: 'kafka',
  sqs: 'sqs',
};

function protocolListener(req: ApiRequest, ctx: ManagementContext) {
  const wanted = req.params[0]!.split(',').map((p) => p.trim().toLowerCase());
  const active = new Set(ctx.listeners().map((l) => l.protocol));
  const missing = wanted.filter((p) => !active.has(PROTOCOL_ALIASES[p] ?? p));
  if (missing.length > 0) {
    return failed(`No active listener for protocol(s) ${missing.join(', ')}`, {
      missing: missing.join(','),
      protocols: [...active],
    });
  }
  return ok({ protocols: wanted });
}

function aliveness(req: ApiRequest, ctx: ManagementContext) {
  const vhost = vhostParam(req, ctx);
  const queue = vhost.declareQueue({
    name: 'aliveness-test',
    passive: false,
    durable: false,
    exclusive: false,
    autoDelete: false,
    arguments: {},
    owner: API_OWNER,
  });
  const body = Buffer.from('test_message');
  vhost.publish(vhost.getExchange(''), {
    exchange: '',
    routingKey: queue.name,
    properties: ctx.properties.encode({}),
    body,
    bodySizeBytes: body.length,
    persistent: false,
    publishedAtMs: ctx.core.clock.now(),
    priority: 0,
  });
  const got = queue.get();
  if (!got) return failed('aliveness test failed: the test message did not arrive');
  queue.settle(got);
  return ok();
}

export const healthRoutes: Route[] = [
  route('GET', '/api/aliveness-test/:vhost', 'management', aliveness),
  route('GET', '/api/health/checks/alarms', 'monitoring', alarms),
  route('GET', '/api/health/checks/local-alarms', 'monitoring', alarms),
  route('GET', '/api/health/checks/virtual-hosts', 'monitoring', () => ok()),
  route('GET', '/api/health/checks/port-listener/:port', 'monitoring', portListener),
  route('GET', '/api/health/checks/protocol-listener/:protocols', 'monitoring', protocolListener),
  route('GET', '/api/health/checks/ready-to-serve-clients', 'monitoring', () => ok()),
  route('GET', '/api/health/checks/is-in-service', 'monitoring', () => ok()),
  route('GET', '/api/health/checks/node-is-quorum-critical', 'monitoring', () => ok()),
  route('GET', '/api/health/checks/node-is-mirror-sync-critical', 'monitoring', () => ok()),
];
