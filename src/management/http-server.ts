/**
 * The management API's HTTP listener (node:http): reads a bounded body (413 beyond it), parses
 * JSON (400 when malformed), authenticates, checks the route's access level, runs the handler and
 * replies `application/json` (the Prometheus exposition, a RawReply, excepted). Paths outside /api
 * and /metrics are the web UI's static files (static-files.ts), served without authentication.
 * Bodies are written with backpressure and gzip'd as RabbitMQ's cowboy does (util/http-body.ts):
 * when Accept-Encoding names gzip and the body is at least GZIP_MIN_BYTES, with
 * `Vary: accept-encoding` on every API answer.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { acceptsGzip, BodyWriter, sendPieces } from '../util/http-body.js';
import { byteLength } from '../util/write-pieces.js';
import { authenticate, requireLevel } from './auth.js';
import type { ManagementContext } from './context.js';
import { badRequest, HttpError, toHttpError } from './errors.js';
import { JsonArrayStream, JsonObjectStream } from './list-stream.js';
import { type ApiRequest, RawReply } from './request.js';
import type { Router } from './router.js';
import { isApiPath, StaticFiles } from './static-files.js';

/**
 * Bodies shorter than this are sent plain even to a client asking for gzip: cowboy's
 * cowboy_compress_h threshold, which RabbitMQ 3.10's management API uses (an answer of 299 bytes
 * is plain, one of 300 gzip'd).
 */
export const GZIP_MIN_BYTES = 300;

/** RabbitMQ's answers vary on these request headers (cowboy_rest and cowboy_compress_h add them). */
const VARY = 'accept, accept-encoding, origin';

export class ManagementServer {
  private readonly server: Server;

  constructor(
    private readonly router: Router,
    private readonly ctx: ManagementContext,
    private readonly ui: StaticFiles = new StaticFiles(),
  ) {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error) => this.sendError(req, res, toHttpError(error)));
    });
  }

  listen(host: string, port: number): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const address = this.server.address() as AddressInfo;
        resolve({ host, port: address.port });
      });
    });
  }

  /** Serves a TLS socket after its handshake (the HTTPS listener). */
  accept(socket: Socket): void {
    this.server.emit('connection', socket);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      // Connections from the HTTPS listener may be open while the plain one never listened.
      this.server.closeAllConnections();
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://pier');
    const rawPath = (req.url ?? '/').split('?')[0]!;
    const method = req.method ?? 'GET';
    if (!isApiPath(rawPath)) {
      this.serveFile(req, res, rawPath, method);
      return;
    }
    const match = this.router.match(method, rawPath);
    const user = authenticate(this.ctx.core, req.headers.authorization, req.socket.remoteAddress);
    requireLevel(user, match.route.access);
    const raw = await readBody(req, this.ctx.maxBodyBytes);
    let body: unknown;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        throw badRequest('Malformed JSON: the request body is not valid JSON');
      }
    }
    const apiRequest: ApiRequest = {
      method,
      params: match.params,
      query: url.searchParams,
      headers: req.headers,
      body,
      user,
    };
    const reply = await match.route.handler(apiRequest, this.ctx);
    if (reply instanceof JsonArrayStream || reply instanceof JsonObjectStream) {
      await this.stream(req, res, reply);
      return;
    }
    if (reply instanceof RawReply) {
      const pieces = Buffer.isBuffer(reply.bytes) ? [reply.bytes] : reply.bytes;
      await this.sendBytes(req, res, 200, reply.contentType, pieces);
      return;
    }
    if (
      reply !== null &&
      typeof reply === 'object' &&
      'status' in reply &&
      typeof reply.status === 'number'
    ) {
      const { status, body: replyBody } = reply as { status: number; body?: unknown };
      await this.send(req, res, status, replyBody);
    } else {
      await this.send(req, res, 200, reply);
    }
  }

  /**
   * A long list as a chunked JSON array (or an object holding long lists), a write per slice of
   * rows (list-stream.ts), each written once the client has taken the previous ones; a reply of
   * one slice is sent whole (Content-Length).
   */
  private async stream(
    req: IncomingMessage,
    res: ServerResponse,
    reply: JsonArrayStream | JsonObjectStream,
  ): Promise<void> {
    if (reply.isSmall) {
      await this.sendBytes(req, res, 200, 'application/json', [reply.whole()]);
      return;
    }
    const compress = req.method !== 'HEAD' && acceptsGzip(req.headers['accept-encoding']);
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Cache-Control': 'no-cache',
      Vary: VARY,
      ...(compress ? { 'Content-Encoding': 'gzip' } : {}),
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const body = new BodyWriter(res, compress);
    await reply.writeTo((bytes) => body.write(bytes));
    body.end();
  }

  /** A whole body: gzip'd when asked for and at least GZIP_MIN_BYTES, else plain with Content-Length. */
  private async sendBytes(
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    contentType: string,
    pieces: readonly Buffer[],
  ): Promise<void> {
    const sizeBytes = byteLength(pieces);
    const head = req.method === 'HEAD';
    const compress = !head && sizeBytes >= GZIP_MIN_BYTES && acceptsGzip(req.headers['accept-encoding']);
    res.writeHead(status, {
      'Content-Type': contentType,
      'Cache-Control': 'no-cache',
      Vary: VARY,
      ...(compress ? { 'Content-Encoding': 'gzip' } : { 'Content-Length': sizeBytes }),
    });
    await sendPieces(res, pieces, { compress, head });
  }

  private serveFile(req: IncomingMessage, res: ServerResponse, rawPath: string, method: string): void {
    if (method !== 'GET' && method !== 'HEAD') {
      req.resume();
      throw new HttpError(405, 'method_not_allowed', 'Method Not Allowed');
    }
    req.resume();
    const file = this.ui.lookup(rawPath);
    res.writeHead(200, file.headers);
    res.end(method === 'HEAD' ? undefined : file.bytes);
  }

  private send(req: IncomingMessage, res: ServerResponse, status: number, body: unknown): Promise<void> {
    const text = body === undefined ? '' : JSON.stringify(body);
    return this.sendBytes(req, res, status, 'application/json', [Buffer.from(text, 'utf8')]);
  }

  private sendError(req: IncomingMessage, res: ServerResponse, error: HttpError): void {
    if (error.status >= 500) this.ctx.log(`management: ${error.reason}`);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (error.status === 413) res.setHeader('Connection', 'close');
    this.send(req, res, error.status, { error: error.error, reason: error.reason }).catch(() =>
      res.destroy(),
    );
  }
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) {
    req.resume();
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function tooLarge(limit: number): HttpError {
  return new HttpError(413, 'payload_too_large', `the request body is larger than ${limit} bytes`);
}
