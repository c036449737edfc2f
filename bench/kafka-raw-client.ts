// A minimal Kafka client for the raw benches: one connection, requests pipelined (Kafka answers
// a connection's requests in order), frames handed back undecoded so the bench decides what to
// parse. Each response frame is allocated once at its full size (no repeated concatenation).
import { connect, type Socket } from 'node:net';
import { decodeResponse, encodeRequest, type KafkaStruct } from '../src/protocol/kafka/codec/index.js';

export class RawKafkaClient {
  /** Bytes of the next frame's size field not yet complete. */
  private head: Buffer = Buffer.alloc(0);
  /** The frame being filled. */
  private frame: Buffer | undefined;
  private filled = 0;
  /** Callers waiting for responses, in request order. */
  private readonly waiting: Array<(frame: Buffer) => void> = [];
  private waitingHead = 0;
  private correlationId = 0;
  private failure: Error | undefined;
  /**
   * With reuseFrames, every response is read into this one buffer (grown when a frame is bigger),
   * and the frame handed back is valid only until the next response arrives: a consumer that
   * fetches one response at a time then pays no fresh allocation (page faults, GC) per 64 MiB
   * frame, which cost more than the broker's whole fetch.
   */
  private spare: Buffer | undefined;
  reuseFrames = false;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => {
      this.failure ??= error;
    });
  }

  static async connect(host: string, port: number): Promise<RawKafkaClient> {
    const socket = connect({ host, port, noDelay: true });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawKafkaClient(socket);
  }

  /** Requests sent and not answered yet. */
  get inFlight(): number {
    return this.waiting.length - this.waitingHead;
  }

  private onData(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.frame === undefined) {
        const need = 4 - this.head.length;
        this.head = Buffer.concat([this.head, chunk.subarray(at, at + need)]);
        at += Math.min(need, chunk.length - at);
        if (this.head.length < 4) return;
        this.frame = this.frameBuffer(this.head.readInt32BE(0));
        this.filled = 0;
        this.head = Buffer.alloc(0);
      }
      const take = Math.min(this.frame.length - this.filled, chunk.length - at);
      chunk.copy(this.frame, this.filled, at, at + take);
      this.filled += take;
      at += take;
      if (this.filled === this.frame.length) {
        const frame = this.frame;
        this.frame = undefined;
        const waiter = this.waiting[this.waitingHead++];
        if (this.waitingHead === this.waiting.length) {
          this.waiting.length = 0;
          this.waitingHead = 0;
        }
        waiter?.(frame);
      }
    }
  }

  private frameBuffer(sizeBytes: number): Buffer {
    if (!this.reuseFrames) return Buffer.allocUnsafe(sizeBytes);
    if (this.spare === undefined || this.spare.length < sizeBytes) this.spare = Buffer.allocUnsafe(sizeBytes);
    return this.spare.subarray(0, sizeBytes);
  }

  /** Sends an already encoded request frame (its correlation id is the caller's business). */
  sendEncoded(request: Buffer): Promise<Buffer> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<Buffer>((resolve) => {
      this.waiting.push(resolve);
      this.socket.write(request);
    });
  }

  encode(apiKey: number, apiVersion: number, body: KafkaStruct): Buffer {
    return encodeRequest(
      { apiKey, apiVersion, correlationId: ++this.correlationId, clientId: 'bench' },
      body,
    );
  }

  sendRaw(apiKey: number, apiVersion: number, body: KafkaStruct): Promise<Buffer> {
    return this.sendEncoded(this.encode(apiKey, apiVersion, body));
  }

  async send<T = KafkaStruct>(apiKey: number, apiVersion: number, body: KafkaStruct): Promise<T> {
    const frame = await this.sendRaw(apiKey, apiVersion, body);
    return decodeResponse(apiKey, apiVersion, frame).body as T;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Unsigned varint (compact arrays / lengths in flexible versions). */
export function readUVarint(buf: Buffer, pos: { at: number }): number {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = buf[pos.at++]!;
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return value;
    shift += 7;
  }
}

export function skipTaggedFields(buf: Buffer, pos: { at: number }): void {
  const count = readUVarint(buf, pos);
  for (let i = 0; i < count; i++) {
    readUVarint(buf, pos);
    const length = readUVarint(buf, pos); // read before adding: `pos.at += f(pos)` adds to the old pos.at
    pos.at += length;
  }
}
