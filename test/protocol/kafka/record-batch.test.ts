import assert from 'node:assert/strict';
import { test } from 'node:test';
import { batchSlices, selectFetchBatches } from '../../../src/protocol/kafka/fetch-batches.js';
import {
  assignBaseOffset,
  BatchOffset,
  batchBaseOffset,
  batchLastOffset,
  KafkaRecordError,
  type RecordsValidation,
  type ValidateOptions,
  validateRecordBatches,
} from '../../../src/protocol/kafka/record-batch.js';
import { encodeRecordBatch, VarWriter } from '../../../src/protocol/kafka/record-batch-encoder.js';
import { decodeRecords } from '../../../src/protocol/kafka/record-decoder.js';
import { edited, legacyMessage } from './record-batch-helpers.js';

const LIMIT = { maxMessageBytes: 1_048_588 };
const T = 1_700_000_000_000;

function accepted(records: Buffer, options: ValidateOptions = LIMIT) {
  const result = validateRecordBatches(records, options);
  if (!result.ok) assert.fail(`refused: ${result.error.message}`);
  return result;
}

function refusedWith(result: RecordsValidation, code: number, text: RegExp): void {
  assert.equal(result.ok, false, 'the records must be refused');
  if (result.ok) return;
  assert.equal(result.error.errorCode, code, result.error.message);
  assert.match(result.error.message, text);
}

const oneRecord = () => encodeRecordBatch({ records: [{ key: 'k', value: 'v', timestampMs: T }] });

test('a batch as kafkajs 2.2.4 sends one keyed record: byte layout from the spec', () => {
  // baseOffset 0, batchLength 64, partitionLeaderEpoch 0, magic 2, crc, attributes 0,
  // lastOffsetDelta 0, firstTimestamp = maxTimestamp = T, producerId -1, producerEpoch 0,
  // firstSequence 0, 1 record: length 14 (zigzag 0x1c), attributes 0, timestampDelta 0,
  // offsetDelta 0, key 'key' (zigzag 3 = 0x06), value 'value' (0x0a), 0 headers.
  const hex =
    '0000000000000000' +
    '00000040' +
    '00000000' +
    '02' +
    '00000000' +
    '0000' +
    '00000000' +
    '0000018bcfe56800' +
    '0000018bcfe56800' +
    'ffffffffffffffff' +
    '0000' +
    '00000000' +
    '00000001' +
    '1c000000066b65790a76616c756500';
  const vector = edited(Buffer.from(hex, 'hex'), () => {});
  assert.equal(vector.length, 76);
  const [batch] = accepted(vector).batches;
  assert.deepEqual(
    { ...batch, crc: undefined },
    {
      start: 0,
      end: 76,
      partitionLeaderEpoch: 0,
      crc: undefined,
      attributes: 0,
      compression: 'none',
      logAppendTime: false,
      transactional: false,
      control: false,
      lastOffsetDelta: 0,
      baseTimestampMs: T,
      maxTimestampMs: T,
      producerId: -1,
      producerEpoch: 0,
      baseSequence: 0,
      recordCount: 1,
    },
  );
  const records = [...decodeRecords(vector)];
  assert.equal(records.length, 1);
  assert.equal(records[0]!.key!.toString(), 'key');
  assert.equal(records[0]!.value!.toString(), 'value');
  assert.equal(records[0]!.timestampMs, T);
  // The encoder with kafkajs's defaults produces the same bytes.
  const encoded = encodeRecordBatch({
    partitionLeaderEpoch: 0,
    producerEpoch: 0,
    baseSequence: 0,
    records: [{ key: 'key', value: 'value', timestampMs: T }],
  });
  assert.equal(encoded.toString('hex'), vector.toString('hex'));
});

