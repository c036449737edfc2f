/**
 * The decoders `npm run fuzz` and test/fuzz/fuzz-corpus.test.ts drive, each with its seed inputs
 * (generated from the codecs' own encoders, as the per-protocol fuzz tests do, and kept in
 * test/fuzz-corpus/<name>/), a run function that feeds one input through everything the broker would
 * run on it, and the one error type that decoder documents. Anything else escaping a run — a
 * RangeError, TypeError, an assertion about the result, a 5xx from the SQS front — is a finding.
 */

import { createServer } from 'node:http';
import { Duplex } from 'node:stream';
import { BrokerError } from '../../src/core/amqp/errors.js';
import { MemoryQueueStore } from '../../src/core/amqp/memory-queue-store.js';
import { NO_PROPERTIES } from '../../src/core/amqp/message-properties.js';
import { importDefinitions } from '../../src/core/amqp/rabbit-definitions.js';
import { BrokerCore } from '../../src/core/broker-core.js';
import { systemClock } from '../../src/core/clock.js';
import { discardDefinitions } from '../../src/core/definitions.js';
import { ManualClock } from '../../src/core/manual-clock.js';
import { SqsQueueRegistry } from '../../src/core/sqs/registry.js';
import {
  AmqpCodecError,
  decodeContentHeader,
  decodeMethod,
  decodeProperties,
  decodeTable,
  encodeContentMethod,
  encodeMethodFrame,
  encodeProperties,
  encodeTable,
  FieldKind,
  FrameParser,
  METHOD_SPECS,
  methodSpecById,
  readDeliveryMode,
  readExpiration,
  readPriority,
} from '../../src/protocol/amqp/codec/index.js';
import { KafkaCodecError } from '../../src/protocol/kafka/codec/errors.js';
import { decodeRequest, encodeRequest } from '../../src/protocol/kafka/codec/messages.js';
import { REQUESTS } from '../../src/protocol/kafka/codec/schemas.js';
import {
  CompressionCodec,
  CompressionError,
  compressRecords,
  decompressRecords,
} from '../../src/protocol/kafka/compression.js';
import {
  BatchOffset,
  KafkaRecordError,
  RecordBatchError,
  validateRecordBatches,
} from '../../src/protocol/kafka/record-batch.js';
import { encodeRecordBatch } from '../../src/protocol/kafka/record-batch-encoder.js';
import { MalformedRecords } from '../../src/protocol/kafka/record-cursor.js';
import { decodeRecords } from '../../src/protocol/kafka/record-decoder.js';
import { sqsActions } from '../../src/protocol/sqs/actions/index.js';
import { SqsError } from '../../src/protocol/sqs/errors.js';
import { sqsRequestHandler } from '../../src/protocol/sqs/http-pipeline.js';
import { parseJsonRequest, type SqsRequest } from '../../src/protocol/sqs/json-protocol.js';
import { parseQueryRequest } from '../../src/protocol/sqs/query-protocol.js';
import { parseCreateQueueAttributes } from '../../src/protocol/sqs/queue-attributes.js';
import { prng } from '../helpers/prng.js';
import { sampleStruct } from '../protocol/kafka/kafka-samples.js';

export interface FuzzTarget {
  readonly name: string;
  /** The only error a run may throw (the decoder's documented refusal), for the report. */
  readonly documentedError: string;
  /** Valid inputs built with the codecs' encoders: the corpus is written from these. */
  seeds(): Buffer[];
  /**
   * Throws the documented error, or a FuzzFinding / anything else for a bug. Decoders that answer a
   * refusal instead of throwing return an outcome label: `refused <why>` or `ok <what>`.
   */
  run(input: Buffer): Outcome | Promise<Outcome>;
  isDocumented(error: unknown): boolean;
  /** A label for the per-kind counts of the summary (e.g. the Kafka API), optional. */
  kindOf?(input: Buffer): string;
  /** The decoder under test keeps state: rebuild it now and then so memory stays flat. */
  reset?(): void;
}

/** A result that breaks a decoder's contract without an exception of its own. */
// biome-ignore lint/suspicious/noConfusingVoidType: run functions that return nothing are void
export type Outcome = string | undefined | void;

