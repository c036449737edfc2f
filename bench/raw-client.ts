// A deliberately minimal AMQP 0-9-1 client used only by the benchmark.
//
// It implements just enough of the protocol to open a connection, open one
// channel, declare/delete a queue, consume, publish pre-encoded frames and
// process publisher confirms. The hot paths (delivery parsing, confirm
// processing) avoid allocations and BigInt so the load generator stays cheap
// compared to the broker under test.

import * as net from 'node:net';

export const FRAME_METHOD = 1;
export const FRAME_HEADER = 2;
export const FRAME_BODY = 3;
export const FRAME_HEARTBEAT = 8;
export const FRAME_END = 0xce;
const HEARTBEAT = Buffer.from([FRAME_HEARTBEAT, 0, 0, 0, 0, 0, 0, FRAME_END]);

// class/method ids (class << 16 | method)
const CONNECTION_START = (10 << 16) | 10;
const CONNECTION_TUNE = (10 << 16) | 30;
const CONNECTION_OPEN_OK = (10 << 16) | 41;
const CONNECTION_CLOSE = (10 << 16) | 50;
const CONNECTION_CLOSE_OK = (10 << 16) | 51;
const CONNECTION_BLOCKED = (10 << 16) | 60;
const CONNECTION_UNBLOCKED = (10 << 16) | 61;
const CHANNEL_OPEN_OK = (20 << 16) | 11;
const CHANNEL_CLOSE = (20 << 16) | 40;
const CHANNEL_CLOSE_OK = (20 << 16) | 41;
const QUEUE_DECLARE_OK = (50 << 16) | 11;
const QUEUE_DELETE_OK = (50 << 16) | 41;
const BASIC_QOS_OK = (60 << 16) | 11;
const BASIC_CONSUME_OK = (60 << 16) | 21;
const BASIC_CANCEL = (60 << 16) | 30;
const BASIC_CANCEL_OK = (60 << 16) | 31;
const BASIC_DELIVER = (60 << 16) | 60;
const BASIC_ACK = (60 << 16) | 80;
const BASIC_NACK = (60 << 16) | 120;
const CONFIRM_SELECT_OK = (85 << 16) | 11;

/** Growable big-endian encoder for method arguments (not used on hot paths). */
export class Encoder {
  private buf = Buffer.allocUnsafe(256);
  private len = 0;

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }
  u8(v: number): this {
    this.ensure(1);
    this.buf[this.len++] = v;
    return this;
  }
  u16(v: number): this {
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.len);
    this.len += 2;
    return this;
  }
  u32(v: number): this {
    this.ensure(4);
    this.buf.writeUInt32BE(v, this.len);
    this.len += 4;
    return this;
  }
  u64(v: number): this {
    this.ensure(8);
    this.buf.writeUInt32BE(Math.floor(v / 0x100000000), this.len);
    this.buf.writeUInt32BE(v >>> 0, this.len + 4);
    this.len += 8;
    return this;
  }
  shortStr(s: string): this {
    const b = Buffer.from(s, 'utf8');
    if (b.length > 255) throw new Error(`shortstr too long: ${s}`);
    this.u8(b.length);
    return this.bytes(b);
  }
  longStr(s: string | Buffer): this {
    const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
    this.u32(b.length);
    return this.bytes(b);
  }
  bytes(b: Buffer): this {
    this.ensure(b.length);
    b.copy(this.buf, this.len);
    this.len += b.length;
    return this;
  }
  /** Field table with string, boolean and nested-table values. */
  table(t: FieldTable): this {
    const inner = new Encoder();
    for (const [k, v] of Object.entries(t)) {
      inner.shortStr(k);
      if (typeof v === 'string') inner.u8(0x53 /* S */).longStr(v);
      else if (typeof v === 'boolean') inner.u8(0x74 /* t */).u8(v ? 1 : 0);
      else if (typeof v === 'number') inner.u8(0x49 /* I */).u32(v >>> 0);
      else inner.u8(0x46 /* F */).table(v);
    }
    return this.longStr(inner.done());
  }
  done(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.len));
  }
}

export type FieldTable = { [key: string]: string | boolean | number | FieldTable };

export function frame(type: number, channel: number, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(8 + payload.length);
  out[0] = type;
  out.writeUInt16BE(channel, 1);
  out.writeUInt32BE(payload.length, 3);
  payload.copy(out, 7);
  out[7 + payload.length] = FRAME_END;
  return out;
}

export function methodFrame(channel: number, classId: number, methodId: number, args?: Buffer): Buffer {
  const e = new Encoder().u16(classId).u16(methodId);
  if (args) e.bytes(args);
  return frame(FRAME_METHOD, channel, e.done());
}

