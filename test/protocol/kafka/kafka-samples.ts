// Random but schema-valid Kafka message bodies, for round-trip and fuzz tests.
import type { KafkaField } from '../../../src/protocol/kafka/codec/schema-types.js';
import { inRange } from '../../../src/protocol/kafka/codec/schema-types.js';
import { defaultValue, type KafkaStruct } from '../../../src/protocol/kafka/codec/struct-codec.js';

type Rand = () => number;

const int = (rand: Rand, min: number, max: number): number => min + Math.floor(rand() * (max - min + 1));

/**
 * A body for `version`: every field present in that version gets a random value (null sometimes
 * when nullable), every other field its default, so decode(encode(sample)) must equal the sample.
 */
export function sampleStruct(
  fields: readonly KafkaField[],
  version: number,
  rand: Rand,
  depth = 0,
): KafkaStruct {
  const out: KafkaStruct = {};
  for (const field of fields) {
    out[field.name] = inRange(field.versions, version)
      ? sampleValue(field, field.type, version, rand, depth)
      : defaultValue(field);
  }
  return out;
}

function sampleValue(field: KafkaField, type: string, version: number, rand: Rand, depth: number): unknown {
  if (inRange(field.nullable, version) && rand() < 0.2) return null;
  switch (type) {
    case 'bool':
      return rand() < 0.5;
    case 'int8':
      return int(rand, -128, 127);
    case 'int16':
      return int(rand, -32768, 32767);
    case 'int32':
      return int(rand, -2147483648, 2147483647);
    case 'int64':
      return BigInt(int(rand, -2147483648, 2147483647)) * BigInt(int(rand, 0, 2 ** 31));
    case 'uint16':
      return int(rand, 0, 0xffff);
    case 'uint32':
      return int(rand, 0, 0xffffffff);
    case 'float64':
      return (rand() - 0.5) * 1e6;
    case 'uuid': {
      const hex = Array.from({ length: 32 }, () => int(rand, 0, 15).toString(16)).join('');
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    }
    case 'string':
      return ['', 'a', 'topic-1', 'héllo ✓', 'x'.repeat(int(rand, 0, 200))][int(rand, 0, 4)];
    case 'bytes':
      return Buffer.from(Array.from({ length: int(rand, 0, 40) }, () => int(rand, 0, 255)));
    case 'records':
      // Sometimes large enough for the encoder to share the buffer instead of copying it.
      return Buffer.alloc(rand() < 0.3 ? int(rand, 1024, 3000) : int(rand, 0, 40), int(rand, 0, 255));
    case 'struct':
      return sampleStruct(field.fields!, version, rand, depth + 1);
  }
  const count = depth > 3 ? 0 : int(rand, 0, 3);
  const element = type.slice(2);
  const plain: KafkaField = {
    name: field.name,
    type: element,
    versions: field.versions,
    fields: field.fields,
  };
  return Array.from({ length: count }, () => sampleValue(plain, element, version, rand, depth + 1));
}
