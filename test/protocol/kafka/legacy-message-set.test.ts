// Produce v0-2's message sets (magic 0 and 1) up-converted to one v2 batch, and the errors Kafka
// gives for damaged ones.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crc32, gzipSync } from 'node:zlib';
import { KafkaError } from '../../../src/protocol/kafka/error-codes.js';
import { upConvertMessageSet } from '../../../src/protocol/kafka/legacy-message-set.js';
import { decodeRecords } from '../../../src/protocol/kafka/record-decoder.js';

function bytes(value: string | null): Buffer {
  const length = Buffer.alloc(4);
  if (value === null) {
    length.writeInt32BE(-1);
    return length;
  }
  length.writeInt32BE(Buffer.byteLength(value));
  return Buffer.concat([length, Buffer.from(value)]);
}

/** One message (offset, size, crc, magic, attributes, [timestamp], key, value). */
function message(
  magic: 0 | 1 | 2,
  key: string | null,
  value: Buffer | string | null,
  timestampMs = 0,
  attributes = 0,
): Buffer {
  const fields: Buffer[] = [Buffer.from([magic, attributes])];
  if (magic === 1) {
    const ts = Buffer.alloc(8);
    ts.writeBigInt64BE(BigInt(timestampMs));
    fields.push(ts);
  }
  const valueField = Buffer.isBuffer(value)
    ? Buffer.concat([Buffer.from([0, 0, 0, 0]), value])
    : bytes(value);
  if (Buffer.isBuffer(value)) valueField.writeInt32BE(value.length);
  fields.push(bytes(key), valueField);
  const body = Buffer.concat(fields);
  const head = Buffer.alloc(16);
  head.writeBigInt64BE(0n, 0);
  head.writeInt32BE(body.length + 4, 8);
  head.writeUInt32BE(crc32(body), 12);
  return Buffer.concat([head, body]);
}

const decoded = (batch: Buffer) =>
  [...decodeRecords(batch)].map((r) => [
    r.offset,
    r.timestampMs,
    r.key?.toString() ?? null,
    r.value?.toString() ?? null,
  ]);

describe('upConvertMessageSet', () => {
  it('turns magic 0 and 1 messages into one v2 batch with their keys, values and timestamps', () => {
    const set = Buffer.concat([
      message(1, 'a', 'one', 1000),
      message(1, null, 'two', 2000),
      message(0, 'c', null),
    ]);
    const batch = upConvertMessageSet(set);
    assert.ok(Buffer.isBuffer(batch));
    assert.deepEqual(decoded(batch), [
      [0, 1000, 'a', 'one'],
      [1, 2000, null, 'two'],
      [2, -1, 'c', null],
    ]);
  });

  it('unwraps a gzip wrapper; LogAppendTime on the wrapper stands for the inner times', () => {
    const inner = Buffer.concat([message(1, 'x', 'first', 10), message(1, 'y', 'second', 20)]);
    const wrapped = message(1, null, gzipSync(inner), 99, 1);
    assert.deepEqual(decoded(upConvertMessageSet(wrapped) as Buffer), [
      [0, 10, 'x', 'first'],
      [1, 20, 'y', 'second'],
    ]);
    const appendTime = message(1, null, gzipSync(inner), 99, 1 | 0x08);
    assert.deepEqual(
      decoded(upConvertMessageSet(appendTime) as Buffer).map((r) => r[1]),
      [99, 99],
    );
  });

  it('refuses a bad CRC, a truncated set and magic 2 with Kafka’s codes', () => {
    const good = message(1, 'a', 'one', 1000);
    const badCrc = Buffer.from(good);
    badCrc[badCrc.length - 1]! ^= 0xff;
    assert.equal(
      (upConvertMessageSet(badCrc) as { errorCode: number }).errorCode,
      KafkaError.CORRUPT_MESSAGE,
    );
    assert.equal(
      (upConvertMessageSet(good.subarray(0, good.length - 2)) as { errorCode: number }).errorCode,
      KafkaError.CORRUPT_MESSAGE,
    );
    assert.equal(
      (upConvertMessageSet(message(2, 'a', 'one')) as { errorCode: number }).errorCode,
      KafkaError.INVALID_RECORD,
    );
    assert.equal(
      (upConvertMessageSet(message(1, null, Buffer.from('not gzip'), 0, 1)) as { errorCode: number })
        .errorCode,
      KafkaError.CORRUPT_MESSAGE,
    );
  });
});
