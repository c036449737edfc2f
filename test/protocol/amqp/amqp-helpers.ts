// Shared plumbing for the amqplib integration tests: bounded waits on events, unique names,
// message collectors, and a raw-socket AMQP peer (frames encoded with amqplib's own defs, so the
// tests do not lean on Pier's codec).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { connect as netConnect, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage, connect } from 'amqplib';
import { ManualClock } from '../../../src/core/manual-clock.js';
import { startTestBroker, type TestBroker } from '../../helpers/broker.js';

/** Resolves with the promise's value, or rejects if it takes longer than `ms`. */
export function within<T>(promise: Promise<T>, ms = 5000, what = 'operation'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The arguments of the next `event` on `emitter`, within `ms`. */
export function nextEvent<T extends unknown[] = unknown[]>(
  emitter: EventEmitter,
  event: string,
  ms = 5000,
): Promise<T> {
  return within(
    new Promise<T>((resolve) => emitter.once(event, (...args: unknown[]) => resolve(args as T))),
    ms,
    `'${event}' event`,
  );
}

export function uniq(prefix = 'pier'): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

export interface AmqpFailure extends Error {
  code?: number;
}

/**
 * Waits for the channel's next 'error' event (a server-side channel or connection close) and
 * returns it. Attach before causing the error: amqplib throws on an 'error' nobody listens to.
 */
export function channelError(emitter: EventEmitter, ms = 5000): Promise<AmqpFailure> {
  return nextEvent<[AmqpFailure]>(emitter, 'error', ms).then(([error]) => error);
}

/** Asserts the promise rejects with the AMQP reply code and a message matching `text`. */
export async function rejectsWith(
  promise: Promise<unknown>,
  code: number,
  text?: RegExp,
): Promise<AmqpFailure> {
  const error = await within(
    promise.then(
      () => assert.fail(`expected a ${code} error`),
      (e: AmqpFailure) => e,
    ),
    5000,
    `a ${code} error`,
  );
  assert.equal(error.code, code, error.message);
  if (text) assert.match(error.message, text);
  return error;
}

/** Collects deliveries from a consumer callback and lets a test wait for the n-th one. */
export class Collector {
  readonly messages: Array<ConsumeMessage | null> = [];
  private waiters: Array<{ count: number; resolve: () => void }> = [];

  readonly handler = (message: ConsumeMessage | null): void => {
    this.messages.push(message);
    this.waiters = this.waiters.filter((w) => {
      if (this.messages.length < w.count) return true;
      w.resolve();
      return false;
    });
  };

  /** Waits until `count` messages (in total) have arrived; returns them all. */
  async waitFor(count: number, ms = 5000): Promise<Array<ConsumeMessage | null>> {
    if (this.messages.length < count) {
      await within(
        new Promise<void>((resolve) => this.waiters.push({ count, resolve })),
        ms,
        `${count} deliveries (have ${this.messages.length})`,
      );
    }
    return this.messages;
  }

  bodies(): string[] {
    return this.messages.map((m) => (m ? m.content.toString() : '<null>'));
  }
}

/** Two RPCs on the channel: every delivery the broker sent before answering the first has arrived by the second. */
export async function roundTrip(
  ch: { checkQueue(q: string): Promise<unknown> },
  queue: string,
): Promise<void> {
  await ch.checkQueue(queue);
  await ch.checkQueue(queue);
}

/** The broker a test file talks to. */
export interface BrokerUnderTest {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * An in-process Pier broker; or, when PIER_AMQP_TEST_URL is set (e.g. amqp://guest:guest@127.0.0.1:5672),
 * that broker instead, to compare Pier with RabbitMQ by running the same file against both.
 */
export async function brokerUnderTest(): Promise<BrokerUnderTest> {
  const external = process.env.PIER_AMQP_TEST_URL;
  if (external) return { url: external, port: Number(new URL(external).port), stop: async () => {} };
  const broker = await startTestBroker();
  return { url: broker.url, port: broker.amqp!.port, stop: () => broker.stop() };
}

/** A broker with one open connection and channel: the fixture most test files share. */
export interface BrokerChannel {
  broker: BrokerUnderTest;
  conn: ChannelModel;
  ch: Channel;
}

export async function openBrokerChannel(): Promise<BrokerChannel> {
  const broker = await brokerUnderTest();
  const conn = await connect(broker.url);
  return { broker, conn, ch: await conn.createChannel() };
}

/** An in-process Pier on a ManualClock, with one connection and a confirm channel: for time-driven tests. */
export interface ClockedBroker {
  clock: ManualClock;
  broker: TestBroker;
  conn: ChannelModel;
  ch: ConfirmChannel;
}

export async function openClockedBroker(): Promise<ClockedBroker> {
  const clock = new ManualClock();
  const broker = await startTestBroker({ clock });
  const conn = await connect(broker.url);
  return { clock, broker, conn, ch: await conn.createConfirmChannel() };
}

export async function closeClockedBroker({ broker, conn }: ClockedBroker): Promise<void> {
  await conn.close();
  await broker.stop();
}

export async function closeBrokerChannel({ broker, conn }: BrokerChannel): Promise<void> {
  await conn.close();
  await broker.stop();
}

// ---- raw sockets ---------------------------------------------------------------------------

interface AmqplibDefs {
  encodeMethod(id: number, channel: number, fields: Record<string, unknown>): Buffer;
  decode(id: number, buf: Buffer): Record<string, unknown>;
  info(id: number): { name: string };
  [name: string]: unknown;
}

const require = createRequire(import.meta.url);
export const defs = require(join(dirname(require.resolve('amqplib')), 'lib/defs.js')) as AmqplibDefs;
export const PROTOCOL_HEADER = Buffer.from('AMQP\0\0\x09\x01', 'latin1');

export interface RawFrame {
  type: number;
  channel: number;
  payload: Buffer;
  /** For method frames: amqplib's method name (e.g. 'ConnectionClose') and decoded fields. */
  method?: string;
  fields?: Record<string, unknown>;
}

/** A bare TCP peer that reads AMQP frames (or raw bytes before the first frame). */
export interface HandshakeOptions {
  mechanism?: string;
  response?: Buffer;
  /** Heartbeat to ask for in connection.tune-ok (default 0: off). */
  heartbeatSeconds?: number;
  virtualHost?: string;
  /** channel_max to answer connection.tune with (default 2047). */
  channelMax?: number;
  /** Capabilities announced in client-properties (default: authentication_failure_close only). */
  capabilities?: Record<string, boolean>;
}

export class RawPeer {
  readonly socket: Socket;
  private buffer = Buffer.alloc(0);
  private readonly frames: RawFrame[] = [];
  private wake: (() => void) | undefined;
  readonly closed: Promise<void>;
  private isClosed = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.parse();
      this.wake?.();
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.isClosed = true;
        this.wake?.();
        resolve();
      }),
    );
  }

  static async open(url: string): Promise<RawPeer> {
    const { hostname, port } = new URL(url);
    const socket = netConnect({ host: hostname, port: Number(port) });
    await nextEvent(socket, 'connect');
    return new RawPeer(socket);
  }

  /** Bytes received but not parsed as frames (e.g. a protocol header sent back). */
  get rawBytes(): Buffer {
    return this.buffer;
  }

  private parse(): void {
    // A protocol header from the server is not a frame: leave it in the buffer.
    if (this.buffer.subarray(0, 4).toString('latin1') === 'AMQP') return;
    while (this.buffer.length >= 8) {
      const size = this.buffer.readUInt32BE(3);
      if (this.buffer.length < size + 8) return;
      const frame: RawFrame = {
        type: this.buffer[0]!,
        channel: this.buffer.readUInt16BE(1),
        payload: this.buffer.subarray(7, 7 + size),
      };
      if (frame.type === 1) {
        const id = frame.payload.readUInt32BE(0);
        frame.method = defs.info(id).name;
        frame.fields = defs.decode(id, frame.payload.subarray(4));
      }
      this.frames.push(frame);
      this.buffer = this.buffer.subarray(size + 8);
    }
  }

  write(data: Buffer): void {
    this.socket.write(data);
  }

  sendMethod(channel: number, name: string, fields: Record<string, unknown>): void {
    this.write(defs.encodeMethod(defs[name] as number, channel, fields));
  }

  /** Waits for the next frame matching `predicate` (default: any non-heartbeat), discarding others. */
  async nextFrame(predicate: (f: RawFrame) => boolean = (f) => f.type !== 8, ms = 5000): Promise<RawFrame> {
    return within(
      (async () => {
        for (;;) {
          const index = this.frames.findIndex(predicate);
          if (index >= 0) return this.frames.splice(0, index + 1).pop()!;
          if (this.isClosed) throw new Error('socket closed before the expected frame');
          await new Promise<void>((resolve) => {
            this.wake = resolve;
          });
        }
      })(),
      ms,
      'a frame',
    );
  }

  nextMethod(name: string, ms = 5000): Promise<RawFrame> {
    return this.nextFrame((f) => f.method === name, ms);
  }

  /**
   * Runs the handshake as guest (PLAIN unless told otherwise) and leaves the connection open.
   * Returns connection.open-ok, or the connection.close the broker answered with instead.
   */
  async handshake(options: HandshakeOptions = {}): Promise<RawFrame> {
    this.write(PROTOCOL_HEADER);
    await this.nextMethod('ConnectionStart');
    this.sendMethod(0, 'ConnectionStartOk', {
      clientProperties: { capabilities: options.capabilities ?? { authentication_failure_close: true } },
      mechanism: options.mechanism ?? 'PLAIN',
      response: options.response ?? Buffer.from('\0guest\0guest'),
      locale: 'en_US',
    });
    const tune = await this.nextFrame((f) => f.method === 'ConnectionTune' || f.method === 'ConnectionClose');
    if (tune.method === 'ConnectionClose') return tune;
    this.sendMethod(0, 'ConnectionTuneOk', {
      channelMax: options.channelMax ?? 2047,
      frameMax: 131072,
      heartbeat: options.heartbeatSeconds ?? 0,
    });
    this.sendMethod(0, 'ConnectionOpen', {
      virtualHost: options.virtualHost ?? '/',
      capabilities: '',
      insist: false,
    });
    return this.nextFrame((f) => f.method === 'ConnectionOpenOk' || f.method === 'ConnectionClose');
  }

  destroy(): void {
    this.socket.destroy();
  }
}

// ---- channels ------------------------------------------------------------------------------

interface Getter {
  get(queue: string, options?: { noAck?: boolean }): Promise<false | { content: Buffer }>;
}

/** Takes every ready message from `queue` with basic.get (no-ack) and returns the bodies, in order. */
export async function drain(ch: Getter, queue: string): Promise<string[]> {
  const bodies: string[] = [];
  for (;;) {
    const message = await within(ch.get(queue, { noAck: true }), 5000, `basic.get on ${queue}`);
    if (message === false) return bodies;
    bodies.push(message.content.toString());
  }
}

/** Opens a channel that expects to be closed by the server: its 'error' events are kept, not thrown. */
export async function errorChannel<C extends EventEmitter>(
  create: () => Promise<C>,
): Promise<C & { errors: AmqpFailure[] }> {
  const ch = (await create()) as C & { errors: AmqpFailure[] };
  ch.errors = [];
  ch.on('error', (error: AmqpFailure) => ch.errors.push(error));
  return ch;
}
