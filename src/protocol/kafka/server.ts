/** The Kafka listener: accepts sockets and keeps track of their connections. */
import { createServer, type Server, type Socket } from 'node:net';
import { listen } from '../../util/listen.js';
import type { KafkaSettings } from './cluster.js';
import { KafkaConnection, type KafkaConnectionContext } from './connection.js';
import type { KafkaApi } from './kafka-api.js';

export interface KafkaServerOptions {
  readonly apis: ReadonlyMap<number, KafkaApi>;
  readonly settings: KafkaSettings;
  readonly saslRequired: boolean;
  /**
   * The principal a TLS client's certificate gives (used when SASL is not required), or a reason
   * to refuse the client; undefined for a plain or certificate-less connection.
   */
  readonly certificatePrincipal?: (socket: Socket) => { name: string } | { refused: string } | undefined;
  readonly log: (line: string) => void;
}

export class KafkaServer {
  private readonly server: Server;
  readonly connections = new Set<KafkaConnection>();

  constructor(options: KafkaServerOptions) {
    const context = {
      ...options,
      onClosed: (connection: KafkaConnection) => this.connections.delete(connection),
    };
    this.context = context;
    this.server = createServer((socket) => this.accept(socket));
  }

  private readonly context: KafkaConnectionContext;

  /** Serves a connected socket: one the plain listener accepted, or a TLS socket after its handshake. */
  accept(socket: Socket): void {
    const { settings, log } = this.context;
    if (this.connections.size >= settings.maxConnections) {
      log(
        `kafka: refusing a connection from ${socket.remoteAddress}: ${this.connections.size} connections open (--kafka-max-connections)`,
      );
      socket.destroy();
      return;
    }
    this.connections.add(new KafkaConnection(socket, this.context));
  }

  /** Binds; resolves with the bound address, rejects with the listen error (e.g. EADDRINUSE). */
  listen(host: string, port: number): Promise<{ host: string; port: number }> {
    return listen(this.server, host, port, 'Kafka');
  }

  /** Stops accepting and closes every connection (Kafka has no goodbye message). */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const connection of [...this.connections]) connection.close('broker shutdown');
    await closed;
  }
}
