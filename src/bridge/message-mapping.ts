/**
 * One message across AMQP 0-9-1, Kafka and SQS: every shovel turns what its source client hands
 * over into a BridgeMessage and the BridgeMessage into what its destination client sends. Pure
 * functions over the client libraries' plain shapes (amqplib's message and publish options,
 * kafkajs's record, the AWS SDK's SQS message); docs/bridges.md is the table users read, and it
 * must say what this file does (test/bridge/message-mapping.test.ts checks the round trips).
 */
import { Buffer } from 'node:buffer';

/** A typed header value as amqplib decodes it: {'!': 'timestamp' | 'decimal', value}. */
export interface TypedHeaderValue {
  readonly '!': string;
  readonly value: unknown;
}

export type HeaderValue =
  | string
  | number
  | boolean
  | Buffer
  | null
  | TypedHeaderValue
  | HeaderValue[]
  | { [name: string]: HeaderValue };

/** The protocol-neutral message a shovel moves. */
export interface BridgeMessage {
  readonly body: Buffer;
  /** AMQP headers, Kafka record headers, SQS message attributes: name → typed value. */
  readonly headers: Record<string, HeaderValue>;
  readonly messageId?: string;
  readonly contentType?: string;
  readonly contentEncoding?: string;
  readonly correlationId?: string;
  readonly replyTo?: string;
  readonly type?: string;
  readonly appId?: string;
  /** Milliseconds since the epoch (AMQP keeps seconds: sub-second precision is lost there). */
  readonly timestampMs?: number;
  /** Kafka key = AMQP routing key (or the x-message-key header) = SQS FIFO MessageGroupId. */
  readonly key?: Buffer;
}

/** AMQP header carrying the message key when the routing key cannot (e.g. a default-exchange publish). */
export const KEY_HEADER = 'x-message-key';
/** Kafka header listing the non-string headers' types (JSON {name: type}). */
export const HEADER_TYPES_HEADER = 'x-pier-header-types';
/** SQS attribute marking a body sent as base64 because SQS bodies must be text. */
export const BODY_ENCODING_ATTRIBUTE = 'x-pier-body-encoding';
/** SQS attribute holding the headers beyond SQS's 10 attributes (and those with names SQS refuses). */
export const PACKED_ATTRIBUTE = 'x-pier-attributes';
/** SQS's limit on message attributes per message. */
export const SQS_MAX_ATTRIBUTES = 10;

/** Kafka header / SQS attribute names of the AMQP basic properties that travel as headers. */
const PROPERTY_HEADERS = {
  messageId: 'message-id',
  contentType: 'content-type',
  contentEncoding: 'content-encoding',
  correlationId: 'correlation-id',
  replyTo: 'reply-to',
  type: 'type',
  appId: 'app-id',
} as const;
type PropertyName = keyof typeof PROPERTY_HEADERS;
const PROPERTY_NAMES = Object.keys(PROPERTY_HEADERS) as PropertyName[];
const TIMESTAMP_HEADER = 'timestamp';

/** A mapped message plus the names of what the target could not carry. */
export interface Mapped<T> {
  readonly value: T;
  readonly dropped: readonly string[];
}

// ---- AMQP (amqplib) ----------------------------------------------------------------------

/** What amqplib hands a consumer (ConsumeMessage / GetMessage), reduced to what is mapped. */
export interface AmqpInbound {
  readonly content: Buffer;
  readonly fields: { readonly routingKey: string };
  readonly properties: {
    readonly headers?: Record<string, unknown> | undefined;
    readonly messageId?: unknown;
    readonly contentType?: unknown;
    readonly contentEncoding?: unknown;
    readonly correlationId?: unknown;
    readonly replyTo?: unknown;
    readonly type?: unknown;
    readonly appId?: unknown;
    readonly timestamp?: unknown;
  };
}

/** amqplib's publish options, as far as the mapping sets them. */
export interface AmqpPublishOptions {
  headers: Record<string, HeaderValue>;
  persistent: boolean;
  messageId?: string;
  contentType?: string;
  contentEncoding?: string;
  correlationId?: string;
  replyTo?: string;
  type?: string;
  appId?: string;
  timestamp?: number;
}

export interface AmqpOutbound {
  readonly content: Buffer;
  readonly routingKey: string;
  readonly options: AmqpPublishOptions;
}

