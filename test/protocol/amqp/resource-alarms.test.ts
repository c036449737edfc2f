/**
 * Resource alarms as a client sees them: a connection that publishes during a memory or disk alarm
 * gets connection.blocked and is no longer read; consumers on other connections keep draining;
 * connection.unblocked and the held publishes follow once every alarm has cleared.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { type Channel, type ChannelModel, connect } from 'amqplib';
import { startTestBroker, type TestBroker } from '../../helpers/broker.js';
import { Collector, defs, nextEvent, RawPeer, roundTrip, uniq } from './amqp-helpers.js';

const LIMIT_BYTES = 1000;

describe('resource alarms', () => {
  let broker: TestBroker;
  let memoryUsedBytes = 0;
  let diskFreeBytes = 1_000_000;
  const logLines: string[] = [];

  const setMemory = (bytes: number) => {
    memoryUsedBytes = bytes;
    broker.resources.check();
  };
  const setDiskFree = (bytes: number) => {
    diskFreeBytes = bytes;
    broker.resources.check();
  };

  before(async () => {
    broker = await startTestBroker({
      log: (line) => logLines.push(line),
      resources: {
        memoryHighWatermark: { bytes: LIMIT_BYTES },
        diskFreeLimitBytes: LIMIT_BYTES,
        memoryUsedBytes: () => memoryUsedBytes,
        diskFreeBytes: () => diskFreeBytes,
      },
    });
  });
  after(() => broker.stop());

  let publisher: ChannelModel;
  let consumer: ChannelModel;
  let pubCh: Channel;
  let subCh: Channel;
  let queue: string;
  beforeEach(async () => {
    memoryUsedBytes = 0;
    diskFreeBytes = 1_000_000;
    broker.resources.check();
    publisher = await connect(broker.url);
    consumer = await connect(broker.url);
    pubCh = await publisher.createChannel();
    subCh = await consumer.createChannel();
    queue = uniq('alarm');
    await subCh.assertQueue(queue, { durable: false });
  });
  afterEach(async () => {
    // A blocked amqplib connection closes without waiting for close-ok; clear alarms first anyway.
    memoryUsedBytes = 0;
    diskFreeBytes = 1_000_000;
    broker.resources.check();
    await publisher.close();
    await consumer.close();
  });

  it('a memory alarm blocks a publisher while a consumer on another connection keeps draining', async () => {
    for (const body of ['before-1', 'before-2', 'before-3']) pubCh.sendToQueue(queue, Buffer.from(body));
    await roundTrip(pubCh, queue);
    await subCh.prefetch(1);
    const got = new Collector();
    await subCh.consume(queue, got.handler, { noAck: false });
    await got.waitFor(1);

    const consumerBlocked: unknown[] = [];
    consumer.on('blocked', (reason) => consumerBlocked.push(reason));
    setMemory(LIMIT_BYTES + 1);
    assert.match(logLines.at(-1)!, /memory resource limit alarm set: .*--memory-high-watermark/);

    const blocked = nextEvent<[string]>(publisher, 'blocked');
    pubCh.sendToQueue(queue, Buffer.from('during'));
    const [reason] = await blocked;
    assert.equal(reason, 'low on memory');

    // The consumer acks and receives the rest of what was queued before the alarm.
    subCh.ack(got.messages[0]!);
    await got.waitFor(2);
    subCh.ack(got.messages[1]!);
    await got.waitFor(3);
    subCh.ack(got.messages[2]!);
    // The publish made during the alarm is not routed: the queue stays empty.
    await roundTrip(subCh, queue);
    assert.equal((await subCh.checkQueue(queue)).messageCount, 0);
    assert.deepEqual(got.bodies(), ['before-1', 'before-2', 'before-3']);
    // A connection that did not publish is neither notified nor blocked.
    assert.deepEqual(consumerBlocked, []);

    const unblocked = nextEvent(publisher, 'unblocked');
    setMemory(LIMIT_BYTES);
    assert.match(logLines.at(-1)!, /memory resource limit alarm cleared: .*Publishers are unblocked/);
    await unblocked;
    await got.waitFor(4);
    assert.equal(got.bodies()[3], 'during');
    // Reading resumed: the publisher's channel answers RPCs again.
    await roundTrip(pubCh, queue);
  });

  it('a publisher stays blocked until every alarm clears; the reason names both', async () => {
    setDiskFree(LIMIT_BYTES - 1);
    assert.match(logLines.at(-1)!, /disk resource limit alarm set: .*--disk-free-limit/);
    setMemory(LIMIT_BYTES + 1);
    const blocked = nextEvent<[string]>(publisher, 'blocked');
    pubCh.sendToQueue(queue, Buffer.from('held'));
    assert.equal((await blocked)[0], 'low on memory & disk');

    setMemory(0);
    assert.match(logLines.at(-1)!, /Publishers stay blocked \(still raised: disk\)/);
    // Still blocked: the held publish has not been routed.
    assert.equal((await subCh.checkQueue(queue)).messageCount, 0);

    const unblocked = nextEvent(publisher, 'unblocked');
    setDiskFree(LIMIT_BYTES);
    await unblocked;
    await roundTrip(pubCh, queue);
    assert.equal((await subCh.checkQueue(queue)).messageCount, 1);
  });

  it('a connection that only declares and consumes during an alarm is not blocked', async () => {
    setMemory(LIMIT_BYTES + 1);
    const fresh = await connect(broker.url);
    const blockedEvents: unknown[] = [];
    fresh.on('blocked', (reason) => blockedEvents.push(reason));
    const ch = await fresh.createChannel();
    const { queue: q } = await ch.assertQueue('', { exclusive: true });
    await ch.consume(q, () => {});
    await ch.checkQueue(q);
    // connection.blocked would have arrived before the checkQueue reply on this socket.
    assert.deepEqual(blockedEvents, []);
    await fresh.close();
  });

  it('a client without the connection.blocked capability is blocked silently', async () => {
    const peer = await RawPeer.open(broker.url);
    assert.equal((await peer.handshake()).method, 'ConnectionOpenOk');
    peer.sendMethod(1, 'ChannelOpen', { outOfBand: '' });
    await peer.nextMethod('ChannelOpenOk');
    setMemory(LIMIT_BYTES + 1);
    const body = Buffer.from('silent');
    peer.sendMethod(1, 'BasicPublish', {
      exchange: '',
      routingKey: queue,
      mandatory: false,
      immediate: false,
    });
    peer.write(content(1, body));
    // Sent after the publish: not read until the alarm clears.
    peer.sendMethod(1, 'BasicQos', { prefetchSize: 0, prefetchCount: 5, global: false });
    await roundTrip(subCh, queue);
    assert.equal((await subCh.checkQueue(queue)).messageCount, 0);

    setMemory(0);
    const frames: string[] = [];
    await peer.nextFrame((f) => {
      frames.push(f.method ?? `type ${f.type}`);
      return f.method === 'BasicQosOk';
    });
    assert.deepEqual(frames, ['BasicQosOk'], 'no connection.blocked/unblocked without the capability');
    assert.equal((await subCh.checkQueue(queue)).messageCount, 1);
    peer.destroy();
  });
});

/** A content header (no properties) and one body frame, encoded with amqplib's definitions. */
function content(channel: number, body: Buffer): Buffer {
  const header = (defs.encodeProperties as EncodeProperties)(
    defs.BasicProperties as number,
    channel,
    body.length,
    {},
  );
  const bodyHeader = Buffer.alloc(7);
  bodyHeader.writeUInt8(3, 0);
  bodyHeader.writeUInt16BE(channel, 1);
  bodyHeader.writeUInt32BE(body.length, 3);
  return Buffer.concat([header, bodyHeader, body, Buffer.from([0xce])]);
}

type EncodeProperties = (id: number, channel: number, size: number, fields: object) => Buffer;
