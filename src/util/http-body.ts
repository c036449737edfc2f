/**
 * Writes an HTTP answer's body with backpressure and, where the client asked for it, gzip.
 *
 * A list of 10,000 queues is ~9 MB; written at once to a client that reads slowly, it would sit in
 * the socket's user-space buffer until sent. Here each write hands the socket at most
 * WRITE_PIECE_BYTES (a subarray, not a copy) and the next waits for `drain`, so a response holds
 * at most about that much beyond the kernel's buffers however slowly its client reads; a client
 * that goes away ends the writing at the next piece.
 *
 * gzip runs in node:zlib's stream (on libuv's thread pool, never on the event loop) at the fastest
 * level: the answers are JSON and Prometheus text that shrink ~10x even so, and the broker's CPU
 * is for messages.
 */
import { channel } from 'node:diagnostics_channel';
import type { ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream';
import { constants, createGzip, type Gzip, type ZlibOptions } from 'node:zlib';

/** Bytes handed to the socket (or to gzip) in one write: the most a slow client keeps queued. */
export const WRITE_PIECE_BYTES = 64 * 1024;

/**
 * Test and diagnostics hook: `wait` each time a body waits for `drain` (with the bytes queued in
 * user space for that response), `end` when a body is done (`complete`, or `aborted` when the
 * client went away first). Publishing costs nothing while nobody subscribes.
 */
export const bodyChannel = channel('pier:http-body');

export interface BodyEvent {
  readonly kind: 'wait' | 'end';
  readonly response: ServerResponse;
  /** Bytes queued in user space for this response: the response's own plus its socket's. */
  readonly queuedBytes: number;
  /** Body bytes handed over so far (before compression). */
  readonly writtenBytes: number;
  readonly outcome?: 'complete' | 'aborted';
}

/**
 * Whether an Accept-Encoding header asks for gzip: the `gzip` token (any case) with a q-value
 * above 0, as cowboy (RabbitMQ's HTTP server) and the Prometheus client library read it; `*` does
 * not count (neither of them takes it as gzip).
 */
export function acceptsGzip(header: string | string[] | undefined): boolean {
  if (header === undefined) return false;
  const text = Array.isArray(header) ? header.join(',') : header;
  for (const part of text.split(',')) {
    const [token, ...params] = part.split(';');
    if (token!.trim().toLowerCase() !== 'gzip') continue;
    const q = params.map((p) => p.trim().toLowerCase()).find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  }
  return false;
}

/** The body of one response, written piece by piece; headers are the caller's (before the first write). */
export class BodyWriter {
  private readonly sink: Writable;
  private readonly gzip: Gzip | undefined;
  private clientGone = false;
  private writtenBytes = 0;

  constructor(
    private readonly response: ServerResponse,
    compress: boolean,
  ) {
    response.on('close', () => {
      if (!response.writableFinished) this.clientGone = true;
    });
    if (compress) {
      // zlib passes the options on to its Transform (highWaterMark included), though its types omit it.
      const options: ZlibOptions & { highWaterMark: number } = {
        level: constants.Z_BEST_SPEED,
        chunkSize: WRITE_PIECE_BYTES,
        highWaterMark: WRITE_PIECE_BYTES,
      };
      this.gzip = createGzip(options);
      // pipeline ends the response after gzip's last bytes and destroys gzip (its zlib handle
      // freed) when the response closes first; that early close is the client's doing, not an error.
      pipeline(this.gzip, response, () => {});
      this.sink = this.gzip;
    } else {
      this.sink = response;
    }
  }

  /** The client went away: nothing more will be sent. */
  get aborted(): boolean {
    return this.clientGone || this.response.destroyed || (this.gzip?.destroyed ?? false);
  }

  /** Writes the bytes, waiting for `drain` between pieces; false once the client has gone. */
  async write(bytes: Buffer): Promise<boolean> {
    for (let at = 0; at < bytes.length; at += WRITE_PIECE_BYTES) {
      if (this.aborted) return false;
      const piece =
        at === 0 && bytes.length <= WRITE_PIECE_BYTES ? bytes : bytes.subarray(at, at + WRITE_PIECE_BYTES);
      this.writtenBytes += piece.length;
      if (!this.sink.write(piece)) await this.drained();
    }
    return !this.aborted;
  }

  /** Writes every piece in order (see write). */
  async writeAll(pieces: readonly Buffer[]): Promise<boolean> {
    for (const piece of pieces) if (piece.length > 0 && !(await this.write(piece))) return false;
    return !this.aborted;
  }

  /** Ends the body (after gzip's trailer when compressing); a body whose client left is only reported. */
  end(): void {
    const aborted = this.aborted;
    if (!aborted) this.sink.end();
    else this.gzip?.destroy();
    this.publish('end', aborted ? 'aborted' : 'complete');
  }

  private drained(): Promise<void> {
    this.publish('wait');
    return new Promise((resolve) => {
      const done = () => {
        this.sink.off('drain', done);
        this.sink.off('close', done);
        this.response.off('close', done);
        resolve();
      };
      this.sink.on('drain', done);
      this.sink.on('close', done);
      this.response.on('close', done);
    });
  }

  private publish(kind: BodyEvent['kind'], outcome?: BodyEvent['outcome']): void {
    if (!bodyChannel.hasSubscribers) return;
    const event: BodyEvent = {
      kind,
      response: this.response,
      queuedBytes:
        this.response.writableLength +
        (this.response.socket?.writableLength ?? 0) +
        (this.gzip ? this.gzip.writableLength + this.gzip.readableLength : 0),
      writtenBytes: this.writtenBytes,
      ...(outcome ? { outcome } : {}),
    };
    bodyChannel.publish(event);
  }
}

/**
 * Sends a body already rendered (as pieces, never joined) after the caller's writeHead: small plain
 * bodies in one corked write, anything larger or compressed through a BodyWriter. The headers must
 * say Content-Length when plain and Content-Encoding: gzip when `compress`.
 */
export async function sendPieces(
  response: ServerResponse,
  pieces: readonly Buffer[],
  options: { readonly compress: boolean; readonly head: boolean },
): Promise<void> {
  if (options.head) {
    response.end();
    return;
  }
  let sizeBytes = 0;
  for (const piece of pieces) sizeBytes += piece.length;
  if (!options.compress && sizeBytes <= WRITE_PIECE_BYTES) {
    response.cork();
    for (const piece of pieces) if (piece.length > 0) response.write(piece);
    response.end();
    response.uncork();
    return;
  }
  const body = new BodyWriter(response, options.compress);
  await body.writeAll(pieces);
  body.end();
}
