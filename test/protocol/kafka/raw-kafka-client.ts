/**
 * A minimal Kafka client over a real socket for protocol tests: sends requests built with the codec
 * and reads framed answers in order. Real clients (kafkajs, kcat) are used for behaviour; this one
 * reaches what they never send (bad versions, raw SASL tokens, malformed frames).
 */
import { connect, type Socket } from 'node:net';
import { decodeResponse, encodeRequest, type KafkaStruct } from '../../../src/protocol/kafka/codec/index.js';

export class RawKafkaClient {
  private buffered = Buffer.alloc(0);
  private readonly waiters: Array<(frame: Buffer) => void> = [];
  private readonly frames: Buffer[] = [];
  private correlationId = 1;
  /** Resolves when the broker closes the connection. */
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      while (this.buffered.length >= 4) {
        const size = this.buffered.readInt32BE(0);
        if (this.buffered.length < 4 + size) break;
        const frame = this.buffered.subarray(4, 4 + size);
        this.buffered = this.buffered.subarray(4 + size);
        const waiter = this.waiters.shift();
        if (waiter) waiter(frame);
        else this.frames.push(frame);
      }
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawKafkaClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host }, () => resolve(new RawKafkaClient(socket)));
      socket.once('error', reject);
    });
  }

  /** The next framed answer (without its size prefix). */
  nextFrame(): Promise<Buffer> {
    const frame = this.frames.shift();
    if (frame) return Promise.resolve(frame);
    return new Promise((resolve, reject) => {
      this.waiters.push(resolve);
      this.closed.then(() => reject(new Error('connection closed before an answer')));
    });
  }

  send(apiKey: number, apiVersion: number, body: KafkaStruct): number {
    const correlationId = this.correlationId++;
    this.socket.write(encodeRequest({ apiKey, apiVersion, correlationId, clientId: 'raw-test' }, body));
    return correlationId;
  }

  /** Sends a request and decodes its answer. */
  async request<T = KafkaStruct>(apiKey: number, apiVersion: number, body: KafkaStruct): Promise<T> {
    const correlationId = this.send(apiKey, apiVersion, body);
    const frame = await this.nextFrame();
    const decoded = decodeResponse(apiKey, apiVersion, frame);
    if (decoded.correlationId !== correlationId)
      throw new Error(`correlation id ${decoded.correlationId}, expected ${correlationId}`);
    return decoded.body as T;
  }

  /** Writes bytes as one size-prefixed frame (raw SASL tokens, malformed requests). */
  sendFrame(payload: Buffer): void {
    const size = Buffer.alloc(4);
    size.writeInt32BE(payload.length, 0);
    this.socket.write(Buffer.concat([size, payload]));
  }

  close(): void {
    this.socket.destroy();
  }
}