test('several concatenated batches: views, headers, null key and value, large varints', () => {
  const big = Buffer.alloc(20_000, 7);
  const a = encodeRecordBatch({
    records: [
      { key: null, value: null, timestampMs: T },
      {
        key: 'k',
        value: 'v',
        headers: [
          { key: 'h1', value: 'x' },
          { key: 'h2', value: null },
        ],
        timestampMs: T + 5,
      },
    ],
  });
  const b = encodeRecordBatch({
    producerId: 42,
    producerEpoch: 3,
    baseSequence: 17,
    transactional: true,
    records: [{ key: Buffer.alloc(300, 1), value: big, timestampMs: T + 2 ** 40 }],
  });
  const many = Array.from({ length: 300 }, (_, i) => ({ value: `m${i}`, timestampMs: T - i }));
  const c = encodeRecordBatch({ records: many });
  const records = Buffer.concat([a, b, c]);
  const result = accepted(records);
  assert.equal(result.recordCount, 2 + 1 + 300);
  assert.deepEqual(
    result.batches.map((v) => [v.start, v.end, v.recordCount, v.lastOffsetDelta]),
    [
      [0, a.length, 2, 1],
      [a.length, a.length + b.length, 1, 0],
      [a.length + b.length, records.length, 300, 299],
    ],
  );
  const vb = result.batches[1]!;
  assert.deepEqual([vb.producerId, vb.producerEpoch, vb.baseSequence, vb.transactional], [42, 3, 17, true]);
  assert.equal(result.batches[2]!.maxTimestampMs, T);
  assert.equal(result.batches[2]!.baseTimestampMs, T);

  const [sa, sb, sc] = batchSlices(records, result.batches);
  const decodedA = [...decodeRecords(sa!)];
  assert.deepEqual(
    decodedA.map((r) => [r.offset, r.timestampMs, r.key?.toString() ?? null, r.value?.toString() ?? null]),
    [
      [0, T, null, null],
      [1, T + 5, 'k', 'v'],
    ],
  );
  assert.deepEqual(
    decodedA[1]!.headers.map((h) => [h.key.toString(), h.value?.toString() ?? null]),
    [
      ['h1', 'x'],
      ['h2', null],
    ],
  );
  const [rb] = [...decodeRecords(sb!)];
  assert.equal(rb!.timestampMs, T + 2 ** 40);
  assert.ok(rb!.value!.equals(big));
  assert.equal(rb!.value!.buffer, records.buffer, 'values are views of the request, not copies');
  const decodedC = [...decodeRecords(sc!)];
  assert.deepEqual(
    decodedC.map((r) => r.offset),
    many.map((_, i) => i),
  );
  assert.equal(decodedC[299]!.value!.toString(), 'm299');
  assert.equal(decodedC[299]!.timestampMs, T - 299);
});

test('a compressed batch is validated at header level and passes through as sent (decoding it for its own reads needs a real payload)', () => {
  const opaque = Buffer.from('not really zstd, but the CRC covers it');
  for (const compression of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
    const batch = encodeRecordBatch({ compression, encodedRecords: opaque, records: [{}, {}, {}] });
    const [view] = accepted(batch).batches;
    assert.equal(view!.compression, compression);
    assert.equal(view!.recordCount, 3);
    assert.throws(() => [...decodeRecords(batch)], /cannot decompress a codec \d batch/);
  }
});

test('magic 0 and 1 (old clients) are refused with INVALID_RECORD', () => {
  for (const magic of [0, 1] as const) {
    refusedWith(
      validateRecordBatches(legacyMessage(magic, 'hello'), LIMIT),
      87,
      new RegExp(`magic ${magic}`),
    );
  }
  const magic3 = Buffer.from(oneRecord());
  magic3[BatchOffset.magic] = 3;
  refusedWith(validateRecordBatches(magic3, LIMIT), KafkaRecordError.INVALID_RECORD, /magic 3/);
});

