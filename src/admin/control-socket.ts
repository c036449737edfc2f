/**
 * The control socket: `<data-dir>/pier.sock`, a Unix socket through which `pier user|vhost|
 * permissions|policy` change a running broker. Requests and responses are newline-delimited JSON
 * (one request per line, answered in order). Only the OS user running the broker can connect: the
 * socket is mode 0600 and is bound inside a private (0700) directory before being renamed into
 * place, so no other user can slip in before the mode is set.
 */
import { chmodSync, mkdtempSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';

export const CONTROL_SOCKET_FILE = 'pier.sock';
/** A request line longer than this is refused and the connection closed. */
export const MAX_REQUEST_BYTES = 1024 * 1024;
/** Linux sun_path holds 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH_BYTES = 107;

export function controlSocketPath(dataDir: string): string {
  return join(dataDir, CONTROL_SOCKET_FILE);
}

export type ControlHandler = (request: unknown) => unknown;

export class ControlSocket {
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly path: string,
    private readonly handler: ControlHandler,
  ) {
    server.on('connection', (socket) => this.serve(socket));
  }

  /**
   * Listens on `<dataDir>/pier.sock`, replacing a stale file a killed broker left (the caller holds
   * the data directory's lock, so no live broker owns it). Resolves undefined, after logging why,
   * when the socket cannot be created: the broker runs on without it.
   */
  static async start(
    dataDir: string,
    handler: ControlHandler,
    log: (line: string) => void,
  ): Promise<ControlSocket | undefined> {
    const path = controlSocketPath(dataDir);
    let privateDir: string | undefined;
    let server: Server | undefined;
    try {
      privateDir = mkdtempSync(join(dataDir, '.sock-'));
      const bindPath = join(privateDir, 's');
      if (
        Buffer.byteLength(bindPath) > MAX_SOCKET_PATH_BYTES ||
        Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES
      ) {
        throw new Error(
          `the path is longer than the ${MAX_SOCKET_PATH_BYTES} bytes a Unix socket allows; use a shorter --data-dir`,
        );
      }
      const listening = createServer();
      server = listening;
      await new Promise<void>((resolve, reject) => {
        listening.once('error', reject);
        listening.listen(bindPath, () => {
          listening.off('error', reject);
          resolve();
        });
      });
      chmodSync(bindPath, 0o600);
      renameSync(bindPath, path);
      return new ControlSocket(listening, path, handler);
    } catch (error) {
      server?.close();
      log(
        `control socket ${path} unavailable (${(error as Error).message}); 'pier user|vhost|permissions|policy' cannot reach this broker`,
      );
      return undefined;
    } finally {
      if (privateDir) rmSync(privateDir, { recursive: true, force: true });
    }
  }

  private serve(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => {});
    let pending = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      pending += chunk;
      let newline = pending.indexOf('\n');
      while (newline >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        if (line.trim() !== '') socket.write(`${JSON.stringify(this.answer(line))}\n`);
        newline = pending.indexOf('\n');
      }
      if (Buffer.byteLength(pending) > MAX_REQUEST_BYTES) {
        socket.end(
          `${JSON.stringify({ ok: false, error: `request longer than ${MAX_REQUEST_BYTES} bytes` })}\n`,
        );
      }
    });
  }

  private answer(line: string): unknown {
    let request: unknown;
    try {
      request = JSON.parse(line);
    } catch {
      return { ok: false, error: 'request is not valid JSON', kind: 'bad-request' };
    }
    return this.handler(request);
  }

  /** Stops accepting, drops open admin connections and removes the socket file. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
    try {
      unlinkSync(this.path);
    } catch {
      // already gone
    }
  }
}
