/**
 * The SQS listener: node:http with keep-alive, handing each request to the pipeline. With
 * `httpThread`, the plain listener's HTTP work runs on a worker thread (http-thread-host.ts) and only
 * the decisions on this one; TLS connections are served on this thread either way.
 */
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { listen } from '../../util/listen.js';
import { limitSqsConnections } from './http-exchange.js';
import { type SqsPipelineOptions, sqsDispatcher, sqsRequestHandler } from './http-pipeline.js';
import { SqsHttpThread } from './http-thread-host.js';

/**
 * Idle keep-alive connections are kept this long. Longer than the SDKs' own idle limits would be
 * pointless, shorter makes a client that reuses a connection just as we close it see ECONNRESET.
 */
const KEEP_ALIVE_TIMEOUT_MS = 60_000;
/** A client must send its request headers within this time. */
const HEADERS_TIMEOUT_MS = 30_000;
/** A whole request, including a 20 s long poll's wait and a slow 1 MiB upload. */
const REQUEST_TIMEOUT_MS = 120_000;

export class SqsServer {
  private readonly server: Server;
  private thread: SqsHttpThread | undefined;
  private readonly startThread: (() => SqsHttpThread) | undefined;
  /** host:port queue URLs name when a request has no Host header; set once bound. */
  private authority = '127.0.0.1:9324';
  /** The same for requests over the TLS listener; set once it is bound. */
  private tlsAuthority = '127.0.0.1:9325';

  constructor(
    options: Omit<SqsPipelineOptions, 'defaultAuthority'> & {
      advertisedAuthority?: string;
      /** Connections beyond this are closed as they arrive; undefined = unlimited. */
      maxConnections?: number | undefined;
      /** Serve the plain listener's HTTP on a worker thread (--sqs-http-thread). */
      httpThread?: boolean;
    },
  ) {
    const pipeline: SqsPipelineOptions = {
      ...options,
      defaultAuthority: (secure) =>
        options.advertisedAuthority ?? (secure ? this.tlsAuthority : this.authority),
    };
    const handler = sqsRequestHandler(pipeline);
    const maxConnections = options.maxConnections;
    const limited = maxConnections !== undefined && Number.isFinite(maxConnections);
    if (options.httpThread) {
      this.startThread = () =>
        new SqsHttpThread(
          {
            maxRequestBytes: options.maxRequestBytes,
            maxConnections: limited ? maxConnections : undefined,
            keepAliveTimeoutMs: KEEP_ALIVE_TIMEOUT_MS,
            headersTimeoutMs: HEADERS_TIMEOUT_MS,
            requestTimeoutMs: REQUEST_TIMEOUT_MS,
          },
          sqsDispatcher(pipeline),
          options.log,
        );
    }
    this.server = createServer(
      {
        keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
        headersTimeout: HEADERS_TIMEOUT_MS,
        requestTimeout: REQUEST_TIMEOUT_MS,
      },
      handler,
    );
    this.server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    if (limited) limitSqsConnections(this.server, maxConnections, options.log);
  }

  /** Binds; resolves with the bound address, rejects with the listen error (e.g. EADDRINUSE). */
  async listen(host: string, port: number): Promise<{ host: string; port: number }> {
    if (this.startThread) this.thread ??= this.startThread();
    const thread = this.thread;
    const bound = thread
      ? await thread.listen(host, port).catch(async (error: unknown) => {
          this.thread = undefined;
          await thread.close();
          throw error;
        })
      : await listen(this.server, host, port, 'SQS');
    this.authority = `${bound.host.includes(':') ? `[${bound.host}]` : bound.host}:${bound.port}`;
    return bound;
  }

  /** Serves a TLS socket after its handshake, on the TLS listener bound at `bound`. */
  accept(socket: Socket): void {
    this.server.emit('connection', socket);
  }

  /** Where the TLS listener is bound: queue URLs for requests without a Host header. */
  tlsBound(bound: { host: string; port: number }): void {
    this.tlsAuthority = `${bound.host.includes(':') ? `[${bound.host}]` : bound.host}:${bound.port}`;
  }

  /** Stops accepting and closes every connection (long polls were answered by the registry). */
  async close(): Promise<void> {
    const threadClosed = this.thread?.close();
    const closed = new Promise<void>((resolve) => {
      if (this.server.listening) this.server.close(() => resolve());
      else resolve();
    });
    // Let answers written this turn (long polls ended by the registry's close) reach the sockets.
    await new Promise((resolve) => setImmediate(resolve));
    this.server.closeIdleConnections();
    this.server.closeAllConnections();
    await closed;
    await threadClosed;
  }
}
