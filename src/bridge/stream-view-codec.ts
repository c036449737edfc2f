/**
 * The stream view's conversions (docs/bridges.md, "A Kafka topic as an AMQP stream"): an AMQP
 * message as Pier's core holds it (encoded basic properties, body, exchange and routing key) ↔ a
 * Kafka record in a stored v2 batch. Pure functions over Buffers; the field mapping is
 * message-mapping.ts's (the shovels' table), so a message looks the same whether a shovel copied it
 * or the view served it.
 */
import { Buffer } from 'node:buffer';
import {
  decodeProperties,
  encodeProperties,
  type FieldTable,
  type FieldValue,
  TypedValue,
} from '../protocol/amqp/codec/index.js';
import {
  ATTR_CONTROL,
  ATTR_TRANSACTIONAL,
  BATCH_HEADER_BYTES,
  BatchOffset,
} from '../protocol/kafka/record-batch.js';
import { encodeRecordBatch } from '../protocol/kafka/record-batch-encoder.js';
import { MalformedRecords } from '../protocol/kafka/record-cursor.js';
import { type DecodedRecord, decodeRecords } from '../protocol/kafka/record-decoder.js';
import {
  type BridgeMessage,
  fromKafka,
  type HeaderValue,
  type KafkaInbound,
  KEY_HEADER,
  toKafka,
} from './message-mapping.js';

/** What the view needs of an AMQP message (core/message.ts's Message has these fields). */
export interface AmqpStoredMessage {
  readonly exchange: string;
  readonly routingKey: string;
  /** Encoded AMQP basic properties (flags and list), as the channel received them. */
  readonly properties: Buffer;
  readonly body: Buffer;
  /** When Pier received it: the record's timestamp when the message has no `timestamp` property. */
  readonly publishedAtMs: number;
}

/** An AMQP message for delivery from a record. */
export interface AmqpViewedMessage {
  readonly routingKey: string;
  readonly properties: Buffer;
  readonly body: Buffer;
  readonly timestampMs: number;
}

/** The AMQP delivery mode every viewed record gets: the log is on disk. */
const PERSISTENT = 2;
/** AMQP routing keys are short strings: at most 255 bytes. */
const MAX_ROUTING_KEY_BYTES = 255;

/**
 * One record batch (v2, uncompressed, no producer id) holding `message` as its only record, its
 * base offset set to `baseOffset`. The key is the `x-message-key` header when present, else the
 * routing key of a publish through a named exchange; a publish to the default exchange (whose
 * routing key only names the queue) gives a record without a key.
 */
export function batchOfAmqpMessage(
  message: AmqpStoredMessage,
  baseOffset: number,
): { batch: Buffer; keyed: boolean } {
  const props = decodeProperties(message.properties);
  const headers: Record<string, HeaderValue> = {};
  for (const [name, value] of Object.entries(props.headers ?? {})) {
    if (value !== undefined) headers[name] = headerValueOf(value);
  }
  const keyHeader = headers[KEY_HEADER];
  delete headers[KEY_HEADER];
  const key =
    keyHeader !== undefined
      ? Buffer.isBuffer(keyHeader)
        ? keyHeader
        : Buffer.from(String(keyHeader))
      : message.exchange !== ''
        ? Buffer.from(message.routingKey)
        : undefined;
  const timestampMs = props.timestamp !== undefined ? props.timestamp * 1000 : message.publishedAtMs;
  const bridged: BridgeMessage = {
    body: message.body,
    headers,
    ...(key === undefined ? {} : { key }),
    timestampMs,
    ...(props.messageId === undefined ? {} : { messageId: props.messageId }),
    ...(props.contentType === undefined ? {} : { contentType: props.contentType }),
    ...(props.contentEncoding === undefined ? {} : { contentEncoding: props.contentEncoding }),
    ...(props.correlationId === undefined ? {} : { correlationId: props.correlationId }),
    ...(props.replyTo === undefined ? {} : { replyTo: props.replyTo }),
    ...(props.type === undefined ? {} : { type: props.type }),
    ...(props.appId === undefined ? {} : { appId: props.appId }),
  };
  const record = toKafka(bridged);
  const batch = encodeRecordBatch({
    baseOffset,
    baseTimestampMs: timestampMs,
    records: [
      {
        key: record.key ?? null,
        value: record.value,
        headers: Object.entries(record.headers).map(([name, value]) => ({ key: name, value })),
        timestampMs,
      },
    ],
  });
  return { batch, keyed: record.key !== undefined };
}

/** The batch's header fields a reader of the view needs. */
export interface BatchSummary {
  readonly baseOffset: number;
  /** A transaction marker: no records for consumers. */
  readonly control: boolean;
  readonly transactional: boolean;
  readonly producerId: number;
}

export function batchSummary(batch: Buffer): BatchSummary | undefined {
  if (batch.length < BATCH_HEADER_BYTES) return undefined;
  const attributes = batch.readInt16BE(BatchOffset.attributes);
  return {
    baseOffset: Number(batch.readBigInt64BE(BatchOffset.baseOffset)),
    control: (attributes & ATTR_CONTROL) !== 0,
    transactional: (attributes & ATTR_TRANSACTIONAL) !== 0,
    producerId: Number(batch.readBigInt64BE(BatchOffset.producerId)),
  };
}

