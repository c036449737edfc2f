// Direct reply-to (amq.rabbitmq.reply-to): RPC replies straight to the requesting channel, no
// reply queue. Runs against RabbitMQ too (PIER_AMQP_TEST_URL).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import {
  type BrokerUnderTest,
  channelError,
  closeBrokerChannel,
  errorChannel,
  openBrokerChannel,
  rejectsWith,
  uniq,
  within,
} from './amqp-helpers.js';

const REPLY_TO = 'amq.rabbitmq.reply-to';

describe('direct reply-to', () => {
  let broker: BrokerUnderTest;
  let conn: ChannelModel;
  let ch: Channel;
  before(async () => {
    ({ broker, conn, ch } = await openBrokerChannel());
  });
  after(() => closeBrokerChannel({ broker, conn, ch }));

  it('a request with reply_to amq.rabbitmq.reply-to gets its reply without a reply queue', async () => {
    const requests = uniq('rpc');
    await ch.assertQueue(requests, { exclusive: true });
    // The server: answers on another connection's channel, to the rewritten reply_to.
    const serverChannel = await conn.createChannel();
    const seenReplyTo: string[] = [];
    await serverChannel.consume(
      requests,
      (m) => {
        if (!m) return;
        seenReplyTo.push(m.properties.replyTo);
        serverChannel.publish('', m.properties.replyTo, Buffer.from(`re: ${m.content}`), {
          correlationId: m.properties.correlationId,
        });
      },
      { noAck: true },
    );
    const client = await conn.createChannel();
    const replies: ConsumeMessage[] = [];
    let gotBoth: () => void = () => {};
    const both = new Promise<void>((resolve) => {
      gotBoth = resolve;
    });
    const { consumerTag } = await client.consume(
      REPLY_TO,
      (m) => {
        if (m) replies.push(m);
        if (replies.length === 2) gotBoth();
      },
      { noAck: true },
    );
    client.publish('', requests, Buffer.from('one'), { replyTo: REPLY_TO, correlationId: 'c1' });
    client.publish('', requests, Buffer.from('two'), { replyTo: REPLY_TO, correlationId: 'c2' });
    await within(both, 5000, 'two replies');
    assert.deepEqual(
      replies.map((m) => [m.content.toString(), m.properties.correlationId, m.fields.consumerTag]),
      [
        ['re: one', 'c1', consumerTag],
        ['re: two', 'c2', consumerTag],
      ],
    );
    assert.match(seenReplyTo[0]!, /^amq\.rabbitmq\.reply-to\../);
    assert.equal(replies[0]!.fields.routingKey, seenReplyTo[0]);
    await client.close();
    await serverChannel.close();
  });

  it("refuses an acking reply consumer, a second one, and a request without one, with RabbitMQ's texts", async () => {
    const acking = await errorChannel(() => conn.createChannel());
    await rejectsWith(
      acking.consume(REPLY_TO, () => {}, { noAck: false }),
      406,
      /reply consumer cannot acknowledge/,
    );
    const twice = await errorChannel(() => conn.createChannel());
    await twice.consume(REPLY_TO, () => {}, { noAck: true });
    await rejectsWith(
      twice.consume(REPLY_TO, () => {}, { noAck: true }),
      406,
      /reply consumer already set/,
    );
    const noConsumer = await conn.createChannel();
    const failed = channelError(noConsumer);
    noConsumer.publish('', 'anywhere', Buffer.from('q'), { replyTo: REPLY_TO });
    const error = await failed;
    assert.equal(error.code, 406);
    assert.match(error.message, /PRECONDITION_FAILED - fast reply consumer does not exist/);
  });
});
