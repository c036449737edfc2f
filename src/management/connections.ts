/**
 * /api/connections (and DELETE to close one with 320 CONNECTION_FORCED, the reason taken from
 * X-Reason), /api/channels (with each channel's prefetch, unacked, unconfirmed, consumers, confirm
 * and tx state) and /api/consumers, from the AMQP listener's connections.
 */
import { seesAllVhosts, visibleVhosts } from './auth.js';
import type { ChannelView, ConnectionView, ManagementContext } from './context.js';
import { NODE_NAME } from './context.js';
import { forbidden, objectNotFound } from './errors.js';
import { lazyListReply } from './list-stream.js';
import { vhostsFor } from './lookup.js';
import { listReply, objectReply } from './query.js';
import { type ApiRequest, NO_CONTENT } from './request.js';
import { type Route, route } from './router.js';
import { consumerView } from './views.js';

function connectionView(c: ConnectionView): Record<string, unknown> {
  return {
    name: c.name,
    node: NODE_NAME,
    type: 'network',
    protocol: 'AMQP 0-9-1',
    user: c.user,
    vhost: c.vhost,
    host: c.host,
    port: c.port,
    peer_host: c.peerHost,
    peer_port: c.peerPort,
    channels: c.channels,
    connected_at: c.connectedAtMs,
    state: 'running',
    ssl: false,
    auth_mechanism: 'PLAIN',
    client_properties: c.clientProperties,
    recv_oct: 0,
    recv_oct_details: { rate: 0.0 },
    send_oct: 0,
    send_oct_details: { rate: 0.0 },
  };
}

const CONNECTION_KEYS = {
  name: (c: ConnectionView) => c.name,
  user: (c: ConnectionView) => c.user,
  vhost: (c: ConnectionView) => c.vhost,
  channels: (c: ConnectionView) => c.channels,
  connected_at: (c: ConnectionView) => c.connectedAtMs,
};

/** Connections the caller may see: all for monitoring users, otherwise its own. */
function visible(req: ApiRequest, ctx: ManagementContext, vhost?: string): ConnectionView[] {
  const all = seesAllVhosts(req.user);
  return [...ctx.connections()].filter(
    (c) => (all || c.user === req.user.name) && (vhost === undefined || c.vhost === vhost),
  );
}

function named(req: ApiRequest, ctx: ManagementContext): ConnectionView {
  const connection = [...ctx.connections()].find((c) => c.name === req.params[0]);
  if (!connection) throw objectNotFound();
  if (!seesAllVhosts(req.user) && connection.user !== req.user.name) throw forbidden('Not monitor user');
  return connection;
}

/** A channel as RabbitMQ's /api/channels shows it. */
function channelView(c: ConnectionView, ch: ChannelView): Record<string, unknown> {
  return {
    name: `${c.name} (${ch.number})`,
    node: NODE_NAME,
    user: c.user,
    user_who_performed_action: c.user,
    vhost: c.vhost,
    number: ch.number,
    connection_details: { name: c.name, peer_host: c.peerHost, peer_port: c.peerPort },
    state: ch.state,
    prefetch_count: ch.prefetchCount,
    global_prefetch_count: ch.globalPrefetchCount,
    messages_unacknowledged: ch.unacknowledged,
    messages_unconfirmed: ch.unconfirmed,
    messages_uncommitted: ch.uncommitted,
    acks_uncommitted: ch.acksUncommitted,
    consumer_count: ch.consumerCount,
    confirm: ch.confirm,
    transactional: ch.transactional,
    pending_raft_commands: 0,
  };
}

function channelRows(connections: readonly ConnectionView[]): Record<string, unknown>[] {
  return connections.flatMap((c) => c.channelDetails().map((ch) => channelView(c, ch)));
}

function channels(req: ApiRequest, ctx: ManagementContext) {
  return listReply(channelRows(visible(req, ctx)), req.query);
}

/** `name` is `<connection name> (<number>)`, as RabbitMQ names channels. */
function namedChannel(req: ApiRequest, ctx: ManagementContext): Record<string, unknown> {
  const match = /^(.*) \((\d+)\)$/.exec(req.params[0]!);
  if (!match) throw objectNotFound();
  const connection = [...ctx.connections()].find((c) => c.name === match[1]);
  if (!connection) throw objectNotFound();
  if (!seesAllVhosts(req.user) && connection.user !== req.user.name) throw forbidden('Not monitor user');
  const channel = connection.channelDetails().find((ch) => ch.number === Number(match[2]));
  if (!channel) throw objectNotFound();
  return channelView(connection, channel);
}

function consumers(req: ApiRequest, ctx: ManagementContext) {
  const vhosts = vhostsFor(req, ctx, visibleVhosts(ctx.core, req.user));
  const rows = vhosts.flatMap((v) =>
    [...v.queues.values()].flatMap((q) => q.consumers.map((c) => consumerView(q, c))),
  );
  return listReply(rows, req.query);
}

export const connectionRoutes: Route[] = [
  route('GET', '/api/connections', 'management', (req, ctx) =>
    lazyListReply({ rows: visible(req, ctx), view: connectionView, keys: CONNECTION_KEYS }, req.query),
  ),
  route('GET', '/api/vhosts/:vhost/connections', 'management', (req, ctx) => {
    vhostsFor(req, ctx, []);
    return listReply(visible(req, ctx, req.params[0]).map(connectionView), req.query);
  }),
  route('GET', '/api/connections/:name', 'management', (req, ctx) =>
    objectReply(connectionView(named(req, ctx)), req.query),
  ),
  route('DELETE', '/api/connections/:name', 'management', (req, ctx) => {
    const reason = req.headers['x-reason'];
    named(req, ctx).close(
      typeof reason === 'string' && reason !== '' ? reason : 'Closed via management plugin',
    );
    return NO_CONTENT;
  }),
  route('GET', '/api/channels', 'management', channels),
  route('GET', '/api/channels/:name', 'management', (req, ctx) =>
    objectReply(namedChannel(req, ctx), req.query),
  ),
  route('GET', '/api/connections/:name/channels', 'management', (req, ctx) =>
    listReply(channelRows([named(req, ctx)]), req.query),
  ),
  route('GET', '/api/vhosts/:vhost/channels', 'management', (req, ctx) => {
    vhostsFor(req, ctx, []);
    return listReply(channelRows(visible(req, ctx, req.params[0])), req.query);
  }),
  route('GET', '/api/consumers', 'management', consumers),
  route('GET', '/api/consumers/:vhost', 'management', consumers),
];
