/**
 * A TCP relay between a real Kafka client and Pier that decodes the Fetch requests and answers
 * passing through, so a test can see what a client's fetch sessions look like on the wire. The
 * broker advertises the relay's port, so the client keeps talking through it after bootstrap.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { FetchRequest, FetchResponse } from '../../../src/protocol/kafka/codec/index.js';
import { decodeRequest, decodeResponse } from '../../../src/protocol/kafka/codec/index.js';
import { listenNodeServer } from '../../helpers/broker.js';

export interface RecordedFetch {
  readonly version: number;
  readonly request: FetchRequest;
  response?: FetchResponse;
}

const FETCH = 1;

export class FetchRecorder {
  readonly fetches: RecordedFetch[] = [];
  private readonly sockets = new Set<Socket>();
  private targetPort = 0;
  private readonly waiters: Array<{ count: number; resolve: () => void }> = [];

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<FetchRecorder> {
    let recorder: FetchRecorder | undefined;
    const server = createServer((client) => recorder?.relay(client));
    const port = await listenNodeServer(server);
    recorder = new FetchRecorder(server, port);
    return recorder;
  }

  /** Resolves once `count` more Fetch answers have passed. */
  moreAnswers(count: number): Promise<void> {
    const answered = this.fetches.filter((f) => f.response !== undefined).length;
    return new Promise((resolve) => this.waiters.push({ count: answered + count, resolve }));
  }

  private answered(): void {
    const answered = this.fetches.filter((f) => f.response !== undefined).length;
    for (const w of [...this.waiters]) {
      if (answered < w.count) continue;
      this.waiters.splice(this.waiters.indexOf(w), 1);
      w.resolve();
    }
  }

  /** Where connections go (the broker's real Kafka port), known once the broker has started. */
  forwardTo(port: number): void {
    this.targetPort = port;
  }

  private relay(client: Socket): void {
    const upstream = connect({ port: this.targetPort, host: '127.0.0.1' });
    this.sockets.add(client);
    this.sockets.add(upstream);
    const pending = new Map<number, RecordedFetch>();
    frames(client, (frame) => {
      const apiKey = frame.readInt16BE(0);
      if (apiKey === FETCH) {
        const request = decodeRequest(frame);
        const recorded: RecordedFetch = {
          version: request.header.apiVersion,
          request: request.body as unknown as FetchRequest,
        };
        this.fetches.push(recorded);
        pending.set(request.header.correlationId, recorded);
      }
      upstream.write(sized(frame));
    });
    frames(upstream, (frame) => {
      const recorded = pending.get(frame.readInt32BE(0));
      if (recorded) {
        pending.delete(frame.readInt32BE(0));
        recorded.response = decodeResponse(FETCH, recorded.version, frame).body as unknown as FetchResponse;
      }
      client.write(sized(frame));
      if (recorded) this.answered();
    });
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('close', closeBoth).on('error', closeBoth);
    upstream.on('close', closeBoth).on('error', closeBoth);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function sized(frame: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(frame.length, 0);
  return Buffer.concat([size, frame]);
}

/** Calls `onFrame` with each size-prefixed frame read from the socket (without its prefix). */
function frames(socket: Socket, onFrame: (frame: Buffer) => void): void {
  let buffered: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    while (buffered.length >= 4) {
      const size = buffered.readInt32BE(0);
      if (buffered.length < 4 + size) break;
      onFrame(buffered.subarray(4, 4 + size));
      buffered = buffered.subarray(4 + size);
    }
  });
}