test('a bad CRC and inconsistent batch lengths are CORRUPT_MESSAGE', () => {
  const flipped = Buffer.from(oneRecord());
  flipped[flipped.length - 2]! ^= 0x40;
  refusedWith(validateRecordBatches(flipped, LIMIT), KafkaRecordError.CORRUPT_MESSAGE, /CRC-32C/);
  const badCrc = Buffer.from(oneRecord());
  badCrc.writeUInt32BE((badCrc.readUInt32BE(BatchOffset.crc) ^ 1) >>> 0, BatchOffset.crc);
  refusedWith(validateRecordBatches(badCrc, LIMIT), KafkaRecordError.CORRUPT_MESSAGE, /CRC-32C/);

  const short = Buffer.from(oneRecord());
  short.writeInt32BE(30, BatchOffset.batchLength);
  refusedWith(
    validateRecordBatches(short, LIMIT),
    KafkaRecordError.CORRUPT_MESSAGE,
    /shorter than the v2 header/,
  );
  for (const length of [-1, 0, 4]) {
    const tiny = Buffer.from(oneRecord());
    tiny.writeInt32BE(length, BatchOffset.batchLength);
    refusedWith(validateRecordBatches(tiny, LIMIT), KafkaRecordError.CORRUPT_MESSAGE, /too small/);
  }
});

test('Produce version rules: one batch per partition from v3, zstd from v7', () => {
  const two = Buffer.concat([oneRecord(), oneRecord()]);
  accepted(two, { ...LIMIT, produceVersion: 2 });
  refusedWith(
    validateRecordBatches(two, { ...LIMIT, produceVersion: 3 }),
    KafkaRecordError.INVALID_RECORD,
    /Produce v3 allows exactly one record batch per partition, this one has 2/,
  );
  accepted(oneRecord(), { ...LIMIT, produceVersion: 9 });
  const zstd = encodeRecordBatch({
    compression: 'zstd',
    encodedRecords: Buffer.from('zstd frame'),
    records: [{}],
  });
  accepted(zstd, { ...LIMIT, produceVersion: 7 });
  refusedWith(
    validateRecordBatches(zstd, { ...LIMIT, produceVersion: 6 }),
    KafkaRecordError.UNSUPPORTED_COMPRESSION_TYPE,
    /zstd compression needs Produce v7/,
  );
});

test('a batch larger than max.message.bytes is MESSAGE_TOO_LARGE, log overhead included', () => {
  const batch = encodeRecordBatch({ records: [{ value: Buffer.alloc(1000) }] });
  accepted(batch, { maxMessageBytes: batch.length });
  refusedWith(
    validateRecordBatches(batch, { maxMessageBytes: batch.length - 1 }),
    KafkaRecordError.MESSAGE_TOO_LARGE,
    new RegExp(`${batch.length} bytes, more than max.message.bytes ${batch.length - 1}`),
  );
});

test('truncated batches, trailing bytes and empty records are refused', () => {
  const batch = oneRecord();
  refusedWith(
    validateRecordBatches(batch.subarray(0, batch.length - 1), LIMIT),
    KafkaRecordError.INVALID_REQUEST,
    /runs past the records field/,
  );
  refusedWith(
    validateRecordBatches(batch.subarray(0, 7), LIMIT),
    KafkaRecordError.INVALID_REQUEST,
    /trailing/,
  );
  const trailing = validateRecordBatches(Buffer.concat([batch, Buffer.from([1, 2, 3])]), LIMIT);
  refusedWith(trailing, KafkaRecordError.INVALID_REQUEST, /3 trailing bytes/);
  assert.equal(!trailing.ok && trailing.error.batchIndex, 1);
  refusedWith(
    validateRecordBatches(Buffer.alloc(0), LIMIT),
    KafkaRecordError.INVALID_RECORD,
    /no record batch/,
  );
});

