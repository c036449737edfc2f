/**
 * Fuzzing the running broker: raw sockets send valid AMQP conversations with random mutations
 * (flipped bytes, truncations, insertions, duplicated and reordered frames) and pure noise. The
 * broker must never crash, must keep serving a well-behaved client, and must never damage the
 * persistent messages already stored in another queue.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, test } from 'node:test';
import amqp from 'amqplib';
import { encodeContentMethod } from '../../../src/protocol/amqp/codec/content.js';
import { encodeTable } from '../../../src/protocol/amqp/codec/field-table.js';
import { PROTOCOL_HEADER } from '../../../src/protocol/amqp/codec/frames.js';
import { encodeMethodFrame } from '../../../src/protocol/amqp/codec/methods.js';
import { encodeProperties } from '../../../src/protocol/amqp/codec/properties.js';
import { startTestBroker, type TestBroker } from '../../helpers/broker.js';
import { converse, GENERIC_MUTATIONS, type Mutation, pick } from '../../helpers/fuzz-mutations.js';
import { prng } from '../../helpers/prng.js';

const ITERATIONS = Number(process.env.PIER_FUZZ_ITERATIONS ?? 400);
const VICTIM_QUEUE = 'victim-durable-queue';
const VICTIM_MESSAGES = 200;

/** A complete, valid client conversation as a list of frames (after the protocol header). */
function validConversation(): Buffer[] {
  const props = encodeProperties({ contentType: 'text/plain', deliveryMode: 2, headers: { a: 1, b: 'x' } });
  return [
    encodeMethodFrame(0, {
      method: 'connection.start-ok',
      clientProperties: { product: 'fuzzer', capabilities: { consumer_cancel_notify: true } },
      mechanism: 'PLAIN',
      response: Buffer.from('\0guest\0guest'),
      locale: 'en_US',
    }),
    encodeMethodFrame(0, { method: 'connection.tune-ok', channelMax: 16, frameMax: 131072, heartbeat: 0 }),
    encodeMethodFrame(0, { method: 'connection.open', virtualHost: '/' }),
    encodeMethodFrame(1, { method: 'channel.open' }),
    encodeMethodFrame(1, {
      method: 'exchange.declare',
      exchange: 'fz.x',
      type: 'topic',
      passive: false,
      durable: false,
      autoDelete: true,
      internal: false,
      nowait: false,
      arguments: {},
    }),
    encodeMethodFrame(1, {
      method: 'queue.declare',
      queue: 'fz.q',
      passive: false,
      durable: false,
      exclusive: true,
      autoDelete: false,
      nowait: false,
      arguments: { 'x-custom': 'v' },
    }),
    encodeMethodFrame(1, {
      method: 'queue.bind',
      queue: 'fz.q',
      exchange: 'fz.x',
      routingKey: 'a.#',
      nowait: false,
      arguments: {},
    }),
    encodeMethodFrame(1, { method: 'confirm.select', nowait: false }),
    ...encodeContentMethod(
      1,
      { method: 'basic.publish', exchange: 'fz.x', routingKey: 'a.b', mandatory: true, immediate: false },
      props,
      Buffer.from('hello fuzz'),
      4096,
    ),
    ...encodeContentMethod(
      1,
      { method: 'basic.publish', exchange: '', routingKey: 'fz.q', mandatory: false, immediate: false },
      props,
      Buffer.alloc(9000, 7),
      4096,
    ),
    encodeMethodFrame(1, { method: 'basic.qos', prefetchSize: 0, prefetchCount: 10, global: false }),
    encodeMethodFrame(1, {
      method: 'basic.consume',
      queue: 'fz.q',
      consumerTag: 'c1',
      noLocal: false,
      noAck: false,
      exclusive: false,
      nowait: false,
      arguments: {},
    }),
    encodeMethodFrame(1, { method: 'basic.ack', deliveryTag: 1, multiple: true }),
    encodeMethodFrame(1, { method: 'basic.get', queue: 'fz.q', noAck: true }),
    encodeMethodFrame(1, { method: 'basic.nack', deliveryTag: 2, multiple: false, requeue: true }),
    encodeMethodFrame(1, { method: 'queue.purge', queue: 'fz.q', nowait: false }),
    encodeMethodFrame(1, {
      method: 'channel.close',
      replyCode: 200,
      replyText: 'bye',
      classId: 0,
      methodId: 0,
    }),
    encodeMethodFrame(0, {
      method: 'connection.close',
      replyCode: 200,
      replyText: 'bye',
      classId: 0,
      methodId: 0,
    }),
  ];
}

