// Schema-driven encoding and decoding of a message body (or any struct in it) at one version.
// Fields absent from a version decode to their default; on encode they are not written.
import { KafkaCodecError } from './errors.js';
import { type Reader, Writer } from './primitives.js';
import { inRange, type KafkaField } from './schema-types.js';

/** A decoded struct: JSON field names in camelCase → values (int64: bigint, bytes: Buffer). */
export type KafkaStruct = { [field: string]: unknown };

const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

/** The value a field takes when it is absent from a version (or a tagged field is not sent). */
export function defaultValue(field: KafkaField): unknown {
  if (field.default !== undefined) return field.default;
  switch (field.type) {
    case 'bool':
      return false;
    case 'int64':
      return 0n;
    case 'string':
      return '';
    case 'bytes':
      return Buffer.alloc(0);
    case 'records':
      return null;
    case 'uuid':
      return ZERO_UUID;
    case 'struct':
      return defaultStruct(field.fields!);
    default:
      return field.type.startsWith('[]') ? [] : 0;
  }
}

export function defaultStruct(fields: readonly KafkaField[]): KafkaStruct {
  const out: KafkaStruct = {};
  for (const field of fields) out[field.name] = defaultValue(field);
  return out;
}

const isTagged = (field: KafkaField, version: number, flexible: boolean): boolean =>
  flexible && field.tag !== undefined && inRange(field.tagged, version);

const compactFor = (field: KafkaField, version: number, flexible: boolean): boolean =>
  field.flexible !== undefined ? inRange(field.flexible, version) : flexible;

export function readStruct(
  r: Reader,
  fields: readonly KafkaField[],
  version: number,
  flexible: boolean,
): KafkaStruct {
  const out: KafkaStruct = {};
  let hasTagged = false;
  for (const field of fields) {
    if (!inRange(field.versions, version) || isTagged(field, version, flexible)) {
      out[field.name] = defaultValue(field);
      hasTagged ||= isTagged(field, version, flexible);
    } else {
      out[field.name] = readValue(
        r,
        field,
        field.type,
        version,
        compactFor(field, version, flexible),
        flexible,
      );
    }
  }
  if (flexible) {
    // Unknown tags are skipped, as Kafka's own parsers do for fields from newer versions.
    r.taggedFields((tag, sub) => {
      if (!hasTagged) return;
      const field = fields.find(
        (f) => f.tag === tag && isTagged(f, version, flexible) && inRange(f.versions, version),
      );
      if (field) out[field.name] = readValue(sub, field, field.type, version, true, true);
    });
  }
  return out;
}

function readValue(
  r: Reader,
  field: KafkaField,
  type: string,
  version: number,
  compact: boolean,
  flexible: boolean,
): unknown {
  const nullable = inRange(field.nullable, version);
  switch (type) {
    case 'bool':
      return r.bool();
    case 'int8':
      return r.int8();
    case 'int16':
      return r.int16();
    case 'int32':
      return r.int32();
    case 'int64':
      return r.int64();
    case 'uint16':
      return r.uint16();
    case 'uint32':
      return r.uint32();
    case 'float64':
      return r.float64();
    case 'uuid':
      return r.uuid();
    case 'string': {
      const value = compact ? r.compactNullableString() : r.nullableString();
      return value === null ? checkNull(field, nullable) : value;
    }
    case 'bytes':
    case 'records': {
      const value = compact ? r.compactNullableBytes() : r.nullableBytes();
      return value === null ? checkNull(field, nullable) : value;
    }
    case 'struct': {
      // A nullable struct is preceded by a presence byte: -1 null, 1 present.
      if (nullable && r.int8() < 0) return null;
      return readStruct(r, field.fields!, version, flexible);
    }
  }
  if (!type.startsWith('[]')) throw new KafkaCodecError(`field ${field.name}: unknown type ${type}`);
  const count = compact ? r.compactArrayLength() : r.arrayLength();
  if (count === null) return checkNull(field, nullable);
  const element = type.slice(2);
  const items = new Array<unknown>(count);
  for (let i = 0; i < count; i++) {
    items[i] =
      element === 'struct'
        ? readStruct(r, field.fields!, version, flexible)
        : readValue(r, NON_NULL, element, version, compact, flexible);
  }
  return items;
}

// Array elements of primitive type are never null.
const NON_NULL: KafkaField = { name: 'element', type: '', versions: [0, 0] };

