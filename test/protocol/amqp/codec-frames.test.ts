import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import {
  AmqpCodecError,
  COPY_BODY_MAX_BYTES,
  decodeContentHeader,
  decodeMethod,
  encodeContentMethod,
  encodeDeliver,
  encodeHeartbeat,
  encodeMethodFrame,
  encodeProperties,
  FrameParser,
  PROTOCOL_HEADER,
} from '../../../src/protocol/amqp/codec/index.js';

const require = createRequire(import.meta.url);
interface AmqplibDefs {
  encodeMethod(id: number, channel: number, fields: Record<string, unknown>): Buffer;
}
const amqplib = require(join(dirname(require.resolve('amqplib')), 'lib/defs.js')) as AmqplibDefs;

type Frame = [type: number, channel: number, payload: Buffer];
function parseAll(parser: FrameParser, chunks: Buffer[]): Frame[] {
  const frames: Frame[] = [];
  for (const c of chunks) parser.push(c, (t, ch, p) => frames.push([t, ch, Buffer.from(p)]));
  return frames;
}
const isFrameError = (err: unknown): boolean => err instanceof AmqpCodecError && err.replyCode === 501;

const sample = Buffer.concat([
  encodeMethodFrame(1, {
    method: 'basic.publish',
    exchange: 'ex',
    routingKey: 'rk',
    mandatory: false,
    immediate: false,
  }),
  encodeHeartbeat(),
  ...encodeContentMethod(
    2,
    {
      method: 'basic.get-ok',
      deliveryTag: 9,
      redelivered: true,
      exchange: '',
      routingKey: 'q',
      messageCount: 0,
    },
    encodeProperties({ contentType: 'text/plain' }),
    Buffer.from('hello world'),
    4096,
  ),
]);