export class FuzzFinding extends Error {}

function check(condition: boolean, message: string): void {
  if (!condition) throw new FuzzFinding(message);
}

// ---------------------------------------------------------------------------------------- AMQP

const HEADERS = {
  a: 'x',
  n: 5,
  d: 1.5,
  l: 2n ** 62n,
  t: new Date(0),
  arr: [1, { b: true }],
  bin: Buffer.from([1]),
  nested: { deeper: { x: -1 } },
};

/** One frame of every method in the spec, with a value in every field. */
function everyAmqpMethod(): Buffer[] {
  const frames: Buffer[] = [];
  for (const spec of METHOD_SPECS) {
    const method: Record<string, unknown> = { method: spec.name };
    for (const [name, kind] of spec.fields) {
      if (name === null) continue;
      method[name] =
        kind === FieldKind.BIT
          ? true
          : kind === FieldKind.SHORTSTR
            ? 'name.x'
            : kind === FieldKind.LONGSTR
              ? 'long string'
              : kind === FieldKind.BYTES
                ? Buffer.from('\0guest\0guest')
                : kind === FieldKind.TABLE
                  ? HEADERS
                  : kind === FieldKind.OCTET
                    ? 7
                    : 1000;
    }
    // biome-ignore lint/suspicious/noExplicitAny: built from the spec's field list
    frames.push(encodeMethodFrame(1, method as any));
  }
  return frames;
}

function contentFrames(): Buffer[] {
  const props = encodeProperties({
    contentType: 'text/plain',
    contentEncoding: 'utf8',
    headers: HEADERS,
    deliveryMode: 2,
    priority: 1,
    correlationId: 'c',
    replyTo: 'r',
    expiration: '10',
    messageId: 'm',
    timestamp: 1_700_000_000,
    type: 't',
    userId: 'guest',
    appId: 'a',
  });
  return [
    Buffer.concat(
      encodeContentMethod(
        1,
        { method: 'basic.publish', exchange: '', routingKey: 'q', mandatory: false, immediate: false },
        props,
        Buffer.from('body'),
        4096,
      ),
    ),
  ];
}

const amqpDocumented = (error: unknown) => error instanceof AmqpCodecError;

/** Everything the connection runs on a frame's payload: methods, content headers, properties. */
function onAmqpFrame(type: number, _channel: number, payload: Buffer): void {
  if (type === 1) decodeMethod(payload);
  else if (type === 2) {
    const { properties } = decodeContentHeader(payload);
    decodeProperties(properties);
    readDeliveryMode(properties);
    readPriority(properties);
    readExpiration(properties);
  }
}

const amqpFrames: FuzzTarget = {
  name: 'amqp-frames',
  documentedError: 'AmqpCodecError',
  seeds: () => [...everyAmqpMethod(), ...contentFrames(), Buffer.concat(everyAmqpMethod().slice(0, 6))],
  run(input) {
    const parser = new FrameParser(131072);
    // Split at a point the input itself picks, so partial reads are exercised reproducibly.
    const cut = input.length === 0 ? 0 : input[0]! % (input.length + 1);
    parser.push(input.subarray(0, cut), onAmqpFrame);
    parser.push(input.subarray(cut), onAmqpFrame);
  },
  isDocumented: amqpDocumented,
};

const amqpMethods: FuzzTarget = {
  name: 'amqp-methods',
  documentedError: 'AmqpCodecError',
  // A method payload: class id, method id, arguments (the frame's 7-byte header and end octet off).
  seeds: () => everyAmqpMethod().map((frame) => frame.subarray(7, frame.length - 1)),
  run(input) {
    decodeMethod(input);
  },
  isDocumented: amqpDocumented,
  kindOf: (input) =>
    (input.length >= 4 && methodSpecById(input.readUInt16BE(0), input.readUInt16BE(2))?.name) || 'unknown',
};

const amqpContentHeaders: FuzzTarget = {
  name: 'amqp-content-headers',
  documentedError: 'AmqpCodecError',
  seeds: () =>
    contentFrames().map((frames) => {
      // The second frame of a publish is its content header: skip the method frame.
      const methodEnd = 7 + frames.readUInt32BE(3) + 1;
      return frames.subarray(methodEnd + 7, methodEnd + 7 + frames.readUInt32BE(methodEnd + 3));
    }),
  run(input) {
    onAmqpFrame(2, 1, input);
  },
  isDocumented: amqpDocumented,
};

