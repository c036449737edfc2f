/**
 * The consumer acknowledgement timeout, exact to the millisecond with a ManualClock: an unacked
 * delivery as old as the timeout closes its channel with RabbitMQ's 406, and its message goes back
 * to the queue, redelivered.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { type Channel, type ChannelModel, connect } from 'amqplib';
import { ManualClock } from '../../../src/index.js';
import { startTestBroker, type TestBroker } from '../../helpers/broker.js';
import { Collector, channelError, roundTrip, uniq } from './amqp-helpers.js';

const TIMEOUT_MS = 60_000;
const TIMEOUT_TEXT =
  'PRECONDITION_FAILED - delivery acknowledgement on channel 1 timed out. Timeout value used: 60000 ms. ' +
  'This timeout value can be configured, see consumers doc guide to learn more';

describe('consumer acknowledgement timeout', () => {
  let clock: ManualClock;
  let broker: TestBroker;
  let conn: ChannelModel;
  let ch: Channel;
  let queue: string;

  async function start(consumerTimeoutMs: number): Promise<void> {
    clock = new ManualClock();
    broker = await startTestBroker({ clock, amqp: { consumerTimeoutMs } });
    conn = await connect(broker.url);
    ch = await conn.createChannel();
    queue = uniq('slow');
    await ch.assertQueue(queue, { durable: false });
  }

  beforeEach(() => start(TIMEOUT_MS));
  afterEach(async () => {
    await conn.close();
    await broker.stop();
  });

  /** The message's next delivery, to a fresh consumer on another channel. */
  async function redelivery(): Promise<{ body: string; redelivered: boolean }> {
    const other = await conn.createChannel();
    const got = new Collector();
    await other.consume(queue, got.handler, { noAck: true });
    const [m] = await got.waitFor(1);
    return { body: m!.content.toString(), redelivered: m!.fields.redelivered };
  }

  it('closes the channel exactly at the timeout and requeues the delivery as redelivered', async () => {
    const got = new Collector();
    await ch.consume(queue, got.handler, { noAck: false });
    ch.sendToQueue(queue, Buffer.from('slow'));
    await got.waitFor(1);

    clock.advance(TIMEOUT_MS - 1);
    await roundTrip(ch, queue); // still open one millisecond before the timeout

    const failed = channelError(ch);
    clock.advance(1);
    const error = await failed;
    assert.equal(error.code, 406);
    assert.equal(
      error.message,
      `Channel closed by server: 406 (PRECONDITION-FAILED) with message "${TIMEOUT_TEXT}"`,
    );
    assert.deepEqual(await redelivery(), { body: 'slow', redelivered: true });
  });

  it('counts from the oldest delivery still unacked', async () => {
    const got = new Collector();
    await ch.consume(queue, got.handler, { noAck: false });
    ch.sendToQueue(queue, Buffer.from('first'));
    await got.waitFor(1);
    clock.advance(40_000);
    ch.sendToQueue(queue, Buffer.from('second'));
    await got.waitFor(2);
    ch.ack(got.messages[0]!);
    await roundTrip(ch, queue);

    // 'first' would have timed out now; 'second' is 59.999 s old.
    clock.advance(TIMEOUT_MS - 1);
    await roundTrip(ch, queue);
    const failed = channelError(ch);
    clock.advance(1);
    assert.equal((await failed).code, 406);
    assert.deepEqual(await redelivery(), { body: 'second', redelivered: true });
  });

  it('applies to basic.get with manual acknowledgement', async () => {
    ch.sendToQueue(queue, Buffer.from('got'));
    await roundTrip(ch, queue);
    const m = await ch.get(queue, { noAck: false });
    assert.ok(m);
    clock.advance(TIMEOUT_MS - 1);
    await roundTrip(ch, queue);
    const failed = channelError(ch);
    clock.advance(1);
    assert.equal((await failed).message.includes(TIMEOUT_TEXT), true);
    assert.deepEqual(await redelivery(), { body: 'got', redelivered: true });
  });

  it('acked and no-ack deliveries never time out', async () => {
    const got = new Collector();
    await ch.consume(queue, got.handler, { noAck: false });
    ch.sendToQueue(queue, Buffer.from('acked'));
    await got.waitFor(1);
    ch.ack(got.messages[0]!);
    const { queue: noAckQueue } = await ch.assertQueue('', { exclusive: true });
    const free = new Collector();
    await ch.consume(noAckQueue, free.handler, { noAck: true });
    ch.sendToQueue(noAckQueue, Buffer.from('no-ack'));
    await free.waitFor(1);
    clock.advance(10 * TIMEOUT_MS);
    await roundTrip(ch, queue);
  });

  it('0 switches the timeout off', async () => {
    await conn.close();
    await broker.stop();
    await start(0);
    const got = new Collector();
    await ch.consume(queue, got.handler, { noAck: false });
    ch.sendToQueue(queue, Buffer.from('forever'));
    await got.waitFor(1);
    clock.advance(100 * TIMEOUT_MS);
    await roundTrip(ch, queue);
    ch.ack(got.messages[0]!);
  });
});
