import { FRAME_OVERHEAD_BYTES } from './frames.js';
import { methodSpec, writeMethodFrame } from './methods.js';
import {
  type AmqpMethod,
  BASIC_CLASS_ID,
  FRAME_BODY,
  FRAME_END,
  FRAME_HEADER,
  METHOD_SPECS,
} from './spec.js';
import { Writer } from './writer.js';

/** Bodies up to this size are copied into the frame buffer; larger ones are sent as slices. */
export const COPY_BODY_MAX_BYTES = 4096;
const TWO_POW_32 = 4294967296;
const BASIC_DELIVER = METHOD_SPECS.find((s) => s.name === 'basic.deliver')!;

/**
 * Encodes a content-bearing method (basic.publish/return/deliver/get-ok) as method frame + content
 * header frame + body frames of at most frameMaxBytes - 8 payload bytes (0 = no limit).
 *
 * Returns Buffer[] for socket.writev/cork: bodies up to COPY_BODY_MAX_BYTES are copied into one
 * buffer; larger bodies are referenced, never copied, with frame headers and ends in small buffers
 * between the slices. Concatenate the array to get the exact wire bytes.
 */
export function encodeContentMethod(
  channel: number,
  method: AmqpMethod,
  rawProperties: Buffer,
  body: Buffer,
  frameMaxBytes: number,
): Buffer[] {
  const spec = methodSpec(method.method);
  if (!spec.hasContent) throw new TypeError(`${method.method} carries no content`);
  const w = new Writer(
    256 + rawProperties.length + (body.length <= COPY_BODY_MAX_BYTES ? body.length + 64 : 0),
  );
  writeMethodFrame(w, channel, spec, method as unknown as Record<string, unknown>);
  return finishContent(w.buf, w.offset, channel, rawProperties, body, frameMaxBytes, w.buf.length);
}

/**
 * basic.deliver, hand-written because it is the hottest path: sizes computed up front, one
 * allocation for the frames (plus slices of large bodies), no intermediate objects.
 */
export function encodeDeliver(
  channel: number,
  consumerTag: string,
  deliveryTag: number,
  redelivered: boolean,
  exchange: string,
  routingKey: string,
  rawProperties: Buffer,
  body: Buffer,
  frameMaxBytes: number,
): Buffer[] {
  const tagLen = Buffer.byteLength(consumerTag);
  const exLen = Buffer.byteLength(exchange);
  const rkLen = Buffer.byteLength(routingKey);
  if (tagLen > 255 || exLen > 255 || rkLen > 255) throw new RangeError('shortstr longer than 255 bytes');
  const methodSize = 4 + 1 + tagLen + 8 + 1 + 1 + exLen + 1 + rkLen;
  const copyBody = body.length <= COPY_BODY_MAX_BYTES;
  const capacity =
    methodSize +
    8 +
    headerFrameBytes(rawProperties) +
    (copyBody ? bodyFramesBytes(body.length, frameMaxBytes) : 7);
  const buf = Buffer.allocUnsafe(capacity);
  buf[0] = 1;
  buf.writeUInt16BE(channel, 1);
  buf.writeUInt32BE(methodSize, 3);
  buf.writeUInt16BE(BASIC_DELIVER.classId, 7);
  buf.writeUInt16BE(BASIC_DELIVER.methodId, 9);
  let off = 11;
  buf[off++] = tagLen;
  off += buf.write(consumerTag, off, 'utf8');
  off = buf.writeUInt32BE(Math.floor(deliveryTag / TWO_POW_32), off);
  off = buf.writeUInt32BE(deliveryTag >>> 0, off);
  buf[off++] = redelivered ? 1 : 0;
  buf[off++] = exLen;
  off += buf.write(exchange, off, 'utf8');
  buf[off++] = rkLen;
  off += buf.write(routingKey, off, 'utf8');
  buf[off++] = FRAME_END;
  return finishContent(buf, off, channel, rawProperties, body, frameMaxBytes, capacity);
}

function headerFrameBytes(rawProperties: Buffer): number {
  return 7 + 12 + rawProperties.length + 1;
}

function bodyFramesBytes(bodySizeBytes: number, frameMaxBytes: number): number {
  if (bodySizeBytes === 0) return 0;
  const chunkBytes = frameMaxBytes > 0 ? frameMaxBytes - FRAME_OVERHEAD_BYTES : bodySizeBytes;
  return bodySizeBytes + Math.ceil(bodySizeBytes / chunkBytes) * FRAME_OVERHEAD_BYTES;
}

/** Appends the content header and body frames after a method frame that ends at `off`. */
function finishContent(
  head: Buffer,
  off: number,
  channel: number,
  rawProperties: Buffer,
  body: Buffer,
  frameMaxBytes: number,
  capacity: number,
): Buffer[] {
  const bodySize = body.length;
  const copyBody = bodySize <= COPY_BODY_MAX_BYTES;
  const need =
    off + headerFrameBytes(rawProperties) + (copyBody ? bodyFramesBytes(bodySize, frameMaxBytes) : 7);
  let buf = head;
  if (need > capacity) {
    buf = Buffer.allocUnsafe(need);
    head.copy(buf, 0, 0, off);
  }
  buf[off] = FRAME_HEADER;
  buf.writeUInt16BE(channel, off + 1);
  buf.writeUInt32BE(12 + rawProperties.length, off + 3);
  buf.writeUInt16BE(BASIC_CLASS_ID, off + 7);
  buf.writeUInt16BE(0, off + 9); // weight
  buf.writeUInt32BE(Math.floor(bodySize / TWO_POW_32), off + 11);
  buf.writeUInt32BE(bodySize >>> 0, off + 15);
  off += 19;
  off += rawProperties.copy(buf, off);
  buf[off++] = FRAME_END;
  if (bodySize === 0) return [buf.subarray(0, off)];

  const chunkBytes = frameMaxBytes > 0 ? frameMaxBytes - FRAME_OVERHEAD_BYTES : bodySize;
  if (chunkBytes <= 0) throw new RangeError(`frameMaxBytes ${frameMaxBytes} leaves no room for a body`);
  if (copyBody) {
    for (let at = 0; at < bodySize; at += chunkBytes) {
      const n = Math.min(chunkBytes, bodySize - at);
      off = writeBodyFrameHeader(buf, off, channel, n);
      off += body.copy(buf, off, at, at + n);
      buf[off++] = FRAME_END;
    }
    return [buf.subarray(0, off)];
  }
  // Large body: [head + first body header], slice, [end + next header], slice, ..., [end].
  const out: Buffer[] = [];
  let n = Math.min(chunkBytes, bodySize);
  off = writeBodyFrameHeader(buf, off, channel, n);
  out.push(buf.subarray(0, off));
  for (let at = 0; at < bodySize; at += n) {
    n = Math.min(chunkBytes, bodySize - at);
    out.push(body.subarray(at, at + n));
    const next = at + n < bodySize ? Math.min(chunkBytes, bodySize - at - n) : 0;
    const glue = Buffer.allocUnsafe(next > 0 ? 8 : 1);
    glue[0] = FRAME_END;
    if (next > 0) writeBodyFrameHeader(glue, 1, channel, next);
    out.push(glue);
  }
  return out;
}

function writeBodyFrameHeader(buf: Buffer, off: number, channel: number, sizeBytes: number): number {
  buf[off] = FRAME_BODY;
  buf.writeUInt16BE(channel, off + 1);
  buf.writeUInt32BE(sizeBytes, off + 3);
  return off + 7;
}