const amqpFieldTables: FuzzTarget = {
  name: 'amqp-field-tables',
  documentedError: 'AmqpCodecError',
  seeds: () => [encodeTable(HEADERS), encodeTable({}), encodeTable({ x: [[[['deep']]]] })],
  run(input) {
    const { offset } = decodeTable(input, 0);
    check(offset <= input.length, `decodeTable read to ${offset} of ${input.length} bytes`);
  },
  isDocumented: amqpDocumented,
};

// --------------------------------------------------------------------------------------- Kafka

const kafkaRequests: FuzzTarget = {
  name: 'kafka-requests',
  documentedError: 'KafkaCodecError',
  // Every API at every version it supports, from the schemas (the request without its size prefix).
  seeds() {
    const rand = prng(1);
    const out: Buffer[] = [];
    for (const schema of REQUESTS.values()) {
      const [min, max] = schema.validVersions;
      for (let apiVersion = min; apiVersion <= max; apiVersion++) {
        const body = sampleStruct(schema.fields, apiVersion, rand);
        const header = { apiKey: schema.apiKey!, apiVersion, correlationId: 7, clientId: 'fuzz' };
        out.push(encodeRequest(header, body).subarray(4));
      }
    }
    return out;
  },
  run(input) {
    decodeRequest(input);
  },
  isDocumented: (error) => error instanceof KafkaCodecError,
  kindOf: (input) => {
    if (input.length < 2) return 'short';
    const key = input.readInt16BE(0);
    return REQUESTS.get(key)?.name ?? 'unknown-api';
  },
};

const RECORD_CODES = new Set<number>(Object.values(KafkaRecordError));

const kafkaRecordBatches: FuzzTarget = {
  name: 'kafka-record-batches',
  documentedError: 'RecordBatchError (returned), MalformedRecords, CompressionError',
  seeds() {
    const rand = prng(2);
    const int = (n: number) => Math.floor(rand() * n);
    const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
    const out: Buffer[] = [];
    for (let i = 0; i < 24; i++) {
      const records = Array.from({ length: 1 + int(5) }, () => ({
        key: rand() < 0.3 ? null : bytes(int(20)),
        value: rand() < 0.2 ? null : bytes(int(60)),
        headers: Array.from({ length: int(3) }, () => ({ key: bytes(int(6)), value: bytes(int(8)) })),
        timestampMs: 1_700_000_000_000 + int(1e6),
      }));
      const plain = encodeRecordBatch({ records, producerId: int(3) - 1 });
      const compression = (['none', 'gzip', 'snappy', 'lz4'] as const)[i % 4]!;
      if (compression === 'none') out.push(plain);
      else {
        const encodedRecords = compressRecords(CompressionCodec[compression], plain.subarray(61));
        out.push(encodeRecordBatch({ records, producerId: int(3) - 1, compression, encodedRecords }));
      }
    }
    out.push(Buffer.concat(out.slice(0, 3)));
    return out;
  },
  run(input) {
    const result = validateRecordBatches(input, { maxMessageBytes: 1 << 20 });
    if (!result.ok) {
      check(result.error instanceof RecordBatchError, 'refusal is a RecordBatchError');
      check(RECORD_CODES.has(result.error.errorCode), `refusal code ${result.error.errorCode}`);
      return `refused ${result.error.errorCode} ${result.error.message.split(' ').slice(0, 4).join(' ')}`;
    }
    let pos = 0;
    for (const v of result.batches) {
      check(v.start === pos, 'batches are contiguous');
      pos = v.end;
      const batch = input.subarray(v.start, v.end);
      if (v.compression === 'none') {
        let n = 0;
        for (const _ of decodeRecords(batch)) n++;
        check(n === v.recordCount, `an accepted batch decodes fully (${n} of ${v.recordCount})`);
      } else {
        // What the broker does with a compressed batch it must read (compaction, recompression).
        const codec = batch.readInt16BE(BatchOffset.attributes) & 7;
        decompressRecords(codec, batch.subarray(61), 1 << 22);
      }
    }
    check(pos === input.length, 'the whole field is batches');
    return `ok ${result.batches.length > 1 ? 'batches' : 'batch'} ${result.batches.map((b) => b.compression).join(',')}`;
  },
  isDocumented: (error) => error instanceof MalformedRecords || error instanceof CompressionError,
};

