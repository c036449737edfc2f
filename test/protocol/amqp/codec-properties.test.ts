import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import {
  AmqpCodecError,
  type BasicProperties,
  decodeContentHeader,
  decodeProperties,
  encodeProperties,
  readDeliveryMode,
  readExpiration,
  readPriority,
} from '../../../src/protocol/amqp/codec/index.js';

const require = createRequire(import.meta.url);
interface AmqplibDefs {
  encodeProperties(id: number, channel: number, size: number, fields: Record<string, unknown>): Buffer;
  decode(id: number, args: Buffer): Record<string, unknown>;
}
const amqplib = require(join(dirname(require.resolve('amqplib')), 'lib/defs.js')) as AmqplibDefs;

const ALL: BasicProperties = {
  contentType: 'application/json',
  contentEncoding: 'gzip',
  headers: { 'x-a': 'b', n: 100000, nested: { deep: ['x'] } },
  deliveryMode: 2,
  priority: 7,
  correlationId: 'corr-1',
  replyTo: 'amq.rabbitmq.reply-to',
  expiration: '60000',
  messageId: 'm-1',
  timestamp: 1_700_000_000,
  type: 'order.created',
  userId: 'guest',
  appId: 'pier-tests',
  clusterId: 'c1',
};
const isSyntaxError = (err: unknown): boolean => err instanceof AmqpCodecError && err.replyCode === 502;

/** Every subset of properties is covered by walking each property alone, all, and alternating. */
function subsets(): BasicProperties[] {
  const keys = Object.keys(ALL) as (keyof BasicProperties)[];
  const out: BasicProperties[] = [{}, ALL];
  for (const k of keys) out.push({ [k]: ALL[k] });
  for (let mask = 0; mask < 64; mask++) {
    const p: Record<string, unknown> = {};
    keys.forEach((k, i) => {
      if ((mask >> (i % 6)) & 1) p[k] = ALL[k];
    });
    out.push(p as BasicProperties);
  }
  return out;
}

function stripUndefined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

describe('AMQP basic properties', () => {
  it('round-trips every property and matches amqplib byte for byte', () => {
    for (const props of subsets()) {
      const raw = encodeProperties(props);
      assert.deepEqual(decodeProperties(raw), props);
      const theirFrame = amqplib.encodeProperties(60, 1, 42, props as Record<string, unknown>);
      const header = decodeContentHeader(theirFrame.subarray(7, -1));
      assert.equal(header.classId, 60);
      assert.equal(header.bodySizeBytes, 42);
      assert.deepEqual(header.properties, raw);
      assert.deepEqual(stripUndefined(amqplib.decode(60, raw)), props);
    }
  });

  it('reads delivery-mode, priority and expiration without a full decode', () => {
    for (const props of subsets()) {
      const raw = encodeProperties(props);
      assert.equal(readDeliveryMode(raw), props.deliveryMode ?? 0);
      assert.equal(readPriority(raw), props.priority);
      assert.equal(readExpiration(raw), props.expiration);
    }
  });

  it('accepts an empty continuation flag word and rejects unknown property bits', () => {
    const raw = encodeProperties({ contentType: 't', priority: 3 });
    const flags = raw.readUInt16BE(0);
    const continued = Buffer.concat([
      Buffer.from([(flags | 1) >> 8, (flags | 1) & 0xff, 0, 0]),
      raw.subarray(2),
    ]);
    assert.deepEqual(decodeProperties(continued), { contentType: 't', priority: 3 });
    assert.equal(readPriority(continued), 3);
    const header = Buffer.concat([Buffer.from([0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), continued]);
    assert.deepEqual(decodeContentHeader(header).properties, continued);
    const extra = Buffer.from(continued);
    extra[3] = 0x80;
    assert.throws(() => decodeProperties(extra), isSyntaxError);
    const unused = Buffer.from(raw);
    unused[1] |= 2;
    assert.throws(() => decodeProperties(unused), isSyntaxError);
  });

  it('rejects malformed content headers', () => {
    const payload = amqplib.encodeProperties(60, 1, 5, ALL as Record<string, unknown>).subarray(7, -1);
    for (let cut = 0; cut < payload.length; cut++) {
      assert.throws(() => decodeContentHeader(payload.subarray(0, cut)), isSyntaxError, `cut at ${cut}`);
    }
    assert.throws(() => decodeContentHeader(Buffer.concat([payload, Buffer.from([0])])), isSyntaxError);
    const other = Buffer.from(payload);
    other[1] = 50;
    assert.throws(
      () => decodeContentHeader(other),
      (err: unknown) => err instanceof AmqpCodecError && err.replyCode === 505,
    );
    // headers table containing an unknown field type
    const bad = encodeProperties({ headers: { k: 'v' } });
    bad[9] = 0x5a;
    const badHeader = Buffer.concat([Buffer.from([0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), bad]);
    assert.throws(() => decodeContentHeader(badHeader), isSyntaxError);
  });
});
