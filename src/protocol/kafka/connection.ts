/**
 * One Kafka client connection: frames requests (int32 size + bytes), decodes them, runs the API
 * handler and writes the answers in request order, as Kafka guarantees. Handlers start in arrival
 * order, so what they do synchronously (appends) keeps the client's order; answers that wait (disk,
 * long polls, rebalances) are held until every earlier answer has been written.
 *
 * Where Kafka closes the connection instead of answering, so does this: a size beyond the request
 * limit, an unknown API key, an unsupported version (except ApiVersions, which answers
 * UNSUPPORTED_VERSION with a v0 body), malformed bytes, and requests before SASL completes.
 */
import type { Socket } from 'node:net';
import { apiVersionsFallback } from './apis/api-versions.js';
import { SASL_API_KEYS, type SaslSessionState } from './apis/sasl.js';
import type { KafkaSettings } from './cluster.js';
import {
  API_VERSIONS_KEY,
  decodeRequest,
  encodeResponseChunks,
  KafkaCodecError,
  type KafkaRequest,
  KafkaUnsupportedError,
} from './codec/index.js';
import {
  afterWriteOf,
  type KafkaAnswer,
  type KafkaApi,
  type KafkaSession,
  NO_RESPONSE,
} from './kafka-api.js';

/** Requests read ahead of their answers before the connection stops reading (backpressure). */
const MAX_PENDING_ANSWERS = 256;
/** Bytes queued in the socket before the connection stops reading. */
const MAX_QUEUED_WRITE_BYTES = 8 * 1024 * 1024;
/** Requests from this size whose API releases their bytes are assembled in reused memory. */
const REUSE_MIN_BYTES = 64 * 1024;
/** Larger ones take fresh memory, so an idle connection does not hold a huge buffer. */
const REUSE_MAX_BYTES = 16 * 1024 * 1024;

export interface KafkaConnectionContext {
  readonly apis: ReadonlyMap<number, KafkaApi>;
  readonly settings: KafkaSettings;
  /** Whether clients must authenticate with SASL before any other request. */
  readonly saslRequired: boolean;
  /** A TLS client certificate's principal (SSL without SASL), or a reason to refuse the client. */
  readonly certificatePrincipal?:
    | ((socket: Socket) => { name: string } | { refused: string } | undefined)
    | undefined;
  readonly log: (line: string) => void;
  onClosed(connection: KafkaConnection): void;
}

interface PendingAnswer {
  chunks: Buffer[] | undefined;
  settled: boolean;
  /** The answer's AFTER_WRITE: called once its bytes are written, or the connection closed first. */
  afterWrite?: (() => void) | undefined;
}

let nextConnectionId = 1;

export class KafkaConnection implements KafkaSession {
  readonly id = nextConnectionId++;
  readonly remoteAddress: string;
  private readonly chunks: Buffer[] = [];
  private bufferedBytes = 0;
  private readonly pending: PendingAnswer[] = [];
  private readonly closeListeners: Array<() => void> = [];
  private readingPaused = false;
  /** Where large requests of APIs that release their bytes are assembled, reused from one to the next. */
  private requestBuffer: Buffer | undefined;
  private isClosed = false;
  /** SASL progress; apis/sasl.ts drives it. */
  readonly sasl: SaslSessionState;
  /** The principal of a verified TLS client certificate, on a listener without SASL (Kafka's SSL). */
  private readonly certificatePrincipal: string | undefined;

