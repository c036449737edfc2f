/**
 * The management API's HTTP listener (node:http): reads a bounded body (413 beyond it), parses
 * JSON (400 when malformed), authenticates, checks the route's access level, runs the handler and
 * replies `application/json` (the Prometheus exposition, a RawReply, excepted). Paths outside /api
 * and /metrics are the web UI's static files (static-files.ts), served without authentication.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { byteLength, writePieces } from '../util/write-pieces.js';
import { authenticate, requireLevel } from './auth.js';
import type { ManagementContext } from './context.js';
import { badRequest, HttpError, toHttpError } from './errors.js';
import { JsonArrayStream } from './list-stream.js';
import { type ApiRequest, RawReply } from './request.js';
import type { Router } from './router.js';
import { isApiPath, StaticFiles } from './static-files.js';

export class ManagementServer {
  private readonly server: Server;

  constructor(
    private readonly router: Router,
    private readonly ctx: ManagementContext,
    private readonly ui: StaticFiles = new StaticFiles(),
  ) {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error) => this.sendError(res, toHttpError(error)));
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
    if (reply instanceof JsonArrayStream) {
      await this.stream(req, res, reply);
      return;
    }
    if (reply instanceof RawReply) {
      const pieces = Buffer.isBuffer(reply.bytes) ? [reply.bytes] : reply.bytes;
      res.writeHead(200, {
        'Content-Type': reply.contentType,
        'Cache-Control': 'no-cache',
        'Content-Length': byteLength(pieces),
      });
      if (method === 'HEAD') res.end();
      else writePieces(res, pieces);
      return;
    }
    if (
      reply !== null &&
      typeof reply === 'object' &&
      'status' in reply &&
      typeof reply.status === 'number'
    ) {
      const { status, body: replyBody } = reply as { status: number; body?: unknown };
      this.send(res, status, replyBody);
    } else {
      this.send(res, 200, reply);
    }
  }

  /** A long list as a chunked JSON array, a write per slice of rows (list-stream.ts). */
  private async stream(req: IncomingMessage, res: ServerResponse, reply: JsonArrayStream): Promise<void> {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache' });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    await reply.writeTo(
      (bytes) => {
        res.write(bytes);
      },
      () => res.destroyed || res.writableEnded,
    );
    if (!res.destroyed) res.end();
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

  private send(res: ServerResponse, status: number, body: unknown): void {
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, {
      'Content-Type': 'application/json',
      'Cache-Control': 'no-cache',
      'Content-Length': Buffer.byteLength(text),
    });
    res.end(text);
  }

  private sendError(res: ServerResponse, error: HttpError): void {
    if (error.status >= 500) this.ctx.log(`management: ${error.reason}`);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (error.status === 413) res.setHeader('Connection', 'close');
    this.send(res, error.status, { error: error.error, reason: error.reason });
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
