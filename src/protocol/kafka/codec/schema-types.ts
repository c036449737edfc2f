/** An inclusive [min, max] version range; 32767 means "and every later version". */
export type VersionRange = readonly [number, number];

/**
 * A field of a Kafka message schema, as generated into schemas.ts. `type` is a primitive
 * (bool, int8, int16, int32, int64, uint16, uint32, float64, string, bytes, uuid, records), 'struct',
 * or '[]' followed by either of those.
 */
export interface KafkaField {
  readonly name: string;
  readonly type: string;
  readonly versions: VersionRange;
  readonly nullable?: VersionRange;
  /** Present on tagged fields: the tag, and the versions in which the field is tagged. */
  readonly tag?: number;
  readonly tagged?: VersionRange;
  /** Overrides the message's flexible versions for this field (null: never compact). */
  readonly flexible?: VersionRange | null;
  readonly default?: number | bigint | boolean | string | null;
  readonly fields?: readonly KafkaField[];
}

export interface KafkaMessageSchema {
  readonly name: string;
  readonly apiKey?: number;
  readonly validVersions: VersionRange;
  readonly flexibleVersions: VersionRange | null;
  readonly fields: readonly KafkaField[];
}

export function inRange(range: VersionRange | null | undefined, version: number): boolean {
  return range != null && version >= range[0] && version <= range[1];
}
