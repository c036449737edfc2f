// Stream queues (x-queue-type: stream) over AMQP 0-9-1, as RabbitMQ 3.10 offers them: durable
// append-only logs that consumers read from their own offset. Runs against RabbitMQ too
// (PIER_AMQP_TEST_URL=amqp://guest:guest@127.0.0.1:5672): the reply texts here are RabbitMQ's.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Channel, type ConfirmChannel, type ConsumeMessage, connect } from 'amqplib';
import {
  type AmqpFailure,
  type BrokerChannel,
  Collector,
  closeBrokerChannel,
  errorChannel,
  nextEvent,
  openBrokerChannel,
  rejectsWith,
  uniq,
} from './amqp-helpers.js';

const STREAM_ARGS = { 'x-queue-type': 'stream' };

describe('amqp stream queues', () => {
  let fx: BrokerChannel;
  let pub: ConfirmChannel;
  const streams: string[] = [];
  before(async () => {
    fx = await openBrokerChannel();
    pub = await fx.conn.createConfirmChannel();
  });
  after(async () => {
    for (const name of streams) await fx.ch.deleteQueue(name);
    await closeBrokerChannel(fx);
  });

  async function declareStream(args: Record<string, unknown> = {}): Promise<string> {
    const name = uniq('stream');
    await fx.ch.assertQueue(name, { durable: true, arguments: { ...STREAM_ARGS, ...args } });
    streams.push(name);
    return name;
  }

  async function publish(stream: string, bodies: string[]): Promise<void> {
    for (const body of bodies) pub.sendToQueue(stream, Buffer.from(body), { headers: { app: 'test' } });
    await pub.waitForConfirms();
  }

  /** A consumer with a prefetch on its own channel; acks everything it gets. */
  async function consume(
    stream: string,
    offset?: unknown,
    prefetch = 100,
  ): Promise<{ ch: Channel; got: Collector }> {
    const ch = await fx.conn.createChannel();
    await ch.prefetch(prefetch);
    const got = new Collector();
    await ch.consume(
      stream,
      (m) => {
        got.handler(m);
        if (m) ch.ack(m);
      },
      { arguments: offset === undefined ? {} : { 'x-stream-offset': offset } },
    );
    return { ch, got };
  }

  const offsetOf = (m: ConsumeMessage | null) => m?.properties.headers?.['x-stream-offset'];

  it('declares a durable stream; redeclaring is idempotent; other properties are refused', async () => {
    const name = await declareStream();
    const again = await fx.ch.assertQueue(name, { durable: true, arguments: STREAM_ARGS });
    assert.equal(again.queue, name);
    const c = await errorChannel(() => fx.conn.createChannel());
    await rejectsWith(
      c.assertQueue(uniq('stream'), { durable: false, arguments: STREAM_ARGS }),
      406,
      /PRECONDITION_FAILED - invalid property 'non-durable' for queue '.*' in vhost '\/'/,
    );
  });

  it('publishes with confirms and delivers every message with its x-stream-offset, not redelivered', async () => {
    const name = await declareStream();
    // Through an exchange too: a stream is a binding target like any queue.
    const exchange = uniq('stream-fanout');
    await fx.ch.assertExchange(exchange, 'fanout', { autoDelete: true });
    await fx.ch.bindQueue(name, exchange, '');
    await publish(name, ['a', 'b']);
    pub.publish(exchange, 'any', Buffer.from('c'));
    await pub.waitForConfirms();
    const { ch, got } = await consume(name, 'first');
    const messages = await got.waitFor(3);
    assert.deepEqual(got.bodies(), ['a', 'b', 'c']);
    assert.deepEqual(messages.map(offsetOf), [0, 1, 2]);
    assert.equal(messages[0]?.properties.headers?.app, 'test', 'the publisher headers are kept');
    assert.equal(messages[2]?.fields.exchange, exchange);
    assert.ok(messages.every((m) => m?.fields.redelivered === false));
    await ch.close();
  });

  it('two consumers read the same messages independently, and acks remove nothing', async () => {
    const name = await declareStream();
    await publish(name, ['1', '2', '3', '4']);
    const first = await consume(name, 'first');
    await first.got.waitFor(4);
    const second = await consume(name, 'first');
    await second.got.waitFor(4);
    assert.deepEqual(first.got.bodies(), ['1', '2', '3', '4']);
    assert.deepEqual(second.got.bodies(), ['1', '2', '3', '4']);
    await publish(name, ['5']);
    await first.got.waitFor(5);
    await second.got.waitFor(5);
    assert.deepEqual(second.got.bodies(), ['1', '2', '3', '4', '5']);
    const third = await consume(name, 'first');
    await third.got.waitFor(5);
    assert.deepEqual(third.got.bodies(), ['1', '2', '3', '4', '5'], 'acked messages are still there');
    for (const c of [first, second, third]) await c.ch.close();
  });

  it("'next' (the default) sees only messages published after it subscribed", async () => {
    const name = await declareStream();
    await publish(name, ['old-1', 'old-2']);
    const explicit = await consume(name, 'next');
    const byDefault = await consume(name);
    await publish(name, ['new-1', 'new-2']);
    await explicit.got.waitFor(2);
    await byDefault.got.waitFor(2);
    assert.deepEqual(explicit.got.bodies(), ['new-1', 'new-2']);
    assert.deepEqual(byDefault.got.bodies(), ['new-1', 'new-2']);
    assert.deepEqual(byDefault.got.messages.map(offsetOf), [2, 3]);
    await explicit.ch.close();
    await byDefault.ch.close();
  });

  it("numeric offsets: from that offset; before the start means the first; beyond the end waits for it; 'last'", async () => {
    const name = await declareStream();
    await publish(name, ['m0', 'm1', 'm2', 'm3']);
    await publish(name, ['m4']); // its own confirm round: RabbitMQ's last chunk holds only m4
    const fromTwo = await consume(name, 2);
    await fromTwo.got.waitFor(3);
    assert.deepEqual(fromTwo.got.bodies(), ['m2', 'm3', 'm4']);
    const negative = await consume(name, -3);
    await negative.got.waitFor(5);
    assert.deepEqual(negative.got.bodies(), ['m0', 'm1', 'm2', 'm3', 'm4']);
    const last = await consume(name, 'last');
    await last.got.waitFor(1);
    const beyond = await consume(name, 7);
    await publish(name, ['m5', 'm6', 'm7', 'm8']);
    await beyond.got.waitFor(2);
    assert.deepEqual(beyond.got.bodies(), ['m7', 'm8'], 'offsets 5 and 6 come before the requested 7');
    await last.got.waitFor(5);
    assert.deepEqual(last.got.bodies(), ['m4', 'm5', 'm6', 'm7', 'm8']);
    for (const c of [fromTwo, negative, last, beyond]) await c.ch.close();
  });

  it('a timestamp or an interval in the past starts at the messages published since', async () => {
    const name = await declareStream();
    await publish(name, ['x', 'y']);
    const hourAgo = Math.floor(Date.now() / 1000) - 3600;
    const fromTimestamp = await consume(name, { '!': 'timestamp', value: hourAgo });
    await fromTimestamp.got.waitFor(2);
    assert.deepEqual(fromTimestamp.got.bodies(), ['x', 'y']);
    const fromInterval = await consume(name, '1h');
    await fromInterval.got.waitFor(2);
    assert.deepEqual(fromInterval.got.bodies(), ['x', 'y']);
    const future = await consume(name, { '!': 'timestamp', value: hourAgo + 7200 });
    const tail = await consume(name, 'next');
    await publish(name, ['z']);
    await tail.got.waitFor(1);
    await future.got.waitFor(1);
    assert.deepEqual(future.got.bodies(), ['z'], 'a future timestamp waits for new messages');
    for (const c of [fromTimestamp, fromInterval, future, tail]) await c.ch.close();
  });

  it('the prefetch bounds unacked deliveries; an ack lets the next one through', async () => {
    const name = await declareStream();
    // One confirm round each: RabbitMQ delivers whole chunks (a burst of publishes may share one)
    // and checks the prefetch per chunk; in Pier every message is its own chunk.
    for (const body of ['p0', 'p1', 'p2', 'p3']) await publish(name, [body]);
    const ch = await fx.conn.createChannel();
    await ch.prefetch(2);
    const got = new Collector();
    await ch.consume(name, got.handler, { arguments: { 'x-stream-offset': 'first' } });
    await got.waitFor(2);
    // A stream consumer reading a marker shows how far the first one could have gone.
    const marker = await consume(name, 'first');
    await marker.got.waitFor(4);
    assert.equal(got.messages.length, 2, 'no third delivery without an ack');
    ch.ack(got.messages[1]!, true);
    await got.waitFor(4);
    assert.deepEqual(got.bodies(), ['p0', 'p1', 'p2', 'p3']);
    await ch.close();
    await marker.ch.close();
  });

  it('deleting the stream cancels its consumers', async () => {
    const name = uniq('stream');
    await fx.ch.assertQueue(name, { durable: true, arguments: STREAM_ARGS });
    await publish(name, ['d']);
    const { ch, got } = await consume(name, 'first');
    await got.waitFor(1);
    await fx.ch.deleteQueue(name);
    await got.waitFor(2);
    assert.equal(got.messages[1], null, 'basic.cancel from the broker');
    await rejectsWith(
      (await errorChannel(() => fx.conn.createChannel())).checkQueue(name),
      404,
      /NOT_FOUND - no queue/,
    );
    await ch.close();
  });

  describe('errors, with RabbitMQ 3.10 codes and texts', () => {
    let name: string;
    before(async () => {
      name = await declareStream();
      await publish(name, ['e']);
    });

    /** Opens a fresh connection, runs `act` on a channel and returns the error that closes the connection. */
    async function connectionFailure(act: (ch: Channel) => Promise<unknown>): Promise<AmqpFailure> {
      const conn = await connect(fx.broker.url);
      const failed = nextEvent<[AmqpFailure]>(conn, 'error').then(([error]) => error);
      const ch = await errorChannel(() => conn.createChannel());
      act(ch).catch(() => {});
      return failed;
    }

    it('basic.consume without a prefetch (or with only a global one) is 406', async () => {
      const text = new RegExp(
        `PRECONDITION_FAILED - consumer prefetch count is not set for 'queue '${name}' in vhost '/''`,
      );
      const c = await errorChannel(() => fx.conn.createChannel());
      await rejectsWith(
        c.consume(name, () => {}),
        406,
        text,
      );
      const global = await errorChannel(() => fx.conn.createChannel());
      await global.prefetch(10, true);
      await rejectsWith(
        global.consume(name, () => {}),
        406,
        text,
      );
    });

    it('consumer priorities are refused (406)', async () => {
      const c = await errorChannel(() => fx.conn.createChannel());
      await c.prefetch(1);
      await rejectsWith(
        c.consume(name, () => {}, { arguments: { 'x-priority': 2 } }),
        406,
        new RegExp(
          `PRECONDITION_FAILED - invalid arg 'x-priority' for queue '${name}' in vhost '/' of queue type rabbit_stream_queue`,
        ),
      );
    });

    it('an x-stream-offset that looks like a bad interval is 406; other strings close the connection (541)', async () => {
      const c = await errorChannel(() => fx.conn.createChannel());
      await c.prefetch(1);
      await rejectsWith(
        c.consume(name, () => {}, { arguments: { 'x-stream-offset': '10x' } }),
        406,
        /PRECONDITION_FAILED - invalid arg 'x-stream-offset' for queue '.*' in vhost '\/': \{invalid_stream_offset_arg,\{longstr,<<"10x">>\}\}/,
      );
      const error = await connectionFailure(async (ch) => {
        await ch.prefetch(1);
        await ch.consume(name, () => {}, { arguments: { 'x-stream-offset': 'sometime' } });
      });
      assert.equal(error.code, 541);
      assert.match(error.message, /INTERNAL_ERROR/);
    });

    it('no-ack consumers, basic.get, queue.purge and nack close the connection with 540', async () => {
      const where = `queue '${name}' in vhost '/'`;
      const cases: Array<[string, (ch: Channel) => Promise<unknown>]> = [
        [
          `NOT_IMPLEMENTED - automatic acknowledgement not supported by stream queues ${where}`,
          async (ch) => {
            await ch.prefetch(1);
            await ch.consume(name, () => {}, { noAck: true });
          },
        ],
        [`NOT_IMPLEMENTED - basic.get not supported by stream queues ${where}`, (ch) => ch.get(name)],
        [
          `NOT_IMPLEMENTED - queue.purge not supported by stream queues ${where}`,
          (ch) => ch.purgeQueue(name),
        ],
        [
          `NOT_IMPLEMENTED - basic.nack and basic.reject not supported by stream queues ${where}`,
          async (ch) => {
            await ch.prefetch(1);
            await ch.consume(name, (m) => m && ch.nack(m, false, true), {
              arguments: { 'x-stream-offset': 'first' },
            });
          },
        ],
      ];
      for (const [text, act] of cases) {
        const error = await connectionFailure(act);
        assert.equal(error.code, 540, text);
        assert.ok(error.message.includes(text), `${error.message} should include ${text}`);
      }
    });
  });
});