test('headers inconsistent with the records are INVALID_RECORD', () => {
  const two = encodeRecordBatch({ records: [{ value: 'a' }, { value: 'b' }] });
  const cases: [string, Buffer, RegExp][] = [
    ['control batch', encodeRecordBatch({ control: true, records: [{}] }), /control records/],
    ['compression 5', edited(two, (b) => b.writeInt16BE(5, BatchOffset.attributes)), /compression codec 5/],
    [
      'count vs lastOffsetDelta',
      edited(two, (b) => b.writeInt32BE(3, BatchOffset.recordCount)),
      /recordCount 3/,
    ],
    [
      'lastOffsetDelta',
      edited(two, (b) => b.writeInt32BE(0, BatchOffset.lastOffsetDelta)),
      /lastOffsetDelta 0/,
    ],
    [
      'count 0',
      edited(two, (b) => {
        b.writeInt32BE(0, BatchOffset.recordCount);
        b.writeInt32BE(-1, BatchOffset.lastOffsetDelta);
      }),
      /recordCount 0/,
    ],
    [
      'fewer records than the count',
      edited(two, (b) => {
        b.writeInt32BE(3, BatchOffset.recordCount);
        b.writeInt32BE(2, BatchOffset.lastOffsetDelta);
      }),
      /holds 2 records, its header says 3/,
    ],
    // Record 0 starts at byte 61: length, attributes, timestampDelta, offsetDelta (zigzag 1 = 2).
    ['offsetDelta out of order', edited(two, (b) => b.writeUInt8(2, 64)), /offsetDelta 1, expected 0/],
    ['record length past the batch', edited(two, (b) => b.writeUInt8(100, 61)), /record 0 has length 50/],
    ['record length too short', edited(two, (b) => b.writeUInt8(4, 61)), /record 0: record truncated/],
  ];
  for (const [name, batch, text] of cases) {
    const result = validateRecordBatches(batch, LIMIT);
    assert.equal(result.ok, false, name);
    if (!result.ok) {
      assert.equal(
        result.error.errorCode,
        KafkaRecordError.INVALID_RECORD,
        `${name}: ${result.error.message}`,
      );
      assert.match(result.error.message, text, name);
    }
  }
});

test('malformed record fields are INVALID_RECORD', () => {
  const record = (write: (w: VarWriter) => void) => {
    const w = new VarWriter();
    write(w);
    const fields = w.done();
    const len = new VarWriter();
    len.varint(fields.length);
    return encodeRecordBatch({ records: [{}], encodedRecords: Buffer.concat([len.done(), fields]) });
  };
  const prefix = (w: VarWriter) => {
    w.byte(0);
    w.varlong(0);
    w.varint(0);
  };
  const cases: [string, Buffer, RegExp][] = [
    [
      'negative key length',
      record((w) => {
        prefix(w);
        w.varint(-2);
      }),
      /negative key length -2/,
    ],
    [
      'null header key',
      record((w) => {
        prefix(w);
        w.varint(-1);
        w.varint(-1);
        w.varint(1);
        w.varint(-1);
      }),
      /negative header key length -1/,
    ],
    [
      'negative header count',
      record((w) => {
        prefix(w);
        w.varint(-1);
        w.varint(-1);
        w.varint(-3);
      }),
      /negative header count/,
    ],
    [
      'varint longer than 5 bytes',
      record((w) => {
        w.byte(0);
        w.varlong(0);
        for (let i = 0; i < 6; i++) w.byte(0x80);
        w.byte(0);
      }),
      /longer than 5 bytes/,
    ],
    [
      'varlong longer than 10 bytes',
      record((w) => {
        w.byte(0);
        for (let i = 0; i < 10; i++) w.byte(0xff);
        w.byte(0);
      }),
      /varlong longer than 10 bytes/,
    ],
    [
      'record longer than its fields',
      record((w) => {
        prefix(w);
        w.varint(-1);
        w.varint(-1);
        w.varint(0);
        w.byte(0);
      }),
      /record 0 says 7 bytes but its fields take 6/,
    ],
    [
      'bytes after the last record',
      encodeRecordBatch({
        records: [{}],
        encodedRecords: Buffer.concat([
          record((w) => {
            prefix(w);
            w.varint(-1);
            w.varint(-1);
            w.varint(0);
          }).subarray(61),
          Buffer.from([0]),
        ]),
      }),
      /1 bytes follow the last of 1 records/,
    ],
  ];
  for (const [name, batch, text] of cases) {
    const result = validateRecordBatches(batch, LIMIT);
    assert.equal(result.ok, false, name);
    if (!result.ok) {
      assert.equal(
        result.error.errorCode,
        KafkaRecordError.INVALID_RECORD,
        `${name}: ${result.error.message}`,
      );
      assert.match(result.error.message, text, name);
    }
  }
});

