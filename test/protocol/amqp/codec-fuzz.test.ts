import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AmqpCodecError,
  decodeContentHeader,
  decodeMethod,
  decodeProperties,
  decodeTable,
  encodeContentMethod,
  encodeMethodFrame,
  encodeProperties,
  encodeTable,
  FrameParser,
  readDeliveryMode,
  readExpiration,
  readPriority,
} from '../../../src/protocol/amqp/codec/index.js';
import { prng } from '../../helpers/prng.js';

const headers = {
  a: 'x',
  n: 5,
  d: 1.5,
  l: 2n ** 62n,
  t: new Date(0),
  arr: [1, { b: true }],
  bin: Buffer.from([1]),
};
const props = encodeProperties({ contentType: 'c', headers, deliveryMode: 2, priority: 1, expiration: '10' });
const seeds: Buffer[] = [
  encodeMethodFrame(1, {
    method: 'basic.publish',
    exchange: 'ex',
    routingKey: 'a.b',
    mandatory: true,
    immediate: false,
  }),
  encodeMethodFrame(0, {
    method: 'connection.start-ok',
    clientProperties: { product: 'x', capabilities: { a: true } },
    mechanism: 'PLAIN',
    response: Buffer.from('\0guest\0guest'),
    locale: 'en_US',
  }),
  encodeMethodFrame(1, {
    method: 'queue.declare',
    queue: 'q',
    passive: false,
    durable: true,
    exclusive: false,
    autoDelete: false,
    nowait: false,
    arguments: headers,
  }),
  encodeMethodFrame(1, { method: 'basic.ack', deliveryTag: 7, multiple: true }),
  Buffer.concat(
    encodeContentMethod(
      1,
      { method: 'basic.publish', exchange: '', routingKey: 'q', mandatory: false, immediate: false },
      props,
      Buffer.from('body'),
      4096,
    ),
  ),
];

function mutate(rand: () => number, input: Buffer): Buffer {
  const buf = Buffer.from(input);
  const edits = 1 + Math.floor(rand() * 4);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(rand() * buf.length);
    const r = rand();
    if (r < 0.5) buf[at] = Math.floor(rand() * 256);
    else if (r < 0.7) buf[at] ^= 1 << Math.floor(rand() * 8);
    else if (r < 0.85) buf[at] = [0, 0xff, 0x7f, 0x80][Math.floor(rand() * 4)];
    else return buf.subarray(0, at);
  }
  return buf;
}

/** Runs everything the broker would run on a frame; only AmqpCodecError may escape. */
function consume(input: Buffer, rand: () => number): void {
  const parser = new FrameParser(131072);
  const cut = Math.floor(rand() * input.length);
  const onFrame = (type: number, _channel: number, payload: Buffer) => {
    if (type === 1) decodeMethod(payload);
    else if (type === 2) {
      const { properties } = decodeContentHeader(payload);
      decodeProperties(properties);
      readDeliveryMode(properties);
      readPriority(properties);
      readExpiration(properties);
    }
  };
  parser.push(input.subarray(0, cut), onFrame);
  parser.push(input.subarray(cut), onFrame);
}

function onlyCodecErrors(fn: () => void, what: string): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof AmqpCodecError)) assert.fail(`${what}: ${(err as Error).stack}`);
  }
}

describe('AMQP codec fuzz', () => {
  it('throws nothing but AmqpCodecError on random and mutated input', () => {
    const rand = prng(0xc0dec);
    for (let i = 0; i < 4000; i++) {
      const seed = seeds[i % seeds.length];
      const input =
        i % 10 === 0
          ? Buffer.from(Array.from({ length: Math.floor(rand() * 64) }, () => Math.floor(rand() * 256)))
          : mutate(rand, seed);
      onlyCodecErrors(() => consume(input, rand), `frames iteration ${i}`);
      // Payload-level decoders on the raw mutated bytes, skipping the frame layer's checks.
      const payload = input.subarray(7, Math.max(7, input.length - 1));
      onlyCodecErrors(() => decodeMethod(payload), `decodeMethod iteration ${i}`);
      onlyCodecErrors(() => decodeContentHeader(payload), `decodeContentHeader iteration ${i}`);
      onlyCodecErrors(() => decodeProperties(payload), `decodeProperties iteration ${i}`);
      onlyCodecErrors(() => readDeliveryMode(payload), `readDeliveryMode iteration ${i}`);
      onlyCodecErrors(() => readExpiration(payload), `readExpiration iteration ${i}`);
      onlyCodecErrors(() => decodeTable(mutate(rand, encodeTable(headers)), 0), `decodeTable iteration ${i}`);
    }
  });
});