export interface AmqpUrl {
  host: string;
  port: number;
  user: string;
  pass: string;
  vhost: string;
}

export function parseAmqpUrl(url: string): AmqpUrl {
  const u = new URL(url);
  if (u.protocol !== 'amqp:')
    throw new Error(`unsupported URL scheme ${u.protocol} (only amqp:// is supported)`);
  const path = u.pathname.replace(/^\//, '');
  return {
    host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: u.port ? Number(u.port) : 5672,
    user: u.username ? decodeURIComponent(u.username) : 'guest',
    pass: u.password ? decodeURIComponent(u.password) : 'guest',
    vhost: path === '' ? '/' : decodeURIComponent(path),
  };
}

export interface MessageTemplate {
  /** Bytes for one message: method frame + content header frame + body frame(s). */
  bytes: Buffer;
  /** Offset of the first body byte (where the timestamp goes) within `bytes`. */
  bodyOffset: number;
}

/**
 * Encode one basic.publish (method + header + body frames) once. The body is
 * filled with a constant pattern; the first 8 bytes are reserved for the send
 * timestamp which the publisher patches in just before writing.
 */
export function encodePublish(
  channel: number,
  exchange: string,
  routingKey: string,
  size: number,
  deliveryMode: 1 | 2,
  frameMax: number,
): MessageTemplate {
  const method = methodFrame(
    channel,
    60,
    40,
    new Encoder().u16(0).shortStr(exchange).shortStr(routingKey).u8(0).done(),
  );
  // content header: class 60, weight 0, body size, flags (delivery-mode only), delivery-mode
  const header = frame(
    FRAME_HEADER,
    channel,
    new Encoder().u16(60).u16(0).u64(size).u16(0x1000).u8(deliveryMode).done(),
  );
  const body = Buffer.alloc(size, 0x61);
  const maxBody = frameMax > 0 ? frameMax - 8 : size;
  const parts: Buffer[] = [method, header];
  for (let off = 0; off < size; off += maxBody) {
    parts.push(frame(FRAME_BODY, channel, body.subarray(off, Math.min(size, off + maxBody))));
  }
  return { bytes: Buffer.concat(parts), bodyOffset: method.length + header.length + 7 };
}

export interface ConnectionHandlers {
  /** A complete message arrived; `sendTs` is the double stored in the first 8 body bytes. */
  onDelivery?: (channel: number, deliveryTag: number, sendTs: number) => void;
  /** Called once per socket read after all frames in it were processed. */
  onChunkDone?: () => void;
  onConfirm?: (deliveryTag: number, multiple: boolean, nack: boolean) => void;
  onBlocked?: (blocked: boolean) => void;
}

interface Waiter {
  channel: number;
  id: number;
  resolve: (args: Buffer) => void;
  reject: (err: Error) => void;
}

export class RawConnection {
  readonly socket: net.Socket;
  frameMax = 131072;
  closed = false;
  error: Error | null = null;
  handlers: ConnectionHandlers = {};
  private leftover: Buffer | null = null;
  private waiters: Waiter[] = [];
  private closeListeners: Array<(err: Error | null) => void> = [];
  // delivery parsing state (single consumer channel per connection)
  private inDelivery = false;
  private deliveryChannel = 0;
  private deliveryTag = 0;
  private bodyRemaining = 0;
  private gotTimestamp = false;
  private sendTs = 0;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('connection closed')));
  }

  static async connect(url: string, connectionName = 'pier-bench'): Promise<RawConnection> {
    const u = parseAmqpUrl(url);
    const socket = net.connect({ host: u.host, port: u.port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const conn = new RawConnection(socket);
    const timer = setTimeout(
      () => conn.fail(new Error(`AMQP handshake with ${u.host}:${u.port} timed out`)),
      15_000,
    );
    try {
      await conn.handshake(u, connectionName);
    } catch (err) {
      const msg = (err as Error).message;
      throw /server closed|timed out/.test(msg)
        ? err
        : new Error(`AMQP handshake with ${u.host}:${u.port} failed (${msg}); wrong credentials or vhost?`);
    } finally {
      clearTimeout(timer);
    }
    return conn;
  }

  private async handshake(u: AmqpUrl, connectionName: string): Promise<void> {
    const socket = this.socket;
    const start = this.expect(0, CONNECTION_START);
    socket.write(Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]));
    await start;
    const tune = this.expect(0, CONNECTION_TUNE);
    this.send(
      methodFrame(
        0,
        10,
        11,
        new Encoder()
          .table({
            product: 'pier-bench',
            connection_name: connectionName,
            capabilities: {
              publisher_confirms: true,
              'basic.nack': true,
              consumer_cancel_notify: true,
              'connection.blocked': true,
              authentication_failure_close: true,
            },
          })
          .shortStr('PLAIN')
          .longStr(`\0${u.user}\0${u.pass}`)
          .shortStr('en_US')
          .done(),
      ),
    );
    const t = await tune;
    const channelMax = t.readUInt16BE(0);
    const serverFrameMax = t.readUInt32BE(2);
    this.frameMax = serverFrameMax === 0 ? 131072 : Math.min(serverFrameMax, 131072);
    this.send(
      methodFrame(
        0,
        10,
        31,
        new Encoder()
          .u16(channelMax === 0 ? 2047 : channelMax)
          .u32(this.frameMax)
          .u16(0)
          .done(),
      ),
    );
    const openOk = this.expect(0, CONNECTION_OPEN_OK);
    this.send(methodFrame(0, 10, 40, new Encoder().shortStr(u.vhost).shortStr('').u8(0).done()));
    await openOk;
  }

  send(buf: Buffer): boolean {
    return this.socket.write(buf);
  }

  onClose(fn: (err: Error | null) => void): void {
    if (this.closed) fn(this.error);
    else this.closeListeners.push(fn);
  }

  /** Register interest in the next method `classId<<16|methodId` on `channel`. */
  expect(channel: number, id: number): Promise<Buffer> {
    if (this.closed) return Promise.reject(this.error ?? new Error('connection closed'));
    return new Promise((resolve, reject) => {
      this.waiters.push({ channel, id, resolve, reject });
    });
  }

  private rpc(
    channel: number,
    classId: number,
    methodId: number,
    args: Buffer,
    okId: number,
  ): Promise<Buffer> {
    const p = this.expect(channel, okId);
    this.send(methodFrame(channel, classId, methodId, args));
    return p;
  }

  async openChannel(channel: number): Promise<void> {
    await this.rpc(channel, 20, 10, new Encoder().shortStr('').done(), CHANNEL_OPEN_OK);
  }

  async confirmSelect(channel: number): Promise<void> {
    await this.rpc(channel, 85, 10, new Encoder().u8(0).done(), CONFIRM_SELECT_OK);
  }

  async qos(channel: number, prefetch: number): Promise<void> {
    await this.rpc(channel, 60, 10, new Encoder().u32(0).u16(prefetch).u8(0).done(), BASIC_QOS_OK);
  }

  async declareQueue(channel: number, queue: string, durable: boolean): Promise<void> {
    // bits: passive(0) durable(1) exclusive(2) auto-delete(3) no-wait(4)
    const bits = durable ? 0b10 : 0;
    await this.rpc(
      channel,
      50,
      10,
      new Encoder().u16(0).shortStr(queue).u8(bits).table({}).done(),
      QUEUE_DECLARE_OK,
    );
  }

  async deleteQueue(channel: number, queue: string): Promise<void> {
    await this.rpc(channel, 50, 40, new Encoder().u16(0).shortStr(queue).u8(0).done(), QUEUE_DELETE_OK);
  }

  async consume(channel: number, queue: string, consumerTag: string): Promise<void> {
    await this.rpc(
      channel,
      60,
      20,
      new Encoder().u16(0).shortStr(queue).shortStr(consumerTag).u8(0).table({}).done(),
      BASIC_CONSUME_OK,
    );
  }

  async cancel(channel: number, consumerTag: string): Promise<void> {
    await this.rpc(channel, 60, 30, new Encoder().shortStr(consumerTag).u8(0).done(), BASIC_CANCEL_OK);
  }

  /** basic.ack for consumed messages. */
  ack(channel: number, deliveryTag: number, multiple: boolean): void {
    const f = Buffer.allocUnsafe(21);
    f[0] = FRAME_METHOD;
    f.writeUInt16BE(channel, 1);
    f.writeUInt32BE(13, 3);
    f.writeUInt16BE(60, 7);
    f.writeUInt16BE(80, 9);
    f.writeUInt32BE(Math.floor(deliveryTag / 0x100000000), 11);
    f.writeUInt32BE(deliveryTag >>> 0, 15);
    f[19] = multiple ? 1 : 0;
    f[20] = FRAME_END;
    this.send(f);
  }

  /** Graceful connection.close with a timeout, then destroy the socket. */
  async close(timeoutMs = 3000): Promise<void> {
    if (this.closed) return;
    const done = new Promise<void>((resolve) => this.onClose(() => resolve()));
    const closeOk = this.expect(0, CONNECTION_CLOSE_OK).catch(() => undefined);
    this.send(methodFrame(0, 10, 50, new Encoder().u16(200).shortStr('bye').u16(0).u16(0).done()));
    const timer = setTimeout(() => this.socket.destroy(), timeoutMs);
    await closeOk;
    this.socket.end();
    this.socket.destroySoon?.();
    await Promise.race([done, new Promise((r) => setTimeout(r, timeoutMs))]);
    clearTimeout(timer);
    this.socket.destroy();
  }

  private fail(err: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.error = err;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(err);
    for (const fn of this.closeListeners) fn(err);
    this.closeListeners = [];
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    let buf = chunk;
    if (this.leftover !== null) {
      buf = Buffer.concat([this.leftover, chunk]);
      this.leftover = null;
    }
    const len = buf.length;
    let off = 0;
    while (off + 7 <= len) {
      const size = buf.readUInt32BE(off + 3);
      const end = off + 7 + size;
      if (end + 1 > len) break;
      if (buf[end] !== FRAME_END) {
        this.fail(new Error('protocol error: bad frame end'));
        return;
      }
      const type = buf[off];
      const channel = buf.readUInt16BE(off + 1);
      const p = off + 7;
      if (type === FRAME_BODY) {
        if (this.inDelivery) {
          if (!this.gotTimestamp && size >= 8) {
            this.sendTs = buf.readDoubleBE(p);
            this.gotTimestamp = true;
          }
          this.bodyRemaining -= size;
          if (this.bodyRemaining <= 0) this.finishDelivery();
        }
      } else if (type === FRAME_METHOD) {
        const id = buf.readUInt32BE(p);
        if (id === BASIC_DELIVER) {
          const tagOff = p + 5 + buf[p + 4];
          this.deliveryTag = buf.readUInt32BE(tagOff) * 0x100000000 + buf.readUInt32BE(tagOff + 4);
          this.deliveryChannel = channel;
          this.inDelivery = true;
          this.gotTimestamp = false;
          this.sendTs = 0;
        } else if (id === BASIC_ACK || id === BASIC_NACK) {
          const tag = buf.readUInt32BE(p + 4) * 0x100000000 + buf.readUInt32BE(p + 8);
          this.handlers.onConfirm?.(tag, (buf[p + 12] & 1) === 1, id === BASIC_NACK);
        } else {
          this.onMethod(channel, id, buf.subarray(p + 4, end));
          if (this.closed) return;
        }
      } else if (type === FRAME_HEADER) {
        if (this.inDelivery) {
          this.bodyRemaining = buf.readUInt32BE(p + 4) * 0x100000000 + buf.readUInt32BE(p + 8);
          if (this.bodyRemaining === 0) this.finishDelivery();
        }
      } else if (type === FRAME_HEARTBEAT) {
        // We ask for heartbeat=0; if the server sends them anyway, echo them.
        this.send(HEARTBEAT);
      }
      off = end + 1;
    }
    if (off < len) this.leftover = buf.subarray(off);
    this.handlers.onChunkDone?.();
  }

  private finishDelivery(): void {
    this.inDelivery = false;
    this.handlers.onDelivery?.(this.deliveryChannel, this.deliveryTag, this.sendTs);
  }

  private onMethod(channel: number, id: number, args: Buffer): void {
    if (id === CONNECTION_CLOSE || id === CHANNEL_CLOSE) {
      const code = args.readUInt16BE(0);
      const text = args.toString('utf8', 3, 3 + args[2]);
      const what = id === CONNECTION_CLOSE ? 'connection' : `channel ${channel}`;
      if (id === CONNECTION_CLOSE) this.send(methodFrame(0, 10, 51));
      else this.send(methodFrame(channel, 20, 41));
      this.fail(new Error(`server closed ${what}: ${code} ${text}`));
      return;
    }
    if (id === CONNECTION_BLOCKED || id === CONNECTION_UNBLOCKED) {
      this.handlers.onBlocked?.(id === CONNECTION_BLOCKED);
      return;
    }
    if (id === BASIC_CANCEL) {
      this.fail(new Error('server cancelled the consumer (queue deleted?)'));
      return;
    }
    if (id === CHANNEL_CLOSE_OK) return;
    const i = this.waiters.findIndex((w) => w.channel === channel && w.id === id);
    if (i >= 0) {
      const [w] = this.waiters.splice(i, 1);
      w.resolve(args);
    }
  }
}
