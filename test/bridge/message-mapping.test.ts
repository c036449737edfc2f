import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { describe, test } from 'node:test';
import {
  type AmqpInbound,
  type BridgeMessage,
  fromAmqp,
  fromKafka,
  fromSqs,
  KEY_HEADER,
  PACKED_ATTRIBUTE,
  SQS_MAX_ATTRIBUTES,
  toAmqp,
  toKafka,
  toSqs,
} from '../../src/bridge/message-mapping.js';

const typedHeaders = {
  text: 'héllo',
  count: 42,
  big: 2 ** 40,
  ratio: 0.25,
  flag: true,
  nothing: null,
  raw: Buffer.from([0, 255, 1]),
  at: { '!': 'timestamp', value: 1_700_000_000 },
  price: { '!': 'decimal', value: { places: 2, digits: 1999 } },
  nested: { a: 1, b: ['x', 'y'] },
};

const amqpMessage: AmqpInbound = {
  content: Buffer.from('{"order":1}'),
  fields: { routingKey: 'orders.eu' },
  properties: {
    headers: typedHeaders,
    messageId: 'm-1',
    contentType: 'application/json',
    contentEncoding: 'utf-8',
    correlationId: 'c-1',
    replyTo: 'replies',
    type: 'order.created',
    appId: 'shop',
    timestamp: 1_700_000_123,
  },
};

/** A message through the destination's client shape and back, as the next shovel hop would read it. */
const viaAmqp = (m: BridgeMessage, routingKey?: string) => {
  const out = toAmqp(m, routingKey);
  return fromAmqp({
    content: out.content,
    fields: { routingKey: out.routingKey },
    properties: out.options,
  });
};
const viaKafka = (m: BridgeMessage) => fromKafka(toKafka(m));
const viaSqs = (m: BridgeMessage, fifo = false) => {
  const { value } = toSqs(m, { fifo, stableId: 'shovel/s1/m-1' });
  return fromSqs({
    MessageId: 'sqs-assigned',
    Body: value.MessageBody,
    MessageAttributes: value.MessageAttributes,
    Attributes: {
      SentTimestamp: '1',
      ...(value.MessageGroupId ? { MessageGroupId: value.MessageGroupId } : {}),
    },
  });
};

