/**
 * Writes an HTTP answer's body with backpressure and, where the client asked for it, gzip.
 *
 * A list of 10,000 queues is ~9 MB; written at once to a client that reads slowly, it would sit in
 * the socket's user-space buffer until sent. Here each write hands the socket at most
 * bodyPacing.pieceBytes (a subarray, not a copy; small pieces corked together into one writev)
 * and, once more than bodyPacing.queuedLimitBytes wait, the next write waits for `drain`, so a
 * response holds about 5 MB at most beyond the kernel's buffers however slowly its client reads;
 * a client that goes away ends the writing at the next piece.
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

/**
 * How bodies are paced. `pieceBytes`: bytes handed to the socket (or to gzip) in one write at most.
 * `queuedLimitBytes`: bytes a response may have queued in user space before the next write waits
 * for `drain` (which comes once they are all sent): with a piece written on top, a slow client
 * costs at most queuedLimitBytes + pieceBytes (~5 MB). Waiting on every write above the socket's
 * 16 KiB high-water mark instead costs a turn of the event loop per piece even for a fast client.
 *
 * Measured (10,000-queue list, 9.4 MB, 50,000 msg/s carried on 2 cores): 128 KiB pieces and a
 * 256 KiB limit cost the broker 19–20 ms per list against 15 ms unpaced; 512 KiB and 1 MiB, 16 ms
 * and a p99 of 70–104 ms; 1 MiB and 4 MiB, 9–12 ms and a p99 of 46–56 ms (each write of the
 * list's tail waits on the event loop, which the message load keeps busy). Mutable for tests,
 * which shrink it to see the pacing with answers that fit in the kernel's buffers.
 */
export const bodyPacing = { pieceBytes: 1024 * 1024, queuedLimitBytes: 4 * 1024 * 1024 };

/**
 * Test and diagnostics hook: `wait` each time a body waits for `drain` (with the bytes queued in
 * user space for that response), `end` when a body is done (`complete`, or `aborted` when the
 * client went away first). Publishing costs nothing while nobody subscribes.
 */
export const bodyChannel = channel('pier:http-body');

export interface BodyEvent {
  readonly kind: 'wait' | 'end';
  readonly response: ServerResponse;
  /** Bytes queued in user space for this response: the response's and its socket's (and gzip's). */
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
        chunkSize: bodyPacing.pieceBytes,
        highWaterMark: bodyPacing.pieceBytes,
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

  /** Writes the bytes, waiting for `drain` when too much is queued; false once the client has gone. */
  async write(bytes: Buffer): Promise<boolean> {
    for (let at = 0; at < bytes.length; at += bodyPacing.pieceBytes) {
      if (this.aborted) return false;
      const piece =
        at === 0 && bytes.length <= bodyPacing.pieceBytes
          ? bytes
          : bytes.subarray(at, at + bodyPacing.pieceBytes);
      this.writtenBytes += piece.length;
      this.sink.write(piece);
      await this.paced();
    }
    return !this.aborted;
  }

  /**
   * Writes every piece in order: small ones corked together (one writev per bodyPacing.pieceBytes,
   * not a syscall each; a scrape is hundreds of pieces), large ones through write.
   */
  async writeAll(pieces: readonly Buffer[]): Promise<boolean> {
    let corkedBytes = 0;
    for (const piece of pieces) {
      if (piece.length === 0) continue;
      if (this.aborted) break;
      if (piece.length >= bodyPacing.pieceBytes) {
        if (corkedBytes > 0) this.sink.uncork();
        corkedBytes = 0;
        if (!(await this.write(piece))) return false;
        continue;
      }
      if (corkedBytes === 0) this.sink.cork();
      this.sink.write(piece);
      this.writtenBytes += piece.length;
      corkedBytes += piece.length;
      if (corkedBytes >= bodyPacing.pieceBytes) {
        this.sink.uncork();
        corkedBytes = 0;
        await this.paced();
      }
    }
    if (corkedBytes > 0) this.sink.uncork();
    return !this.aborted;
  }

  /** Waits for `drain` when more than bodyPacing.queuedLimitBytes are queued (drain then comes once all is sent). */
  private async paced(): Promise<void> {
    if (this.sink.writableNeedDrain && this.sink.writableLength > bodyPacing.queuedLimitBytes)
      await this.drained();
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
      // A response's writableLength includes its socket's.
      queuedBytes:
        this.response.writableLength + (this.gzip ? this.gzip.writableLength + this.gzip.readableLength : 0),
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
  if (!options.compress && sizeBytes <= bodyPacing.pieceBytes) {
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