// ----------------------------------------------------------------------------------------- SQS

const QUEUE_URL = 'http://127.0.0.1:9324/000000000000/jobs';
const FIFO_URL = 'http://127.0.0.1:9324/000000000000/jobs.fifo';

const JSON_SEEDS: Array<[string, unknown]> = [
  [
    'SendMessage',
    {
      QueueUrl: QUEUE_URL,
      MessageBody: 'hello ☃',
      DelaySeconds: 5,
      MessageAttributes: {
        color: { DataType: 'String', StringValue: 'blue' },
        raw: { DataType: 'Binary', BinaryValue: 'AAECAw==' },
        n: { DataType: 'Number.int', StringValue: '42' },
      },
      MessageSystemAttributes: { AWSTraceHeader: { DataType: 'String', StringValue: 'Root=1-abc' } },
    },
  ],
  [
    'SendMessageBatch',
    {
      QueueUrl: FIFO_URL,
      Entries: [
        { Id: 'a', MessageBody: 'one', MessageGroupId: 'g', MessageDeduplicationId: 'd1' },
        { Id: 'b', MessageBody: 'two', MessageGroupId: 'g', MessageDeduplicationId: 'd2' },
      ],
    },
  ],
  [
    'ReceiveMessage',
    {
      QueueUrl: QUEUE_URL,
      MaxNumberOfMessages: 10,
      VisibilityTimeout: 0,
      MessageSystemAttributeNames: ['All'],
      MessageAttributeNames: ['color', 'raw.*'],
    },
  ],
  [
    'CreateQueue',
    {
      QueueName: 'other.fifo',
      Attributes: { FifoQueue: 'true', VisibilityTimeout: '10', ContentBasedDeduplication: 'true' },
      tags: { team: 'x' },
    },
  ],
  ['DeleteMessageBatch', { QueueUrl: QUEUE_URL, Entries: [{ Id: 'a', ReceiptHandle: 'abc' }] }],
  ['ChangeMessageVisibility', { QueueUrl: QUEUE_URL, ReceiptHandle: 'abc', VisibilityTimeout: 3 }],
  ['SetQueueAttributes', { QueueUrl: QUEUE_URL, Attributes: { RedrivePolicy: '{"maxReceiveCount":"3"}' } }],
  ['GetQueueAttributes', { QueueUrl: QUEUE_URL, AttributeNames: ['All'] }],
  ['ListQueues', { QueueNamePrefix: 'j', MaxResults: 5, NextToken: 't' }],
  ['TagQueue', { QueueUrl: QUEUE_URL, Tags: { a: 'b' } }],
  ['StartMessageMoveTask', { SourceArn: 'arn:aws:sqs:us-east-1:000000000000:jobs' }],
];

const QUERY_SEEDS = [
  `Action=SendMessage&QueueUrl=${encodeURIComponent(QUEUE_URL)}&MessageBody=hello&DelaySeconds=5` +
    '&MessageAttribute.1.Name=color&MessageAttribute.1.Value.DataType=String&MessageAttribute.1.Value.StringValue=blue' +
    '&MessageAttribute.2.Name=raw&MessageAttribute.2.Value.DataType=Binary&MessageAttribute.2.Value.BinaryValue=AAECAw%3D%3D',
  `Action=SendMessageBatch&QueueUrl=${encodeURIComponent(QUEUE_URL)}` +
    '&SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageBody=one' +
    '&SendMessageBatchRequestEntry.2.Id=b&SendMessageBatchRequestEntry.2.MessageBody=two&SendMessageBatchRequestEntry.2.DelaySeconds=3',
  `Action=ReceiveMessage&QueueUrl=${encodeURIComponent(QUEUE_URL)}&MaxNumberOfMessages=10&AttributeName.1=All&MessageAttributeName.1=All`,
  'Action=CreateQueue&QueueName=jobs2&Attribute.1.Name=VisibilityTimeout&Attribute.1.Value=10&Tag.1.Key=team&Tag.1.Value=x',
  `Action=ChangeMessageVisibilityBatch&QueueUrl=${encodeURIComponent(QUEUE_URL)}` +
    '&ChangeMessageVisibilityBatchRequestEntry.1.Id=a&ChangeMessageVisibilityBatchRequestEntry.1.ReceiptHandle=h' +
    '&ChangeMessageVisibilityBatchRequestEntry.1.VisibilityTimeout=5',
  `Action=SetQueueAttributes&QueueUrl=${encodeURIComponent(QUEUE_URL)}&Attribute.1.Name=DelaySeconds&Attribute.1.Value=0`,
];