/**
 * A record as an AMQP delivery: value → body, headers → headers (types restored from
 * `x-pier-header-types`), the property headers (`message-id`, `content-type`, …) → properties,
 * the record time → `timestamp` (seconds), key → routing key (the queue's name when the record has
 * no key; a key that cannot be a routing key — not UTF-8 or over 255 bytes — also travels as the
 * `x-message-key` header). Everything is copied: the record may be a view of memory the log reuses.
 */
export function amqpMessageOfRecord(record: DecodedRecord, queueName: string): AmqpViewedMessage {
  const headers: Record<string, Buffer | Buffer[]> = {};
  for (const header of record.headers) {
    const name = header.key.toString('utf8');
    const value = Buffer.from(header.value ?? Buffer.alloc(0));
    const seen = headers[name];
    headers[name] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  const inbound: KafkaInbound = {
    key: record.key === null ? null : Buffer.from(record.key),
    value: record.value === null ? null : Buffer.from(record.value),
    timestamp: String(record.timestampMs),
    headers,
  };
  const bridged = fromKafka(inbound);
  const table: FieldTable = {};
  for (const [name, value] of Object.entries(bridged.headers)) table[name] = fieldValueOf(value);
  let routingKey = queueName;
  if (bridged.key !== undefined) {
    const text = bridged.key.toString('utf8');
    if (Buffer.from(text).equals(bridged.key) && bridged.key.length <= MAX_ROUTING_KEY_BYTES)
      routingKey = text;
    else table[KEY_HEADER] = bridged.key;
  }
  const properties = encodeProperties({
    ...(bridged.contentType === undefined ? {} : { contentType: bridged.contentType }),
    ...(bridged.contentEncoding === undefined ? {} : { contentEncoding: bridged.contentEncoding }),
    headers: table,
    deliveryMode: PERSISTENT,
    ...(bridged.correlationId === undefined ? {} : { correlationId: bridged.correlationId }),
    ...(bridged.replyTo === undefined ? {} : { replyTo: bridged.replyTo }),
    ...(bridged.messageId === undefined ? {} : { messageId: bridged.messageId }),
    timestamp: Math.floor(record.timestampMs / 1000),
    ...(bridged.type === undefined ? {} : { type: bridged.type }),
    ...(bridged.appId === undefined ? {} : { appId: bridged.appId }),
  });
  return { routingKey, properties, body: bridged.body, timestampMs: record.timestampMs };
}

/** A decoded AMQP field value in message-mapping's (amqplib's) form. */
function headerValueOf(value: FieldValue): HeaderValue {
  if (value === undefined || value === null) return null;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Date) return { '!': 'timestamp', value: Math.floor(value.getTime() / 1000) };
  if (value instanceof TypedValue) {
    if (value.type === 'T') return { '!': 'timestamp', value: Number(value.value) };
    return headerValueOf(value.value);
  }
  if (Buffer.isBuffer(value)) return value;
  if (Array.isArray(value)) return value.map(headerValueOf);
  if (typeof value === 'object') {
    const table: Record<string, HeaderValue> = {};
    for (const [name, inner] of Object.entries(value)) table[name] = headerValueOf(inner);
    return table;
  }
  return value;
}

/** message-mapping's header value as an AMQP field value Pier's codec encodes. */
function fieldValueOf(value: HeaderValue): FieldValue {
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return value;
  if (Array.isArray(value)) return value.map(fieldValueOf);
  if ('!' in value && Object.keys(value).length === 2 && 'value' in value) {
    const typed = value as { '!': string; value: unknown };
    if (typed['!'] === 'timestamp') return new TypedValue('T', Number(typed.value));
    if (typed['!'] === 'decimal') {
      const d = typed.value as { places: number; digits: number };
      return d.digits / 10 ** d.places;
    }
  }
  const table: FieldTable = {};
  for (const [name, inner] of Object.entries(value)) table[name] = fieldValueOf(inner as HeaderValue);
  return table;
}

/** One record of a stored batch in its AMQP form. */
export interface ViewedRecord {
  readonly offset: number;
  readonly message: AmqpViewedMessage;
}

/**
 * The records of a stored batch as AMQP messages, in offset order: none for a transaction marker,
 * for a batch `isAborted` says belongs to an aborted transaction (what a read_committed Kafka
 * consumer skips), or for a batch whose records cannot be read (damaged storage; skipped like Kafka
 * clients skip what they cannot decode, rather than stopping every AMQP consumer at it).
 */
export function viewedRecordsOfBatch(
  batch: Buffer,
  queueName: string,
  isAborted: (summary: BatchSummary) => boolean,
): ViewedRecord[] {
  const summary = batchSummary(batch);
  if (summary === undefined || summary.control) return [];
  if (summary.transactional && isAborted(summary)) return [];
  const out: ViewedRecord[] = [];
  try {
    for (const record of decodeRecords(batch)) {
      out.push({ offset: record.offset, message: amqpMessageOfRecord(record, queueName) });
    }
  } catch (error) {
    if (!(error instanceof MalformedRecords)) throw error;
  }
  return out;
}
