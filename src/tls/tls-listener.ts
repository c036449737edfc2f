/**
 * One TLS listener: a node:tls server that hands each socket, once its handshake is done, to the
 * protocol's own connection handling (the same one the plain listener feeds). Certificates are
 * swapped with setSecureContext, which leaves open connections as they are.
 */
import {
  createServer,
  type SecureContext,
  type SecureContextOptions,
  type Server,
  type TLSSocket,
} from 'node:tls';
import { listen } from '../util/listen.js';
import type { ClientCertPolicy } from './options.js';

/** A failed handshake is logged as one line, but at most this many lines per period per listener (scanners). */
const HANDSHAKE_FAILURE_LOG_PERIOD_MS = 10_000;
const HANDSHAKE_FAILURE_LINES_PER_PERIOD = 10;

export interface TlsListenerOptions {
  /** For log lines: `amqps`, `kafka-tls`, `sqs-tls`, `https`. */
  readonly name: string;
  /** Certificate, key, CA, protocol floor and ciphers. */
  readonly context: SecureContextOptions;
  readonly clientCert: ClientCertPolicy;
  readonly handshakeTimeoutMs: number;
  /** The context for a server name (SNI); undefined: the default one. */
  readonly sniContext?: ((serverName: string) => SecureContext | undefined) | undefined;
  readonly accept: (socket: TLSSocket) => void;
  readonly log: (line: string) => void;
}

export class TlsListener {
  private readonly server: Server;
  private periodStartMs = 0;
  private linesThisPeriod = 0;
  private unloggedFailures = 0;

  constructor(private readonly options: TlsListenerOptions) {
    const sniContext = options.sniContext;
    this.server = createServer({
      ...options.context,
      requestCert: options.clientCert !== 'none',
      rejectUnauthorized: options.clientCert === 'required',
      handshakeTimeout: options.handshakeTimeoutMs,
      ...(sniContext
        ? {
            SNICallback: (name: string, done: (error: Error | null, context?: SecureContext) => void) =>
              done(null, sniContext(name)),
          }
        : {}),
    });
    this.server.on('secureConnection', (socket) => this.onSecured(socket));
    // The peer's address, kept from the TCP connection: a failed TLS socket may no longer know it.
    const peers = new WeakMap<object, string>();
    this.server.on('connection', (raw) => peers.set(raw, `${raw.remoteAddress}:${raw.remotePort}`));
    this.server.on('tlsClientError', (error, socket) => {
      const raw = (socket as unknown as { _parent?: object })._parent;
      const peer = socket.remoteAddress ?? (raw ? peers.get(raw) : undefined) ?? 'an unknown address';
      this.logFailure(`${peer}: ${error.message}`);
      socket.destroy();
    });
  }

  listen(host: string, port: number): Promise<{ host: string; port: number }> {
    return listen(this.server, host, port, this.options.name);
  }

  /** Future handshakes use `context`; open connections keep theirs. */
  setSecureContext(context: SecureContextOptions): void {
    this.server.setSecureContext(context);
  }

  /** Stops accepting; resolves once every connection it accepted has closed. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
    });
  }

  private onSecured(socket: TLSSocket): void {
    // Belt and braces with SSL_OP_NO_RENEGOTIATION: a renegotiation that starts anyway ends the connection.
    socket.disableRenegotiation();
    // "optional" asks for a certificate; one that is presented must still verify (RabbitMQ's
    // verify_peer without fail_if_no_peer_cert, Kafka's ssl.client.auth=requested).
    if (this.options.clientCert === 'optional' && !socket.authorized) {
      const peer = socket.getPeerCertificate();
      if (peer && Object.keys(peer).length > 0) {
        this.logFailure(
          `${socket.remoteAddress ?? 'unknown'}: client certificate refused: ${String(socket.authorizationError)}`,
        );
        socket.destroy();
        return;
      }
    }
    this.options.accept(socket);
  }

  private logFailure(what: string): void {
    const now = Date.now();
    if (now - this.periodStartMs >= HANDSHAKE_FAILURE_LOG_PERIOD_MS) {
      this.periodStartMs = now;
      this.linesThisPeriod = 0;
    }
    if (this.linesThisPeriod >= HANDSHAKE_FAILURE_LINES_PER_PERIOD) {
      this.unloggedFailures++;
      return;
    }
    this.linesThisPeriod++;
    const more = this.unloggedFailures > 0 ? ` (and ${this.unloggedFailures} not logged before)` : '';
    this.unloggedFailures = 0;
    this.options.log(`${this.options.name}: TLS handshake failed from ${what}${more}`);
  }
}