function checkNull(field: KafkaField, nullable: boolean): null {
  if (!nullable) throw new KafkaCodecError(`non-nullable field ${field.name} was serialized as null`);
  return null;
}

export function writeStruct(
  w: Writer,
  fields: readonly KafkaField[],
  value: KafkaStruct,
  version: number,
  flexible: boolean,
): void {
  if (value === null || typeof value !== 'object') {
    throw new KafkaCodecError(`struct expected, got ${value === null ? 'null' : typeof value}`);
  }
  const tagged: KafkaField[] = [];
  for (const field of fields) {
    if (!inRange(field.versions, version)) continue;
    const given = value[field.name];
    const fieldValue = given === undefined ? defaultValue(field) : given;
    if (isTagged(field, version, flexible)) {
      if (!isDefault(field, fieldValue)) tagged.push(field);
      continue;
    }
    writeValue(w, field, field.type, fieldValue, version, compactFor(field, version, flexible), flexible);
  }
  if (!flexible) return;
  tagged.sort((a, b) => a.tag! - b.tag!);
  w.uvarint(tagged.length);
  for (const field of tagged) {
    const body = new Writer(64);
    writeValue(body, field, field.type, value[field.name], version, true, true);
    const bytes = body.finish();
    w.uvarint(field.tag!).uvarint(bytes.length).raw(bytes);
  }
}

function writeValue(
  w: Writer,
  field: KafkaField,
  type: string,
  value: unknown,
  version: number,
  compact: boolean,
  flexible: boolean,
): void {
  const nullable = inRange(field.nullable, version);
  try {
    switch (type) {
      case 'bool':
        w.bool(value as boolean);
        return;
      case 'int8':
        w.int8(value as number);
        return;
      case 'int16':
        w.int16(value as number);
        return;
      case 'int32':
        w.int32(value as number);
        return;
      case 'int64':
        w.int64(value as bigint);
        return;
      case 'uint16':
        w.uint16(value as number);
        return;
      case 'uint32':
        w.uint32(value as number);
        return;
      case 'float64':
        w.float64(value as number);
        return;
      case 'uuid':
        w.uuid(value as string);
        return;
      case 'string':
        if (value === null) checkNull(field, nullable);
        if (compact) w.compactNullableString(value as string | null);
        else w.nullableString(value as string | null);
        return;
      case 'bytes':
        if (value === null) checkNull(field, nullable);
        if (compact) w.compactNullableBytes(value as Buffer | null);
        else w.nullableBytes(value as Buffer | null);
        return;
      case 'records':
        if (value === null) checkNull(field, nullable);
        w.records(value as Buffer | readonly Buffer[] | null, compact);
        return;
      case 'struct':
        if (nullable) {
          w.int8(value === null ? -1 : 1);
          if (value === null) return;
        }
        writeStruct(w, field.fields!, value as KafkaStruct, version, flexible);
        return;
    }
  } catch (error) {
    if (error instanceof KafkaCodecError && !error.message.startsWith('field ')) {
      error.message = `field ${field.name}: ${error.message}`;
    }
    throw error;
  }
  if (value === null || value === undefined) {
    if (value === undefined) throw new KafkaCodecError(`field ${field.name}: array expected, got undefined`);
    checkNull(field, nullable);
    w.arrayLength(null, compact);
    return;
  }
  if (!Array.isArray(value))
    throw new KafkaCodecError(`field ${field.name}: array expected, got ${typeof value}`);
  w.arrayLength(value.length, compact);
  const element = type.slice(2);
  for (const item of value) {
    if (element === 'struct') writeStruct(w, field.fields!, item as KafkaStruct, version, flexible);
    else writeValue(w, { ...NON_NULL, name: field.name }, element, item, version, compact, flexible);
  }
}

/** Whether a tagged field holds its default, in which case it is left out of the tagged section. */
function isDefault(field: KafkaField, value: unknown): boolean {
  const def = defaultValue(field);
  if (value === def) return true;
  if (value === null || def === null) return false;
  if (Buffer.isBuffer(value)) return Buffer.isBuffer(def) && value.length === 0 && def.length === 0;
  if (Array.isArray(value)) return Array.isArray(def) && value.length === 0;
  if (field.type === 'struct' && typeof value === 'object') {
    return field.fields!.every((f) => isDefault(f, (value as KafkaStruct)[f.name] ?? defaultValue(f)));
  }
  return false;
}