test('offsets assigned in place keep the CRC valid and the bytes unchanged otherwise', () => {
  const records = Buffer.concat([
    encodeRecordBatch({ records: [{ value: 'a' }, { value: 'b' }] }),
    encodeRecordBatch({ records: [{ value: 'c' }] }),
  ]);
  const before = Buffer.from(records);
  const { batches } = accepted(records);
  assignBaseOffset(records, batches[0]!.start, 1000);
  assignBaseOffset(records, batches[1]!.start, 2 ** 40);
  for (const v of batches)
    assert.ok(records.subarray(v.start + 8, v.end).equals(before.subarray(v.start + 8, v.end)));
  const again = accepted(records);
  assert.deepEqual(again.batches, batches);
  const [s0, s1] = batchSlices(records, batches);
  assert.deepEqual([batchBaseOffset(s0!), batchLastOffset(s0!), batchLastOffset(s1!)], [1000, 1001, 2 ** 40]);
  assert.deepEqual(
    [...decodeRecords(s0!), ...decodeRecords(s1!)].map((r) => [r.offset, r.value!.toString()]),
    [
      [1000, 'a'],
      [1001, 'b'],
      [2 ** 40, 'c'],
    ],
  );
});

test('a LogAppendTime batch gives every record its maxTimestamp', () => {
  const batch = encodeRecordBatch({
    logAppendTime: true,
    maxTimestampMs: T + 99,
    records: [{ timestampMs: T }, { timestampMs: T + 1 }],
  });
  assert.equal(accepted(batch).batches[0]!.logAppendTime, true);
  assert.deepEqual(
    [...decodeRecords(batch)].map((r) => r.timestampMs),
    [T + 99, T + 99],
  );
});

test('Fetch selection: from the batch holding the offset, up to maxBytes, at least one batch', () => {
  const stored = [3, 5, 1, 2].map((n) =>
    encodeRecordBatch({ records: Array.from({ length: n }, () => ({})) }),
  );
  let next = 0;
  for (const b of stored) {
    assignBaseOffset(b, 0, next);
    next = batchLastOffset(b) + 1;
  }
  const size = (i: number) => stored[i]!.length;
  const pick = (offset: number, maxBytes: number, minOne = true) =>
    selectFetchBatches(stored, offset, maxBytes, minOne).batches.map((b) => batchBaseOffset(b));
  assert.deepEqual(pick(0, 1e9), [0, 3, 8, 9]);
  assert.deepEqual(pick(4, 1e9), [3, 8, 9], 'offset 4 lies inside the batch 3..7');
  assert.deepEqual(pick(8, 1e9), [8, 9]);
  assert.deepEqual(pick(11, 1e9), [], 'past the end');
  assert.deepEqual(pick(0, size(0) + size(1)), [0, 3]);
  assert.deepEqual(pick(0, size(0) + size(1) - 1), [0]);
  assert.deepEqual(pick(0, 1), [0], 'one batch even when larger than maxBytes');
  assert.deepEqual(pick(0, 1, false), []);
  const sel = selectFetchBatches(stored, 3, 1e9);
  assert.equal(sel.sizeBytes, size(1) + size(2) + size(3));
  assert.equal(sel.batches[0], stored[1], 'the stored buffer itself, not a copy');
});