const stringOf = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : v === undefined || v === null ? undefined : String(v);

export function fromAmqp(message: AmqpInbound): BridgeMessage {
  const p = message.properties;
  const headers = { ...((p.headers ?? {}) as Record<string, HeaderValue>) };
  const keyHeader = headers[KEY_HEADER];
  delete headers[KEY_HEADER];
  const key =
    keyHeader === undefined ? Buffer.from(message.fields.routingKey) : Buffer.from(headerText(keyHeader));
  const timestampSeconds = typeof p.timestamp === 'number' ? p.timestamp : undefined;
  return withProperties(
    {
      body: message.content,
      headers,
      key,
      ...(timestampSeconds === undefined ? {} : { timestampMs: timestampSeconds * 1000 }),
    },
    (name) => stringOf(p[name]),
  );
}

/**
 * The publish that carries `message` to an AMQP destination. `routingKey` is the destination's
 * (dest-exchange-key or dest-queue); without one the message key is the routing key. The key
 * also travels in x-message-key when the routing key is not it, so it survives a default-exchange hop.
 */
export function toAmqp(message: BridgeMessage, routingKey?: string): AmqpOutbound {
  const keyText = message.key?.toString('utf8');
  const headers: Record<string, HeaderValue> = { ...message.headers };
  if (keyText !== undefined && routingKey !== undefined && routingKey !== keyText) {
    headers[KEY_HEADER] = keyText;
  }
  const options: AmqpPublishOptions = { headers, persistent: true };
  for (const name of PROPERTY_NAMES) {
    const value = message[name];
    if (value !== undefined) options[name] = value;
  }
  if (message.timestampMs !== undefined) options.timestamp = Math.floor(message.timestampMs / 1000);
  return { content: message.body, routingKey: routingKey ?? keyText ?? '', options };
}

// ---- Kafka (kafkajs) ---------------------------------------------------------------------

export interface KafkaInbound {
  readonly key?: Buffer | null;
  readonly value: Buffer | null;
  readonly timestamp?: string;
  readonly headers?: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
}

export interface KafkaOutbound {
  key?: Buffer;
  value: Buffer;
  timestamp?: string;
  headers: Record<string, Buffer>;
  partition?: number;
}

/** Kafka headers are bytes: a string header is its UTF-8; any other type is text named in x-pier-header-types. */
export function toKafka(message: BridgeMessage): KafkaOutbound {
  const headers: Record<string, Buffer> = {};
  const types: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers)) {
    const encoded = encodeTypedText(value);
    headers[name] = encoded.type === 'bytes' ? (value as Buffer) : Buffer.from(encoded.text);
    if (encoded.type !== 'string') types[name] = encoded.type;
  }
  for (const name of PROPERTY_NAMES) {
    const value = message[name];
    if (value !== undefined) headers[PROPERTY_HEADERS[name]] = Buffer.from(value);
  }
  if (Object.keys(types).length > 0) headers[HEADER_TYPES_HEADER] = Buffer.from(JSON.stringify(types));
  return {
    ...(message.key === undefined || message.key.length === 0 ? {} : { key: message.key }),
    value: message.body,
    headers,
    ...(message.timestampMs === undefined ? {} : { timestamp: String(message.timestampMs) }),
  };
}

export function fromKafka(record: KafkaInbound): BridgeMessage {
  const raw = { ...(record.headers ?? {}) };
  const typesHeader = raw[HEADER_TYPES_HEADER];
  delete raw[HEADER_TYPES_HEADER];
  const types = parseTypes(typesHeader === undefined ? undefined : headerText(firstOf(typesHeader)));
  const properties: Partial<Record<PropertyName, string>> = {};
  for (const name of PROPERTY_NAMES) {
    const value = raw[PROPERTY_HEADERS[name]];
    if (value === undefined) continue;
    properties[name] = headerText(firstOf(value));
    delete raw[PROPERTY_HEADERS[name]];
  }
  const headers: Record<string, HeaderValue> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) {
      headers[name] = value.map((v) => kafkaHeaderValue(v, undefined));
    } else {
      headers[name] = kafkaHeaderValue(value, types[name]);
    }
  }
  const timestampMs = record.timestamp === undefined ? undefined : Number(record.timestamp);
  return withProperties(
    {
      body: record.value ?? Buffer.alloc(0),
      headers,
      ...(record.key ? { key: Buffer.from(record.key) } : {}),
      ...(timestampMs === undefined || Number.isNaN(timestampMs) || timestampMs < 0 ? {} : { timestampMs }),
    },
    (name) => properties[name],
  );
}

