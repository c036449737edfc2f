import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import {
  AmqpCodecError,
  type AmqpMethod,
  classMethodOf,
  decodeMethod,
  decodeMethodGeneric,
  encodeMethodFrame,
  FieldKind,
  type FieldTable,
  METHOD_SPECS,
  type MethodSpec,
  methodInfo,
  methodSpecById,
  ReplyCode,
  replyCodeName,
} from '../../../src/protocol/amqp/codec/index.js';
import { prng } from '../../helpers/prng.js';

const require = createRequire(import.meta.url);
interface AmqplibDefs {
  encodeMethod(id: number, channel: number, fields: Record<string, unknown>): Buffer;
  decode(id: number, args: Buffer): Record<string, unknown>;
}
const amqplib = require(join(dirname(require.resolve('amqplib')), 'lib/defs.js')) as AmqplibDefs;

const ALPHABET = 'abcxyz.#*-_/ AZ09éü日本';
function randomString(rand: () => number, maxBytes: number): string {
  let s = '';
  const n = Math.floor(rand() * 40);
  for (let i = 0; i < n; i++) {
    const c = ALPHABET[Math.floor(rand() * ALPHABET.length)];
    if (Buffer.byteLength(s + c) > maxBytes) break;
    s += c;
  }
  return s;
}

/**
 * Tables with types that amqplib and Pier encode identically: amqplib picks b/s for small integers
 * where Pier always uses I, so integers here lie outside int16.
 */
function randomTable(rand: () => number, depth = 0): FieldTable {
  const t: FieldTable = {};
  const n = Math.floor(rand() * 5);
  for (let i = 0; i < n; i++) {
    const key = `k${i}${randomString(rand, 20)}`;
    const r = rand();
    if (r < 0.25) t[key] = randomString(rand, 100);
    else if (r < 0.4) t[key] = rand() < 0.5;
    else if (r < 0.55)
      t[key] = (Math.floor(rand() * (2 ** 31 - 2 ** 15)) + 2 ** 15) * (rand() < 0.5 ? -1 : 1);
    else if (r < 0.65) t[key] = rand() * 1000 + 0.5;
    else if (r < 0.75) t[key] = Math.floor(rand() * 2 ** 50) + 2 ** 32;
    else if (r < 0.85 && depth < 3) t[key] = randomTable(rand, depth + 1);
    else if (depth < 3) t[key] = [randomString(rand, 10), 100000, randomTable(rand, depth + 1)];
    else t[key] = 'leaf';
  }
  return t;
}

function randomMethod(spec: MethodSpec, rand: () => number): AmqpMethod {
  const m: Record<string, unknown> = { method: spec.name };
  for (const [name, kind] of spec.fields) {
    if (name === null) continue;
    switch (kind) {
      case FieldKind.OCTET:
        m[name] = Math.floor(rand() * 256);
        break;
      case FieldKind.SHORT:
        m[name] = Math.floor(rand() * 65536);
        break;
      case FieldKind.LONG:
        m[name] = Math.floor(rand() * 2 ** 32);
        break;
      case FieldKind.LONGLONG:
      case FieldKind.TIMESTAMP:
        m[name] = Math.floor(rand() * 2 ** 53);
        break;
      case FieldKind.BIT:
        m[name] = rand() < 0.5;
        break;
      case FieldKind.SHORTSTR:
        m[name] = randomString(rand, 255);
        break;
      case FieldKind.LONGSTR:
        m[name] = randomString(rand, 1000);
        break;
      case FieldKind.BYTES:
        m[name] = Buffer.from(randomString(rand, 100));
        break;
      case FieldKind.TABLE:
        m[name] = randomTable(rand);
        break;
    }
  }
  return m as unknown as AmqpMethod;
}

/** Strips the 7-byte frame header and frame-end, checking both. */
function payloadOf(frame: Buffer, channel: number): Buffer {
  assert.equal(frame[0], 1);
  assert.equal(frame.readUInt16BE(1), channel);
  assert.equal(frame.readUInt32BE(3), frame.length - 8);
  assert.equal(frame[frame.length - 1], 206);
  return frame.subarray(7, frame.length - 1);
}

/** amqplib decodes every longstr as a Buffer; Pier only the binary ones. */
function normaliseAmqplib(spec: MethodSpec, fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { method: spec.name };
  for (const [name, kind] of spec.fields) {
    if (name === null) continue;
    const v = fields[name];
    out[name] = kind === FieldKind.LONGSTR && Buffer.isBuffer(v) ? v.toString('utf8') : v;
  }
  return out;
}

