// Channel and connection exceptions: what amqplib (or a raw socket) sees, and that the rest of the
// broker keeps working afterwards.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Channel, type ChannelModel, connect } from 'amqplib';
import { startTestBroker, type TestBroker } from '../../helpers/broker.js';
import {
  channelError,
  defs,
  errorChannel,
  nextEvent,
  RawPeer,
  rejectsWith,
  uniq,
  within,
} from './amqp-helpers.js';

const MAX_MESSAGE_BYTES = 1024;

describe('amqp errors', () => {
  let broker: TestBroker;
  let conn: ChannelModel;
  let ch: Channel;
  before(async () => {
    broker = await startTestBroker({ amqp: { maxMessageSizeBytes: MAX_MESSAGE_BYTES } });
    conn = await connect(broker.url);
    ch = await conn.createChannel();
  });
  after(async () => {
    await conn.close();
    await broker.stop();
  });

  it('publishing to a missing exchange closes the channel with 404; the connection stays usable', async () => {
    const bystander = await conn.createChannel();
    const c = await conn.createChannel();
    const failed = channelError(c);
    const closed = nextEvent(c, 'close');
    c.publish('no-such-exchange', 'k', Buffer.from('x'));
    const error = await failed;
    assert.equal(error.code, 404);
    assert.match(error.message, /NOT_FOUND - no exchange 'no-such-exchange' in vhost '\/'/);
    await closed;
    // Other channels, old and new, still work.
    const { queue } = await bystander.assertQueue('', { exclusive: true });
    bystander.sendToQueue(queue, Buffer.from('still here'));
    const m = await bystander.get(queue, { noAck: true });
    assert.ok(m);
    assert.equal(m.content.toString(), 'still here');
    const fresh = await conn.createChannel();
    await fresh.checkQueue(queue);
    await fresh.close();
    await bystander.close();
  });

  it('a message over the configured max size closes the channel with 406', async () => {
    const { queue } = await ch.assertQueue('', { exclusive: true });
    ch.sendToQueue(queue, Buffer.alloc(MAX_MESSAGE_BYTES, 'a')); // exactly at the limit: fine
    const c = await conn.createChannel();
    const failed = channelError(c);
    c.sendToQueue(queue, Buffer.alloc(MAX_MESSAGE_BYTES + 1, 'b'));
    const error = await failed;
    assert.equal(error.code, 406);
    assert.match(
      error.message,
      /PRECONDITION_FAILED - message size 1025 is larger than configured max size 1024/,
    );
    const ok = await ch.checkQueue(queue);
    assert.equal(ok.messageCount, 1);
    const m = await ch.get(queue, { noAck: true });
    assert.ok(m);
    assert.equal(m.content.length, MAX_MESSAGE_BYTES);
  });

  it('a large message split over several body frames is rejected too', async () => {
    const c = await conn.createChannel();
    const failed = channelError(c);
    c.sendToQueue(uniq('anything'), Buffer.alloc(300_000));
    assert.equal((await failed).code, 406);
    // The connection is still in sync: the body frames of the refused message were skipped.
    const { queue } = await ch.assertQueue('', { exclusive: true });
    ch.sendToQueue(queue, Buffer.from('after'));
    const m = await ch.get(queue, { noAck: true });
    assert.ok(m);
    assert.equal(m.content.toString(), 'after');
  });

  it('an unknown exchange type is a 503 COMMAND_INVALID connection error', async () => {
    const other = await connect(broker.url);
    other.on('error', () => {});
    const closed = nextEvent<[Error & { code?: number }]>(other, 'close');
    const c = await errorChannel(() => other.createChannel());
    await assert.rejects(c.assertExchange(uniq('ex'), 'no-such-type'));
    const [error] = await closed;
    assert.equal(error.code, 503);
    assert.match(error.message, /COMMAND_INVALID - unknown exchange type 'no-such-type'/);
  });

  it('a frame on a channel that was never opened is a 504 CHANNEL_ERROR connection close', async () => {
    const peer = await RawPeer.open(broker.url);
    try {
      await peer.handshake();
      peer.sendMethod(5, 'QueueDeclare', {
        ticket: 0,
        queue: 'q',
        passive: false,
        durable: false,
        exclusive: false,
        autoDelete: false,
        nowait: false,
        arguments: {},
      });
      const close = await peer.nextMethod('ConnectionClose');
      assert.equal(close.channel, 0);
      assert.equal(close.fields!.replyCode, 504);
      assert.match(String(close.fields!.replyText), /^CHANNEL_ERROR - expected 'channel.open'/);
      peer.sendMethod(0, 'ConnectionCloseOk', {});
      await within(peer.closed, 5000, 'the socket to close');
    } finally {
      peer.destroy();
    }
  });

  it('a frame with a bad frame-end octet is a 501 FRAME_ERROR; other connections keep working', async () => {
    const peer = await RawPeer.open(broker.url);
    try {
      await peer.handshake();
      peer.sendMethod(1, 'ChannelOpen', { outOfBand: '' });
      await peer.nextMethod('ChannelOpenOk');
      const frame = Buffer.from(
        defs.encodeMethod(defs.BasicQos as number, 1, { prefetchSize: 0, prefetchCount: 1, global: false }),
      );
      frame[frame.length - 1] = 0x00; // should be 0xCE
      peer.write(frame);
      const close = await peer.nextMethod('ConnectionClose');
      assert.equal(close.fields!.replyCode, 501);
      assert.match(String(close.fields!.replyText), /^FRAME_ERROR/);
      await within(peer.closed, 5000, 'the socket to close');
    } finally {
      peer.destroy();
    }
    const { queue } = await ch.assertQueue('', { exclusive: true });
    ch.sendToQueue(queue, Buffer.from('fine'));
    assert.ok(await ch.get(queue, { noAck: true }));
  });

  it('a frame larger than frame_max is a 501 FRAME_ERROR', async () => {
    const peer = await RawPeer.open(broker.url);
    try {
      await peer.handshake();
      const header = Buffer.alloc(7);
      header.writeUInt8(1, 0);
      header.writeUInt16BE(0, 1);
      header.writeUInt32BE(200_000, 3);
      peer.write(header);
      const close = await peer.nextMethod('ConnectionClose');
      assert.equal(close.fields!.replyCode, 501);
    } finally {
      peer.destroy();
    }
  });

  it('a bad password on a raw socket that announced authentication_failure_close gets 403', async () => {
    const peer = await RawPeer.open(broker.url);
    try {
      const close = await peer.handshake({ response: Buffer.from('\0guest\0wrong') });
      assert.equal(close.method, 'ConnectionClose');
      assert.equal(close.fields!.replyCode, 403);
      assert.match(
        String(close.fields!.replyText),
        /^ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN/,
      );
    } finally {
      peer.destroy();
    }
  });

  it('after a channel error the same channel number can be opened again', async () => {
    const c = await errorChannel(() => conn.createChannel());
    await rejectsWith(c.checkQueue('missing'), 404);
    // amqplib reuses freed channel numbers; a burst of new channels proves the broker freed it.
    const channels = await Promise.all(Array.from({ length: 5 }, () => conn.createChannel()));
    for (const x of channels) await x.close();
  });
});