function kafkaHeaderValue(value: Buffer | string, type: string | undefined): HeaderValue {
  const bytes = typeof value === 'string' ? Buffer.from(value) : value;
  if (type === undefined) {
    // An untyped Kafka header: text if it is valid UTF-8, else bytes.
    const text = bytes.toString('utf8');
    return Buffer.from(text).equals(bytes) ? text : bytes;
  }
  if (type === 'bytes') return bytes;
  return decodeTypedText(type, bytes.toString('utf8'));
}

// ---- SQS (AWS SDK v3) --------------------------------------------------------------------

export interface SqsAttributeValue {
  DataType: string;
  StringValue?: string;
  BinaryValue?: Uint8Array;
}

export interface SqsInbound {
  readonly MessageId?: string;
  readonly Body?: string;
  readonly Attributes?: Partial<Record<string, string>>;
  readonly MessageAttributes?: Record<string, SqsAttributeValue>;
}

export interface SqsOutbound {
  MessageBody: string;
  MessageAttributes: Record<string, SqsAttributeValue>;
  MessageGroupId?: string;
  MessageDeduplicationId?: string;
}

/** SQS attribute names: letters, digits, _ - . ; no AWS./Amazon. prefix; no leading, trailing or double dot. */
export function isSqsAttributeName(name: string): boolean {
  return (
    /^[A-Za-z0-9_.-]{1,256}$/.test(name) &&
    !/^(aws\.|amazon\.)/i.test(name) &&
    !name.startsWith('.') &&
    !name.endsWith('.') &&
    !name.includes('..')
  );
}

/** Characters SQS accepts in a body (XML 1.0's). */
const SQS_BODY_TEXT = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;

/**
 * An SQS send for `message`. Properties go first, then headers in order, as attributes; SQS
 * keeps 10, so when there are more (or a header's name is not a valid attribute name) the rest
 * travel in one `x-pier-attributes` attribute (String.json: {name: [type, text]}) that fromSqs
 * unpacks. `fifo` sets MessageGroupId from the key (`defaultGroupId` when there is none) and the
 * deduplication id from `stableId`. Nothing is dropped; `dropped` stays for callers that log it.
 */
export function toSqs(
  message: BridgeMessage,
  options: { fifo: boolean; stableId?: string; defaultGroupId?: string },
): Mapped<SqsOutbound> {
  const direct: [string, SqsAttributeValue][] = [];
  const packed: [string, HeaderValue][] = [];
  const text = message.body.toString('utf8');
  const bodyIsText = Buffer.from(text).equals(message.body) && SQS_BODY_TEXT.test(text) && text.length > 0;
  if (!bodyIsText) direct.push([BODY_ENCODING_ATTRIBUTE, { DataType: 'String', StringValue: 'base64' }]);
  for (const name of PROPERTY_NAMES) {
    const value = message[name];
    if (value !== undefined && value !== '')
      direct.push([PROPERTY_HEADERS[name], { DataType: 'String', StringValue: value }]);
  }
  if (message.timestampMs !== undefined) {
    direct.push([
      TIMESTAMP_HEADER,
      { DataType: 'Number.timestamp', StringValue: String(message.timestampMs) },
    ]);
  }
  const key = message.key?.toString('utf8');
  if (key !== undefined && key !== '' && !options.fifo)
    direct.push([KEY_HEADER, { DataType: 'String', StringValue: key }]);
  for (const [name, value] of Object.entries(message.headers)) {
    if (isSqsAttributeName(name)) direct.push([name, sqsAttributeOf(value)]);
    else packed.push([name, value]);
  }
  if (direct.length + (packed.length > 0 ? 1 : 0) > SQS_MAX_ATTRIBUTES) {
    const keep = SQS_MAX_ATTRIBUTES - 1;
    for (const [name, attribute] of direct.splice(keep)) packed.push([name, headerOfSqsAttribute(attribute)]);
  }
  const attributes: Record<string, SqsAttributeValue> = Object.fromEntries(direct);
  if (packed.length > 0) {
    const table = Object.fromEntries(
      packed.map(([name, value]) => {
        const encoded = encodeTypedText(value);
        return [name, [encoded.type, encoded.text]];
      }),
    );
    attributes[PACKED_ATTRIBUTE] = { DataType: 'String.json', StringValue: JSON.stringify(table) };
  }
  const out: SqsOutbound = {
    MessageBody: bodyIsText ? text : message.body.toString('base64'),
    MessageAttributes: attributes,
  };
  if (options.fifo) {
    out.MessageGroupId = key !== undefined && key !== '' ? key : (options.defaultGroupId ?? 'default');
    if (options.stableId !== undefined) out.MessageDeduplicationId = sqsDeduplicationId(options.stableId);
  }
  return { value: out, dropped: [] };
}