describe('AMQP method codec', () => {
  it('round-trips every method with random arguments', () => {
    const rand = prng(1);
    for (const spec of METHOD_SPECS) {
      for (let i = 0; i < 30; i++) {
        const m = randomMethod(spec, rand);
        const channel = Math.floor(rand() * 65536);
        const frame = encodeMethodFrame(channel, m);
        const payload = payloadOf(frame, channel);
        assert.deepEqual(decodeMethod(payload), m, spec.name);
        assert.deepEqual(decodeMethodGeneric(spec, payload), m, `${spec.name} (generic)`);
      }
    }
  });

  it('is byte-compatible with amqplib in both directions', () => {
    const rand = prng(2);
    for (const spec of METHOD_SPECS) {
      const id = spec.classId * 65536 + spec.methodId;
      for (let i = 0; i < 20; i++) {
        const m = randomMethod(spec, rand);
        const ours = encodeMethodFrame(3, m);
        const fields: Record<string, unknown> = { ...m };
        for (const [name, kind] of spec.fields) {
          if (name !== null && kind === FieldKind.LONGSTR) fields[name] = Buffer.from(fields[name] as string);
        }
        if (spec.name === 'access.request-ok') fields.ticket = 0; // amqplib's default is 1
        const theirs = amqplib.encodeMethod(id, 3, fields);
        assert.deepEqual(ours, theirs, `${spec.name} encodes as amqplib does`);
        const decoded = amqplib.decode(id, payloadOf(ours, 3).subarray(4));
        assert.deepEqual(normaliseAmqplib(spec, decoded), m, `amqplib decodes our ${spec.name}`);
      }
    }
  });

  it('decodes amqplib frames that set reserved fields to their defaults', () => {
    const frame = amqplib.encodeMethod((10 << 16) | 40, 0, {
      virtualHost: '/v',
      capabilities: 'x',
      insist: true,
    });
    assert.deepEqual(decodeMethod(frame.subarray(7, -1)), { method: 'connection.open', virtualHost: '/v' });
  });

  it('packs consecutive bits into one octet', () => {
    const frame = encodeMethodFrame(1, {
      method: 'queue.declare',
      queue: 'q',
      passive: true,
      durable: false,
      exclusive: true,
      autoDelete: false,
      nowait: true,
      arguments: {},
    });
    // ids(4) ticket(2) queue(1+1) bits(1) table(4)
    assert.equal(frame.readUInt32BE(3), 13);
    assert.equal(frame[7 + 8], 0b10101);
  });

  it('exposes method facts', () => {
    assert.deepEqual(methodInfo('basic.publish'), {
      ...methodSpecById(60, 40),
      classId: 60,
      methodId: 40,
      synchronous: false,
      hasContent: true,
    });
    assert.equal(methodInfo('queue.declare').synchronous, true);
    assert.equal(methodInfo('basic.get-ok').hasContent, true);
    assert.equal(methodInfo('basic.ack').hasContent, false);
    assert.deepEqual(classMethodOf(Buffer.from([0, 60, 0, 40, 1])), { classId: 60, methodId: 40 });
    assert.equal(ReplyCode.PRECONDITION_FAILED, 406);
    assert.equal(ReplyCode.CONNECTION_FORCED, 320);
    assert.equal(replyCodeName(404), 'NOT_FOUND');
    assert.equal(replyCodeName(999), undefined);
  });

  it('rejects unknown methods with 540 and undecodable arguments with 501', () => {
    const codeOf = (payload: Buffer): number => {
      try {
        decodeMethod(payload);
      } catch (err) {
        assert.ok(err instanceof AmqpCodecError);
        return err.replyCode;
      }
      assert.fail('expected an AmqpCodecError');
    };
    assert.equal(codeOf(Buffer.from([0, 60, 0, 41])), 540);
    assert.equal(codeOf(Buffer.from([0, 99, 0, 10])), 540);
    assert.equal(codeOf(Buffer.from([0, 60])), 501);
    const publish = encodeMethodFrame(1, {
      method: 'basic.publish',
      exchange: 'ex',
      routingKey: 'rk',
      mandatory: true,
      immediate: false,
    }).subarray(7, -1);
    const close = encodeMethodFrame(0, {
      method: 'connection.close',
      replyCode: 200,
      replyText: 'bye',
      classId: 0,
      methodId: 0,
    }).subarray(7, -1);
    for (const payload of [publish, close]) {
      for (let cut = 4; cut < payload.length; cut++) assert.equal(codeOf(payload.subarray(0, cut)), 501);
      assert.equal(codeOf(Buffer.concat([payload, Buffer.from([0])])), 501);
    }
    assert.equal(codeOf(Buffer.from([0, 60, 0, 80, 0, 0, 0, 0, 0, 0, 0, 1])), 501);
  });

  it('reports malformed tables inside arguments as 502', () => {
    // exchange.declare with an arguments table holding an unknown field type 'Z'
    const table = Buffer.from([0, 0, 0, 3, 1, 0x61, 0x5a]);
    const payload = Buffer.concat([Buffer.from([0, 40, 0, 10, 0, 0, 1, 0x78, 0, 0]), table]);
    assert.throws(
      () => decodeMethod(payload),
      (err: unknown) => err instanceof AmqpCodecError && err.replyCode === 502,
    );
  });
});
