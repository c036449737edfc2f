/**
 * Limits a client runs into, with RabbitMQ's reply codes and texts: connections per broker,
 * channels per connection (negotiated channel_max), consumers per channel, message size.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connect } from 'amqplib';
import { startTestBroker } from '../../helpers/broker.js';
import { type AmqpFailure, brokerUnderTest, channelError, nextEvent, RawPeer, uniq } from './amqp-helpers.js';

describe('amqp limits', () => {
  it('connections above --max-connections are refused with 530; a closed one frees its slot', async () => {
    const broker = await startTestBroker({ amqp: { maxConnections: 2 } });
    try {
      const first = await connect(broker.url);
      const second = await connect(broker.url);
      // amqplib only reports an unexpected connection.close; the raw peer shows what it says.
      await assert.rejects(connect(broker.url), /Expected ConnectionOpenOk; got <ConnectionClose/);
      const peer = await RawPeer.open(broker.url);
      const refused = await peer.handshake();
      peer.destroy();
      assert.equal(refused.method, 'ConnectionClose');
      assert.deepEqual(
        [
          refused.fields!.replyCode,
          refused.fields!.replyText,
          refused.fields!.classId,
          refused.fields!.methodId,
        ],
        [530, 'NOT_ALLOWED - connection refused: node connection limit (2) is reached', 10, 40],
      );
      await first.close();
      const third = await connect(broker.url);
      await (await third.createChannel()).close();
      await third.close();
      await second.close();
    } finally {
      await broker.stop();
    }
  });

  it('the negotiated channel_max limits open channels, not channel numbers (as RabbitMQ)', async () => {
    const broker = await brokerUnderTest();
    const peer = await RawPeer.open(broker.url);
    try {
      assert.equal((await peer.handshake({ channelMax: 2 })).method, 'ConnectionOpenOk');
      // Channel 5 with channel_max 2 is accepted: only the count of open channels is limited.
      peer.sendMethod(5, 'ChannelOpen', { outOfBand: '' });
      await peer.nextMethod('ChannelOpenOk');
      peer.sendMethod(1, 'ChannelOpen', { outOfBand: '' });
      await peer.nextMethod('ChannelOpenOk');
      peer.sendMethod(2, 'ChannelOpen', { outOfBand: '' });
      const close = await peer.nextFrame(
        (f) => f.method === 'ChannelOpenOk' || f.method === 'ConnectionClose',
      );
      assert.equal(close.method, 'ConnectionClose');
      assert.equal(close.fields!.replyCode, 530);
      assert.equal(
        close.fields!.replyText,
        'NOT_ALLOWED - number of channels opened (2) has reached the negotiated channel_max (2)',
      );
    } finally {
      peer.destroy();
      await broker.stop();
    }
  });

  it('a consumer above --max-consumers-per-channel is a 530 connection error', async () => {
    const broker = await startTestBroker({ amqp: { maxConsumersPerChannel: 2 } });
    try {
      const conn = await connect(broker.url);
      const closed = nextEvent<[AmqpFailure]>(conn, 'close');
      conn.on('error', () => {});
      const ch = await conn.createChannel();
      ch.on('error', () => {});
      const { queue } = await ch.assertQueue('', { exclusive: true });
      await ch.consume(queue, () => {});
      await ch.consume(queue, () => {});
      // The limit is per channel: another channel has room of its own.
      const other = await conn.createChannel();
      await other.consume(queue, () => {});
      await other.consume(queue, () => {});
      await assert.rejects(ch.consume(queue, () => {}));
      const [error] = await closed;
      assert.equal(error.code, 530);
      assert.match(error.message, /NOT_ALLOWED - reached maximum \(2\) of consumers per channel/);
    } finally {
      await broker.stop();
    }
  });

  it('the default max message size is 16 MiB; one byte more is 406 on basic.publish', async () => {
    const broker = await startTestBroker();
    try {
      const conn = await connect(broker.url);
      const ch = await conn.createChannel();
      const queue = uniq('big');
      await ch.assertQueue(queue, { durable: false });
      const maxBytes = 16 * 1024 * 1024;
      ch.sendToQueue(queue, Buffer.alloc(maxBytes, 'a'));
      const big = await conn.createChannel();
      const failed = channelError(big);
      big.sendToQueue(queue, Buffer.alloc(maxBytes + 1, 'b'));
      const error = (await failed) as AmqpFailure & { classId?: number; methodId?: number };
      assert.equal(error.code, 406);
      assert.match(
        error.message,
        /PRECONDITION_FAILED - message size 16777217 is larger than configured max size 16777216/,
      );
      assert.deepEqual([error.classId, error.methodId], [60, 40]);
      const m = await ch.get(queue, { noAck: true });
      assert.ok(m);
      assert.equal(m.content.length, maxBytes);
      await conn.close();
    } finally {
      await broker.stop();
    }
  });
});