/** SQS deduplication ids are at most 128 characters of [!-~]: longer or odd ids are hashed. */
function sqsDeduplicationId(id: string): string {
  if (/^[!-~]{1,128}$/.test(id)) return id;
  let hash = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(id)) hash = ((hash ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return `h-${hash.toString(16)}-${id.replace(/[^!-~]/g, '').slice(-100)}`;
}

function sqsAttributeOf(value: HeaderValue): SqsAttributeValue {
  const encoded = encodeTypedText(value);
  switch (encoded.type) {
    case 'string':
      return { DataType: 'String', StringValue: encoded.text === '' ? ' ' : encoded.text };
    case 'bytes':
      return { DataType: 'Binary', BinaryValue: value as Buffer };
    case 'int':
    case 'double':
    case 'timestamp':
      return { DataType: `Number.${encoded.type}`, StringValue: encoded.text };
    default:
      return { DataType: `String.${encoded.type}`, StringValue: encoded.text };
  }
}

export function fromSqs(message: SqsInbound): BridgeMessage {
  const attributes: Record<string, SqsAttributeValue> = { ...(message.MessageAttributes ?? {}) };
  const packed = attributes[PACKED_ATTRIBUTE];
  delete attributes[PACKED_ATTRIBUTE];
  for (const [name, [type, text]] of Object.entries(parsePacked(packed?.StringValue))) {
    attributes[name] = sqsAttributeOf(decodeTypedText(type, text));
  }
  const take = (name: string): string | undefined => {
    const a = attributes[name];
    delete attributes[name];
    return a?.StringValue;
  };
  const bodyEncoding = take(BODY_ENCODING_ATTRIBUTE);
  const properties: Partial<Record<PropertyName, string>> = {};
  for (const name of PROPERTY_NAMES) {
    const value = take(PROPERTY_HEADERS[name]);
    if (value !== undefined) properties[name] = value;
  }
  const timestampText = take(TIMESTAMP_HEADER) ?? message.Attributes?.SentTimestamp;
  const keyText = take(KEY_HEADER) ?? message.Attributes?.MessageGroupId;
  const headers: Record<string, HeaderValue> = {};
  for (const [name, a] of Object.entries(attributes)) headers[name] = headerOfSqsAttribute(a);
  const bodyText = message.Body ?? '';
  const messageId = properties.messageId ?? message.MessageId;
  const timestampMs = timestampText === undefined ? undefined : Number(timestampText);
  return withProperties(
    {
      body: bodyEncoding === 'base64' ? Buffer.from(bodyText, 'base64') : Buffer.from(bodyText),
      headers,
      ...(keyText === undefined ? {} : { key: Buffer.from(keyText) }),
      ...(timestampMs === undefined || Number.isNaN(timestampMs) ? {} : { timestampMs }),
    },
    (name) => (name === 'messageId' ? messageId : properties[name]),
  );
}

function headerOfSqsAttribute(a: SqsAttributeValue): HeaderValue {
  const [base, custom] = splitDataType(a.DataType);
  if (base === 'Binary') return Buffer.from(a.BinaryValue ?? new Uint8Array());
  const text = a.StringValue ?? '';
  if (base === 'Number') {
    if (custom === 'int' || custom === 'double' || custom === 'timestamp')
      return decodeTypedText(custom, text);
    return /^-?\d+$/.test(text) ? decodeTypedText('int', text) : Number(text);
  }
  if (custom !== undefined && TEXT_TYPES.has(custom)) return decodeTypedText(custom, text);
  return text;
}

function splitDataType(dataType: string): [string, string | undefined] {
  const dot = dataType.indexOf('.');
  return dot < 0 ? [dataType, undefined] : [dataType.slice(0, dot), dataType.slice(dot + 1)];
}

// ---- typed header values as text ---------------------------------------------------------

/** The types a header value is named by when its target keeps only text (Kafka, SQS custom types). */
const TEXT_TYPES = new Set(['int', 'double', 'bool', 'null', 'timestamp', 'decimal', 'json']);

/**
 * A header value as (type, text): string → itself; integer → 'int' (decimal); other number →
 * 'double'; boolean → 'bool' ("true"/"false"); null → 'null' (""); Buffer → 'bytes'; AMQP
 * timestamp → 'timestamp' (seconds); decimal → 'decimal' ("digits/places"); table or array →
 * 'json' (JSON; bytes inside become base64 strings).
 */
export function encodeTypedText(value: HeaderValue): { type: string; text: string } {
  if (typeof value === 'string') return { type: 'string', text: value };
  if (typeof value === 'number') {
    return Number.isInteger(value)
      ? { type: 'int', text: String(value) }
      : { type: 'double', text: String(value) };
  }
  if (typeof value === 'boolean') return { type: 'bool', text: String(value) };
  if (value === null) return { type: 'null', text: '' };
  if (Buffer.isBuffer(value)) return { type: 'bytes', text: value.toString('base64') };
  if (!Array.isArray(value) && typeof value === 'object' && '!' in value) {
    const typed = value as TypedHeaderValue;
    if (typed['!'] === 'timestamp') return { type: 'timestamp', text: String(typed.value) };
    if (typed['!'] === 'decimal') {
      const d = typed.value as { places: number; digits: number };
      return { type: 'decimal', text: `${d.digits}/${d.places}` };
    }
    return encodeTypedText(typed.value as HeaderValue);
  }
  return {
    type: 'json',
    text: JSON.stringify(value, (_k, v) => (isBufferJson(v) ? Buffer.from(v.data).toString('base64') : v)),
  };
}

function isBufferJson(v: unknown): v is { type: 'Buffer'; data: number[] } {
  return (
    typeof v === 'object' &&
    v !== null &&
    (v as { type?: unknown }).type === 'Buffer' &&
    Array.isArray((v as { data?: unknown }).data)
  );
}

export function decodeTypedText(type: string, text: string): HeaderValue {
  switch (type) {
    case 'int':
    case 'double':
      return Number(text);
    case 'bool':
      return text === 'true';
    case 'null':
      return null;
    case 'bytes':
      return Buffer.from(text, 'base64');
    case 'timestamp':
      return { '!': 'timestamp', value: Number(text) };
    case 'decimal': {
      const [digits, places] = text.split('/').map(Number);
      return { '!': 'decimal', value: { places: places ?? 0, digits: digits ?? 0 } };
    }
    case 'json':
      try {
        return JSON.parse(text) as HeaderValue;
      } catch {
        return text;
      }
    default:
      return text;
  }
}

function parsePacked(text: string | undefined): Record<string, [string, string]> {
  if (text === undefined) return {};
  try {
    const parsed = JSON.parse(text) as unknown;
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, [string, string]>)
      : {};
  } catch {
    return {};
  }
}

function parseTypes(text: string | undefined): Record<string, string> {
  if (text === undefined) return {};
  try {
    const parsed = JSON.parse(text) as unknown;
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, string>)
      : {};
  } catch {
    return {};
  }
}

function headerText(value: HeaderValue | Buffer | string): string {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return encodeTypedText(value).text;
}

const firstOf = <T>(value: T | T[]): T => (Array.isArray(value) ? (value[0] as T) : value);

function withProperties(
  base: Omit<BridgeMessage, PropertyName>,
  property: (name: PropertyName) => string | undefined,
): BridgeMessage {
  const out: Record<string, unknown> = { ...base };
  for (const name of PROPERTY_NAMES) {
    const value = property(name);
    if (value !== undefined) out[name] = value;
  }
  return out as unknown as BridgeMessage;
}
