/** GET /api/overview, /api/whoami, /api/nodes, /api/extensions (rabbit_mgmt_wm_overview fields). */
import { EXCHANGE_TYPES } from '../core/amqp/exchange.js';
import { visibleVhosts } from './auth.js';
import { CLUSTER_NAME, type ManagementContext, NODE_NAME, RABBITMQ_VERSION } from './context.js';
import { objectNotFound } from './errors.js';
import { objectReply } from './query.js';
import type { ApiRequest } from './request.js';
import { type Route, route } from './router.js';

function overview(req: ApiRequest, ctx: ManagementContext) {
  const vhosts = visibleVhosts(ctx.core, req.user).map((n) => ctx.core.vhosts.get(n)!);
  let queues = 0;
  let exchanges = 0;
  let consumers = 0;
  for (const vhost of vhosts) {
    exchanges += vhost.exchanges.size;
    for (const queue of vhost.queues.values()) {
      queues++;
      consumers += queue.consumerCount;
    }
  }
  const names = new Set(vhosts.map((v) => v.name));
  let connections = 0;
  let channels = 0;
  for (const c of ctx.connections()) {
    if (!names.has(c.vhost)) continue;
    connections++;
    channels += c.channels;
  }
  return objectReply(
    {
      management_version: RABBITMQ_VERSION,
      rates_mode: 'basic',
      sample_retention_policies: { global: [600, 3600, 28800, 86400], basic: [600, 3600], detailed: [600] },
      exchange_types: EXCHANGE_TYPES.map((name) => ({ name, description: '', enabled: true })),
      product_version: RABBITMQ_VERSION,
      product_name: 'RabbitMQ',
      rabbitmq_version: RABBITMQ_VERSION,
      pier_version: ctx.pierVersion,
      cluster_name: CLUSTER_NAME,
      erlang_version: `Node.js ${process.version}`,
      erlang_full_version: `Node.js ${process.version}`,
      disable_stats: false,
      enable_queue_totals: true,
      default_queue_type: 'classic',
      message_stats: ctx.rates.overviewMessageStats(req.query),
      churn_rates: {},
      queue_totals: ctx.rates.queueTotals(
        vhosts.map((v) => v.name),
        req.query,
      ),
      object_totals: { channels, connections, consumers, exchanges, queues },
      statistics_db_event_queue: 0,
      node: NODE_NAME,
      listeners: ctx.listeners().map((l) => ({
        node: NODE_NAME,
        protocol: l.protocol,
        ip_address: l.host,
        port: l.port,
        socket_opts: {},
      })),
      contexts: ctx
        .listeners()
        .filter((l) => l.protocol === 'http')
        .map((l) => ({
          ssl_opts: [],
          node: NODE_NAME,
          description: 'RabbitMQ Management',
          path: '/',
          port: String(l.port),
        })),
    },
    req.query,
  );
}

function nodeView(ctx: ManagementContext): Record<string, unknown> {
  const memory = process.memoryUsage();
  const alarms = new Set(ctx.alarms());
  return {
    name: NODE_NAME,
    type: 'disc',
    running: true,
    being_drained: false,
    uptime: Date.now() - ctx.startedAtMs,
    mem_used: memory.rss,
    mem_alarm: alarms.has('memory'),
    disk_free_alarm: alarms.has('disk'),
    fd_used: 0,
    proc_used: 0,
    os_pid: String(process.pid),
    processors: 1,
    rates_mode: 'basic',
    applications: [],
    exchange_types: EXCHANGE_TYPES.map((name) => ({ name, description: '', enabled: true })),
  };
}

export const overviewRoutes: Route[] = [
  route('GET', '/api/overview', 'management', overview),
  route('GET', '/api/whoami', 'management', (req) => ({ name: req.user.name, tags: [...req.user.tags] })),
  route('GET', '/api/extensions', 'management', () => []),
  route('GET', '/api/nodes', 'monitoring', (_req, ctx) => [nodeView(ctx)]),
  route('GET', '/api/nodes/:node', 'monitoring', (req, ctx) => {
    if (req.params[0] !== NODE_NAME) throw objectNotFound();
    return objectReply(nodeView(ctx), req.query);
  }),
  route('GET', '/api/cluster-name', 'management', () => ({ name: CLUSTER_NAME })),
];