  constructor(
    readonly socket: Socket,
    private readonly context: KafkaConnectionContext,
  ) {
    this.remoteAddress = socket.remoteAddress ?? '';
    this.sasl = { authenticator: undefined, rawTokens: false, principal: undefined };
    // With SASL (SASL_SSL) the SASL login is the principal, as in Kafka; without it (SSL) the certificate.
    const fromCertificate = context.saslRequired ? undefined : context.certificatePrincipal?.(socket);
    this.certificatePrincipal =
      fromCertificate && 'name' in fromCertificate ? fromCertificate.name : undefined;
    socket.setNoDelay(true);
    if (context.settings.idleTimeoutMs > 0) {
      // Only when nothing is pending: a long poll or a rebalance in progress is not idleness.
      socket.setTimeout(context.settings.idleTimeoutMs, () => {
        if (this.pending.length === 0)
          this.close(`idle for ${context.settings.idleTimeoutMs} ms (--kafka-idle-timeout-ms)`);
      });
    }
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.maybeResume());
    socket.on('error', () => {});
    socket.on('close', () => this.onSocketClosed());
    if (fromCertificate && 'refused' in fromCertificate) {
      const reason = `client certificate refused: ${fromCertificate.refused}`;
      queueMicrotask(() => this.close(reason));
    } else if (this.certificatePrincipal !== undefined) {
      context.log(
        `kafka: connection ${this.id} from ${this.remoteAddress} is User:${this.certificatePrincipal} (TLS client certificate)`,
      );
    }
  }

  get principal(): string | undefined {
    return this.sasl.principal ?? this.certificatePrincipal;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  onClose(listener: () => void): void {
    if (this.isClosed) queueMicrotask(listener);
    else this.closeListeners.push(listener);
  }

  close(reason: string): void {
    if (this.isClosed) return;
    this.context.log(`kafka: closing connection ${this.id} from ${this.remoteAddress}: ${reason}`);
    this.socket.destroy();
    this.onSocketClosed();
  }

  private onSocketClosed(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.chunks.length = 0;
    this.bufferedBytes = 0;
    for (const slot of this.pending.splice(0)) slot.afterWrite?.();
    this.context.onClosed(this);
    for (const listener of this.closeListeners.splice(0)) {
      try {
        listener();
      } catch (error) {
        this.context.log(`kafka: close listener failed: ${(error as Error).message}`);
      }
    }
  }

  // ---- framing ------------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (this.isClosed) return;
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;
    this.processFrames();
  }

  private processFrames(): void {
    while (!this.isClosed && !this.readingPaused && this.bufferedBytes >= 4) {
      const size = this.peekInt32();
      if (size < 0 || size > this.context.settings.maxRequestBytes) {
        this.close(
          `request size ${size} is outside 0..${this.context.settings.maxRequestBytes} bytes (socket.request.max.bytes)`,
        );
        return;
      }
      if (this.bufferedBytes < 4 + size) return;
      const frame = this.takeFrame(4 + size).subarray(4);
      this.onFrame(frame);
      this.maybePause();
    }
  }

  /**
   * The next whole frame. Spread over several socket chunks it must be joined: into this
   * connection's reusable request buffer when its API releases the bytes once handled (Produce),
   * else into fresh memory, since handlers may keep slices (group metadata, SASL state).
   */
  private takeFrame(length: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= length || length < REUSE_MIN_BYTES || length > REUSE_MAX_BYTES)
      return this.take(length);
    const apiKey = (first.length >= 6 ? first : this.take(6, false)).readInt16BE(4);
    if (!this.context.apis.get(apiKey)?.releasesRequestBytes) return this.take(length);
    if (!this.requestBuffer || this.requestBuffer.length < length) {
      this.requestBuffer = Buffer.allocUnsafeSlow(Math.max(length, 2 * (this.requestBuffer?.length ?? 0)));
    }
    const target = this.requestBuffer;
    let copied = 0;
    while (copied < length) {
      const chunk = this.chunks[0]!;
      const n = Math.min(chunk.length, length - copied);
      chunk.copy(target, copied, 0, n);
      copied += n;
      if (n === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(n);
    }
    this.bufferedBytes -= length;
    return target.subarray(0, length);
  }

  private peekInt32(): number {
    const first = this.chunks[0]!;
    if (first.length >= 4) return first.readInt32BE(0);
    return this.take(4, false).readInt32BE(0);
  }

  /** The next `length` buffered bytes, as a slice when they sit in one chunk. */
  private take(length: number, consume = true): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= length) {
      if (!consume) return first.subarray(0, length);
      const taken = first.subarray(0, length);
      if (first.length === length) this.chunks.shift();
      else this.chunks[0] = first.subarray(length);
      this.bufferedBytes -= length;
      return taken;
    }
    const joined = Buffer.concat(this.chunks, this.bufferedBytes);
    const taken = joined.subarray(0, length);
    this.chunks.length = 0;
    if (consume) {
      if (joined.length > length) this.chunks.push(joined.subarray(length));
      this.bufferedBytes -= length;
    } else {
      this.chunks.push(joined);
    }
    return taken;
  }

  // ---- requests -----------------------------------------------------------------------------

  private onFrame(frame: Buffer): void {
    if (this.sasl.rawTokens) {
      // After SaslHandshake v0 the client sends bare SASL tokens, answered as bare frames.
      this.answerRawSaslToken(frame);
      return;
    }
    let request: KafkaRequest;
    try {
      request = decodeRequest(frame);
    } catch (error) {
      if (error instanceof KafkaUnsupportedError && error.header.apiKey === API_VERSIONS_KEY) {
        this.answerNow(
          error.header.apiKey,
          0,
          error.header.correlationId,
          apiVersionsFallback(this.context.apis),
        );
        return;
      }
      if (error instanceof KafkaCodecError) {
        this.close(`malformed or unsupported request: ${error.message}`);
        return;
      }
      throw error;
    }
    const { apiKey, apiVersion, correlationId } = request.header;
    const api = this.context.apis.get(apiKey);
    if (!api || apiVersion < api.minVersion || apiVersion > api.maxVersion) {
      if (apiKey === API_VERSIONS_KEY) {
        this.answerNow(apiKey, 0, correlationId, apiVersionsFallback(this.context.apis));
        return;
      }
      const versions = api ? `${api.minVersion}-${api.maxVersion}` : 'none';
      this.close(
        `API key ${apiKey} version ${apiVersion} is not supported (supported versions: ${versions})`,
      );
      return;
    }
    if (this.context.saslRequired && this.sasl.principal === undefined && !SASL_API_KEYS.has(apiKey)) {
      this.close(`API key ${apiKey} sent before SASL authentication completed`);
      return;
    }
    let answer: KafkaAnswer | Promise<KafkaAnswer>;
    try {
      answer = api.handle({ header: request.header, body: request.body, session: this });
    } catch (error) {
      this.handlerFailed(apiKey, apiVersion, error);
      return;
    }
    const slot: PendingAnswer = { chunks: undefined, settled: false };
    this.pending.push(slot);
    if (answer instanceof Promise) {
      answer.then(
        (body) => this.settle(slot, apiKey, apiVersion, correlationId, body),
        (error) => this.handlerFailed(apiKey, apiVersion, error),
      );
    } else {
      this.settle(slot, apiKey, apiVersion, correlationId, answer);
    }
  }

  private settle(
    slot: PendingAnswer,
    apiKey: number,
    apiVersion: number,
    correlationId: number,
    body: KafkaAnswer,
  ): void {
    if (this.isClosed) {
      afterWriteOf(body)?.();
      return;
    }
    slot.afterWrite = afterWriteOf(body);
    try {
      slot.chunks =
        body === NO_RESPONSE ? undefined : encodeResponseChunks(apiKey, apiVersion, correlationId, body);
    } catch (error) {
      this.handlerFailed(apiKey, apiVersion, error);
      return;
    }
    slot.settled = true;
    this.flush();
  }

  private answerNow(apiKey: number, apiVersion: number, correlationId: number, body: KafkaAnswer): void {
    const slot: PendingAnswer = { chunks: undefined, settled: false };
    this.pending.push(slot);
    this.settle(slot, apiKey, apiVersion, correlationId, body);
  }

  private answerRawSaslToken(token: Buffer): void {
    const authenticator = this.sasl.authenticator;
    if (!authenticator) {
      this.close('SASL token without a handshake');
      return;
    }
    let reply: Buffer;
    try {
      reply = authenticator.step(token);
    } catch (error) {
      // Kafka closes a connection whose raw SASL exchange fails (no error frame exists for it).
      this.close(`SASL ${authenticator.mechanism} authentication failed: ${(error as Error).message}`);
      return;
    }
    if (authenticator.authenticatedUser !== undefined) {
      this.sasl.principal = authenticator.authenticatedUser;
      this.sasl.rawTokens = false;
    }
    const size = Buffer.allocUnsafe(4);
    size.writeInt32BE(reply.length, 0);
    this.pending.push({ chunks: [size, reply], settled: true });
    this.flush();
  }

  private handlerFailed(apiKey: number, apiVersion: number, error: unknown): void {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    this.context.log(`kafka: API key ${apiKey} v${apiVersion} failed: ${message}`);
    this.close(error instanceof KafkaCodecError ? `malformed request: ${error.message}` : 'internal error');
  }

  /** Writes every answer at the head of the queue that is ready, in one corked burst. */
  private flush(): void {
    if (this.pending.length === 0 || !this.pending[0]!.settled) return;
    this.socket.cork();
    while (this.pending.length > 0 && this.pending[0]!.settled) {
      const slot = this.pending.shift()!;
      const chunks = slot.chunks;
      const afterWrite = slot.afterWrite;
      if (chunks) {
        // The last chunk's callback runs once all of them are written (or failed: closed).
        for (let i = 0; i < chunks.length; i++)
          this.socket.write(
            chunks[i]!,
            i === chunks.length - 1 && afterWrite ? () => afterWrite() : undefined,
          );
      } else afterWrite?.();
    }
    this.socket.uncork();
    if (this.sasl.failure !== undefined) {
      // Kafka answers a failed SaslAuthenticate, then closes the connection.
      this.context.log(
        `kafka: closing connection ${this.id} from ${this.remoteAddress}: ${this.sasl.failure}`,
      );
      this.socket.end();
      this.onSocketClosed();
      return;
    }
    this.maybeResume();
  }

  private maybePause(): void {
    if (this.readingPaused) return;
    if (this.pending.length >= MAX_PENDING_ANSWERS || this.socket.writableLength > MAX_QUEUED_WRITE_BYTES) {
      this.readingPaused = true;
      this.socket.pause();
    }
  }

  private maybeResume(): void {
    if (!this.readingPaused || this.isClosed) return;
    if (
      this.pending.length < MAX_PENDING_ANSWERS / 2 &&
      this.socket.writableLength <= MAX_QUEUED_WRITE_BYTES
    ) {
      this.readingPaused = false;
      this.socket.resume();
      this.processFrames();
    }
  }
}