describe('message mapping between AMQP, Kafka and SQS', () => {
  const original = fromAmqp(amqpMessage);

  test('AMQP → neutral: properties, timestamp in ms, routing key as the key', () => {
    assert.equal(original.messageId, 'm-1');
    assert.equal(original.contentType, 'application/json');
    assert.equal(original.correlationId, 'c-1');
    assert.equal(original.timestampMs, 1_700_000_123_000);
    assert.deepEqual(original.key, Buffer.from('orders.eu'));
  });

  test('AMQP → Kafka → AMQP keeps body, every typed header, properties, key and timestamp', () => {
    const kafka = toKafka(original);
    assert.deepEqual(kafka.key, Buffer.from('orders.eu'));
    assert.equal(kafka.timestamp, '1700000123000');
    assert.equal(
      kafka.headers.text!.toString(),
      'héllo',
      'string headers are plain UTF-8 for Kafka consumers',
    );
    assert.equal(kafka.headers['message-id']!.toString(), 'm-1');
    assert.equal(kafka.headers['content-type']!.toString(), 'application/json');
    const back = viaKafka(original);
    assert.deepEqual(back, original);
    const amqp = toAmqp(back);
    assert.equal(amqp.routingKey, 'orders.eu');
    assert.deepEqual(amqp.options.headers, typedHeaders);
    assert.equal(amqp.options.timestamp, 1_700_000_123);
  });

  test('AMQP → SQS → AMQP keeps types through SQS data types and custom type labels', () => {
    const small: BridgeMessage = {
      body: original.body,
      messageId: 'm-1',
      headers: { count: 42, ratio: 0.25, flag: true, raw: Buffer.from([1, 2]) },
    };
    const { value, dropped } = toSqs(small, { fifo: false });
    assert.deepEqual(dropped, []);
    assert.equal(value.MessageAttributes.count!.DataType, 'Number.int');
    assert.equal(value.MessageAttributes.ratio!.DataType, 'Number.double');
    assert.equal(value.MessageAttributes.flag!.DataType, 'String.bool');
    assert.equal(value.MessageAttributes.raw!.DataType, 'Binary');
    assert.deepEqual(
      viaSqs(small),
      { ...small, timestampMs: 1 },
      'SentTimestamp stands in for a missing timestamp',
    );
  });

  test('SQS keeps 10 attributes: the rest, and names SQS refuses, travel packed in one and come back', () => {
    const { value, dropped } = toSqs(original, { fifo: false });
    assert.equal(Object.keys(value.MessageAttributes).length, SQS_MAX_ATTRIBUTES);
    assert.deepEqual(dropped, []);
    assert.equal(value.MessageAttributes['message-id']!.StringValue, 'm-1');
    assert.equal(value.MessageAttributes[PACKED_ATTRIBUTE]!.DataType, 'String.json');
    assert.deepEqual(viaSqs(original), original);
    const bad: BridgeMessage = { body: Buffer.from('x'), headers: { 'bad name': 'v', 'AWS.x': 7 } };
    assert.deepEqual(Object.keys(toSqs(bad, { fifo: false }).value.MessageAttributes), [PACKED_ATTRIBUTE]);
    assert.deepEqual(viaSqs(bad).headers, bad.headers);
  });

  test('FIFO: the key is the MessageGroupId, the stable id the deduplication id; back as the key', () => {
    const { value } = toSqs(original, { fifo: true, stableId: 'shovel/s1/m-1' });
    assert.equal(value.MessageGroupId, 'orders.eu');
    assert.equal(value.MessageDeduplicationId, 'shovel/s1/m-1');
    assert.deepEqual(viaSqs(original, true).key, Buffer.from('orders.eu'));
    const long = toSqs(original, { fifo: true, stableId: 'x'.repeat(300) });
    assert.ok(long.value.MessageDeduplicationId!.length <= 128);
  });

  test('binary bodies cross SQS as base64 and come back as the same bytes', () => {
    const m: BridgeMessage = { body: Buffer.from([0, 1, 0xff, 0xfe]), headers: {} };
    const { value } = toSqs(m, { fifo: false });
    assert.equal(value.MessageAttributes['x-pier-body-encoding']!.StringValue, 'base64');
    assert.deepEqual(viaSqs(m).body, m.body);
  });

  test('the SQS message id stands in for a missing message id', () => {
    const m = fromSqs({ MessageId: 'abc', Body: 'hi', Attributes: { SentTimestamp: '1700000000000' } });
    assert.equal(m.messageId, 'abc');
    assert.equal(m.timestampMs, 1_700_000_000_000);
  });

  test('Kafka → AMQP: untyped headers are text, or bytes when not UTF-8; the key is the routing key', () => {
    const m = fromKafka({
      key: Buffer.from('user-7'),
      value: Buffer.from('v'),
      timestamp: '1700000000500',
      headers: { trace: Buffer.from('abc'), blob: Buffer.from([0xff, 0xfe]) },
    });
    assert.deepEqual(m.headers, { trace: 'abc', blob: Buffer.from([0xff, 0xfe]) });
    const out = toAmqp(m);
    assert.equal(out.routingKey, 'user-7');
    assert.equal(out.options.timestamp, 1_700_000_000);
    const toQueue = toAmqp(m, 'some-queue');
    assert.equal(toQueue.routingKey, 'some-queue');
    assert.equal(toQueue.options.headers[KEY_HEADER], 'user-7', 'the key survives a default-exchange hop');
    assert.deepEqual(viaAmqp(m, 'some-queue').key, Buffer.from('user-7'));
  });
});