/** A JSON-protocol input is the X-Amz-Target action, a newline, and the body. */
function splitJsonInput(input: Buffer): [string, Buffer] {
  const nl = input.indexOf(10);
  return nl < 0 ? ['', input] : [input.toString('latin1', 0, nl), input.subarray(nl + 1)];
}

function checkSqsOutcome(outcome: SqsRequest | SqsError): string {
  if (outcome instanceof SqsError) {
    check(outcome.httpStatus >= 400 && outcome.httpStatus < 500, `refused with HTTP ${outcome.httpStatus}`);
    check(outcome.queryCode.length > 0 && outcome.message.length > 0, 'refusal has a code and message');
    return `refused ${outcome.queryCode}`;
  }
  check(typeof outcome.action === 'string', 'a request has an action');
  check(Object.getPrototypeOf(outcome.params) === Object.prototype, 'params keep their prototype');
  return `ok ${outcome.action} ${Object.keys(outcome.params).length}`;
}

const sqsJson: FuzzTarget = {
  name: 'sqs-json',
  documentedError: 'none (returns SqsError 4xx)',
  seeds: () =>
    JSON_SEEDS.map(([action, body]) => Buffer.from(`AmazonSQS.${action}\n${JSON.stringify(body)}`)),
  run(input) {
    const [target, body] = splitJsonInput(input);
    return checkSqsOutcome(parseJsonRequest({ 'x-amz-target': target }, body));
  },
  isDocumented: () => false,
};

const sqsQuery: FuzzTarget = {
  name: 'sqs-query',
  documentedError: 'none (returns SqsError 4xx)',
  seeds: () => QUERY_SEEDS.map((text) => Buffer.from(text)),
  run(input) {
    // The form body and, after a NUL when present, the URL's query string.
    const nul = input.indexOf(0);
    const outcome =
      nul < 0
        ? parseQueryRequest(input)
        : parseQueryRequest(input.subarray(0, nul), input.toString('latin1', nul + 1));
    return checkSqsOutcome(outcome);
  },
  isDocumented: () => false,
};

/** The SigV4 date the corpus' requests are signed with; the fuzzed front's clock stands there. */
const SIGNED_AT = '20260101T000000Z';
const AUTHORIZATION =
  'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/sqs/aws4_request, ' +
  `SignedHeaders=host;x-amz-date, Signature=${'a'.repeat(64)}`;

function httpRequestBytes(path: string, headers: Record<string, string>, body: string): Buffer {
  const lines = [`POST ${path} HTTP/1.1`, 'Host: 127.0.0.1:9324', `X-Amz-Date: ${SIGNED_AT}`];
  lines.push(`Authorization: ${AUTHORIZATION}`);
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  lines.push(`Content-Length: ${Buffer.byteLength(body)}`, '', '');
  return Buffer.concat([Buffer.from(lines.join('\r\n')), Buffer.from(body)]);
}

/** An in-memory socket: what the test writes is the client's request; what the server writes is collected. */
class MemorySocket extends Duplex {
  readonly written: Buffer[] = [];
  remoteAddress = '127.0.0.1';
  remotePort = 40000;
  override _read(): void {}
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.written.push(chunk);
    this.emit('server-wrote');
    callback();
  }
  setTimeout(): this {
    return this;
  }
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
}

