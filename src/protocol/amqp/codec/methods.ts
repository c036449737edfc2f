import { AmqpCodecError, frameError } from './errors.js';
import { decodeTableBody, type FieldTable, writeTable } from './field-table.js';
import {
  type AmqpMethod,
  type AmqpMethodName,
  type BasicAck,
  type BasicPublish,
  FieldKind,
  FRAME_END,
  FRAME_METHOD,
  METHOD_SPECS,
  type MethodSpec,
  ReplyCode,
} from './spec.js';
import { Writer } from './writer.js';

const TWO_POW_32 = 4294967296;
const BASIC_PUBLISH_ID = (60 << 16) | 40;
const BASIC_ACK_ID = (60 << 16) | 80;

// class and method ids are u16, so classId * 65536 + methodId is a unique non-negative key.
const specById = new Map<number, MethodSpec>();
const specByName = new Map<string, MethodSpec>();
for (const s of METHOD_SPECS) {
  specById.set(s.classId * 65536 + s.methodId, s);
  specByName.set(s.name, s);
}

export interface MethodInfo {
  readonly classId: number;
  readonly methodId: number;
  readonly synchronous: boolean;
  readonly hasContent: boolean;
}

/** Static facts about a method; throws on an unknown name. */
export function methodInfo(name: AmqpMethodName): MethodInfo {
  return methodSpec(name);
}

/** The spec entry for a method name; throws on an unknown name. */
export function methodSpec(name: AmqpMethodName): MethodSpec {
  const s = specByName.get(name);
  if (s === undefined) throw new TypeError(`unknown AMQP method ${name}`);
  return s;
}

/** The spec entry for (classId, methodId), or undefined when the method does not exist. */
export function methodSpecById(classId: number, methodId: number): MethodSpec | undefined {
  return specById.get(classId * 65536 + methodId);
}

/** Cheap peek at a method payload's ids (for connection.close class-id/method-id); 0s when too short. */
export function classMethodOf(payload: Buffer): { classId: number; methodId: number } {
  if (payload.length < 4) return { classId: 0, methodId: 0 };
  return { classId: payload.readUInt16BE(0), methodId: payload.readUInt16BE(2) };
}

/**
 * Decodes a method frame payload (class-id, method-id, arguments). Throws AmqpCodecError 540 for an
 * unknown class/method and 501 for arguments that do not decode exactly (truncated or trailing
 * bytes), as RabbitMQ's "cannot decode" does. basic.publish and basic.ack take a hand-written path.
 */
export function decodeMethod(payload: Buffer): AmqpMethod {
  if (payload.length < 4) throw frameError(`method frame payload of ${payload.length} bytes is too short`);
  const id = (payload.readUInt16BE(0) << 16) | payload.readUInt16BE(2);
  if (id === BASIC_PUBLISH_ID) return decodePublish(payload);
  if (id === BASIC_ACK_ID) return decodeAck(payload);
  const spec = specById.get(payload.readUInt16BE(0) * 65536 + payload.readUInt16BE(2));
  if (spec === undefined) {
    const { classId, methodId } = classMethodOf(payload);
    throw new AmqpCodecError(ReplyCode.NOT_IMPLEMENTED, `unknown method class ${classId} method ${methodId}`);
  }
  return decodeMethodGeneric(spec, payload);
}

const cannotDecode = (name: string): AmqpCodecError => frameError(`cannot decode ${name} arguments`);

function decodePublish(p: Buffer): BasicPublish {
  // ticket(2) exchange(shortstr) routing-key(shortstr) bits(1)
  if (p.length < 9) throw cannotDecode('basic.publish');
  let off = 7;
  const exLen = p[6];
  if (off + exLen + 2 > p.length) throw cannotDecode('basic.publish');
  const exchange = exLen === 0 ? '' : p.toString('utf8', off, off + exLen);
  off += exLen;
  const rkLen = p[off++];
  if (off + rkLen + 1 !== p.length) throw cannotDecode('basic.publish');
  const routingKey = rkLen === 0 ? '' : p.toString('utf8', off, off + rkLen);
  const bits = p[off + rkLen];
  return {
    method: 'basic.publish',
    exchange,
    routingKey,
    mandatory: (bits & 1) !== 0,
    immediate: (bits & 2) !== 0,
  };
}

function decodeAck(p: Buffer): BasicAck {
  if (p.length !== 13) throw cannotDecode('basic.ack');
  return {
    method: 'basic.ack',
    deliveryTag: p.readUInt32BE(4) * TWO_POW_32 + p.readUInt32BE(8),
    multiple: (p[12] & 1) !== 0,
  };
}