const MUTATIONS: readonly Mutation[] = [
  ...GENERIC_MUTATIONS,
  // Overwrite a length field with a huge value.
  (frames, random) => {
    const index = Math.floor(random() * frames.length);
    const frame = Buffer.from(frames[index]!);
    if (frame.length >= 7) frame.writeUInt32BE(Math.floor(random() * 0xffffffff), 3);
    return frames.map((f, i) => (i === index ? frame : f));
  },
  // A field table full of garbage inside a queue.declare.
  (frames, random) => {
    const table = encodeTable({ k: 'v', n: 1 });
    for (let i = 4; i < table.length; i++) if (random() < 0.3) table[i] = Math.floor(random() * 256);
    const frame = encodeMethodFrame(2, { method: 'channel.open' });
    return [
      ...frames.slice(0, 4),
      frame,
      Buffer.concat([
        Buffer.from([1, 0, 2, 0, 0, 0, table.length + 4, 0, 50, 0, 10]),
        table,
        Buffer.from([206]),
      ]),
    ];
  },
];

let broker: TestBroker;
const victimBodies: Buffer[] = [];

before(async () => {
  broker = await startTestBroker();
  const connection = await amqp.connect(broker.url);
  const channel = await connection.createConfirmChannel();
  await channel.assertQueue(VICTIM_QUEUE, { durable: true });
  for (let i = 0; i < VICTIM_MESSAGES; i++) {
    const body = Buffer.from(`victim ${i} ${'#'.repeat(i % 50)}`);
    victimBodies.push(body);
    channel.sendToQueue(VICTIM_QUEUE, body, { persistent: true, messageId: String(i) });
  }
  await channel.waitForConfirms();
  await connection.close();
});

after(async () => {
  await broker.close();
  rmSync(broker.dataDir, { recursive: true, force: true });
});

test(`${ITERATIONS} mutated and random conversations neither crash the broker nor touch stored messages`, async () => {
  const random = prng(Number(process.env.PIER_FUZZ_SEED ?? 7));
  const base = validConversation();
  for (let i = 0; i < ITERATIONS; i++) {
    let bytes: Buffer;
    const kind = random();
    if (kind < 0.1) {
      // Pure noise, with or without a valid protocol header in front.
      const noise = Buffer.from(
        Array.from({ length: Math.floor(random() * 512) }, () => Math.floor(random() * 256)),
      );
      bytes = random() < 0.5 ? noise : Buffer.concat([PROTOCOL_HEADER, noise]);
    } else {
      let frames = base;
      for (let n = 1 + Math.floor(random() * 3); n > 0 && frames.length > 0; n--) {
        frames = pick(MUTATIONS, random)(frames, random);
      }
      bytes = Buffer.concat([PROTOCOL_HEADER, ...frames]);
    }
    await converse(broker.amqp!.port, bytes, 10_000);
  }

  // A well-behaved client is still served, and the stored messages are all there, intact, in order.
  const connection = await amqp.connect(broker.url);
  const channel = await connection.createChannel();
  const { messageCount } = await channel.checkQueue(VICTIM_QUEUE);
  assert.equal(messageCount, VICTIM_MESSAGES);
  for (let i = 0; i < VICTIM_MESSAGES; i++) {
    const message = await channel.get(VICTIM_QUEUE, { noAck: false });
    assert.ok(message, `victim message ${i} missing`);
    assert.deepEqual(message.content, victimBodies[i]);
    assert.equal(message.properties.messageId, String(i));
  }
  await connection.close();
});

test('stored messages survive a restart after the fuzzing, intact', async () => {
  await broker.close();
  broker = await startTestBroker({ dataDir: broker.dataDir });
  const connection = await amqp.connect(broker.url);
  const channel = await connection.createChannel();
  const { messageCount } = await channel.checkQueue(VICTIM_QUEUE);
  assert.equal(messageCount, VICTIM_MESSAGES);
  const first = await channel.get(VICTIM_QUEUE, { noAck: true });
  assert.ok(first);
  assert.deepEqual(first.content, victimBodies[0]);
  await connection.close();
});