/** How long an SQS request may take before it counts as unanswered (long polls excepted). */
const SQS_ANSWER_MS = 2_000;

function makeSqsFront() {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const registry = new SqsQueueRegistry({
    clock,
    accountId: '000000000000',
    region: 'us-east-1',
    definitions: discardDefinitions,
    durability: { afterDurable: (callback: () => void) => callback() },
  });
  const handler = sqsRequestHandler({
    registry,
    actions: sqsActions,
    accessKeys: new Map(),
    maxRequestBytes: 262_144 + 4096,
    defaultAuthority: () => '127.0.0.1:9324',
    log: () => {},
    nowMs: () => Date.UTC(2026, 0, 1),
  });
  const server = createServer(handler);
  // The fuzz input is a whole conversation followed by the client's EOF: the answers to what it
  // sent are still written (a real client that half-closes is served the same way).
  (server as unknown as { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
  return { registry, server };
}

let sqsFront: ReturnType<typeof makeSqsFront> | undefined;

const sqsHttp: FuzzTarget = {
  name: 'sqs-http',
  documentedError: 'none (answers 4xx)',
  seeds() {
    const json = JSON_SEEDS.map(([action, body]) =>
      httpRequestBytes(
        '/',
        { 'Content-Type': 'application/x-amz-json-1.0', 'X-Amz-Target': `AmazonSQS.${action}` },
        JSON.stringify(body),
      ),
    );
    const query = QUERY_SEEDS.map((text) =>
      httpRequestBytes('/', { 'Content-Type': 'application/x-www-form-urlencoded' }, text),
    );
    const toQueue = httpRequestBytes(
      '/000000000000/jobs?Action=ReceiveMessage',
      { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      'MaxNumberOfMessages=2',
    );
    return [...json, ...query, toQueue];
  },
  reset() {
    sqsFront?.server.close();
    sqsFront = makeSqsFront();
    for (const name of ['jobs', 'jobs.fifo']) {
      const attributes: Record<string, string> = name.endsWith('.fifo')
        ? { FifoQueue: 'true', ContentBasedDeduplication: 'true' }
        : {};
      const parsed = parseCreateQueueAttributes(name, attributes);
      if (!parsed.ok) throw new Error(parsed.message);
      sqsFront.registry.create(name, parsed.settings, {});
    }
  },
  run(input) {
    if (!sqsFront) this.reset!();
    const front = sqsFront!;
    const socket = new MemorySocket();
    return new Promise<Outcome>((resolve, reject) => {
      let done = false;
      const finish = (error?: Error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        socket.destroy();
        if (error) reject(error);
        else {
          // The answer's status and error code (or action's result element) are the outcome.
          const answer = Buffer.concat(socket.written).toString('latin1');
          const status = /^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 'none';
          const code = /"__type":"[^"]*?#?(\w+)"|<Code>(\w+)<\/Code>|<(\w+)Response/.exec(answer);
          resolve(`${status === '200' ? 'ok' : 'refused'} ${status} ${code?.slice(1).find(Boolean) ?? ''}`);
        }
      };
      const timer = setTimeout(() => {
        // A long poll may legitimately wait (the front's clock does not move); anything else is a hang.
        const text = input.toString('latin1');
        if (/WaitTime|ReceiveMessage/i.test(text)) finish();
        else finish(new FuzzFinding(`no answer within ${SQS_ANSWER_MS} ms`));
      }, SQS_ANSWER_MS);
      socket.on('server-wrote', () => {
        const answer = Buffer.concat(socket.written).toString('latin1');
        const status = /^HTTP\/1\.1 (\d{3})/.exec(answer);
        if (!status) return;
        if (Number(status[1]) >= 500 && !answer.includes('ServiceUnavailable')) {
          finish(new FuzzFinding(`answered ${answer.split('\r\n\r\n')[0]}\n${answer.slice(-400)}`));
          return;
        }
      });
      socket.on('error', () => finish());
      // The server ended its side: everything it had to answer is written.
      socket.on('finish', () => finish());
      socket.on('close', () => finish());
      front.server.emit('connection', socket);
      socket.push(input);
      socket.push(null);
    });
  },
  isDocumented: () => false,
};

// --------------------------------------------------------------------------------- Definitions

function makeCore(): BrokerCore {
  const core = new BrokerCore({
    clock: systemClock,
    createStore: () => new MemoryQueueStore(),
    definitions: discardDefinitions,
    codec: NO_PROPERTIES,
  });
  core.restore([]);
  return core;
}

let definitionsCore: BrokerCore | undefined;

const DEFINITIONS_SEED = {
  rabbit_version: '3.10.0',
  users: [
    {
      name: 'app',
      password_hash: 'kI3GCqW5JLMJa4iX1lo7X4D6XbYqlLgxIs30+P6tENUV2POR',
      hashing_algorithm: 'rabbit_password_hashing_sha256',
      tags: ['management'],
      limits: { 'max-connections': 10 },
    },
  ],
  vhosts: [{ name: 'v1' }],
  permissions: [{ user: 'app', vhost: 'v1', configure: '.*', write: '^amq\\.', read: '.*' }],
  topic_permissions: [{ user: 'app', vhost: 'v1', exchange: 'amq.topic', write: '^{username}', read: '.*' }],
  parameters: [
    { component: 'shovel', vhost: 'v1', name: 's', value: { 'src-uri': 'amqp://', 'src-queue': 'a' } },
  ],
  global_parameters: [{ name: 'cluster_name', value: 'pier' }],
  policies: [
    {
      vhost: 'v1',
      name: 'ttl',
      pattern: '^q',
      'apply-to': 'queues',
      definition: { 'message-ttl': 1000, 'max-length': 10, 'dead-letter-exchange': 'dlx' },
      priority: 1,
    },
  ],
  queues: [
    {
      name: 'q1',
      vhost: 'v1',
      durable: true,
      auto_delete: false,
      arguments: { 'x-queue-type': 'classic', 'x-max-priority': 5, 'x-message-ttl': 60000 },
    },
    { name: 's1', vhost: 'v1', durable: true, auto_delete: false, arguments: { 'x-queue-type': 'stream' } },
  ],
  exchanges: [
    {
      name: 'dlx',
      vhost: 'v1',
      type: 'fanout',
      durable: true,
      auto_delete: false,
      internal: false,
      arguments: {},
    },
    {
      name: 'e1',
      vhost: 'v1',
      type: 'topic',
      durable: true,
      auto_delete: false,
      internal: false,
      arguments: { 'alternate-exchange': 'dlx' },
    },
  ],
  bindings: [
    {
      source: 'e1',
      vhost: 'v1',
      destination: 'q1',
      destination_type: 'queue',
      routing_key: 'a.*',
      arguments: {},
    },
    {
      source: 'e1',
      vhost: 'v1',
      destination: 'dlx',
      destination_type: 'exchange',
      routing_key: '#',
      arguments: {},
    },
  ],
};

const definitions: FuzzTarget = {
  name: 'definitions',
  documentedError: 'SyntaxError (JSON, answered 400), BrokerError precondition-failed',
  seeds: () => [
    Buffer.from(JSON.stringify(DEFINITIONS_SEED, null, 1)),
    Buffer.from(JSON.stringify({ queues: DEFINITIONS_SEED.queues.map((q) => ({ ...q, vhost: '/' })) })),
    Buffer.from('{}'),
  ],
  reset() {
    definitionsCore = makeCore();
  },
  run(input) {
    if (!definitionsCore) this.reset!();
    // As the management API does: the body is JSON (a parse error is a 400), then the import.
    const defs = JSON.parse(input.toString('utf8'));
    importDefinitions(definitionsCore!, defs);
  },
  isDocumented: (error) => error instanceof SyntaxError || error instanceof BrokerError,
};

export const FUZZ_TARGETS: readonly FuzzTarget[] = [
  amqpFrames,
  amqpMethods,
  amqpContentHeaders,
  amqpFieldTables,
  kafkaRequests,
  kafkaRecordBatches,
  sqsJson,
  sqsQuery,
  sqsHttp,
  definitions,
];

/** The inputs whose structure is JSON get JSON-aware mutations too (fuzz-mutations.ts). */
export const JSON_TARGETS: ReadonlySet<string> = new Set(['sqs-json', 'definitions']);
