/**
 * The stream view's pure conversions (src/bridge/stream-view-codec.ts): an AMQP message as the core
 * stores it → a Kafka record batch → the AMQP delivery, with the key rules, typed headers and the
 * batches a read_committed reader skips.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  amqpMessageOfRecord,
  batchOfAmqpMessage,
  viewedRecordsOfBatch,
} from '../../src/bridge/stream-view-codec.js';
import { decodeProperties, encodeProperties } from '../../src/protocol/amqp/codec/index.js';
import { encodeRecordBatch } from '../../src/protocol/kafka/record-batch-encoder.js';
import { decodeRecords } from '../../src/protocol/kafka/record-decoder.js';

const stored = (properties: Parameters<typeof encodeProperties>[0], exchange = '', routingKey = 'q') => ({
  exchange,
  routingKey,
  properties: encodeProperties(properties),
  body: Buffer.from('body'),
  publishedAtMs: 1_700_000_000_123,
});

describe('stream view conversions', () => {
  test('an AMQP message → a record → an AMQP delivery keeps body, typed headers and the mapped properties', () => {
    const { batch, keyed } = batchOfAmqpMessage(
      stored({
        headers: {
          text: 'hello',
          count: 42,
          big: 2n ** 40n,
          ratio: 0.5,
          flag: false,
          nothing: null,
          raw: Buffer.from([0xff, 0x00]),
          when: new Date(1_600_000_000_000),
          nested: { a: 1, list: ['x', 2] },
        },
        messageId: 'id-1',
        correlationId: 'c',
        contentType: 'application/json',
        contentEncoding: 'gzip',
        replyTo: 'r',
        type: 't',
        appId: 'app',
        timestamp: 1_650_000_000,
        priority: 7,
      }),
      41,
    );
    assert.equal(keyed, false, 'a default-exchange publish has no key');
    const [record] = [...decodeRecords(batch)];
    assert.equal(record!.offset, 41);
    assert.equal(record!.key, null);
    assert.equal(record!.timestampMs, 1_650_000_000_000, 'the timestamp property, in ms');
    const names = record!.headers.map((h) => h.key.toString());
    assert.ok(names.includes('message-id') && names.includes('x-pier-header-types'));

    const back = amqpMessageOfRecord(record!, 'the-view');
    assert.equal(back.body.toString(), 'body');
    assert.equal(back.routingKey, 'the-view');
    const props = decodeProperties(back.properties);
    assert.equal(props.messageId, 'id-1');
    assert.equal(props.correlationId, 'c');
    assert.equal(props.contentType, 'application/json');
    assert.equal(props.contentEncoding, 'gzip');
    assert.equal(props.replyTo, 'r');
    assert.equal(props.type, 't');
    assert.equal(props.appId, 'app');
    assert.equal(props.timestamp, 1_650_000_000);
    assert.equal(props.deliveryMode, 2);
    assert.equal(props.priority, undefined, 'priority is dropped (the mapping table)');
    const h = props.headers!;
    assert.equal(h.text, 'hello');
    assert.equal(h.count, 42);
    assert.equal(h.big, 2 ** 40);
    assert.equal(h.ratio, 0.5);
    assert.equal(h.flag, false);
    assert.equal(h.nothing, null);
    assert.deepEqual(h.raw, Buffer.from([0xff, 0x00]));
    assert.deepEqual(h.when, new Date(1_600_000_000_000));
    assert.deepEqual(h.nested, { a: 1, list: ['x', 2] });
    assert.equal(h['x-pier-header-types'], undefined);
  });

  test('the key: x-message-key wins, else a named exchange’s routing key; a key that is not UTF-8 travels as a header', () => {
    const keyOf = (batch: Buffer) => [...decodeRecords(batch)][0]!.key?.toString();
    assert.equal(keyOf(batchOfAmqpMessage(stored({}, 'shop', 'eu.orders'), 0).batch), 'eu.orders');
    const withHeader = batchOfAmqpMessage(stored({ headers: { 'x-message-key': 'k-1' } }, 'shop', 'eu'), 0);
    assert.equal(keyOf(withHeader.batch), 'k-1');
    assert.equal(withHeader.keyed, true);
    assert.ok(
      ![...decodeRecords(withHeader.batch)][0]!.headers.some((x) => x.key.toString() === 'x-message-key'),
    );

    const binaryKey = Buffer.from([0xc3, 0x28]);
    const batch = encodeRecordBatch({ records: [{ key: binaryKey, value: 'v', timestampMs: 5000 }] });
    const delivered = amqpMessageOfRecord([...decodeRecords(batch)][0]!, 'view');
    assert.equal(delivered.routingKey, 'view');
    assert.deepEqual(decodeProperties(delivered.properties).headers?.['x-message-key'], binaryKey);
    assert.equal(decodeProperties(delivered.properties).timestamp, 5);
  });

  test('transaction markers and aborted transactional batches give no messages; committed ones do', () => {
    const marker = encodeRecordBatch({
      control: true,
      transactional: true,
      producerId: 9,
      records: [{ value: 'x' }],
    });
    assert.deepEqual(
      viewedRecordsOfBatch(marker, 'v', () => false),
      [],
    );
    const txn = encodeRecordBatch({
      baseOffset: 10,
      transactional: true,
      producerId: 9,
      records: [{ value: 'a' }, { value: 'b' }],
    });
    assert.deepEqual(
      viewedRecordsOfBatch(txn, 'v', (s) => s.producerId === 9 && s.baseOffset === 10),
      [],
    );
    const committed = viewedRecordsOfBatch(txn, 'v', () => false);
    assert.deepEqual(
      committed.map((r) => [r.offset, r.message.body.toString()]),
      [
        [10, 'a'],
        [11, 'b'],
      ],
    );
  });
});
