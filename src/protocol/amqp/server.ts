import { createServer, type Server, type Socket } from 'node:net';
import { listen } from '../../util/listen.js';
import { AmqpConnection, type AmqpLimits, type ConnectionContext } from './connection.js';
import { DirectReplyRegistry } from './direct-reply-to.js';
import { DEFAULT_SERVER_IDENTITY } from './server-properties.js';

export const DEFAULT_AMQP_LIMITS: AmqpLimits = {
  frameMaxBytes: 131072,
  channelMax: 2047,
  heartbeatSeconds: 60,
  maxMessageSizeBytes: 16 * 1024 * 1024,
  handshakeTimeoutMs: 10_000,
  maxConnections: Number.POSITIVE_INFINITY,
  maxConsumersPerChannel: Number.POSITIVE_INFINITY,
  consumerTimeoutMs: 1_800_000,
  serverProduct: DEFAULT_SERVER_IDENTITY.product,
  serverVersion: DEFAULT_SERVER_IDENTITY.version,
};

/** The AMQP 0-9-1 listener: accepts sockets and keeps track of their connections. */
export class AmqpServer {
  private readonly server: Server;
  readonly connections = new Set<AmqpConnection>();
  private readonly stopAlarmUpdates: () => void;

  constructor(
    context: Omit<ConnectionContext, 'onClosed' | 'connectionCount' | 'channelCountOfUser' | 'directReply'>,
  ) {
    const connectionContext: ConnectionContext = {
      ...context,
      directReply: new DirectReplyRegistry(),
      connectionCount: (opened) => {
        let open = 0;
        for (const connection of this.connections) {
          if (connection.isClosing) continue;
          if (opened?.vhost !== undefined && connection.openedVhost !== opened.vhost) continue;
          if (opened?.user !== undefined && connection.openedBy !== opened.user) continue;
          open++;
        }
        return open;
      },
      channelCountOfUser: (user) => {
        let open = 0;
        for (const connection of this.connections) {
          if (connection.openedBy === user) open += connection.channelCount;
        }
        return open;
      },
      onClosed: (connection) => {
        if (this.connections.delete(connection)) context.core.stats.connectionsClosed++;
      },
    };
    this.stopAlarmUpdates = context.alarms.onChange(() => {
      for (const connection of this.connections) connection.resourceAlarmsChanged();
    });
    this.connectionContext = connectionContext;
    this.server = createServer((socket) => this.accept(socket));
  }

  private readonly connectionContext: ConnectionContext;

  /** Serves a connected socket: one the plain listener accepted, or a TLS socket after its handshake. */
  accept(socket: Socket): void {
    this.connections.add(new AmqpConnection(socket, this.connectionContext));
    this.connectionContext.core.stats.connectionsOpened++;
  }

  /** Open channels over every connection (rabbitmq_channels). */
  channelCount(): number {
    let count = 0;
    for (const connection of this.connections) count += connection.channelCount;
    return count;
  }

  /** Binds; resolves with the bound address, rejects with the listen error (e.g. EADDRINUSE). */
  listen(host: string, port: number): Promise<{ host: string; port: number }> {
    return listen(this.server, host, port, 'AMQP');
  }

  /** Stops accepting, then closes every connection with 320 CONNECTION_FORCED. */
  async close(reason = 'broker shutdown'): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.stopAlarmUpdates();
    for (const connection of this.connections) connection.forceClose(reason);
    // Give clients a moment to answer close-ok, then hang up on the rest.
    const deadline = Date.now() + 1000;
    while (this.connections.size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    for (const connection of this.connections) connection.socket.destroy();
    await closed;
  }
}
