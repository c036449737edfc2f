// A do-nothing AMQP 0-9-1 endpoint for measuring what a client (amqplib) can do by itself: it
// stores nothing and keeps no queue. It answers the handshake and the benchmark's methods, confirms
// each publish at once (one `basic.ack multiple` per socket read in confirm mode), and hands each
// published message straight to a consumer of the queue it was sent to (round robin, ignoring
// prefetch and acks; a message for a queue without a consumer is dropped). The client's own ceiling
// is then its rate against this stub: `npm run bench -- --stub --client amqplib` runs the same
// workloads against Pier and against it, side by side. Run on its own so it gets its own core, as a
// broker would:
//
//   node dist/bench/amqp-stub-server.js [--port 0] [--host 127.0.0.1]   prints `amqp-stub listening on HOST:PORT`
import { createServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  type AmqpMethod,
  decodeMethod,
  encodeDeliver,
  encodeMethodFrame,
  FRAME_BODY,
  FRAME_HEADER,
  FRAME_METHOD,
  FrameParser,
  PROTOCOL_HEADER,
} from '../src/protocol/amqp/codec/index.js';

const FRAME_MAX_BYTES = 131_072;

interface Publish {
  readonly exchange: string;
  readonly routingKey: string;
  properties?: Buffer;
  bodySizeBytes: number;
  readonly body: Buffer[];
  receivedBytes: number;
}

interface ChannelState {
  confirm: boolean;
  /** Publishes received in confirm mode (the next confirm's delivery tag). */
  published: number;
  /** The last delivery tag confirmed. */
  confirmed: number;
  publish?: Publish;
}

interface Consumer {
  readonly connection: StubConnection;
  readonly channel: number;
  readonly tag: string;
  nextDeliveryTag: number;
}

/** Consumers by queue name, each list served round robin. */
const consumers = new Map<string, { list: Consumer[]; next: number }>();

class StubConnection {
  private headerSeen = false;
  private readonly parser = new FrameParser(FRAME_MAX_BYTES);
  private readonly channels = new Map<number, ChannelState>();
  private readonly outbox: Buffer[] = [];
  private flushScheduled = false;
  private consumerCount = 0;

  constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {});
    socket.on('close', () => this.forgetConsumers());
  }

  private onData(chunk: Buffer): void {
    if (!this.headerSeen) {
      // Clients send the 8-byte protocol header in one write; a stub need not reassemble it.
      if (!chunk.subarray(0, 8).equals(PROTOCOL_HEADER)) {
        this.socket.end(PROTOCOL_HEADER);
        return;
      }
      this.headerSeen = true;
      this.send(
        encodeMethodFrame(0, {
          method: 'connection.start',
          versionMajor: 0,
          versionMinor: 9,
          serverProperties: { product: 'pier-bench amqp-stub', capabilities: { publisher_confirms: true } },
          mechanisms: 'PLAIN AMQPLAIN',
          locales: 'en_US',
        }),
      );
      chunk = chunk.subarray(8);
      if (chunk.length === 0) return;
    }
    this.parser.push(chunk, (type, channel, payload) => this.onFrame(type, channel, payload));
    for (const [id, state] of this.channels) {
      if (state.confirm && state.published > state.confirmed) {
        this.send(
          encodeMethodFrame(id, { method: 'basic.ack', deliveryTag: state.published, multiple: true }),
        );
        state.confirmed = state.published;
      }
    }
  }

  private onFrame(type: number, channel: number, payload: Buffer): void {
    if (type === FRAME_METHOD) this.onMethod(channel, decodeMethod(payload));
    else if (type === FRAME_HEADER) {
      const publish = this.channels.get(channel)?.publish;
      if (!publish) return;
      publish.bodySizeBytes = Number(payload.readBigUInt64BE(4));
      publish.properties = payload.subarray(12);
      if (publish.bodySizeBytes === 0) this.route(channel, publish);
    } else if (type === FRAME_BODY) {
      const publish = this.channels.get(channel)?.publish;
      if (!publish) return;
      publish.body.push(payload);
      publish.receivedBytes += payload.length;
      if (publish.receivedBytes >= publish.bodySizeBytes) this.route(channel, publish);
    }
  }

  private onMethod(channel: number, m: AmqpMethod): void {
    const reply = (answer: AmqpMethod) => this.send(encodeMethodFrame(channel, answer));
    switch (m.method) {
      case 'connection.start-ok':
        reply({
          method: 'connection.tune',
          channelMax: 2047,
          frameMax: FRAME_MAX_BYTES,
          heartbeat: 0,
        });
        return;
      case 'connection.tune-ok':
        return;
      case 'connection.open':
        reply({ method: 'connection.open-ok' });
        return;
      case 'connection.close':
        reply({ method: 'connection.close-ok' });
        this.flush();
        this.socket.end();
        return;
      case 'channel.open':
        this.channels.set(channel, { confirm: false, published: 0, confirmed: 0 });
        reply({ method: 'channel.open-ok' });
        return;
      case 'channel.close':
        this.channels.delete(channel);
        this.forgetConsumers(channel);
        reply({ method: 'channel.close-ok' });
        return;
      case 'confirm.select':
        this.channels.get(channel)!.confirm = true;
        if (!m.nowait) reply({ method: 'confirm.select-ok' });
        return;
      case 'basic.qos':
        reply({ method: 'basic.qos-ok' });
        return;
      case 'queue.declare':
        if (!m.nowait)
          reply({ method: 'queue.declare-ok', queue: m.queue, messageCount: 0, consumerCount: 0 });
        return;
      case 'queue.delete':
        if (!m.nowait) reply({ method: 'queue.delete-ok', messageCount: 0 });
        return;
      case 'queue.purge':
        if (!m.nowait) reply({ method: 'queue.purge-ok', messageCount: 0 });
        return;
      case 'basic.consume': {
        const tag = m.consumerTag || `stub-ctag-${++this.consumerCount}`;
        let entry = consumers.get(m.queue);
        if (!entry) {
          entry = { list: [], next: 0 };
          consumers.set(m.queue, entry);
        }
        entry.list.push({ connection: this, channel, tag, nextDeliveryTag: 1 });
        if (!m.nowait) reply({ method: 'basic.consume-ok', consumerTag: tag });
        return;
      }
      case 'basic.cancel':
        for (const entry of consumers.values())
          entry.list = entry.list.filter((c) => !(c.connection === this && c.tag === m.consumerTag));
        if (!m.nowait) reply({ method: 'basic.cancel-ok', consumerTag: m.consumerTag });
        return;
      case 'basic.publish': {
        const state = this.channels.get(channel);
        if (!state) return;
        if (state.confirm) state.published++;
        state.publish = {
          exchange: m.exchange,
          routingKey: m.routingKey,
          bodySizeBytes: 0,
          body: [],
          receivedBytes: 0,
        };
        return;
      }
      default:
        // basic.ack / nack / reject from consumers and anything else: nothing to do.
        return;
    }
  }

  /** Hands a complete message to the next consumer of the queue it was published to. */
  private route(channel: number, publish: Publish): void {
    this.channels.get(channel)!.publish = undefined;
    // Only the default exchange routes (to the queue its routing key names); others drop the message.
    const entry = publish.exchange === '' ? consumers.get(publish.routingKey) : undefined;
    if (!entry || entry.list.length === 0) return;
    const consumer = entry.list[entry.next++ % entry.list.length]!;
    const body = publish.body.length === 1 ? publish.body[0]! : Buffer.concat(publish.body);
    for (const frame of encodeDeliver(
      consumer.channel,
      consumer.tag,
      consumer.nextDeliveryTag++,
      false,
      publish.exchange,
      publish.routingKey,
      publish.properties!,
      body,
      FRAME_MAX_BYTES,
    ))
      consumer.connection.send(frame);
  }

  private forgetConsumers(channel?: number): void {
    for (const entry of consumers.values())
      entry.list = entry.list.filter(
        (c) => c.connection !== this || (channel !== undefined && c.channel !== channel),
      );
  }

  send(frame: Buffer): void {
    this.outbox.push(frame);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.outbox.length === 0 || this.socket.destroyed) return;
    this.socket.write(this.outbox.length === 1 ? this.outbox[0]! : Buffer.concat(this.outbox));
    this.outbox.length = 0;
  }
}

export function startAmqpStub(
  host: string,
  port: number,
): Promise<{ host: string; port: number; close(): void }> {
  const server = createServer((socket) => new StubConnection(socket));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address() as { address: string; port: number };
      resolve({ host: address.address, port: address.port, close: () => server.close() });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
    },
  });
  const stub = await startAmqpStub(values.host, Number(values.port));
  process.stdout.write(`amqp-stub listening on ${stub.host}:${stub.port}\n`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(0));
}