/** Table-driven decoder for any method; exported so tests can check the fast paths against it. */
export function decodeMethodGeneric(spec: MethodSpec, p: Buffer): AmqpMethod {
  const m: Record<string, unknown> = { method: spec.name };
  const end = p.length;
  let off = 4;
  let bits = 0;
  let bitIndex = 8; // 8 = no octet of packed bits in progress
  for (const [name, kind] of spec.fields) {
    let v: unknown;
    if (kind === FieldKind.BIT) {
      if (bitIndex === 8) {
        if (off + 1 > end) throw cannotDecode(spec.name);
        bits = p[off++];
        bitIndex = 0;
      }
      v = ((bits >> bitIndex++) & 1) === 1;
    } else {
      bitIndex = 8;
      switch (kind) {
        case FieldKind.OCTET:
          if (off + 1 > end) throw cannotDecode(spec.name);
          v = p[off++];
          break;
        case FieldKind.SHORT:
          if (off + 2 > end) throw cannotDecode(spec.name);
          v = p.readUInt16BE(off);
          off += 2;
          break;
        case FieldKind.LONG:
          if (off + 4 > end) throw cannotDecode(spec.name);
          v = p.readUInt32BE(off);
          off += 4;
          break;
        case FieldKind.LONGLONG:
        case FieldKind.TIMESTAMP:
          if (off + 8 > end) throw cannotDecode(spec.name);
          v = p.readUInt32BE(off) * TWO_POW_32 + p.readUInt32BE(off + 4);
          off += 8;
          break;
        case FieldKind.SHORTSTR: {
          if (off + 1 > end) throw cannotDecode(spec.name);
          const len = p[off++];
          if (off + len > end) throw cannotDecode(spec.name);
          v = p.toString('utf8', off, off + len);
          off += len;
          break;
        }
        case FieldKind.LONGSTR:
        case FieldKind.BYTES:
        case FieldKind.TABLE: {
          if (off + 4 > end) throw cannotDecode(spec.name);
          const len = p.readUInt32BE(off);
          off += 4;
          if (off + len > end) throw cannotDecode(spec.name);
          if (kind === FieldKind.LONGSTR) v = p.toString('utf8', off, off + len);
          // Copied so a retained SASL response or table does not pin the socket chunk.
          else if (kind === FieldKind.BYTES) v = Buffer.from(p.subarray(off, off + len));
          else v = decodeTableBody(p, off, off + len);
          off += len;
          break;
        }
      }
    }
    if (name !== null) m[name] = v;
  }
  if (off !== end) throw cannotDecode(spec.name);
  return m as unknown as AmqpMethod;
}

/** Encodes a complete method frame: type, channel, size, class/method ids, arguments, frame-end. */
export function encodeMethodFrame(channel: number, m: AmqpMethod): Buffer {
  const spec = methodSpec(m.method);
  const w = new Writer();
  writeMethodFrame(w, channel, spec, m as unknown as Record<string, unknown>);
  return w.finish();
}

/** Appends a method frame to `w` (used by encodeMethodFrame and the content encoder). */
export function writeMethodFrame(
  w: Writer,
  channel: number,
  spec: MethodSpec,
  m: Record<string, unknown>,
): void {
  w.ensure(11);
  const start = w.offset;
  w.buf[start] = FRAME_METHOD;
  w.buf.writeUInt16BE(channel, start + 1);
  w.buf.writeUInt16BE(spec.classId, start + 7);
  w.buf.writeUInt16BE(spec.methodId, start + 9);
  w.offset = start + 11;
  let bits = 0;
  let bitIndex = 8;
  let bitsAt = 0;
  for (const [name, kind] of spec.fields) {
    const v = name === null ? undefined : m[name];
    if (kind === FieldKind.BIT) {
      if (bitIndex === 8) {
        w.ensure(1);
        bitsAt = w.offset++;
        bits = 0;
        bitIndex = 0;
      }
      if (v) bits |= 1 << bitIndex;
      bitIndex++;
      w.buf[bitsAt] = bits;
      continue;
    }
    bitIndex = 8;
    switch (kind) {
      case FieldKind.OCTET:
        w.u8((v as number) ?? 0);
        break;
      case FieldKind.SHORT:
        w.u16((v as number) ?? 0);
        break;
      case FieldKind.LONG:
        w.u32((v as number) ?? 0);
        break;
      case FieldKind.LONGLONG:
      case FieldKind.TIMESTAMP:
        w.u64((v as number) ?? 0);
        break;
      case FieldKind.SHORTSTR:
        w.shortstr((v as string) ?? '');
        break;
      case FieldKind.LONGSTR:
      case FieldKind.BYTES:
        w.longstr((v as string | Buffer) ?? '');
        break;
      case FieldKind.TABLE:
        writeTable(w, (v as FieldTable) ?? {}, 0);
        break;
    }
  }
  w.u8(FRAME_END);
  w.buf.writeUInt32BE(w.offset - start - 8, start + 3);
}