describe('AMQP frames', () => {
  it('has the 0-9-1 protocol header', () => {
    assert.deepEqual(PROTOCOL_HEADER, Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'));
  });

  it('parses many frames in one chunk, with zero-copy payloads', () => {
    const parser = new FrameParser(131072);
    const frames: Frame[] = [];
    parser.push(sample, (t, ch, p) => {
      assert.equal(p.buffer, sample.buffer);
      frames.push([t, ch, p]);
    });
    assert.deepEqual(
      frames.map(([t, ch]) => [t, ch]),
      [
        [1, 1],
        [8, 0],
        [1, 2],
        [2, 2],
        [3, 2],
      ],
    );
    assert.equal(frames[4][2].toString(), 'hello world');
    assert.equal(parser.pendingBytes, 0);
  });

  it('gives the same frames for every split point and byte by byte', () => {
    const expected = parseAll(new FrameParser(131072), [sample]);
    for (let i = 0; i <= sample.length; i++) {
      for (let j = i; j <= sample.length; j += 7) {
        const chunks = [sample.subarray(0, i), sample.subarray(i, j), sample.subarray(j)];
        assert.deepEqual(parseAll(new FrameParser(131072), chunks), expected, `split at ${i}, ${j}`);
      }
    }
    const bytes = [...sample].map((b) => Buffer.from([b]));
    assert.deepEqual(parseAll(new FrameParser(131072), bytes), expected);
  });

  it('copies only the frame that spans chunks: the frames after it stay slices of the last chunk', () => {
    const splitAt = 15; // inside the first frame (basic.publish, 21 bytes), past its header
    assert.ok(splitAt > 7 && splitAt < 8 + sample.readUInt32BE(3));
    // Unpooled chunks, as a socket reads them: each has an ArrayBuffer of its own.
    const first = Buffer.allocUnsafeSlow(splitAt);
    sample.copy(first, 0, 0, splitAt);
    const last = Buffer.allocUnsafeSlow(sample.length - splitAt);
    sample.copy(last, 0, splitAt);
    const parser = new FrameParser(131072);
    const buffers: ArrayBufferLike[] = [];
    const frames: Frame[] = [];
    for (const chunk of [first, last]) {
      parser.push(chunk, (t, ch, p) => {
        buffers.push(p.buffer);
        frames.push([t, ch, Buffer.from(p)]);
      });
    }
    assert.deepEqual(frames, parseAll(new FrameParser(131072), [sample]));
    assert.notEqual(buffers[0], last.buffer, 'the spanning frame is a copy');
    assert.ok(
      buffers.slice(1).every((b) => b === last.buffer),
      'the rest are slices of the last chunk',
    );
  });

  it('rejects oversize frames, bad frame ends and unknown frame types with 501', () => {
    const frame = encodeMethodFrame(1, {
      method: 'basic.qos',
      prefetchSize: 0,
      prefetchCount: 10,
      global: false,
    });
    assert.equal(parseAll(new FrameParser(frame.length), [frame]).length, 1);
    assert.throws(() => parseAll(new FrameParser(frame.length - 1), [frame]), isFrameError);
    // Oversize is detected from the header alone, before the payload arrives.
    assert.throws(() => parseAll(new FrameParser(frame.length - 1), [frame.subarray(0, 7)]), isFrameError);
    const badEnd = Buffer.from(frame);
    badEnd[badEnd.length - 1] = 0;
    assert.throws(() => parseAll(new FrameParser(4096), [badEnd]), isFrameError);
    const badType = Buffer.from(frame);
    badType[0] = 4;
    assert.throws(() => parseAll(new FrameParser(4096), [badType]), isFrameError);
    const parser = new FrameParser(4096);
    assert.throws(() => parseAll(parser, [badType]), isFrameError);
    assert.throws(() => parseAll(parser, [frame]), isFrameError, 'a failed parser stays failed');
  });

  it('follows a changed frame max', () => {
    const parser = new FrameParser(4096);
    const big = encodeMethodFrame(0, { method: 'connection.secure', challenge: Buffer.alloc(5000) });
    assert.throws(() => parseAll(new FrameParser(4096), [big]), isFrameError);
    parser.maxFrameSizeBytes = 131072;
    assert.equal(parseAll(parser, [big]).length, 1);
  });
});

describe('AMQP content encoding', () => {
  const props = encodeProperties({ deliveryMode: 2, headers: { a: 'b' } });

  function decodeContent(chunks: Buffer[], frameMaxBytes: number) {
    const frames = parseAll(new FrameParser(frameMaxBytes || 1 << 30), chunks);
    const method = decodeMethod(frames[0][2]);
    const header = decodeContentHeader(frames[1][2]);
    const bodies = frames.slice(2);
    for (const [type, , payload] of bodies) {
      assert.equal(type, 3);
      if (frameMaxBytes > 0) assert.ok(payload.length <= frameMaxBytes - 8);
    }
    const body = Buffer.concat(bodies.map((f) => f[2]));
    assert.equal(body.length, header.bodySizeBytes);
    return { channels: frames.map((f) => f[1]), method, header, body, bodyFrames: bodies.length };
  }

  it('encodes deliver exactly as the generic path and as amqplib do', () => {
    for (const size of [0, 1, 100, 4088, 4089, COPY_BODY_MAX_BYTES + 1, 20000, 100000]) {
      const body = Buffer.alloc(size, 0x61);
      for (const frameMaxBytes of [4096, 131072, 0]) {
        const fast = encodeDeliver(5, 'ctag-é', 2 ** 40 + 3, true, 'ex', 'rk.x', props, body, frameMaxBytes);
        const generic = encodeContentMethod(
          5,
          {
            method: 'basic.deliver',
            consumerTag: 'ctag-é',
            deliveryTag: 2 ** 40 + 3,
            redelivered: true,
            exchange: 'ex',
            routingKey: 'rk.x',
          },
          props,
          body,
          frameMaxBytes,
        );
        assert.deepEqual(Buffer.concat(fast), Buffer.concat(generic));
        const theirs = amqplib.encodeMethod((60 << 16) | 60, 5, {
          consumerTag: 'ctag-é',
          deliveryTag: 2 ** 40 + 3,
          redelivered: true,
          exchange: 'ex',
          routingKey: 'rk.x',
        });
        assert.deepEqual(Buffer.concat(fast).subarray(0, theirs.length), theirs);
        const decoded = decodeContent(fast, frameMaxBytes);
        assert.deepEqual(decoded.body, body);
        assert.deepEqual(decoded.header.properties, props);
        assert.ok(decoded.channels.every((c) => c === 5));
        if (frameMaxBytes === 4096) assert.equal(decoded.bodyFrames, Math.ceil(size / 4088));
        if (size > COPY_BODY_MAX_BYTES)
          assert.ok(
            fast.some((b) => b.buffer === body.buffer),
            'large body not copied',
          );
        else assert.equal(fast.length, 1);
      }
    }
  });

  it('encodes publish, return and get-ok', () => {
    const body = Buffer.from('payload');
    const m = {
      method: 'basic.return',
      replyCode: 312,
      replyText: 'NO_ROUTE',
      exchange: 'e',
      routingKey: 'r',
    } as const;
    assert.deepEqual(decodeContent(encodeContentMethod(1, m, props, body, 4096), 4096).method, m);
    assert.throws(() =>
      encodeContentMethod(1, { method: 'basic.ack', deliveryTag: 1, multiple: false }, props, body, 4096),
    );
  });
});
