// Whole Kafka requests and responses: header + body, by API key and version.
// Frames on the wire are an int32 size followed by that many bytes. The decoders take the bytes after
// the size (the listener does the framing); the encoders return a complete frame, size included.
import { KafkaCodecError, type KafkaHeaderInfo, KafkaUnsupportedError } from './errors.js';
import { Reader, Writer } from './primitives.js';
import { inRange, type KafkaMessageSchema } from './schema-types.js';
import { REQUESTS, RESPONSES } from './schemas.js';
import { type KafkaStruct, readStruct, writeStruct } from './struct-codec.js';

export const API_VERSIONS_KEY = 18;

export interface KafkaRequestHeader extends KafkaHeaderInfo {
  readonly clientId: string | null;
}

export interface KafkaRequest {
  readonly header: KafkaRequestHeader;
  readonly body: KafkaStruct;
}

export function requestSchema(apiKey: number): KafkaMessageSchema | undefined {
  return REQUESTS.get(apiKey);
}

export function responseSchema(apiKey: number): KafkaMessageSchema | undefined {
  return RESPONSES.get(apiKey);
}

/**
 * Whether the API uses flexible (compact, tagged) encoding at a version. Flexible ranges are open
 * ("N+"), so this also answers for versions newer than Pier knows, as Kafka's header parser does.
 */
export function isFlexible(schema: KafkaMessageSchema, apiVersion: number): boolean {
  return inRange(schema.flexibleVersions, apiVersion);
}

/** Request header v2 (tagged fields) for flexible versions, else v1. */
export function requestHeaderVersion(schema: KafkaMessageSchema, apiVersion: number): 1 | 2 {
  return isFlexible(schema, apiVersion) ? 2 : 1;
}

/** Response header v1 for flexible versions, else v0; ApiVersions always v0 (KIP-511). */
export function responseHeaderVersion(apiKey: number, schema: KafkaMessageSchema, apiVersion: number): 0 | 1 {
  if (apiKey === API_VERSIONS_KEY) return 0;
  return isFlexible(schema, apiVersion) ? 1 : 0;
}

/**
 * Decodes a request frame (without its size prefix). Throws KafkaUnsupportedError for an unknown
 * API key or a version outside the API's valid versions, KafkaCodecError for malformed bytes (with
 * `header` set once the header was read). Bytes and records in the body are slices of `frame`.
 * Bytes after the body are ignored, as a newer client's extra fields would be.
 */
export function decodeRequest(frame: Buffer): KafkaRequest {
  const r = new Reader(frame);
  const apiKey = r.int16();
  const apiVersion = r.int16();
  const correlationId = r.int32();
  const info: KafkaHeaderInfo = { apiKey, apiVersion, correlationId };
  const schema = REQUESTS.get(apiKey);
  if (!schema) throw new KafkaUnsupportedError(`unknown Kafka API key ${apiKey}`, 'unknown-api', info);
  // Refused before the rest of the header: the correlation id is all an error reply needs.
  if (!inRange(schema.validVersions, apiVersion)) {
    const [min, max] = schema.validVersions;
    throw new KafkaUnsupportedError(
      `${schema.name} version ${apiVersion} is not supported (valid: ${min}-${max})`,
      'unsupported-version',
      info,
    );
  }
  try {
    const clientId = r.nullableString();
    const flexible = isFlexible(schema, apiVersion);
    if (flexible) r.taggedFields(() => {});
    const header: KafkaRequestHeader = { ...info, clientId };
    return { header, body: readStruct(r, schema.fields, apiVersion, flexible) };
  } catch (error) {
    if (error instanceof KafkaCodecError) error.header ??= info;
    throw error;
  }
}

/** Encodes a request frame, size prefix included. */
export function encodeRequest(header: KafkaRequestHeader, body: KafkaStruct): Buffer {
  const schema = knownSchema(REQUESTS, header.apiKey, header.apiVersion);
  const flexible = isFlexible(schema, header.apiVersion);
  const w = new Writer();
  w.int32(0).int16(header.apiKey).int16(header.apiVersion).int32(header.correlationId);
  w.nullableString(header.clientId);
  if (flexible) w.uvarint(0);
  writeStruct(w, schema.fields, body, header.apiVersion, flexible);
  return sizePrefixed(w);
}

/** Encodes a response frame, size prefix included. */
export function encodeResponse(
  apiKey: number,
  apiVersion: number,
  correlationId: number,
  body: KafkaStruct,
): Buffer {
  return responseWriter(apiKey, apiVersion, correlationId, body).finish();
}

/**
 * Encodes a response frame as chunks that reference large record batches in `body` instead of
 * copying them (Fetch); write them in order, e.g. inside socket.cork()/uncork().
 */
export function encodeResponseChunks(
  apiKey: number,
  apiVersion: number,
  correlationId: number,
  body: KafkaStruct,
): Buffer[] {
  return responseWriter(apiKey, apiVersion, correlationId, body).finishChunks();
}

function responseWriter(
  apiKey: number,
  apiVersion: number,
  correlationId: number,
  body: KafkaStruct,
): Writer {
  const schema = knownSchema(RESPONSES, apiKey, apiVersion);
  const w = new Writer();
  w.int32(0).int32(correlationId);
  if (responseHeaderVersion(apiKey, schema, apiVersion) === 1) w.uvarint(0);
  writeStruct(w, schema.fields, body, apiVersion, isFlexible(schema, apiVersion));
  w.patchInt32(0, w.length - 4);
  return w;
}

/** Decodes a response frame (without its size prefix); the caller knows which request it answers. */
export function decodeResponse(
  apiKey: number,
  apiVersion: number,
  frame: Buffer,
): { correlationId: number; body: KafkaStruct } {
  const schema = knownSchema(RESPONSES, apiKey, apiVersion);
  const r = new Reader(frame);
  const correlationId = r.int32();
  if (responseHeaderVersion(apiKey, schema, apiVersion) === 1) r.taggedFields(() => {});
  return { correlationId, body: readStruct(r, schema.fields, apiVersion, isFlexible(schema, apiVersion)) };
}

function knownSchema(
  schemas: ReadonlyMap<number, KafkaMessageSchema>,
  apiKey: number,
  apiVersion: number,
): KafkaMessageSchema {
  const info = { apiKey, apiVersion, correlationId: -1 };
  const schema = schemas.get(apiKey);
  if (!schema) throw new KafkaUnsupportedError(`unknown Kafka API key ${apiKey}`, 'unknown-api', info);
  if (!inRange(schema.validVersions, apiVersion)) {
    throw new KafkaUnsupportedError(
      `${schema.name} version ${apiVersion} is not supported`,
      'unsupported-version',
      info,
    );
  }
  return schema;
}

function sizePrefixed(w: Writer): Buffer {
  w.patchInt32(0, w.length - 4);
  return w.finish();
}
