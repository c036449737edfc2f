/** The Kafka listener: accepts sockets and keeps track of their connections. */
import { createServer, type Server } from 'node:net';
import { listen } from '../../util/listen.js';
import type { KafkaSettings } from './cluster.js';
import { KafkaConnection } from './connection.js';
import type { KafkaApi } from './kafka-api.js';

export interface KafkaServerOptions {
  readonly apis: ReadonlyMap<number, KafkaApi>;
  readonly settings: KafkaSettings;
  readonly saslRequired: boolean;
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
    this.server = createServer((socket) => {
      if (this.connections.size >= options.settings.maxConnections) {
        options.log(
          `kafka: refusing a connection from ${socket.remoteAddress}: ${this.connections.size} connections open (--kafka-max-connections)`,
        );
        socket.destroy();
        return;
      }
      this.connections.add(new KafkaConnection(socket, context));
    });
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
